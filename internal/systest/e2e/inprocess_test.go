package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/proxygen-go/proxygen/internal/testenv"
	"github.com/proxygen-go/proxygen/internal/testenv/target"
	"github.com/proxygen-go/proxygen/runtime"
	"github.com/proxygen-go/proxygen/runtime/proxytest"
)

// The in-process end-to-end tests drive the runtime's global injector by
// string id, as a shared feed library that does not import a generated
// package does (the Python original's init_proxy_system / get_proxy_injector), through the
// in-process proxies of runtime/proxytest to the counting target. They need
// no Debian server and change global state, so they do not run in parallel.

// syncBuffer is a log sink safe for concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// lib is one in-process fixture: the target, four proxies (every one
// requiring the canary password where it can), and a JSON log sink.
type lib struct {
	tgt                  *target.Server
	socks5, http, socks4 *proxytest.Server
	legacy               *proxytest.Server
	logs                 *syncBuffer
	logger               *slog.Logger
	errs                 []string // every error text the test saw (canary)
}

func newLib(t *testing.T) *lib {
	t.Helper()
	l := &lib{tgt: target.Start(t, nil), logs: &syncBuffer{}}
	l.socks5 = proxytest.NewSOCKS5(proxyUser, canary)
	l.http = proxytest.NewHTTP(proxyUser, canary)
	l.socks4 = proxytest.NewSOCKS4(proxyUser)
	l.legacy = proxytest.NewHTTP(proxyUser, canary)
	l.logger = slog.New(slog.NewJSONHandler(l.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	old := slog.Default()
	slog.SetDefault(l.logger) // the legacy fallback and direct dialers log to the default
	t.Cleanup(func() {
		if in := runtime.Installed(); in != nil {
			in.CloseIdleConnections()
		}
		runtime.Install(nil)
		runtime.SetFallback(nil)
		runtime.HTTPClient("cleanup").CloseIdleConnections() // the global direct client
		for _, s := range []*proxytest.Server{l.socks5, l.http, l.socks4, l.legacy} {
			s.Close()
		}
		slog.SetDefault(old)
		testenv.NoCanary(t, "the log", l.logs.String())
		for _, e := range l.errs {
			testenv.NoCanary(t, "an error", e)
		}
	})
	runtime.Install(nil)
	runtime.SetFallback(nil)
	return l
}

// settings: binance overrides http (socks5h), kraken's websocket is direct,
// the defaults are socks4a (http) and an HTTP CONNECT proxy (websocket).
func (l *lib) settings() runtime.Settings {
	return runtime.Settings{
		Enabled: true,
		Default: runtime.Routes{
			HTTP:      &runtime.Route{Proxies: []*runtime.Proxy{l.socks4.Proxy(runtime.SOCKS4A)}},
			WebSocket: &runtime.Route{Proxies: []*runtime.Proxy{l.http.Proxy(runtime.HTTP)}},
		},
		Exchanges: map[string]runtime.Routes{
			"Binance": {HTTP: &runtime.Route{Proxies: []*runtime.Proxy{l.socks5.Proxy(runtime.SOCKS5H)}}},
			"kraken":  {WebSocket: &runtime.Route{Direct: true}},
		},
	}
}

func (l *lib) install(t *testing.T, s runtime.Settings) {
	t.Helper()
	if in := runtime.Installed(); in != nil {
		in.CloseIdleConnections()
	}
	if err := runtime.InstallSettings(s, runtime.WithLogger(l.logger)); err != nil {
		t.Fatalf("InstallSettings: %v", err)
	}
}

// tunnels returns the tunnel counts of the proxies, in a fixed order.
func (l *lib) tunnels() [4]int {
	return [4]int{l.socks5.Tunnels(), l.http.Tunnels(), l.socks4.Tunnels(), l.legacy.Tunnels()}
}

var proxyNames = [4]string{"socks5", "http", "socks4", "legacy"}

// get does GET /ping over the global REST client of id and returns the
// peer the target saw.
func (l *lib) get(t *testing.T, id string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, l.tgt.URL("http", "localhost", "/ping"), nil)
	resp, err := runtime.HTTPClient(id).Do(req)
	if err != nil {
		l.errs = append(l.errs, err.Error())
		return "", err
	}
	defer resp.Body.Close()
	var p target.Ping
	if err := json.NewDecoder(resp.Body).Decode(&p); err != nil {
		return "", err
	}
	return p.Peer, nil
}

// dial opens and closes one connection over the global route of id and
// transport tr.
func (l *lib) dial(t *testing.T, id string, tr runtime.Transport) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := runtime.DialContext(ctx, id, tr, "tcp", l.tgt.HTTPAddr)
	if err != nil {
		l.errs = append(l.errs, err.Error())
		return err
	}
	return c.Close()
}

// expect runs f and checks that exactly the proxy named via (or none, for
// "direct") opened one tunnel and the target accepted one connection.
func (l *lib) expect(t *testing.T, what, via string, f func() error) {
	t.Helper()
	before, conns := l.tunnels(), l.tgt.Conns()
	if err := f(); err != nil {
		t.Errorf("%s: %v", what, err)
		return
	}
	// The target counts on accept, which may trail the client's dial.
	for deadline := time.Now().Add(5 * time.Second); l.tgt.Conns() == conns && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	after := l.tunnels()
	for i, name := range proxyNames {
		want := 0
		if name == via {
			want = 1
		}
		if got := after[i] - before[i]; got != want {
			t.Errorf("%s: proxy %s opened %d tunnels, want %d (route %s)", what, name, got, want, via)
		}
	}
	if got := l.tgt.Conns() - conns; got != 1 {
		t.Errorf("%s: the target accepted %d connections, want 1", what, got)
	}
}

// TestSharedLibraryByID: the global injector by string id. Ids are
// case-insensitive (spec key "Binance", callers "BINANCE", "binance"); an
// unknown id gets the default route; overriding one transport keeps the
// other's default (requirement R4.3, docs/TRACEABILITY.md); direct: true is a real override; every
// client and dialer is reused per id; one log line per tunnel.
func TestSharedLibraryByID(t *testing.T) {
	l := newLib(t)
	l.install(t, l.settings())

	l.expect(t, "REST BINANCE", "socks5", func() error { _, err := l.get(t, "BINANCE"); return err })
	if runtime.HTTPClient("BINANCE") != runtime.HTTPClient("binance") {
		t.Errorf("HTTPClient(BINANCE) and HTTPClient(binance) are different clients")
	}
	if got := l.socks5.Last(); got.Protocol != "socks5" || !got.TargetIsName || got.Target != "localhost:"+strconv.Itoa(l.tgt.HTTPPort) {
		t.Errorf("socks5h proxy saw %+v, want the host name localhost", got)
	}
	// A second GET of the same exchange reuses the kept-alive connection.
	before := l.tunnels()
	conns := l.tgt.Conns()
	if _, err := l.get(t, "Binance"); err != nil {
		t.Fatal(err)
	}
	if l.tunnels() != before || l.tgt.Conns() != conns {
		t.Errorf("the second GET of binance opened a new connection (requirement R2.4, docs/TRACEABILITY.md)")
	}

	l.expect(t, "REST unknown id", "socks4", func() error { _, err := l.get(t, "NewExchange"); return err })
	l.expect(t, "websocket binance (http override keeps the websocket default)", "http", func() error {
		return l.dial(t, "binance", runtime.TransportWebSocket)
	})
	l.expect(t, "REST kraken (websocket override keeps the http default)", "socks4", func() error { _, err := l.get(t, "Kraken"); return err })
	l.expect(t, "websocket KRAKEN direct: true", "direct", func() error { return l.dial(t, "KRAKEN", runtime.TransportWebSocket) })
	l.expect(t, "websocket unknown id", "http", func() error { return l.dial(t, "Bitstamp", runtime.TransportWebSocket) })
	l.expect(t, "gorilla over WebSocketDialContext(Unknown)", "http", func() error {
		d := websocket.Dialer{NetDialContext: runtime.WebSocketDialContext("Unknown"), HandshakeTimeout: 10 * time.Second}
		c, resp, err := d.Dial(l.tgt.URL("ws", "localhost", "/ws"), nil)
		if err != nil {
			return err
		}
		defer c.Close()
		if resp.Header.Get(target.PeerHeader) == "" {
			return errors.New("no peer header")
		}
		if err := c.WriteMessage(websocket.TextMessage, []byte("hi")); err != nil {
			return err
		}
		_, msg, err := c.ReadMessage()
		if err == nil && string(msg) != "hi" {
			err = errors.New("bad echo")
		}
		return err
	})
	checkTunnelLogs(t, l.logs.String(), 6)
}

// TestKillSwitchEnv: ENABLED=false from the environment overlay (any case,
// any spelling of false) sends every exchange and unknown id direct.
func TestKillSwitchEnv(t *testing.T) {
	l := newLib(t)
	for _, env := range []string{"CRYPTOFEED_PROXY_ENABLED=false", "cryptofeed_proxy_enabled=Off", "Cryptofeed_Proxy_Enabled=0"} {
		s, err := runtime.ApplyEnv(l.settings(), []string{env})
		if err != nil {
			t.Fatalf("ApplyEnv(%s): %v", env, err)
		}
		l.install(t, s)
		if runtime.Installed().Enabled() {
			t.Errorf("%s: injector still enabled", env)
		}
		l.expect(t, env+": REST binance", "direct", func() error { _, err := l.get(t, "binance"); return err })
		l.expect(t, env+": REST unknown", "direct", func() error { _, err := l.get(t, "unknown"); return err })
		l.expect(t, env+": websocket binance", "direct", func() error { return l.dial(t, "binance", runtime.TransportWebSocket) })
	}
	// The same settings without the switch still proxy (the switch did it).
	l.install(t, l.settings())
	l.expect(t, "no env: REST binance", "socks5", func() error { _, err := l.get(t, "binance"); return err })
	checkTunnelLogs(t, l.logs.String(), 1)
}

// TestEnvAddsExchange: the overlay may add an exchange the spec does not
// list; a shared library reaches it by id (any case), and its other
// transport keeps the default (R4.3). Literal credentials from the
// environment (the canary) reach the proxy and nothing else.
func TestEnvAddsExchange(t *testing.T) {
	l := newLib(t)
	s, err := runtime.ApplyEnv(l.settings(), []string{
		"CRYPTOFEED_PROXY_EXCHANGES__NEWEX__HTTP__URL=http://" + proxyUser + ":" + canary + "@" + l.legacy.Addr(),
	})
	if err != nil {
		t.Fatal(err)
	}
	l.install(t, s)
	l.expect(t, "REST NewEx (env)", "legacy", func() error { _, err := l.get(t, "NewEx"); return err })
	if got := l.legacy.Last(); got.User != proxyUser || got.Password != canary {
		t.Errorf("the env credentials did not reach the proxy: %q", got.User)
	}
	l.expect(t, "websocket newex (default)", "http", func() error { return l.dial(t, "newex", runtime.TransportWebSocket) })
	if src := runtime.Installed().Source("NEWEX", runtime.TransportHTTP); src != runtime.SourceOverride {
		t.Errorf("Source(NEWEX, http) = %v, want override", src)
	}
	checkTunnelLogs(t, l.logs.String(), 2)
}

// TestLegacyFallback (requirement R2.3, docs/TRACEABILITY.md): with nothing installed everything is
// direct, or goes through the caller's legacy proxy; an installed injector
// wins, the legacy proxy fills only transports it gives no route, and never
// replaces an explicit direct: true.
func TestLegacyFallback(t *testing.T) {
	l := newLib(t)
	l.expect(t, "nothing installed: REST", "direct", func() error { _, err := l.get(t, "binance"); return err })
	l.expect(t, "nothing installed: websocket", "direct", func() error { return l.dial(t, "binance", runtime.TransportWebSocket) })

	if err := runtime.SetFallback(l.legacy.Proxy(runtime.HTTP)); err != nil {
		t.Fatal(err)
	}
	l.expect(t, "legacy only: REST", "legacy", func() error { _, err := l.get(t, "Binance"); return err })
	l.expect(t, "legacy only: websocket", "legacy", func() error { return l.dial(t, "kraken", runtime.TransportWebSocket) })

	// An injector with an http default and no websocket default.
	s := l.settings()
	s.Default.WebSocket = nil
	l.install(t, s)
	l.expect(t, "installed: REST binance (injector wins)", "socks5", func() error { _, err := l.get(t, "binance"); return err })
	l.expect(t, "installed: websocket binance (no route: legacy)", "legacy", func() error {
		return l.dial(t, "binance", runtime.TransportWebSocket)
	})
	l.expect(t, "installed: websocket kraken (direct: true beats legacy)", "direct", func() error {
		return l.dial(t, "kraken", runtime.TransportWebSocket)
	})

	runtime.Install(nil)
	if err := runtime.SetFallback(nil); err != nil {
		t.Fatal(err)
	}
	l.expect(t, "fallback removed: websocket", "direct", func() error { return l.dial(t, "binance", runtime.TransportWebSocket) })
	checkTunnelLogs(t, l.logs.String(), 4)
}

// TestFailClosed: a route that cannot be used is a *runtime.ProxyError and
// the target never sees a connection: not when the proxy refuses, not when
// the password is wrong, not when the proxy is gone, not when a ${VAR}
// credential is unresolved.
func TestFailClosed(t *testing.T) {
	l := newLib(t)
	dead := proxytest.NewSOCKS5("", "")
	deadAddr := dead.Proxy(runtime.SOCKS5)
	dead.Close()
	refusing := proxytest.NewSOCKS5("", "")
	defer refusing.Close()
	refusing.SetMisbehave(proxytest.Misbehave{ReplyCode: 0x05})
	wrongPass := l.http.Proxy(runtime.HTTP)
	wrongPass.Password = runtime.NewSecret("wrong-" + canary) // must not leak either
	unresolved := &runtime.Proxy{Scheme: runtime.SOCKS5, Host: "127.0.0.1", Port: deadAddr.Port, UserVar: "E2E_NO_SUCH_USER", PasswordVar: "E2E_NO_SUCH_PASS"}
	cases := []struct {
		name  string
		p     *runtime.Proxy
		stage runtime.Stage
		auth  bool
	}{
		{"proxy gone", deadAddr, runtime.StageConnect, false},
		{"connect refused (0x05)", refusing.Proxy(runtime.SOCKS5), runtime.StageReply, false},
		{"wrong password (407)", wrongPass, runtime.StageAuth, true},
		{"unresolved ${VAR}", unresolved, runtime.StageConfig, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := l.settings()
			s.Exchanges["binance"] = runtime.Routes{HTTP: &runtime.Route{Proxies: []*runtime.Proxy{c.p}, Timeout: 5 * time.Second},
				WebSocket: &runtime.Route{Proxies: []*runtime.Proxy{c.p}, Timeout: 5 * time.Second}}
			delete(s.Exchanges, "Binance")
			l.install(t, s)
			conns := l.tgt.Conns()
			_, err := l.get(t, "binance")
			derr := l.dial(t, "binance", runtime.TransportWebSocket)
			for _, err := range []error{err, derr} {
				var pe *runtime.ProxyError
				if !errors.As(err, &pe) {
					t.Errorf("want a *runtime.ProxyError, got %T %v", err, err)
					continue
				}
				if pe.Exchange != "binance" || pe.Stage != c.stage {
					t.Errorf("ProxyError exchange %q stage %q, want binance %q: %v", pe.Exchange, pe.Stage, c.stage, pe)
				}
				if got := errors.Is(err, runtime.ErrProxyAuth); got != c.auth {
					t.Errorf("errors.Is(err, ErrProxyAuth) = %v, want %v: %v", got, c.auth, err)
				}
				if c.stage == runtime.StageConfig && !strings.Contains(err.Error(), "E2E_NO_SUCH_") {
					t.Errorf("unresolved credential: the error does not name the variable: %v", err)
				}
			}
			time.Sleep(20 * time.Millisecond) // give a stray direct connection time to arrive
			if got := l.tgt.Conns() - conns; got != 0 {
				t.Errorf("the target accepted %d connections although the route failed (fail open)", got)
			}
		})
	}
	// Failures log at Debug, never a tunnel line, never a credential.
	if n := strings.Count(l.logs.String(), `"msg":"proxy tunnel"`); n != 0 {
		t.Errorf("%d tunnel log lines for failed dials", n)
	}
}

// checkTunnelLogs asserts exactly n "proxy tunnel" lines (one per tunnel
// the test opened through a proxy), each with the fields docs/DESIGN.md names,
// no line with a URL carrying user information.
func checkTunnelLogs(t *testing.T, logs string, n int) {
	t.Helper()
	got := 0
	for _, line := range strings.Split(strings.TrimSpace(logs), "\n") {
		if line == "" {
			continue
		}
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Errorf("log line is not JSON: %q", line)
			continue
		}
		if strings.Contains(line, "@") {
			t.Errorf("log line with user information: %s", line)
		}
		if rec["msg"] != "proxy tunnel" {
			continue
		}
		got++
		for _, k := range []string{"exchange", "transport", "scheme", "proxy", "setup"} {
			if _, ok := rec[k]; !ok {
				t.Errorf("tunnel log line lacks %q: %s", k, line)
			}
		}
	}
	if got != n {
		t.Errorf("%d tunnel log lines, want %d (one per tunnel):\n%s", got, n, logs)
	}
}
