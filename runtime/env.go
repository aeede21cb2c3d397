package runtime

import (
	"crypto/tls"
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

// The per-route variables of the destination; each setting's is its
// RouteField's envName (TIMEOUT_SECONDS, EJECT__SECONDS, ...).
const (
	envURL    = "URL"
	envURLs   = "URLS"
	envDirect = "DIRECT"
)

const envUsage = "unknown variable: want %[1]sENABLED, %[1]sDEFAULT__<HTTP|WEBSOCKET>__<FIELD> or " +
	"%[1]sEXCHANGES__<ID>__<HTTP|WEBSOCKET>__<FIELD>"

// envFieldList names every FIELD, for messages.
var envFieldList = func() string {
	names := []string{envURL, envURLs, envDirect}
	for i := range routeFieldInfo {
		names = append(names, routeFieldInfo[i].env)
	}
	return strings.Join(names, ", ")
}()

// envSetting returns the setting whose variable suffix is field.
func envSetting(field string) (RouteField, bool) {
	for i := range routeFieldInfo {
		if routeFieldInfo[i].env == field {
			return 1 << i, true
		}
	}
	return 0, false
}

func isEnvField(field string) bool {
	_, ok := envSetting(field)
	return ok || field == envURL || field == envURLs || field == envDirect
}

func envTransport(part string) (Transport, bool) {
	switch part {
	case "HTTP":
		return TransportHTTP, true
	case "WEBSOCKET":
		return TransportWebSocket, true
	}
	return 0, false
}

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

// routeEdit is what one route's variables set.
type routeEdit struct {
	proxies                    []*Proxy // URL or URLS
	direct                     *bool
	settings                   Route // the settings the variables set, with their bits in Set
	urlVar, urlsVar, directVar string
	fieldVar                   [numRouteFields]string
	vars                       []string
	invalid                    bool // a variable of this route failed to parse
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
//	<P>EXCHANGES__BINANCE__HTTP__URLS=url1,url2  a pool
//	<P>DEFAULT__WEBSOCKET__EJECT__SECONDS       a nested setting
//
// FIELD is a route's destination, URL (a pool of one), URLS (a pool:
// comma-separated URLs, 1..MaxPoolMembers) or DIRECT, or one variable per
// setting: TIMEOUT_SECONDS, ATTEMPT_TIMEOUT_SECONDS, STRATEGY,
// HEDGE_AFTER_MS, EJECT__AFTER_FAILURES, EJECT__SECONDS,
// EJECT__MAX_SECONDS, HEALTH_CHECK__TARGET,
// HEALTH_CHECK__INTERVAL_SECONDS, HEALTH_CHECK__TIMEOUT_SECONDS,
// WHEN_ALL_DOWN, OPTIMISTIC (RouteField's spec keys, "." written "__").
// Booleans are 1/true/yes/on or 0/false/no/off (any case); numbers are
// integers within the limits of limits.go; STRATEGY and WHEN_ALL_DOWN are
// the spec's names (any case).
//
// Env wins field by field: a setting keeps the route's destination and its
// other settings; URL or URLS replace the members (credentials included)
// but keep every setting, and a new member takes the TLSConfig of the
// route's first member. A setting set on the default route reaches every
// exchange route that does not set it (ResolveRoute). For one transport a
// URL or URLS replaces a compiled-in direct: true and DIRECT=true replaces
// compiled-in members; URL together with URLS is an error, as are
// DIRECT=false or a setting on a route with no URL in the spec or env, and
// DIRECT=true together with URL, URLS or a setting. Rules between two
// settings (ATTEMPT_TIMEOUT_SECONDS <= TIMEOUT_SECONDS, ...) are checked
// on the result by Validate and reported at the setting's path.
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
		target, field, badT, ok := parseEnvKey(key)
		if !ok {
			errs = append(errs, envErr(v.name, envUsage, upPrefix))
			continue
		}
		if target.id != "" && !ValidExchangeID(target.id) {
			errs = append(errs, envErr(v.name, "invalid exchange id %q: %s", capText(target.id), ExchangeIDRule))
			continue
		}
		if badT != "" {
			errs = append(errs, envErr(v.name, "unknown transport %q: want HTTP or WEBSOCKET", capText(badT)))
			continue
		}
		e := edits[target]
		if e == nil {
			e = &routeEdit{}
			edits[target] = e
		}
		nerr := len(errs)
		if err := e.parse(field, v.name, v.value); err != nil {
			errs = append(errs, err)
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
			errs = append(errs, envValidateErrors(err, edits)...)
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

// envValidateErrors turns Validate's errors on the overlaid settings into
// errors that never show a value: a rule broken at a field a variable set
// is an *EnvError naming the variable; any other keeps its *SettingsError
// path; both lose the values a rule between two settings quotes.
func envValidateErrors(err error, edits map[envTarget]*routeEdit) []error {
	at := make(map[string]string) // field path -> variable
	for k, e := range edits {
		for i, v := range e.fieldVar {
			if v != "" {
				at[k.path()+"."+routeFieldInfo[i].key] = v
			}
		}
		for _, f := range []RouteField{SetHealthInterval, SetHealthTimeout} {
			if v := e.fieldVar[f.index()]; v != "" {
				at[k.path()+".health_check"] = v // needs target
			}
		}
		if e.urlVar != "" {
			at[k.path()+".url"] = e.urlVar
		}
		if e.urlsVar != "" {
			for i := range e.proxies {
				at[k.path()+".urls."+strconv.Itoa(i)] = e.urlsVar
			}
			at[k.path()+".url"] = e.urlsVar // a pool of one
		}
	}
	list := []error{err}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		list = j.Unwrap()
	}
	out := make([]error, 0, len(list))
	for _, e := range list {
		se, ok := e.(*SettingsError)
		if !ok {
			out = append(out, e)
			continue
		}
		reason := se.Reason
		if i := strings.LastIndex(reason, " ("); i > 0 && strings.HasSuffix(reason, ")") && strings.ContainsAny(reason[i:], "0123456789") {
			reason = reason[:i] // quotes values
		}
		if v, ok := at[se.Path]; ok {
			out = append(out, &EnvError{Var: v, Reason: se.Path + ": " + reason})
			continue
		}
		out = append(out, &SettingsError{Path: se.Path, Reason: reason + " (after the environment overlay)", Err: se.Err})
	}
	return out
}

// parseEnvKey splits a variable name after the prefix into its route and
// field. ok is false for a name of neither form; badT is the transport
// part when it is not HTTP or WEBSOCKET. A nested field (EJECT__SECONDS,
// HEALTH_CHECK__TARGET) is recognised before a one-part one.
func parseEnvKey(key string) (target envTarget, field, badT string, ok bool) {
	parts := strings.Split(key, "__")
	ti := 0 // index of the transport
	switch {
	case parts[0] == "DEFAULT" && len(parts) >= 3:
		ti = 1
	case parts[0] == "EXCHANGES" && len(parts) >= 4:
		n := len(parts)
		ti = n - 2
		if n >= 5 {
			_, lastT := envTransport(parts[n-2])
			if _, isT := envTransport(parts[n-3]); isT && (!lastT || isEnvField(parts[n-2]+"__"+parts[n-1])) {
				ti = n - 3 // a nested field, known or not
			}
		}
		target.id = strings.ToLower(strings.Join(parts[1:ti], "__"))
	default:
		return target, "", "", false
	}
	t, isT := envTransport(parts[ti])
	if !isT {
		return target, "", parts[ti], true
	}
	target.t = t
	return target, strings.Join(parts[ti+1:], "__"), "", true
}

// parse records one variable of the route. Its errors name the variable,
// never the value.
func (e *routeEdit) parse(field, name, value string) error {
	if field == envURL || field == envURLs {
		var list []string
		if field == envURL {
			list = []string{value}
			e.urlVar = name
		} else {
			list = strings.Split(value, ",")
			e.urlsVar = name
			if len(list) > MaxPoolMembers {
				return envErr(name, "a pool has at most %d members (got %d)", MaxPoolMembers, len(list))
			}
		}
		ps := make([]*Proxy, 0, len(list))
		for i, u := range list {
			u = strings.TrimSpace(u)
			if u == "" && field == envURLs {
				return envErr(name, "member %d is empty", i+1)
			}
			p, err := ParseURL(u, ParseURLOptions{AllowInlineCredentials: true})
			if err != nil {
				if field == envURLs {
					return envErr(name, "member %d: %s", i+1, scrubURLReason(err.Error()))
				}
				return envErr(name, "%s", scrubURLReason(err.Error()))
			}
			p.Timeout = 0 // a setting of the route, not of its members
			ps = append(ps, p)
		}
		e.proxies = ps
		return nil
	}
	if field == envDirect {
		b, ok := parseEnvBool(value)
		if !ok {
			return envErr(name, "not a boolean (want 1/true/yes/on or 0/false/no/off)")
		}
		e.direct, e.directVar = &b, name
		return nil
	}
	f, ok := envSetting(field)
	if !ok {
		return envErr(name, "unknown field %q: want one of %s", capText(field), envFieldList)
	}
	r := &e.settings
	secs := func(lo, hi time.Duration, dst *time.Duration) error {
		n, ok := parseEnvInt(value)
		d := time.Duration(n) * time.Second
		if !ok || d < lo || d > hi {
			return envErr(name, "must be an integer %d..%d (seconds)", lo/time.Second, hi/time.Second)
		}
		*dst = d
		return nil
	}
	var err error
	switch f {
	case SetTimeout:
		err = secs(MinTimeout, MaxTimeout, &r.Timeout)
	case SetAttemptTimeout:
		err = secs(MinTimeout, MaxTimeout, &r.AttemptTimeout)
	case SetStrategy:
		st, ok := ParseStrategy(strings.TrimSpace(value))
		if !ok {
			err = envErr(name, "unknown strategy: want failover, round_robin, random, sticky or fastest")
		}
		r.Strategy = st
	case SetHedgeAfter:
		n, ok := parseEnvInt(value)
		d := time.Duration(n) * time.Millisecond
		if !ok || d != 0 && (d < MinHedgeAfter || d > MaxHedgeAfter) {
			err = envErr(name, "must be 0 (off) or an integer %d..%d (milliseconds)", MinHedgeAfter/time.Millisecond, MaxHedgeAfter/time.Millisecond)
		}
		r.HedgeAfter = d
	case SetEjectAfterFailures:
		n, ok := parseEnvInt(value)
		if !ok || n < MinEjectAfterFailures || n > MaxEjectAfterFailures {
			err = envErr(name, "must be an integer %d..%d", MinEjectAfterFailures, MaxEjectAfterFailures)
		}
		r.Eject.AfterFailures = n
	case SetEjectDuration:
		err = secs(MinEjectDuration, MaxEjectDuration, &r.Eject.Duration)
	case SetEjectMaxDuration:
		err = secs(MinEjectDuration, MaxEjectMaxDuration, &r.Eject.MaxDuration)
	case SetHealthTarget:
		t := strings.TrimSpace(value)
		if reason := healthTargetProblem(t); reason != "" {
			err = envErr(name, "%s", reason)
		}
		r.HealthCheck.Target = t
	case SetHealthInterval:
		err = secs(MinProbeInterval, MaxProbeInterval, &r.HealthCheck.Interval)
	case SetHealthTimeout:
		err = secs(MinProbeTimeout, MaxProbeTimeout, &r.HealthCheck.Timeout)
	case SetWhenAllDown:
		a, ok := ParseAllDown(strings.TrimSpace(value))
		if !ok {
			err = envErr(name, "unknown when_all_down: want try_ejected or fail_fast")
		}
		r.WhenAllDown = a
	case SetOptimistic:
		b, ok := parseEnvBool(value)
		if !ok {
			err = envErr(name, "not a boolean (want 1/true/yes/on or 0/false/no/off)")
		}
		r.Optimistic = b
	}
	if err != nil {
		return err
	}
	r.Set |= f
	e.fieldVar[f.index()] = name
	return nil
}

// settingVars returns the variables of the settings, in spec order.
func (e *routeEdit) settingVars() []string {
	var out []string
	for _, v := range e.fieldVar {
		if v != "" {
			out = append(out, v)
		}
	}
	return out
}

// mergeRoute applies one route's variables to its compiled-in route cur
// (nil when the spec sets none). It returns nil when nothing changes.
func mergeRoute(cur *Route, e *routeEdit, k envTarget, prefix string) (*Route, []error) {
	var errs []error
	if e.urlVar != "" && e.urlsVar != "" {
		errs = append(errs, envErr(e.urlsVar, "conflicts with %s: set URL or URLS, not both", e.urlVar))
	}
	if e.direct != nil && *e.direct {
		for _, v := range append([]string{e.urlVar, e.urlsVar}, e.settingVars()...) {
			if v != "" {
				errs = append(errs, envErr(v, "conflicts with %s: a route is either direct or a proxy", e.directVar))
			}
		}
		if len(errs) > 0 {
			return nil, errs
		}
		return &Route{Direct: true}, nil
	}
	if len(errs) > 0 {
		return nil, errs
	}
	var out Route
	switch {
	case e.proxies != nil:
		if cur != nil && !cur.Direct {
			out = *cur // keeps the route's settings
		}
		var tlsConf *tls.Config
		if cur != nil && len(cur.Proxies) > 0 && cur.Proxies[0] != nil {
			tlsConf = cur.Proxies[0].TLSConfig
		}
		out.Proxies = make([]*Proxy, len(e.proxies))
		for i, p := range e.proxies {
			c := *p
			if c.TLSConfig == nil {
				c.TLSConfig = tlsConf
			}
			out.Proxies[i] = &c
		}
	case cur != nil && !cur.Direct && len(cur.Proxies) > 0:
		out = *cur
	default:
		what := "has no proxy URL in the spec"
		if cur != nil && cur.Direct {
			what = "is direct: true in the spec"
		}
		for _, v := range append([]string{e.directVar}, e.settingVars()...) {
			if v != "" {
				errs = append(errs, envErr(v, "needs a proxy URL: %s %s (set %s or %s)", k.path(), what, k.varName(prefix, envURL), k.varName(prefix, envURLs)))
			}
		}
		return nil, errs
	}
	out.Direct = false
	for _, f := range RouteFields() {
		if e.settings.Set&f != 0 {
			copyField(&out, &e.settings, f)
			out.Set |= f
		}
	}
	return &out, nil
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
