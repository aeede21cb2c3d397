package interop_test

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	coder "github.com/coder/websocket"
	gobwas "github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
	"github.com/gorilla/websocket"

	"github.com/proxygen-go/proxygen/internal/testenv"
	"github.com/proxygen-go/proxygen/internal/testenv/realproxy"
	"github.com/proxygen-go/proxygen/internal/testenv/target"
	"github.com/proxygen-go/proxygen/runtime"
)

func TestMain(m *testing.M) { os.Exit(realproxy.Main(m)) }

// stepTimeout bounds every dial, request and round trip of a subtest.
const stepTimeout = 30 * time.Second

// The credentials the auth-capable servers accept, and a wrong password.
// tinyproxy's config takes [-A-Za-z0-9._] only, so it gets a plainer one.
const (
	user          = "feeder"
	pass          = "s3cret:with%odd@chars"
	tinyproxyPass = "s3cret.pw-1"
	wrongPass     = testenv.Canary // a wrong password no error may show, in any form
)

// matrix collects the INTEROP lines of the run for a summary at the end.
var matrix struct {
	sync.Mutex
	lines []string
}

func record(t *testing.T, line string) {
	t.Helper()
	t.Cleanup(func() {
		result := "pass"
		switch {
		case t.Failed():
			result = "fail"
		case t.Skipped():
			result = "skip"
		}
		l := "INTEROP " + line + " result=" + result
		t.Log(l)
		matrix.Lock()
		matrix.lines = append(matrix.lines, l)
		matrix.Unlock()
	})
}

// route is one proxy server and scheme.
type route struct {
	server *realproxy.Server
	proxy  *runtime.Proxy
	// nameSent: the proxy receives the target's host name (remote DNS);
	// else the runtime resolves it and sends an address.
	nameSent bool
}

func (r route) dialer(tr runtime.Transport) *runtime.Dialer {
	return &runtime.Dialer{Proxy: r.proxy, Exchange: "interop", Transport: tr}
}

type fixture struct {
	ca  *target.CA
	tgt *target.Server
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ca, err := target.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{ca: ca, tgt: target.Start(t, ca)}
}

// host is the target host name every test dials: "localhost" resolves on
// the client (socks5, socks4) and on the proxy (socks5h, socks4a, http,
// https) alike, and the target's certificate covers it.
const host = "localhost"

// TestInterop runs the matrix: server × scheme × client × kind.
func TestInterop(t *testing.T) {
	matrix.Lock()
	matrix.lines = nil // -count=N: one summary per run
	matrix.Unlock()
	f := newFixture(t)
	certPEM, keyPEM, err := f.ca.IssuePEM("127.0.0.1", "localhost", "proxy.test")
	if err != nil {
		t.Fatal(err)
	}
	type serverCase struct {
		name    string
		start   func(t *testing.T) *realproxy.Server
		schemes []runtime.Scheme
		auth    bool
		pass    string // the password the server accepts, when auth
		// optimistic: the server accepts pipelined handshakes (PEERS.md:
		// Dante, squid, tinyproxy; not microsocks, whose client hangs).
		optimistic bool
	}
	cases := []serverCase{
		{"microsocks", func(t *testing.T) *realproxy.Server { return realproxy.Microsocks(t, user, pass) },
			[]runtime.Scheme{runtime.SOCKS5, runtime.SOCKS5H}, true, pass, false},
		{"danted", func(t *testing.T) *realproxy.Server { return realproxy.Dante(t) },
			[]runtime.Scheme{runtime.SOCKS5, runtime.SOCKS5H, runtime.SOCKS4}, false, "", true},
		{"ssh", func(t *testing.T) *realproxy.Server { return realproxy.SSHDynamic(t) },
			[]runtime.Scheme{runtime.SOCKS4A, runtime.SOCKS5H, runtime.SOCKS4, runtime.SOCKS5}, false, "", true},
		{"tinyproxy", func(t *testing.T) *realproxy.Server { return realproxy.Tinyproxy(t, user, tinyproxyPass) },
			[]runtime.Scheme{runtime.HTTP}, true, tinyproxyPass, true},
		{"squid", func(t *testing.T) *realproxy.Server { return realproxy.Squid(t, user, pass, certPEM, keyPEM) },
			[]runtime.Scheme{runtime.HTTP, runtime.HTTPS}, true, pass, true},
	}
	for _, sc := range cases {
		t.Run(sc.name, func(t *testing.T) {
			srv := sc.start(t)
			modes := []bool{false}
			if sc.optimistic {
				modes = append(modes, true)
			}
			for _, optimistic := range modes {
				for _, scheme := range sc.schemes {
					p := &runtime.Proxy{Scheme: scheme, Host: srv.Host(), Port: srv.Port(), Timeout: stepTimeout, Optimistic: optimistic}
					if scheme == runtime.HTTPS {
						p.Port = srv.TLSPort()
						p.TLSConfig = &tls.Config{RootCAs: f.ca.Pool}
					}
					if sc.auth {
						p.User, p.Password = user, runtime.NewSecret(sc.pass)
					}
					r := route{server: srv, proxy: p, nameSent: scheme.RemoteDNS()}
					name, tag := scheme.String(), ""
					if optimistic {
						name, tag = name+"+optimistic", " optimistic=true"
					}
					row := func(format string, args ...any) string {
						return fmt.Sprintf("server=%s scheme=%s ", sc.name, scheme) + fmt.Sprintf(format, args...) + tag
					}
					t.Run(name, func(t *testing.T) {
						mark := srv.Mark()
						defer t.Run("proxylog/dns", func(t *testing.T) {
							checkDNS(t, r, mark, tag)
						})
						t.Run("nethttp/rest", func(t *testing.T) {
							record(t, row("client=nethttp rest=https"))
							testREST(t, f, r)
						})
						for _, ws := range []string{"ws", "wss"} {
							t.Run("gorilla/"+ws, func(t *testing.T) {
								record(t, row("client=gorilla ws=%s", ws))
								testGorilla(t, f, r, ws)
							})
							t.Run("coder/"+ws, func(t *testing.T) {
								record(t, row("client=coder ws=%s", ws))
								testCoder(t, f, r, ws)
							})
							t.Run("gobwas/"+ws, func(t *testing.T) {
								record(t, row("client=gobwas ws=%s", ws))
								testGobwas(t, f, r, ws)
							})
						}
						if sc.auth {
							t.Run("runtime/wrongauth", func(t *testing.T) {
								record(t, row("client=runtime auth=wrong"))
								testWrongAuth(t, f, r)
							})
						}
					})
				}
			}
		})
	}
	matrix.Lock()
	lines := slices.Clone(matrix.lines)
	matrix.Unlock()
	t.Logf("interop matrix (%d rows):\n%s", len(lines), strings.Join(lines, "\n"))
}

// proveProxied checks, while the tunnel is still open, that the connection
// the target accepted (peer, as the target saw it) belongs to the proxy
// server's processes, and that the target counted one more connection.
func proveProxied(t *testing.T, r route, peer string) {
	t.Helper()
	if peer == "" {
		t.Fatal("target reported no peer address")
	}
	owned, err := r.server.OwnsConn(peer)
	switch {
	case err != nil:
		t.Logf("proxy-side evidence unavailable: %v", err)
	case !owned:
		t.Errorf("target's peer %s is not a socket of %s (pids %v): traffic did not go through the proxy", peer, r.server.Name, r.server.AllPids())
	}
}

func testREST(t *testing.T, f *fixture, r route) {
	before := f.tgt.TLSConns()
	d := r.dialer(runtime.TransportHTTP)
	tr := &http.Transport{
		DialContext:     d.DialContext,
		TLSClientConfig: f.ca.ClientConfig(""),
	}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: stepTimeout}
	resp, err := client.Get(f.tgt.URL("https", host, "/ping"))
	if err != nil {
		t.Fatalf("GET: %v", err)
	}
	var ping target.Ping
	err = json.NewDecoder(resp.Body).Decode(&ping)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 || !ping.Pong || !ping.TLS {
		t.Fatalf("GET /ping: status %d body %+v err %v", resp.StatusCode, ping, err)
	}
	// The kept-alive connection is still open: find its far end.
	proveProxied(t, r, ping.Peer)
	if got := f.tgt.TLSConns() - before; got != 1 {
		t.Errorf("target accepted %d TLS connections, want 1", got)
	}
	// A second request reuses the tunnel.
	resp, err = client.Get(f.tgt.URL("https", host, "/ping"))
	if err != nil {
		t.Fatalf("second GET: %v", err)
	}
	resp.Body.Close()
	if got := f.tgt.TLSConns() - before; got != 1 {
		t.Errorf("after a second request the target accepted %d TLS connections, want 1 (keep-alive)", got)
	}
}

func (f *fixture) counter(ws string) func() int64 {
	if ws == "wss" {
		return f.tgt.TLSConns
	}
	return f.tgt.PlainConns
}

func testGorilla(t *testing.T, f *fixture, r route, ws string) {
	count := f.counter(ws)
	before := count()
	d := r.dialer(runtime.TransportWebSocket)
	wd := websocket.Dialer{
		NetDialContext:   d.DialContext,
		TLSClientConfig:  f.ca.ClientConfig(""),
		HandshakeTimeout: stepTimeout,
	}
	ctx, cancel := context.WithTimeout(context.Background(), stepTimeout)
	defer cancel()
	c, resp, err := wd.DialContext(ctx, f.tgt.URL(ws, host, "/ws"), nil)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer c.Close()
	proveProxied(t, r, resp.Header.Get(target.PeerHeader))
	_ = c.SetReadDeadline(time.Now().Add(stepTimeout))
	for i := 0; i < 3; i++ {
		msg := fmt.Sprintf("gorilla %s %s #%d", r.proxy.Scheme, ws, i)
		if err := c.WriteMessage(websocket.TextMessage, []byte(msg)); err != nil {
			t.Fatalf("write: %v", err)
		}
		mt, got, err := c.ReadMessage()
		if err != nil || mt != websocket.TextMessage || string(got) != msg {
			t.Fatalf("echo: %d %q %v, want %q", mt, got, err, msg)
		}
	}
	if got := count() - before; got != 1 {
		t.Errorf("target accepted %d %s connections, want 1", got, ws)
	}
	_ = c.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
}

func testCoder(t *testing.T, f *fixture, r route, ws string) {
	count := f.counter(ws)
	before := count()
	d := r.dialer(runtime.TransportWebSocket)
	tr := &http.Transport{
		DialContext:     d.DialContext,
		TLSClientConfig: f.ca.ClientConfig(""),
		// HTTP/1.1 only: the WebSocket upgrade needs it.
		TLSNextProto:      map[string]func(string, *tls.Conn) http.RoundTripper{},
		ForceAttemptHTTP2: false,
	}
	defer tr.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(context.Background(), stepTimeout)
	defer cancel()
	c, resp, err := coder.Dial(ctx, f.tgt.URL(ws, host, "/ws"), &coder.DialOptions{HTTPClient: &http.Client{Transport: tr}})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer c.CloseNow()
	proveProxied(t, r, resp.Header.Get(target.PeerHeader))
	for i := 0; i < 3; i++ {
		msg := fmt.Sprintf("coder %s %s #%d", r.proxy.Scheme, ws, i)
		if err := c.Write(ctx, coder.MessageText, []byte(msg)); err != nil {
			t.Fatalf("write: %v", err)
		}
		mt, got, err := c.Read(ctx)
		if err != nil || mt != coder.MessageText || string(got) != msg {
			t.Fatalf("echo: %v %q %v, want %q", mt, got, err, msg)
		}
	}
	if got := count() - before; got != 1 {
		t.Errorf("target accepted %d %s connections, want 1", got, ws)
	}
	if err := c.Close(coder.StatusNormalClosure, ""); err != nil {
		t.Logf("close: %v", err)
	}
}

func testGobwas(t *testing.T, f *fixture, r route, ws string) {
	count := f.counter(ws)
	before := count()
	d := r.dialer(runtime.TransportWebSocket)
	var peer string
	wd := gobwas.Dialer{
		NetDial:   d.DialContext,
		TLSConfig: f.ca.ClientConfig(host),
		Timeout:   stepTimeout,
		OnHeader: func(key, value []byte) error {
			if strings.EqualFold(string(key), target.PeerHeader) {
				peer = string(value)
			}
			return nil
		},
	}
	ctx, cancel := context.WithTimeout(context.Background(), stepTimeout)
	defer cancel()
	conn, br, _, err := wd.Dial(ctx, f.tgt.URL(ws, host, "/ws"))
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer conn.Close()
	proveProxied(t, r, peer)
	rw := struct {
		io.Reader
		io.Writer
	}{conn, conn}
	if br != nil { // bytes the server sent right after the handshake
		rw.Reader = io.MultiReader(br, conn)
	}
	_ = conn.SetDeadline(time.Now().Add(stepTimeout))
	for i := 0; i < 3; i++ {
		msg := fmt.Sprintf("gobwas %s %s #%d", r.proxy.Scheme, ws, i)
		if err := wsutil.WriteClientText(rw, []byte(msg)); err != nil {
			t.Fatalf("write: %v", err)
		}
		got, err := wsutil.ReadServerText(rw)
		if err != nil || string(got) != msg {
			t.Fatalf("echo: %q %v, want %q", got, err, msg)
		}
	}
	if got := count() - before; got != 1 {
		t.Errorf("target accepted %d %s connections, want 1", got, ws)
	}
	_ = wsutil.WriteClientMessage(rw, gobwasOpClose, gobwasNormalClose)
}

var (
	gobwasOpClose     = gobwas.OpClose
	gobwasNormalClose = gobwas.NewCloseFrameBody(gobwas.StatusNormalClosure, "")
)

func testWrongAuth(t *testing.T, f *fixture, r route) {
	before := f.tgt.Conns()
	for _, tc := range []struct {
		name       string
		user, pass string
	}{
		{"wrong password", user, wrongPass},
		{"no credentials", "", ""},
	} {
		p := *r.proxy
		p.User, p.Password = tc.user, runtime.NewSecret(tc.pass)
		d := &runtime.Dialer{Proxy: &p, Exchange: "interop", Transport: runtime.TransportHTTP}
		ctx, cancel := context.WithTimeout(context.Background(), stepTimeout)
		c, err := d.DialContext(ctx, "tcp", net.JoinHostPort(host, strconv.Itoa(f.tgt.HTTPSPort)))
		cancel()
		if err == nil && p.Optimistic {
			// The replies are checked on the first read.
			_ = c.SetReadDeadline(time.Now().Add(stepTimeout))
			var b [1]byte
			_, err = c.Read(b[:])
			c.Close()
			if err == nil {
				t.Errorf("%s: optimistic tunnel delivered data", tc.name)
				continue
			}
		} else if err == nil {
			c.Close()
			t.Errorf("%s: dial succeeded", tc.name)
			continue
		}
		var pe *runtime.ProxyError
		if !errors.As(err, &pe) {
			t.Errorf("%s: error %T %v is not a *runtime.ProxyError", tc.name, err, err)
			continue
		}
		t.Logf("%s: %v (stage %s, status %d, code %d)", tc.name, err, pe.Stage, pe.Status, pe.Code)
		if !errors.Is(err, runtime.ErrProxyAuth) {
			hint := ""
			if pe.Status == 401 {
				hint = " — tinyproxy 1.11 answers wrong proxy credentials with 401 + WWW-Authenticate " +
					"(and missing ones with 407): a 401 to a CONNECT that carried credentials is an authentication failure"
			}
			t.Errorf("%s: errors.Is(err, runtime.ErrProxyAuth) is false for %q (stage %s, HTTP status %d, SOCKS code %d)%s",
				tc.name, err, pe.Stage, pe.Status, pe.Code, hint)
		}
		if strings.Contains(err.Error(), r.proxy.Password.Reveal()) {
			t.Errorf("%s: error shows the right password: %v", tc.name, err)
		}
		testenv.NoCanary(t, tc.name+": the error", err)
	}
	if got := f.tgt.Conns() - before; got != 0 {
		t.Errorf("target accepted %d connections although authentication failed", got)
	}
}

// dnsEvidence says how a server's log shows the target it was asked for:
// the pattern with %s replaced by the host as sent.
var dnsEvidence = map[string]string{
	"ssh":       "server_request_direct_tcpip: originator 127.0.0.1 port %*, target %s port", // sshd -d
	"tinyproxy": "Request (file descriptor %*): CONNECT %s:",
	"squid":     "CONNECT %s:", // access.log
}

// checkDNS proves from the proxy's own log, where the server logs the
// target as requested, that the proxy received the host name for remote-DNS
// schemes and an address for socks5 and socks4 (resolved by the runtime).
func checkDNS(t *testing.T, r route, mark realproxy.LogMark, tag string) {
	want, other := host, "127.0.0.1"
	kind := "remote"
	if !r.nameSent {
		want, other, kind = other, want, "local"
	}
	pattern, ok := dnsEvidence[r.server.Name]
	if !ok {
		record(t, fmt.Sprintf("server=%s scheme=%s dns=%s evidence=none%s", r.server.Name, r.proxy.Scheme, kind, tag))
		t.Skipf("%s does not log the requested target", r.server.Name)
	}
	record(t, fmt.Sprintf("server=%s scheme=%s dns=%s evidence=proxy-log%s", r.server.Name, r.proxy.Scheme, kind, tag))
	var log string
	// squid writes access.log lines when a tunnel closes: give it time.
	deadline := time.Now().Add(10 * time.Second)
	for {
		log = r.server.LogSince(mark)
		if countMatches(log, pattern, want) > 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if n := countMatches(log, pattern, want); n == 0 {
		t.Errorf("%s log shows no request for %q (%s DNS); log since the scheme started:\n%s", r.server.Name, want, kind, log)
	}
	if n := countMatches(log, pattern, other); n > 0 {
		t.Errorf("%s log shows %d requests for %q; with %s DNS it must receive %q only", r.server.Name, n, other, kind, want)
	}
}

// countMatches counts lines of log that match pattern with %s = host and
// %* = any run of non-space characters.
func countMatches(log, pattern, host string) int {
	n := 0
	for _, line := range strings.Split(log, "\n") {
		if matchLine(line, strings.ReplaceAll(pattern, "%s", host)) {
			n++
		}
	}
	return n
}

func matchLine(line, pattern string) bool {
	parts := strings.Split(pattern, "%*")
	i := strings.Index(line, parts[0])
	if i < 0 {
		return false
	}
	line = line[i+len(parts[0]):]
	for _, p := range parts[1:] {
		j := strings.IndexAny(line, " ,)")
		if j < 0 {
			return false
		}
		line = line[j:]
		if !strings.HasPrefix(line, p) {
			return false
		}
		line = line[len(p):]
	}
	return true
}

// TestDirectControl: with no proxy the target's peer socket belongs to this
// process and to no proxy, so the proxy-side evidence above discriminates.
func TestDirectControl(t *testing.T) {
	f := newFixture(t)
	srv := realproxy.Dante(t)
	record(t, "server=none scheme=direct client=nethttp rest=https")
	d := &runtime.Dialer{Exchange: "interop", Transport: runtime.TransportHTTP}
	tr := &http.Transport{DialContext: d.DialContext, TLSClientConfig: f.ca.ClientConfig("")}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr, Timeout: stepTimeout}).Get(f.tgt.URL("https", host, "/ping"))
	if err != nil {
		t.Fatal(err)
	}
	var ping target.Ping
	err = json.NewDecoder(resp.Body).Decode(&ping)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	owner, err := realproxy.Owner(ping.Peer, srv)
	if err != nil {
		t.Fatal(err)
	}
	if owner != nil {
		t.Errorf("direct connection's peer %s belongs to %s", ping.Peer, owner.Name)
	}
	pids, err := realproxy.SocketOwners(ping.Peer)
	if err != nil || !slices.Contains(pids, os.Getpid()) {
		t.Errorf("direct peer %s owners %v (%v), want this process %d", ping.Peer, pids, err, os.Getpid())
	}
}

// TestLatencyRelay puts a delaying relay between the client and squid (as
// benchmarks do) and checks that the tunnel goes through it and pays the
// delay on each round trip of the set-up.
func TestLatencyRelay(t *testing.T) {
	f := newFixture(t)
	certPEM, keyPEM, err := f.ca.IssuePEM("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	srv := realproxy.Squid(t, user, pass, certPEM, keyPEM)
	const delay = 20 * time.Millisecond
	for _, tc := range []struct {
		scheme runtime.Scheme
		addr   string
		// round trips to the proxy before the tunnel is open: TLS 1.3
		// handshake (1) + CONNECT (1)
		minRTT int
	}{
		{runtime.HTTP, srv.Addr, 1},
		{runtime.HTTPS, srv.TLSAddr, 2},
	} {
		t.Run(tc.scheme.String(), func(t *testing.T) {
			record(t, fmt.Sprintf("server=squid scheme=%s client=runtime relay=%v", tc.scheme, delay))
			relay := target.Relay(t, tc.addr, delay)
			p := &runtime.Proxy{Scheme: tc.scheme, Host: "127.0.0.1", Port: uint16(mustPort(t, relay.Addr)),
				User: user, Password: runtime.NewSecret(pass), Timeout: stepTimeout, TLSConfig: &tls.Config{RootCAs: f.ca.Pool}}
			d := &runtime.Dialer{Proxy: p, Exchange: "interop", Transport: runtime.TransportWebSocket}
			ctx, cancel := context.WithTimeout(context.Background(), stepTimeout)
			defer cancel()
			start := time.Now()
			c, err := d.DialContext(ctx, "tcp", net.JoinHostPort(host, strconv.Itoa(f.tgt.HTTPPort)))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			setup := time.Since(start)
			if min := time.Duration(tc.minRTT) * 2 * delay; setup < min {
				t.Errorf("set-up took %v through a %v relay, want >= %v", setup, delay, min)
			}
			if relay.Conns() != 1 {
				t.Errorf("relay saw %d connections, want 1", relay.Conns())
			}
			t.Logf("set-up through the relay: %v", setup)
		})
	}
}

func mustPort(t *testing.T, addr string) int {
	t.Helper()
	_, ps, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	p, err := strconv.Atoi(ps)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
