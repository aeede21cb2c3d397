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
// socks4/socks4a; exchange ids are ^[a-z][a-z0-9_]*$ after lower-casing and
// no two ids are equal after lower-casing.
//
// All problems are reported, joined with errors.Join in sorted order; each
// is a *SettingsError naming the field.
func Validate(s Settings) error {
	var errs []error
	add := func(path, format string, args ...any) {
		errs = append(errs, &SettingsError{Path: path, Reason: sprintf(format, args...)})
	}
	validateRoutes(s.Default, "default", add)
	seen := make(map[string]string, len(s.Exchanges))
	for id, r := range s.Exchanges {
		low := injLowerID(id)
		if !ValidExchangeID(low) {
			add("exchanges."+id, "invalid exchange id %q: want a letter followed by letters, digits or _", id)
			continue
		}
		if prev, dup := seen[low]; dup {
			a, b := prev, id
			if b < a {
				a, b = b, a
			}
			add("exchanges."+low, "exchange ids %q and %q are the same after lower-casing", a, b)
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

// ValidExchangeID reports whether id is a normalised exchange id:
// ^[a-z][a-z0-9_]*$.
func ValidExchangeID(id string) bool {
	if id == "" || id[0] < 'a' || id[0] > 'z' {
		return false
	}
	for i := 1; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_') {
			return false
		}
	}
	return true
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
