package bench

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/proxygen-go/proxygen/internal/testenv/target"
	"github.com/proxygen-go/proxygen/runtime"
	"github.com/proxygen-go/proxygen/runtime/proxytest"
)

// poolRoute builds an injector whose default WebSocket route is r and
// returns its WebSocket dial function (the product path: Settings, then
// NewInjector, then WebSocketDialContext, which dials through a
// runtime.Pool for a pool and through a plain Dialer for one member).
func poolRoute(tb testing.TB, r runtime.Route) dialFunc {
	tb.Helper()
	if r.Timeout == 0 {
		r.Timeout = setupTimeout
	}
	in, err := runtime.NewInjector(runtime.Settings{Enabled: true, Lock: true, Default: runtime.Routes{WebSocket: &r}},
		runtime.WithLogger(discard))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = in.Close() })
	return in.WebSocketDialContext("bench")
}

// member is a pool member as Settings want it: no Timeout or Optimistic
// of its own (those are the route's).
func member(tb testing.TB, scheme runtime.Scheme, addr, u, p string) *runtime.Proxy {
	return &runtime.Proxy{Scheme: scheme, Host: "127.0.0.1", Port: port(tb, addr), User: u, Password: runtime.NewSecret(p)}
}

// authSOCKS5 starts an in-process SOCKS5 proxy with authentication and
// returns its address seen through a relay adding oneWay each way.
func authSOCKS5(b *testing.B) string {
	s := proxytest.NewSOCKS5(user, pass)
	b.Cleanup(s.Close)
	return target.Relay(b, s.Addr(), oneWay).Addr
}

// timedDial records how long each dial (the tunnel alone, before TLS and
// the upgrade) takes.
type timedDial struct {
	dial dialFunc
	mu   sync.Mutex
	last time.Duration
}

func (t *timedDial) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	start := time.Now()
	c, err := t.dial(ctx, network, addr)
	t.mu.Lock()
	t.last = time.Since(start)
	t.mu.Unlock()
	return c, err
}

// runPoolConnect times dial-to-first-echo per iteration like runConnect and
// also reports the median of the dials alone (dial-ms). extra, when set,
// runs before each iteration, untimed.
func runPoolConnect(b *testing.B, dial dialFunc, tlsCfgWSS func() (*websocket.Dialer, string), extra func()) {
	td := &timedDial{dial: dial}
	d, wss := tlsCfgWSS()
	d.NetDialContext = td.DialContext
	lat := make([]time.Duration, 0, b.N)
	dials := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if extra != nil {
			b.StopTimer()
			extra()
			b.StartTimer()
		}
		ctx, cancel := ctxTimeout()
		start := time.Now()
		c, err := gorillaEcho(ctx, d, wss)
		el := time.Since(start)
		cancel()
		if err != nil {
			b.Fatal(err)
		}
		lat = append(lat, el)
		td.mu.Lock()
		dials = append(dials, td.last)
		td.mu.Unlock()
		c.Close()
	}
	b.StopTimer()
	med := median(lat)
	b.ReportMetric(float64(med)/1e6, "p50-ms")
	b.ReportMetric(float64(med)/float64(rtt), "RTTs")
	b.ReportMetric(float64(median(dials))/1e6, "dial-ms")
}

// BenchmarkPoolConnect: what a pool route costs and saves, as time from
// dial to the first WebSocket echo over wss (and the dial alone, dial-ms),
// every healthy proxy (in-process SOCKS5 with authentication) behind its
// own relay adding 10 ms each way (20 ms RTT). Routes, all through
// NewInjector's WebSocketDialContext:
//
//   - single: one proxy (a plain Dialer);
//   - pool-healthy: four healthy members, failover (the first carries every
//     tunnel, so the difference with single is the pool's own cost);
//   - first-refusing: a member whose port refuses connections (on
//     loopback, no relay), then the healthy one; never ejected
//     (after_failures 100); dead-rtt-ms is a refused TCP connect to it;
//   - first-ejected: the same, with the refusing member ejected by one
//     failure before the timer (eject for an hour: dials skip it);
//   - first-blackholed-hedge200: a member that accepts and never answers,
//     then the healthy one, hedge_after_ms 200;
//   - first-blackholed-nohedge: the same without hedging:
//     attempt_timeout_seconds 1 bounds the blackholed attempt.
func BenchmarkPoolConnect(b *testing.B) {
	c := testCA(b)
	tgt := target.Start(b, c)
	wss := tgt.URL("wss", "127.0.0.1", "/ws")
	mk := func() (*websocket.Dialer, string) {
		return &websocket.Dialer{TLSClientConfig: c.ClientConfig("")}, wss
	}
	healthy := member(b, runtime.SOCKS5, authSOCKS5(b), user, pass)
	var others []*runtime.Proxy
	for range 3 {
		others = append(others, member(b, runtime.SOCKS5, authSOCKS5(b), user, pass))
	}
	dead := proxytest.NewSwitch(proxytest.Config{Kind: proxytest.SOCKS5, User: user, Password: pass})
	b.Cleanup(dead.Close)
	dead.Set(proxytest.Refuse)
	deadMember := member(b, runtime.SOCKS5, dead.Addr(), user, pass)
	hole := proxytest.NewSwitch(proxytest.Config{Kind: proxytest.SOCKS5, User: user, Password: pass})
	b.Cleanup(hole.Close)
	hole.Set(proxytest.Blackhole)
	holeMember := member(b, runtime.SOCKS5, hole.Addr(), user, pass)
	never := runtime.EjectPolicy{AfterFailures: 100, Duration: time.Second, MaxDuration: time.Second}

	b.Run("route=single", func(b *testing.B) {
		runPoolConnect(b, poolRoute(b, runtime.Route{Proxies: []*runtime.Proxy{healthy}}), mk, nil)
	})
	b.Run("route=pool-healthy", func(b *testing.B) {
		runPoolConnect(b, poolRoute(b, runtime.Route{Proxies: append([]*runtime.Proxy{healthy}, others...)}), mk, nil)
	})
	b.Run("route=first-refusing", func(b *testing.B) {
		dial := poolRoute(b, runtime.Route{Proxies: []*runtime.Proxy{deadMember, healthy}, Eject: never})
		var refused []time.Duration
		runPoolConnect(b, dial, mk, func() {
			start := time.Now()
			c, err := net.DialTimeout("tcp", dead.Addr(), time.Second)
			if err == nil {
				c.Close()
				b.Fatal("the refusing member accepted a connection")
			}
			refused = append(refused, time.Since(start))
		})
		b.ReportMetric(float64(median(refused))/1e6, "dead-rtt-ms")
	})
	b.Run("route=first-ejected", func(b *testing.B) {
		dial := poolRoute(b, runtime.Route{Proxies: []*runtime.Proxy{deadMember, healthy},
			Eject: runtime.EjectPolicy{AfterFailures: 1, Duration: time.Hour, MaxDuration: time.Hour}})
		ctx, cancel := ctxTimeout()
		conn, err := dial(ctx, "tcp", tgt.HTTPSAddr) // ejects the refusing member
		cancel()
		if err != nil {
			b.Fatal(err)
		}
		conn.Close()
		runPoolConnect(b, dial, mk, nil)
	})
	b.Run("route=first-blackholed-hedge200", func(b *testing.B) {
		dial := poolRoute(b, runtime.Route{Proxies: []*runtime.Proxy{holeMember, healthy},
			AttemptTimeout: 10 * time.Second, HedgeAfter: 200 * time.Millisecond, Eject: never})
		runPoolConnect(b, dial, mk, nil)
	})
	b.Run("route=first-blackholed-nohedge", func(b *testing.B) {
		dial := poolRoute(b, runtime.Route{Proxies: []*runtime.Proxy{holeMember, healthy},
			AttemptTimeout: time.Second, Eject: never})
		runPoolConnect(b, dial, mk, nil)
	})
}

// poolThroughputDial is the throughput path "proxytest-pool-std": a pool
// of four healthy in-process SOCKS5 proxies (authentication, failover)
// through NewInjector, against the single-proxy path
// "proxytest-proxygen-std".
func poolThroughputDial(b *testing.B, _ string) dialFunc {
	var ms []*runtime.Proxy
	for range 4 {
		s := proxytest.NewSOCKS5(user, pass)
		b.Cleanup(s.Close)
		ms = append(ms, member(b, runtime.SOCKS5, s.Addr(), user, pass))
	}
	return poolRoute(b, runtime.Route{Proxies: ms})
}

// TestPoolTunnelIsPlainConn: a pool route hands back the member's tunnel
// itself, the plain *net.TCPConn a single-proxy route gives, so a pool
// adds nothing per byte (the throughput goal's "costs nothing").
func TestPoolTunnelIsPlainConn(t *testing.T) {
	sink := target.Echo(t)
	var ms []*runtime.Proxy
	for range 4 {
		s := proxytest.NewSOCKS5(user, pass)
		t.Cleanup(s.Close)
		ms = append(ms, member(t, runtime.SOCKS5, s.Addr(), user, pass))
	}
	for name, dial := range map[string]dialFunc{
		"single": poolRoute(t, runtime.Route{Proxies: ms[:1]}),
		"pool":   poolRoute(t, runtime.Route{Proxies: ms}),
	} {
		ctx, cancel := ctxTimeout()
		c, err := dial(ctx, "tcp", sink)
		cancel()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if _, ok := c.(*net.TCPConn); !ok {
			t.Errorf("%s route's tunnel is a %T, want *net.TCPConn", name, c)
		}
		c.Close()
	}
}
