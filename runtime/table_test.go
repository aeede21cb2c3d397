package runtime

import (
	"strings"
	"testing"
	"time"
)

func TestTable(t *testing.T) {
	def := &Proxy{Scheme: SOCKS5H, Host: "def.internal", Port: 1080}
	bn := &Proxy{Scheme: HTTP, Host: "bn.internal", Port: 3128}
	settings := func() Settings {
		return Settings{
			Enabled:   true,
			EnvPrefix: "TABLE_TEST_",
			Default:   Routes{HTTP: &Route{Proxies: []*Proxy{def}}, WebSocket: &Route{Proxies: []*Proxy{def}}},
			Exchanges: map[string]Routes{"binance": {HTTP: &Route{Proxies: []*Proxy{bn}}}, "kraken": {WebSocket: &Route{Direct: true}}},
		}
	}
	tb := NewTable(settings, []string{"binance", "kraken"},
		[]*Proxy{bn, def}, []*Proxy{def, nil}, def, def)

	if tb.HTTPProxy(0) != bn || tb.WebSocketProxy(1) != nil || tb.HTTPProxy(2) != def || tb.WebSocketProxy(-1) != def {
		t.Error("compiled lookups: wrong route, or an index outside the table did not get the default")
	}
	// A route's settings reach the compiled single-proxy view.
	tb2 := NewTable(func() Settings {
		s := settings()
		s.Exchanges["binance"] = Routes{HTTP: &Route{Proxies: []*Proxy{bn}, Timeout: 7 * time.Second, Optimistic: true}}
		return s
	}, []string{"binance", "kraken"}, []*Proxy{bn, def}, []*Proxy{def, nil}, def, def)
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
	NewTable(func() Settings { return Settings{} }, []string{"a", "b"}, []*Proxy{nil}, []*Proxy{nil, nil}, nil, nil)
}
