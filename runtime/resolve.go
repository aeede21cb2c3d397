package runtime

import (
	"sort"
	"strconv"
	"strings"
)

// RouteField names one setting of a Route: a bit of Route.Set, and the
// unit of inheritance and of Explain's sources.
type RouteField uint16

// The settings of a route, in spec order.
const (
	SetTimeout            RouteField = 1 << iota // timeout_seconds
	SetAttemptTimeout                            // attempt_timeout_seconds
	SetStrategy                                  // strategy
	SetHedgeAfter                                // hedge_after_ms
	SetEjectAfterFailures                        // eject.after_failures
	SetEjectDuration                             // eject.seconds
	SetEjectMaxDuration                          // eject.max_seconds
	SetHealthTarget                              // health_check.target
	SetHealthInterval                            // health_check.interval_seconds
	SetHealthTimeout                             // health_check.timeout_seconds
	SetWhenAllDown                               // when_all_down
	SetOptimistic                                // optimistic

	// numRouteFields is the number of settings.
	numRouteFields = iota
	// allRouteFields has every setting's bit.
	allRouteFields RouteField = 1<<numRouteFields - 1
)

var routeFieldInfo = [numRouteFields]struct{ key, env string }{
	{"timeout_seconds", "TIMEOUT_SECONDS"},
	{"attempt_timeout_seconds", "ATTEMPT_TIMEOUT_SECONDS"},
	{"strategy", "STRATEGY"},
	{"hedge_after_ms", "HEDGE_AFTER_MS"},
	{"eject.after_failures", "EJECT__AFTER_FAILURES"},
	{"eject.seconds", "EJECT__SECONDS"},
	{"eject.max_seconds", "EJECT__MAX_SECONDS"},
	{"health_check.target", "HEALTH_CHECK__TARGET"},
	{"health_check.interval_seconds", "HEALTH_CHECK__INTERVAL_SECONDS"},
	{"health_check.timeout_seconds", "HEALTH_CHECK__TIMEOUT_SECONDS"},
	{"when_all_down", "WHEN_ALL_DOWN"},
	{"optimistic", "OPTIMISTIC"},
}

// RouteFields returns every setting, in spec order.
func RouteFields() []RouteField {
	out := make([]RouteField, numRouteFields)
	for i := range out {
		out[i] = 1 << i
	}
	return out
}

// index is the position of a single field in spec order, or -1.
func (f RouteField) index() int {
	for i := 0; i < numRouteFields; i++ {
		if f == 1<<i {
			return i
		}
	}
	return -1
}

// String returns the spec key of one field ("eject.seconds"); a
// combination of bits prints as the keys joined by "|".
func (f RouteField) String() string {
	if i := f.index(); i >= 0 {
		return routeFieldInfo[i].key
	}
	var parts []string
	for i := 0; i < numRouteFields; i++ {
		if f&(1<<i) != 0 {
			parts = append(parts, routeFieldInfo[i].key)
		}
	}
	if rest := f &^ allRouteFields; rest != 0 || len(parts) == 0 {
		parts = append(parts, "field("+strconv.Itoa(int(rest))+")")
	}
	return strings.Join(parts, "|")
}

// Has reports whether the route sets f itself: its value is not zero or
// its bit is in Set.
func (r *Route) Has(f RouteField) bool {
	if r == nil {
		return false
	}
	if r.Set&f != 0 {
		return true
	}
	switch f {
	case SetTimeout:
		return r.Timeout != 0
	case SetAttemptTimeout:
		return r.AttemptTimeout != 0
	case SetStrategy:
		return r.Strategy != 0
	case SetHedgeAfter:
		return r.HedgeAfter != 0
	case SetEjectAfterFailures:
		return r.Eject.AfterFailures != 0
	case SetEjectDuration:
		return r.Eject.Duration != 0
	case SetEjectMaxDuration:
		return r.Eject.MaxDuration != 0
	case SetHealthTarget:
		return r.HealthCheck.Target != ""
	case SetHealthInterval:
		return r.HealthCheck.Interval != 0
	case SetHealthTimeout:
		return r.HealthCheck.Timeout != 0
	case SetWhenAllDown:
		return r.WhenAllDown != 0
	case SetOptimistic:
		return r.Optimistic
	}
	return false
}

// settings returns the fields the route sets itself.
func (r *Route) settings() RouteField {
	var set RouteField
	for i := 0; i < numRouteFields; i++ {
		if f := RouteField(1 << i); r.Has(f) {
			set |= f
		}
	}
	return set
}

// copyField copies field f from src to dst.
func copyField(dst, src *Route, f RouteField) {
	switch f {
	case SetTimeout:
		dst.Timeout = src.Timeout
	case SetAttemptTimeout:
		dst.AttemptTimeout = src.AttemptTimeout
	case SetStrategy:
		dst.Strategy = src.Strategy
	case SetHedgeAfter:
		dst.HedgeAfter = src.HedgeAfter
	case SetEjectAfterFailures:
		dst.Eject.AfterFailures = src.Eject.AfterFailures
	case SetEjectDuration:
		dst.Eject.Duration = src.Eject.Duration
	case SetEjectMaxDuration:
		dst.Eject.MaxDuration = src.Eject.MaxDuration
	case SetHealthTarget:
		dst.HealthCheck.Target = src.HealthCheck.Target
	case SetHealthInterval:
		dst.HealthCheck.Interval = src.HealthCheck.Interval
	case SetHealthTimeout:
		dst.HealthCheck.Timeout = src.HealthCheck.Timeout
	case SetWhenAllDown:
		dst.WhenAllDown = src.WhenAllDown
	case SetOptimistic:
		dst.Optimistic = src.Optimistic
	}
}

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
	low := injLowerID(id)
	if rs, ok := s.Exchanges[id]; ok {
		return low, rs.Get(t)
	}
	for k, rs := range s.Exchanges {
		if injLowerID(k) == low {
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

// Vars returns the ${VAR} names the route's members need for their
// credentials, sorted and without repeats.
func (r *Route) Vars() []string {
	seen := map[string]bool{}
	var out []string
	for _, p := range r.Proxies {
		if p == nil {
			continue
		}
		for _, v := range []string{p.UserVar, p.PasswordVar} {
			if v != "" && !seen[v] {
				seen[v] = true
				out = append(out, v)
			}
		}
	}
	sort.Strings(out)
	return out
}

// SettingInfo is one effective setting for explain: its spec key, its
// value as text and where it comes from.
type SettingInfo struct {
	Field  RouteField
	Value  string
	Source SettingSource
}

// RouteExplain is one effective route for explain.
type RouteExplain struct {
	Exchange  string // lower-case id, or DefaultRouteID
	Transport Transport
	Origin    RouteOrigin
	// Members are the members, redacted (Proxy.String); empty when direct.
	Members []string
	// Settings are every setting in spec order; empty when direct.
	Settings []SettingInfo
	// Vars are the ${VAR} names the members' credentials need (never
	// their values).
	Vars []string
}

// ExplainRoutes returns the effective route of every exchange s lists
// (sorted, lower-case) and then of DefaultRouteID, each for http then
// websocket, with members redacted and every setting's source.
func ExplainRoutes(s Settings) []RouteExplain {
	ids := make([]string, 0, len(s.Exchanges)+1)
	for k := range s.Exchanges {
		ids = append(ids, injLowerID(k))
	}
	sort.Strings(ids)
	ids = append(ids, DefaultRouteID)
	out := make([]RouteExplain, 0, 2*len(ids))
	for _, id := range ids {
		for _, t := range [2]Transport{TransportHTTP, TransportWebSocket} {
			r, o := ResolveRoute(s, id, t)
			e := RouteExplain{Exchange: id, Transport: t, Origin: o, Vars: r.Vars()}
			if !r.Direct {
				for _, p := range r.Proxies {
					if p != nil {
						e.Members = append(e.Members, p.String())
					}
				}
				for i, f := range RouteFields() {
					e.Settings = append(e.Settings, SettingInfo{Field: f, Value: r.fieldText(f), Source: o.settings[i]})
				}
			}
			out = append(out, e)
		}
	}
	return out
}

// fieldText is a setting's value as explain shows it.
func (r *Route) fieldText(f RouteField) string {
	switch f {
	case SetTimeout:
		return r.Timeout.String()
	case SetAttemptTimeout:
		return r.AttemptTimeout.String()
	case SetStrategy:
		return r.Strategy.String()
	case SetHedgeAfter:
		if r.HedgeAfter == 0 {
			return "off"
		}
		return r.HedgeAfter.String()
	case SetEjectAfterFailures:
		return strconv.Itoa(r.Eject.AfterFailures)
	case SetEjectDuration:
		return r.Eject.Duration.String()
	case SetEjectMaxDuration:
		return r.Eject.MaxDuration.String()
	case SetHealthTarget:
		if r.HealthCheck.Target == "" {
			return "off"
		}
		return r.HealthCheck.Target
	case SetHealthInterval:
		return r.HealthCheck.Interval.String()
	case SetHealthTimeout:
		return r.HealthCheck.Timeout.String()
	case SetWhenAllDown:
		return r.WhenAllDown.String()
	case SetOptimistic:
		return strconv.FormatBool(r.Optimistic)
	}
	return ""
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
