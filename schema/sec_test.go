package schema

// Regression tests of issue 9's schema side; each test name carries its
// item number (TestSecNN_...).

import (
	"encoding/json"
	"errors"
	"fmt"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

const canary = "CANARY-s3cr3t"

// assertNoCanary fails when any error line of src's load holds the canary.
func assertNoCanary(t *testing.T, lines []string) {
	t.Helper()
	for _, l := range lines {
		if strings.Contains(l, canary) {
			t.Errorf("error echoes the canary: %s", l)
		}
	}
}

// Item 1 and 7: package must be a Go identifier, not a keyword, not _ and
// not main; the error is positioned on the package value.
func TestSec01_PackageKeyword(t *testing.T) {
	bad := []string{"_", "main"}
	for tok := token.BREAK; tok <= token.VAR; tok++ {
		if tok.IsKeyword() {
			bad = append(bad, tok.String())
		}
	}
	if len(bad) != 2+25 {
		t.Fatalf("%d names, want the 25 Go keywords plus _ and main", len(bad))
	}
	for _, name := range bad {
		src := "version: 1\npackage: " + name + "\nenabled: true\n"
		got := loadErrs(t, src, Options{AllowInlineCredentials: true})
		if len(got) != 1 || !strings.HasPrefix(got[0], "f.yaml:2:10: package: ") {
			t.Errorf("package %q: errors %q, want one at f.yaml:2:10 on package", name, got)
		}
		if CheckPackageName(name) == nil {
			t.Errorf("CheckPackageName(%q) = nil", name)
		}
	}
	for _, name := range []string{"proxies", "feeds_v2", "_x", "types", "mainly"} {
		if err := CheckPackageName(name); err != nil {
			t.Errorf("CheckPackageName(%q) = %v", name, err)
		}
		if got := loadErrs(t, "version: 1\npackage: "+name+"\nenabled: true\n", Options{}); got != nil {
			t.Errorf("package %q refused: %q", name, got)
		}
	}
	for _, name := range []string{"", "a-b", "1x", "a b", "é\x00"} {
		if !errors.Is(CheckPackageName(name), ErrPackageNotIdentifier) {
			t.Errorf("CheckPackageName(%q) = %v, want ErrPackageNotIdentifier", name, CheckPackageName(name))
		}
	}
}

// Item 7: the JSON Schema refuses the same names, so editors flag them.
func TestSec07_SchemaRefusesBadPackage(t *testing.T) {
	sch, err := compiled()
	if err != nil {
		t.Fatal(err)
	}
	for name, ok := range map[string]bool{"type": false, "_": false, "main": false, "go": false, "proxies": true} {
		err := sch.Validate(map[string]any{"version": json.Number("1"), "enabled": true, "package": name})
		if (err == nil) != ok {
			t.Errorf("package %q: schema error %v, want ok=%v", name, err, ok)
		}
	}
}

// deepSpec nests n flow lists under an unknown key.
func deepSpec(n int) []byte {
	return []byte(head + "x: " + strings.Repeat("[", n) + strings.Repeat("]", n) + "\n")
}

// wideSpec has n exchanges, each with two proxy URLs.
func wideSpec(n int) []byte {
	var b strings.Builder
	b.WriteString(head + "exchanges:\n")
	for i := range n {
		fmt.Fprintf(&b, "  ex%d:\n    http: { url: \"socks5h://proxy%d.internal:1080\", timeout_seconds: 10 }\n    websocket: { url: \"http://${PROXY_USER}:${PROXY_PASS}@proxy.internal:3128\" }\n", i, i)
	}
	return []byte(b.String())
}

// fullSpec has n exchanges with every route key of both transports: the
// largest valid spec of n exchanges in a usual layout.
func fullSpec(n int) []byte {
	var b strings.Builder
	b.WriteString(head + "package: proxies\nenv_prefix: FEED_PROXY_\ndefault:\n  http: { url: \"socks5h://proxy.internal:1080\" }\nexchanges:\n")
	for i := range n {
		fmt.Fprintf(&b, "  exchange_%d:\n    http: { url: \"socks5h://proxy%d.internal:1080\", timeout_seconds: 10, optimistic: true }\n    websocket: { url: \"http://${PROXY_USER}:${PROXY_PASS}@proxy.internal:3128\", timeout_seconds: 10, optimistic: true }\n", i, i)
	}
	return []byte(b.String())
}

// Item 5: the limits leave room for the largest spec they promise.
func TestSec05_LimitsFitLargestSpec(t *testing.T) {
	data := fullSpec(MaxExchanges)
	if len(data) > MaxFileSize*6/10 {
		t.Errorf("the largest spec takes %d of MaxFileSize %d bytes", len(data), MaxFileSize)
	}
	s, err := Load("f.yaml", data, Options{})
	if err != nil {
		t.Fatalf("%.300v", err)
	}
	if len(s.Exchanges) != MaxExchanges {
		t.Errorf("%d exchanges", len(s.Exchanges))
	}
}

// Item 5: the node limit, positioned at the first node past it; memory
// stays linear for a wide list of tiny items (the most nodes per byte).
func TestSec05_NodeLimit(t *testing.T) {
	data := []byte(head + "x: [" + strings.Repeat("1,", MaxNodes) + "]\n")
	n, err := allocs(data)
	t.Logf("%d bytes in, %d allocated (%.0fx)", len(data), n, float64(n)/float64(len(data)))
	if limit := 200 * uint64(len(data)); n > limit {
		t.Errorf("allocated %d bytes for %d bytes of spec, limit %d", n, len(data), limit)
	}
	// Nodes: the root mapping, version, 1, enabled, true, x, the list and
	// its items: the item at index MaxNodes-7 is the first one too many.
	want := fmt.Sprintf("f.yaml:3:%d: more than %d YAML nodes (MaxNodes)", 5+2*(MaxNodes-7), MaxNodes)
	if err == nil || err.Error() != want {
		t.Errorf("error %.200v, want %s", err, want)
	}
}

// allocs returns the bytes allocated by one Load of data.
func allocs(data []byte) (uint64, error) {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, err := Load("f.yaml", data, Options{})
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc, err
}

// Item 5: memory is linear in the input. Before the fix a 20 KB spec
// nested 9,990 levels allocated ~930 MB (the path of every node was copied
// and joined at every level).
func TestSec05_LoadMemoryLinear(t *testing.T) {
	for _, c := range []struct {
		name    string
		data    []byte
		wantErr string
	}{
		{"deep", deepSpec(9990), "nested deeper than 16 levels"},
		{"deep_at_limit", deepSpec(MaxDepth - 1), `unknown key "x"`},
		{"wide", wideSpec(MaxExchanges), ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			n, err := allocs(c.data)
			ratio := float64(n) / float64(len(c.data))
			t.Logf("%d bytes in, %d allocated (%.0fx)", len(c.data), n, ratio)
			// The YAML node tree alone costs ~300 bytes per input byte of
			// "[[[[": allow that and a fixed overhead, never a square.
			if limit := 400*uint64(len(c.data)) + 4<<20; n > limit {
				t.Errorf("allocated %d bytes for %d bytes of spec, limit %d", n, len(c.data), limit)
			}
			if c.wantErr == "" && err != nil {
				t.Error(err)
			}
			if c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)) {
				t.Errorf("error %.200v, want %q", err, c.wantErr)
			}
		})
	}
}

// BenchmarkSec05_LoadDeep and BenchmarkSec05_LoadWide report the bytes
// allocated per input byte (alloc/in-byte).
func BenchmarkSec05_LoadDeep(b *testing.B) { benchLoad(b, deepSpec(9990)) }
func BenchmarkSec05_LoadWide(b *testing.B) { benchLoad(b, wideSpec(MaxExchanges)) }

func benchLoad(b *testing.B, data []byte) {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		_, _ = Load("f.yaml", data, Options{})
	}
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/float64(b.N)/float64(len(data)), "alloc/in-byte")
}

// Item 5: a billion-laughs spec (aliases nested nine deep) is refused at
// once, without expanding anything.
func TestSec05_BillionLaughs(t *testing.T) {
	var b strings.Builder
	b.WriteString(head + "a0: &a0 [\"" + canary + "\"]\n")
	for i := 1; i <= 9; i++ {
		fmt.Fprintf(&b, "a%d: &a%d [", i, i)
		for j := range 9 {
			if j > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "*a%d", i-1)
		}
		b.WriteString("]\n")
	}
	data := []byte(b.String())
	start := time.Now()
	n, err := allocs(data)
	elapsed := time.Since(start)
	if err == nil || !strings.Contains(err.Error(), "aliases are not allowed") {
		t.Fatalf("error %v, want aliases refused", err)
	}
	if elapsed > 2*time.Second || n > 16<<20 {
		t.Errorf("took %v and %d bytes: aliases were expanded", elapsed, n)
	}
	assertNoCanary(t, strings.Split(err.Error(), "\n"))
}

// Item 5: the file size limit, positioned at the first byte past it, and
// LoadFile does not read a huge file whole.
func TestSec05_FileSizeLimit(t *testing.T) {
	line := "# " + strings.Repeat("x", 97) + "\n" // 100 bytes
	data := []byte(head + strings.Repeat(line, MaxFileSize/100+1))
	got := loadErrs(t, string(data), Options{})
	wantLine := 2 + (MaxFileSize-len(head))/100 + 1
	want := fmt.Sprintf("f.yaml:%d:%d: spec is larger than %d bytes (MaxFileSize)", wantLine, (MaxFileSize-len(head))%100+1, MaxFileSize)
	if len(got) != 1 || got[0] != want {
		t.Errorf("errors %q, want %q", got, want)
	}
	if got := loadErrs(t, string(data[:MaxFileSize]), Options{}); got != nil {
		t.Errorf("a spec of exactly MaxFileSize bytes is refused: %q", got[0])
	}
	path := filepath.Join(t.TempDir(), "big.yaml")
	if err := os.WriteFile(path, append(data, make([]byte, 8<<20)...), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := LoadFile(path, Options{})
	if err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("LoadFile of a 10 MB spec: %v", err)
	}
}

// Item 5: the depth limit, positioned at the first too-deep node.
func TestSec05_DepthLimit(t *testing.T) {
	got := loadErrs(t, string(deepSpec(MaxDepth)), Options{})
	want := fmt.Sprintf("f.yaml:3:%d: nested deeper than %d levels (MaxDepth)", 3+MaxDepth, MaxDepth)
	if len(got) != 1 || got[0] != want {
		t.Errorf("errors %q, want %q", got, want)
	}
	got = loadErrs(t, string(deepSpec(MaxDepth-1)), Options{})
	if len(got) != 1 || !strings.Contains(got[0], `unknown key "x"`) {
		t.Errorf("at the limit: %q, want only the unknown key", got)
	}
}

// Item 6: more exchanges than the generated Exchange (uint16) type holds
// are refused with a clear error; MaxExchanges itself loads.
func TestSec06_ExchangeLimit(t *testing.T) {
	if MaxExchanges > 65535 {
		t.Fatalf("MaxExchanges %d does not fit the generated uint16 Exchange", MaxExchanges)
	}
	if _, err := Load("f.yaml", manyExchanges(MaxExchanges), Options{}); err != nil {
		t.Fatalf("MaxExchanges exchanges: %v", err)
	}
	got := loadErrs(t, string(manyExchanges(MaxExchanges+1)), Options{})
	if len(got) != 1 || !strings.Contains(got[0], fmt.Sprintf("exchanges: %d exchanges; at most %d are supported", MaxExchanges+1, MaxExchanges)) {
		t.Errorf("errors %q", got)
	}
	// 65,537 in flow style, small enough for MaxFileSize.
	var b strings.Builder
	b.WriteString(head + "exchanges: {")
	for i := range 65537 {
		fmt.Fprintf(&b, "e%d: {}, ", i)
	}
	b.WriteString("}\n")
	got = loadErrs(t, b.String(), Options{})
	if len(got) != 1 || !strings.Contains(got[0], "65537 exchanges; at most") {
		t.Errorf("65,537 exchanges: %q", got)
	}
}

// Item 8: URL values, tagged values and look-alike '@' never reach an
// error; every echoed value is capped.
func TestSec08_NoEcho(t *testing.T) {
	for _, src := range []string{
		head + "default:\n  http: { url: \"http://${U}:" + canary + "%40evil@proxy.internal:3128\" }\n",
		head + "default:\n  http: { url: \"http://${U}:" + canary + "\uff20proxy.internal:3128\" }\n",
		head + "default:\n  http: { url: \"socks5://" + canary + "%40proxy.internal:1080\" }\n",
		head + "default:\n  http: { url: \"socks5://" + canary + "\uff20proxy.internal:1080\" }\n",
		head + "default:\n  http: { url: \"socks5://[" + canary + "]:1080\" }\n",
		head + "default:\n  http: { url: \"" + canary + "://proxy.internal:1080\" }\n",
		head + "default:\n  http: { url: !x \"http://u:" + canary + "@proxy.internal:1080\" }\n",
		head + "default:\n  http: { url: !!int 5" + canary + " }\n",
		head + "default:\n  http: { url: \"socks5h://proxy.internal:1080\", timeout_seconds: !x " + canary + " }\n",
		"version: 1\nenabled: !x " + canary + "\n",
		"version: !x " + canary + "\nenabled: true\n",
		head + "lock: !foo " + canary + "\n",
		head + "lock: !!bool " + canary + "\n",
		head + "lock: !!float " + canary + "\n",
		"version: !!int " + canary + "\nenabled: true\n",
		head + "default:\n  http: { url: \"socks5h://p:1\", timeout_seconds: !!int " + canary + " }\n",
		head + "exchanges:\n  \"u:" + canary + "\uff20host\": {}\n",
		head + "exchanges:\n  \"u:" + canary + "%40host\": {}\n",
		head + canary + "\uff20host: 1\n",
	} {
		for _, allow := range []bool{false, true} {
			got := loadErrs(t, src, Options{AllowInlineCredentials: allow})
			if got == nil && !allow {
				t.Errorf("no error for %q", src)
			}
			assertNoCanary(t, got)
		}
	}
	// A 64 KB host, key or anchor gives a short error.
	huge := strings.Repeat("h", 1<<16)
	for _, src := range []string{
		head + "default:\n  http: { url: \"socks5://" + huge + ":1080/\" }\n",
		head + "default:\n  http: { url: \"socks5://" + huge + "\" }\n",
		head + "exchanges:\n  " + huge + "-x: {}\n",
		head + huge + ": 1\n",
		head + "default:\n  http: { url: \"socks5h://p:1\", timeout_seconds: 1" + strings.Repeat("0", 1<<16) + "}\n",
		head + "x: &" + huge + " 1\n",
	} {
		for _, l := range loadErrs(t, src, Options{}) {
			if len(l) > 1024 {
				t.Errorf("error line of %d bytes: %.100s...", len(l), l)
			}
		}
	}
	if got := capString(strings.Repeat("é", 40), maxEcho); len(got) > maxEcho || !strings.HasSuffix(got, "...") || !strings.HasPrefix(got, "é") {
		t.Errorf("capString: %q", got)
	}
}

// Item 9: an id that ends in _ or holds __ cannot be addressed by the
// environment overlay (PREFIX<ID>__<FIELD>); the loader and the JSON Schema
// both refuse it, saying why.
func TestSec09_ExchangeIDGrammar(t *testing.T) {
	for _, id := range []string{"binance_", "gate__io", "a_", "Kraken_Futures_", "x__"} {
		got := loadErrs(t, head+"exchanges:\n  "+id+": {}\n", Options{})
		if len(got) != 1 || !strings.HasPrefix(got[0], "f.yaml:4:3: exchanges."+id+": ") || !strings.Contains(got[0], "environment overlay splits variable names on __") {
			t.Errorf("id %q: %q, want one positioned error naming the overlay's __", id, got)
		}
		if ValidExchangeID(strings.ToLower(id)) {
			t.Errorf("ValidExchangeID(%q) = true", id)
		}
	}
	for _, id := range []string{"binance", "binance_futures", "okx_us2", "a1_2b_c", "Gate_IO"} {
		if got := loadErrs(t, head+"exchanges:\n  "+id+": {}\n", Options{}); got != nil {
			t.Errorf("id %q refused: %q", id, got)
		}
		if !ValidExchangeID(strings.ToLower(id)) {
			t.Errorf("ValidExchangeID(%q) = false", id)
		}
	}
	sch, err := compiled()
	if err != nil {
		t.Fatal(err)
	}
	for id, ok := range map[string]bool{"binance_": false, "gate__io": false, "_x": false, "gate_io": true} {
		err := sch.Validate(map[string]any{"version": json.Number("1"), "enabled": true, "exchanges": map[string]any{id: map[string]any{}}})
		var ve *jsonschema.ValidationError
		if ok != (err == nil) || (!ok && !errors.As(err, &ve)) {
			t.Errorf("JSON Schema on id %q: %v, want ok=%v", id, err, ok)
		}
	}
}

// Item 13: a bad byte is reported at its own line and column.
func TestSec13_BadBytePosition(t *testing.T) {
	for _, c := range []struct{ src, want string }{
		{head + "default:\n  http: { url: \"socks5h://p:1\x00\" }\n", "f.yaml:4:30: NUL byte is not allowed"},
		{head + "# caf\xe9\n", "f.yaml:3:6: invalid UTF-8"},
		{head + "# é\xff\n", "f.yaml:3:4: invalid UTF-8"},
		{head + "lock: \x01true\n", "f.yaml:3:7: control character U+0001 is not allowed"},
		{"\x00", "f.yaml:1:1: NUL byte is not allowed"},
		{head + "\n\n\t\x7f\n", "f.yaml:5:2: control character U+007F is not allowed"},
	} {
		got := loadErrs(t, c.src, Options{})
		if len(got) != 1 || got[0] != c.want {
			t.Errorf("%q: %q, want %q", c.src, got, c.want)
		}
	}
}

// Item 9: the pattern the JSON Schema and docs show is the runtime's rule.
func TestSec09_PatternIsRuntimeRule(t *testing.T) {
	re := regexp.MustCompile(ExchangeIDPattern)
	for _, id := range []string{"a", "ab", "a1", "a_b", "a_1_b", "a_", "a__b", "_a", "1a", "A", "a-b", "a_b_", "binance_futures", "x9_y9"} {
		if re.MatchString(id) != ValidExchangeID(id) {
			t.Errorf("%q: pattern %v, rule %v", id, re.MatchString(id), ValidExchangeID(id))
		}
	}
}
