package schema

import (
	"bytes"
	"cmp"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// Error is one problem in a spec file, at the offending value (an unknown
// key: at the key; a missing key: at its parent mapping).
type Error struct {
	File      string
	Line, Col int
	Path      string // dotted, like exchanges.binance.http.url; empty for syntax errors
	Msg       string
}

// Error prints FILE:LINE:COL: path: message.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	b.WriteByte(':')
	b.WriteString(strconv.Itoa(e.Line))
	b.WriteByte(':')
	b.WriteString(strconv.Itoa(e.Col))
	b.WriteString(": ")
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Errors are all the problems of one or more spec files.
type Errors []*Error

// Error prints one error per line.
func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap lets errors.As find each *Error.
func (es Errors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

func compareErrors(a, b *Error) int {
	return cmp.Or(
		cmp.Compare(a.File, b.File),
		cmp.Compare(a.Line, b.Line),
		cmp.Compare(a.Col, b.Col),
		cmp.Compare(a.Path, b.Path),
		cmp.Compare(a.Msg, b.Msg),
	)
}

// Sort sorts es by file, line, column, path and message and drops
// duplicates.
func (es Errors) Sort() Errors {
	slices.SortFunc(es, compareErrors)
	return slices.CompactFunc(es, func(a, b *Error) bool { return *a == *b })
}

// maxMsg caps an error message; echoed values are capped shorter (quote).
const maxMsg = 512

// dotted joins path with dots; keys are redacted like values.
func dotted(path []string) string {
	parts := make([]string, len(path))
	for i, p := range path {
		parts[i] = capString(redact(p), maxEcho)
	}
	return strings.Join(parts, ".")
}

var syntaxLine = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)
var unknownAnchor = regexp.MustCompile(`^yaml: unknown anchor '(.*)' referenced$`)

// parserProblems are yaml.v3's parser messages; see syntaxErr.
var parserProblems = map[string]bool{
	"did not find expected ',' or ']'":       true,
	"did not find expected ',' or '}'":       true,
	"did not find expected '-' indicator":    true,
	"did not find expected <document start>": true,
	"did not find expected <stream-start>":   true,
	"did not find expected key":              true,
	"did not find expected node content":     true,
	"found duplicate %TAG directive":         true,
	"found duplicate %YAML directive":        true,
	"found incompatible YAML document":       true,
	"found undefined tag handle":             true,
}

// lineCol returns the 1-based line and column of byte offset off in data.
func lineCol(data []byte, off int) (line, col int) {
	before := data[:off]
	line = bytes.Count(before, []byte("\n")) + 1
	// Columns count characters, as the YAML parser's do.
	col = utf8.RuneCount(before[bytes.LastIndexByte(before, '\n')+1:]) + 1
	return line, col
}

// show describes a node for "(got ...)". Only booleans, numbers and null
// are echoed (redacted and capped); a string or a value with a custom tag
// (!x value) never is: a password pasted into the wrong field must not
// reach a CI log.
func show(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	}
	switch n.ShortTag() {
	case "!!null":
		return "null"
	case "!!bool", "!!int", "!!float":
		// Only a value that is what its tag says (not !!int s3cr3t).
		if _, isString := scalar(n).(string); !isString {
			return capString(redact(n.Value), maxEcho)
		}
		return "a tagged value"
	case "!!str", "!!binary", "!!timestamp":
		return "a string"
	}
	return "a tagged value"
}

// describe is show without any echo: for values that may hold
// credentials, such as proxy URLs.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode, yaml.SequenceNode, yaml.AliasNode:
		return show(n)
	}
	switch n.ShortTag() {
	case "!!null":
		return "null"
	case "!!bool":
		return "a boolean"
	case "!!int":
		return "an integer"
	case "!!float":
		return "a number"
	case "!!str", "!!binary", "!!timestamp":
		return "a string"
	}
	return "a tagged value"
}

// maxEcho caps every value echoed in a message, in bytes.
const maxEcho = 64

// capString shortens s to at most max bytes, on a character boundary,
// ending in "..." when cut.
func capString(s string, max int) string {
	if len(s) <= max {
		return s
	}
	cut := max - len("...")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}

// quote quotes s for a message, redacted and capped.
func quote(s string) string {
	return strconv.Quote(capString(redact(s), maxEcho))
}

// atSigns are '@' and what a reader may take for one, or what a URL parser
// may decode into one: a password before any of them is hidden.
var atSigns = []string{"@", "%40", "\uff20", "\ufe6b"}

// redact hides where URL user information could be: everything up to the
// last '@' (or look-alike, or %40), or everything after "://".
func redact(s string) string {
	end := -1
	for _, at := range atSigns {
		if i := strings.LastIndex(s, at); i >= 0 && i+len(at) > end {
			end = i + len(at)
		}
	}
	if end >= 0 {
		return "***@" + s[end:]
	}
	if i := strings.Index(s, "://"); i >= 0 {
		scheme := s[:i]
		if strings.ContainsAny(scheme, ":/") {
			scheme = "***"
		}
		return scheme + "://***"
	}
	return s
}
