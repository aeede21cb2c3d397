package schema

import (
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// This file makes errors tell the user what to do: the near miss of an
// unknown key or an invalid exchange id, and the value of a field that can
// never hold a secret. The allowed keys come from the JSON Schema itself,
// so they follow the model without a second list to keep in step.

// schemaTree is the embedded schema.json, decoded once.
var schemaTree = sync.OnceValue(func() map[string]any {
	var m map[string]any
	if err := json.Unmarshal(schemaJSON, &m); err != nil {
		return nil // validateSchema reports a broken schema
	}
	return m
})

// schemaAt returns the subschema that applies to the instance at path, with
// references resolved, or nil when the schema does not describe it.
func schemaAt(path []string) map[string]any {
	root := schemaTree()
	s := resolveRef(root, root)
	for _, tok := range path {
		if s == nil {
			return nil
		}
		if props, ok := s["properties"].(map[string]any); ok {
			if p, ok := props[tok].(map[string]any); ok {
				s = resolveRef(root, p)
				continue
			}
		}
		if ap, ok := s["additionalProperties"].(map[string]any); ok {
			s = resolveRef(root, ap)
			continue
		}
		if it, ok := s["items"].(map[string]any); ok {
			s = resolveRef(root, it)
			continue
		}
		return nil
	}
	return s
}

// resolveRef follows local "$ref": "#/a/b" pointers (a bounded number of
// times, so a cyclic schema cannot loop).
func resolveRef(root, s map[string]any) map[string]any {
	for range 16 {
		ref, ok := s["$ref"].(string)
		if !ok {
			return s
		}
		ptr, ok := strings.CutPrefix(ref, "#/")
		if !ok {
			return s
		}
		var cur any = root
		for _, tok := range strings.Split(ptr, "/") {
			tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
			m, ok := cur.(map[string]any)
			if !ok {
				return nil
			}
			cur = m[tok]
		}
		next, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		s = next
	}
	return s
}

// allowedKeys lists the keys the schema allows in the mapping at path,
// sorted.
func allowedKeys(path []string) []string {
	s := schemaAt(path)
	props, _ := s["properties"].(map[string]any)
	keys := make([]string, 0, len(props))
	for k := range props {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// didYouMean is the hint for unknown key name in the mapping at path:
// `; did you mean "default"?`; or, for a key one level too high,
// `; "url" goes under "http" or "websocket"`; or "" when neither fits.
func didYouMean(path []string, name string) string {
	allowed := allowedKeys(path)
	best := nearest(name, allowed)
	switch len(best) {
	case 0:
		var parents []string
		for _, k := range allowed {
			if slices.Contains(allowedKeys(appendPath(path, k)), name) {
				parents = append(parents, quote(k))
			}
		}
		if len(parents) == 0 || len(parents) > 2 {
			return ""
		}
		return "; " + quote(name) + " goes under " + strings.Join(parents, " or ")
	case 1:
		return "; did you mean " + quote(best[0]) + "?"
	default:
		return "; did you mean " + quote(best[0]) + " or " + quote(best[1]) + "?"
	}
}

// nearest returns the candidates closest to s (at most two, best first),
// comparing case-insensitively with '-' and ' ' read as '_'; a candidate
// qualifies within an edit distance that grows with the length of s, or
// when s is a prefix of it (timeout -> timeout_seconds).
func nearest(s string, candidates []string) []string {
	ns := normKey(s)
	if ns == "" {
		return nil
	}
	limit := 1
	if utf8.RuneCountInString(ns) >= 6 {
		limit = 2
	}
	bestD := limit + 1
	var best []string
	for _, c := range candidates {
		nc := normKey(c)
		d := editDistance(ns, nc)
		if d > limit && len(ns) >= 4 && strings.HasPrefix(nc, ns) {
			d = limit
		}
		switch {
		case d > limit || d > bestD:
		case d < bestD:
			bestD, best = d, []string{c}
		default:
			best = append(best, c)
		}
	}
	if len(best) > 2 {
		best = best[:2]
	}
	return best
}

func normKey(s string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case '-', ' ':
			return '_'
		}
		return r
	}, strings.ToLower(s))
}

// editDistance is the optimal string alignment distance between a and b:
// insertions, deletions, substitutions and swaps of two neighbours
// (defualt -> default) each cost one.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	if len(ra) > 64 || len(rb) > 64 {
		return max(len(ra), len(rb)) // no key is this long; do not spend time
	}
	// d[i][j] is the distance between ra[:i] and rb[:j].
	d := make([][]int, len(ra)+1)
	for i := range d {
		d[i] = make([]int, len(rb)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(ra)][len(rb)]
}

// suggestID is the hint for an invalid exchange id: the id lower-cased
// with every run of separators turned into one '_' (binance-futures ->
// binance_futures), when that is a valid id. An id with anything but
// letters, digits and the separators - _ . and space gets no hint: it
// could be a pasted URL with a password, which the hint would echo.
func suggestID(id string) string {
	for i := 0; i < len(id); i++ {
		switch c := id[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '-', c == '_', c == '.', c == ' ':
		default:
			return ""
		}
	}
	words := strings.FieldsFunc(strings.ToLower(id), func(r rune) bool {
		return !('a' <= r && r <= 'z' || '0' <= r && r <= '9')
	})
	s := strings.Join(words, "_")
	if s == "" || s == id || !ValidExchangeID(s) {
		return ""
	}
	return "; did you mean " + quote(s) + "?"
}

// plainStringFields are string fields that name code or configuration,
// never a secret, so an error may echo their value (quoted, capped and
// still redacted). Every other string, however unlikely to be a
// credential (a string where a boolean or an integer belongs), is shown as
// "a string": a password pasted into the wrong field stays out of CI logs.
// Booleans and numbers are always shown (capped).
var plainStringFields = map[string]bool{
	"package":       true,
	"env_prefix":    true,
	"strategy":      true,
	"when_all_down": true,
}

// neverSecret reports whether the string field at path can never hold a
// secret.
func neverSecret(path []string) bool {
	return len(path) > 0 && plainStringFields[path[len(path)-1]]
}

// shownString is how an error shows the string scalar n: quoted (and
// capped) when n sits in a field that can never hold a secret.
func (l *loader) shownString(n *yaml.Node) (string, bool) {
	if n == nil || n.Kind != yaml.ScalarNode || n.ShortTag() != "!!str" {
		return "", false
	}
	for p, at := range l.locs {
		if at.val == n && p != "" {
			if neverSecret(strings.Split(p, pathSep)) {
				return quote(n.Value), true
			}
			return "", false
		}
	}
	return "", false
}
