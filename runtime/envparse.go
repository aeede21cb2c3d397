package runtime

// Parsing the environment overlay: variable names to route targets and
// fields, values to settings. Errors name the variable, never its value.

import (
	"errors"
	"fmt"
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
	return &EnvError{Var: name, Reason: fmt.Sprintf(format, args...)}
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

// envVar is one variable under the prefix, as set.
type envVar struct{ name, value string }

// envOverlay is what the environment sets, parsed and checked variable by
// variable but not yet applied: the kill switch and, per route target, the
// values with the names of the variables that set them.
type envOverlay struct {
	enabled    *bool
	enabledVar string
	routes     map[envTarget]*routeEdit
}

// parseEnv reads the variables of environ under prefix (upper case) into
// an overlay. Every variable it cannot use is an error naming it; a route
// with one is marked invalid and is not applied.
func parseEnv(environ []string, prefix string) (*envOverlay, []error) {
	vars, errs := envVars(environ, prefix)
	keys := make([]string, 0, len(vars))
	for k := range vars {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	o := &envOverlay{routes: make(map[envTarget]*routeEdit)}
	for _, key := range keys {
		v := vars[key]
		if key == "ENABLED" {
			b, ok := parseEnvBool(v.value)
			if !ok {
				errs = append(errs, envErr(v.name, "not a boolean (want 1/true/yes/on or 0/false/no/off)"))
				continue
			}
			o.enabled, o.enabledVar = &b, v.name
			continue
		}
		target, field, badT, ok := parseEnvKey(key)
		if !ok {
			errs = append(errs, envErr(v.name, envUsage, prefix))
			continue
		}
		if target.id != "" && !ValidExchangeID(target.id) {
			errs = append(errs, envErr(v.name, "invalid exchange id %q: %s", capText(target.id), exchangeIDRule))
			continue
		}
		if badT != "" {
			errs = append(errs, envErr(v.name, "unknown transport %q: want HTTP or WEBSOCKET", capText(badT)))
			continue
		}
		e := o.routes[target]
		if e == nil {
			e = &routeEdit{}
			o.routes[target] = e
		}
		if err := e.parse(field, v.name, v.value); err != nil {
			errs = append(errs, err)
			e.invalid = true
			continue
		}
		e.vars = append(e.vars, v.name)
	}
	return o, errs
}

// envVars collects the variables under prefix (upper case) by upper-case
// name after the prefix. Two names that differ only in case are an error.
func envVars(environ []string, prefix string) (map[string]envVar, []error) {
	vars := make(map[string]envVar)
	var errs []error
	for _, kv := range environ {
		name, value, ok := strings.Cut(kv, "=")
		if !ok || len(name) < len(prefix) || strings.ToUpper(name[:len(prefix)]) != prefix {
			continue
		}
		key := strings.ToUpper(name[len(prefix):])
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
	return vars, errs
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
		target.id = NormalizeExchangeID(strings.Join(parts[1:ti], "__"))
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
				reason := "invalid proxy URL"
				var ue *URLError
				if errors.As(err, &ue) {
					reason = ue.Reason // names the problem, never the value
				}
				if field == envURLs {
					return envErr(name, "member %d: %s", i+1, reason)
				}
				return envErr(name, "%s", reason)
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
