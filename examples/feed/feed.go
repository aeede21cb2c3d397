package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/coder/websocket"
	gorilla "github.com/gorilla/websocket"

	"github.com/proxygen-go/proxygen/examples/feed/proxies"
	"github.com/proxygen-go/proxygen/runtime"
	"github.com/proxygen-go/proxygen/runtime/proxytest"
)

// This file is the part of the example a feed handler writes: no proxy
// code, only the generated clients and dialers.

// fetchTicker polls the exchange's REST ticker with its generated client.
func fetchTicker(ctx context.Context, e proxies.Exchange, url string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	resp, err := proxies.HTTPClient(e).Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("status %s", resp.Status)
	}
	return "GET " + resp.Status + " " + trimJSON(b), nil
}

// streamTrades reads messages trades from the exchange's WebSocket stream.
// The first, third, ... exchange (constants start at 1: odd values) use
// wss://, the others ws://; coinbase uses coder/websocket
// with the generated HTTP/1.1 client, the rest gorilla with the generated
// dialer.
func streamTrades(ctx context.Context, e proxies.Exchange, sim *simulator, messages int) (string, error) {
	secure := e%2 == 1
	url := fmt.Sprintf("%s?n=%d", sim.streamURL(e.String(), secure), messages)
	scheme := "ws"
	if secure {
		scheme = "wss"
	}
	var msgs []string
	var err error
	client := "gorilla"
	if e == proxies.Coinbase {
		client = "coder/websocket"
		msgs, err = streamCoder(ctx, e, url)
	} else {
		msgs, err = streamGorilla(ctx, e, url, sim)
	}
	if err != nil {
		return "", err
	}
	if len(msgs) != messages {
		return "", fmt.Errorf("got %d of %d trades", len(msgs), messages)
	}
	return fmt.Sprintf("%s %s: %d/%d trades, last %s", scheme, client, len(msgs), messages, msgs[len(msgs)-1]), nil
}

func streamGorilla(ctx context.Context, e proxies.Exchange, url string, sim *simulator) ([]string, error) {
	d := gorilla.Dialer{
		NetDialContext:  proxies.WebSocketDialContext(e),
		TLSClientConfig: &tls.Config{RootCAs: sim.roots},
	}
	c, _, err := d.DialContext(ctx, url, nil)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	var msgs []string
	for {
		_, m, err := c.ReadMessage()
		if gorilla.IsCloseError(err, gorilla.CloseNormalClosure) {
			return msgs, nil
		}
		if err != nil {
			return msgs, err
		}
		msgs = append(msgs, string(m))
	}
}

func streamCoder(ctx context.Context, e proxies.Exchange, url string) ([]string, error) {
	c, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPClient: proxies.WebSocketHTTPClient(e)})
	if err != nil {
		return nil, err
	}
	defer c.CloseNow()
	var msgs []string
	for {
		_, m, err := c.Read(ctx)
		if websocket.CloseStatus(err) == websocket.StatusNormalClosure {
			return msgs, nil
		}
		if err != nil {
			return msgs, err
		}
		msgs = append(msgs, string(m))
	}
}

// report prints one row per exchange and transport.
type report struct{ tw *tabwriter.Writer }

func newReport(out io.Writer) *report {
	r := &report{tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)}
	fmt.Fprintln(r.tw, "EXCHANGE\tTRANSPORT\tROUTE\tRESULT")
	return r
}

func (r *report) row(e proxies.Exchange, t runtime.Transport, rt *runtime.Route, result string, err error) {
	route := "direct"
	if !rt.Direct {
		members := make([]string, len(rt.Proxies))
		for i, p := range rt.Proxies {
			members[i] = p.String() // redacted: credentials print as ***
		}
		route = strings.Join(members, ",")
	}
	if err != nil {
		result = "FAILED: " + err.Error()
	}
	fmt.Fprintf(r.tw, "%s\t%s\t%s\t%s\n", e, t, route, result)
}

func (r *report) flush() error { return r.tw.Flush() }

// demoProxy is one in-process proxy at the loopback port the spec names.
type demoProxy struct {
	label string
	srv   *proxytest.Server
}

// seen returns the tunnels the proxy opened and the distinct targets.
func (p *demoProxy) seen() (int, []string) {
	set := map[string]bool{}
	for _, r := range p.srv.Records() {
		if r.Tunnel {
			set[r.Target] = true
		}
	}
	targets := make([]string, 0, len(set))
	for t := range set {
		targets = append(targets, t)
	}
	sort.Strings(targets)
	return p.srv.Tunnels(), targets
}

type demoProxies struct {
	socks5h, socks5, socks4a, http, https *demoProxy
}

func (d *demoProxies) all() []*demoProxy {
	return []*demoProxy{d.http, d.https, d.socks5, d.socks5h, d.socks4a}
}

func (d *demoProxies) close() {
	for _, p := range d.all() {
		if p != nil {
			p.srv.Close()
		}
	}
}

// deadProxy is the spec's pool member that nothing listens on.
const deadProxy = "127.0.0.1:21079"

// startProxies listens on the spec's ports with the credentials the spec's
// ${VAR}s resolve to.
func startProxies() (px *demoProxies, err error) {
	px = &demoProxies{}
	// The first member of bybit's WebSocket pool plays a proxy that is
	// down: nothing may listen on its port.
	ln, err := net.Listen("tcp", deadProxy)
	if err != nil {
		return nil, fmt.Errorf("port of the down pool member %s must be free: %w", deadProxy, err)
	}
	ln.Close()
	defer func() {
		// proxytest panics when it cannot listen, as httptest does.
		if r := recover(); r != nil {
			px.close()
			px, err = nil, fmt.Errorf("start demo proxies (is another demo running?): %v", r)
		}
	}()
	start := func(label string, cfg proxytest.Config) *demoProxy {
		return &demoProxy{label: label, srv: proxytest.New(cfg)}
	}
	env := os.Getenv
	px.http = start("http CONNECT (Basic auth)", proxytest.Config{Kind: proxytest.HTTP, Addr: "127.0.0.1:23128", User: env("FEED_PROXY_USER"), Password: env("FEED_PROXY_PASS")})
	px.https = start("https CONNECT over TLS", proxytest.Config{Kind: proxytest.HTTPS, Addr: "127.0.0.1:28443"})
	px.socks5 = start("socks5 (user/pass)", proxytest.Config{Kind: proxytest.SOCKS5, Addr: "127.0.0.1:21081", User: env("CB_USER"), Password: env("CB_PASS")})
	px.socks5h = start("socks5h", proxytest.Config{Kind: proxytest.SOCKS5, Addr: "127.0.0.1:21080"})
	px.socks4a = start("socks4a (user id)", proxytest.Config{Kind: proxytest.SOCKS4, Addr: "127.0.0.1:21082", User: env("DERIBIT_ID")})
	return px, nil
}
