package schema

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// Options relaxes Load.
type Options struct {
	// AllowInlineCredentials accepts literal user names and passwords in
	// proxy URLs instead of ${VAR} references.
	AllowInlineCredentials bool
}

// LoadFile reads and loads the spec at path, reading at most one byte more
// than MaxFileSize. A file that cannot be read is a plain error naming the
// path, not Errors.
func LoadFile(path string, opts Options) (*Spec, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read spec: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("read spec: %w", err)
	}
	return Load(path, data, opts)
}

// Load parses and validates a spec. An invalid spec returns Errors with
// every problem of the file, sorted. On success exchange ids are lower case.
func Load(filename string, data []byte, opts Options) (*Spec, error) {
	l := &loader{file: filename, opts: opts, locs: make(map[string]loc)}
	var root map[string]any
	if l.checkSize(data) && l.checkEncoding(data) {
		root = l.parse(data)
	}
	if root != nil {
		l.validateSchema(root)
		l.checkSemantics(root)
	}
	if len(l.errs) > 0 {
		return nil, mostSpecific(l.errs).Sort()
	}
	return build(root), nil
}

// loc is where a value sits in the file: its key (nil at the root) and
// the value node.
type loc struct{ key, val *yaml.Node }

type loader struct {
	file string
	opts Options
	errs Errors
	// locs maps an instance path (tokens joined by pathSep) to its nodes.
	locs map[string]loc
	// skip holds paths whose value was not converted (an alias); schema
	// errors there would only repeat the first error.
	skip map[string]bool
}

const pathSep = "\x00"

// maxMsg caps an error message; echoed values are capped shorter (quote).
const maxMsg = 512

func (l *loader) errAt(n *yaml.Node, path []string, format string, args ...any) {
	e := &Error{File: l.file, Line: 1, Col: 1, Path: dotted(path), Msg: capString(fmt.Sprintf(format, args...), maxMsg)}
	if n != nil && n.Line > 0 {
		e.Line, e.Col = n.Line, n.Column
	}
	l.errs = append(l.errs, e)
}

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

// syntaxErr turns a yaml.v3 parse error into an Error. yaml.v3 gives a line
// at best, so the column is 1.
func (l *loader) syntaxErr(data []byte, err error) {
	msg := err.Error()
	e := &Error{File: l.file, Line: 1, Col: 1}
	if m := unknownAnchor.FindStringSubmatch(msg); m != nil {
		e.Msg = "aliases are not allowed"
		if i := bytes.Index(data, []byte("*"+m[1])); i >= 0 {
			e.Line, e.Col = lineCol(data, i)
		}
	} else if m := syntaxLine.FindStringSubmatch(msg); m != nil {
		e.Line, _ = strconv.Atoi(m[1])
		e.Msg = capString("yaml: "+m[2], maxMsg)
		if parserProblems[m[2]] {
			e.Line++ // yaml.v3 prints parser (not scanner) lines 0-based
		}
	} else {
		e.Msg = capString(msg, maxMsg)
	}
	hintSyntax(data, e)
	l.errs = append(l.errs, e)
}

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

func lineCol(data []byte, off int) (line, col int) {
	before := data[:off]
	line = bytes.Count(before, []byte("\n")) + 1
	// Columns count characters, as the YAML parser's do.
	col = utf8.RuneCount(before[bytes.LastIndexByte(before, '\n')+1:]) + 1
	return line, col
}

// parse reads exactly one YAML document whose root is a mapping and
// converts it to JSON-like values, recording positions.
func (l *loader) parse(data []byte) map[string]any {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			l.errAt(nil, nil, "empty spec")
		} else {
			l.syntaxErr(data, err)
		}
		return nil
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case errors.Is(err, io.EOF):
	case err != nil:
		l.syntaxErr(data, err)
	default:
		l.errAt(&next, nil, "only one YAML document is allowed")
	}
	if len(doc.Content) != 1 {
		l.errAt(&doc, nil, "empty spec")
		return nil
	}
	top := doc.Content[0]
	if top.Kind == yaml.ScalarNode && top.ShortTag() == "!!null" && top.Anchor == "" {
		l.errAt(top, nil, "empty spec")
		return nil
	}
	if !l.checkLimits(top) {
		return nil
	}
	v := l.value(nil, top, nil, "")
	m, ok := v.(map[string]any)
	if !ok {
		if top.Kind != yaml.AliasNode {
			l.errAt(top, nil, "spec must be a mapping (got %s)", show(top))
		}
		return nil
	}
	return m
}

// value converts n to a JSON-like value: map[string]any, []any, string,
// int64, json.Number for floats, bool or nil.
//
// p is path joined with pathSep, built once per node (the path's depth is
// at most MaxDepth).
func (l *loader) value(key, n *yaml.Node, path []string, p string) any {
	l.locs[p] = loc{key, n}
	if n.Anchor != "" {
		l.errAt(n, path, "anchors are not allowed (&%s)", capString(n.Anchor, maxEcho))
	}
	switch n.Kind {
	case yaml.AliasNode:
		l.errAt(n, path, "aliases are not allowed (*%s)", capString(n.Value, maxEcho))
		if l.skip == nil {
			l.skip = make(map[string]bool)
		}
		l.skip[p] = true
		return nil
	case yaml.SequenceNode:
		arr := make([]any, len(n.Content))
		for i, c := range n.Content {
			elem := strconv.Itoa(i)
			arr[i] = l.value(nil, c, appendPath(path, elem), childPath(p, elem))
		}
		return arr
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		var first map[string]*yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if !l.stringKey(k, path) {
				continue
			}
			if f := first[k.Value]; f != nil {
				l.errAt(k, appendPath(path, k.Value), "duplicate key %s (first at line %d)", quote(k.Value), f.Line)
				continue
			}
			if first == nil {
				first = make(map[string]*yaml.Node, len(n.Content)/2)
			}
			first[k.Value] = k
			m[k.Value] = l.value(k, v, appendPath(path, k.Value), childPath(p, k.Value))
		}
		return m
	}
	return scalar(n)
}

// stringKey reports whether k is a plain string key, recording an error
// when it is not.
func (l *loader) stringKey(k *yaml.Node, path []string) bool {
	switch {
	case k.Kind == yaml.AliasNode:
		l.errAt(k, path, "aliases are not allowed (*%s)", capString(k.Value, maxEcho))
	case k.Kind != yaml.ScalarNode:
		l.errAt(k, path, "keys must be strings (got %s)", show(k))
	case k.ShortTag() == "!!merge":
		l.errAt(k, path, "merge keys (<<) are not allowed")
	case k.ShortTag() != "!!str":
		l.errAt(k, path, "keys must be strings (got %s)", show(k))
	default:
		if k.Anchor != "" {
			l.errAt(k, path, "anchors are not allowed (&%s)", capString(k.Anchor, maxEcho))
		}
		return true
	}
	return false
}

// childPath is strings.Join(append(path, elem), pathSep) given p, the
// joined path.
func childPath(p, elem string) string {
	if p == "" {
		return elem
	}
	return p + pathSep + elem
}

func appendPath(path []string, elem string) []string {
	out := make([]string, len(path)+1)
	copy(out, path)
	out[len(path)] = elem
	return out
}

func scalar(n *yaml.Node) any {
	switch n.ShortTag() {
	case "!!null":
		return nil
	case "!!bool":
		// The forms YAML 1.2 resolves to !!bool, without a decoder.
		switch n.Value {
		case "true", "True", "TRUE":
			return true
		case "false", "False", "FALSE":
			return false
		}
		var b bool
		if n.Decode(&b) == nil {
			return b
		}
	case "!!int":
		if plainDecimal(n.Value) {
			if i, err := strconv.ParseInt(n.Value, 10, 64); err == nil {
				return i
			}
		}
		var i int64
		if n.Decode(&i) == nil {
			return i
		}
		var f float64
		if n.Decode(&f) == nil {
			return number(f)
		}
	case "!!float":
		var f float64
		if n.Decode(&f) == nil {
			return number(f)
		}
	}
	return n.Value
}

// plainDecimal reports whether s is [-+]?(0|[1-9][0-9]*), a form every
// base reads the same way, so strconv can parse it without a YAML decoder.
func plainDecimal(s string) bool {
	if s != "" && (s[0] == '-' || s[0] == '+') {
		s = s[1:]
	}
	if s == "" || (s[0] == '0' && len(s) > 1) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// number keeps floats exact enough for the schema's comparisons; NaN has no
// JSON form and stays a string.
func number(f float64) any {
	switch {
	case math.IsNaN(f):
		return ".nan"
	case math.IsInf(f, 1):
		return jsonNumber("1e999")
	case math.IsInf(f, -1):
		return jsonNumber("-1e999")
	}
	return jsonNumber(strconv.FormatFloat(f, 'g', -1, 64))
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
