package runtime_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/proxygen-go/proxygen/runtime"
	"github.com/proxygen-go/proxygen/runtime/proxytest"
)

// closedPort returns a loopback port nothing listens on.
func closedPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Skipf("listen: %v", err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	return port
}

// logRecords parses slog JSON lines.
func logRecords(t *testing.T, b *bytes.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(b.String()), "\n") {
		if l == "" {
			continue
		}
		var rec map[string]any
		if err := json.Unmarshal([]byte(l), &rec); err != nil {
			t.Fatalf("log line is not JSON: %q", l)
		}
		out = append(out, rec)
	}
	return out
}

// TestUnlistedIDInErrorsAndLogs: an id the settings do not list gets the
// default route, and its errors and log lines name that id (lower case),
// never DefaultRouteID, through every entry point: the injector's clients
// and dialers, the global clients over an installed injector, and the
// global clients over the legacy fallback.
func TestUnlistedIDInErrorsAndLogs(t *testing.T) {
	dead := &runtime.Proxy{Scheme: runtime.SOCKS5, Host: "127.0.0.1", Port: uint16(closedPort(t))}
	var logs bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	old := slog.Default()
	slog.SetDefault(logger) // the legacy fallback's dialers log to the default
	t.Cleanup(func() { slog.SetDefault(old); runtime.Install(nil); _ = runtime.SetFallback(nil) })

	s := runtime.Settings{Enabled: true, EnvPrefix: "PROXYGEN_TEST_NONE_",
		Default:   runtime.Routes{HTTP: &runtime.Route{Proxies: []*runtime.Proxy{dead}, Timeout: 2 * time.Second}, WebSocket: &runtime.Route{Proxies: []*runtime.Proxy{dead}, Timeout: 2 * time.Second}},
		Exchanges: map[string]runtime.Routes{"binance": {}}}
	in, err := runtime.NewInjector(s, runtime.WithLogger(logger))
	if err != nil {
		t.Fatal(err)
	}
	check := func(label, want string, err error) {
		t.Helper()
		var pe *runtime.ProxyError
		if !errors.As(err, &pe) {
			t.Fatalf("%s: %v is not a *ProxyError", label, err)
		}
		if pe.Exchange != want || strings.Contains(err.Error(), "("+runtime.DefaultRouteID) {
			t.Errorf("%s: error names exchange %q, want %q: %v", label, pe.Exchange, want, err)
		}
	}
	get := func(c *http.Client) error {
		_, err := c.Get("http://127.0.0.1:1/")
		return err
	}
	check("Injector.HTTPClient", "newex", get(in.HTTPClient("NewEx")))
	check("Injector.WebSocketHTTPClient", "newex", get(in.WebSocketHTTPClient("NewEx")))
	_, err = in.DialContext(context.Background(), "NewEx", runtime.TransportWebSocket, "tcp", "127.0.0.1:1")
	check("Injector.DialContext", "newex", err)

	runtime.Install(in)
	check("global HTTPClient", "otherex", get(runtime.HTTPClient("OtherEx")))
	check("global WebSocketHTTPClient", "otherex", get(runtime.WebSocketHTTPClient("OtherEx")))

	runtime.Install(nil)
	if err := runtime.SetFallback(dead); err != nil {
		t.Fatal(err)
	}
	check("fallback HTTPClient", "legacy", get(runtime.HTTPClient("Legacy")))
	_, err = runtime.DialContext(context.Background(), "Legacy", runtime.TransportHTTP, "tcp", "127.0.0.1:1")
	check("fallback DialContext", "legacy", err)

	seen := map[string]bool{}
	for _, rec := range logRecords(t, &logs) {
		if rec["exchange"] == runtime.DefaultRouteID {
			t.Errorf("log line names %q: %v", runtime.DefaultRouteID, rec)
		}
		seen[rec["exchange"].(string)] = true
	}
	for _, id := range []string{"newex", "otherex", "legacy"} {
		if !seen[id] {
			t.Errorf("no log line names %s:\n%s", id, logs.String())
		}
	}
}

// TestInitLogsRouteTable: Init logs the effective route table once at
// INFO, one line per exchange and transport (then the default route), with
// the scheme and the proxy's host:port; each tunnel then logs at DEBUG.
// The proxy's password is a canary that must appear in no line.
func TestInitLogsRouteTable(t *testing.T) {
	const canary = "CANARY-route-table-s3cr3t"
	e := newEcho(t, "127.0.0.1:0")
	srv := newServer(t, proxytest.Config{Kind: proxytest.SOCKS5, User: "routeuser", Password: canary})
	p := *srv.Proxy(runtime.SOCKS5H)
	p.User, p.Password, p.UserVar, p.PasswordVar = "", runtime.Secret{}, "PROXYGEN_TEST_USER", "PROXYGEN_TEST_PASS"
	t.Setenv("PROXYGEN_TEST_USER", "routeuser")
	t.Setenv("PROXYGEN_TEST_PASS", canary)
	s := runtime.Settings{Enabled: true, EnvPrefix: "PROXYGEN_TEST_NONE_",
		// A pool of two: the first member carries every dial (failover).
		Default: runtime.Routes{HTTP: &runtime.Route{Proxies: []*runtime.Proxy{&p, newServer(t, proxytest.Config{Kind: proxytest.SOCKS5}).Proxy(runtime.SOCKS5)}}},
		Exchanges: map[string]runtime.Routes{
			"binance": {HTTP: &runtime.Route{Direct: true}},
			"kraken":  {},
		}}
	var logs bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	t.Cleanup(func() { runtime.Install(nil) })
	in, err := runtime.Init(s, runtime.WithLogger(logger))
	if err != nil {
		t.Fatal(err)
	}
	c, err := in.DialContext(context.Background(), "kraken", runtime.TransportHTTP, "tcp", "127.0.0.1:"+e.port())
	if err != nil {
		t.Fatal(err)
	}
	c.Close()

	addr := srv.Addr()
	var routes, tunnels []string
	for _, rec := range logRecords(t, &logs) {
		switch rec["msg"] {
		case "proxy route":
			if rec["level"] != "INFO" {
				t.Errorf("route line at %v", rec["level"])
			}
			line := strings.Join([]string{rec["exchange"].(string), rec["transport"].(string),
				rec["scheme"].(string), rec["proxy"].(string), rec["source"].(string)}, " ")
			if n, ok := rec["pool"]; ok {
				line += fmt.Sprintf(" pool=%v strategy=%v", n, rec["strategy"])
			}
			routes = append(routes, line)
		case "proxy tunnel":
			if rec["level"] != "DEBUG" || rec["exchange"] != "kraken" || rec["proxy"] != addr {
				t.Errorf("tunnel line: %v", rec)
			}
			tunnels = append(tunnels, rec["exchange"].(string))
		default:
			t.Errorf("unexpected log line: %v", rec)
		}
	}
	want := []string{
		"binance http direct  override",
		"binance websocket direct  direct",
		"kraken http socks5h " + addr + " default pool=2 strategy=failover",
		"kraken websocket direct  direct",
		"(default) http socks5h " + addr + " default pool=2 strategy=failover",
		"(default) websocket direct  direct",
	}
	if !slices.Equal(routes, want) {
		t.Errorf("route table:\n%s\nwant:\n%s", strings.Join(routes, "\n"), strings.Join(want, "\n"))
	}
	if len(tunnels) != 1 {
		t.Errorf("%d tunnel lines, want 1", len(tunnels))
	}
	if out := logs.String(); strings.Contains(out, canary) || strings.Contains(out, "routeuser") || strings.Contains(out, "@") {
		t.Errorf("a credential reached the logs:\n%s", out)
	}

	// At INFO, a program sees the table and no tunnel line.
	logs.Reset()
	logger = slog.New(slog.NewJSONHandler(&logs, nil))
	if in, err = runtime.Init(s, runtime.WithLogger(logger)); err != nil {
		t.Fatal(err)
	}
	if c, err = in.DialContext(context.Background(), "kraken", runtime.TransportHTTP, "tcp", "127.0.0.1:"+e.port()); err != nil {
		t.Fatal(err)
	}
	c.Close()
	if n := strings.Count(logs.String(), "\n"); n != len(want) || strings.Contains(logs.String(), "proxy tunnel") {
		t.Errorf("at INFO: %d lines, want the %d route lines only:\n%s", n, len(want), logs.String())
	}
}
