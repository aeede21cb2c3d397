package runtime

import (
	"context"
	"crypto/tls"
	"log/slog"
	"net"
	"net/http"
	"sort"
	"strconv"
	"sync"
)

// Option configures NewInjector.
type Option func(*injectorOptions)

type injectorOptions struct {
	logger    *slog.Logger
	lookup    func(string) (string, bool)
	proxyTLS  *tls.Config
	clientTLS *tls.Config
	fallback  *Proxy
	observer  Observer
}

// WithLogger sets the logger of Init's route table (INFO) and of every
// tunnel (DEBUG); nil means slog.Default() at the time of logging.
func WithLogger(l *slog.Logger) Option { return func(o *injectorOptions) { o.logger = l } }

// WithLookup resolves ${VAR} credentials with lookup (os.LookupEnv in Init)
// when the injector is built. A variable that is not set makes NewInjector
// fail with an error naming it (never a value). Without WithLookup, ${VAR}
// credentials stay unresolved and a dial over such a route fails naming the
// variable.
func WithLookup(lookup func(string) (string, bool)) Option {
	return func(o *injectorOptions) { o.lookup = lookup }
}

// WithProxyTLSConfig sets the TLS configuration to HTTPS proxies (for
// example a private CA) for every HTTPS proxy without its own
// Proxy.TLSConfig.
func WithProxyTLSConfig(c *tls.Config) Option { return func(o *injectorOptions) { o.proxyTLS = c } }

// WithClientTLSConfig sets the TLS configuration the injector's HTTP and
// WebSocket clients use towards exchanges (for example a test CA). It is
// cloned per client; WebSocket clients force NextProtos to http/1.1.
func WithClientTLSConfig(c *tls.Config) Option { return func(o *injectorOptions) { o.clientTLS = c } }

// WithFallback sets the legacy proxy (requirement R2.3 in docs/TRACEABILITY.md: injector route, then legacy
// proxy, then none). It applies where the settings give a transport no route
// (no override, no default) and where Enabled is false; never where a route
// says direct: true. Nil means none.
func WithFallback(p *Proxy) Option { return func(o *injectorOptions) { o.fallback = p } }

// WithObserver installs o to receive the dial events of every route of the
// injector (see Observer): dials through pools, single-proxy routes and
// direct routes (Attempts 0), member state changes and probe results. Nil
// means none, and then a dial costs nothing extra.
func WithObserver(o Observer) Option { return func(opts *injectorOptions) { opts.observer = o } }

// Injector maps exchange ids and transports to routes, dialers and reusable
// HTTP clients. Build it with NewInjector; its routes are immutable and it
// is safe for concurrent use. Ids are case-insensitive; an id the settings
// do not list gets the default route.
//
// A route with several members (or one member with a health check or
// when_all_down: fail_fast) dials through a Pool; every pool of an
// injector shares one HealthRegistry, so a proxy listed by several routes
// has one failure count and one ejection. A route of one member otherwise
// dials through a plain Dialer: its errors are the bare *ProxyError and it
// costs what a single-proxy dial costs. A direct route dials with a plain
// net.Dialer; a proxied route never connects direct.
//
// Active health checks (HealthCheck.Target) run only once the injector is
// installed (Init, InstallSettings, Install): NewInjector alone starts
// nothing. Close stops them.
type Injector struct {
	enabled  bool
	byID     map[string]*route // lower-case ids
	ids      []string          // sorted
	maxIDLen int
	def      *route
	logger   *slog.Logger
	fromEnv  map[string][]string

	// health is the registry every pool of the injector shares.
	health *HealthRegistry
	// stats counts every dial, attempt, member state and (with a tunnel
	// observer installed) open tunnel, for Stats.
	stats *statsRecorder
	// observer receives the dial events of every route (nil: none). It is
	// the one hook every pool and dial reads, so it can become a tee of the
	// user's observer and other recorders.
	observer Observer
	// prober runs the routes' health checks once the injector is
	// installed; nil when no route has one.
	prober    *Prober
	closeOnce sync.Once
}

// NewInjector validates s (see Validate) and builds its routing table: the
// route of each exchange and transport is ResolveRoute's. WithFallback
// replaces a direct route whose source is SourceDirect or SourceDisabled
// (never an explicit direct: true).
//
// The injector copies every Proxy; later changes to s do not affect it. It
// starts no goroutine: health checks start when it is installed.
func NewInjector(s Settings, opts ...Option) (*Injector, error) {
	var o injectorOptions
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	var errs []error
	if err := Validate(s); err != nil {
		errs = append(errs, err)
	}
	if o.fallback != nil {
		validateRoute(&Route{Proxies: []*Proxy{o.fallback}}, "fallback", func(path, format string, args ...any) {
			errs = append(errs, &SettingsError{Path: path, Reason: sprintf(format, args...)})
		})
	}
	if len(errs) > 0 {
		return nil, joinSorted(errs)
	}

	// prep resolves a member's ${VAR} credentials and gives an https proxy
	// the injector's proxy TLS configuration.
	prep := func(p *Proxy, path string) *Proxy {
		q := p
		if o.lookup != nil {
			r, err := p.resolve(o.lookup)
			if err != nil {
				errs = append(errs, &SettingsError{Path: path, Reason: err.Error(), Err: err})
			} else if reason := credentialProblem(r); reason != "" {
				// A ${VAR} value breaks what the scheme can carry.
				errs = append(errs, &SettingsError{Path: path, Reason: reason})
			} else {
				q = r
			}
		}
		c := *q
		if c.Scheme == HTTPS && c.TLSConfig == nil && o.proxyTLS != nil {
			c.TLSConfig = o.proxyTLS
		}
		return &c
	}
	// prepared caches the members of each route path, so a default route
	// inherited by many exchanges is resolved (and reports errors) once.
	prepared := map[string][]*Proxy{}
	members := func(r *Route, path string) []*Proxy {
		if ms, ok := prepared[path]; ok {
			return ms
		}
		ms := make([]*Proxy, len(r.Proxies))
		for i, p := range r.Proxies {
			mp := path + ".url"
			if len(r.Proxies) > 1 {
				mp = path + ".urls." + strconv.Itoa(i)
			}
			ms[i] = prep(p, mp)
		}
		prepared[path] = ms
		return ms
	}
	var fallback *Route
	if o.fallback != nil {
		fb := prep(o.fallback, "fallback.url")
		fallback = &Route{Proxies: []*Proxy{fb}}
		for _, f := range RouteFields() {
			copyField(fallback, &builtinRoute, f)
		}
		fallback.Set = allRouteFields
		fallback.Timeout = fb.setupTimeout()
		fallback.AttemptTimeout = fallback.Timeout
		fallback.Optimistic = fb.Optimistic
	}
	resolve := func(id string, t Transport) (*Route, RouteSource) {
		r, ro := ResolveRoute(s, id, t)
		if r.Direct {
			if fallback != nil && (ro.Source == SourceDirect || ro.Source == SourceDisabled) {
				return fallback, SourceFallback
			}
			return r, ro.Source
		}
		path := "default." + t.String()
		if ro.Source == SourceOverride {
			path = "exchanges." + NormalizeExchangeID(id) + "." + t.String()
		}
		// The settings are the exchange's own; the members come from the
		// route that names them (resolved once per path).
		r.Proxies = members(&Route{Proxies: r.Proxies}, path)
		return r, ro.Source
	}

	in := &Injector{
		enabled: s.Enabled,
		byID:    make(map[string]*route, len(s.Exchanges)),
		logger:  o.logger,
		fromEnv: s.FromEnv,
		stats:   newStatsRecorder(),
	}
	// Stats are always kept (a few atomic adds per dial, no allocation).
	// Tunnels are wrapped to see their close only when the user's observer
	// watches them: without one, a dial costs no wrapper and Stats count no
	// open tunnels.
	var rec Observer = dialsOnly{in.stats}
	if _, ok := o.observer.(TunnelObserver); ok {
		rec = in.stats
	}
	in.observer = teeObserver(o.observer, rec)
	in.health = NewHealthRegistry(in.observer, nil)
	build := func(id string) *route {
		var effs [2]*Route
		var ss [2]RouteSource
		for i, t := range transports {
			effs[i], ss[i] = resolve(id, t)
		}
		return newRoute(in, id, effs, ss, o.clientTLS)
	}
	in.def = build(DefaultRouteID)
	for key := range s.Exchanges {
		id := NormalizeExchangeID(key)
		in.byID[id] = build(id)
		in.ids = append(in.ids, id)
		in.maxIDLen = max(in.maxIDLen, len(id))
	}
	sort.Strings(in.ids)
	if len(errs) > 0 {
		return nil, joinSorted(errs)
	}
	var pools []*Pool
	for _, r := range append([]*route{in.def}, in.routes()...) {
		for _, p := range r.pool {
			if p != nil && p.policy.HealthCheck != nil {
				pools = append(pools, p)
			}
		}
	}
	if len(pools) > 0 {
		in.prober = NewProber(pools...)
	}
	return in, nil
}

// lookup returns the route of id (case-insensitive), or the default route.
// It does not allocate.
func (in *Injector) lookup(id string) *route {
	if len(id) > in.maxIDLen {
		return in.def
	}
	if r, ok := in.byID[id]; ok {
		return r // the common case: a known id in lower case
	}
	for i := 0; i < len(id); i++ {
		if foldASCII(id[i]) != id[i] {
			return in.lookupFold(id)
		}
	}
	return in.def
}

// lookupFold looks up id folded with NormalizeExchangeID's rule, without
// allocating for an id of up to 64 bytes.
func (in *Injector) lookupFold(id string) *route {
	var buf [64]byte
	if r, ok := in.byID[string(appendFolded(buf[:0], id))]; ok {
		return r
	}
	return in.def
}

// Enabled reports the settings' Enabled flag (after any overlay).
func (in *Injector) Enabled() bool { return in.enabled }

// Exchanges returns the exchange ids the settings list, lower case, sorted.
func (in *Injector) Exchanges() []string { return append([]string(nil), in.ids...) }

// Proxy returns the effective proxy of exchange id for transport t; nil means
// direct. Ids are case-insensitive; an unknown id gets the default route.
// The returned Proxy belongs to the injector and must not be modified.
func (in *Injector) Proxy(id string, t Transport) *Proxy {
	return in.lookup(id).first(tIndex(t))
}

// Route returns the effective route of exchange id for transport t
// (ResolveRoute's, with credentials resolved): Direct, or the pool and its
// settings. Ids are case-insensitive; an unknown id gets the default route.
// The returned Route belongs to the injector and must not be modified.
func (in *Injector) Route(id string, t Transport) *Route {
	return in.lookup(id).eff[tIndex(t)]
}

// Source returns where the route of Proxy(id, t) comes from.
func (in *Injector) Source(id string, t Transport) RouteSource {
	return in.lookup(id).source[tIndex(t)]
}

// DialContext connects to addr over the route of exchange id and transport
// t: through its pool (failing over between members), its one proxy, or
// direct.
func (in *Injector) DialContext(ctx context.Context, id string, t Transport, network, addr string) (net.Conn, error) {
	return in.lookup(id).forID(id).dial[tIndex(t)].DialContext(ctx, network, addr)
}

// WebSocketDialContext returns a dial function over the WebSocket route of
// exchange id, for gorilla/websocket's Dialer.NetDialContext or gobwas/ws's
// Dialer.NetDial.
func (in *Injector) WebSocketDialContext(id string) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return in.lookup(id).forID(id).dial[1].DialContext
}

// HTTPClient returns the REST client of exchange id: created on first use
// and reused, so its keep-alive pool survives. Every connection tunnels over
// the HTTP route (CONNECT for HTTP proxies; requests are never forwarded);
// HTTP/2 is allowed. An id the settings do not list gets a client of its own
// over the default route (its logs and errors name that id).
func (in *Injector) HTTPClient(id string) *http.Client {
	return in.lookup(id).forID(id).client(false)
}

// WebSocketHTTPClient returns the client for coder/websocket's
// DialOptions.HTTPClient: ws:// and wss:// both tunnel over the WebSocket
// route, and it speaks HTTP/1.1 only (the upgrade needs it). Created once
// per exchange id and reused; an unknown id gets its own over the default
// route.
func (in *Injector) WebSocketHTTPClient(id string) *http.Client {
	return in.lookup(id).forID(id).client(true)
}

// CloseIdleConnections closes the idle connections of every client the
// injector has created.
func (in *Injector) CloseIdleConnections() {
	in.def.closeIdle()
	for _, r := range in.byID {
		r.closeIdle()
	}
}

// Stats returns a snapshot of the injector's counters: per route (exchange
// and transport) the dials, attempts, failovers, failures by stage and open
// tunnels; per proxy its health (up, ejected until when, half-open), its
// consecutive failures and ejections, its moving handshake time and its
// dials. Open tunnels are counted only with an observer that implements
// TunnelObserver (WithObserver): seeing a tunnel close needs a wrapper that
// a program without one does not pay for. No credential appears in it.
func (in *Injector) Stats() Stats { return in.stats.snapshot(in.health) }
