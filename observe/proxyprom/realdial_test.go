package proxyprom

import (
	"context"
	"fmt"
	"io"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/proxygen-go/proxygen/runtime"
	"github.com/proxygen-go/proxygen/runtime/proxytest"
)

// echoTarget is a loopback TCP target that echoes; it returns host:port.
func echoTarget(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_, _ = io.Copy(c, c)
			}()
		}
	}()
	return ln.Addr().String()
}

// refusedPort returns a loopback port nothing listens on.
func refusedPort(t *testing.T) uint16 {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	return uint16(port)
}

// realDials dials n times through a two-member pool (a refused port first,
// a live SOCKS5 server second, ejection after one failure) with o as the
// pool's observer, echoes through every tunnel, and reports each tunnel to
// o as the injector does. It returns the open tunnels and the members'
// names.
func realDials(t *testing.T, obs runtime.Observer, n int) (tunnels []net.Conn, dead, live string) {
	t.Helper()
	target := echoTarget(t)
	srv := proxytest.NewSOCKS5("u", "CANARY-prom-pw")
	t.Cleanup(srv.Close)
	deadP := &runtime.Proxy{Scheme: runtime.SOCKS5, Host: "127.0.0.1", Port: refusedPort(t), User: "u", Password: runtime.NewSecret("CANARY-prom-pw")}
	p, err := runtime.NewPool(runtime.PoolConfig{
		Members:  []*runtime.Proxy{deadP, srv.Proxy(runtime.SOCKS5)},
		Policy:   runtime.PoolPolicy{Eject: runtime.EjectPolicy{AfterFailures: 1, Duration: 10 * time.Minute, MaxDuration: time.Hour}},
		Dialer:   runtime.Dialer{Exchange: "binance", Transport: runtime.TransportWebSocket},
		Observer: obs,
	})
	if err != nil {
		t.Fatal(err)
	}
	dead, live = fmt.Sprintf("socks5://127.0.0.1:%d", deadP.Port), "socks5://"+srv.Addr()
	for i := range n {
		c, err := p.DialContext(context.Background(), "tcp", target)
		if err != nil {
			t.Fatalf("dial %d: %v", i, err)
		}
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		msg := fmt.Sprintf("ping %d", i)
		if _, err := io.WriteString(c, msg); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, len(msg))
		if _, err := io.ReadFull(c, buf); err != nil || string(buf) != msg {
			t.Fatalf("echo %q %v", buf, err)
		}
		tunnels = append(tunnels, c)
	}
	return tunnels, dead, live
}

func closeTunnels(obs runtime.Observer, cs []net.Conn, live string) {
	// The pool wraps each tunnel (its observer watches tunnels): closing
	// it reports TunnelClose.
	for _, c := range cs {
		c.Close()
	}
}

// TestRealPrometheusRealDials drives real dials through a pool of a dead
// and a live proxy while a real Prometheus server scrapes, then asserts
// through its HTTP API that the counters equal what the program did: 5
// dials, 6 attempts (the first dial fails over from the refused member,
// which is then ejected and skipped), one connect failure, one failover,
// the dead member down and 2 tunnels still open; promtool check metrics
// passes on the exposition.
func TestRealPrometheusRealDials(t *testing.T) {
	bin := needTool(t, "prometheus")
	promtool := needTool(t, "promtool")
	o, reg := newObserver(t)
	target := serveMetrics(t, reg)
	ps := startPrometheus(t, bin, target)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	if _, err := ps.waitValue(ctx, `up{job="proxygen"}`, 1); err != nil {
		t.Fatalf("Prometheus never scraped %s: %v", target, err)
	}

	const n = 5
	tunnels, dead, live := realDials(t, o, n)
	closeTunnels(o, tunnels[:n-2], live)
	defer closeTunnels(o, tunnels[n-2:], live)

	route := `exchange="binance",transport="websocket"`
	for _, w := range []struct {
		query string
		value float64
	}{
		{`proxygen_dials_total{` + route + `,result="ok"}`, n},
		{`sum(proxygen_dials_total)`, n},
		{`sum(proxygen_proxy_attempts_total)`, n + 1},
		{`proxygen_proxy_attempts_total{proxy="` + live + `",result="ok"}`, n},
		{`proxygen_proxy_attempts_total{proxy="` + dead + `",result="error"}`, 1},
		{`proxygen_proxy_failures_total{proxy="` + dead + `",stage="connect"}`, 1},
		{`sum(proxygen_proxy_failures_total)`, 1},
		{`proxygen_failovers_total{` + route + `}`, 1},
		{`proxygen_proxy_up{proxy="` + dead + `"}`, 0},
		{`proxygen_proxy_ejections_total{proxy="` + dead + `"}`, 1},
		{`proxygen_tunnels_open{proxy="` + live + `"}`, 2},
	} {
		raw, err := ps.waitValue(ctx, w.query, w.value)
		if err != nil {
			t.Errorf("%v", err)
			continue
		}
		t.Logf("GET /api/v1/query?query=%s -> %s", w.query, raw)
	}
	q := `proxygen_proxy_up == 0`
	raw, r, err := ps.query(q)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("GET /api/v1/query?query=%s -> %s", q, raw)
	if len(r.Data.Result) != 1 || r.Data.Result[0].Metric["proxy"] != dead {
		t.Errorf("%s: want exactly proxy=%q, got %s", q, dead, raw)
	}

	body := scrape(t, reg)
	if strings.Contains(body, "CANARY-prom-pw") {
		t.Fatal("credential in the exposition")
	}
	cmd := exec.CommandContext(ctx, promtool, "check", "metrics")
	cmd.Stdin = strings.NewReader(body)
	out, err := cmd.CombinedOutput()
	t.Logf("promtool check metrics (exit %v) on %d lines of exposition: %q", cmd.ProcessState.ExitCode(), strings.Count(body, "\n"), out)
	if err != nil || len(strings.TrimSpace(string(out))) != 0 {
		t.Fatalf("promtool check metrics: %v\n%s", err, out)
	}
}
