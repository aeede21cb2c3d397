package schema

import (
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// YAML syntax errors point at the offending line (and the tab's column)
// and say what to do.
func TestSyntaxHints(t *testing.T) {
	const indentKey = "yaml: did not find expected key; check this line's indentation: keys of one mapping must line up"
	const tabs = "yaml: tabs are not allowed in YAML indentation; indent with spaces"
	tests := []struct{ name, src, want string }{
		{"tab at line start", head + "default:\n  http:\n\turl: 'socks5h://h:1'\n", "f.yaml:5:1: " + tabs},
		{"tab after spaces", head + "default:\n  http:\n  \turl: 'socks5h://h:1'\n", "f.yaml:5:3: " + tabs},
		{"tab in a later key", head + "default:\n  http:\n    url: 'socks5h://h:1'\n\ttimeout_seconds: 5\nexchanges: {}\n", "f.yaml:6:1: " + tabs},
		{"tab before top-level key", "version: 1\n\tenabled: true\n", "f.yaml:2:1: " + tabs},
		{"under-indented key", head + "default:\n  http:\n    url: 'socks5h://h:1'\n   timeout_seconds: 5\nexchanges:\n  a: {}\n", "f.yaml:6:4: " + indentKey},
		{"over-indented key", head + "default:\n  http:\n    url: 'socks5h://h:1'\n     timeout_seconds: 5\nexchanges:\n  a: {}\n", "f.yaml:6:6: " + indentKey},
		{"exchange out of line", head + "exchanges:\n  a:\n    http: {direct: true}\n   b: {}\n  c: {}\n", "f.yaml:6:4: " + indentKey},
		{"far from its mapping", head + "exchanges:\n  a:\n    http:\n      url: 'socks5h://h:1'\n      timeout_seconds: 5\n      optimistic: true\n     direct: false\n  b: {}\n",
			"f.yaml:9:6: " + indentKey},
		{"indented top-level key", "version: 1\nenabled: true\n default:\n  http: {direct: true}\n",
			`f.yaml:3:2: yaml: mapping values are not allowed in this context; check this line's indentation and that the key above ends with ":"; quote a value that contains ": "`},
		{"unquoted colon", head + "default:\n  http:\n    url: socks5h://h: 1\n",
			`f.yaml:5:5: yaml: mapping values are not allowed in this context; check this line's indentation and that the key above ends with ":"; quote a value that contains ": "`},
		{"list item out of line", head + "exchanges:\n  a:\n    http: {direct: true}\n  - b\n",
			"f.yaml:6:3: yaml: did not find expected key; check this line's indentation: keys of one mapping must line up"},
		{"mapping after list items", head + "exchanges:\n  - binance\n  kraken: {}\n",
			`f.yaml:5:3: yaml: did not find expected '-' indicator; check this line's indentation: every item of a list starts with "- " at the same column`},
		{"unclosed flow mapping", head + "default:\n  http: { url: 'socks5h://h:1'\n",
			"f.yaml:4:1: yaml: did not find expected ',' or '}'; a { } mapping that starts on this line is not closed, or lacks a comma"},
		{"at sign", head + "package: @x\n", "f.yaml:3:10: yaml: found character that cannot start any token; quote values that start with @ or `"},
		{"backtick in flow", head + "default:\n  http: {url: `x`}\n", "f.yaml:4:15: yaml: found character that cannot start any token; quote values that start with @ or `"},
		{"missing colon", head + "default:\n  http\n    url: 'socks5h://h:1'\n",
			`f.yaml:5:5: yaml: mapping values are not allowed in this context; check this line's indentation and that the key above ends with ":"; quote a value that contains ": "`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff([]string{tt.want}, loadErrs(t, tt.src, Options{})); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
		})
	}
}

// A tab inside a value, or in a flow mapping's continuation, is not an
// indentation error.
func TestTabsOutsideIndentation(t *testing.T) {
	src := head + "package: p\t# comment after a tab\ndefault:\n  http: {url: 'socks5h://h:1',\n\tdirect: false}\n"
	if got := loadErrs(t, src, Options{}); got != nil {
		t.Errorf("errors: %v", got)
	}
}

// A big file with one bad line finds it quickly and exactly.
func TestSyntaxHintLargeFile(t *testing.T) {
	var b strings.Builder
	b.WriteString(head + "exchanges:\n")
	for i := range 5000 {
		b.WriteString("  x" + strings.Repeat("a", i%7) + strconv.Itoa(i) + ": {}\n")
		if i == 3210 {
			b.WriteString("   bad: {}\n")
		}
	}
	got := loadErrs(t, b.String(), Options{})
	want := "f.yaml:3215:4: yaml: did not find expected key; check this line's indentation: keys of one mapping must line up"
	if len(got) != 1 || got[0] != want {
		t.Errorf("errors: %v\nwant: %s", got, want)
	}
}
