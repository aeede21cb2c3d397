package main

import (
	"bytes"
	"context"
	"log/slog"
	"regexp"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// TestDemo runs the whole example offline and checks, for every exchange and
// transport, the route it took and what arrived, then counts at the proxies
// that each tunnel went where the spec says.
func TestDemo(t *testing.T) {
	const canary = "CANARY-s3cr3t"
	t.Setenv("FEED_PROXY_PASS", canary) // the proxies expect it too
	var out, logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	reg := prometheus.NewRegistry()
	if err := run(context.Background(), &out, 3, logger, reg); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	got := out.String()
	t.Log("\n" + got)
	for _, want := range []string{
		`binance http https://127.0.0.1:28443 GET 200 OK {"exchange":"binance"`,
		`binance websocket socks5h://127.0.0.1:21080 wss gorilla: 3/3 trades`,
		`bybit http http://***@127.0.0.1:23128 GET 200 OK {"exchange":"bybit"`,
		`bybit websocket socks5h://127.0.0.1:21079,socks5h://127.0.0.1:21080 ws gorilla: 3/3 trades`,
		`coinbase http socks5://***@127.0.0.1:21081 GET 200 OK`,
		`coinbase websocket socks5h://127.0.0.1:21080 wss coder/websocket: 3/3 trades`,
		`deribit websocket socks4a://***@127.0.0.1:21082 ws gorilla: 3/3 trades`,
		`kraken websocket direct wss gorilla: 3/3 trades`,
		`okx http direct GET 200 OK`,
		`connections the simulator accepted: 12 (10 through proxies, 2 direct)`,
		// The injector's Stats table: the pool's down member failed its
		// connect, was ejected after one failure, and the dial failed over.
		`the injector's view (Injector.Stats): 12 tunnels opened, `,
		`PROXY STATE UNTIL FAILS EJECTIONS HANDSHAKE OK FAILED TUNNELS`,
		`socks5h://127.0.0.1:21079 ejected `,
		`bybit websocket 1 0 2 1 connect=1 0`,
		`EXCHANGE TRANSPORT DIALS OK DIALS FAILED ATTEMPTS FAILOVERS FAILURES TUNNELS`,
	} {
		if !spaced(want).MatchString(got) {
			t.Errorf("output lacks %q", want)
		}
	}
	// Three REST routes share the HTTP proxy; their clients keep the
	// tunnels open (idle keep-alive): the observer lets Stats see it. Its
	// handshake time is measured (a duration, not "-").
	if !regexp.MustCompile(`(?m)^http://127\.0\.0\.1:23128\s+up\s+-\s+0\s+0\s+[0-9.]+(µs|ms|s)\s+3\s+0\s+3$`).MatchString(got) {
		t.Errorf("the Stats table does not show the HTTP proxy up, measured, with 3 dials and 3 open tunnels")
	}
	if !regexp.MustCompile(`(?m)^socks5h://127\.0\.0\.1:21079\s+ejected\s+\d\d:\d\d:\d\d\s+\d+\s+1\s+-\s+0\s+1\s+0$`).MatchString(got) {
		t.Errorf("the Stats table does not show the down member ejected once with one failed attempt")
	}

	// The same run's Prometheus metrics (the -metrics flag serves reg).
	if v, ok := metricValue(t, reg, "proxygen_proxy_up", map[string]string{"proxy": "socks5h://127.0.0.1:21079"}); !ok || v != 0 {
		t.Errorf("proxygen_proxy_up of the down member = %v (found %v), want 0", v, ok)
	}
	if v, ok := metricValue(t, reg, "proxygen_failovers_total", map[string]string{"exchange": "bybit", "transport": "websocket"}); !ok || v != 1 {
		t.Errorf("proxygen_failovers_total{bybit,websocket} = %v (found %v), want 1", v, ok)
	}
	if v, ok := metricValue(t, reg, "proxygen_dials_total", map[string]string{"exchange": "okx", "transport": "websocket", "result": "ok"}); !ok || v != 1 {
		t.Errorf("proxygen_dials_total{okx,websocket,ok} = %v (found %v), want 1", v, ok)
	}
	for label, n := range map[string]string{
		"http CONNECT (Basic auth)": "3", "https CONNECT over TLS": "1", "socks5 (user/pass)": "1",
		"socks5h": "4", "socks4a (user id)": "1",
	} {
		re := regexp.MustCompile(`(?m)^  ` + regexp.QuoteMeta(label) + `\s+127\.0\.0\.1:\d+\s+` + n + ` tunnels`)
		if !re.MatchString(got) {
			t.Errorf("proxy %q did not report %s tunnels", label, n)
		}
	}
	// socks5 resolves locally (an address reached the proxy); socks5h,
	// socks4a and HTTP proxies received the host name.
	if !regexp.MustCompile(`socks5 \(user/pass\)\s+\S+\s+1 tunnels\s+127\.0\.0\.1:\d+\n`).MatchString(got) {
		t.Errorf("socks5 proxy did not receive an address")
	}
	if strings.Contains(got, "FAILED:") {
		t.Errorf("a route failed")
	}
	if strings.Contains(got+logs.String(), canary) {
		t.Errorf("the proxy password appeared in the output or the logs")
	}
	if n := strings.Count(logs.String(), "\n"); n < 10 {
		t.Errorf("want a log line per tunnel (10), got %d lines:\n%s", n, logs.String())
	}
}

// spaced matches s with each run of spaces standing for any run of blanks
// (the tables are aligned by tabwriter).
func spaced(s string) *regexp.Regexp {
	parts := strings.Fields(s)
	for i, p := range parts {
		parts[i] = regexp.QuoteMeta(p)
	}
	return regexp.MustCompile(strings.Join(parts, `[ \t]+`))
}

// metricValue returns the value of the counter or gauge name whose labels
// include want.
func metricValue(t *testing.T, reg *prometheus.Registry, name string, want map[string]string) (float64, bool) {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	metric:
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, lp := range m.GetLabel() {
				labels[lp.GetName()] = lp.GetValue()
			}
			for k, v := range want {
				if labels[k] != v {
					continue metric
				}
			}
			switch {
			case m.GetCounter() != nil:
				return m.GetCounter().GetValue(), true
			case m.GetGauge() != nil:
				return m.GetGauge().GetValue(), true
			}
		}
	}
	return 0, false
}
