package runtime

import (
	"net"
	"net/url"
	"strconv"
	"strings"
)

const (
	// maxHostNameLen is the longest host name a proxy URL or a target may
	// have (RFC 1035's 253 bytes in text form).
	maxHostNameLen = 253
	// maxPort is the highest TCP port.
	maxPort = 1<<16 - 1
)

// URLError is a proxy URL that breaks the spec's rules. Reason names the
// problem and never any part of the URL (a mistyped '@' can leave the
// password in what looks like the host); Error adds the port number when
// the port is out of range, a detail the environment overlay leaves out.
type URLError struct {
	Reason string
	port   string // the out-of-range port, "" for other problems
}

func (e *URLError) Error() string {
	if e.port != "" {
		return "proxy port " + e.port + " out of range 1.." + strconv.Itoa(maxPort)
	}
	return e.Reason
}

func urlErr(reason string) error { return &URLError{Reason: reason} }

// ParseURLOptions relaxes ParseURL.
type ParseURLOptions struct {
	// AllowInlineCredentials accepts literal user names and passwords in
	// the URL instead of ${VAR} references.
	AllowInlineCredentials bool
}

// ParseURL parses a proxy URL with the spec's rules: scheme http, https,
// socks4, socks4a, socks5 or socks5h (any case); a host (IPv6 in brackets);
// an explicit port 1..65535; no path but "/", no query, no fragment;
// credentials as ${VAR} references unless opts allow literals; socks4 and
// socks4a take a user id only. The Proxy's Timeout is left zero.
//
// Errors are *URLError; they never echo any part of raw.
func ParseURL(raw string, opts ParseURLOptions) (*Proxy, error) {
	if raw == "" {
		return nil, urlErr("empty proxy URL")
	}
	for i := 0; i < len(raw); i++ {
		if c := raw[i]; c <= ' ' || c == 0x7f { // space, C0 controls, DEL
			return nil, urlErr("proxy URL contains a space or control character")
		}
	}
	i := strings.Index(raw, "://")
	if i < 0 {
		return nil, urlErr("proxy URL needs a scheme, like socks5h://host:port")
	}
	scheme, ok := parseScheme(raw[:i])
	if !ok {
		return nil, urlErr("unsupported proxy scheme (want http, https, socks4, socks4a, socks5 or socks5h)")
	}
	rest := raw[i+3:]
	p := &Proxy{Scheme: scheme}
	// Everything before the last '@' is user information, even where a
	// careless password holds '/', '?' or '#': no part of it may reach an
	// error message as host, port or path.
	if at := strings.LastIndexByte(rest, '@'); at >= 0 {
		if err := parseUserinfo(p, rest[:at], opts); err != nil {
			return nil, err
		}
		rest = rest[at+1:]
	}
	authority := rest
	if j := strings.IndexAny(rest, "/?#"); j >= 0 {
		authority, rest = rest[:j], rest[j:]
	} else {
		rest = ""
	}
	if err := parseHostPort(p, authority); err != nil {
		return nil, err
	}
	switch {
	case rest == "" || rest == "/":
	case rest[0] == '?' || strings.Contains(rest, "?"):
		return nil, urlErr("proxy URL must not have a query")
	case rest[0] == '#' || strings.Contains(rest, "#"):
		return nil, urlErr("proxy URL must not have a fragment")
	default:
		return nil, urlErr("proxy URL must not have a path")
	}
	return p, nil
}

func parseUserinfo(p *Proxy, info string, opts ParseURLOptions) error {
	user, pass, hasPass := strings.Cut(info, ":")
	if user == "" && !hasPass {
		return urlErr("proxy URL has an empty user")
	}
	if (p.Scheme == SOCKS4 || p.Scheme == SOCKS4A) && hasPass {
		return urlErr(p.Scheme.String() + " takes a user id only, not a password")
	}
	var err error
	if p.User, p.UserVar, err = credential(user, "user", opts); err != nil {
		return err
	}
	var pw string
	if pw, p.PasswordVar, err = credential(pass, "password", opts); err != nil {
		return err
	}
	p.Password = NewSecret(pw)
	return nil
}

// credential splits one userinfo part into a literal value or a ${VAR} name.
func credential(s, what string, opts ParseURLOptions) (value, varName string, err error) {
	if s == "" {
		return "", "", nil
	}
	if strings.HasPrefix(s, "${") && strings.HasSuffix(s, "}") {
		name := s[2 : len(s)-1]
		if !validVarName(name) {
			return "", "", urlErr(what + " reference must be ${NAME} with NAME of letters, digits and _")
		}
		return "", name, nil
	}
	if strings.Contains(s, "${") {
		return "", "", urlErr(what + " must be a whole ${VAR} reference")
	}
	if !opts.AllowInlineCredentials {
		return "", "", urlErr("inline " + what + " not allowed: use a ${VAR} reference (or -allow-inline-credentials)")
	}
	v, err := url.PathUnescape(s)
	if err != nil {
		return "", "", urlErr(what + " has an invalid %-escape")
	}
	return v, "", nil
}

// validVarName reports whether s is a usable environment variable name.
func validVarName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '_', 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z':
		case '0' <= c && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

func parseHostPort(p *Proxy, hp string) error {
	if hp == "" {
		return urlErr("proxy URL needs a host")
	}
	var host, port string
	if hp[0] == '[' {
		end := strings.IndexByte(hp, ']')
		if end < 0 {
			return urlErr("proxy URL has an unclosed [ in its host")
		}
		host = hp[1:end]
		if ip := net.ParseIP(host); ip == nil || ip.To4() != nil && !strings.Contains(host, ":") {
			return urlErr("proxy host in brackets is not an IPv6 address")
		}
		rest := hp[end+1:]
		if rest == "" {
			return urlErr("proxy URL needs an explicit port")
		}
		if rest[0] != ':' {
			return urlErr("unexpected text after ] in the proxy host")
		}
		port = rest[1:]
	} else {
		j := strings.LastIndexByte(hp, ':')
		if j < 0 {
			return urlErr("proxy URL needs an explicit port")
		}
		host, port = hp[:j], hp[j+1:]
		if strings.Contains(host, ":") {
			return urlErr("IPv6 proxy host must be in brackets")
		}
		if host == "" {
			return urlErr("proxy URL needs a host")
		}
		if !validHostName(host) {
			// Never the host's text: a look-alike or escaped '@' (U+FF20,
			// %40) leaves the user information in it.
			return urlErr("invalid proxy host: want an IP address or a host name of letters, digits, '-', '.' and '_'")
		}
	}
	if port == "" {
		return urlErr("proxy URL needs an explicit port")
	}
	n, err := strconv.Atoi(port)
	if err != nil || port[0] == '+' || port[0] == '-' {
		return urlErr("proxy port is not a number")
	}
	if n < 1 || n > maxPort {
		return &URLError{Reason: "proxy port out of range 1.." + strconv.Itoa(maxPort), port: strconv.Itoa(n)}
	}
	p.Host, p.Port = host, uint16(n)
	return nil
}

func validHostName(h string) bool {
	if len(h) > maxHostNameLen {
		return false
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '.', c == '_':
		default:
			return false
		}
	}
	return true
}

// validateProxy checks one member, a Proxy built in code or by ParseURL,
// with the rules ParseURL applies to text; problems are reported at path.
func validateProxy(p *Proxy, path string, pr *problems) {
	if p.Scheme < HTTP || p.Scheme > SOCKS5H {
		pr.add(path, "unsupported proxy scheme %d (want http, https, socks4, socks4a, socks5 or socks5h)", int(p.Scheme))
	}
	switch {
	case p.Host == "":
		pr.add(path, "proxy URL needs a host")
	case strings.Contains(p.Host, ":"):
		if ip := net.ParseIP(p.Host); ip == nil {
			pr.add(path, "proxy host is not a valid host name or IP address")
		}
	case !validHostName(p.Host):
		pr.add(path, "proxy host is not a valid host name or IP address")
	}
	if p.Port == 0 {
		pr.addValue(path, "got 0", "proxy port must be 1..%d", maxPort)
	}
	if p.Scheme == SOCKS4 || p.Scheme == SOCKS4A {
		if !p.Password.IsZero() || p.PasswordVar != "" {
			pr.add(path, "%s takes a user id only, not a password", p.Scheme)
		}
	}
	if p.User != "" && p.UserVar != "" {
		pr.add(path, "user is set both literally and as a ${VAR} reference")
	}
	if !p.Password.IsZero() && p.PasswordVar != "" {
		pr.add(path, "password is set both literally and as a ${VAR} reference")
	}
	if reason := credentialProblem(p); reason != "" {
		pr.add(path, "%s", reason)
	}
	if p.UserVar != "" && !validVarName(p.UserVar) {
		pr.add(path, "user reference must be ${NAME} with NAME of letters, digits and _")
	}
	if p.PasswordVar != "" && !validVarName(p.PasswordVar) {
		pr.add(path, "password reference must be ${NAME} with NAME of letters, digits and _")
	}
	if p.Timeout != 0 && (p.Timeout < MinTimeout || p.Timeout > MaxTimeout) {
		pr.addValue(path, "got "+p.Timeout.String(), "timeout must be %s..%s", MinTimeout, MaxTimeout)
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
