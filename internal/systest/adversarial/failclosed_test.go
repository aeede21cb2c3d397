// Fail-closed: a route that cannot be used is an error and never a silent
// direct connection. See doc.go.

package adversarial_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	coder "github.com/coder/websocket"
	"github.com/gorilla/websocket"

	"github.com/proxygen-go/proxygen/internal/testenv"
	"github.com/proxygen-go/proxygen/internal/testenv/target"
	"github.com/proxygen-go/proxygen/runtime"
	"github.com/proxygen-go/proxygen/runtime/proxytest"
)

const (
	exchange = "binance"
	timeout  = 2 * time.Second
	slack    = 1500 * time.Millisecond
)

var quiet = runtime.WithLogger(slog.New(slog.DiscardHandler))

// settings routes both transports of every exchange through p; p's
// Timeout and Optimistic become the routes' (a member has none of its own).
func settings(p *runtime.Proxy) runtime.Settings {
	m := *p
	m.Timeout, m.Optimistic = 0, false
	route := func() *runtime.Route {
		return &runtime.Route{Proxies: []*runtime.Proxy{&m}, Timeout: p.Timeout, Optimistic: p.Optimistic}
	}
	return runtime.Settings{
		Enabled: true,
		Default: runtime.Routes{
			HTTP:      route(),
			WebSocket: route(),
		},
		Exchanges: map[string]runtime.Routes{exchange: {}},
	}
}

// closedPort returns a loopback port nothing listens on.
func closedPort(t *testing.T) uint16 {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	_ = ln.Close()
	return uint16(port)
}

// attempt uses the route of exchange with every client kind and returns the
// errors (nil entries for successes), each bounded by timeout plus slack.
func attempt(t *testing.T, in *runtime.Injector, tgt *target.Server) map[string]error {
	t.Helper()
	out := map[string]error{}
	timed := func(name string, fn func(ctx context.Context) error) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		start := time.Now()
		err := fn(ctx)
		if d := time.Since(start); d > timeout+slack {
			t.Errorf("%s took %v, want <= %v", name, d, timeout+slack)
		}
		out[name] = err
	}
	timed("rest", func(ctx context.Context) error {
		req, _ := http.NewRequestWithContext(ctx, "GET", tgt.URL("https", "127.0.0.1", "/ping"), nil)
		resp, err := in.HTTPClient(exchange).Do(req)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
		}
		return err
	})
	timed("gorilla ws", func(ctx context.Context) error {
		d := websocket.Dialer{NetDialContext: in.WebSocketDialContext(exchange), TLSClientConfig: tgt.ClientTLS("")}
		c, resp, err := d.DialContext(ctx, tgt.URL("wss", "127.0.0.1", "/ws"), nil)
		if resp != nil && resp.Body != nil {
			_ = resp.Body.Close()
		}
		if err == nil {
			_ = c.Close()
		}
		return err
	})
	timed("coder ws", func(ctx context.Context) error {
		c, resp, err := coder.Dial(ctx, tgt.URL("ws", "127.0.0.1", "/ws"), &coder.DialOptions{HTTPClient: in.WebSocketHTTPClient(exchange)})
		if resp != nil && resp.Body != nil {
			_ = resp.Body.Close()
		}
		if err == nil {
			_ = c.CloseNow()
		}
		return err
	})
	timed("raw dial", func(ctx context.Context) error {
		c, err := in.DialContext(ctx, exchange, runtime.TransportWebSocket, "tcp", tgt.HTTPAddr)
		if err == nil {
			_ = c.Close()
		}
		return err
	})
	in.CloseIdleConnections()
	return out
}

// wantAllFail checks every client failed with a *runtime.ProxyError at stage
// (found through whatever the client wrapped it in) that satisfies more.
func wantAllFail(t *testing.T, errs map[string]error, stage runtime.Stage, more func(error) bool) {
	t.Helper()
	for name, err := range errs {
		if err == nil {
			t.Errorf("%s: succeeded; the route is unusable and must fail closed", name)
			continue
		}
		var pe *runtime.ProxyError
		// gorilla and coder flatten the dial error into text; the raw
		// dial and net/http keep the chain.
		if errors.As(err, &pe) {
			if pe.Stage != stage {
				t.Errorf("%s: stage %s, want %s: %v", name, pe.Stage, stage, err)
			}
			if more != nil && !more(err) {
				t.Errorf("%s: unexpected error: %v", name, err)
			}
		} else if !strings.Contains(err.Error(), ": "+string(stage)+": ") {
			t.Errorf("%s: not a proxy error at stage %s: %v", name, stage, err)
		}
	}
}

func TestFailClosed(t *testing.T) {
	tgt := target.Start(t, nil)
	clientTLS := runtime.WithClientTLSConfig(tgt.ClientTLS(""))

	tlsProxy := proxytest.NewHTTPS("", "")
	defer tlsProxy.Close()
	tlsHost, tlsPort := splitAddr(t, tlsProxy.Addr())

	cases := []struct {
		name  string
		proxy runtime.Proxy
		stage runtime.Stage
		more  func(error) bool
	}{
		{"proxy host unresolvable (socks5h)", runtime.Proxy{Scheme: runtime.SOCKS5H, Host: "proxy.invalid", Port: 1080}, runtime.StageConnect,
			func(err error) bool { var de *net.DNSError; return errors.As(err, &de) }},
		{"proxy host unresolvable (http)", runtime.Proxy{Scheme: runtime.HTTP, Host: "no-such-proxy.invalid", Port: 3128}, runtime.StageConnect, nil},
		{"proxy down (socks5)", runtime.Proxy{Scheme: runtime.SOCKS5, Host: "127.0.0.1", Port: closedPort(t)}, runtime.StageConnect,
			func(err error) bool { return errors.Is(err, syscall.ECONNREFUSED) }},
		{"proxy down (https)", runtime.Proxy{Scheme: runtime.HTTPS, Host: "127.0.0.1", Port: closedPort(t)}, runtime.StageConnect,
			func(err error) bool { return errors.Is(err, syscall.ECONNREFUSED) }},
		{"proxy down (optimistic socks5)", runtime.Proxy{Scheme: runtime.SOCKS5H, Host: "127.0.0.1", Port: closedPort(t), Optimistic: true}, runtime.StageConnect, nil},
		{"TLS to the proxy fails (untrusted certificate)", runtime.Proxy{Scheme: runtime.HTTPS, Host: tlsHost, Port: tlsPort}, runtime.StageTLS, nil},
		{"missing ${VAR} (unresolved at dial time)", runtime.Proxy{Scheme: runtime.HTTP, Host: "127.0.0.1", Port: closedPort(t),
			UserVar: "FAILCLOSED_NO_SUCH_USER", PasswordVar: "FAILCLOSED_NO_SUCH_PASS"}, runtime.StageConfig,
			func(err error) bool { return strings.Contains(err.Error(), "FAILCLOSED_NO_SUCH_") }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := c.proxy
			p.Timeout = timeout
			in, err := runtime.NewInjector(settings(&p), clientTLS, quiet)
			if err != nil {
				t.Fatal(err)
			}
			wantAllFail(t, attempt(t, in, tgt), c.stage, c.more)
		})
	}
	if n := tgt.Conns(); n != 0 {
		t.Fatalf("the target accepted %d connections: a route failed open", n)
	}
	if tlsProxy.Tunnels() != 0 {
		t.Fatalf("the untrusted TLS proxy opened a tunnel")
	}

	// Control: the counter works (a direct injector reaches the target).
	direct, err := runtime.NewInjector(runtime.Settings{Enabled: false}, clientTLS, quiet)
	if err != nil {
		t.Fatal(err)
	}
	for name, err := range attempt(t, direct, tgt) {
		if err != nil {
			t.Errorf("control %s: %v", name, err)
		}
	}
	if tgt.Conns() == 0 {
		t.Fatal("control: the target counted nothing")
	}
}

func splitAddr(t *testing.T, addr string) (string, uint16) {
	t.Helper()
	ap, err := net.ResolveTCPAddr("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	return ap.IP.String(), uint16(ap.Port)
}

// TestFailClosedInit: Init with a missing ${VAR} or an invalid overlay
// fails, names the variable, and leaves the installed injector (routing
// through a working proxy) in place: nothing goes direct.
func TestFailClosedInit(t *testing.T) {
	tgt := target.Start(t, nil)
	good := proxytest.NewHTTP("", "")
	defer good.Close()
	gp := good.Proxy(runtime.HTTP)
	gp.Timeout = timeout
	clientTLS := runtime.WithClientTLSConfig(tgt.ClientTLS(""))
	if err := runtime.InstallSettings(settings(gp), clientTLS, quiet); err != nil {
		t.Fatal(err)
	}
	defer runtime.Install(nil)
	before := runtime.Installed()

	credProxy := *gp
	credProxy.UserVar, credProxy.PasswordVar = "FAILCLOSED_USER", "FAILCLOSED_PASS"
	const canary = testenv.Canary
	cases := []struct {
		name string
		s    runtime.Settings
		env  map[string]string
		want string
	}{
		{"missing ${VAR}", settings(&credProxy), map[string]string{"FAILCLOSED_USER": "u"}, "FAILCLOSED_PASS"},
		{"invalid URL in env", settings(gp), map[string]string{"CRYPTOFEED_PROXY_DEFAULT__HTTP__URL": "gopher://" + canary + "@x:1"}, "CRYPTOFEED_PROXY_DEFAULT__HTTP__URL"},
		{"invalid boolean in env", settings(gp), map[string]string{"CRYPTOFEED_PROXY_ENABLED": canary}, "CRYPTOFEED_PROXY_ENABLED"},
		{"invalid timeout in env", settings(gp), map[string]string{"CRYPTOFEED_PROXY_DEFAULT__WEBSOCKET__TIMEOUT_SECONDS": "0"}, "CRYPTOFEED_PROXY_DEFAULT__WEBSOCKET__TIMEOUT_SECONDS"},
		{"unknown variable in env", settings(gp), map[string]string{"CRYPTOFEED_PROXY_EXCHANGES__BINANCE__HTTP__PROXY": canary}, "CRYPTOFEED_PROXY_EXCHANGES__BINANCE__HTTP__PROXY"},
		{"DIRECT with URL in env", settings(gp), map[string]string{"CRYPTOFEED_PROXY_EXCHANGES__BINANCE__HTTP__DIRECT": "true",
			"CRYPTOFEED_PROXY_EXCHANGES__BINANCE__HTTP__URL": "http://127.0.0.1:1"}, "CRYPTOFEED_PROXY_EXCHANGES__BINANCE__HTTP__"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for k, v := range c.env {
				t.Setenv(k, v)
			}
			in, err := runtime.Init(c.s, clientTLS, quiet)
			if err == nil {
				t.Fatalf("Init succeeded (%v)", in)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error does not name %s: %v", c.want, err)
			}
			testenv.NoCanary(t, "Init's error", err)
			if runtime.Installed() != before {
				t.Fatal("a failed Init replaced the installed injector")
			}
			// The program carries on: its traffic still goes through the proxy.
			tunnels, conns := good.Tunnels(), tgt.Conns()
			req, _ := http.NewRequest("GET", tgt.URL("https", "127.0.0.1", "/ping"), nil)
			resp, err := runtime.HTTPClient(exchange).Do(req)
			if err != nil {
				t.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			runtime.Installed().CloseIdleConnections()
			if dt, dc := good.Tunnels()-tunnels, tgt.Conns()-conns; int64(dt) != dc || dc != 1 {
				t.Errorf("target got %d connections, proxy opened %d tunnels: want 1 and 1", dc, dt)
			}
		})
	}
	if tgt.Conns() != int64(good.Tunnels()) {
		t.Fatalf("target accepted %d connections, the proxy opened %d tunnels: something went direct", tgt.Conns(), good.Tunnels())
	}
}

// TestProxyRestart kills the proxy under open WebSocket streams and a pooled
// REST connection, checks the streams fail promptly with a read error and
// that dials fail (closed) while it is down, then brings it back on the same
// address: new dials and HTTPClient requests succeed at once.
func TestProxyRestart(t *testing.T) {
	for _, kind := range []proxytest.Kind{proxytest.HTTP, proxytest.SOCKS5} {
		t.Run(kind.String(), func(t *testing.T) { testProxyRestart(t, kind) })
	}
}

func testProxyRestart(t *testing.T, kind proxytest.Kind) {
	tgt := target.Start(t, nil)
	px := proxytest.New(proxytest.Config{Kind: kind})
	addr := px.Addr()
	p := px.Proxy(runtime.SOCKS5H)
	p.Timeout = timeout
	in, err := runtime.NewInjector(settings(p), runtime.WithClientTLSConfig(tgt.ClientTLS("")), quiet)
	if err != nil {
		px.Close()
		t.Fatal(err)
	}
	defer in.CloseIdleConnections()

	get := func() error {
		ctx, cancel := context.WithTimeout(context.Background(), timeout+slack)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, "GET", tgt.URL("https", "127.0.0.1", "/ping"), nil)
		resp, err := in.HTTPClient(exchange).Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		_, err = io.Copy(io.Discard, resp.Body)
		if err == nil && resp.StatusCode != 200 {
			err = fmt.Errorf("status %d", resp.StatusCode)
		}
		return err
	}
	dialWS := func() (*websocket.Conn, error) {
		d := websocket.Dialer{NetDialContext: in.WebSocketDialContext(exchange), TLSClientConfig: tgt.ClientTLS(""), HandshakeTimeout: timeout + slack}
		c, resp, err := d.Dial(tgt.URL("wss", "127.0.0.1", "/ws"), nil)
		if resp != nil && resp.Body != nil {
			_ = resp.Body.Close()
		}
		if err == nil {
			if err = c.WriteMessage(websocket.TextMessage, []byte("hello")); err == nil {
				_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
				var msg []byte
				if _, msg, err = c.ReadMessage(); err == nil && string(msg) != "hello" {
					err = fmt.Errorf("echo %q", msg)
				}
				_ = c.SetReadDeadline(time.Time{})
			}
			if err != nil {
				_ = c.Close()
			}
		}
		return c, err
	}

	// Before: a pooled REST connection and open streams.
	if err := get(); err != nil {
		px.Close()
		t.Fatal(err)
	}
	const streams = 4
	readErr := make(chan error, streams)
	var conns []*websocket.Conn
	for range streams {
		c, err := dialWS()
		if err != nil {
			px.Close()
			t.Fatal(err)
		}
		conns = append(conns, c)
		go func() {
			_, _, err := c.ReadMessage() // blocks: the target echoes only
			readErr <- err
		}()
	}
	defer func() {
		for _, c := range conns {
			_ = c.Close()
		}
	}()

	// The proxy dies.
	died := time.Now()
	px.Close()
	for range streams {
		select {
		case err := <-readErr:
			if err == nil {
				t.Error("a stream read succeeded after the proxy died")
			}
		case <-time.After(3 * time.Second):
			t.Fatal("an open stream did not notice the dead proxy within 3 s")
		}
	}
	t.Logf("%d open streams failed with a read error %v after the proxy died", streams, time.Since(died).Round(time.Millisecond))

	// While it is down: everything fails, quickly, and nothing goes direct.
	conns0 := tgt.Conns()
	start := time.Now()
	if err := get(); err == nil {
		t.Error("REST request succeeded with the proxy down")
	} else if !strings.Contains(err.Error(), "connect") {
		t.Errorf("REST error while down: %v", err)
	}
	if _, err := dialWS(); err == nil {
		t.Error("WebSocket dial succeeded with the proxy down")
	}
	if d := time.Since(start); d > timeout {
		t.Errorf("failing while down took %v", d)
	}
	if tgt.Conns() != conns0 {
		t.Fatal("the target was reached while the proxy was down: failed open")
	}

	// It comes back on the same address.
	var px2 *proxytest.Server
	for i := 0; px2 == nil; i++ {
		func() {
			defer func() {
				if r := recover(); r != nil && i >= 20 {
					t.Fatalf("could not restart the proxy on %s: %v", addr, r)
				}
			}()
			px2 = proxytest.New(proxytest.Config{Kind: kind, Addr: addr})
		}()
		if px2 == nil {
			time.Sleep(100 * time.Millisecond)
		}
	}
	defer px2.Close()
	for i := range 3 {
		if err := get(); err != nil {
			t.Fatalf("REST request %d after the restart: %v", i, err)
		}
	}
	c, err := dialWS()
	if err != nil {
		t.Fatalf("WebSocket dial after the restart: %v", err)
	}
	conns = append(conns, c)
	if px2.Tunnels() < 2 {
		t.Errorf("the restarted proxy opened %d tunnels, want >= 2", px2.Tunnels())
	}
}
