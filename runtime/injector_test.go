package runtime

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"reflect"
	"strings"
	"testing"
)

// routeStr renders an effective route for comparison: "direct" or host:port.
func routeStr(p *Proxy) string {
	if p == nil {
		return "direct"
	}
	return p.Scheme.String() + "://" + p.Addr()
}

func TestInjectorResolution(t *testing.T) {
	socks := &Route{Proxies: []*Proxy{px(SOCKS5H, "socks", 1080)}}
	httpP := &Route{Proxies: []*Proxy{px(HTTP, "web", 3128)}}
	over := &Route{Proxies: []*Proxy{px(HTTPS, "over", 8443)}}
	direct := &Route{Direct: true}
	type want struct{ http, ws string }
	tests := []struct {
		name string
		s    Settings
		want map[string]want // exchange id -> routes
		src  map[string][2]RouteSource
	}{
		{
			name: "spec example",
			s: Settings{Enabled: true, Default: Routes{HTTP: socks, WebSocket: httpP}, Exchanges: map[string]Routes{
				"binance": {HTTP: over}, "kraken": {WebSocket: direct}, "bybit": {}, "okx": {WebSocket: over}}},
			want: map[string]want{
				"binance": {"https://over:8443", "http://web:3128"}, // http override keeps the ws default (R4.3)
				"kraken":  {"socks5h://socks:1080", "direct"},       // direct: true is a real override
				"bybit":   {"socks5h://socks:1080", "http://web:3128"},
				"okx":     {"socks5h://socks:1080", "https://over:8443"}, // ws override keeps the http default
				"unknown": {"socks5h://socks:1080", "http://web:3128"},   // unknown id -> default
			},
			src: map[string][2]RouteSource{"binance": {SourceOverride, SourceDefault}, "kraken": {SourceDefault, SourceOverride}, "x": {SourceDefault, SourceDefault}},
		},
		{
			name: "disabled",
			s:    Settings{Enabled: false, Default: Routes{HTTP: socks, WebSocket: httpP}, Exchanges: map[string]Routes{"binance": {HTTP: over}}},
			want: map[string]want{"binance": {"direct", "direct"}, "x": {"direct", "direct"}},
			src:  map[string][2]RouteSource{"binance": {SourceDisabled, SourceDisabled}},
		},
		{
			name: "no default",
			s:    Settings{Enabled: true, Exchanges: map[string]Routes{"binance": {HTTP: over}}},
			want: map[string]want{"binance": {"https://over:8443", "direct"}, "x": {"direct", "direct"}},
			src:  map[string][2]RouteSource{"binance": {SourceOverride, SourceDirect}, "x": {SourceDirect, SourceDirect}},
		},
		{
			name: "default direct, override proxy",
			s:    Settings{Enabled: true, Default: Routes{HTTP: direct}, Exchanges: map[string]Routes{"binance": {HTTP: over}}},
			want: map[string]want{"binance": {"https://over:8443", "direct"}, "x": {"direct", "direct"}},
			src:  map[string][2]RouteSource{"x": {SourceDefault, SourceDirect}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in, err := NewInjector(tt.s)
			if err != nil {
				t.Fatal(err)
			}
			for id, w := range tt.want {
				if got := routeStr(in.Proxy(id, TransportHTTP)); got != w.http {
					t.Errorf("Proxy(%s, http) = %s, want %s", id, got, w.http)
				}
				if got := routeStr(in.Proxy(id, TransportWebSocket)); got != w.ws {
					t.Errorf("Proxy(%s, websocket) = %s, want %s", id, got, w.ws)
				}
			}
			for id, w := range tt.src {
				got := [2]RouteSource{in.Source(id, TransportHTTP), in.Source(id, TransportWebSocket)}
				if got != w {
					t.Errorf("Source(%s) = %v, want %v", id, got, w)
				}
			}
		})
	}
}

func TestInjectorCaseInsensitive(t *testing.T) {
	s := Settings{Enabled: true, Default: Routes{HTTP: &Route{Proxies: []*Proxy{px(SOCKS5H, "def", 1)}}},
		Exchanges: map[string]Routes{"Binance_Futures": {HTTP: &Route{Proxies: []*Proxy{px(HTTP, "bf", 2)}}}, "kraken": {HTTP: &Route{Direct: true}}}}
	in, err := NewInjector(s)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"binance_futures", "BINANCE_FUTURES", "Binance_Futures", "bInAnCe_FuTuReS"} {
		if got := routeStr(in.Proxy(id, TransportHTTP)); got != "http://bf:2" {
			t.Errorf("Proxy(%q) = %s", id, got)
		}
		if in.HTTPClient(id) != in.HTTPClient("binance_futures") {
			t.Errorf("HTTPClient(%q) is another client", id)
		}
	}
	for _, id := range []string{"KRAKEN", "Kraken"} {
		if got := in.Proxy(id, TransportHTTP); got != nil {
			t.Errorf("Proxy(%q) = %v, want direct", id, got)
		}
	}
	if got := routeStr(in.Proxy(DefaultRouteID, TransportHTTP)); got != "socks5h://def:1" || in.Proxy(DefaultRouteID, TransportWebSocket) != nil {
		t.Errorf("Proxy(DefaultRouteID, http) = %s", got)
	}
	// Non-ASCII look-alikes and over-long ids are unknown: default route.
	for _, id := range []string{"\u212Araken", "kraken ", strings.Repeat("k", 100), ""} {
		if got := routeStr(in.Proxy(id, TransportHTTP)); got != "socks5h://def:1" {
			t.Errorf("Proxy(%q) = %s, want the default", id, got)
		}
	}
	if !reflect.DeepEqual(in.Exchanges(), []string{"binance_futures", "kraken"}) {
		t.Errorf("Exchanges() = %v", in.Exchanges())
	}
}

func TestInjectorFallback(t *testing.T) {
	fb := &Proxy{Scheme: HTTP, Host: "legacy", Port: 8080}
	s := Settings{Enabled: true, Default: Routes{WebSocket: &Route{Proxies: []*Proxy{px(SOCKS5, "def", 1)}}},
		Exchanges: map[string]Routes{"kraken": {HTTP: &Route{Direct: true}}}}
	in, err := NewInjector(s, WithFallback(fb))
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		id   string
		t    Transport
		want string
		src  RouteSource
	}{
		{"binance", TransportHTTP, "http://legacy:8080", SourceFallback}, // no route: legacy proxy
		{"binance", TransportWebSocket, "socks5://def:1", SourceDefault}, // injector route first
		{"kraken", TransportHTTP, "direct", SourceOverride},              // explicit direct never falls back
	}
	for _, c := range checks {
		if got := routeStr(in.Proxy(c.id, c.t)); got != c.want || in.Source(c.id, c.t) != c.src {
			t.Errorf("%s/%s = %s (%v), want %s (%v)", c.id, c.t, got, in.Source(c.id, c.t), c.want, c.src)
		}
	}
	s.Enabled = false
	in, err = NewInjector(s, WithFallback(fb))
	if err != nil {
		t.Fatal(err)
	}
	if got := routeStr(in.Proxy("kraken", TransportHTTP)); got != "http://legacy:8080" {
		t.Errorf("disabled: %s, want the legacy proxy", got)
	}
	if _, err := NewInjector(s, WithFallback(&Proxy{Scheme: HTTP, Host: "h"})); err == nil || !strings.Contains(err.Error(), "fallback.url: proxy port") {
		t.Errorf("invalid fallback: %v", err)
	}
}

func TestInjectorLookup(t *testing.T) {
	s := Settings{Enabled: true,
		Default:   Routes{WebSocket: &Route{Proxies: []*Proxy{{Scheme: HTTP, Host: "h", Port: 1, UserVar: "PX_USER", PasswordVar: "PX_PASS"}}}},
		Exchanges: map[string]Routes{"binance": {HTTP: &Route{Proxies: []*Proxy{{Scheme: SOCKS5, Host: "s", Port: 2, UserVar: "B_USER", PasswordVar: "B_PASS"}}}}}}
	env := map[string]string{"PX_USER": "alice", "PX_PASS": canary, "B_USER": "bob", "B_PASS": ""}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }

	in, err := NewInjector(s, WithLookup(lookup))
	if err != nil {
		t.Fatal(err)
	}
	p := in.Proxy("okx", TransportWebSocket)
	if p.User != "alice" || p.Password.Reveal() != canary || p.UserVar != "" || p.PasswordVar != "" {
		t.Errorf("not resolved: user %q var %q/%q", p.User, p.UserVar, p.PasswordVar)
	}
	if p := in.Proxy("binance", TransportHTTP); p.User != "bob" || p.Password.Reveal() != "" || p.PasswordVar != "" {
		t.Errorf("empty password not resolved")
	}
	if s.Default.WebSocket.Proxies[0].UserVar != "PX_USER" {
		t.Error("NewInjector modified the settings")
	}

	// Without WithLookup the references stay for the dialer to report.
	in, err = NewInjector(s)
	if err != nil {
		t.Fatal(err)
	}
	if p := in.Proxy("okx", TransportWebSocket); p.UserVar != "PX_USER" {
		t.Errorf("unresolved reference lost: %+v", p.UserVar)
	}

	// A missing variable is an error naming it (and every other missing one).
	delete(env, "PX_PASS")
	delete(env, "B_USER")
	_, err = NewInjector(s, WithLookup(lookup))
	if err == nil {
		t.Fatal("no error for missing variables")
	}
	want := "default.websocket.url: proxy credential variable PX_PASS is not set\nexchanges.binance.http.url: proxy credential variable B_USER is not set"
	if err.Error() != want {
		t.Errorf("error:\n%v\nwant:\n%s", err, want)
	}
	var ue *UnresolvedError
	if !errors.As(err, &ue) || ue.Var == "" {
		t.Errorf("errors.As UnresolvedError failed: %v", err)
	}

	// Disabled settings need no secrets (the kill switch always works).
	s.Enabled = false
	if _, err := NewInjector(s, WithLookup(lookup)); err != nil {
		t.Errorf("disabled: %v", err)
	}
}

func TestNewInjectorValidates(t *testing.T) {
	_, err := NewInjector(Settings{Enabled: true, Exchanges: map[string]Routes{"a": {HTTP: &Route{}}, "A": {}}})
	if err == nil || !strings.Contains(err.Error(), "exchanges.a") {
		t.Fatalf("err = %v", err)
	}
}

func TestInjectorProxyTLSConfig(t *testing.T) {
	s := Settings{Enabled: true, Default: Routes{HTTP: &Route{Proxies: []*Proxy{px(HTTPS, "h", 1)}}, WebSocket: &Route{Proxies: []*Proxy{px(HTTP, "h", 2)}}}}
	in, err := NewInjector(s, WithProxyTLSConfig(testTLSConfig))
	if err != nil {
		t.Fatal(err)
	}
	if in.Proxy("x", TransportHTTP).TLSConfig != testTLSConfig {
		t.Error("https proxy did not get the TLS config")
	}
	if in.Proxy("x", TransportWebSocket).TLSConfig != nil {
		t.Error("http proxy got a TLS config")
	}
}

func TestInjectorDialer(t *testing.T) {
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	s := Settings{Enabled: true, Default: Routes{WebSocket: &Route{Proxies: []*Proxy{px(SOCKS5H, "def", 1)}}},
		Exchanges: map[string]Routes{"binance": {HTTP: &Route{Proxies: []*Proxy{px(HTTP, "b", 2)}}}}}
	in, err := NewInjector(s, WithLogger(logger))
	if err != nil {
		t.Fatal(err)
	}
	// A route of one member dials through a plain Dialer named after the
	// exchange (lower case), with the injector's logger (behind the
	// observing wrapper that keeps Stats).
	plain := func(c ContextDialer) *Dialer {
		if o, ok := c.(*observedDialer); ok {
			return o.d
		}
		d, _ := c.(*Dialer)
		return d
	}
	d := plain(in.lookup("BINANCE").forID("BINANCE").dial[0])
	if d == nil || d.Exchange != "binance" || d.Transport != TransportHTTP || routeStr(d.Proxy) != "http://b:2" || d.Logger != logger {
		t.Errorf("Dialer = %+v", d)
	}
	d = plain(in.lookup("OKX").forID("OKX").dial[1])
	if d == nil || d.Exchange != "okx" || routeStr(d.Proxy) != "socks5h://def:1" {
		t.Errorf("unknown-id Dialer = %+v", d)
	}
}

func TestRouteTable(t *testing.T) {
	s := envBase()
	s, err := ApplyEnv(s, []string{"CRYPTOFEED_PROXY_EXCHANGES__BYBIT__HTTP__URL=http://u:" + canary + "@env:1", "CRYPTOFEED_PROXY_DEFAULT__WEBSOCKET__TIMEOUT_SECONDS=7"})
	if err != nil {
		t.Fatal(err)
	}
	in, err := NewInjector(s)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range in.routeTable() {
		got = append(got, strings.Join([]string{r.Exchange, r.Transport.String(), r.Proxy, r.Source.String(), r.sourceLabel(), strings.Join(r.Env, ",")}, " "))
	}
	want := []string{
		"binance http https://eu-egress.internal:8443 override override ",
		"binance websocket http://***@proxy.internal:3128 default env CRYPTOFEED_PROXY_DEFAULT__WEBSOCKET__TIMEOUT_SECONDS",
		"bybit http http://***@env:1 override env CRYPTOFEED_PROXY_EXCHANGES__BYBIT__HTTP__URL",
		"bybit websocket http://***@proxy.internal:3128 default env CRYPTOFEED_PROXY_DEFAULT__WEBSOCKET__TIMEOUT_SECONDS",
		"kraken http socks5h://proxy.internal:1080 default default ",
		"kraken websocket direct override override ",
		"* http socks5h://proxy.internal:1080 default default ",
		"* websocket http://***@proxy.internal:3128 default env CRYPTOFEED_PROXY_DEFAULT__WEBSOCKET__TIMEOUT_SECONDS",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("routeTable:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	s.Enabled = false
	in, _ = NewInjector(s)
	if r := in.routeTable()[0]; r.Proxy != "direct" || r.Source != SourceDisabled {
		t.Errorf("disabled: %+v", r)
	}
}

// TestInjectorUnresolvedDial: before secrets are resolved, a dial over a
// route with a ${VAR} fails naming the variable and never reaches the proxy
// (the literal "${VAR}" is never sent).
func TestInjectorUnresolvedDial(t *testing.T) {
	proxy := newConnectProxy(t)
	s := Settings{Enabled: true, Default: Routes{HTTP: &Route{Proxies: []*Proxy{{Scheme: HTTP, Host: "127.0.0.1", Port: proxy.port, UserVar: "PXG_NOT_SET"}}}}}
	in, err := NewInjector(s)
	if err != nil {
		t.Fatal(err)
	}
	_, err = in.DialContext(context.Background(), "binance", TransportHTTP, "tcp", "example.com:443")
	var ue *UnresolvedError
	if !errors.As(err, &ue) || ue.Var != "PXG_NOT_SET" || !strings.Contains(err.Error(), "PXG_NOT_SET") {
		t.Errorf("dial over an unresolved route: %v", err)
	}
	if _, err := in.HTTPClient("binance").Get("http://example.com/"); err == nil || !strings.Contains(err.Error(), "PXG_NOT_SET") {
		t.Errorf("HTTPClient over an unresolved route: %v", err)
	}
	if n := proxy.accepted.Load(); n != 0 {
		t.Errorf("proxy was contacted %d times", n)
	}
}
