package schema

import (
	"fmt"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// Limits of a spec. Load refuses a spec beyond any of them with a
// positioned error before converting it, so the memory Load uses stays
// proportional to the file's size.
const (
	// MaxFileSize is the largest spec, in bytes (2 MiB: a spec with
	// MaxExchanges exchanges, each with both transports and every route
	// key, takes about 950 KB).
	MaxFileSize = 2 << 20
	// MaxDepth is the deepest nesting of mappings and lists, counting the
	// top-level mapping as 1. A valid spec needs 4
	// (exchanges -> id -> transport -> route).
	MaxDepth = 16
	// MaxExchanges is the largest number of exchanges. The generated
	// Exchange type is a uint16, which holds at most 65536; gen asserts at
	// compile time that MaxExchanges fits.
	MaxExchanges = 4096
	// MaxNodes is the largest number of YAML nodes (keys, values, list
	// items). A spec with MaxExchanges exchanges, each with both
	// transports and every route key, has about 74,000.
	MaxNodes = 1 << 17
)

// checkSize reports a spec larger than MaxFileSize, at the first byte past
// the limit.
func (l *loader) checkSize(data []byte) bool {
	if len(data) <= MaxFileSize {
		return true
	}
	line, col := lineCol(data, MaxFileSize)
	l.errs = append(l.errs, &Error{File: l.file, Line: line, Col: col,
		Msg: fmt.Sprintf("spec is larger than %d bytes (MaxFileSize)", MaxFileSize)})
	return false
}

// checkLimits reports more than MaxExchanges exchanges, then walks the
// parsed document once, without recursion, for nesting deeper than MaxDepth
// and more than MaxNodes nodes. It reports false when the tree must not be
// converted.
func (l *loader) checkLimits(top *yaml.Node) bool {
	if top.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(top.Content); i += 2 {
			k, v := top.Content[i], top.Content[i+1]
			if k.Kind != yaml.ScalarNode || k.Value != "exchanges" || v.Kind != yaml.MappingNode {
				continue
			}
			if n := len(v.Content) / 2; n > MaxExchanges {
				l.errAt(v.Content[2*MaxExchanges], []string{"exchanges"},
					"%d exchanges; at most %d are supported (MaxExchanges)", n, MaxExchanges)
				return false
			}
		}
	}
	type item struct {
		n     *yaml.Node
		depth int
	}
	var stack []item
	if top.Kind == yaml.MappingNode || top.Kind == yaml.SequenceNode {
		stack = append(stack, item{top, 1})
	}
	nodes := 1
	for len(stack) > 0 {
		it := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if it.depth > MaxDepth {
			l.errAt(it.n, nil, "nested deeper than %d levels (MaxDepth)", MaxDepth)
			return false
		}
		if nodes+len(it.n.Content) > MaxNodes {
			l.errAt(it.n.Content[MaxNodes-nodes], nil, "more than %d YAML nodes (MaxNodes)", MaxNodes)
			return false
		}
		nodes += len(it.n.Content)
		for _, c := range it.n.Content {
			if c.Kind == yaml.MappingNode || c.Kind == yaml.SequenceNode {
				stack = append(stack, item{c, it.depth + 1})
			}
		}
	}
	return true
}

// checkEncoding reports the first byte YAML refuses (invalid UTF-8, a NUL
// or another control character) at its own line and column; the YAML
// parser would only say 1:1. Input with a UTF-16 byte order mark is left to
// the parser.
func (l *loader) checkEncoding(data []byte) bool {
	if len(data) >= 2 && (data[0] == 0xFE && data[1] == 0xFF || data[0] == 0xFF && data[1] == 0xFE) {
		return true
	}
	for off := 0; off < len(data); {
		r, size := utf8.DecodeRune(data[off:])
		var msg string
		switch {
		case r == utf8.RuneError && size <= 1:
			msg = "invalid UTF-8"
		case r == 0:
			msg = "NUL byte is not allowed"
		case r < 0x20 && r != '\t' && r != '\n' && r != '\r',
			r >= 0x7F && r <= 0x9F && r != 0x85,
			r == 0xFFFE || r == 0xFFFF:
			msg = fmt.Sprintf("control character %U is not allowed", r)
		}
		if msg != "" {
			line, col := lineCol(data, off)
			l.errs = append(l.errs, &Error{File: l.file, Line: line, Col: col, Msg: msg})
			return false
		}
		off += size
	}
	return true
}
