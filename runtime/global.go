package runtime

import (
	"context"
	"net"
	"net/http"
	"os"
	"sync/atomic"
)

// The global injector (seed init_proxy_system / get_proxy_injector), for code
// that does not import a generated package: a shared feed library calls
// HTTPClient(exchangeID) or DialContext(ctx, exchangeID, ...) and gets the
// routes the program installed.
//
// Precedence for each exchange and transport: the installed injector's
// route (including an explicit direct: true and the injector's own
// WithFallback), then the legacy fallback proxy of SetFallback, then direct.
// With nothing installed, everything uses the legacy fallback or is direct.
var (
	installed atomic.Pointer[Injector]
	legacy    atomic.Pointer[route]
	// direct serves the package-level clients when nothing applies.
	direct = newRoute(DefaultRouteID, [2]*Proxy{}, [2]RouteSource{}, nil, nil)
)

// Install makes in the global injector; nil uninstalls. Clients already
// handed out keep their routes.
func Install(in *Injector) { installed.Store(in) }

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
// builds the injector and installs it. Calling it again re-reads the
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
	return in, nil
}

// Installed returns the global injector, or nil.
func Installed() *Injector { return installed.Load() }

// Uninstall removes the global injector: everything is direct (or uses the
// legacy fallback) again.
func Uninstall() { installed.Store(nil) }

// SetFallback sets the legacy proxy (seed R2.3) used where no injector is
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
	r := newRoute(DefaultRouteID, [2]*Proxy{&c, &c}, [2]RouteSource{SourceFallback, SourceFallback}, nil, nil)
	if old := legacy.Swap(r); old != nil {
		old.closeIdle()
	}
	return nil
}

// Fallback returns the legacy proxy of SetFallback, or nil.
func Fallback() *Proxy { return legacyProxy() }

func legacyProxy() *Proxy {
	if r := legacy.Load(); r != nil {
		return r.proxy[0]
	}
	return nil
}

// pick returns the route serving exchange id and transport t globally, and
// the injector it belongs to (nil for the legacy fallback or direct).
func pick(id string, t Transport) (*route, *Injector) {
	if in := installed.Load(); in != nil {
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
	return r.proxy[tIndex(t)]
}

// DialerFor returns a new Dialer over the global route of exchange id and
// transport t.
func DialerFor(id string, t Transport) *Dialer {
	r, in := pick(id, t)
	if in != nil {
		return in.Dialer(id, t)
	}
	return &Dialer{Proxy: r.proxy[tIndex(t)], Exchange: injLowerID(id), Transport: t}
}

// DialContext connects to addr over the global route of exchange id and
// transport t.
func DialContext(ctx context.Context, exchangeID string, t Transport, network, addr string) (net.Conn, error) {
	return DialerFor(exchangeID, t).DialContext(ctx, network, addr)
}

// WebSocketDialContext returns a dial function over the global WebSocket
// route of exchange id (gorilla NetDialContext, gobwas NetDial).
func WebSocketDialContext(exchangeID string) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return DialerFor(exchangeID, TransportWebSocket).DialContext
}

// HTTPClient returns the REST client of exchange id under the global
// configuration, reused across calls (see Injector.HTTPClient).
func HTTPClient(exchangeID string) *http.Client {
	r, _ := pick(exchangeID, TransportHTTP)
	return r.client(false)
}

// WebSocketHTTPClient returns the coder/websocket client of exchange id
// under the global configuration (see Injector.WebSocketHTTPClient).
func WebSocketHTTPClient(exchangeID string) *http.Client {
	r, _ := pick(exchangeID, TransportWebSocket)
	return r.client(true)
}
