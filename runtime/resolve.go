package runtime

import (
	"strconv"
	"strings"
)

// builtinRoute holds the built-in defaults of the settings that have a
// fixed one; AttemptTimeout (Timeout's effective value) and
// HealthCheck.Timeout (at most the interval) are derived in effective.
var builtinRoute = Route{
	Timeout:     DefaultTimeout,
	Strategy:    StrategyFailover,
	Eject:       EjectPolicy{AfterFailures: DefaultEjectAfterFailures, Duration: DefaultEjectDuration, MaxDuration: DefaultEjectMaxDuration},
	HealthCheck: HealthCheck{Interval: DefaultProbeInterval, Timeout: DefaultProbeTimeout},
	WhenAllDown: TryEjected,
}

// Origin says where an effective setting comes from.
type Origin uint8

// The origins of a setting.
const (
	OriginBuiltin  Origin = iota // set nowhere: the built-in default
	OriginOverride               // the exchange's own route
	OriginDefault                // the default route of the transport
)

// String returns "builtin", "override" or "default".
func (o Origin) String() string {
	switch o {
	case OriginBuiltin:
		return "builtin"
	case OriginOverride:
		return "override"
	case OriginDefault:
		return "default"
	}
	return "origin(" + strconv.Itoa(int(o)) + ")"
}

// SettingSource is where one effective setting comes from: a route (or the
// built-in default) and, when the environment overlay set it there, the
// variable's name (never its value).
type SettingSource struct {
	Origin Origin
	Env    string
}

// String returns "env" when a variable set it, else Origin's name.
func (s SettingSource) String() string {
	if s.Env != "" {
		return "env"
	}
	return s.Origin.String()
}

// RouteSource says where an effective route comes from.
type RouteSource uint8

// The route sources.
const (
	SourceDirect   RouteSource = iota // nothing configured for the transport: direct
	SourceOverride                    // the exchange's own route (a proxy or direct: true)
	SourceDefault                     // the default route (a proxy or direct: true)
	SourceDisabled                    // Settings.Enabled is false: direct
	SourceFallback                    // nothing configured (or disabled): the legacy fallback proxy
)

// String returns "direct", "override", "default", "disabled" or "fallback".
func (s RouteSource) String() string {
	switch s {
	case SourceDirect:
		return "direct"
	case SourceOverride:
		return "override"
	case SourceDefault:
		return "default"
	case SourceDisabled:
		return "disabled"
	case SourceFallback:
		return "fallback"
	}
	return "source(" + strconv.Itoa(int(s)) + ")"
}

// usesLegacy reports whether a global fallback proxy (SetFallback) may
// replace a route of this source: only where the injector has no route of
// its own. An explicit direct: true never falls back.
func (s RouteSource) usesLegacy() bool { return s == SourceDirect || s == SourceDisabled }

// RouteOrigin says where an effective route and each of its settings come
// from.
type RouteOrigin struct {
	// Source is where the destination (direct or the members) comes from:
	// SourceDisabled, SourceOverride, SourceDefault or SourceDirect.
	Source RouteSource
	// Env names the variables that set the destination (URL, URLS or
	// DIRECT of the route Source names), sorted.
	Env []string
	// settings[i] is the source of RouteFields()[i]; meaningless for a
	// direct route.
	settings [numRouteFields]SettingSource
}

// Of returns the source of one setting.
func (o *RouteOrigin) Of(f RouteField) SettingSource {
	if i := f.index(); i >= 0 {
		return o.settings[i]
	}
	return SettingSource{}
}

// directRoute is the effective route of every direct connection.
var directRoute = Route{Direct: true}

// ResolveRoute is the one resolution rule, shared by the injector (at
// Init) and the generator (at generate time). For exchange id
// (case-insensitive; "" or DefaultRouteID for an exchange the settings do
// not list) and transport t it returns the effective route and where it
// and each setting come from:
//
//   - s.Enabled false: direct (SourceDisabled);
//   - the exchange's route for t: Direct, or its members with each setting
//     it does not set inherited from s.Default's route for t, else the
//     built-in default (SourceOverride); the destination is never
//     inherited;
//   - else s.Default's route for t, its unset settings built-in
//     (SourceDefault);
//   - else direct (SourceDirect).
//
// The effective route sets every setting (Set has every bit):
// AttemptTimeout is at most Timeout, HealthCheck.Target empty means no
// probe. Its Proxies are copies whose Timeout and Optimistic are the
// route's, so a single-proxy Dialer over one of them dials as the route
// says. s is not modified and should be valid (Validate); ResolveRoute
// itself never fails and never returns nil.
func ResolveRoute(s Settings, id string, t Transport) (*Route, RouteOrigin) {
	var o RouteOrigin
	if !s.Enabled {
		o.Source = SourceDisabled
		r := directRoute
		return &r, o
	}
	key, own := exchangeRoute(&s, id, t)
	def := s.Default.Get(t)
	switch {
	case own != nil:
		o.Source = SourceOverride
		r := effective(own, def, &o)
		o.Env = destinationVars(s.FromEnv["exchanges."+key+"."+t.String()])
		o.attributeEnv(s.FromEnv, "exchanges."+key+"."+t.String(), "default."+t.String())
		return r, o
	case def != nil:
		o.Source = SourceDefault
		r := effective(def, nil, &o)
		for i := range o.settings {
			if o.settings[i].Origin == OriginOverride {
				o.settings[i].Origin = OriginDefault
			}
		}
		o.Env = destinationVars(s.FromEnv["default."+t.String()])
		o.attributeEnv(s.FromEnv, "", "default."+t.String())
		return r, o
	}
	o.Source = SourceDirect
	r := directRoute
	return &r, o
}

// exchangeRoute returns the lower-case id and the exchange's own route for
// t, nil when it has none.
func exchangeRoute(s *Settings, id string, t Transport) (string, *Route) {
	if id == "" || id == DefaultRouteID {
		return "", nil
	}
	low := NormalizeExchangeID(id)
	if rs, ok := s.Exchanges[id]; ok {
		return low, rs.Get(t)
	}
	for k, rs := range s.Exchanges {
		if NormalizeExchangeID(k) == low {
			return low, rs.Get(t)
		}
	}
	return low, nil
}

// effective merges route own over base (nil for none) over the built-in
// defaults, recording each setting's origin in o.
func effective(own, base *Route, o *RouteOrigin) *Route {
	if own.Direct {
		r := directRoute
		return &r
	}
	out := &Route{Set: allRouteFields}
	for i := 0; i < numRouteFields; i++ {
		f := RouteField(1 << i)
		switch {
		case own.Has(f):
			copyField(out, own, f)
			o.settings[i].Origin = OriginOverride
		case base != nil && !base.Direct && base.Has(f):
			copyField(out, base, f)
			o.settings[i].Origin = OriginDefault
		default:
			copyField(out, &builtinRoute, f)
			o.settings[i].Origin = OriginBuiltin
		}
	}
	if o.Of(SetAttemptTimeout).Origin == OriginBuiltin || out.AttemptTimeout > out.Timeout {
		out.AttemptTimeout = out.Timeout
	}
	if o.Of(SetHealthTimeout).Origin == OriginBuiltin {
		out.HealthCheck.Timeout = min(DefaultProbeTimeout, out.HealthCheck.Interval)
	}
	out.Proxies = make([]*Proxy, len(own.Proxies))
	for i, p := range own.Proxies {
		if p == nil {
			continue
		}
		c := *p
		c.Timeout, c.Optimistic = out.Timeout, out.Optimistic
		out.Proxies[i] = &c
	}
	return out
}

// attributeEnv records, for each setting from the override (route path
// own) or the default route (path def), the variable that set it there.
func (o *RouteOrigin) attributeEnv(fromEnv map[string][]string, own, def string) {
	if len(fromEnv) == 0 {
		return
	}
	for i := range o.settings {
		path := ""
		switch o.settings[i].Origin {
		case OriginOverride:
			path = own
		case OriginDefault:
			path = def
		}
		if path == "" {
			continue
		}
		for _, v := range fromEnv[path] {
			if f, ok := envFieldOf(v); ok && f == RouteField(1<<i) {
				o.settings[i].Env = v
			}
		}
	}
}

// envFieldOf returns the setting a per-route variable sets; ok is false
// for URL, URLS, DIRECT and names that are not per-route variables.
func envFieldOf(name string) (RouteField, bool) {
	up := strings.ToUpper(name)
	var best RouteField
	n := 0
	for i := 0; i < numRouteFields; i++ {
		suffix := "__" + routeFieldInfo[i].env
		if strings.HasSuffix(up, suffix) && len(suffix) > n {
			best, n = RouteField(1<<i), len(suffix)
		}
	}
	return best, n > 0
}

// destinationVars returns the URL, URLS and DIRECT variables among names.
func destinationVars(names []string) []string {
	var out []string
	for _, v := range names {
		up := strings.ToUpper(v)
		for _, f := range []string{envURL, envURLs, envDirect} {
			if strings.HasSuffix(up, "__"+f) {
				if _, isSetting := envFieldOf(v); !isSetting {
					out = append(out, v)
				}
				break
			}
		}
	}
	return out
}

// Policy returns the pool policy of an effective route (ResolveRoute).
func (r *Route) Policy() PoolPolicy {
	p := PoolPolicy{
		Strategy:       r.Strategy,
		Timeout:        r.Timeout,
		AttemptTimeout: r.AttemptTimeout,
		HedgeAfter:     r.HedgeAfter,
		Eject:          r.Eject,
		WhenAllDown:    r.WhenAllDown,
	}
	if r.HealthCheck.Target != "" {
		hc := r.HealthCheck
		p.HealthCheck = &hc
	}
	return p
}

// completeRoute returns the effective form of a compiled route: r's
// settings over the built-in defaults, with members carrying the route's
// Timeout and Optimistic, as ResolveRoute gives them. Nil or Direct is the
// direct route.
func completeRoute(r *Route) *Route {
	if r == nil || r.Direct {
		return &directRoute
	}
	var o RouteOrigin
	return effective(r, nil, &o)
}
