package main

import (
	"bytes"
	"context"
	"log/slog"
	"regexp"
	"strings"
	"testing"
)

// TestDemo runs the whole example offline and checks, for every exchange and
// transport, the route it took and what arrived, then counts at the proxies
// that each tunnel went where the spec says.
func TestDemo(t *testing.T) {
	const canary = "CANARY-s3cr3t"
	t.Setenv("FEED_PROXY_PASS", canary) // the proxies expect it too
	var out, logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	if err := run(context.Background(), &out, 3, logger); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	got := out.String()
	t.Log("\n" + got)
	for _, want := range []string{
		`binance   http       https://127.0.0.1:28443        GET 200 OK {"exchange":"binance"`,
		`binance   websocket  socks5h://127.0.0.1:21080      wss gorilla: 3/3 trades`,
		`bybit     http       http://***@127.0.0.1:23128     GET 200 OK {"exchange":"bybit"`,
		`coinbase  http       socks5://***@127.0.0.1:21081   GET 200 OK`,
		`coinbase  websocket  socks5h://127.0.0.1:21080      wss coder/websocket: 3/3 trades`,
		`deribit   websocket  socks4a://***@127.0.0.1:21082  ws gorilla: 3/3 trades`,
		`kraken    websocket  direct                         wss gorilla: 3/3 trades`,
		`okx       http       direct                         GET 200 OK`,
		`connections the simulator accepted: 12 (10 through proxies, 2 direct)`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q", want)
		}
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
	if strings.Contains(got, "FAILED") {
		t.Errorf("a route failed")
	}
	if strings.Contains(got+logs.String(), canary) {
		t.Errorf("the proxy password appeared in the output or the logs")
	}
	if n := strings.Count(logs.String(), "\n"); n < 10 {
		t.Errorf("want a log line per tunnel (10), got %d lines:\n%s", n, logs.String())
	}
}
