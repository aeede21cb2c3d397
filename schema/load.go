package schema

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"

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

// errAt records an error at node n (line 1, column 1 when n has none).
func (l *loader) errAt(n *yaml.Node, path []string, format string, args ...any) {
	e := &Error{File: l.file, Line: 1, Col: 1, Path: dotted(path), Msg: capString(fmt.Sprintf(format, args...), maxMsg)}
	if n != nil && n.Line > 0 {
		e.Line, e.Col = n.Line, n.Column
	}
	l.errs = append(l.errs, e)
}

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
