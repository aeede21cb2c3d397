package runtime

import (
	"sort"
	"strconv"
)

// DefaultRouteID names the default route in ExplainRoutes. Logs, errors and
// dialers of an id the settings do not list name that id, never this.
const DefaultRouteID = "*"

// vars returns the ${VAR} names the route's members need for their
// credentials, sorted and without repeats.
func (r *Route) vars() []string {
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
		ids = append(ids, NormalizeExchangeID(k))
	}
	sort.Strings(ids)
	ids = append(ids, DefaultRouteID)
	out := make([]RouteExplain, 0, 2*len(ids))
	for _, id := range ids {
		for _, t := range [2]Transport{TransportHTTP, TransportWebSocket} {
			r, o := ResolveRoute(s, id, t)
			e := RouteExplain{Exchange: id, Transport: t, Origin: o, Vars: r.vars()}
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
