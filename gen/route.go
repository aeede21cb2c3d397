package gen

import (
	"time"

	"github.com/dave/jennifer/jen"

	"github.com/proxygen-go/proxygen/runtime"
)

// Phase-2 bridge for pool routes (runtime.Route is Direct or Proxies plus
// its settings): the route literal lists every member (the first by its
// variable, the others inline) and every setting the spec sets, with the
// Set bits of those whose value is zero. The generator's own pool rendering replaces
// this file.

// routeFields lists a proxy Route literal's fields.
func (m *model) routeFields(r *runtime.Route) []jen.Code {
	members := make([]jen.Code, len(r.Proxies))
	for i, p := range r.Proxies {
		if i == 0 {
			members[i] = m.proxyRef(p)
		} else {
			members[i] = jen.Values(proxyFields(p)...)
		}
	}
	list := jen.Index().Op("*").Qual(RuntimePath, "Proxy").Values(members...)
	if len(r.Proxies) > 1 {
		list = jen.Index().Op("*").Qual(RuntimePath, "Proxy").Values(multiline(members)...)
	}
	fields := []jen.Code{field("Proxies", list)}
	has := func(f runtime.RouteField) bool { return r.Set&f != 0 }
	dur := func(f runtime.RouteField, name string, d time.Duration) {
		if has(f) {
			fields = append(fields, field(name, durLit(d)))
		}
	}
	dur(runtime.SetTimeout, "Timeout", r.Timeout)
	dur(runtime.SetAttemptTimeout, "AttemptTimeout", r.AttemptTimeout)
	if has(runtime.SetStrategy) {
		fields = append(fields, field("Strategy", jen.Qual(RuntimePath, strategyConst(r.Strategy))))
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
		name := "TryEjected"
		if r.WhenAllDown == runtime.FailFast {
			name = "FailFast"
		}
		fields = append(fields, field("WhenAllDown", jen.Qual(RuntimePath, name)))
	}
	if has(runtime.SetOptimistic) {
		fields = append(fields, field("Optimistic", jen.Lit(r.Optimistic)))
	}
	// Set carries only the explicit zeros: a non-zero value is set anyway.
	bare := *r
	bare.Set = 0
	var bits []jen.Code
	for _, f := range runtime.RouteFields() {
		if has(f) && !bare.Has(f) {
			bits = append(bits, jen.Qual(RuntimePath, setConst(f)))
		}
	}
	if len(bits) > 0 {
		set := bits[0]
		for _, b := range bits[1:] {
			set = jen.Add(set).Op("|").Add(b)
		}
		fields = append(fields, field("Set", set))
	}
	if len(fields) == 1 {
		return fields
	}
	return multiline(fields)
}

// inlineCredentials reports whether a member of r carries a literal
// credential.
func inlineCredentials(r *runtime.Route) bool {
	for _, p := range r.Proxies {
		if p.User != "" || !p.Password.IsZero() {
			return true
		}
	}
	return false
}

var strategyConsts = map[runtime.Strategy]string{
	runtime.StrategyFailover: "StrategyFailover", runtime.StrategyRoundRobin: "StrategyRoundRobin",
	runtime.StrategyRandom: "StrategyRandom", runtime.StrategySticky: "StrategySticky", runtime.StrategyFastest: "StrategyFastest",
}

func strategyConst(s runtime.Strategy) string { return strategyConsts[s] }

var setConsts = map[runtime.RouteField]string{
	runtime.SetTimeout: "SetTimeout", runtime.SetAttemptTimeout: "SetAttemptTimeout", runtime.SetStrategy: "SetStrategy",
	runtime.SetHedgeAfter: "SetHedgeAfter", runtime.SetEjectAfterFailures: "SetEjectAfterFailures",
	runtime.SetEjectDuration: "SetEjectDuration", runtime.SetEjectMaxDuration: "SetEjectMaxDuration",
	runtime.SetHealthTarget: "SetHealthTarget", runtime.SetHealthInterval: "SetHealthInterval",
	runtime.SetHealthTimeout: "SetHealthTimeout", runtime.SetWhenAllDown: "SetWhenAllDown", runtime.SetOptimistic: "SetOptimistic",
}

func setConst(f runtime.RouteField) string { return setConsts[f] }

// durLit renders d in whole seconds or milliseconds where it can.
func durLit(d time.Duration) jen.Code {
	if d == 0 {
		return jen.Lit(0)
	}
	if d != 0 && d%time.Second != 0 && d%time.Millisecond == 0 {
		return jen.Lit(int(d/time.Millisecond)).Op("*").Qual("time", "Millisecond")
	}
	return durationLit(d)
}
