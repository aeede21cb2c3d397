package runtime

import (
	"errors"
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"
	"time"
)

// MaxTimeout is the largest Proxy.Timeout a spec allows (timeout_seconds 300).
const MaxTimeout = 300 * time.Second

// SettingsError is one rule a Settings value breaks. Path names the field in
// the spec's terms ("exchanges.binance.http.url"); Reason never contains a
// credential. Err, when set, is the underlying error (for example an
// *UnresolvedError) for errors.As. A rule that quotes the value it found
// keeps it out of Reason; Error adds it in parentheses ("(got 5m0s)").
type SettingsError struct {
	Path   string
	Reason string
	Err    error
	value  string // the value the rule quotes, "" for none
}

func (e *SettingsError) Error() string {
	if e.Path == "" {
		return e.message()
	}
	return e.Path + ": " + e.message()
}

// message is Reason with the quoted value.
func (e *SettingsError) message() string {
	if e.value == "" {
		return e.Reason
	}
	return e.Reason + " (" + e.value + ")"
}

func (e *SettingsError) Unwrap() error { return e.Err }

// Validate checks s with the spec's rules: each Route is Direct (with no
// setting) or 1..MaxPoolMembers distinct Proxies; each Proxy has a known
// scheme, a host, a port 1..65535, well-formed ${VAR} names, no password
// for socks4/socks4a, and no Timeout or Optimistic of its own (they are the
// route's); each setting a route sets is in range (the limits in
// limits.go), and on the effective values (inheritance as ResolveRoute)
// AttemptTimeout <= Timeout, Eject.Duration <= Eject.MaxDuration,
// HealthCheck.Timeout <= HealthCheck.Interval, and a probe interval or
// timeout needs a target; exchange ids are ^[a-z][a-z0-9]*(_[a-z0-9]+)*$ after ASCII
// lower-casing and no two ids are equal after lower-casing; literal
// credentials fit what the scheme can carry; EnvPrefix is empty or
// validEnvPrefix.
//
// All problems are reported, joined with errors.Join in sorted order; each
// is a *SettingsError naming the field.
func Validate(s Settings) error {
	var pr problems
	if s.EnvPrefix != "" && !validEnvPrefix(s.EnvPrefix) {
		pr.add("env_prefix", "must be at least %d characters of letters, digits and _, start with a letter and end in _ (like MYAPP_PROXY_)", minEnvPrefixLen)
	}
	validateRoutes(s.Default, Routes{}, "default", &pr)
	seen := make(map[string]string, len(s.Exchanges))
	for id, r := range s.Exchanges {
		low := NormalizeExchangeID(id)
		if !ValidExchangeID(low) {
			pr.add("exchanges."+capText(id), "invalid exchange id %q: %s", capText(id), exchangeIDRule)
			continue
		}
		if prev, dup := seen[low]; dup {
			a, b := prev, id
			if b < a {
				a, b = b, a
			}
			pr.add("exchanges."+low, "exchange ids %q and %q are the same after lower-casing", capText(a), capText(b))
			continue
		}
		seen[low] = id
		validateRoutes(r, s.Default, "exchanges."+low, &pr)
	}
	return joinSorted(pr.errs)
}

// problems collects the rules a Settings value breaks.
type problems struct{ errs []error }

func (pr *problems) add(path, format string, args ...any) {
	pr.errs = append(pr.errs, &SettingsError{Path: path, Reason: fmt.Sprintf(format, args...)})
}

// addValue records a rule that quotes the value it found: value stays out
// of Reason (see SettingsError).
func (pr *problems) addValue(path, value, format string, args ...any) {
	pr.errs = append(pr.errs, &SettingsError{Path: path, Reason: fmt.Sprintf(format, args...), value: value})
}

func validateRoutes(r, def Routes, path string, pr *problems) {
	validateRouteIn(r.HTTP, def.HTTP, path+".http", true, pr)
	validateRouteIn(r.WebSocket, def.WebSocket, path+".websocket", true, pr)
}

// validateRoute checks one route on its own (no default route to inherit
// from); the legacy fallback is checked this way, as a pool of one whose
// member may carry its own Timeout.
func validateRoute(r *Route, path string, add func(path, format string, args ...any)) {
	var pr problems
	validateRouteIn(r, nil, path, false, &pr)
	for _, e := range pr.errs {
		se := e.(*SettingsError)
		add(se.Path, "%s", se.message())
	}
}

// validateRouteIn checks route r, which inherits its unset settings from
// base (nil for a default route). With inSettings a member's own Timeout
// or Optimistic is an error: in Settings they are the route's.
func validateRouteIn(r, base *Route, path string, inSettings bool, pr *problems) {
	if r == nil {
		return
	}
	switch {
	case len(r.Proxies) > 0 && r.Direct:
		pr.add(path, "has both proxies and direct: true; want exactly one")
		return
	case len(r.Proxies) == 0 && !r.Direct:
		pr.add(path, "needs a proxy url or direct: true")
		return
	case r.Direct:
		// timeout_seconds and optimistic mean nothing on a direct route but
		// the spec allows them; the pool settings it does not.
		if set := r.settings() &^ (SetTimeout | SetOptimistic); set != 0 {
			for _, f := range RouteFields() {
				if set&f != 0 {
					pr.add(path+"."+f.String(), "only with url or urls, not with direct: true")
				}
			}
		}
		return
	}
	if n := len(r.Proxies); n > MaxPoolMembers {
		pr.addValue(path+".urls", "got "+strconv.Itoa(n), "a pool has at most %d members", MaxPoolMembers)
	}
	first := make(map[memberID]int, len(r.Proxies))
	for i, p := range r.Proxies {
		mp := path + ".url"
		if len(r.Proxies) > 1 {
			mp = path + ".urls." + strconv.Itoa(i)
		}
		if p == nil {
			pr.add(mp, "is nil")
			continue
		}
		validateProxy(p, mp, pr)
		if inSettings && p.Timeout != 0 {
			pr.add(mp, "a member's Timeout must be zero: set the route's Timeout")
		}
		if inSettings && p.Optimistic {
			pr.add(mp, "a member's Optimistic must be false: set the route's Optimistic")
		}
		k := memberIdentity(p)
		if j, dup := first[k]; dup {
			pr.add(mp, "duplicates member %d: the same proxy twice", j)
			continue
		}
		first[k] = i
	}
	validateSettings(r, base, path, pr)
}

// memberID identifies a member for the duplicate rule, as the spec's
// rule does: scheme, host (case and IPv6 spelling normalised), port and
// the credentials or their variable names. It holds literal credentials
// and is never printed.
type memberID struct {
	key                                  proxyKey
	user, userVar, password, passwordVar string
}

func memberIdentity(p *Proxy) memberID {
	k := keyOf(p)
	if ip := net.ParseIP(k.host); ip != nil {
		k.host = ip.String()
	}
	return memberID{k, p.User, p.UserVar, p.Password.Reveal(), p.PasswordVar}
}

// exchangeIDRule describes ValidExchangeID's grammar for error messages.
const exchangeIDRule = "want a lower-case letter, then letters and digits, in words joined by single '_' (no '__', no trailing '_')"

// durationRange checks one duration setting the route sets.
func durationRange(r *Route, f RouteField, d, lo, hi time.Duration, path string, pr *problems) bool {
	if !r.Has(f) || lo <= d && d <= hi {
		return true
	}
	pr.addValue(path+"."+f.String(), "got "+d.String(), "must be %s..%s", lo, hi)
	return false
}

// validateSettings checks the settings r sets, then the rules between two
// settings on the effective values (r over base over the built-in
// defaults), reported at the one r sets itself (the first when both);
// when r sets neither, the values are base's and base reports.
func validateSettings(r, base *Route, path string, pr *problems) {
	ok := durationRange(r, SetTimeout, r.Timeout, MinTimeout, MaxTimeout, path, pr)
	ok = durationRange(r, SetAttemptTimeout, r.AttemptTimeout, MinTimeout, MaxTimeout, path, pr) && ok
	if r.Has(SetStrategy) && int(r.Strategy) >= len(strategyNames) {
		pr.add(path+".strategy", "unknown strategy %d (want failover, round_robin, random, sticky or fastest)", int(r.Strategy))
	}
	if h := r.HedgeAfter; r.Has(SetHedgeAfter) && h != 0 && (h < MinHedgeAfter || h > MaxHedgeAfter) {
		pr.addValue(path+".hedge_after_ms", "got "+h.String(), "must be 0 (off) or %s..%s", MinHedgeAfter, MaxHedgeAfter)
	}
	if n := r.Eject.AfterFailures; r.Has(SetEjectAfterFailures) && (n < MinEjectAfterFailures || n > MaxEjectAfterFailures) {
		pr.addValue(path+".eject.after_failures", "got "+strconv.Itoa(n), "must be %d..%d", MinEjectAfterFailures, MaxEjectAfterFailures)
		ok = false
	}
	ok = durationRange(r, SetEjectDuration, r.Eject.Duration, MinEjectDuration, MaxEjectDuration, path, pr) && ok
	ok = durationRange(r, SetEjectMaxDuration, r.Eject.MaxDuration, MinEjectDuration, MaxEjectMaxDuration, path, pr) && ok
	if r.Has(SetHealthTarget) {
		if reason := healthTargetProblem(r.HealthCheck.Target); reason != "" {
			pr.add(path+".health_check.target", "%s", reason)
		}
	}
	ok = durationRange(r, SetHealthInterval, r.HealthCheck.Interval, MinProbeInterval, MaxProbeInterval, path, pr) && ok
	ok = durationRange(r, SetHealthTimeout, r.HealthCheck.Timeout, MinProbeTimeout, MaxProbeTimeout, path, pr) && ok
	if r.Has(SetWhenAllDown) && r.WhenAllDown > FailFast {
		pr.add(path+".when_all_down", "unknown when_all_down %d (want try_ejected or fail_fast)", int(r.WhenAllDown))
	}
	if !ok {
		return // an out-of-range value is not compared again
	}
	var o RouteOrigin
	eff := effective(r, base, &o)
	own := func(f RouteField) bool { return o.Of(f).Origin == OriginOverride }
	from := func(f RouteField, v time.Duration) string {
		switch o.Of(f).Origin {
		case OriginDefault:
			return v.String() + ", inherited from the default route"
		case OriginBuiltin:
			return v.String() + ", the built-in default"
		}
		return v.String()
	}
	order := func(lo, hi RouteField, loV, hiV time.Duration) {
		if loV <= hiV {
			return
		}
		switch {
		case own(lo):
			pr.addValue(path+"."+lo.String(), from(hi, hiV), "must be <= %s", hi)
		case own(hi):
			pr.addValue(path+"."+hi.String(), from(lo, loV), "must be >= %s", lo)
		}
	}
	// AttemptTimeout as set (effective clamps it to Timeout).
	at := eff.AttemptTimeout
	if own(SetAttemptTimeout) {
		at = r.AttemptTimeout
	} else if o.Of(SetAttemptTimeout).Origin == OriginDefault {
		at = base.AttemptTimeout
	}
	order(SetAttemptTimeout, SetTimeout, at, eff.Timeout)
	order(SetEjectDuration, SetEjectMaxDuration, eff.Eject.Duration, eff.Eject.MaxDuration)
	// The built-in probe timeout is at most the interval: only set ones
	// can break this rule.
	order(SetHealthTimeout, SetHealthInterval, eff.HealthCheck.Timeout, eff.HealthCheck.Interval)
	if eff.HealthCheck.Target == "" && (own(SetHealthInterval) || own(SetHealthTimeout)) {
		pr.add(path+".health_check", "needs target (host:port)")
	}
}

// healthTargetProblem returns why a health-check target is not host:port,
// or "". It never repeats the target.
func healthTargetProblem(t string) string {
	host, port, err := net.SplitHostPort(t)
	switch {
	case err != nil || port == "":
		return "must be host:port (an IPv6 host in brackets)"
	case host == "":
		return "must be host:port: the host is empty"
	case strings.Contains(host, ":"):
		if net.ParseIP(host) == nil {
			return "must be host:port: the host in brackets is not an IPv6 address"
		}
	case strings.HasPrefix(t, "["):
		return "must be host:port: the host in brackets is not an IPv6 address"
	case !validHostName(host) && net.ParseIP(host) == nil:
		return "must be host:port: the host is not a valid host name or IP address"
	}
	n, err := strconv.Atoi(port)
	if err != nil || port[0] == '+' || port[0] == '-' || n < 1 || n > 65535 {
		return "must be host:port: the port must be a number 1..65535"
	}
	return ""
}

// minEnvPrefixLen is the shortest Settings.EnvPrefix Validate accepts.
const minEnvPrefixLen = 3

// validEnvPrefix reports whether s is a usable overlay prefix: at least
// minEnvPrefixLen bytes of ASCII letters, digits and '_', starting with a
// letter and ending in '_' (so a prefix like "P" cannot claim PATH and PWD
// and make every Init fail). The empty prefix means DefaultEnvPrefix.
func validEnvPrefix(s string) bool {
	if len(s) < minEnvPrefixLen || s[len(s)-1] != '_' {
		return false
	}
	if c := s[0]; !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
		return false
	}
	return validVarName(s)
}

// maxEcho bounds any user text an error repeats.
const maxEcho = 64

// capText returns s cut to maxEcho bytes (marked with "...").
func capText(s string) string {
	if len(s) <= maxEcho {
		return s
	}
	return s[:maxEcho] + "..."
}

// joinSorted joins errs sorted by their text, without repeats; nil when
// errs is empty.
func joinSorted(errs []error) error {
	if len(errs) == 0 {
		return nil
	}
	sort.SliceStable(errs, func(i, j int) bool { return errs[i].Error() < errs[j].Error() })
	// The same message twice says nothing more (a proxy resolved for two
	// routes that share it).
	out := errs[:1]
	for _, e := range errs[1:] {
		if e.Error() != out[len(out)-1].Error() {
			out = append(out, e)
		}
	}
	return errors.Join(out...)
}
