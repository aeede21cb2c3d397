package schema

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/proxygen-go/proxygen/runtime"
)

// poolKeys are the route keys that go only with url or urls.
var poolKeys = []string{"strategy", "attempt_timeout_seconds", "hedge_after_ms", "eject", "health_check", "when_all_down"}

var transports = [...]string{"http", "websocket"}

// checkPools checks each route's destination (exactly one of url, urls or
// direct: true) and its pool settings. An exchange's route is checked with
// the values it inherits from the default route of the same transport.
func (l *loader) checkPools(root map[string]any) {
	def, _ := root["default"].(map[string]any)
	for _, tr := range transports {
		if pc, ok := def[tr].(map[string]any); ok {
			l.checkRoute(pc, nil, []string{"default", tr})
		}
	}
	ex, _ := root["exchanges"].(map[string]any)
	for id, t := range ex {
		t, _ := t.(map[string]any)
		for _, tr := range transports {
			if pc, ok := t[tr].(map[string]any); ok {
				base, _ := def[tr].(map[string]any)
				l.checkRoute(pc, base, []string{"exchanges", id, tr})
			}
		}
	}
}

// checkRoute checks one route; base is the route it inherits from (nil for
// the default routes).
func (l *loader) checkRoute(pc, base map[string]any, path []string) {
	_, hasURL := pc["url"]
	_, hasURLs := pc["urls"]
	direct := pc["direct"] == true
	if hasURL && hasURLs {
		l.errAt(l.node(path, "urls"), appendPath(path, "urls"), "must not be set together with url")
	}
	switch {
	case direct && hasURL:
		l.errAt(l.node(path, "direct"), appendPath(path, "direct"), "must not be true together with url")
	case direct && hasURLs:
		l.errAt(l.node(path, "direct"), appendPath(path, "direct"), "must not be true together with urls")
	case !direct && !hasURL && !hasURLs && !l.skipped(path):
		l.errAt(l.node(path), path, "needs url, urls or direct: true")
	}
	if direct {
		for _, k := range poolKeys {
			if _, ok := pc[k]; ok {
				l.errAt(l.node(path, k), appendPath(path, k), "only with url or urls, not with direct: true")
			}
		}
		return
	}
	l.checkURLs(pc["urls"], appendPath(path, "urls"))
	for _, k := range [][]string{
		{"attempt_timeout_seconds"}, {"hedge_after_ms"},
		{"eject", "after_failures"}, {"eject", "seconds"}, {"eject", "max_seconds"},
		{"health_check", "interval_seconds"}, {"health_check", "timeout_seconds"},
	} {
		l.checkInteger(sub(path, k...))
	}
	l.checkHedge(pc["hedge_after_ms"], sub(path, "hedge_after_ms"))
	if hc, ok := pc["health_check"].(map[string]any); ok {
		if t, ok := hc["target"].(string); ok && t != "" {
			if reason := targetProblem(t); reason != "" {
				tp := sub(path, "health_check", "target")
				l.errAt(l.node(tp), tp, "%s", reason)
			}
		}
	}

	r := route{l: l, own: pc, base: base, path: path, basePath: []string{"default", path[len(path)-1]}}
	r.order(field{"attempt_timeout_seconds"}, 0, field{"timeout_seconds"}, DefaultTimeoutSeconds, "timeout_seconds")
	r.order(field{"eject", "seconds"}, DefaultEjectSeconds, field{"eject", "max_seconds"}, DefaultEjectMaxSeconds, "eject.max_seconds")
	if r.has("health_check") {
		r.order(field{"health_check", "timeout_seconds"}, DefaultHealthTimeoutSeconds,
			field{"health_check", "interval_seconds"}, DefaultHealthIntervalSeconds, "health_check.interval_seconds")
		if _, own := pc["health_check"].(map[string]any); own && !r.has("health_check", "target") {
			hp := appendPath(path, "health_check")
			l.errAt(l.node(hp), hp, "needs target (host:port)")
		}
	}
}

// checkHedge checks hedge_after_ms's range, which the schema words as a
// oneOf that schemaErr leaves to this check. A type error is the schema's;
// 10.0 is checkInteger's.
func (l *loader) checkHedge(v any, path []string) {
	n := l.node(path)
	if n == nil || n.ShortTag() == "!!float" {
		return
	}
	switch v := v.(type) {
	case int64:
		if v == HedgeOff || int64(MinHedgeAfterMS) <= v && v <= int64(MaxHedgeAfterMS) {
			return
		}
	case jsonNumber: // an integer beyond int64
	default:
		return
	}
	l.errAt(n, path, "must be %d (off) or %d..%d (got %s)", HedgeOff, MinHedgeAfterMS, MaxHedgeAfterMS, show(n))
}

// checkURLs checks each member of urls like url and reports a member that
// is the same proxy as an earlier one, at the later one. The count and
// item types are the schema's.
func (l *loader) checkURLs(v any, path []string) {
	list, ok := v.([]any)
	if !ok {
		return
	}
	first := make(map[string]int, len(list))
	for i, u := range list {
		raw, ok := u.(string)
		if !ok || raw == "" {
			continue // the schema reports the type or emptiness
		}
		ip := appendPath(path, strconv.Itoa(i))
		p := l.checkURL(raw, ip)
		if p == nil {
			continue
		}
		key := memberKey(p)
		if j, dup := first[key]; dup {
			l.errAt(l.node(ip), ip, "duplicates %s.%d (line %d): the same proxy twice", path[len(path)-1], j, l.node(path, strconv.Itoa(j)).Line)
			continue
		}
		first[key] = i
	}
}

// memberKey identifies a proxy for duplicate detection: scheme, host (case
// and IPv6 spelling normalised), port and the credentials or their variable
// names. It holds literal credentials and must never be printed.
func memberKey(p *runtime.Proxy) string {
	host := strings.ToLower(p.Host)
	if ip := net.ParseIP(host); ip != nil {
		host = ip.String()
	}
	return strings.Join([]string{p.Scheme.String(), host, strconv.Itoa(int(p.Port)),
		"u", p.UserVar, p.User, "p", p.PasswordVar, p.Password.Reveal()}, "\x00")
}

// targetProblem returns why a health-check target is not host:port, or "".
// It never repeats the target.
func targetProblem(t string) string {
	host, port, err := net.SplitHostPort(t)
	var ae *net.AddrError
	switch {
	case errors.As(err, &ae) && ae.Err == "missing port in address":
		return "must be host:port: the port is missing"
	case err != nil:
		return "must be host:port (an IPv6 host in brackets)"
	case port == "":
		return "must be host:port: the port is missing"
	}
	switch {
	case host == "":
		return "must be host:port: the host is empty"
	case strings.HasPrefix(t, "["):
		if ip := net.ParseIP(host); ip == nil || !strings.Contains(host, ":") {
			return "must be host:port: the host in brackets is not an IPv6 address"
		}
	case !validHost(host):
		return "must be host:port: the host has characters other than letters, digits, '-', '.' and '_'"
	}
	n, err := strconv.Atoi(port)
	if err != nil || port[0] == '+' || port[0] == '-' {
		return "must be host:port: the port is not a number"
	}
	if n < 1 || n > 65535 {
		return fmt.Sprintf("must be host:port: port %d out of range 1..65535", n)
	}
	return ""
}

func validHost(h string) bool {
	if len(h) > 253 {
		return false
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '.', c == '_':
		default:
			return false
		}
	}
	return true
}

// field is a key path inside a route, like {"eject", "seconds"}.
type field []string

func (f field) String() string { return strings.Join(f, ".") }

// route looks up a route's effective values: its own, else its base's
// (the default route of the transport), else the built-in default.
type route struct {
	l              *loader
	own, base      map[string]any
	path, basePath []string
}

// lookup returns the value at f in m, if any.
func lookup(m map[string]any, f field) (any, bool) {
	var v any = m
	for _, k := range f {
		mm, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		if v, ok = mm[k]; !ok {
			return nil, false
		}
	}
	return v, true
}

// has reports whether f is set in the route or its base.
func (r *route) has(f ...string) bool {
	if _, ok := lookup(r.own, f); ok {
		return true
	}
	_, ok := lookup(r.base, f)
	return ok
}

// effective is one field's effective integer value and where it came from.
type effective struct {
	v   int64
	own bool
	at  *yaml.Node // nil for a built-in default
	ok  bool       // false: set to something invalid (reported elsewhere), or unset with no default
}

// ranges are the schema's bounds of the fields order compares; a value
// outside them is reported by the schema and not compared again.
var ranges = map[string][2]int{
	"timeout_seconds":               {MinTimeoutSeconds, MaxTimeoutSeconds},
	"attempt_timeout_seconds":       {MinTimeoutSeconds, MaxTimeoutSeconds},
	"eject.seconds":                 {MinEjectSeconds, MaxEjectSeconds},
	"eject.max_seconds":             {MinEjectSeconds, MaxEjectMaxSeconds},
	"health_check.interval_seconds": {MinHealthIntervalSeconds, MaxHealthIntervalSeconds},
	"health_check.timeout_seconds":  {MinHealthTimeoutSeconds, MaxHealthTimeoutSeconds},
}

// value returns f's effective integer; def 0 means no built-in default.
func (r *route) value(f field, def int64) effective {
	valid := func(v any) (int64, bool) {
		n, ok := v.(int64)
		b, known := ranges[f.String()]
		return n, ok && known && int64(b[0]) <= n && n <= int64(b[1])
	}
	if v, ok := lookup(r.own, f); ok {
		n, ok := valid(v)
		return effective{v: n, own: true, at: r.l.node(r.path, f...), ok: ok}
	}
	if v, ok := lookup(r.base, f); ok {
		n, ok := valid(v)
		return effective{v: n, at: r.l.node(r.basePath, f...), ok: ok}
	}
	return effective{v: def, ok: def != 0}
}

// origin says where a value the message compares with comes from.
func (r *route) origin(e effective) string {
	switch {
	case e.own:
		return strconv.FormatInt(e.v, 10)
	case e.at != nil:
		return fmt.Sprintf("%d, inherited from %s at line %d", e.v, dotted(r.basePath), e.at.Line)
	}
	return fmt.Sprintf("%d, the default", e.v)
}

// order checks that the effective lo <= the effective hi. It reports at
// whichever of the two the route sets itself (lo when both); when the route
// sets neither, both values are its base's and the base reports.
func (r *route) order(lo field, loDef int, hi field, hiDef int, hiName string) {
	a, b := r.value(lo, int64(loDef)), r.value(hi, int64(hiDef))
	if !a.ok || !b.ok || a.v <= b.v {
		return
	}
	switch {
	case a.own:
		p := sub(r.path, lo...)
		r.l.errAt(a.at, p, "must be <= %s (%s)", hiName, r.origin(b))
	case b.own:
		p := sub(r.path, hi...)
		r.l.errAt(b.at, p, "must be >= %s (%s)", lo.String(), r.origin(a))
	}
}

// node returns the value node at path and more.
func (l *loader) node(path []string, more ...string) *yaml.Node {
	return l.locs[strings.Join(sub(path, more...), pathSep)].val
}

// sub returns path followed by more, in a new slice.
func sub(path []string, more ...string) []string {
	out := make([]string, 0, len(path)+len(more))
	return append(append(out, path...), more...)
}

// buildPool fills c's pool fields from a valid route.
func buildPool(c *ProxyConfig, pc map[string]any) {
	if list, ok := pc["urls"].([]any); ok {
		c.URLs = make([]string, len(list))
		for i, u := range list {
			c.URLs[i], _ = u.(string)
		}
	}
	if s, ok := pc["strategy"].(string); ok {
		v := Strategy(s)
		c.Strategy = &v
	}
	if s, ok := pc["when_all_down"].(string); ok {
		v := WhenAllDown(s)
		c.WhenAllDown = &v
	}
	c.AttemptTimeoutSeconds = intField(pc, "attempt_timeout_seconds")
	c.HedgeAfterMS = intField(pc, "hedge_after_ms")
	if m, ok := pc["eject"].(map[string]any); ok {
		c.Eject = &Eject{
			AfterFailures: intField(m, "after_failures"),
			Seconds:       intField(m, "seconds"),
			MaxSeconds:    intField(m, "max_seconds"),
		}
	}
	if m, ok := pc["health_check"].(map[string]any); ok {
		c.HealthCheck = &HealthCheck{
			IntervalSeconds: intField(m, "interval_seconds"),
			TimeoutSeconds:  intField(m, "timeout_seconds"),
		}
		if t, ok := m["target"].(string); ok {
			c.HealthCheck.Target = &t
		}
	}
}

func intField(m map[string]any, key string) *int {
	if v, ok := m[key].(int64); ok {
		n := int(v)
		return &n
	}
	return nil
}

// items is "1 item" or "n items".
func items(n int) string {
	if n == 1 {
		return "1 item"
	}
	return strconv.Itoa(n) + " items"
}
