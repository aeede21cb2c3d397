// Command driver is the end-to-end test's feed handler. The test copies it
// into a throw-away module next to a package generated from a spec that
// points at real proxy servers, builds it and runs it.
//
// For every exchange of the spec (or those in E2E_ONLY) it does a REST GET
// twice with HTTPClient(e) and a WebSocket echo over ws:// and wss:// with
// gorilla/websocket, coder/websocket and gobwas/ws, and prints one ROW line
// per (exchange, transport, client, url scheme) with the result and the
// peer address the target saw. It then prints READY and keeps every
// connection open until its stdin closes, so that the test can find out
// which process holds the other end of each connection.
//
// Logs go to stderr as slog JSON at Debug.
//
// Environment: E2E_TARGET_HTTPS and E2E_TARGET_HTTP (host:port of the
// target), SSL_CERT_FILE (the target's CA), E2E_ONLY (comma-separated ids).
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	coder "github.com/coder/websocket"
	gobwas "github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
	"github.com/gorilla/websocket"

	"github.com/proxygen-go/proxygen/runtime"

	"e2edriver/proxies"
)

const step = 20 * time.Second

var out = bufio.NewWriter(os.Stdout)

type ping struct {
	Pong  bool   `json:"pong"`
	Peer  string `json:"peer"`
	Proto string `json:"proto"`
}

// route prints a route the way the matrix shows it (redacted).
func route(p *runtime.Proxy) string {
	if p == nil {
		return "direct"
	}
	return p.String()
}

// row prints one result line. err == nil means ok.
func row(ex, transport, client, scheme, rt, peer string, err error, extra string) {
	result := "ok"
	if err != nil {
		result = "error"
		extra += fmt.Sprintf(" err=%q", err.Error())
	}
	fmt.Fprintf(out, "ROW exchange=%s transport=%s client=%s url=%s route=%s result=%s peer=%s%s\n",
		ex, transport, client, scheme, rt, result, peer, extra)
	out.Flush()
}

var closers []io.Closer

type closeFunc func() error

func (f closeFunc) Close() error { return f() }

func rest(ctx context.Context, ex string, c *http.Client, rt string) {
	u := "https://" + os.Getenv("E2E_TARGET_HTTPS") + "/ping"
	var peers []string
	var proto string
	for range 2 { // the second GET must reuse the kept-alive connection
		rctx, cancel := context.WithTimeout(ctx, step)
		req, _ := http.NewRequestWithContext(rctx, http.MethodGet, u, nil)
		resp, err := c.Do(req)
		if err != nil {
			cancel()
			row(ex, "http", "nethttp", "https", rt, "-", err, "")
			return
		}
		var p ping
		err = json.NewDecoder(resp.Body).Decode(&p)
		resp.Body.Close()
		cancel()
		if err == nil && !p.Pong {
			err = fmt.Errorf("status %s, no pong", resp.Status)
		}
		if err != nil {
			row(ex, "http", "nethttp", "https", rt, "-", err, "")
			return
		}
		peers = append(peers, p.Peer)
		proto = p.Proto
	}
	var err error
	if peers[0] != peers[1] {
		err = fmt.Errorf("second GET came from %s, not the kept-alive connection %s", peers[1], peers[0])
	}
	row(ex, "http", "nethttp", "https", rt, peers[0], err, " proto="+proto+" reused="+fmt.Sprint(peers[0] == peers[1]))
}

func wsURL(scheme string) string {
	if scheme == "wss" {
		return "wss://" + os.Getenv("E2E_TARGET_HTTPS") + "/ws"
	}
	return "ws://" + os.Getenv("E2E_TARGET_HTTP") + "/ws"
}

func gorillaEcho(ctx context.Context, ex, scheme, rt string, dial func(ctx context.Context, network, addr string) (net.Conn, error)) {
	d := websocket.Dialer{NetDialContext: dial, HandshakeTimeout: step}
	dctx, cancel := context.WithTimeout(ctx, step)
	defer cancel()
	c, resp, err := d.DialContext(dctx, wsURL(scheme), nil)
	if err != nil {
		row(ex, "websocket", "gorilla", scheme, rt, "-", err, "")
		return
	}
	closers = append(closers, c.NetConn())
	peer := resp.Header.Get("X-Target-Peer")
	msg := "gorilla " + ex + " " + scheme
	c.SetReadDeadline(time.Now().Add(step))
	if err = c.WriteMessage(websocket.TextMessage, []byte(msg)); err == nil {
		var got []byte
		if _, got, err = c.ReadMessage(); err == nil && string(got) != msg {
			err = fmt.Errorf("echo %q, want %q", got, msg)
		}
	}
	c.SetReadDeadline(time.Time{})
	row(ex, "websocket", "gorilla", scheme, rt, peer, err, "")
}

func coderEcho(ctx context.Context, ex, scheme, rt string, hc *http.Client) {
	dctx, cancel := context.WithTimeout(ctx, step)
	defer cancel()
	c, resp, err := coder.Dial(dctx, wsURL(scheme), &coder.DialOptions{HTTPClient: hc})
	if err != nil {
		row(ex, "websocket", "coder", scheme, rt, "-", err, "")
		return
	}
	closers = append(closers, closeFunc(func() error { return c.CloseNow() }))
	peer := resp.Header.Get("X-Target-Peer")
	msg := "coder " + ex + " " + scheme
	if err = c.Write(dctx, coder.MessageText, []byte(msg)); err == nil {
		var got []byte
		if _, got, err = c.Read(dctx); err == nil && string(got) != msg {
			err = fmt.Errorf("echo %q, want %q", got, msg)
		}
	}
	row(ex, "websocket", "coder", scheme, rt, peer, err, "")
}

func gobwasEcho(ctx context.Context, ex, scheme, rt string, dial func(ctx context.Context, network, addr string) (net.Conn, error)) {
	var peer string
	d := gobwas.Dialer{
		NetDial: dial,
		Timeout: step,
		OnHeader: func(key, value []byte) error {
			if strings.EqualFold(string(key), "X-Target-Peer") {
				peer = string(value)
			}
			return nil
		},
	}
	dctx, cancel := context.WithTimeout(ctx, step)
	defer cancel()
	c, br, _, err := d.Dial(dctx, wsURL(scheme))
	if err != nil {
		row(ex, "websocket", "gobwas", scheme, rt, "-", err, "")
		return
	}
	if br != nil {
		gobwas.PutReader(br)
	}
	closers = append(closers, c)
	msg := "gobwas " + ex + " " + scheme
	c.SetDeadline(time.Now().Add(step))
	if err = wsutil.WriteClientText(c, []byte(msg)); err == nil {
		var got []byte
		if got, err = wsutil.ReadServerText(c); err == nil && string(got) != msg {
			err = fmt.Errorf("echo %q, want %q", got, msg)
		}
	}
	c.SetDeadline(time.Time{})
	row(ex, "websocket", "gobwas", scheme, rt, peer, err, "")
}

func main() {
	slog.SetDefault(slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if err := proxies.Init(); err != nil {
		fmt.Fprintf(out, "INIT error=%q\n", err.Error())
		out.Flush()
		os.Exit(3)
	}
	fmt.Fprintf(out, "INIT ok\n")
	only := strings.Split(os.Getenv("E2E_ONLY"), ",")
	ctx, cancel := context.WithCancel(context.Background())
	for _, e := range proxies.Exchanges() {
		ex := e.String()
		if os.Getenv("E2E_ONLY") != "" && !slices.Contains(only, ex) {
			continue
		}
		rest(ctx, ex, proxies.HTTPClient(e), route(proxies.HTTPProxy(e)))
		rt := route(proxies.WebSocketProxy(e))
		for _, scheme := range []string{"ws", "wss"} {
			gorillaEcho(ctx, ex, scheme, rt, proxies.WebSocketDialContext(e))
			coderEcho(ctx, ex, scheme, rt, proxies.WebSocketHTTPClient(e))
			gobwasEcho(ctx, ex, scheme, rt, proxies.WebSocketDialContext(e))
		}
	}
	if os.Getenv("E2E_ONLY") == "" {
		// A shared feed library that does not import the generated package:
		// the global injector Init installed, by string id. An id the spec
		// does not list gets the default routes; ids are case-insensitive.
		in := runtime.Installed()
		rest(ctx, "lib:Unlisted", runtime.HTTPClient("Unlisted"), route(in.Proxy("unlisted", runtime.TransportHTTP)))
		gorillaEcho(ctx, "lib:Unlisted", "wss", route(in.Proxy("unlisted", runtime.TransportWebSocket)), runtime.WebSocketDialContext("Unlisted"))
		gorillaEcho(ctx, "lib:BINANCE", "wss", route(in.Proxy("binance", runtime.TransportWebSocket)), runtime.WebSocketDialContext("BINANCE"))
	}
	fmt.Fprintf(out, "READY\n")
	out.Flush()
	io.Copy(io.Discard, os.Stdin) // hold every connection until the test has looked
	cancel()
	for _, c := range closers {
		c.Close()
	}
	fmt.Fprintf(out, "DONE\n")
	out.Flush()
}
