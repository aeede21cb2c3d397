package runtime

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
)

// resetGlobal clears the global injector and fallback now and after the test.
func resetGlobal(t *testing.T) {
	t.Helper()
	clear := func() { Install(nil); _ = SetFallback(nil); registered.Store(nil) }
	clear()
	t.Cleanup(clear)
}

// inner returns the client a late-bound client sends its next request
// through.
func inner(c *http.Client) *http.Client {
	l := c.Transport.(*lateTransport)
	return l.current().client(l.ws)
}

func TestGlobalNothingInstalled(t *testing.T) {
	resetGlobal(t)
	if Installed() != nil {
		t.Fatal("Installed() != nil")
	}
	if p := ProxyFor("binance", TransportHTTP); p != nil {
		t.Errorf("ProxyFor = %v, want direct", p)
	}
	c := HTTPClient("binance")
	if c == nil || c != HTTPClient("BINANCE") || inner(c).Transport.(*http.Transport).Proxy != nil {
		t.Error("direct client not reused or consults HTTP_PROXY")
	}
	if inner(c) == inner(HTTPClient("kraken")) {
		t.Error("two ids share a direct client (its errors would name neither)")
	}
	if inner(WebSocketHTTPClient("x")) == inner(c) {
		t.Error("WebSocket client is the REST client")
	}
}

func TestGlobalFallback(t *testing.T) {
	resetGlobal(t)
	proxy := newConnectProxy(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok") }))
	defer srv.Close()
	legacyPx := &Proxy{Scheme: HTTP, Host: "127.0.0.1", Port: proxy.port}
	if err := SetFallback(legacyPx); err != nil {
		t.Fatal(err)
	}
	if legacyProxy() == legacyPx || routeStr(legacyProxy()) != routeStr(legacyPx) {
		t.Error("SetFallback did not copy the proxy")
	}

	// Nothing installed: the legacy proxy for everything.
	if got := routeStr(ProxyFor("binance", TransportWebSocket)); got != routeStr(legacyPx) {
		t.Errorf("ProxyFor = %s, want the legacy proxy", got)
	}
	get(t, HTTPClient("binance"), srv.URL)
	get(t, HTTPClient("binance"), srv.URL)
	if n := proxy.connects.Load(); n != 1 {
		t.Errorf("legacy route: %d CONNECTs for 2 requests, want 1 (reused connection)", n)
	}

	// Installed: injector route -> legacy proxy -> none (requirement R2.3, docs/TRACEABILITY.md).
	s := Settings{Enabled: true, Default: Routes{WebSocket: &Route{Proxies: []*Proxy{px(SOCKS5H, "def", 1)}}},
		Exchanges: map[string]Routes{"kraken": {HTTP: &Route{Direct: true}}}}
	if err := InstallSettings(s); err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		id   string
		t    Transport
		want string
	}{
		{"binance", TransportWebSocket, "socks5h://def:1"}, // injector route
		{"binance", TransportHTTP, routeStr(legacyPx)},     // no route: legacy
		{"kraken", TransportHTTP, "direct"},                // explicit direct stays direct
	}
	for _, c := range checks {
		if got := routeStr(ProxyFor(c.id, c.t)); got != c.want {
			t.Errorf("ProxyFor(%s, %s) = %s, want %s", c.id, c.t, got, c.want)
		}
	}
	if inner(HTTPClient("kraken")) != Installed().HTTPClient("kraken") {
		t.Error("HTTPClient(kraken) is not the injector's client")
	}
	if inner(HTTPClient("binance")) == Installed().HTTPClient("binance") {
		t.Error("HTTPClient(binance) should be the legacy client")
	}

	// The injector's own fallback wins over the global one.
	if err := InstallSettings(s, WithFallback(px(SOCKS5, "own", 9))); err != nil {
		t.Fatal(err)
	}
	if got := routeStr(ProxyFor("binance", TransportHTTP)); got != "socks5://own:9" {
		t.Errorf("ProxyFor = %s, want the injector's fallback", got)
	}

	// Disabled: the legacy proxy applies (nothing configured).
	s.Enabled = false
	if err := InstallSettings(s); err != nil {
		t.Fatal(err)
	}
	if got := routeStr(ProxyFor("kraken", TransportHTTP)); got != routeStr(legacyPx) {
		t.Errorf("disabled: %s, want the legacy proxy", got)
	}

	if err := SetFallback(nil); err != nil || legacyProxy() != nil {
		t.Error("SetFallback(nil) did not clear")
	}
	if p := ProxyFor("kraken", TransportHTTP); p != nil {
		t.Errorf("after clearing: %v", p)
	}
	if err := SetFallback(&Proxy{Scheme: HTTP, Port: 1, Password: NewSecret(canary)}); err == nil || strings.Contains(err.Error(), canary) {
		t.Errorf("invalid fallback: %v", err)
	}
}

func TestGlobalInstall(t *testing.T) {
	resetGlobal(t)
	s := Settings{Enabled: true, Default: Routes{HTTP: &Route{Proxies: []*Proxy{px(SOCKS5H, "def", 1)}}},
		Exchanges: map[string]Routes{"binance": {HTTP: &Route{Proxies: []*Proxy{px(HTTP, "b", 2)}}}}}
	if err := InstallSettings(s); err != nil {
		t.Fatal(err)
	}
	in := Installed()
	if in == nil {
		t.Fatal("not installed")
	}
	if got := routeStr(ProxyFor("BINANCE", TransportHTTP)); got != "http://b:2" {
		t.Errorf("ProxyFor(BINANCE) = %s", got)
	}
	if got := routeStr(ProxyFor("unknown", TransportHTTP)); got != "socks5h://def:1" {
		t.Errorf("ProxyFor(unknown) = %s", got)
	}
	if inner(HTTPClient("Binance")) != in.HTTPClient("binance") || inner(WebSocketHTTPClient("binance")) != in.WebSocketHTTPClient("binance") {
		t.Error("package-level clients are not the injector's")
	}
	if err := InstallSettings(Settings{Default: Routes{HTTP: &Route{}}}); err == nil {
		t.Error("invalid settings installed")
	}
	if Installed() != in {
		t.Error("a failed InstallSettings replaced the injector")
	}
	Install(nil)
	if ProxyFor("binance", TransportHTTP) != nil || Installed() != nil {
		t.Error("Install(nil) did not restore direct")
	}
	Install(in)
	if Installed() != in {
		t.Error("Install")
	}
	Install(nil)
	if Installed() != nil {
		t.Error("Install(nil) did not uninstall")
	}
}

func TestGlobalDialContext(t *testing.T) {
	resetGlobal(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")
	proxy := newConnectProxy(t)
	s := Settings{Enabled: true, Exchanges: map[string]Routes{"binance": {WebSocket: &Route{Proxies: []*Proxy{{Scheme: HTTP, Host: "127.0.0.1", Port: proxy.port}}}}}}
	if err := InstallSettings(s); err != nil {
		t.Fatal(err)
	}
	for _, dial := range []func() error{
		func() error {
			c, err := DialContext(context.Background(), "Binance", TransportWebSocket, "tcp", addr)
			if err == nil {
				c.Close()
			}
			return err
		},
		func() error {
			c, err := WebSocketDialContext("binance")(context.Background(), "tcp", addr)
			if err == nil {
				c.Close()
			}
			return err
		},
	} {
		if err := dial(); err != nil {
			t.Fatal(err)
		}
	}
	if n := proxy.connects.Load(); n != 2 {
		t.Errorf("%d CONNECTs, want 2", n)
	}
	c, err := DialContext(context.Background(), "binance", TransportHTTP, "tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	if n := proxy.connects.Load(); n != 2 {
		t.Error("direct route went through the proxy")
	}
}

func TestInit(t *testing.T) {
	resetGlobal(t)
	base := Settings{Enabled: true, Default: Routes{HTTP: &Route{Proxies: []*Proxy{{Scheme: HTTP, Host: "h", Port: 1, UserVar: "PXG_TEST_USER"}}}}}

	t.Setenv("PXG_TEST_USER", "alice")
	t.Setenv("CRYPTOFEED_PROXY_DEFAULT__WEBSOCKET__URL", "socks5://${PXG_TEST_USER}:${PXG_TEST_PASS}@s:2")
	t.Setenv("PXG_TEST_PASS", canary)
	in, err := Init(base)
	if err != nil {
		t.Fatal(err)
	}
	if Installed() != in {
		t.Error("Init did not install")
	}
	if p := ProxyFor("x", TransportHTTP); p.User != "alice" {
		t.Error("compiled-in ${VAR} not resolved")
	}
	if p := ProxyFor("x", TransportWebSocket); p == nil || p.User != "alice" || p.Password.Reveal() != canary {
		t.Errorf("env route not applied and resolved: %v", p)
	}
	// Safe to call twice.
	if _, err := Init(base); err != nil {
		t.Fatal(err)
	}

	// Locked: env ignored.
	locked := base
	locked.Lock = true
	t.Setenv("CRYPTOFEED_PROXY_BOGUS", "1")
	if _, err := Init(locked); err != nil {
		t.Fatalf("locked Init: %v", err)
	}
	if p := ProxyFor("x", TransportWebSocket); p != nil {
		t.Errorf("locked Init applied env: %v", p)
	}

	// Unknown variable / missing secret: error, installed injector kept.
	prev := Installed()
	if _, err := Init(base); err == nil || !strings.Contains(err.Error(), "CRYPTOFEED_PROXY_BOGUS: unknown variable") {
		t.Errorf("Init with unknown variable: %v", err)
	}
	if err := unsetenv(t, "CRYPTOFEED_PROXY_BOGUS"); err != nil {
		t.Fatal(err)
	}
	if err := unsetenv(t, "PXG_TEST_PASS"); err != nil {
		t.Fatal(err)
	}
	_, err = Init(base)
	if err == nil || !strings.Contains(err.Error(), "default.websocket.url: proxy credential variable PXG_TEST_PASS is not set") {
		t.Errorf("Init with missing secret: %v", err)
	}
	if Installed() != prev {
		t.Error("failed Init replaced the injector")
	}
}

// TestGlobalConcurrent runs readers against Install/SetFallback churn; run
// with -race.
func TestGlobalConcurrent(t *testing.T) {
	resetGlobal(t)
	in, err := NewInjector(Settings{Enabled: true, Default: Routes{HTTP: &Route{Proxies: []*Proxy{px(SOCKS5H, "def", 1)}}}})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				_ = ProxyFor("binance", TransportHTTP)
				_ = HTTPClient("binance")
				_ = WebSocketHTTPClient("kraken")
				_ = WebSocketDialContext("okx")
			}
		}()
	}
	for i := range 200 {
		if i%2 == 0 {
			Install(in)
			_ = SetFallback(px(HTTP, "legacy", 8080))
		} else {
			Install(nil)
			_ = SetFallback(nil)
		}
	}
	close(stop)
	wg.Wait()
}

// unsetenv removes a variable for the rest of the test (t.Setenv restores
// it afterwards).
func unsetenv(t *testing.T, k string) error {
	t.Helper()
	t.Setenv(k, "")
	return os.Unsetenv(k)
}
