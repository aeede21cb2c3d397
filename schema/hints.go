package schema

import (
	"strings"

	"go.yaml.in/yaml/v3"
)

// hintSyntax makes a YAML syntax error tell the user what to do: a tab in
// indentation says so at the tab, and an indentation mistake points at the
// offending line (yaml.v3 reports the start of the enclosing mapping
// instead) with a hint. It never adds text from the file to the message.
func hintSyntax(data []byte, e *Error) {
	problem, ok := strings.CutPrefix(e.Msg, "yaml: ")
	if !ok {
		return
	}
	lines := strings.Split(string(data), "\n")
	line := e.Line
	if _, ok := lineProblems[problem]; ok {
		line = firstFailingLine(lines, problem, line)
	}
	if line < 1 || line > len(lines) {
		return
	}
	text := strings.TrimSuffix(lines[line-1], "\r")
	if col := tabInIndent(text); col > 0 {
		e.Line, e.Col = line, col
		e.Msg = "yaml: tabs are not allowed in YAML indentation; indent with spaces"
		return
	}
	hint, ok := lineProblems[problem]
	if !ok {
		hint, ok = otherHints[problem]
		if ok {
			e.Msg += "; " + hint
		}
		return
	}
	e.Line = line
	e.Col = len(text) - len(strings.TrimLeft(text, " ")) + 1
	if problem == "found character that cannot start any token" {
		e.Col = reservedStart(text, e.Col)
	}
	e.Msg += "; " + hint
}

// reservedStart returns the 1-based column of the first value that starts
// with @ or ` (YAML reserves both), or col.
func reservedStart(text string, col int) int {
	for i := col - 1; i < len(text); i++ {
		if c := text[i]; c != '@' && c != '`' {
			continue
		}
		if i == col-1 || strings.IndexByte(" [{,", text[i-1]) >= 0 {
			return i + 1
		}
	}
	return col
}

// lineProblems are yaml.v3 messages caused by one line, usually its
// indentation, with the hint each gets at that line.
var lineProblems = map[string]string{
	"did not find expected key":                              "check this line's indentation: keys of one mapping must line up",
	"did not find expected '-' indicator":                    `check this line's indentation: every item of a list starts with "- " at the same column`,
	"mapping values are not allowed in this context":         `check this line's indentation and that the key above ends with ":"; quote a value that contains ": "`,
	"block sequence entries are not allowed in this context": "check this line's indentation: a list item cannot follow a value on the same level",
	"found a tab character that violates indentation":        "indent with spaces",
	"could not find expected ':'":                            `a key needs ": " after it; quote a value that spans lines`,
	"found character that cannot start any token":            "quote values that start with @ or `",
}

// otherHints are hints for messages whose line yaml.v3 already gets right.
var otherHints = map[string]string{
	"did not find expected ',' or '}'": "a { } mapping that starts on this line is not closed, or lacks a comma",
	"did not find expected ',' or ']'": "a [ ] list that starts on this line is not closed, or lacks a comma",
	"found unexpected end of stream":   "a quoted string is not closed",
}

// tabInIndent returns the 1-based column of the first tab in the line's
// leading white space, or 0.
func tabInIndent(line string) int {
	for i := 0; i < len(line); i++ {
		switch line[i] {
		case '\t':
			return i + 1
		case ' ':
		default:
			return 0
		}
	}
	return 0
}

// firstFailingLine finds the line that makes the document fail with
// problem: the fewest leading lines that fail to parse the same way. Once
// that line is in, the parser stops there whatever follows, so the search
// can halve; a file whose prefixes do not fail that way keeps line.
func firstFailingLine(lines []string, problem string, line int) int {
	fails := func(k int) bool {
		var n yaml.Node
		err := yaml.Unmarshal([]byte(strings.Join(lines[:k], "\n")+"\n"), &n)
		if err == nil {
			return false
		}
		m := syntaxLine.FindStringSubmatch(err.Error())
		return m != nil && m[2] == problem
	}
	lo, hi := 1, len(lines)
	if !fails(hi) {
		return line
	}
	for lo < hi {
		mid := lo + (hi-lo)/2
		if fails(mid) {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo
}
