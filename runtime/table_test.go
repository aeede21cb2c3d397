package runtime

import (
	"strings"
	"testing"
	"time"
)

func TestTable(t *testing.T) {
	def := &Proxy{Scheme: SOCKS5H, Host: "def.internal", Port: 1080}
	bn := &Proxy{Scheme: HTTP, Host: "bn.internal", Port: 3128}
	defR, bnR, directR := &Route{Proxies: []*Proxy{def}}, &Route{Proxies: []*Proxy{bn}}, &Route{Direct: true}
	settings := func() Settings {
		return Settings{
			Enabled:   true,
			EnvPrefix: "TABLE_TEST_",
			Default:   Routes{HTTP: defR, WebSocket: defR},
			Exchanges: map[string]Routes{"binance": {HTTP: bnR}, "kraken": {WebSocket: directR}},
		}
	}
	tb := NewTable(settings, []string{"binance", "kraken"},
		[]*Route{bnR, defR}, []*Route{defR, directR}, defR, defR)

	str := func(p *Proxy) string {
		if p == nil {
			return "direct"
		}
		return p.String()
	}
	if str(tb.HTTPProxy(0)) != bn.String() || tb.WebSocketProxy(1) != nil || str(tb.HTTPProxy(2)) != def.String() || str(tb.WebSocketProxy(-1)) != def.String() {
		t.Error("compiled lookups: wrong route, or an index outside the table did not get the default")
	}
	if r := tb.WebSocketRoute(1); r == nil || !r.Direct {
		t.Errorf("compiled direct route: %+v", r)
	}
	if r := tb.HTTPRoute(0); r.Timeout != DefaultTimeout || r.Proxies[0].Timeout != DefaultTimeout || bn.Timeout != 0 {
		t.Errorf("compiled route not completed with the built-in settings: %+v", r)
	}
	if tb.HTTPRoute(1) != tb.WebSocketRoute(0) {
		t.Error("one compiled route completed twice")
	}
	// A route's settings reach the compiled single-proxy view.
	bn7 := &Route{Proxies: []*Proxy{bn}, Timeout: 7 * time.Second, Optimistic: true}
	tb2 := NewTable(func() Settings {
		s := settings()
		s.Exchanges["binance"] = Routes{HTTP: bn7}
		return s
	}, []string{"binance", "kraken"}, []*Route{bn7, defR}, []*Route{defR, nil}, defR, defR)
	if p := tb2.HTTPProxy(0); p.String() != bn.String() || p.Timeout != 7*time.Second || !p.Optimistic || bn.Timeout != 0 {
		t.Errorf("compiled route settings: %+v", p)
	}
	if got := tb.Injector().Proxy("binance", TransportHTTP); got == nil || got.String() != bn.String() {
		t.Errorf("compiled injector: %v", got)
	}

	t.Cleanup(Uninstall)
	t.Setenv("TABLE_TEST_EXCHANGES__KRAKEN__WEBSOCKET__URL", "socks5://127.0.0.1:1081")
	if err := tb.Init(); err != nil {
		t.Fatal(err)
	}
	if p := tb.WebSocketProxy(1); p == nil || p.String() != "socks5://127.0.0.1:1081" {
		t.Errorf("after Init: %v", p)
	}
	if Installed() != tb.Injector() {
		t.Error("Init did not install its injector globally")
	}

	t.Setenv("TABLE_TEST_EXCHANGES__KRAKEN__WEBSOCKET__URL", "socks5://127.0.0.1")
	if err := tb.Init(); err == nil || !strings.Contains(err.Error(), "TABLE_TEST_EXCHANGES__KRAKEN__WEBSOCKET__URL") {
		t.Fatalf("invalid env: %v", err)
	}
	if p := tb.WebSocketProxy(1); p == nil || p.String() != "socks5://127.0.0.1:1081" {
		t.Errorf("a failed Init changed the routes: %v", p)
	}
}

func TestNewTableLengths(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("NewTable accepted fewer routes than ids")
		}
	}()
	NewTable(func() Settings { return Settings{} }, []string{"a", "b"}, []*Route{nil}, []*Route{nil, nil}, nil, nil)
}
