package runtime

import (
	"strconv"
	"strings"
)

// RouteField names one setting of a Route: a bit of Route.Set, and the
// unit of inheritance and of ExplainRoutes' sources.
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
