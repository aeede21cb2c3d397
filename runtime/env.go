package runtime

import (
	"sort"
	"strconv"
	"strings"
	"time"
)

// EnvError is an environment variable the overlay cannot use. Var is the
// variable's name as set; Reason never contains its value.
type EnvError struct {
	Var    string
	Reason string
}

func (e *EnvError) Error() string { return e.Var + ": " + e.Reason }

func envErr(name, format string, args ...any) error {
	return &EnvError{Var: name, Reason: sprintf(format, args...)}
}

// envFields are the per-route variables.
const (
	envURL        = "URL"
	envDirect     = "DIRECT"
	envTimeout    = "TIMEOUT_SECONDS"
	envOptimistic = "OPTIMISTIC"
)

const envUsage = "unknown variable: want %[1]sENABLED, %[1]sDEFAULT__<HTTP|WEBSOCKET>__<FIELD> or " +
	"%[1]sEXCHANGES__<ID>__<HTTP|WEBSOCKET>__<FIELD> with FIELD one of URL, DIRECT, TIMEOUT_SECONDS, OPTIMISTIC"

type envTarget struct {
	id string // "" for the default routes
	t  Transport
}

func (k envTarget) path() string {
	if k.id == "" {
		return "default." + k.t.String()
	}
	return "exchanges." + k.id + "." + k.t.String()
}

// varName is the upper-case variable for one field of the target.
func (k envTarget) varName(prefix, field string) string {
	t := "HTTP"
	if k.t == TransportWebSocket {
		t = "WEBSOCKET"
	}
	if k.id == "" {
		return prefix + "DEFAULT__" + t + "__" + field
	}
	return prefix + "EXCHANGES__" + strings.ToUpper(k.id) + "__" + t + "__" + field
}

type routeEdit struct {
	url                           *Proxy
	direct, optimistic            *bool
	timeout                       *time.Duration
	urlVar, directVar, timeoutVar string
	optimisticVar                 string
	vars                          []string
	invalid                       bool // a variable of this route failed to parse
}

// ApplyEnv overlays environment variables (environ as from os.Environ) on s
// and returns the result, validated with the spec's rules. With s.Lock it
// returns s unchanged and reads nothing.
//
// Variables start with s.EnvPrefix (DefaultEnvPrefix when empty); names are
// case-insensitive and "__" nests:
//
//	<P>ENABLED                               kill switch (or switch on)
//	<P>DEFAULT__HTTP__URL                    default route of a transport
//	<P>DEFAULT__WEBSOCKET__TIMEOUT_SECONDS
//	<P>EXCHANGES__BINANCE__HTTP__URL         an exchange's route (new ids allowed)
//	<P>EXCHANGES__KRAKEN__WEBSOCKET__DIRECT
//	<P>EXCHANGES__KRAKEN__WEBSOCKET__OPTIMISTIC
//
// Booleans are 1/true/yes/on or 0/false/no/off (any case); TIMEOUT_SECONDS
// is an integer 1..300. Env wins field by field: TIMEOUT_SECONDS or
// OPTIMISTIC keep the compiled-in URL; URL replaces scheme, host, port and
// credentials but keeps the compiled-in timeout and optimistic flag. For one
// transport a URL replaces a compiled-in direct: true and DIRECT=true
// replaces a compiled-in URL; DIRECT=false, TIMEOUT_SECONDS or OPTIMISTIC on
// a route with no URL in the spec or env is an error, as is DIRECT=true
// together with URL, TIMEOUT_SECONDS or OPTIMISTIC.
//
// URLs follow the spec's rules except that literal credentials are allowed:
// the environment already carries secrets (like HTTPS_PROXY does), and the
// values never reach an error, a log line or Explain. ${VAR} references work
// too and are resolved by NewInjector's WithLookup.
//
// Every unknown or invalid variable is reported (errors.Join, sorted), as an
// *EnvError naming the variable and the problem, never its value; on error s
// is returned unchanged. An EnvPrefix that is not ValidEnvPrefix is an error
// (a *SettingsError) before any variable is read. The result's FromEnv records which variables shaped
// which route.
func ApplyEnv(s Settings, environ []string) (Settings, error) {
	if s.Lock {
		return s, nil
	}
	prefix := s.EnvPrefix
	if prefix == "" {
		prefix = DefaultEnvPrefix
	} else if !ValidEnvPrefix(prefix) {
		// A short prefix like "P" would claim PATH and PWD.
		return s, &SettingsError{Path: "env_prefix", Reason: sprintf("must be at least %d characters of letters, digits and _, start with a letter and end in _ (like MYAPP_PROXY_)", MinEnvPrefixLen)}
	}
	upPrefix := strings.ToUpper(prefix)

	// Collect the variables under the prefix, by upper-case name.
	type envVar struct{ name, value string }
	vars := make(map[string]envVar)
	var errs []error
	for _, kv := range environ {
		name, value, ok := strings.Cut(kv, "=")
		if !ok || len(name) < len(upPrefix) || strings.ToUpper(name[:len(upPrefix)]) != upPrefix {
			continue
		}
		key := strings.ToUpper(name[len(upPrefix):])
		if prev, dup := vars[key]; dup && prev.name != name {
			a, b := prev.name, name
			if b < a {
				a, b = b, a
			}
			errs = append(errs, envErr(b, "set twice, also as %s (names are case-insensitive)", a))
			continue
		}
		vars[key] = envVar{name, value}
	}
	keys := make([]string, 0, len(vars))
	for k := range vars {
		keys = append(keys, k)
	}
	sort.Strings(keys)

	out := s
	fromEnv := make(map[string][]string, len(s.FromEnv)+len(keys))
	for k, v := range s.FromEnv {
		fromEnv[k] = append([]string(nil), v...)
	}
	edits := make(map[envTarget]*routeEdit)
	for _, key := range keys {
		v := vars[key]
		if key == "ENABLED" {
			b, ok := parseEnvBool(v.value)
			if !ok {
				errs = append(errs, envErr(v.name, "not a boolean (want 1/true/yes/on or 0/false/no/off)"))
				continue
			}
			out.Enabled = b
			fromEnv["enabled"] = []string{v.name}
			continue
		}
		parts := strings.Split(key, "__")
		var target envTarget
		switch {
		case parts[0] == "DEFAULT" && len(parts) == 3:
		case parts[0] == "EXCHANGES" && len(parts) >= 4:
			target.id = strings.ToLower(strings.Join(parts[1:len(parts)-2], "__"))
			if !ValidExchangeID(target.id) {
				errs = append(errs, envErr(v.name, "invalid exchange id %q: %s", capText(target.id), ExchangeIDRule))
				continue
			}
		default:
			errs = append(errs, envErr(v.name, envUsage, upPrefix))
			continue
		}
		switch parts[len(parts)-2] {
		case "HTTP":
			target.t = TransportHTTP
		case "WEBSOCKET":
			target.t = TransportWebSocket
		default:
			errs = append(errs, envErr(v.name, "unknown transport %q: want HTTP or WEBSOCKET", capText(parts[len(parts)-2])))
			continue
		}
		e := edits[target]
		if e == nil {
			e = &routeEdit{}
			edits[target] = e
		}
		nerr := len(errs)
		switch field := parts[len(parts)-1]; field {
		case envURL:
			p, err := ParseURL(v.value, ParseURLOptions{AllowInlineCredentials: true})
			if err != nil {
				errs = append(errs, envErr(v.name, "%s", scrubURLReason(err.Error())))
				break
			}
			e.url, e.urlVar = p, v.name
		case envDirect, envOptimistic:
			b, ok := parseEnvBool(v.value)
			if !ok {
				errs = append(errs, envErr(v.name, "not a boolean (want 1/true/yes/on or 0/false/no/off)"))
				break
			}
			if field == envDirect {
				e.direct, e.directVar = &b, v.name
			} else {
				e.optimistic, e.optimisticVar = &b, v.name
			}
		case envTimeout:
			n, ok := parseEnvInt(v.value)
			if !ok || n < 1 || n > 300 {
				errs = append(errs, envErr(v.name, "must be an integer 1..300 (seconds)"))
				break
			}
			d := time.Duration(n) * time.Second
			e.timeout, e.timeoutVar = &d, v.name
		default:
			errs = append(errs, envErr(v.name, "unknown field %q: want URL, DIRECT, TIMEOUT_SECONDS or OPTIMISTIC", capText(field)))
		}
		if len(errs) > nerr {
			e.invalid = true
			continue
		}
		e.vars = append(e.vars, v.name)
	}

	// Exchange keys of s by lower-case id, so env ids match case-insensitively.
	keyOf := make(map[string]string, len(s.Exchanges))
	for k := range s.Exchanges {
		keyOf[injLowerID(k)] = k
	}
	if len(edits) > 0 {
		out.Exchanges = make(map[string]Routes, len(s.Exchanges)+len(edits))
		for k, v := range s.Exchanges {
			out.Exchanges[k] = v
		}
	}
	targets := make([]envTarget, 0, len(edits))
	for t := range edits {
		targets = append(targets, t)
	}
	sort.Slice(targets, func(i, j int) bool {
		if targets[i].id != targets[j].id {
			return targets[i].id < targets[j].id
		}
		return targets[i].t < targets[j].t
	})
	for _, target := range targets {
		e := edits[target]
		if e.invalid || len(e.vars) == 0 {
			continue // already reported
		}
		var rs Routes
		key := ""
		if target.id == "" {
			rs = out.Default
		} else {
			var ok bool
			if key, ok = keyOf[target.id]; !ok {
				key = target.id
				keyOf[key] = key
			}
			rs = out.Exchanges[key]
		}
		nr, errs2 := mergeRoute(rs.Get(target.t), e, target, upPrefix)
		errs = append(errs, errs2...)
		if nr == nil {
			continue
		}
		if target.t == TransportWebSocket {
			rs.WebSocket = nr
		} else {
			rs.HTTP = nr
		}
		if target.id == "" {
			out.Default = rs
		} else {
			out.Exchanges[key] = rs
		}
		sort.Strings(e.vars)
		fromEnv[target.path()] = e.vars
	}
	if len(errs) == 0 {
		if err := Validate(out); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return s, joinSorted(errs)
	}
	if len(fromEnv) > 0 {
		out.FromEnv = fromEnv
	}
	return out, nil
}

// mergeRoute applies one route's variables to its compiled-in route cur
// (nil when the spec sets none). It returns nil when nothing changes.
func mergeRoute(cur *Route, e *routeEdit, k envTarget, prefix string) (*Route, []error) {
	var errs []error
	if e.direct != nil && *e.direct {
		for _, v := range []string{e.urlVar, e.timeoutVar, e.optimisticVar} {
			if v != "" {
				errs = append(errs, envErr(v, "conflicts with %s: a route is either direct or a proxy", e.directVar))
			}
		}
		if len(errs) > 0 {
			return nil, errs
		}
		return &Route{Direct: true}, nil
	}
	var p *Proxy
	switch {
	case e.url != nil:
		c := *e.url
		p = &c
		if cur != nil && cur.Proxy != nil {
			p.Timeout, p.Optimistic, p.TLSConfig = cur.Proxy.Timeout, cur.Proxy.Optimistic, cur.Proxy.TLSConfig
		} else {
			p.Timeout = DefaultTimeout
		}
	case cur != nil && cur.Proxy != nil:
		c := *cur.Proxy
		p = &c
	default:
		what := "has no proxy URL in the spec"
		if cur != nil && cur.Direct {
			what = "is direct: true in the spec"
		}
		for _, v := range []string{e.directVar, e.timeoutVar, e.optimisticVar} {
			if v != "" {
				errs = append(errs, envErr(v, "needs a proxy URL: %s %s (set %s)", k.path(), what, k.varName(prefix, envURL)))
			}
		}
		return nil, errs
	}
	if e.timeout != nil {
		p.Timeout = *e.timeout
	}
	if e.optimistic != nil {
		p.Optimistic = *e.optimistic
	}
	return &Route{Proxy: p}, nil
}

func parseEnvBool(v string) (value, ok bool) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "1", "true", "yes", "on":
		return true, true
	case "0", "false", "no", "off":
		return false, true
	}
	return false, false
}

func parseEnvInt(v string) (int, bool) {
	v = strings.TrimSpace(v)
	if v == "" || len(v) > 9 {
		return 0, false
	}
	for i := 0; i < len(v); i++ {
		if v[i] < '0' || v[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.Atoi(v)
	return n, err == nil
}

// scrubURLReason removes from a ParseURL error every part that may echo the
// value (quoted host or scheme, a port number): env errors never show it.
func scrubURLReason(reason string) string {
	if strings.HasPrefix(reason, "proxy port ") && strings.Contains(reason, "out of range") {
		return "proxy port out of range 1..65535"
	}
	var b strings.Builder
	for i := 0; i < len(reason); {
		if reason[i] == '"' {
			if q, err := strconv.QuotedPrefix(reason[i:]); err == nil {
				i += len(q)
				continue
			}
			// An unterminated quote: drop the rest.
			break
		}
		b.WriteByte(reason[i])
		i++
	}
	return strings.Join(strings.Fields(b.String()), " ")
}
