package schema

import (
	"errors"
	"github.com/proxygen-go/proxygen/runtime"
	"go/token"
	"strings"
)

// reservedGoNames are the exported names a generated package declares itself;
// an exchange whose constant would take one of them is an error.
var reservedGoNames = map[string]bool{
	"Exchange": true, "ParseExchange": true, "Exchanges": true, "Init": true,
	"InitWith": true, "HTTPProxy": true, "WebSocketProxy": true, "HTTPClient": true,
	"WebSocketDialContext": true, "WebSocketHTTPClient": true, "Settings": true,
	"Injector": true,
}

// GoName converts a (lower-case) exchange id to its Go constant name:
// binance_futures -> BinanceFutures.
func GoName(id string) string {
	var b strings.Builder
	for _, part := range strings.Split(id, "_") {
		if part == "" {
			continue
		}
		b.WriteString(strings.ToUpper(part[:1]))
		b.WriteString(part[1:])
	}
	return b.String()
}

// ReservedGoName reports whether the generated API already uses name.
func ReservedGoName(name string) bool { return reservedGoNames[name] }

// NameClash is an exchange id whose Go constant name cannot be used.
type NameClash struct {
	Index int    // the id's index in the ids given to GoNames
	Name  string // its Go name
	// With is the index of the earlier id with the same Go name, or -1
	// when Name is one the generated API declares itself (ReservedGoName).
	With int
}

// GoNames is the one Go-name rule: it returns each id's Go constant name
// (GoName) and, in order, every id whose name is reserved or already taken
// by an earlier id. The loader reports clashes with positions, the
// generator as errors.
func GoNames(ids []string) (names []string, clashes []NameClash) {
	names = make([]string, len(ids))
	first := make(map[string]int, len(ids))
	for i, id := range ids {
		n := GoName(id)
		names[i] = n
		if ReservedGoName(n) {
			clashes = append(clashes, NameClash{Index: i, Name: n, With: -1})
			continue
		}
		if j, ok := first[n]; ok {
			clashes = append(clashes, NameClash{Index: i, Name: n, With: j})
			continue
		}
		first[n] = i
	}
	return names, clashes
}

// ExchangeIDPattern is the grammar of an exchange id once lower-cased:
// words of lower-case letters and digits joined by single underscores,
// starting with a letter. No id ends in "_" or holds "__", so the
// environment overlay, which splits PREFIX<ID>__<FIELD> on "__", reads
// every id back unambiguously.
const ExchangeIDPattern = `^[a-z][a-z0-9]*(_[a-z0-9]+)*$`

// ValidExchangeID reports whether id (already lower-cased) follows
// ExchangeIDPattern. It is the runtime's rule (runtime.ValidExchangeID), so
// the spec, the env overlay and generated code accept the same ids.
func ValidExchangeID(id string) bool { return runtime.ValidExchangeID(id) }

// exchangeIDProblem says why a key that passed the schema's pattern is
// still not a usable id, or "" when it is.
func exchangeIDProblem(id string) string {
	switch {
	case strings.HasSuffix(id, "_"):
		return "must not end in _: the environment overlay splits variable names on __, so the id could not be addressed"
	case strings.Contains(id, "__"):
		return "must not contain __: the environment overlay splits variable names on __, so the id could not be addressed"
	}
	return ""
}

// Errors of CheckPackageName.
var (
	ErrPackageNotIdentifier = errors.New("is not a Go identifier")
	ErrPackageKeyword       = errors.New("is a Go keyword")
	ErrPackageBlank         = errors.New("is the blank identifier, which cannot be imported")
	ErrPackageMain          = errors.New("is reserved for commands, which cannot be imported")
)

// CheckPackageName reports why name cannot be the package name of a
// generated file, or nil: it must be a Go identifier, not a keyword, not _
// and not main. The spec's package key and the -package flag both use it.
func CheckPackageName(name string) error {
	switch {
	case token.IsKeyword(name):
		return ErrPackageKeyword
	case !token.IsIdentifier(name):
		return ErrPackageNotIdentifier
	case name == "_":
		return ErrPackageBlank
	case name == "main":
		return ErrPackageMain
	}
	return nil
}

// goKeywords lists Go's keywords, in token order.
func goKeywords() []string {
	var out []string
	for t := token.BREAK; t <= token.VAR; t++ {
		if t.IsKeyword() {
			out = append(out, t.String())
		}
	}
	return out
}
