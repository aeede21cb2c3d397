package runtime_test

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/proxygen-go/proxygen/runtime"
	"github.com/proxygen-go/proxygen/runtime/proxytest"
)

// benchEcho is a target that accepts and holds connections until they close.
func benchTarget(b *testing.B) string {
	b.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				var buf [1]byte
				_, _ = c.Read(buf[:])
				c.Close()
			}()
		}
	}()
	b.Cleanup(func() { ln.Close(); <-done })
	return ln.Addr().String()
}

type dialFunc func(ctx context.Context, network, addr string) (net.Conn, error)

func benchDial(b *testing.B, dial dialFunc, target string) {
	b.Helper()
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		c, err := dial(ctx, "tcp", target)
		if err != nil {
			b.Fatal(err)
		}
		c.Close()
	}
}

func benchSwitch(b *testing.B) *proxytest.Switch {
	sw := proxytest.NewSwitch(proxytest.Config{Kind: proxytest.SOCKS5})
	b.Cleanup(sw.Close)
	return sw
}

// BenchmarkPoolDial compares a tunnel's set-up over a single-proxy route
// with pools: all members healthy, the first member refusing (connection
// refused: one extra round trip to it per dial), and the first member once
// ejected (dials skip it).
func BenchmarkPoolDial(b *testing.B) {
	target := benchTarget(b)
	healthy := benchSwitch(b)
	b.Run("single", func(b *testing.B) {
		d := &runtime.Dialer{Proxy: healthy.Proxy(runtime.SOCKS5H), Exchange: "binance", Transport: runtime.TransportWebSocket, Logger: quietLogger}
		benchDial(b, d.DialContext, target)
	})
	pool := func(b *testing.B, ms []*runtime.Proxy, pol runtime.PoolPolicy) *runtime.Pool {
		p, err := runtime.NewPool(runtime.PoolConfig{Members: ms, Policy: pol,
			Dialer: runtime.Dialer{Exchange: "binance", Transport: runtime.TransportWebSocket, Logger: quietLogger}})
		if err != nil {
			b.Fatal(err)
		}
		return p
	}
	b.Run("pool_healthy", func(b *testing.B) {
		ms := []*runtime.Proxy{healthy.Proxy(runtime.SOCKS5H)}
		for range 3 {
			ms = append(ms, benchSwitch(b).Proxy(runtime.SOCKS5H))
		}
		benchDial(b, pool(b, ms, runtime.PoolPolicy{}).DialContext, target)
	})
	dead := benchSwitch(b)
	dead.Set(proxytest.Refuse)
	b.Run("first_refusing", func(b *testing.B) {
		p := pool(b, []*runtime.Proxy{dead.Proxy(runtime.SOCKS5H), healthy.Proxy(runtime.SOCKS5H)},
			runtime.PoolPolicy{Eject: runtime.EjectPolicy{AfterFailures: 1 << 30}})
		benchDial(b, p.DialContext, target)
	})
	b.Run("first_ejected", func(b *testing.B) {
		p := pool(b, []*runtime.Proxy{dead.Proxy(runtime.SOCKS5H), healthy.Proxy(runtime.SOCKS5H)},
			runtime.PoolPolicy{Eject: runtime.EjectPolicy{AfterFailures: 1, Duration: time.Hour}})
		if _, err := p.DialContext(context.Background(), "tcp", target); err != nil {
			b.Fatal(err)
		}
		if p.Health().Status(dead.Proxy(runtime.SOCKS5H)).State != runtime.Ejected {
			b.Fatal("first member not ejected")
		}
		benchDial(b, p.DialContext, target)
	})
	hole := benchSwitch(b)
	hole.Set(proxytest.Blackhole)
	// First member blackholed: with hedge_after 20ms a dial costs about
	// 20ms plus a healthy dial; without hedging, the attempt timeout
	// (here 100ms).
	b.Run("first_blackholed_hedge_20ms", func(b *testing.B) {
		p := pool(b, []*runtime.Proxy{hole.Proxy(runtime.SOCKS5H), healthy.Proxy(runtime.SOCKS5H)},
			runtime.PoolPolicy{AttemptTimeout: time.Second, HedgeAfter: 20 * time.Millisecond, Eject: runtime.EjectPolicy{AfterFailures: 1 << 30}})
		benchDial(b, p.DialContext, target)
	})
	b.Run("first_blackholed_attempt_100ms", func(b *testing.B) {
		p := pool(b, []*runtime.Proxy{hole.Proxy(runtime.SOCKS5H), healthy.Proxy(runtime.SOCKS5H)},
			runtime.PoolPolicy{AttemptTimeout: 100 * time.Millisecond, Eject: runtime.EjectPolicy{AfterFailures: 1 << 30}})
		benchDial(b, p.DialContext, target)
	})
}

// BenchmarkInjectorDial is a tunnel's set-up through an injector's route:
// a single-proxy route (url:, a pool of one) and a two-member pool with
// both members healthy.
func BenchmarkInjectorDial(b *testing.B) {
	target := benchTarget(b)
	healthy := benchSwitch(b)
	b.Run("single", func(b *testing.B) {
		in, err := runtime.NewInjector(runtime.Settings{Enabled: true, Default: runtime.Routes{
			WebSocket: &runtime.Route{Proxies: []*runtime.Proxy{healthy.Proxy(runtime.SOCKS5H)}}}},
			runtime.WithLogger(quietLogger))
		if err != nil {
			b.Fatal(err)
		}
		benchDial(b, in.WebSocketDialContext("binance"), target)
	})
	b.Run("pool_healthy", func(b *testing.B) {
		in, err := runtime.NewInjector(runtime.Settings{Enabled: true, Default: runtime.Routes{
			WebSocket: &runtime.Route{Proxies: []*runtime.Proxy{healthy.Proxy(runtime.SOCKS5H), benchSwitch(b).Proxy(runtime.SOCKS5H)}}}},
			runtime.WithLogger(quietLogger))
		if err != nil {
			b.Fatal(err)
		}
		benchDial(b, in.WebSocketDialContext("binance"), target)
	})
}
