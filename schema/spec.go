// Package schema is proxygen's spec: the Go model of spec version 1, the JSON
// Schema derived from it, loading YAML with positions, and validation. Its
// only I/O is LoadFile reading one spec. It must not generate code (package
// gen does) nor dial (the runtime does), must take the limits and rules it
// shares with the runtime from the runtime instead of restating them, and
// must never echo a credential: an error describes a value that may hold one
// ("a string") instead of quoting it, and redacts URL user information.
package schema

import (
	"fmt"
	"sort"
	"time"

	"github.com/proxygen-go/proxygen/runtime"
)

// Spec is a proxygen spec, version 1. The JSON Schema is derived from these
// types; tags carry the constraints the schema enforces.
type Spec struct {
	Version   int                    `json:"version" jsonschema:"enum=1,description=Spec format version; must be 1."`
	Package   string                 `json:"package,omitempty" jsonschema:"pattern=^[a-z_][a-z0-9_]*$,description=Go package name of the generated file: not a Go keyword nor _ nor main (the -package flag overrides it and follows the same rule)."`
	Enabled   *bool                  `json:"enabled" jsonschema:"description=false sends every exchange direct: a compiled-in kill switch."`
	EnvPrefix string                 `json:"env_prefix,omitempty" jsonschema:"minLength=3,pattern=^[A-Za-z][A-Za-z0-9_]*_$,description=Prefix of the run-time environment overlay (letters, digits and _; starts with a letter, ends in _, at least 3 characters, so it cannot claim PATH or PWD); default CRYPTOFEED_PROXY_."`
	Lock      bool                   `json:"lock,omitempty" jsonschema:"description=true ignores the environment overlay entirely (locked-down builds)."`
	Default   *Transports            `json:"default,omitempty" jsonschema:"description=Routes for every exchange without an override."`
	Exchanges map[string]*Transports `json:"exchanges,omitempty" jsonschema:"description=Per-exchange overrides keyed by exchange id: words of letters and digits joined by single _ (case-insensitive; normalised to lower case; no trailing _ and no __ as the environment overlay splits on __)."`
}

// Transports holds one route per transport.
type Transports struct {
	HTTP      *ProxyConfig `json:"http,omitempty" jsonschema:"description=Route for REST/HTTP clients."`
	WebSocket *ProxyConfig `json:"websocket,omitempty" jsonschema:"description=Route for WebSocket connections."`
}

// ProxyConfig is one route: exactly one of url, urls or direct: true.
//
// Every optional field is a pointer, nil meaning "not set here": an
// exchange's override inherits each field it does not set from the default
// route of the same transport (never the destination: url, urls, direct),
// and eject and health_check inherit key by key, so an override's
// eject: {seconds: 60} keeps the default route's after_failures and
// max_seconds. Rules between fields (attempt_timeout_seconds <=
// timeout_seconds, eject.seconds <= eject.max_seconds, health_check
// timeout_seconds <= interval_seconds) are checked on these effective
// values and reported at whichever of the two the route sets itself: an
// override's eject: {seconds: 600} alone is an error when the max_seconds
// it inherits (or the default, DefaultEjectMaxSeconds) is smaller; nothing is raised silently.
// Limits and defaults are the constants in limits.go.
type ProxyConfig struct {
	URL            string   `json:"url,omitempty" jsonschema:"minLength=1,description=Proxy URL: scheme://[${USER_VAR}[:${PASS_VAR}]@]host:port with scheme http https socks4 socks4a socks5 or socks5h."`
	URLs           []string `json:"urls,omitempty" jsonschema:"minLength=1,description=A pool of proxy URLs tried by strategy; each like url."`
	Direct         bool     `json:"direct,omitempty" jsonschema:"description=true bypasses every proxy for this transport."`
	TimeoutSeconds *int     `json:"timeout_seconds,omitempty" jsonschema:"description=Bounds the whole tunnel set-up in seconds (every attempt of a pool and its hedges)."`
	Optimistic     *bool    `json:"optimistic,omitempty" jsonschema:"default=false,description=Send the handshake and first bytes without waiting for the proxy's replies."`

	// Pool settings: only with url or urls.
	Strategy              *Strategy    `json:"strategy,omitempty" jsonschema:"description=How a dial picks the member: failover (spec order) round_robin random sticky (per target) or fastest."`
	AttemptTimeoutSeconds *int         `json:"attempt_timeout_seconds,omitempty" jsonschema:"description=Bounds one member's attempt in seconds; at most timeout_seconds (its default)."`
	HedgeAfterMS          *int         `json:"hedge_after_ms,omitempty" jsonschema:"description=Start the next member after this many milliseconds while an attempt is still in its handshake; 0 is off."`
	Eject                 *Eject       `json:"eject,omitempty" jsonschema:"description=Passive health: consecutive proxy-side failures take a member out for a while."`
	HealthCheck           *HealthCheck `json:"health_check,omitempty" jsonschema:"description=Active health probe: a connect-only tunnel to target through each member."`
	WhenAllDown           *WhenAllDown `json:"when_all_down,omitempty" jsonschema:"description=What a dial does when every member is ejected: try_ejected or fail_fast. Never direct."`
}

// Eject is a pool's passive health: after_failures consecutive proxy-side
// failures eject a member for seconds, doubling up to max_seconds.
type Eject struct {
	AfterFailures *int `json:"after_failures,omitempty" jsonschema:"description=Consecutive proxy-side failures that eject a member."`
	Seconds       *int `json:"seconds,omitempty" jsonschema:"description=First ejection in seconds; doubles at each new ejection."`
	MaxSeconds    *int `json:"max_seconds,omitempty" jsonschema:"description=Longest ejection in seconds; at least seconds."`
}

// HealthCheck is a pool's active probe of each member. Target is required
// in the effective value (set here or inherited).
type HealthCheck struct {
	Target          *string `json:"target,omitempty" jsonschema:"minLength=1,description=host:port reached through each member (connect only; no bytes sent)."`
	IntervalSeconds *int    `json:"interval_seconds,omitempty" jsonschema:"description=Seconds between probes (+-10% jitter)."`
	TimeoutSeconds  *int    `json:"timeout_seconds,omitempty" jsonschema:"description=Bounds each probe in seconds; at most interval_seconds."`
}

// Strategy is how a pool picks the member for a new tunnel.
type Strategy string

// The strategies; StrategyFailover is the default.
const (
	StrategyFailover   Strategy = "failover"
	StrategyRoundRobin Strategy = "round_robin"
	StrategyRandom     Strategy = "random"
	StrategySticky     Strategy = "sticky"
	StrategyFastest    Strategy = "fastest"
)

// Strategies lists every strategy, the default first.
func Strategies() []Strategy {
	return []Strategy{StrategyFailover, StrategyRoundRobin, StrategyRandom, StrategySticky, StrategyFastest}
}

// WhenAllDown is what a dial does when every member of a pool is ejected.
type WhenAllDown string

// The all-down behaviours; WhenAllDownTryEjected is the default. Neither
// ever connects direct.
const (
	WhenAllDownTryEjected WhenAllDown = "try_ejected"
	WhenAllDownFailFast   WhenAllDown = "fail_fast"
)

// WhenAllDownValues lists every all-down behaviour, the default first.
func WhenAllDownValues() []WhenAllDown {
	return []WhenAllDown{WhenAllDownTryEjected, WhenAllDownFailFast}
}

// IsEnabled reports the spec's enabled flag (false when absent).
func (s *Spec) IsEnabled() bool { return s.Enabled != nil && *s.Enabled }

// ExchangeIDs returns the exchange ids in sorted order. After Load, ids are
// already normalised to lower case.
func (s *Spec) ExchangeIDs() []string {
	ids := make([]string, 0, len(s.Exchanges))
	for id := range s.Exchanges {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// Settings converts a valid spec into the runtime's Settings. allowInline
// accepts literal credentials (generate -allow-inline-credentials).
//
// Each route keeps only what the spec sets (a nil pointer stays unset, and
// every field the spec sets has its bit in Route.Set, zero or not), so
// runtime.ResolveRoute applies the spec's inheritance and defaults.
func (s *Spec) Settings(allowInline bool) (runtime.Settings, error) {
	out := runtime.Settings{
		Enabled:   s.IsEnabled(),
		EnvPrefix: s.EnvPrefix,
		Lock:      s.Lock,
	}
	var err error
	if s.Default != nil {
		if out.Default, err = s.Default.routes(allowInline); err != nil {
			return out, err
		}
	}
	if len(s.Exchanges) > 0 {
		out.Exchanges = make(map[string]runtime.Routes, len(s.Exchanges))
		for id, t := range s.Exchanges {
			var r runtime.Routes
			if t != nil {
				if r, err = t.routes(allowInline); err != nil {
					return out, err
				}
			}
			out.Exchanges[id] = r
		}
	}
	return out, nil
}

func (t *Transports) routes(allowInline bool) (runtime.Routes, error) {
	var r runtime.Routes
	var err error
	if r.HTTP, err = t.HTTP.route(allowInline); err != nil {
		return r, err
	}
	r.WebSocket, err = t.WebSocket.route(allowInline)
	return r, err
}

func (c *ProxyConfig) route(allowInline bool) (*runtime.Route, error) {
	if c == nil {
		return nil, nil
	}
	if c.Direct {
		// Load allows timeout_seconds and optimistic with direct: true
		// (they mean nothing there) and nothing else.
		return &runtime.Route{Direct: true}, nil
	}
	r := &runtime.Route{}
	urls := c.URLs
	if c.URL != "" {
		urls = []string{c.URL}
	}
	for _, u := range urls {
		p, err := runtime.ParseURL(u, runtime.ParseURLOptions{AllowInlineCredentials: allowInline})
		if err != nil {
			return nil, err
		}
		r.Proxies = append(r.Proxies, p)
	}
	secs := func(f runtime.RouteField, v *int, dst *time.Duration) {
		if v != nil {
			*dst = time.Duration(*v) * time.Second
			r.Set |= f
		}
	}
	secs(runtime.SetTimeout, c.TimeoutSeconds, &r.Timeout)
	secs(runtime.SetAttemptTimeout, c.AttemptTimeoutSeconds, &r.AttemptTimeout)
	if c.Strategy != nil {
		st, ok := runtime.ParseStrategy(string(*c.Strategy))
		if !ok {
			return nil, fmt.Errorf("unknown strategy %q", *c.Strategy)
		}
		r.Strategy = st
		r.Set |= runtime.SetStrategy
	}
	if c.HedgeAfterMS != nil {
		r.HedgeAfter = time.Duration(*c.HedgeAfterMS) * time.Millisecond
		r.Set |= runtime.SetHedgeAfter
	}
	if e := c.Eject; e != nil {
		if e.AfterFailures != nil {
			r.Eject.AfterFailures = *e.AfterFailures
			r.Set |= runtime.SetEjectAfterFailures
		}
		secs(runtime.SetEjectDuration, e.Seconds, &r.Eject.Duration)
		secs(runtime.SetEjectMaxDuration, e.MaxSeconds, &r.Eject.MaxDuration)
	}
	if h := c.HealthCheck; h != nil {
		if h.Target != nil {
			r.HealthCheck.Target = *h.Target
			r.Set |= runtime.SetHealthTarget
		}
		secs(runtime.SetHealthInterval, h.IntervalSeconds, &r.HealthCheck.Interval)
		secs(runtime.SetHealthTimeout, h.TimeoutSeconds, &r.HealthCheck.Timeout)
	}
	if c.WhenAllDown != nil {
		a, ok := runtime.ParseAllDown(string(*c.WhenAllDown))
		if !ok {
			return nil, fmt.Errorf("unknown when_all_down %q", *c.WhenAllDown)
		}
		r.WhenAllDown = a
		r.Set |= runtime.SetWhenAllDown
	}
	if c.Optimistic != nil {
		r.Optimistic = *c.Optimistic
		r.Set |= runtime.SetOptimistic
	}
	return r, nil
}
