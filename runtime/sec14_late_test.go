package runtime_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/proxygen-go/proxygen/runtime"
	"github.com/proxygen-go/proxygen/runtime/proxytest"
)

// lateFixture is a generated-like table registered with the runtime whose
// spec routes binance through a proxytest SOCKS5 proxy with ${VAR}
// credentials, and a target counting the requests it gets.
type lateFixture struct {
	srv    *proxytest.Server
	target *httptest.Server
	hits   atomic.Int64
	closed atomic.Int64 // target connections closed
	table  *runtime.Table
}

const (
	lateUserVar = "SEC14_CRED_USER"
	latePassVar = "SEC14_CRED_PASS"
	latePrefix  = "SEC14_LATE_"
	lateCanary  = "CANARY-sec14-pass"
)

func newLateFixture(t *testing.T) *lateFixture {
	f := &lateFixture{}
	f.srv = newServer(t, proxytest.Config{Kind: proxytest.SOCKS5, User: "feeder", Password: lateCanary})
	f.target = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.hits.Add(1)
		_, _ = io.WriteString(w, "ok")
	}))
	f.target.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateClosed {
			f.closed.Add(1)
		}
	}
	f.target.Start()
	t.Cleanup(f.target.Close)
	p := f.srv.Proxy(runtime.SOCKS5H)
	p.User, p.Password, p.UserVar, p.PasswordVar = "", runtime.Secret{}, lateUserVar, latePassVar
	r := &runtime.Route{Proxies: []*runtime.Proxy{p}}
	settings := func() runtime.Settings {
		return runtime.Settings{Enabled: true, EnvPrefix: latePrefix, Exchanges: map[string]runtime.Routes{
			"binance": {HTTP: r, WebSocket: r},
		}}
	}
	runtime.UnregisterTableForTest()
	runtime.Uninstall()
	t.Cleanup(func() { runtime.UnregisterTableForTest(); runtime.Uninstall() })
	f.table = runtime.RegisterTable(runtime.NewTable(settings, []string{"binance"}, []*runtime.Route{r}, []*runtime.Route{r}, nil, nil))
	return f
}

func (f *lateFixture) get(c *http.Client) error {
	resp, err := c.Get(f.target.URL)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, err = io.ReadAll(resp.Body)
	return err
}

// notDirect checks a dial before (or after a failed) Init fails naming the
// variable, and that nothing reached the target directly.
func (f *lateFixture) notDirect(t *testing.T, what string, err error) {
	t.Helper()
	if err == nil || !strings.Contains(err.Error(), lateUserVar) {
		t.Errorf("%s: %v, want an error naming %s", what, err, lateUserVar)
	}
	if n := f.hits.Load(); n != 0 {
		t.Fatalf("%s: the target got %d direct requests", what, n)
	}
}

// Issue 9 item 14: the by-id API knows the compiled routes before Init,
// a failed Init leaves them in force, and a client or dial function taken
// before Init follows Init (routed through the proxy).
func TestSec14_ByIDClientBeforeInitRoutedAfterInit(t *testing.T) {
	f := newLateFixture(t)
	ctx := context.Background()
	byID := runtime.HTTPClient("binance")
	byIDWS := runtime.WebSocketDialContext("Binance")
	gen := f.table.HTTPClient(0)
	genWS := f.table.WebSocketDialContext(0)
	addr := f.target.Listener.Addr().String()

	// Before Init: compiled routes with unresolved ${VAR}s, never direct.
	f.notDirect(t, "by-id client before Init", f.get(byID))
	f.notDirect(t, "generated client before Init", f.get(gen))
	_, err := byIDWS(ctx, "tcp", addr)
	f.notDirect(t, "by-id ws dial before Init", err)
	_, err = runtime.DialContext(ctx, "binance", runtime.TransportHTTP, "tcp", addr)
	f.notDirect(t, "DialContext before Init", err)

	// A failed Init (variable missing, then invalid env): still not direct.
	t.Setenv(lateUserVar, "feeder")
	if err := f.table.Init(); err == nil || !strings.Contains(err.Error(), latePassVar) {
		t.Fatalf("Init without %s: %v", latePassVar, err)
	}
	f.notDirect(t, "by-id client after a failed Init", f.get(byID))
	f.notDirect(t, "generated client after a failed Init", f.get(gen))
	t.Setenv(latePassVar, lateCanary)
	t.Setenv(latePrefix+"ENABLED", "maybe")
	if err := f.table.Init(); err == nil {
		t.Fatal("Init accepted an invalid ENABLED")
	}
	f.notDirect(t, "by-id client after an invalid env", f.get(byID))
	_, err = genWS(ctx, "tcp", addr)
	f.notDirect(t, "generated ws dial after an invalid env", err)

	// A successful Init: the same clients now tunnel through the proxy.
	t.Setenv(latePrefix+"ENABLED", "true")
	if err := f.table.Init(); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*http.Client{byID, gen} {
		if err := f.get(c); err != nil {
			t.Fatalf("after Init: %v", err)
		}
	}
	for _, dial := range []func(context.Context, string, string) (net.Conn, error){byIDWS, genWS} {
		c, err := dial(ctx, "tcp", addr)
		if err != nil {
			t.Fatalf("ws dial after Init: %v", err)
		}
		c.Close()
	}
	// The by-id and the generated REST client share the route's pool: one
	// tunnel for both requests, plus one per WebSocket dial.
	if n := f.srv.Tunnels(); n != 3 {
		t.Errorf("after Init: %d tunnels through the proxy, want 3", n)
	}
	if r := f.srv.Last(); r.User != "feeder" || r.Password != lateCanary {
		t.Errorf("proxy saw credentials %q", r.User)
	}
	if f.hits.Load() != 2 {
		t.Errorf("target got %d requests, want 2", f.hits.Load())
	}
}

// Item 14: a generated client taken before Init honours the operator's kill
// switch set at Init (and a later Init that turns it back on).
func TestSec14_PreInitClientHonoursKillSwitch(t *testing.T) {
	f := newLateFixture(t)
	gen := f.table.HTTPClient(0)
	byID := runtime.HTTPClient("binance")
	t.Setenv(lateUserVar, "feeder")
	t.Setenv(latePassVar, lateCanary)
	t.Setenv(latePrefix+"ENABLED", "false")
	if err := f.table.Init(); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*http.Client{gen, byID} {
		if err := f.get(c); err != nil {
			t.Fatalf("kill switch: %v", err)
		}
	}
	if f.srv.Tunnels() != 0 || f.hits.Load() != 2 {
		t.Errorf("kill switch: %d tunnels, %d direct requests; want 0 and 2", f.srv.Tunnels(), f.hits.Load())
	}
	t.Setenv(latePrefix+"ENABLED", "true")
	if err := f.table.Init(); err != nil {
		t.Fatal(err)
	}
	if err := f.get(gen); err != nil || f.srv.Tunnels() != 1 {
		t.Errorf("re-enabled: %v, %d tunnels", err, f.srv.Tunnels())
	}
}

// Item 14: after Init switches the routes (here the kill switch), the idle
// tunnels of the old routes are closed, not left pooled.
func TestSec14_InitClosesOldIdleTunnels(t *testing.T) {
	f := newLateFixture(t)
	t.Setenv(lateUserVar, "feeder")
	t.Setenv(latePassVar, lateCanary)
	if err := f.table.Init(); err != nil {
		t.Fatal(err)
	}
	gen := f.table.HTTPClient(0)
	if err := f.get(gen); err != nil || f.srv.Tunnels() != 1 {
		t.Fatalf("through the proxy: %v, %d tunnels", err, f.srv.Tunnels())
	}
	t.Setenv(latePrefix+"ENABLED", "false")
	if err := f.table.Init(); err != nil {
		t.Fatal(err)
	}
	if err := f.get(gen); err != nil {
		t.Fatal(err)
	}
	// The target sees the pooled tunnel's connection close.
	deadline := time.Now().Add(2 * time.Second)
	for f.closed.Load() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the old route's idle tunnel is still open")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// The by-id and generated client lookups stay allocation-free once the
// client exists.
func TestSec14_ClientLookupAllocs(t *testing.T) {
	f := newLateFixture(t)
	runtime.HTTPClient("binance")
	f.table.HTTPClient(0)
	f.table.WebSocketHTTPClient(0)
	if n := testing.AllocsPerRun(100, func() { runtime.HTTPClient("binance") }); n != 0 {
		t.Errorf("runtime.HTTPClient(id): %v allocations", n)
	}
	if n := testing.AllocsPerRun(100, func() { f.table.HTTPClient(0); f.table.WebSocketHTTPClient(0) }); n != 0 {
		t.Errorf("Table.HTTPClient(i): %v allocations", n)
	}
}
