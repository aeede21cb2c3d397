package runtime_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/proxygen-go/proxygen/runtime"
	"github.com/proxygen-go/proxygen/runtime/internal/leakcheck"
	"github.com/proxygen-go/proxygen/runtime/proxytest"
)

// poolSettings routes every exchange's HTTP and WebSocket traffic through
// the pool route r.
func poolSettings(r *runtime.Route) runtime.Settings {
	return runtime.Settings{Enabled: true, Default: runtime.Routes{HTTP: r, WebSocket: r}}
}

func newInjector(t *testing.T, s runtime.Settings, opts ...runtime.Option) *runtime.Injector {
	t.Helper()
	in, err := runtime.NewInjector(s, append([]runtime.Option{runtime.WithLogger(quietLogger)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = in.Close() })
	return in
}

// countingListener is a TCP target that counts the connections it
// accepts (and closes them).
func countingListener(t *testing.T) (addr string, accepted *atomic.Int32) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	accepted = new(atomic.Int32)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			c.Close()
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return ln.Addr().String(), accepted
}

// TestInjectorPoolFailoverREST: an injector's REST client over a pool whose
// first member refuses connections reaches the target through the second;
// the keep-alive connection is reused (only new connections pick a member).
func TestInjectorPoolFailoverREST(t *testing.T) {
	sws, ps := switches(t, 2)
	sws[0].Set(proxytest.Refuse)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	var conns atomic.Int32
	srv.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	in := newInjector(t, poolSettings(&runtime.Route{Proxies: ps}))
	c := in.HTTPClient("binance")
	for range 3 {
		resp, err := c.Get(srv.URL)
		if err != nil {
			t.Fatalf("GET: %v", err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(body) != "ok" {
			t.Fatalf("body %q", body)
		}
	}
	if got := tunnels(sws); got[0] != 0 || got[1] != 1 {
		t.Fatalf("tunnels %v, want [0 1] (one kept-alive tunnel through the second member)", got)
	}
	if n := conns.Load(); n != 1 {
		t.Fatalf("target saw %d connections, want 1", n)
	}
}

// TestInjectorPoolFailoverWebSocket: the WebSocket dial function of a pool
// route fails over from a refusing first member to the second.
func TestInjectorPoolFailoverWebSocket(t *testing.T) {
	echo := newEcho(t, "127.0.0.1:0")
	sws, ps := switches(t, 2)
	sws[0].Set(proxytest.Refuse)
	in := newInjector(t, poolSettings(&runtime.Route{Proxies: ps}))
	for _, dial := range []func(context.Context, string, string) (net.Conn, error){
		in.WebSocketDialContext("binance"),
		func(ctx context.Context, network, addr string) (net.Conn, error) {
			return in.DialContext(ctx, "kraken", runtime.TransportWebSocket, network, addr)
		},
	} {
		c, err := dial(context.Background(), "tcp", "127.0.0.1:"+echo.port())
		if err != nil {
			t.Fatalf("dial: %v", err)
		}
		roundTrip(t, c, "ping")
		c.Close()
	}
	if got := tunnels(sws); got[0] != 0 || got[1] != 2 {
		t.Fatalf("tunnels %v, want [0 2]", got)
	}
}

// TestInjectorPoolSharedHealth: two routes listing the same proxy share its
// health: once one route's dial ejects it, the other route's dials skip it.
func TestInjectorPoolSharedHealth(t *testing.T) {
	echo := newEcho(t, "127.0.0.1:0")
	target := "127.0.0.1:" + echo.port()
	sws, ps := switches(t, 3)
	sws[0].Set(proxytest.Reset) // accepts (counted), then resets
	eject := runtime.EjectPolicy{AfterFailures: 1, Duration: time.Hour, MaxDuration: time.Hour}
	s := runtime.Settings{Enabled: true, Exchanges: map[string]runtime.Routes{
		"binance": {WebSocket: &runtime.Route{Proxies: []*runtime.Proxy{ps[0], ps[1]}, Eject: eject}},
		"kraken":  {WebSocket: &runtime.Route{Proxies: []*runtime.Proxy{ps[0], ps[2]}, Eject: eject}},
	}}
	in := newInjector(t, s)
	c, err := in.DialContext(context.Background(), "binance", runtime.TransportWebSocket, "tcp", target)
	if err != nil {
		t.Fatalf("binance: %v", err)
	}
	c.Close()
	if n := sws[0].AcceptedTotal(); n != 1 {
		t.Fatalf("first member saw %d connections, want 1", n)
	}
	c, err = in.DialContext(context.Background(), "kraken", runtime.TransportWebSocket, "tcp", target)
	if err != nil {
		t.Fatalf("kraken: %v", err)
	}
	roundTrip(t, c, "ping")
	c.Close()
	if n := sws[0].AcceptedTotal(); n != 1 {
		t.Fatalf("kraken's route dialled the member binance's route ejected (%d connections)", n)
	}
	if got := tunnels(sws); got[1] != 1 || got[2] != 1 {
		t.Fatalf("tunnels %v, want one through each healthy member", got)
	}
}

// TestInjectorPoolNoReplay: a request whose connection dies mid-response is
// not sent again, by the pool or the client: the target sees it once.
func TestInjectorPoolNoReplay(t *testing.T) {
	var requests atomic.Int32
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				req, err := http.ReadRequest(bufio.NewReader(c))
				if err != nil {
					return
				}
				io.Copy(io.Discard, req.Body)
				requests.Add(1)
				io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Le") // and the connection dies
			}()
		}
	}()
	sws, ps := switches(t, 2)
	sws[0].Set(proxytest.Refuse)
	in := newInjector(t, poolSettings(&runtime.Route{Proxies: ps}))
	c := in.HTTPClient("binance")
	for _, method := range []string{http.MethodGet, http.MethodPost} {
		requests.Store(0)
		req, _ := http.NewRequest(method, "http://"+ln.Addr().String()+"/order", strings.NewReader("x"))
		resp, err := c.Do(req)
		if err == nil {
			resp.Body.Close()
			t.Fatalf("%s: no error from a response cut short", method)
		}
		time.Sleep(50 * time.Millisecond)
		if n := requests.Load(); n != 1 {
			t.Fatalf("%s: target saw the request %d times, want 1", method, n)
		}
	}
}

// TestInjectorPoolAllDown: with every member down, a dial fails with
// ErrAllProxiesFailed carrying each attempt's *ProxyError, and nothing
// reaches the target (no direct connection), for REST and WebSocket.
func TestInjectorPoolAllDown(t *testing.T) {
	target, accepted := countingListener(t)
	sws, ps := switches(t, 2)
	for _, sw := range sws {
		sw.Set(proxytest.Refuse)
	}
	in := newInjector(t, poolSettings(&runtime.Route{Proxies: ps, Timeout: 2 * time.Second}))
	_, err := in.DialContext(context.Background(), "binance", runtime.TransportWebSocket, "tcp", target)
	if !errors.Is(err, runtime.ErrAllProxiesFailed) {
		t.Fatalf("dial error %v, want ErrAllProxiesFailed", err)
	}
	var pe *runtime.PoolError
	if !errors.As(err, &pe) || len(pe.Attempts) != 2 {
		t.Fatalf("error %v: want a *PoolError with 2 attempts", err)
	}
	var proxyErr *runtime.ProxyError
	if !errors.As(err, &proxyErr) {
		t.Fatalf("error %v: no *ProxyError inside", err)
	}
	_, err = in.HTTPClient("binance").Get("http://" + target + "/")
	if !errors.Is(err, runtime.ErrAllProxiesFailed) {
		t.Fatalf("REST error %v, want ErrAllProxiesFailed", err)
	}
	if n := accepted.Load(); n != 0 {
		t.Fatalf("target saw %d connections with every member down", n)
	}
}

// TestInjectorSingleMemberKeepsProxyError: a route of one member dials
// that member alone and fails with the bare *ProxyError, as before pools.
func TestInjectorSingleMemberKeepsProxyError(t *testing.T) {
	target, accepted := countingListener(t)
	sws, ps := switches(t, 1)
	sws[0].Set(proxytest.Refuse)
	in := newInjector(t, poolSettings(&runtime.Route{Proxies: ps}))
	_, err := in.DialContext(context.Background(), "binance", runtime.TransportWebSocket, "tcp", target)
	if _, ok := err.(*runtime.ProxyError); !ok {
		t.Fatalf("error %T %v, want a bare *ProxyError", err, err)
	}
	if n := accepted.Load(); n != 0 {
		t.Fatalf("target saw %d connections", n)
	}
	// With fail_fast, a pool of one is a real pool (a breaker).
	in = newInjector(t, poolSettings(&runtime.Route{Proxies: ps, WhenAllDown: runtime.FailFast}))
	_, err = in.DialContext(context.Background(), "binance", runtime.TransportWebSocket, "tcp", target)
	if !errors.Is(err, runtime.ErrAllProxiesFailed) {
		t.Fatalf("fail_fast pool of one: %v, want ErrAllProxiesFailed", err)
	}
}

// TestInjectorObserver: WithObserver sees pool dials, single-proxy dials
// and direct dials (Attempts 0), each DialDone with DialStart's context.
func TestInjectorObserver(t *testing.T) {
	echo := newEcho(t, "127.0.0.1:0")
	target := "127.0.0.1:" + echo.port()
	sws, ps := switches(t, 2)
	sws[0].Set(proxytest.Refuse)
	rec := &recorder{}
	s := runtime.Settings{Enabled: true,
		Default: runtime.Routes{WebSocket: &runtime.Route{Proxies: ps}},
		Exchanges: map[string]runtime.Routes{
			"kraken": {WebSocket: &runtime.Route{Proxies: ps[1:]}},
			"okx":    {WebSocket: &runtime.Route{Direct: true}},
		}}
	in := newInjector(t, s, runtime.WithObserver(rec))
	for _, id := range []string{"binance", "kraken", "okx"} {
		c, err := in.DialContext(context.Background(), id, runtime.TransportWebSocket, "tcp", target)
		if err != nil {
			t.Fatalf("%s: %v", id, err)
		}
		c.Close()
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.starts) != 3 || len(rec.dones) != 3 {
		t.Fatalf("%d starts and %d dones, want 3 each", len(rec.starts), len(rec.dones))
	}
	want := []struct {
		id       string
		attempts int
		proxy    string
	}{{"binance", 2, "socks5h://" + sws[1].Addr()}, {"kraken", 1, "socks5h://" + sws[1].Addr()}, {"okx", 0, ""}}
	for i, w := range want {
		d := rec.dones[i]
		if d.Exchange != w.id || d.Attempts != w.attempts || d.Proxy != w.proxy || d.Err != nil || d.Target != target {
			t.Errorf("done %d = %+v, want exchange %s, %d attempts, proxy %q", i, d, w.id, w.attempts, w.proxy)
		}
	}
}

// probeSettings is a pool with an active health check against target.
func probeSettings(ps []*runtime.Proxy, target string) runtime.Settings {
	return poolSettings(&runtime.Route{Proxies: ps,
		HealthCheck: runtime.HealthCheck{Target: target, Interval: 5 * time.Second, Timeout: time.Second}})
}

func probeCount(rec *recorder) int {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return len(rec.probes)
}

func probeGoroutines() int {
	n := 0
	for _, stack := range leakcheck.Leaked() {
		if strings.Contains(stack, "runtime.probeJob") || strings.Contains(stack, "(*Prober)") {
			n++
		}
	}
	return n
}

// TestInjectorProbeLifecycle: NewInjector starts no probe; installing the
// injector starts them (right away); Close stops them and no probe
// goroutine is left; installing another injector stops the replaced one's.
func TestInjectorProbeLifecycle(t *testing.T) {
	t.Cleanup(runtime.Uninstall)
	echo := newEcho(t, "127.0.0.1:0")
	_, ps := switches(t, 2)
	rec := &recorder{}
	in := newInjector(t, probeSettings(ps, "127.0.0.1:"+echo.port()), runtime.WithObserver(rec))
	time.Sleep(100 * time.Millisecond)
	if n := probeCount(rec); n != 0 {
		t.Fatalf("%d probes before the injector was installed", n)
	}
	runtime.Install(in)
	waitFor(t, func() bool { return probeCount(rec) >= 2 }, "a probe of each member after Install")
	if err := in.Close(); err != nil {
		t.Fatal(err)
	}
	if err := in.Close(); err != nil { // idempotent
		t.Fatal(err)
	}
	if n := probeGoroutines(); n != 0 {
		t.Fatalf("%d probe goroutines outlived Close", n)
	}

	// Installing another injector stops the replaced one's probes.
	rec2 := &recorder{}
	in2 := newInjector(t, probeSettings(ps, "127.0.0.1:"+echo.port()), runtime.WithObserver(rec2))
	if err := runtime.InstallSettings(runtime.Settings{Enabled: true}); err != nil {
		t.Fatal(err)
	}
	runtime.Install(in2)
	waitFor(t, func() bool { return probeCount(rec2) >= 2 }, "probes of the second injector")
	runtime.Install(nil)
	if n := probeGoroutines(); n != 0 {
		t.Fatalf("%d probe goroutines outlived the injector's replacement", n)
	}
}

// TestTableShutdown: a generated package's table starts no probe before
// Init (its compiled-in injector included), starts them at Init, and
// Shutdown stops them.
func TestTableShutdown(t *testing.T) {
	t.Cleanup(runtime.Uninstall)
	echo := newEcho(t, "127.0.0.1:0")
	_, ps := switches(t, 2)
	s := probeSettings(ps, "127.0.0.1:"+echo.port())
	s.Lock = true
	tb := runtime.NewTable(func() runtime.Settings { return s }, nil, nil, nil, s.Default.HTTP, s.Default.WebSocket)
	if r := tb.WebSocketRoute(0); len(r.Proxies) != 2 || r.HealthCheck.Target == "" {
		t.Fatalf("compiled route %+v", r)
	}
	_ = tb.Injector() // the compiled-in injector: no probes
	time.Sleep(100 * time.Millisecond)
	if n := probeGoroutines(); n != 0 {
		t.Fatalf("%d probe goroutines before Init", n)
	}
	rec := &recorder{}
	if err := tb.Init(runtime.WithObserver(rec), runtime.WithLogger(quietLogger)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return probeCount(rec) >= 2 }, "probes after Init")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := tb.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if n := probeGoroutines(); n != 0 {
		t.Fatalf("%d probe goroutines outlived Shutdown", n)
	}
	n := probeCount(rec)
	time.Sleep(100 * time.Millisecond)
	if m := probeCount(rec); m != n {
		t.Fatalf("%d probes after Shutdown", m-n)
	}
}

// TestInjectorPoolNoCredentialInErrors: a pool whose members carry a
// canary password fails with an error (and observer events) that never
// contain it.
func TestInjectorPoolNoCredentialInErrors(t *testing.T) {
	const canary = "CANARY-5e2f-pool"
	target, _ := countingListener(t)
	sws, ps := switches(t, 2)
	for i, sw := range sws {
		sw.Set(proxytest.Reset)
		ps[i].User, ps[i].Password = "user"+canary, runtime.NewSecret(canary)
	}
	rec := &recorder{}
	in := newInjector(t, poolSettings(&runtime.Route{Proxies: ps}), runtime.WithObserver(rec))
	_, err := in.DialContext(context.Background(), "binance", runtime.TransportWebSocket, "tcp", target)
	if err == nil {
		t.Fatal("dial through reset members succeeded")
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	for _, s := range []string{err.Error(), fmt.Sprintf("%+v %#v", err, err), fmt.Sprintf("%+v", rec.dones), fmt.Sprintf("%+v", rec.attempts), fmt.Sprintf("%+v", rec.states)} {
		if strings.Contains(s, canary) {
			t.Fatalf("credential in %q", s)
		}
	}
}

// TestInjectorPoolOptimistic: an optimistic pool route sends the handshake
// and the first bytes at once through whichever member it picks, after
// failing over from a refusing one.
func TestInjectorPoolOptimistic(t *testing.T) {
	echo := newEcho(t, "127.0.0.1:0")
	sws, ps := switches(t, 2)
	sws[0].Set(proxytest.Refuse)
	in := newInjector(t, poolSettings(&runtime.Route{Proxies: ps, Optimistic: true}))
	r := in.Route("binance", runtime.TransportWebSocket)
	if !r.Optimistic || !r.Proxies[1].Optimistic {
		t.Fatalf("effective route %+v: members not optimistic", r)
	}
	c, err := in.DialContext(context.Background(), "binance", runtime.TransportWebSocket, "tcp", "127.0.0.1:"+echo.port())
	if err != nil {
		t.Fatal(err)
	}
	roundTrip(t, c, "ping")
	c.Close()
	if got := tunnels(sws); got[1] != 1 {
		t.Fatalf("tunnels %v", got)
	}
}
