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
	"sync/atomic"
	"time"
)

// DefaultRouteID names the default route in Explain. Logs, errors and
// dialers of an id the settings do not list name that id, never this.
const DefaultRouteID = "*"

// RouteSource says where an effective route comes from.
type RouteSource uint8

// The route sources.
const (
	SourceDirect   RouteSource = iota // nothing configured for the transport: direct
	SourceOverride                    // the exchange's own route (a proxy or direct: true)
	SourceDefault                     // the default route (a proxy or direct: true)
	SourceDisabled                    // Settings.Enabled is false: direct
	SourceFallback                    // nothing configured (or disabled): the legacy fallback proxy
)

// String returns "direct", "override", "default", "disabled" or "fallback".
func (s RouteSource) String() string {
	switch s {
	case SourceDirect:
		return "direct"
	case SourceOverride:
		return "override"
	case SourceDefault:
		return "default"
	case SourceDisabled:
		return "disabled"
	case SourceFallback:
		return "fallback"
	}
	return "source(" + sprintf("%d", int(s)) + ")"
}

// usesLegacy reports whether a global fallback proxy (SetFallback) may
// replace a route of this source: only where the injector has no route of
// its own. An explicit direct: true never falls back.
func (s RouteSource) usesLegacy() bool { return s == SourceDirect || s == SourceDisabled }

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
	// observer receives the dial events of every route (nil: none). It is
	// the one hook every pool and dial reads, so it can become a tee of the
	// user's observer and other recorders.
	observer Observer
	// prober runs the routes' health checks once the injector is
	// installed; nil when no route has one.
	prober    *Prober
	closeOnce sync.Once
}

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
	id = injLowerID(id)
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
			return &observedDialer{d: &d, obs: obs}, nil
		}
		return &d, nil
	}
	if bareMember(e) {
		p := *e.Proxies[0]
		p.Timeout = e.AttemptTimeout
		d.Proxy = &p
		if obs != nil {
			return &observedDialer{d: &d, obs: obs}, nil
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
// member) to an Observer: Attempts is 0 for a direct dial, 1 otherwise.
type observedDialer struct {
	d   *Dialer
	obs Observer
}

func (o *observedDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	start := time.Now()
	ctx = o.obs.DialStart(ctx, DialStart{Exchange: o.d.Exchange, Transport: o.d.Transport, Target: addr, Time: start})
	c, err := o.d.DialContext(ctx, network, addr)
	ev := DialDone{Exchange: o.d.Exchange, Transport: o.d.Transport, Target: addr, Duration: time.Since(start), Err: err}
	if o.d.Proxy != nil {
		ev.Attempts = 1
		if err == nil {
			ev.Proxy = memberName(o.d.Proxy)
		}
	}
	o.obs.DialDone(ctx, ev)
	return c, err
}

// WithObserver installs o to receive the dial events of every route of the
// injector (see Observer): dials through pools, single-proxy routes and
// direct routes (Attempts 0), member state changes and probe results. Nil
// means none, and then a dial costs nothing extra.
func WithObserver(o Observer) Option { return func(opts *injectorOptions) { opts.observer = o } }

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
			r, err := p.Resolve(o.lookup)
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
		fallback.Timeout = fb.SetupTimeout()
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
			path = "exchanges." + injLowerID(id) + "." + t.String()
		}
		// The settings are the exchange's own; the members come from the
		// route that names them (resolved once per path).
		r.Proxies = members(&Route{Proxies: r.Proxies}, path)
		return r, ro.Source
	}

	in := &Injector{
		enabled:  s.Enabled,
		byID:     make(map[string]*route, len(s.Exchanges)),
		logger:   o.logger,
		fromEnv:  s.FromEnv,
		observer: o.observer,
	}
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
		id := injLowerID(key)
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

// routes returns the routes of the listed exchanges, sorted by id.
func (in *Injector) routes() []*route {
	out := make([]*route, len(in.ids))
	for i, id := range in.ids {
		out[i] = in.byID[id]
	}
	return out
}

// startProbes starts the health checks (a no-op when there are none, when
// they run already, or after Close).
func (in *Injector) startProbes() {
	if in.prober != nil {
		in.prober.Start()
	}
}

// stopProbes stops the health checks and waits for them to end.
func (in *Injector) stopProbes() {
	if in.prober != nil {
		_ = in.prober.Close()
	}
}

// Close stops the injector's health checks (waiting for every probe to
// end) and closes the idle connections of its clients. Nothing the
// injector started outlives it. Dials through it still work afterwards,
// without health checks. It is safe to call more than once and always
// returns nil.
func (in *Injector) Close() error {
	in.closeOnce.Do(func() {
		in.stopProbes()
		in.CloseIdleConnections()
	})
	return nil
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
		if c := id[i]; 'A' <= c && c <= 'Z' {
			return in.lookupFold(id)
		}
	}
	return in.def
}

func (in *Injector) lookupFold(id string) *route {
	var buf [64]byte
	var b []byte
	if len(id) <= len(buf) {
		b = buf[:len(id)]
	} else {
		b = make([]byte, len(id))
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		b[i] = c
	}
	if r, ok := in.byID[string(b)]; ok {
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

// DefaultProxy returns the default route's proxy for transport t: what ids
// the settings do not list get (nil means direct).
func (in *Injector) DefaultProxy(t Transport) *Proxy { return in.def.first(tIndex(t)) }

// Source returns where the route of Proxy(id, t) comes from.
func (in *Injector) Source(id string, t Transport) RouteSource {
	return in.lookup(id).source[tIndex(t)]
}

// Dialer returns a new Dialer over the first member of the route of exchange
// id and transport t (direct when the route is). It does not fail over: a
// pool route dials through DialContext and WebSocketDialContext.
func (in *Injector) Dialer(id string, t Transport) *Dialer {
	r := in.lookup(id)
	name := r.id
	if r == in.def {
		name = injLowerID(id)
	}
	return &Dialer{Proxy: r.first(tIndex(t)), Exchange: name, Transport: t, Logger: in.logger}
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

// RouteInfo describes one effective route, for `proxygen explain`.
type RouteInfo struct {
	Exchange  string // lower-case id, or DefaultRouteID for ids the settings do not list
	Transport Transport
	Proxy     string // redacted proxy URL, or "direct"
	Source    RouteSource
	// Env names the environment variables (ApplyEnv) that set or changed
	// this route; never their values.
	Env []string
}

// SourceLabel returns "env" when environment variables shaped the route,
// else Source.String().
func (r RouteInfo) SourceLabel() string {
	if len(r.Env) > 0 {
		return "env"
	}
	return r.Source.String()
}

// Explain returns the effective routes: every listed exchange (sorted) for
// http then websocket, then the default route (DefaultRouteID).
func (in *Injector) Explain() []RouteInfo {
	out := make([]RouteInfo, 0, 2*len(in.ids)+2)
	for _, id := range in.ids {
		out = in.explain(out, in.byID[id])
	}
	return in.explain(out, in.def)
}

func (in *Injector) explain(out []RouteInfo, r *route) []RouteInfo {
	for i, t := range [2]Transport{TransportHTTP, TransportWebSocket} {
		ri := RouteInfo{Exchange: r.id, Transport: t, Proxy: "direct", Source: r.source[i]}
		if p := r.first(i); p != nil {
			ri.Proxy = p.String()
		}
		var key string
		switch r.source[i] {
		case SourceOverride:
			key = "exchanges." + r.id + "." + t.String()
		case SourceDefault:
			key = "default." + t.String()
		case SourceDisabled:
			key = "enabled"
		}
		if vs := in.fromEnv[key]; key != "" && len(vs) > 0 {
			ri.Env = append([]string(nil), vs...)
		}
		out = append(out, ri)
	}
	return out
}

// defaultRouteLabel is the exchange the route table Init logs gives the
// default route (what ids the settings do not list get); it cannot be an id.
const defaultRouteLabel = "(default)"

// logRoutes logs the effective route table at INFO, one line per exchange
// and transport (listed exchanges sorted, then the default route): the
// exchange, the transport, the scheme ("direct" for none), the proxy's
// host:port and where the route comes from. Never a credential.
func (in *Injector) logRoutes(ctx context.Context) {
	l := in.logger
	if l == nil {
		l = slog.Default()
	}
	if !l.Enabled(ctx, slog.LevelInfo) {
		return
	}
	for _, ri := range in.Explain() {
		r, name := in.byID[ri.Exchange], ri.Exchange
		if ri.Exchange == DefaultRouteID {
			r, name = in.def, defaultRouteLabel
		}
		scheme, addr := "direct", ""
		if p := r.first(tIndex(ri.Transport)); p != nil {
			scheme, addr = p.Scheme.String(), p.Addr()
		}
		l.LogAttrs(ctx, slog.LevelInfo, "proxy route",
			slog.String("exchange", name),
			slog.String("transport", ri.Transport.String()),
			slog.String("scheme", scheme),
			slog.String("proxy", addr),
			slog.String("source", ri.SourceLabel()),
		)
	}
}
