package gen

import (
	"fmt"
	"reflect"
	"time"

	"github.com/dave/jennifer/jen"

	"github.com/proxygen-go/proxygen/runtime"
)

// Routes in generated code. Each route the spec names is written once, as
// a *runtime.Route variable: its members inline, its settings by name, and
// Set only for the settings it sets to their zero value. Settings() refers
// to these variables. The effective routes (runtime.ResolveRoute at
// generate time) refer to them too: the effective route of an exchange
// equals its spec route completed with the built-in defaults unless it
// inherits settings from the default route, and only then is it written,
// as a variable of its own that shares the spec route's members and sets
// what differs from the built-in defaults. runtime.NewTable completes each
// with the built-in defaults, as ResolveRoute does.

// namedRoute is a route variable of the generated file.
type namedRoute struct {
	name string
	r    *runtime.Route
	// members names the route whose Proxies this one shares ("" for a
	// spec route: its members are inline).
	members string
}

// routeRef is an entry of the effective tables: a route variable, or ""
// for direct.
type routeRef = string

// addSpecRoute declares the spec route r (nil: none) as variable name.
func (m *model) addSpecRoute(name string, r *runtime.Route) {
	if r == nil {
		return
	}
	m.routes = append(m.routes, namedRoute{name: name, r: r})
	m.vars[r] = name
	for _, p := range r.Proxies {
		if p.User != "" || !p.Password.IsZero() {
			m.inline = true
		}
	}
}

// effectiveRef returns the variable of the effective route of exchange id
// ("" for the default route) and transport t, declaring it when it differs
// from its spec route: "" means direct.
func (m *model) effectiveRef(id, goName string, t runtime.Transport) (routeRef, error) {
	eff, o := runtime.ResolveRoute(m.settings, id, t)
	if eff.Direct {
		return "", nil
	}
	spec := m.settings.Default.Get(t)
	if o.Source == runtime.SourceOverride {
		spec = m.settings.Exchanges[id].Get(t)
	}
	name := m.vars[spec]
	if reflect.DeepEqual(complete(spec), eff) {
		return name, nil
	}
	// Inherited settings: write what differs from the built-in defaults,
	// setting by setting in spec order (a later default may derive from an
	// earlier setting: attempt timeout from timeout).
	diff := &runtime.Route{Proxies: spec.Proxies}
	for _, f := range runtime.RouteFields() {
		if fieldOf(complete(diff), f) != fieldOf(eff, f) {
			setField(diff, eff, f)
		}
	}
	if !reflect.DeepEqual(complete(diff), eff) {
		return "", fmt.Errorf("effective route of %s %s does not round-trip (a proxygen bug)", id, t)
	}
	ename := "effective" + goName + transportName(t)
	m.routes = append(m.routes, namedRoute{name: ename, r: diff, members: name})
	return ename, nil
}

func transportName(t runtime.Transport) string {
	if t == runtime.TransportWebSocket {
		return "WebSocket"
	}
	return "HTTP"
}

// complete is r as the runtime completes a compiled route: r's settings
// over the built-in defaults (ResolveRoute of r alone).
func complete(r *runtime.Route) *runtime.Route {
	eff, _ := runtime.ResolveRoute(runtime.Settings{Enabled: true, Default: runtime.Routes{HTTP: r}}, "", runtime.TransportHTTP)
	return eff
}

// fieldOf returns one setting of r.
func fieldOf(r *runtime.Route, f runtime.RouteField) any {
	switch f {
	case runtime.SetTimeout:
		return r.Timeout
	case runtime.SetAttemptTimeout:
		return r.AttemptTimeout
	case runtime.SetStrategy:
		return r.Strategy
	case runtime.SetHedgeAfter:
		return r.HedgeAfter
	case runtime.SetEjectAfterFailures:
		return r.Eject.AfterFailures
	case runtime.SetEjectDuration:
		return r.Eject.Duration
	case runtime.SetEjectMaxDuration:
		return r.Eject.MaxDuration
	case runtime.SetHealthTarget:
		return r.HealthCheck.Target
	case runtime.SetHealthInterval:
		return r.HealthCheck.Interval
	case runtime.SetHealthTimeout:
		return r.HealthCheck.Timeout
	case runtime.SetWhenAllDown:
		return r.WhenAllDown
	case runtime.SetOptimistic:
		return r.Optimistic
	}
	panic("gen: unknown route field " + f.String())
}

// setField copies one setting from src to dst and marks it set.
func setField(dst, src *runtime.Route, f runtime.RouteField) {
	switch f {
	case runtime.SetTimeout:
		dst.Timeout = src.Timeout
	case runtime.SetAttemptTimeout:
		dst.AttemptTimeout = src.AttemptTimeout
	case runtime.SetStrategy:
		dst.Strategy = src.Strategy
	case runtime.SetHedgeAfter:
		dst.HedgeAfter = src.HedgeAfter
	case runtime.SetEjectAfterFailures:
		dst.Eject.AfterFailures = src.Eject.AfterFailures
	case runtime.SetEjectDuration:
		dst.Eject.Duration = src.Eject.Duration
	case runtime.SetEjectMaxDuration:
		dst.Eject.MaxDuration = src.Eject.MaxDuration
	case runtime.SetHealthTarget:
		dst.HealthCheck.Target = src.HealthCheck.Target
	case runtime.SetHealthInterval:
		dst.HealthCheck.Interval = src.HealthCheck.Interval
	case runtime.SetHealthTimeout:
		dst.HealthCheck.Timeout = src.HealthCheck.Timeout
	case runtime.SetWhenAllDown:
		dst.WhenAllDown = src.WhenAllDown
	case runtime.SetOptimistic:
		dst.Optimistic = src.Optimistic
	}
	dst.Set |= f
}

// renderRoutes declares every route variable.
func renderRoutes(f *jen.File, m *model) {
	if len(m.routes) == 0 {
		return
	}
	f.Comment("The routes of the spec, each once (Settings refers to them), and the")
	f.Comment("effective routes that inherit settings from the default route (their")
	f.Comment("members are their spec route's). Treat them as read-only.")
	f.Var().DefsFunc(func(g *jen.Group) {
		for _, nr := range m.routes {
			g.Id(nr.name).Op("=").Add(routeLit(nr))
		}
	})
}

// routeLit renders a route literal.
func routeLit(nr namedRoute) jen.Code {
	r := nr.r
	if r.Direct {
		return jen.Op("&").Qual(RuntimePath, "Route").Values(field("Direct", jen.True()))
	}
	var members jen.Code
	if nr.members != "" {
		members = jen.Id(nr.members).Dot("Proxies")
	} else {
		ps := make([]jen.Code, len(r.Proxies))
		for i, p := range r.Proxies {
			ps[i] = jen.Values(proxyFields(p)...)
		}
		members = jen.Index().Op("*").Qual(RuntimePath, "Proxy").Values(multiline(ps)...)
	}
	fields := append([]jen.Code{field("Proxies", members)}, settingFields(r)...)
	return jen.Op("&").Qual(RuntimePath, "Route").Values(multiline(fields)...)
}

// settingFields renders the settings r sets (runtime.Route.Has), by name,
// and Set with the bits of those it sets to their zero value.
func settingFields(r *runtime.Route) []jen.Code {
	var fields []jen.Code
	has := r.Has
	dur := func(f runtime.RouteField, name string, d time.Duration) {
		if has(f) {
			fields = append(fields, field(name, durLit(d)))
		}
	}
	dur(runtime.SetTimeout, "Timeout", r.Timeout)
	dur(runtime.SetAttemptTimeout, "AttemptTimeout", r.AttemptTimeout)
	if has(runtime.SetStrategy) {
		fields = append(fields, field("Strategy", jen.Qual(RuntimePath, strategyConsts[r.Strategy])))
	}
	dur(runtime.SetHedgeAfter, "HedgeAfter", r.HedgeAfter)
	var eject []jen.Code
	if has(runtime.SetEjectAfterFailures) {
		eject = append(eject, field("AfterFailures", jen.Lit(r.Eject.AfterFailures)))
	}
	if has(runtime.SetEjectDuration) {
		eject = append(eject, field("Duration", durLit(r.Eject.Duration)))
	}
	if has(runtime.SetEjectMaxDuration) {
		eject = append(eject, field("MaxDuration", durLit(r.Eject.MaxDuration)))
	}
	if len(eject) > 0 {
		fields = append(fields, field("Eject", jen.Qual(RuntimePath, "EjectPolicy").Values(eject...)))
	}
	var hc []jen.Code
	if has(runtime.SetHealthTarget) {
		hc = append(hc, field("Target", jen.Lit(r.HealthCheck.Target)))
	}
	if has(runtime.SetHealthInterval) {
		hc = append(hc, field("Interval", durLit(r.HealthCheck.Interval)))
	}
	if has(runtime.SetHealthTimeout) {
		hc = append(hc, field("Timeout", durLit(r.HealthCheck.Timeout)))
	}
	if len(hc) > 0 {
		fields = append(fields, field("HealthCheck", jen.Qual(RuntimePath, "HealthCheck").Values(hc...)))
	}
	if has(runtime.SetWhenAllDown) {
		fields = append(fields, field("WhenAllDown", jen.Qual(RuntimePath, allDownConsts[r.WhenAllDown])))
	}
	if has(runtime.SetOptimistic) {
		fields = append(fields, field("Optimistic", jen.Lit(r.Optimistic)))
	}
	// Set carries only the explicit zeros: a non-zero value is set anyway.
	bare := *r
	bare.Set = 0
	var set jen.Code
	for _, f := range runtime.RouteFields() {
		if has(f) && !bare.Has(f) {
			bit := jen.Qual(RuntimePath, setConsts[f])
			if set == nil {
				set = bit
			} else {
				set = jen.Add(set).Op("|").Add(bit)
			}
		}
	}
	if set != nil {
		fields = append(fields, field("Set", set))
	}
	return fields
}

var strategyConsts = map[runtime.Strategy]string{
	runtime.StrategyFailover: "StrategyFailover", runtime.StrategyRoundRobin: "StrategyRoundRobin",
	runtime.StrategyRandom: "StrategyRandom", runtime.StrategySticky: "StrategySticky", runtime.StrategyFastest: "StrategyFastest",
}

var allDownConsts = map[runtime.AllDown]string{runtime.TryEjected: "TryEjected", runtime.FailFast: "FailFast"}

var setConsts = map[runtime.RouteField]string{
	runtime.SetTimeout: "SetTimeout", runtime.SetAttemptTimeout: "SetAttemptTimeout", runtime.SetStrategy: "SetStrategy",
	runtime.SetHedgeAfter: "SetHedgeAfter", runtime.SetEjectAfterFailures: "SetEjectAfterFailures",
	runtime.SetEjectDuration: "SetEjectDuration", runtime.SetEjectMaxDuration: "SetEjectMaxDuration",
	runtime.SetHealthTarget: "SetHealthTarget", runtime.SetHealthInterval: "SetHealthInterval",
	runtime.SetHealthTimeout: "SetHealthTimeout", runtime.SetWhenAllDown: "SetWhenAllDown", runtime.SetOptimistic: "SetOptimistic",
}

// durLit renders d in whole seconds or milliseconds where it can.
func durLit(d time.Duration) jen.Code {
	if d == 0 {
		return jen.Lit(0)
	}
	if d%time.Second != 0 && d%time.Millisecond == 0 {
		return jen.Lit(int(d/time.Millisecond)).Op("*").Qual("time", "Millisecond")
	}
	return durationLit(d)
}
