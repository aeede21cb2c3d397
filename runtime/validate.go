package runtime

import (
	"errors"
	"net"
	"sort"
	"strings"
	"time"
)

// MaxTimeout is the largest Proxy.Timeout a spec allows (timeout_seconds 300).
const MaxTimeout = 300 * time.Second

// SettingsError is one rule a Settings value breaks. Path names the field in
// the spec's terms ("exchanges.binance.http.url"); Reason never contains a
// credential. Err, when set, is the underlying error (for example an
// *UnresolvedError) for errors.As.
type SettingsError struct {
	Path   string
	Reason string
	Err    error
}

func (e *SettingsError) Error() string {
	if e.Path == "" {
		return e.Reason
	}
	return e.Path + ": " + e.Reason
}

func (e *SettingsError) Unwrap() error { return e.Err }

// Validate checks s with the spec's rules: each Route has exactly one of
// Proxy or Direct; a Proxy has a known scheme, a host, a port 1..65535, a
// Timeout of zero or 1s..300s, well-formed ${VAR} names, and no password for
// socks4/socks4a, credentials the scheme can carry; exchange ids are
// ^[a-z][a-z0-9]*(_[a-z0-9]+)*$ after ASCII lower-casing and no two ids are
// equal after lower-casing; EnvPrefix is empty or ValidEnvPrefix.
//
// All problems are reported, joined with errors.Join in sorted order; each
// is a *SettingsError naming the field.
func Validate(s Settings) error {
	var errs []error
	add := func(path, format string, args ...any) {
		errs = append(errs, &SettingsError{Path: path, Reason: sprintf(format, args...)})
	}
	if s.EnvPrefix != "" && !ValidEnvPrefix(s.EnvPrefix) {
		add("env_prefix", "must be at least %d characters of letters, digits and _, start with a letter and end in _ (like MYAPP_PROXY_)", MinEnvPrefixLen)
	}
	validateRoutes(s.Default, "default", add)
	seen := make(map[string]string, len(s.Exchanges))
	for id, r := range s.Exchanges {
		low := injLowerID(id)
		if !ValidExchangeID(low) {
			add("exchanges."+capText(id), "invalid exchange id %q: %s", capText(id), ExchangeIDRule)
			continue
		}
		if prev, dup := seen[low]; dup {
			a, b := prev, id
			if b < a {
				a, b = b, a
			}
			add("exchanges."+low, "exchange ids %q and %q are the same after lower-casing", capText(a), capText(b))
			continue
		}
		seen[low] = id
		validateRoutes(r, "exchanges."+low, add)
	}
	return joinSorted(errs)
}

func validateRoutes(r Routes, path string, add func(path, format string, args ...any)) {
	validateRoute(r.HTTP, path+".http", add)
	validateRoute(r.WebSocket, path+".websocket", add)
}

func validateRoute(r *Route, path string, add func(path, format string, args ...any)) {
	if r == nil {
		return
	}
	switch {
	case r.Proxy != nil && r.Direct:
		add(path, "has both a proxy url and direct: true; want exactly one")
		return
	case r.Proxy == nil && !r.Direct:
		add(path, "needs a proxy url or direct: true")
		return
	case r.Direct:
		return
	}
	p := r.Proxy
	url := path + ".url"
	if p.Scheme < HTTP || p.Scheme > SOCKS5H {
		add(url, "unsupported proxy scheme %d (want http, https, socks4, socks4a, socks5 or socks5h)", int(p.Scheme))
	}
	switch {
	case p.Host == "":
		add(url, "proxy URL needs a host")
	case strings.Contains(p.Host, ":"):
		if ip := net.ParseIP(p.Host); ip == nil {
			add(url, "proxy host is not a valid host name or IP address")
		}
	case !validHostName(p.Host):
		add(url, "proxy host is not a valid host name or IP address")
	}
	if p.Port == 0 {
		add(url, "proxy port must be 1..65535 (got 0)")
	}
	if p.Scheme == SOCKS4 || p.Scheme == SOCKS4A {
		if !p.Password.IsZero() || p.PasswordVar != "" {
			add(url, "%s takes a user id only, not a password", p.Scheme)
		}
	}
	if p.User != "" && p.UserVar != "" {
		add(url, "user is set both literally and as a ${VAR} reference")
	}
	if !p.Password.IsZero() && p.PasswordVar != "" {
		add(url, "password is set both literally and as a ${VAR} reference")
	}
	if reason := credentialProblem(p); reason != "" {
		add(url, "%s", reason)
	}
	if p.UserVar != "" && !ValidVarName(p.UserVar) {
		add(url, "user reference must be ${NAME} with NAME of letters, digits and _")
	}
	if p.PasswordVar != "" && !ValidVarName(p.PasswordVar) {
		add(url, "password reference must be ${NAME} with NAME of letters, digits and _")
	}
	if p.Timeout != 0 && (p.Timeout < time.Second || p.Timeout > MaxTimeout) {
		add(path+".timeout_seconds", "must be 1..300 seconds (got %s)", p.Timeout)
	}
}

// credentialProblem checks the literal (or resolved) credentials against
// what the scheme can carry; "" means fine. ${VAR} values are checked when
// NewInjector resolves them. The reason never contains a value.
func credentialProblem(p *Proxy) string {
	switch p.Scheme {
	case SOCKS5, SOCKS5H:
		// RFC 1929: a user name of 1..255 bytes, a password of 0..255.
		if p.User == "" && p.UserVar == "" && !p.Password.IsZero() {
			return "socks5 needs a user name (1..255 bytes) with a password"
		}
		if len(p.User) > 255 || p.Password.Len() > 255 {
			return "socks5 user name and password are limited to 255 bytes each"
		}
	case HTTP, HTTPS:
		// Basic auth joins them as user:password; the proxy splits at the
		// first ':'.
		if strings.IndexByte(p.User, ':') >= 0 {
			return "HTTP Basic user name must not contain ':'"
		}
	case SOCKS4, SOCKS4A:
		if strings.IndexByte(p.User, 0) >= 0 {
			return "socks4 user id contains a NUL byte"
		}
	}
	return ""
}

// ExchangeIDRule describes ValidExchangeID's grammar for error messages.
const ExchangeIDRule = "want a lower-case letter, then letters and digits, in words joined by single '_' (no '__', no trailing '_')"

// ValidExchangeID reports whether id is a normalised exchange id:
// ^[a-z][a-z0-9]*(_[a-z0-9]+)*$. Ids hold no "__" and do not end in '_', so
// the environment overlay's "__" separator splits
// <prefix>EXCHANGES__<ID>__HTTP__URL unambiguously.
func ValidExchangeID(id string) bool {
	if id == "" || id[0] < 'a' || id[0] > 'z' || id[len(id)-1] == '_' {
		return false
	}
	for i := 1; i < len(id); i++ {
		c := id[i]
		switch {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
		case c == '_' && id[i-1] != '_':
		default:
			return false
		}
	}
	return true
}

// MinEnvPrefixLen is the shortest Settings.EnvPrefix Validate accepts.
const MinEnvPrefixLen = 3

// ValidEnvPrefix reports whether s is a usable overlay prefix: at least
// MinEnvPrefixLen bytes of ASCII letters, digits and '_', starting with a
// letter and ending in '_' (so a prefix like "P" cannot claim PATH and PWD
// and make every Init fail). The empty prefix means DefaultEnvPrefix.
func ValidEnvPrefix(s string) bool {
	if len(s) < MinEnvPrefixLen || s[len(s)-1] != '_' {
		return false
	}
	if c := s[0]; !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
		return false
	}
	return ValidVarName(s)
}

// maxEcho bounds any user text an error repeats.
const maxEcho = 64

// capText returns s cut to maxEcho bytes (marked with "...").
func capText(s string) string {
	if len(s) <= maxEcho {
		return s
	}
	return s[:maxEcho] + "..."
}

// NormalizeExchangeID lower-cases id (ASCII only, as ids are ASCII). It does
// not allocate when id is already lower case.
func NormalizeExchangeID(id string) string { return injLowerID(id) }

// injLowerID lower-cases ASCII letters, returning id itself when it has no
// upper-case letter.
func injLowerID(id string) string {
	for i := 0; i < len(id); i++ {
		if c := id[i]; 'A' <= c && c <= 'Z' {
			b := []byte(id)
			for j := i; j < len(b); j++ {
				if c := b[j]; 'A' <= c && c <= 'Z' {
					b[j] = c + 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return id
}

// joinSorted joins errs sorted by their text; nil when errs is empty.
func joinSorted(errs []error) error {
	if len(errs) == 0 {
		return nil
	}
	sort.SliceStable(errs, func(i, j int) bool { return errs[i].Error() < errs[j].Error() })
	return errors.Join(errs...)
}
