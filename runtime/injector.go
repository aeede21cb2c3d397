package runtime

import (
	"context"
	"crypto/tls"
	"log/slog"
	"net"
	"net/http"
	"sort"
	"sync"
	"sync/atomic"
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
// HTTP clients. Build it with NewInjector; it is immutable and safe for
// concurrent use. Ids are case-insensitive; an id the settings do not list
// gets the default route.
type Injector struct {
	enabled  bool
	byID     map[string]*route // lower-case ids
	ids      []string          // sorted
	maxIDLen int
	def      *route
	logger   *slog.Logger
	fromEnv  map[string][]string
}

// route is the effective routing of one exchange id (or of the default).
// Its clients are created on first use and then reused.
type route struct {
	id        string
	proxy     [2]*Proxy
	source    [2]RouteSource
	dialer    [2]*Dialer
	clients   [2]atomic.Pointer[http.Client] // REST, WebSocket
	clientTLS *tls.Config

	// named holds, for the default route only, a copy of it per id the
	// settings do not list, so that its clients' logs and errors name that
	// id: created on first use and reused.
	namedMu sync.RWMutex
	named   map[string]*route
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
		n = newRoute(id, r.proxy, r.source, r.dialer[0].Logger, r.clientTLS)
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

func newRoute(id string, proxies [2]*Proxy, sources [2]RouteSource, logger *slog.Logger, clientTLS *tls.Config) *route {
	r := &route{id: id, proxy: proxies, source: sources, clientTLS: clientTLS}
	for i, t := range [2]Transport{TransportHTTP, TransportWebSocket} {
		r.dialer[i] = &Dialer{Proxy: proxies[i], Exchange: id, Transport: t, Logger: logger}
	}
	return r
}

// NewInjector validates s (see Validate) and builds its routing table.
// Resolution per exchange and transport: Enabled false -> direct; the
// exchange's route for that transport -> it; else the default route for that
// transport -> it; else direct. A route with Direct true is a real override.
// WithFallback replaces "direct" in the first and last case.
//
// The injector copies every Proxy; later changes to s do not affect it.
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

	copies := make(map[*Proxy]*Proxy)
	prep := func(p *Proxy, path string) *Proxy {
		if p == nil {
			return nil
		}
		if q, ok := copies[p]; ok {
			return q
		}
		q := p
		if o.lookup != nil {
			r, err := p.Resolve(o.lookup)
			if err != nil {
				errs = append(errs, &SettingsError{Path: path + ".url", Reason: err.Error(), Err: err})
			} else if reason := credentialProblem(r); reason != "" {
				// A ${VAR} value breaks what the scheme can carry.
				errs = append(errs, &SettingsError{Path: path + ".url", Reason: reason})
			} else {
				q = r
			}
		}
		c := *q
		if c.Scheme == HTTPS && c.TLSConfig == nil && o.proxyTLS != nil {
			c.TLSConfig = o.proxyTLS
		}
		copies[p] = &c
		return &c
	}
	fallback := prep(o.fallback, "fallback")
	noRoute := func(src RouteSource) (*Proxy, RouteSource) {
		if fallback != nil {
			return fallback, SourceFallback
		}
		return nil, src
	}
	resolve := func(own *Routes, path string, t Transport) (*Proxy, RouteSource) {
		if !s.Enabled {
			return noRoute(SourceDisabled)
		}
		if own != nil {
			if r := own.Get(t); r != nil {
				if r.Direct {
					return nil, SourceOverride
				}
				return prep(firstProxy(&s, own, t), path+"."+t.String()), SourceOverride
			}
		}
		if r := s.Default.Get(t); r != nil {
			if r.Direct {
				return nil, SourceDefault
			}
			return prep(firstProxy(&s, nil, t), "default."+t.String()), SourceDefault
		}
		return noRoute(SourceDirect)
	}
	build := func(id string, own *Routes, path string) *route {
		var ps [2]*Proxy
		var ss [2]RouteSource
		for i, t := range [2]Transport{TransportHTTP, TransportWebSocket} {
			ps[i], ss[i] = resolve(own, path, t)
		}
		return newRoute(id, ps, ss, o.logger, o.clientTLS)
	}

	in := &Injector{
		enabled: s.Enabled,
		byID:    make(map[string]*route, len(s.Exchanges)),
		logger:  o.logger,
		fromEnv: s.FromEnv,
	}
	in.def = build(DefaultRouteID, nil, "default")
	for key, rs := range s.Exchanges {
		id := injLowerID(key)
		rs := rs
		in.byID[id] = build(id, &rs, "exchanges."+id)
		in.ids = append(in.ids, id)
		in.maxIDLen = max(in.maxIDLen, len(id))
	}
	sort.Strings(in.ids)
	if len(errs) > 0 {
		return nil, joinSorted(errs)
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
	return in.lookup(id).proxy[tIndex(t)]
}

// DefaultProxy returns the default route's proxy for transport t: what ids
// the settings do not list get (nil means direct).
func (in *Injector) DefaultProxy(t Transport) *Proxy { return in.def.proxy[tIndex(t)] }

// Source returns where the route of Proxy(id, t) comes from.
func (in *Injector) Source(id string, t Transport) RouteSource {
	return in.lookup(id).source[tIndex(t)]
}

// Dialer returns a new Dialer over the route of exchange id and transport t.
func (in *Injector) Dialer(id string, t Transport) *Dialer {
	r := in.lookup(id)
	name := r.id
	if r == in.def {
		name = injLowerID(id)
	}
	return &Dialer{Proxy: r.proxy[tIndex(t)], Exchange: name, Transport: t, Logger: in.logger}
}

// DialContext connects to addr over the route of exchange id and transport t.
func (in *Injector) DialContext(ctx context.Context, id string, t Transport, network, addr string) (net.Conn, error) {
	return in.Dialer(id, t).DialContext(ctx, network, addr)
}

// WebSocketDialContext returns a dial function over the WebSocket route of
// exchange id, for gorilla/websocket's Dialer.NetDialContext or gobwas/ws's
// Dialer.NetDial.
func (in *Injector) WebSocketDialContext(id string) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return in.Dialer(id, TransportWebSocket).DialContext
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
		if p := r.proxy[i]; p != nil {
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
		if p := r.proxy[tIndex(ri.Transport)]; p != nil {
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
