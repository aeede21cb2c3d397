package observe

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/proxygen-go/proxygen/internal/testenv"
	"github.com/proxygen-go/proxygen/internal/testenv/realproxy"
	"github.com/proxygen-go/proxygen/internal/testenv/target"
	"github.com/proxygen-go/proxygen/observe/proxyprom"
	"github.com/proxygen-go/proxygen/runtime"
)

func TestMain(m *testing.M) { os.Exit(realproxy.Main(m)) }

// serveMetrics serves reg's /metrics with promhttp on a loopback port, as a
// program would, and returns the host:port.
func serveMetrics(t *testing.T, reg *prometheus.Registry) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().String()
}

// TestRealPrometheusRealProxies is issue 13's end-to-end proof. A program
// side injector routes binance's REST and WebSocket through a pool [a dead
// loopback port, a real danted] (one failure ejects) and kraken's
// WebSocket through a real squid with Basic auth (a canary password); it
// installs observe/proxyprom and serves /metrics with promhttp. A real
// Prometheus server scrapes it every second while the program makes real
// dials: REST through in.HTTPClient, WebSocket through
// in.WebSocketDialContext with gorilla, the first REST dial failing over
// from the dead member (which is ejected), a WebSocket held open across
// scrapes. The test then asks Prometheus's HTTP API for every counter and
// compares each with what the program did (and with Injector.Stats), checks
// that proxygen_proxy_up is 0 for the dead member and only for it, and runs
// promtool check metrics on the exposition.
func TestRealPrometheusRealProxies(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real proxies and a real Prometheus server")
	}
	promBin := needTool(t, "prometheus")
	promtool := needTool(t, "promtool")
	dante := realproxy.Dante(t)
	squid := realproxy.Squid(t, "feeduser", testenv.Canary, nil, nil)
	tgt := target.Start(t, nil)

	deadAddr := fmt.Sprintf("127.0.0.1:%d", realproxy.FreePort(t)) // nothing listens
	dead := "socks5://" + deadAddr
	live := "socks5://" + dante.Addr
	sq := "http://" + squid.Addr
	px := func(scheme runtime.Scheme, addr string) *runtime.Proxy {
		host, port, err := net.SplitHostPort(addr)
		if err != nil {
			t.Fatal(err)
		}
		var p uint16
		fmt.Sscan(port, &p)
		return &runtime.Proxy{Scheme: scheme, Host: host, Port: p}
	}
	pool := func() *runtime.Route {
		return &runtime.Route{
			Proxies: []*runtime.Proxy{px(runtime.SOCKS5, deadAddr), px(runtime.SOCKS5, dante.Addr)},
			Timeout: 10 * time.Second,
			// One failure ejects for longer than the test: the dead member
			// stays down, and later dials go straight to danted.
			Eject: runtime.EjectPolicy{AfterFailures: 1, Duration: 10 * time.Minute, MaxDuration: 10 * time.Minute},
		}
	}
	sqProxy := px(runtime.HTTP, squid.Addr)
	sqProxy.User, sqProxy.Password = squid.User, runtime.NewSecret(squid.Pass)
	settings := runtime.Settings{Enabled: true, Lock: true, Exchanges: map[string]runtime.Routes{
		"binance": {HTTP: pool(), WebSocket: pool()},
		"kraken":  {WebSocket: &runtime.Route{Proxies: []*runtime.Proxy{sqProxy}, Timeout: 10 * time.Second}},
	}}

	reg := prometheus.NewRegistry()
	obs, err := proxyprom.NewObserver(reg)
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	in, err := runtime.NewInjector(settings, runtime.WithObserver(obs), runtime.WithLogger(logger),
		runtime.WithClientTLSConfig(tgt.ClientTLS("")))
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	defer in.CloseIdleConnections()

	metricsAddr := serveMetrics(t, reg)
	ps := startPrometheus(t, promBin, metricsAddr)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	raw, err := ps.waitValue(ctx, `up{job="proxygen"}`, 1)
	if err != nil {
		t.Fatalf("Prometheus never scraped %s: %v", metricsAddr, err)
	}
	t.Logf("GET /api/v1/query?query=up{job=\"proxygen\"} -> %s", raw)

	// What the program does, counted by the program.
	var restOK, wsOK = map[string]int{}, map[string]int{}
	rest := func() {
		t.Helper()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, tgt.URL("http", "127.0.0.1", "/ping"), nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Close = true // a new tunnel per request: one dial each
		resp, err := in.HTTPClient("binance").Do(req)
		if err != nil {
			t.Fatalf("binance REST: %v", err)
		}
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("binance REST: %s %v", resp.Status, err)
		}
		restOK["binance"]++
	}
	// ws opens a WebSocket (wss) through the exchange's route, checks an
	// echo and returns the connection.
	ws := func(exchange string) *websocket.Conn {
		t.Helper()
		d := websocket.Dialer{NetDialContext: in.WebSocketDialContext(exchange), TLSClientConfig: tgt.ClientTLS(""), HandshakeTimeout: 10 * time.Second}
		c, _, err := d.DialContext(ctx, tgt.URL("wss", "127.0.0.1", "/ws"), nil)
		if err != nil {
			t.Fatalf("%s WebSocket: %v", exchange, err)
		}
		msg := "trade " + exchange
		if err := c.WriteMessage(websocket.TextMessage, []byte(msg)); err != nil {
			t.Fatal(err)
		}
		if _, got, err := c.ReadMessage(); err != nil || string(got) != msg {
			t.Fatalf("%s WebSocket echo: %q %v", exchange, got, err)
		}
		wsOK[exchange]++
		return c
	}

	// Phase 1: the first REST dial fails over from the dead member, which
	// one failure ejects. Prometheus sees it while the program runs.
	rest()
	for _, w := range []struct {
		q    string
		want float64
	}{
		{`proxygen_failovers_total{exchange="binance",transport="http"}`, 1},
		{fmt.Sprintf(`proxygen_proxy_up{proxy=%q}`, dead), 0},
	} {
		raw, err := ps.waitValue(ctx, w.q, w.want)
		if err != nil {
			t.Fatalf("after the failover: %v", err)
		}
		t.Logf("after the failover: GET /api/v1/query?query=%s -> %s", w.q, raw)
	}

	// Phase 2: more REST dials and WebSocket streams, straight to danted
	// now (the dead member is ejected), and kraken through squid; one
	// kraken stream is held open across scrapes.
	rest()
	rest()
	ws("binance").Close()
	ws("binance").Close()
	held := ws("kraken")
	openQ := fmt.Sprintf(`proxygen_tunnels_open{exchange="kraken",transport="websocket",proxy=%q}`, sq)
	raw, err = ps.waitValue(ctx, openQ, 1)
	if err != nil {
		t.Errorf("while a kraken stream is open: %v", err)
	}
	t.Logf("while a kraken stream is open: GET /api/v1/query?query=%s -> %s", openQ, raw)
	held.Close()
	ws("kraken").Close()

	// What the program did, as Prometheus saw it.
	want := []struct {
		q    string
		want float64
	}{
		{`proxygen_dials_total{exchange="binance",transport="http",result="ok"}`, float64(restOK["binance"])},
		{`proxygen_dials_total{exchange="binance",transport="websocket",result="ok"}`, float64(wsOK["binance"])},
		{`proxygen_dials_total{exchange="kraken",transport="websocket",result="ok"}`, float64(wsOK["kraken"])},
		{`sum(proxygen_dials_total)`, float64(restOK["binance"] + wsOK["binance"] + wsOK["kraken"])},
		{`count(proxygen_dials_total{result="error"}) or vector(0)`, 0},
		{`proxygen_dial_duration_seconds_count{exchange="binance",transport="http"}`, float64(restOK["binance"])},
		{`proxygen_failovers_total{exchange="binance",transport="http"}`, 1},
		{`proxygen_failovers_total{exchange="binance",transport="websocket"}`, 0},
		{fmt.Sprintf(`proxygen_proxy_attempts_total{exchange="binance",transport="http",proxy=%q,result="error"}`, dead), 1},
		{fmt.Sprintf(`sum(proxygen_proxy_attempts_total{proxy=%q})`, dead), 1},
		{fmt.Sprintf(`proxygen_proxy_attempts_total{exchange="binance",transport="http",proxy=%q,result="ok"}`, live), float64(restOK["binance"])},
		{fmt.Sprintf(`proxygen_proxy_attempts_total{exchange="binance",transport="websocket",proxy=%q,result="ok"}`, live), float64(wsOK["binance"])},
		{fmt.Sprintf(`proxygen_proxy_attempts_total{exchange="kraken",transport="websocket",proxy=%q,result="ok"}`, sq), float64(wsOK["kraken"])},
		{fmt.Sprintf(`proxygen_proxy_failures_total{exchange="binance",transport="http",proxy=%q,stage="connect"}`, dead), 1},
		{`sum(proxygen_proxy_failures_total)`, 1},
		{fmt.Sprintf(`proxygen_proxy_handshake_seconds_count{exchange="binance",transport="websocket",proxy=%q}`, live), float64(wsOK["binance"])},
		{fmt.Sprintf(`proxygen_proxy_ejections_total{proxy=%q}`, dead), 1},
		{fmt.Sprintf(`proxygen_proxy_ejections_total{proxy=%q}`, live), 0},
		{fmt.Sprintf(`proxygen_proxy_up{proxy=%q}`, dead), 0},
		{fmt.Sprintf(`proxygen_proxy_up{proxy=%q}`, live), 1},
		{fmt.Sprintf(`proxygen_proxy_up{proxy=%q}`, sq), 1},
		{openQ, 0},
		{`sum(proxygen_tunnels_open)`, 0},
	}
	for _, w := range want {
		raw, err := ps.waitValue(ctx, w.q, w.want)
		if err != nil {
			t.Errorf("%v", err)
			continue
		}
		t.Logf("GET /api/v1/query?query=%s -> %s", w.q, raw)
	}
	// The dead member, and only it, is down.
	q := `proxygen_proxy_up == 0`
	raw, r, err := ps.query(q)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("GET /api/v1/query?query=%s -> %s", q, raw)
	if len(r.Data.Result) != 1 || r.Data.Result[0].Metric["proxy"] != dead {
		t.Errorf("%s: want exactly proxy=%q, got %s", q, dead, raw)
	}

	// The injector's own Stats agree.
	st := in.Stats()
	for _, rs := range st.Routes {
		if rs.Exchange == "binance" && rs.Transport == runtime.TransportHTTP &&
			(rs.DialsOK != uint64(restOK["binance"]) || rs.Failovers != 1 || rs.Failures[runtime.StageConnect] != 1) {
			t.Errorf("Stats binance http: %+v", rs)
		}
	}
	var sawDead bool
	for _, m := range st.Members {
		if m.Proxy == dead {
			sawDead = true
			if m.State != runtime.Ejected || m.Ejections != 1 {
				t.Errorf("Stats of the dead member: %+v, want ejected once", m)
			}
		}
	}
	if !sawDead {
		t.Errorf("Stats lack the dead member %s: %+v", dead, st.Members)
	}
	var table strings.Builder
	if err := st.WriteTable(&table); err != nil {
		t.Fatal(err)
	}
	t.Logf("Injector.Stats:\n%s", table.String())

	// promtool check metrics on the exposition the program serves.
	resp, err := http.Get("http://" + metricsAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	expo, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = bytes.NewReader(expo)
	out, err := cmd.CombinedOutput()
	t.Logf("promtool check metrics (%d bytes of exposition): exit %v, output %q", len(expo), cmd.ProcessState.ExitCode(), out)
	if err != nil {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}
	for _, name := range []string{"proxygen_dials_total", "proxygen_dial_duration_seconds", "proxygen_proxy_attempts_total",
		"proxygen_proxy_failures_total", "proxygen_proxy_handshake_seconds", "proxygen_failovers_total",
		"proxygen_proxy_up", "proxygen_proxy_ejections_total", "proxygen_tunnels_open"} {
		if !bytes.Contains(expo, []byte("# TYPE "+name+" ")) {
			t.Errorf("the exposition lacks %s", name)
		}
	}
	testenv.NoCanary(t, "the /metrics exposition", expo)
	testenv.NoCanary(t, "the injector's logs", logs.String())
	testenv.NoCanary(t, "the Stats table", table.String())
}
