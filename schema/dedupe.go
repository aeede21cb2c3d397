package schema

import (
	"regexp"
	"strings"
)

// One problem gives one message. The schema and the semantic checks may
// each have something to say about the same value: 99999999999999999999
// for timeout_seconds is "must be <= " MaxTimeoutSeconds and, decoded as a
// float, "must be an integer"; a URL without a port fails the schema's
// pattern and ParseURL's "needs an explicit port". mostSpecific keeps, per value
// (file, path and position), only the most specific of those messages.
// Messages about the document's structure (unknown, missing or duplicate
// keys, anchors) are other problems and are always kept.

// Specificity of a message about a value, lowest first.
const (
	rankStructural = iota // not about the value: never dropped, never drops
	rankPattern           // the schema's generic pattern
	rankType              // the schema's type
	rankBound             // range, length, enum, const
	rankSemantic          // a check that names the exact reason
)

var (
	typeMsg  = regexp.MustCompile(`^must be (an? [a-z]+|null)( or (an? [a-z]+|null))* \(got `)
	boundMsg = regexp.MustCompile(`^(must be (>=|<=|one of) |must not be empty$|must be at (least|most) |must be \S+ \(got )`)
)

var structuralPrefixes = []string{
	"unknown key ",
	"missing required key ",
	"duplicate key ",
	"anchors are not allowed",
	"aliases are not allowed",
	"merge keys ",
	"keys must be strings",
	"exchange id ", // about the key, not the value
	"empty spec",
	"spec must be a mapping",
	"only one YAML document",
	"yaml: ",
}

func messageRank(msg string) int {
	for _, p := range structuralPrefixes {
		if strings.HasPrefix(msg, p) {
			return rankStructural
		}
	}
	switch {
	case strings.HasPrefix(msg, "must match "):
		return rankPattern
	case typeMsg.MatchString(msg):
		return rankType
	case boundMsg.MatchString(msg):
		return rankBound
	}
	return rankSemantic
}

type valueLoc struct {
	file, path string
	line, col  int
}

// mostSpecific drops, at each value, the messages less specific than the
// best one there; the order of what remains is unchanged.
func mostSpecific(es Errors) Errors {
	best := make(map[valueLoc]int, len(es))
	for _, e := range es {
		k := valueLoc{e.File, e.Path, e.Line, e.Col}
		best[k] = max(best[k], messageRank(e.Msg))
	}
	out := es[:0:0]
	for _, e := range es {
		r := messageRank(e.Msg)
		if r == rankStructural || r == best[valueLoc{e.File, e.Path, e.Line, e.Col}] {
			out = append(out, e)
		}
	}
	return out
}
