package runtime

import (
	"crypto/tls"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

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
// values never reach an error, a log line or ExplainRoutes. ${VAR} references work
// too and are resolved by NewInjector's WithLookup.
//
// Every unknown or invalid variable is reported (errors.Join, sorted), as an
// *EnvError naming the variable and the problem, never its value; on error s
// is returned unchanged. An EnvPrefix that is not validEnvPrefix is an error
// (a *SettingsError) before any variable is read. The result's FromEnv records which variables shaped
// which route.
func ApplyEnv(s Settings, environ []string) (Settings, error) {
	if s.Lock {
		return s, nil
	}
	prefix := s.EnvPrefix
	if prefix == "" {
		prefix = DefaultEnvPrefix
	} else if !validEnvPrefix(prefix) {
		// A short prefix like "P" would claim PATH and PWD.
		return s, &SettingsError{Path: "env_prefix", Reason: fmt.Sprintf("must be at least %d characters of letters, digits and _, start with a letter and end in _ (like MYAPP_PROXY_)", minEnvPrefixLen)}
	}
	prefix = strings.ToUpper(prefix)
	o, errs := parseEnv(environ, prefix)
	out, applyErrs := o.apply(s, prefix)
	errs = append(errs, applyErrs...)
	if len(errs) == 0 {
		if err := Validate(out); err != nil {
			errs = append(errs, envValidateErrors(err, o.routes)...)
		}
	}
	if len(errs) > 0 {
		return s, joinSorted(errs)
	}
	return out, nil
}

// apply overlays o on s, route by route in sorted order, and records in
// FromEnv which variables shaped which route. Routes with an invalid
// variable are skipped (already reported). The result is not validated.
func (o *envOverlay) apply(s Settings, prefix string) (Settings, []error) {
	out := s
	fromEnv := make(map[string][]string, len(s.FromEnv)+len(o.routes)+1)
	for k, v := range s.FromEnv {
		fromEnv[k] = append([]string(nil), v...)
	}
	if o.enabled != nil {
		out.Enabled = *o.enabled
		fromEnv["enabled"] = []string{o.enabledVar}
	}
	// Exchange keys of s by lower-case id, so env ids match case-insensitively.
	keyOf := make(map[string]string, len(s.Exchanges))
	for k := range s.Exchanges {
		keyOf[NormalizeExchangeID(k)] = k
	}
	if len(o.routes) > 0 {
		out.Exchanges = make(map[string]Routes, len(s.Exchanges)+len(o.routes))
		for k, v := range s.Exchanges {
			out.Exchanges[k] = v
		}
	}
	targets := make([]envTarget, 0, len(o.routes))
	for t := range o.routes {
		targets = append(targets, t)
	}
	sort.Slice(targets, func(i, j int) bool {
		if targets[i].id != targets[j].id {
			return targets[i].id < targets[j].id
		}
		return targets[i].t < targets[j].t
	})
	var errs []error
	for _, target := range targets {
		e := o.routes[target]
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
		nr, rerrs := mergeRoute(rs.Get(target.t), e, target, prefix)
		errs = append(errs, rerrs...)
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
	if len(fromEnv) > 0 {
		out.FromEnv = fromEnv
	}
	return out, errs
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

// envValidateErrors turns Validate's errors on the overlaid settings into
// errors that never show a value: a rule broken at a field a variable set
// is an *EnvError naming the variable; any other keeps its *SettingsError
// path; both drop the value a rule quotes (SettingsError keeps it apart).
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
		reason := se.Reason // without the value the rule quotes
		if v, ok := at[se.Path]; ok {
			out = append(out, &EnvError{Var: v, Reason: se.Path + ": " + reason})
			continue
		}
		out = append(out, &SettingsError{Path: se.Path, Reason: reason + " (after the environment overlay)", Err: se.Err})
	}
	return out
}
