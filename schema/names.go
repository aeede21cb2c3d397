package schema

import (
	"regexp"
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

// exchangeIDPattern is what an exchange id must match once lower-cased.
var exchangeIDPattern = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
