package runtime_test

import (
	"context"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/proxygen-go/proxygen/runtime"
	"github.com/proxygen-go/proxygen/runtime/proxytest"
)

// userTunnelObserver is a user observer that watches tunnels.
type userTunnelObserver struct {
	recorder
	open atomic.Int64
}

func (c *userTunnelObserver) TunnelOpen(runtime.Tunnel)  { c.open.Add(1) }
func (c *userTunnelObserver) TunnelClose(runtime.Tunnel) { c.open.Add(-1) }

// statsSettings is a pool of a refused member and a live one (eject after
// one failure) for binance's WebSocket route.
func statsSettings(t *testing.T) (runtime.Settings, *runtime.Proxy, *proxytest.Server) {
	srv := proxytest.NewSOCKS5("u", statsCanary)
	t.Cleanup(srv.Close)
	dead := refusedProxy(t)
	s := runtime.Settings{Enabled: true, Exchanges: map[string]runtime.Routes{
		"binance": {WebSocket: &runtime.Route{
			Proxies: []*runtime.Proxy{dead, srv.Proxy(runtime.SOCKS5)},
			Eject:   runtime.EjectPolicy{AfterFailures: 1, Duration: time.Minute, MaxDuration: time.Hour},
		}},
	}}
	return s, dead, srv
}

// Injector.Stats counts dials, attempts, failovers and member health with
// no observer installed, and hands out the raw connection (no wrapper);
// with a tunnel observer installed it also counts open tunnels.
func TestInjectorStats(t *testing.T) {
	echo := newEcho(t, "127.0.0.1:0")
	for _, c := range []struct {
		name     string
		obs      *userTunnelObserver
		wantOpen int64
	}{{"no observer", nil, 0}, {"tunnel observer", &userTunnelObserver{}, 1}} {
		t.Run(c.name, func(t *testing.T) {
			s, dead, srv := statsSettings(t)
			var opts []runtime.Option
			if c.obs != nil {
				opts = append(opts, runtime.WithObserver(c.obs))
			}
			in, err := runtime.NewInjector(s, opts...)
			if err != nil {
				t.Fatal(err)
			}
			defer in.Close()
			var conns []net.Conn
			for i := range 2 {
				conn, err := in.DialContext(context.Background(), "binance", runtime.TransportWebSocket, "tcp", "127.0.0.1:"+echo.port())
				if err != nil {
					t.Fatalf("dial %d: %v", i, err)
				}
				conns = append(conns, conn)
			}
			_, raw := conns[0].(*net.TCPConn)
			if raw != (c.obs == nil) {
				t.Errorf("tunnel type %T: raw %v, want raw only without an observer", conns[0], raw)
			}
			conns[0].Close()
			defer conns[1].Close()

			st := in.Stats()
			var route *runtime.RouteStats
			for i := range st.Routes {
				if st.Routes[i].Exchange == "binance" && st.Routes[i].Transport == runtime.TransportWebSocket {
					route = &st.Routes[i]
				}
			}
			if route == nil {
				t.Fatalf("no binance websocket route in %+v", st.Routes)
			}
			if route.DialsOK != 2 || route.Attempts != 3 || route.Failovers != 1 || route.Failures[runtime.StageConnect] != 1 || route.Tunnels != c.wantOpen {
				t.Errorf("route stats %+v, want 2 ok, 3 attempts, 1 failover, connect=1, %d open", *route, c.wantOpen)
			}
			states := map[string]runtime.Health{}
			for _, m := range st.Members {
				states[m.Proxy] = m.State
			}
			if states["socks5://"+dead.Addr()] != runtime.Ejected || states["socks5://"+srv.Addr()] != runtime.Up {
				t.Errorf("member states %v", states)
			}
			if c.obs != nil && c.obs.open.Load() != 1 {
				t.Errorf("user observer sees %d open tunnels, want 1", c.obs.open.Load())
			}
			var b strings.Builder
			if err := st.WriteTable(&b); err != nil {
				t.Fatal(err)
			}
			if strings.Contains(b.String(), statsCanary) || !strings.Contains(b.String(), "ejected") {
				t.Errorf("table:\n%s", b.String())
			}
		})
	}
}

// A proxy outside every pool (a route of one member) gets its moving
// handshake time in Stats from its dials.
func TestInjectorStatsSingleMemberHandshake(t *testing.T) {
	echo := newEcho(t, "127.0.0.1:0")
	srv := proxytest.NewSOCKS5("", "")
	t.Cleanup(srv.Close)
	in, err := runtime.NewInjector(runtime.Settings{Enabled: true,
		Default: runtime.Routes{HTTP: &runtime.Route{Proxies: []*runtime.Proxy{srv.Proxy(runtime.SOCKS5)}}}})
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	c, err := in.DialContext(context.Background(), "okx", runtime.TransportHTTP, "tcp", "127.0.0.1:"+echo.port())
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	st := in.Stats()
	if len(st.Members) != 1 || st.Members[0].Handshake <= 0 || st.Members[0].DialsOK != 1 {
		t.Errorf("members %+v, want one with a handshake time and 1 dial", st.Members)
	}
}
