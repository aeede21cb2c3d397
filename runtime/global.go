package runtime

import (
	"context"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
)

// The global injector (the Python original's init_proxy_system / get_proxy_injector), for code
// that does not import a generated package: a shared feed library calls
// HTTPClient(exchangeID) or DialContext(ctx, exchangeID, ...) and gets the
// routes the program installed.
//
// Precedence for each exchange and transport: the installed injector's
// route (including an explicit direct: true and the injector's own
// WithFallback), then the legacy fallback proxy of SetFallback, then direct.
// With nothing installed, the compiled-in routes of the generated package
// (RegisterTable) take the injector's place, so nothing connects direct
// before Init for a route the spec sends through a proxy; with no generated
// package either, everything uses the legacy fallback or is direct.
var (
	installed atomic.Pointer[Injector]
	legacy    atomic.Pointer[route]
	// direct serves the package-level clients when nothing applies.
	direct = newRoute(nil, DefaultRouteID, [2]*Route{}, [2]RouteSource{}, nil)
)

// Install makes in the global injector and starts its health checks; nil
// uninstalls. The injector it replaces has its health checks stopped (its
// routes still dial). The by-id clients and dial functions already handed
// out follow the new one at their next dial.
func Install(in *Injector) {
	if in != nil {
		in.startProbes()
	}
	if old := installed.Swap(in); old != nil && old != in {
		old.stopProbes()
	}
}

// InstallSettings builds an injector from programmatic settings (validated
// with the spec's rules) and installs it. On error the installed injector is
// unchanged.
func InstallSettings(s Settings, opts ...Option) error {
	in, err := NewInjector(s, opts...)
	if err != nil {
		return err
	}
	Install(in)
	return nil
}

// Init is what a generated package's Init calls: it applies the environment
// overlay (unless s.Lock), resolves ${VAR} credentials from the environment,
// builds the injector and installs it, then logs the route table at INFO
// (one "proxy route" line per exchange and transport, see WithLogger). Calling it again re-reads the
// environment and replaces the injector. On error nothing changes.
func Init(s Settings, opts ...Option) (*Injector, error) {
	s, err := ApplyEnv(s, os.Environ())
	if err != nil {
		return nil, err
	}
	in, err := NewInjector(s, append([]Option{WithLookup(os.LookupEnv)}, opts...)...)
	if err != nil {
		return nil, err
	}
	Install(in)
	in.logRoutes(context.Background())
	return in, nil
}

// Installed returns the global injector, or nil.
func Installed() *Injector { return installed.Load() }

// Uninstall removes the global injector: the routes of the table given to
// RegisterTable apply again, or, with none, everything is direct (or uses
// the legacy fallback).
func Uninstall() { Install(nil) }

// SetFallback sets the legacy proxy (requirement R2.3, docs/TRACEABILITY.md) used where no injector is
// installed, or where the installed one has no route for a transport (no
// override and no default, or disabled) and no WithFallback of its own. An
// explicit direct: true is never replaced. Nil removes it. The proxy is
// validated and copied; its ${VAR} credentials are not resolved here.
func SetFallback(p *Proxy) error {
	if p == nil {
		if old := legacy.Swap(nil); old != nil {
			old.closeIdle()
		}
		return nil
	}
	var errs []error
	validateRoute(&Route{Proxies: []*Proxy{p}}, "fallback", func(path, format string, args ...any) {
		errs = append(errs, &SettingsError{Path: path, Reason: sprintf(format, args...)})
	})
	if err := joinSorted(errs); err != nil {
		return err
	}
	c := *p
	e := &Route{Proxies: []*Proxy{&c}, Timeout: c.SetupTimeout(), AttemptTimeout: c.SetupTimeout(), Optimistic: c.Optimistic}
	r := newRoute(nil, DefaultRouteID, [2]*Route{e, e}, [2]RouteSource{SourceFallback, SourceFallback}, nil)
	if old := legacy.Swap(r); old != nil {
		old.closeIdle()
	}
	return nil
}

// Fallback returns the legacy proxy of SetFallback, or nil.
func Fallback() *Proxy { return legacyProxy() }

func legacyProxy() *Proxy {
	if r := legacy.Load(); r != nil {
		return r.first(0)
	}
	return nil
}

// pick returns the route serving exchange id and transport t globally, and
// the injector it belongs to (nil for the legacy fallback or direct).
func pick(id string, t Transport) (*route, *Injector) {
	in := installed.Load()
	if in == nil {
		if tb := registered.Load(); tb != nil {
			in = tb.Injector()
		}
	}
	if in != nil {
		r := in.lookup(id)
		if !r.source[tIndex(t)].usesLegacy() {
			return r, in
		}
		if l := legacy.Load(); l != nil {
			return l, nil
		}
		return r, in
	}
	if l := legacy.Load(); l != nil {
		return l, nil
	}
	return direct, nil
}

// ProxyFor returns the proxy the global configuration gives exchange id for
// transport t; nil means direct.
func ProxyFor(id string, t Transport) *Proxy {
	r, _ := pick(id, t)
	return r.first(tIndex(t))
}

// DialerFor returns a new Dialer over the first member of the global route
// of exchange id and transport t as it is now (a snapshot, without
// failover; DialContext, HTTPClient and WebSocketDialContext dial through
// the route's pool and look the route up at each dial).
func DialerFor(id string, t Transport) *Dialer {
	r, in := pick(id, t)
	if in != nil {
		return in.Dialer(id, t)
	}
	return &Dialer{Proxy: r.first(tIndex(t)), Exchange: injLowerID(id), Transport: t}
}

// DialContext connects to addr over the global route of exchange id and
// transport t (through its pool when it has several members).
func DialContext(ctx context.Context, exchangeID string, t Transport, network, addr string) (net.Conn, error) {
	r, _ := pick(exchangeID, t)
	return r.forID(exchangeID).dial[tIndex(t)].DialContext(ctx, network, addr)
}

// WebSocketDialContext returns a dial function over the global WebSocket
// route of exchange id (gorilla NetDialContext, gobwas NetDial). It looks
// the route up at each dial, so one taken before Init follows Init.
func WebSocketDialContext(exchangeID string) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		return DialContext(ctx, exchangeID, TransportWebSocket, network, addr)
	}
}

// HTTPClient returns the REST client of exchange id under the global
// configuration, reused across calls. It is late-bound: each request goes
// through the client of the route in force at that moment (see
// Injector.HTTPClient), so a client taken before Init follows Init.
func HTTPClient(exchangeID string) *http.Client {
	return globalClient(exchangeID, false)
}

// WebSocketHTTPClient returns the coder/websocket client of exchange id
// under the global configuration (see Injector.WebSocketHTTPClient),
// late-bound like HTTPClient.
func WebSocketHTTPClient(exchangeID string) *http.Client {
	return globalClient(exchangeID, true)
}

// globalClients caches the late-bound clients by lower-case id; beyond
// maxGlobalClients ids, clients are made per call (still late-bound).
var (
	globalClients  sync.Map // string -> *lateSlot
	globalClientsN atomic.Int64
)

const maxGlobalClients = 4096

func globalClient(exchangeID string, ws bool) *http.Client {
	id := injLowerID(exchangeID)
	t := TransportHTTP
	i := 0
	if ws {
		t, i = TransportWebSocket, 1
	}
	v, ok := globalClients.Load(id)
	if ok {
		if c := v.(*lateSlot)[i].Load(); c != nil {
			return c // the common case: no allocation
		}
	}
	current := func() *route { r, _ := pick(id, t); return r.forID(id) }
	if !ok {
		if globalClientsN.Load() >= maxGlobalClients {
			var slot lateSlot
			return lateClient(&slot[i], current, ws)
		}
		var loaded bool
		if v, loaded = globalClients.LoadOrStore(id, new(lateSlot)); !loaded {
			globalClientsN.Add(1)
		}
	}
	return lateClient(&v.(*lateSlot)[i], current, ws)
}
