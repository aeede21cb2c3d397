package runtime

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

var testTLSConfig = &tls.Config{ServerName: "test"}

// connCounter counts the connections a test server accepted.
func connCounter(srv *httptest.Server) *atomic.Int32 {
	var n atomic.Int32
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			n.Add(1)
		}
	}
	return &n
}

func get(t *testing.T, c *http.Client, url string) *http.Response {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return resp
}

func TestHTTPClientOnePerExchange(t *testing.T) {
	s := Settings{Enabled: true, Exchanges: map[string]Routes{"binance": {}, "kraken": {}}}
	in, err := NewInjector(s)
	if err != nil {
		t.Fatal(err)
	}
	b := in.HTTPClient("binance")
	if b == nil || b != in.HTTPClient("binance") || b != in.HTTPClient("Binance") {
		t.Error("HTTPClient(binance) is not reused")
	}
	if b == in.HTTPClient("kraken") {
		t.Error("binance and kraken share a client")
	}
	if in.HTTPClient("okx") != in.HTTPClient("OKX") || in.HTTPClient("okx") == in.HTTPClient("ftx") {
		t.Error("an unknown id does not get one reused client of its own")
	}
	if in.HTTPClient("okx") == b {
		t.Error("unknown id got binance's client")
	}
	if in.WebSocketHTTPClient("binance") == b || in.WebSocketHTTPClient("binance") != in.WebSocketHTTPClient("BINANCE") {
		t.Error("WebSocketHTTPClient not reused or shared with REST")
	}
	tr := b.Transport.(*http.Transport)
	if tr.Proxy != nil || !tr.ForceAttemptHTTP2 || tr.DialContext == nil {
		t.Errorf("REST transport: Proxy set %v, HTTP/2 %v", tr.Proxy != nil, tr.ForceAttemptHTTP2)
	}
	// Concurrent first use still yields one client.
	in, _ = NewInjector(s)
	var wg sync.WaitGroup
	got := make([]*http.Client, 16)
	for i := range got {
		wg.Add(1)
		go func() { defer wg.Done(); got[i] = in.HTTPClient("kraken") }()
	}
	wg.Wait()
	for _, c := range got {
		if c != got[0] {
			t.Fatal("concurrent HTTPClient calls made two clients")
		}
	}
}

// TestHTTPClientKeepAlive: sequential requests share one connection
// (requirement R2.4, docs/TRACEABILITY.md), direct and through an HTTP proxy.
func TestHTTPClientKeepAlive(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok") }))
	conns := connCounter(srv)
	srv.Start()
	defer srv.Close()
	proxy := newConnectProxy(t)

	for _, tc := range []struct {
		name  string
		route *Route
		viaPx bool
	}{
		{"direct", nil, false},
		{"http proxy", &Route{Proxies: []*Proxy{{Scheme: HTTP, Host: "127.0.0.1", Port: proxy.port}}}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conns.Store(0)
			proxy.connects.Store(0)
			in, err := NewInjector(Settings{Enabled: true, Exchanges: map[string]Routes{"binance": {HTTP: tc.route}}})
			if err != nil {
				t.Fatal(err)
			}
			defer in.CloseIdleConnections()
			for range 3 {
				get(t, in.HTTPClient("binance"), srv.URL)
			}
			if n := conns.Load(); n != 1 {
				t.Errorf("server accepted %d connections for 3 sequential requests, want 1", n)
			}
			want := int32(0)
			if tc.viaPx {
				want = 1
			}
			if n := proxy.connects.Load(); n != want {
				t.Errorf("proxy saw %d CONNECTs, want %d", n, want)
			}
			if proxy.forwarded.Load() != 0 {
				t.Error("proxy saw a forwarded (non-CONNECT) request")
			}
		})
	}
}

// TestWebSocketHTTPClientHTTP1: the REST client negotiates HTTP/2 with a
// server that offers it; the WebSocket client stays on HTTP/1.1.
func TestWebSocketHTTPClientHTTP1(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	defer srv.Close()
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	in, err := NewInjector(Settings{Enabled: true}, WithClientTLSConfig(&tls.Config{RootCAs: pool}))
	if err != nil {
		t.Fatal(err)
	}
	defer in.CloseIdleConnections()
	if resp := get(t, in.HTTPClient("x"), srv.URL); resp.ProtoMajor != 2 {
		t.Errorf("REST client spoke %s, want HTTP/2", resp.Proto)
	}
	ws := in.WebSocketHTTPClient("x")
	if resp := get(t, ws, srv.URL); resp.ProtoMajor != 1 || resp.ProtoMinor != 1 {
		t.Errorf("WebSocket client spoke %s, want HTTP/1.1", resp.Proto)
	}
	tr := ws.Transport.(*http.Transport)
	if tr.ForceAttemptHTTP2 || tr.TLSNextProto == nil || len(tr.TLSNextProto) != 0 ||
		strings.Join(tr.TLSClientConfig.NextProtos, ",") != "http/1.1" || tr.Proxy != nil || ws.Timeout != 0 {
		t.Errorf("WebSocket transport not HTTP/1.1-only: %+v", tr)
	}
}

// TestWebSocketHTTPClientTunnels: ws:// (plain http) and wss:// (https)
// requests of the WebSocket client both tunnel with CONNECT.
func TestWebSocketHTTPClientTunnels(t *testing.T) {
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer plain.Close()
	secure := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer secure.Close()
	pool := x509.NewCertPool()
	pool.AddCert(secure.Certificate())
	proxy := newConnectProxy(t)
	s := Settings{Enabled: true, Default: Routes{WebSocket: &Route{Proxies: []*Proxy{{Scheme: HTTP, Host: "127.0.0.1", Port: proxy.port}}}}}
	in, err := NewInjector(s, WithClientTLSConfig(&tls.Config{RootCAs: pool}))
	if err != nil {
		t.Fatal(err)
	}
	defer in.CloseIdleConnections()
	get(t, in.WebSocketHTTPClient("kraken"), plain.URL)
	get(t, in.WebSocketHTTPClient("kraken"), secure.URL)
	if n := proxy.connects.Load(); n != 2 {
		t.Errorf("proxy saw %d CONNECTs, want 2 (ws and wss)", n)
	}
	if proxy.forwarded.Load() != 0 {
		t.Error("plain-http request was forwarded instead of tunnelled")
	}
	// The REST route is direct: the proxy sees nothing more.
	get(t, in.HTTPClient("kraken"), plain.URL)
	if n := proxy.connects.Load(); n != 2 {
		t.Errorf("direct REST route went through the proxy")
	}
}

func TestInjectorDialContext(t *testing.T) {
	echo, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer echo.Close()
	go func() {
		for {
			c, err := echo.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); _, _ = io.Copy(c, c) }()
		}
	}()
	proxy := newConnectProxy(t)
	in, err := NewInjector(Settings{Enabled: true, Exchanges: map[string]Routes{"binance": {WebSocket: &Route{Proxies: []*Proxy{{Scheme: HTTP, Host: "127.0.0.1", Port: proxy.port}}}}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, dial := range []func() (net.Conn, error){
		func() (net.Conn, error) {
			return in.DialContext(context.Background(), "BINANCE", TransportWebSocket, "tcp", echo.Addr().String())
		},
		func() (net.Conn, error) {
			return in.WebSocketDialContext("binance")(context.Background(), "tcp", echo.Addr().String())
		},
	} {
		c, err := dial()
		if err != nil {
			t.Fatal(err)
		}
		_, _ = c.Write([]byte("ping"))
		buf := make([]byte, 4)
		if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "ping" {
			t.Errorf("echo: %q %v", buf, err)
		}
		c.Close()
	}
	if n := proxy.connects.Load(); n != 2 {
		t.Errorf("proxy saw %d CONNECTs, want 2", n)
	}
	c, err := in.DialContext(context.Background(), "binance", TransportHTTP, "tcp", echo.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	if n := proxy.connects.Load(); n != 2 {
		t.Error("direct route went through the proxy")
	}
}

// connectProxy is a minimal HTTP CONNECT proxy that counts tunnels and
// forwarded (non-CONNECT) requests.
type connectProxy struct {
	port      uint16
	accepted  atomic.Int32 // TCP connections
	connects  atomic.Int32 // successful tunnels
	forwarded atomic.Int32 // non-CONNECT requests
}

func newConnectProxy(t *testing.T) *connectProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &connectProxy{port: uint16(ln.Addr().(*net.TCPAddr).Port)}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.accepted.Add(1)
			wg.Add(1)
			go func() { defer wg.Done(); p.serve(c) }()
		}
	}()
	return p
}

func (p *connectProxy) serve(c net.Conn) {
	defer c.Close()
	br := bufio.NewReader(c)
	req, err := http.ReadRequest(br)
	if err != nil {
		return
	}
	if req.Method != http.MethodConnect {
		p.forwarded.Add(1)
		_, _ = io.WriteString(c, "HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
		return
	}
	up, err := net.Dial("tcp", req.Host)
	if err != nil {
		_, _ = io.WriteString(c, "HTTP/1.1 502 Bad Gateway\r\n\r\n")
		return
	}
	defer up.Close()
	p.connects.Add(1)
	_, _ = io.WriteString(c, "HTTP/1.1 200 Connection established\r\n\r\n")
	done := make(chan struct{})
	go func() {
		_, _ = io.Copy(up, br)
		up.(*net.TCPConn).CloseWrite()
		close(done)
	}()
	_, _ = io.Copy(c, up)
	c.Close()
	<-done
}
