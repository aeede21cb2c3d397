package schema

import (
	"cmp"
	"slices"
	"strconv"
	"strings"
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
