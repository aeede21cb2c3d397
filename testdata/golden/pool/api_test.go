package proxies

// Hand-written (not generated): the compiled pool routes of a generated
// package, resolved by the runtime's one rule, and a dial through a pool
// whose first member refuses.

import (
	"context"
	"io"
	"net"
	"testing"
	"time"

	"github.com/proxygen-go/proxygen/runtime"
	"github.com/proxygen-go/proxygen/runtime/proxytest"
)

func TestCompiledPool(t *testing.T) {
	s := Settings()
	if err := runtime.Validate(s); err != nil {
		t.Fatalf("compiled settings: %v", err)
	}
	ws, _ := runtime.ResolveRoute(s, "other", runtime.TransportWebSocket)
	if len(ws.Proxies) != 2 || ws.Strategy != runtime.StrategySticky || ws.HedgeAfter != 250*time.Millisecond || ws.Proxies[1].String() != "socks5h://eu2.internal:1080" {
		t.Errorf("default websocket: %+v", ws)
	}
	// kraken's explicit hedge_after_ms: 0 beats the default's 250; its
	// strategy is inherited.
	kr, o := runtime.ResolveRoute(s, "kraken", runtime.TransportWebSocket)
	if len(kr.Proxies) != 1 || kr.HedgeAfter != 0 || !kr.Has(runtime.SetHedgeAfter) || kr.Strategy != runtime.StrategySticky ||
		o.Of(runtime.SetStrategy).Origin != runtime.OriginDefault || o.Of(runtime.SetHedgeAfter).Origin != runtime.OriginOverride ||
		kr.WhenAllDown != runtime.FailFast || kr.AttemptTimeout != 3*time.Second || kr.HealthCheck.Target != "api.kraken.com:443" {
		t.Errorf("kraken websocket: %+v", kr)
	}
	if p := WebSocketProxy(Kraken); p == nil || p.String() != "socks5h://kraken.internal:1080" {
		t.Errorf("WebSocketProxy(Kraken) = %v", p)
	}
	// The compiled effective routes are ResolveRoute's, member for member
	// and setting for setting.
	for _, c := range []struct {
		e    Exchange
		id   string
		t    runtime.Transport
		got  *runtime.Route
		name string
	}{
		{Kraken, "kraken", runtime.TransportWebSocket, WebSocketRoute(Kraken), "WebSocketRoute(Kraken)"},
		{Kraken, "kraken", runtime.TransportHTTP, HTTPRoute(Kraken), "HTTPRoute(Kraken)"},
		{0, "", runtime.TransportWebSocket, WebSocketRoute(0), "WebSocketRoute(0)"},
	} {
		want, _ := runtime.ResolveRoute(s, c.id, c.t)
		if len(c.got.Proxies) != len(want.Proxies) || c.got.Strategy != want.Strategy || c.got.AttemptTimeout != want.AttemptTimeout ||
			c.got.Timeout != want.Timeout || c.got.Eject != want.Eject || c.got.HealthCheck != want.HealthCheck || c.got.WhenAllDown != want.WhenAllDown ||
			c.got.HedgeAfter != want.HedgeAfter || c.got.Proxies[0].String() != want.Proxies[0].String() || c.got.Proxies[0].Timeout != want.Proxies[0].Timeout {
			t.Errorf("%s = %+v, want %+v", c.name, c.got, want)
		}
	}
}

// echoTarget accepts connections and echoes what they send.
func echoTarget(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); _, _ = io.Copy(c, c) }()
		}
	}()
	return ln.Addr().String()
}

// TestPoolFailoverAfterInit: with the default WebSocket pool replaced by
// the environment with two loopback proxies, the first refusing, the
// generated dial function reaches the target through the second; the
// health checks Init starts stop at Shutdown.
func TestPoolFailoverAfterInit(t *testing.T) {
	target := echoTarget(t)
	dead := proxytest.NewSwitch(proxytest.Config{Kind: proxytest.SOCKS5})
	defer dead.Close()
	dead.Set(proxytest.Refuse)
	live := proxytest.NewSwitch(proxytest.Config{Kind: proxytest.SOCKS5})
	defer live.Close()
	t.Setenv("CRYPTOFEED_PROXY_DEFAULT__WEBSOCKET__URLS", "socks5h://"+dead.Addr()+","+"socks5h://"+live.Addr())
	t.Setenv("CRYPTOFEED_PROXY_DEFAULT__WEBSOCKET__STRATEGY", "failover")
	t.Setenv("CRYPTOFEED_PROXY_EXCHANGES__KRAKEN__WEBSOCKET__URL", "socks5h://"+live.Addr())
	t.Setenv("CRYPTOFEED_PROXY_EXCHANGES__KRAKEN__WEBSOCKET__HEALTH_CHECK__TARGET", target)
	if err := Init(); err != nil {
		t.Fatal(err)
	}
	defer runtime.Uninstall()
	if r := WebSocketRoute(0); len(r.Proxies) != 2 || r.Strategy != runtime.StrategyFailover {
		t.Fatalf("WebSocketRoute after Init: %+v", r)
	}
	c, err := WebSocketDialContext(0)(context.Background(), "tcp", target)
	if err != nil {
		t.Fatalf("dial through the pool: %v", err)
	}
	defer c.Close()
	if _, err := c.Write([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4)
	if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "ping" {
		t.Fatalf("echo %q, %v", buf, err)
	}
	if live.Tunnels() < 1 || dead.AcceptedTotal() != 0 {
		t.Fatalf("live tunnels %d, dead accepted %d", live.Tunnels(), dead.AcceptedTotal())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
}
