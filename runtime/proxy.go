// Package runtime is what proxygen's generated code calls at run time: the
// Proxy type, one dialer for every proxy scheme, the injector that maps
// exchanges to routes, and the environment overlay. It must import nothing
// outside the standard library (its go.mod requires no module), must never
// fail open (a route that names a proxy never connects direct), and must never
// put a credential in an error, a log line, a panic or Stats.
//
// Programs use the Injector (NewInjector, or the one Init installs) and the
// by-id functions over the installed one (HTTPClient, DialContext,
// WebSocketDialContext, WebSocketHTTPClient). The names in generated.go are
// for generated code only. Every exported name is listed in api.txt, which
// TestAPI keeps equal to the source.
package runtime

import (
	"crypto/tls"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"time"
)

// DefaultTimeout bounds a tunnel's set-up when Proxy.Timeout is zero.
const DefaultTimeout = 30 * time.Second

// Scheme is a proxy protocol.
type Scheme uint8

// The proxy schemes. The zero Scheme is invalid.
const (
	HTTP    Scheme = iota + 1 // HTTP CONNECT over TCP
	HTTPS                     // HTTP CONNECT over TLS to the proxy
	SOCKS4                    // SOCKS4, target resolved locally
	SOCKS4A                   // SOCKS4a, host name sent to the proxy
	SOCKS5                    // SOCKS5, target resolved locally
	SOCKS5H                   // SOCKS5, host name sent to the proxy
)

var schemeNames = [...]string{HTTP: "http", HTTPS: "https", SOCKS4: "socks4", SOCKS4A: "socks4a", SOCKS5: "socks5", SOCKS5H: "socks5h"}

// String returns the URL scheme, such as "socks5h".
func (s Scheme) String() string {
	if s >= HTTP && int(s) < len(schemeNames) {
		return schemeNames[s]
	}
	return "scheme(" + strconv.Itoa(int(s)) + ")"
}

// parseScheme maps a URL scheme (case-insensitive) to a Scheme.
func parseScheme(s string) (Scheme, bool) {
	for i, n := range schemeNames {
		if i > 0 && len(n) == len(s) && equalFold(n, s) {
			return Scheme(i), true
		}
	}
	return 0, false
}

// RemoteDNS reports whether the proxy, not the client, resolves the target
// host name (curl's rules: socks5h and socks4a do; socks5 and socks4 do not;
// HTTP proxies always receive the host name).
func (s Scheme) RemoteDNS() bool {
	return s == HTTP || s == HTTPS || s == SOCKS4A || s == SOCKS5H
}

// Transport is the kind of connection a route is for.
type Transport uint8

// The transports of a spec.
const (
	TransportHTTP      Transport = iota // REST over net/http
	TransportWebSocket                  // WebSocket streams
)

// String returns "http" or "websocket".
func (t Transport) String() string {
	switch t {
	case TransportHTTP:
		return "http"
	case TransportWebSocket:
		return "websocket"
	}
	return "transport(" + strconv.Itoa(int(t)) + ")"
}

// Proxy is one proxy route. Generated code holds Proxies as struct literals;
// nothing is parsed at start-up. A nil *Proxy means a direct connection.
//
// A Proxy never prints its credentials: String, every fmt verb, slog and
// JSON show a redacted form. fmt cannot call those methods on an unexported
// struct field, so hold a Proxy by pointer there (fmt prints a nested
// pointer as its address), as the generated code and the runtime do.
type Proxy struct {
	Scheme Scheme
	Host   string // host name or IP address, without IPv6 brackets
	Port   uint16

	// User is the user name (SOCKS5, HTTP Basic) or user id (SOCKS4).
	User string
	// Password prints redacted in every form; Password.Reveal() is the
	// value.
	Password Secret
	// UserVar and PasswordVar name environment variables that hold User and
	// Password (a ${VAR} in the spec). The injector fills the values in
	// (WithLookup; Init uses the environment) and clears these; a dial over
	// a Proxy with a variable still set fails and names it.
	UserVar     string
	PasswordVar string

	// Timeout bounds the whole tunnel set-up of a Dialer over this proxy;
	// zero means DefaultTimeout. In Settings it stays zero: it is the
	// route's (Route.Timeout), and ResolveRoute gives each member of the
	// effective route the route's value.
	Timeout time.Duration
	// Optimistic sends the handshake and the first application bytes without
	// waiting for the proxy's replies; replies are checked on first read. As
	// Timeout, it is the route's in Settings.
	Optimistic bool

	// TLSConfig, for HTTPS proxies, configures TLS to the proxy (for example
	// a private CA). It is cloned; ServerName defaults to Host and NextProtos
	// to http/1.1. Nil means the system roots.
	TLSConfig *tls.Config
}

// Addr returns host:port of the proxy.
func (p Proxy) Addr() string {
	return net.JoinHostPort(p.Host, strconv.Itoa(int(p.Port)))
}

// HasCredentials reports whether the proxy carries a user or password,
// resolved or not.
func (p Proxy) HasCredentials() bool {
	return p.User != "" || !p.Password.IsZero() || p.UserVar != "" || p.PasswordVar != ""
}

// sendsCredentials reports whether the handshake carries credentials: the
// proxy has a user or a password (resolved, not ${VAR} references).
func (p *Proxy) sendsCredentials() bool { return p.User != "" || !p.Password.IsZero() }

// setupTimeout returns Timeout, or DefaultTimeout when it is zero.
func (p *Proxy) setupTimeout() time.Duration {
	if p.Timeout > 0 {
		return p.Timeout
	}
	return DefaultTimeout
}

// resolve returns a copy of p with UserVar and PasswordVar looked up by
// lookup (os.LookupEnv in Init). A variable that is not set is an error that
// names it; its value is never part of an error.
func (p *Proxy) resolve(lookup func(string) (string, bool)) (*Proxy, error) {
	if p == nil || (p.UserVar == "" && p.PasswordVar == "") {
		return p, nil
	}
	q := *p
	if q.UserVar != "" {
		v, ok := lookup(q.UserVar)
		if !ok {
			return nil, &UnresolvedError{Var: q.UserVar}
		}
		q.User, q.UserVar = v, ""
	}
	if q.PasswordVar != "" {
		v, ok := lookup(q.PasswordVar)
		if !ok {
			return nil, &UnresolvedError{Var: q.PasswordVar}
		}
		q.Password, q.PasswordVar = NewSecret(v), ""
	}
	return &q, nil
}

// unresolved returns the first credential variable that is still unresolved.
func (p *Proxy) unresolved() error {
	if p.UserVar != "" {
		return &UnresolvedError{Var: p.UserVar}
	}
	if p.PasswordVar != "" {
		return &UnresolvedError{Var: p.PasswordVar}
	}
	return nil
}

// String returns the proxy URL with any credentials replaced by "***".
func (p Proxy) String() string {
	s := p.Scheme.String() + "://"
	if p.HasCredentials() {
		s += "***@"
	}
	return s + p.Addr()
}

// A nil *Proxy (a direct route) prints as "<nil>" with fmt and null in JSON,
// and logs as "direct" with slog.

// Format prints the redacted form for every verb, so %v, %+v, %#v and %s
// never show credentials.
func (p Proxy) Format(f fmt.State, verb rune) {
	if verb == 'q' {
		fmt.Fprintf(f, "%q", p.String())
		return
	}
	_, _ = f.Write([]byte(p.String()))
}

// LogValue implements slog.LogValuer with the redacted form; a nil *Proxy
// (a direct route) logs as "direct". A Proxy value, which has no LogValue,
// logs through MarshalText or MarshalJSON, also redacted.
func (p *Proxy) LogValue() slog.Value {
	if p == nil {
		return slog.StringValue("direct")
	}
	return slog.StringValue(p.String())
}

// MarshalJSON encodes the redacted form as a JSON string.
func (p Proxy) MarshalJSON() ([]byte, error) { return json.Marshal(p.String()) }

// MarshalText encodes the redacted form.
func (p Proxy) MarshalText() ([]byte, error) { return []byte(p.String()), nil }

// UnresolvedError reports a ${VAR} credential whose variable is not set (or
// not yet resolved by Init).
type UnresolvedError struct{ Var string }

func (e *UnresolvedError) Error() string {
	return "proxy credential variable " + e.Var + " is not set"
}

// sprintf remains only for global.go and injector.go;
// delete it once they call fmt.Sprintf (or build their text) directly.
func sprintf(format string, args ...any) string { return fmt.Sprintf(format, args...) }
