package runtime

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// route is the effective routing of one exchange id (or of the default).
// Its clients are created on first use and then reused.
type route struct {
	id        string
	in        *Injector // nil for the legacy fallback and the global direct route
	eff       [2]*Route // the effective routes (ResolveRoute), REST and WebSocket
	source    [2]RouteSource
	dial      [2]ContextDialer               // *Dialer, *Pool or an observing wrapper
	pool      [2]*Pool                       // the pool behind dial, nil when it is not one
	clients   [2]atomic.Pointer[http.Client] // REST, WebSocket
	clientTLS *tls.Config

	// named holds, for the default route only, a copy of it per id the
	// settings do not list, so that its clients' logs and errors name that
	// id: created on first use and reused (up to maxNamedRoutes ids).
	namedMu sync.RWMutex
	named   map[string]*route
}

// maxNamedRoutes bounds the default route's copies named after unknown
// ids; beyond it, each use builds a fresh copy.
const maxNamedRoutes = 4096

// first returns the first member of the route of transport index i, nil
// when the route is direct.
func (r *route) first(i int) *Proxy {
	if e := r.eff[i]; e != nil && !e.Direct && len(e.Proxies) > 0 {
		return e.Proxies[0]
	}
	return nil
}

// forID returns the route to serve id: r itself for a listed exchange, else
// (r is a default, fallback or direct route) r's copy named after id.
func (r *route) forID(id string) *route {
	if r.id != DefaultRouteID {
		return r
	}
	id = NormalizeExchangeID(id)
	r.namedMu.RLock()
	n := r.named[id]
	r.namedMu.RUnlock()
	if n != nil {
		return n
	}
	r.namedMu.Lock()
	defer r.namedMu.Unlock()
	if n = r.named[id]; n == nil {
		n = newRoute(r.in, id, r.eff, r.source, r.clientTLS)
		if len(r.named) >= maxNamedRoutes {
			return n
		}
		if r.named == nil {
			r.named = map[string]*route{}
		}
		r.named[id] = n
	}
	return n
}

func tIndex(t Transport) int {
	if t == TransportWebSocket {
		return 1
	}
	return 0
}

var transports = [2]Transport{TransportHTTP, TransportWebSocket}

// newRoute builds the route of id over the effective routes effs (nil is
// direct), with the dialers of in (nil: no logger, observer or shared
// health).
func newRoute(in *Injector, id string, effs [2]*Route, sources [2]RouteSource, clientTLS *tls.Config) *route {
	r := &route{id: id, in: in, source: sources, clientTLS: clientTLS}
	for i, t := range transports {
		e := effs[i]
		if e == nil {
			e = &directRoute
		}
		r.eff[i] = e
		r.dial[i], r.pool[i] = in.dialerFor(id, t, e)
	}
	return r
}

// dialerFor returns the dial function of effective route e for exchange id
// and transport t, and its Pool when it is one. in may be nil.
func (in *Injector) dialerFor(id string, t Transport, e *Route) (ContextDialer, *Pool) {
	var obs Observer
	var health *HealthRegistry
	d := Dialer{Exchange: id, Transport: t}
	if in != nil {
		d.Logger, obs, health = in.logger, in.observer, in.health
	}
	if e.Direct || len(e.Proxies) == 0 {
		if obs != nil {
			return newObservedDialer(&d, obs), nil
		}
		return &d, nil
	}
	if bareMember(e) {
		p := *e.Proxies[0]
		p.Timeout = e.AttemptTimeout
		d.Proxy = &p
		if obs != nil {
			return newObservedDialer(&d, obs), nil
		}
		return &d, nil
	}
	pool, err := NewPool(PoolConfig{Members: e.Proxies, Policy: e.Policy(), Dialer: d, Health: health, Observer: obs})
	if err != nil {
		// Validate checked the route with the pool's rules: not reached.
		// Fail closed all the same.
		return failedDialer{err: &ProxyError{Exchange: id, Transport: t, Stage: StageConfig, Err: err}}, nil
	}
	return pool, pool
}

// bareMember reports whether effective route e dials through a plain
// Dialer over its one member: a pool of one without a health check or
// fail_fast behaves as that member alone (every dial tries it, once, within
// AttemptTimeout <= Timeout), so it keeps a single proxy's cost and its
// bare *ProxyError.
func bareMember(e *Route) bool {
	return len(e.Proxies) == 1 && e.HealthCheck.Target == "" && e.WhenAllDown != FailFast
}

// failedDialer fails every dial with err.
type failedDialer struct{ err error }

func (f failedDialer) DialContext(context.Context, string, string) (net.Conn, error) {
	return nil, f.err
}

// observedDialer reports a plain Dialer's dials (direct, or a route of one
// member) to an Observer: Attempts is 0 for a direct dial, 1 otherwise,
// with one Attempt event for the member.
type observedDialer struct {
	d    *Dialer
	name string // the member's scheme://host:port, "" when direct
	obs  Observer
	aobs AttemptObserver
	tobs TunnelObserver
}

func newObservedDialer(d *Dialer, obs Observer) *observedDialer {
	o := &observedDialer{d: d, obs: obs}
	o.aobs, _ = obs.(AttemptObserver)
	o.tobs, _ = obs.(TunnelObserver)
	if d.Proxy != nil {
		o.name = memberName(d.Proxy)
	}
	return o
}

func (o *observedDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	start := time.Now()
	ctx = o.obs.DialStart(ctx, DialStart{Exchange: o.d.Exchange, Transport: o.d.Transport, Target: addr, Time: start})
	c, err := o.d.DialContext(ctx, network, addr)
	took := time.Since(start)
	ev := DialDone{Exchange: o.d.Exchange, Transport: o.d.Transport, Target: addr, Duration: took, Err: err}
	if o.d.Proxy != nil {
		ev.Attempts = 1
		if err == nil {
			ev.Proxy = o.name
		}
		if o.aobs != nil {
			at := Attempt{Exchange: o.d.Exchange, Transport: o.d.Transport, Target: addr, Proxy: o.name, N: 1, Handshake: took, Err: err}
			// A Dialer's error is a *ProxyError (no errors.As: its target
			// would escape, an allocation on every dial).
			if pe, ok := err.(*ProxyError); ok {
				at.Stage, at.Code = pe.Stage, pe.Code
				if pe.Status != 0 {
					at.Code = pe.Status
				}
			}
			o.aobs.Attempt(ctx, at)
		}
	}
	o.obs.DialDone(ctx, ev)
	if err == nil && o.tobs != nil {
		c = observeTunnel(c, Tunnel{Exchange: o.d.Exchange, Transport: o.d.Transport, Target: addr, Proxy: o.name}, o.tobs)
	}
	return c, err
}
