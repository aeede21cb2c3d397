package bench

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"testing"
	"time"

	coder "github.com/coder/websocket"
	"github.com/gorilla/websocket"
	"golang.org/x/net/proxy"

	"github.com/proxygen-go/proxygen/internal/testenv/target"
	"github.com/proxygen-go/proxygen/runtime"
	"github.com/proxygen-go/proxygen/runtime/proxytest"
)

// oneWay is the relay's delay in each direction: a 20 ms round trip
// between the client and the proxy (or the target, for direct).
const (
	oneWay = 10 * time.Millisecond
	rtt    = 2 * oneWay
)

var echoMsg = []byte("ping")

// wsDial opens a WebSocket (TCP, tunnel, TLS, upgrade) and does one echo;
// it returns what closes the session.
type wsDial func(ctx context.Context) (io.Closer, error)

func gorillaEcho(ctx context.Context, d *websocket.Dialer, u string) (io.Closer, error) {
	c, _, err := d.DialContext(ctx, u, nil)
	if err != nil {
		return nil, err
	}
	if err := c.WriteMessage(websocket.TextMessage, echoMsg); err != nil {
		c.Close()
		return nil, err
	}
	_, m, err := c.ReadMessage()
	if err == nil && !bytes.Equal(m, echoMsg) {
		err = fmt.Errorf("echo %q", m)
	}
	if err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

type closeFunc func() error

func (f closeFunc) Close() error { return f() }

func coderEcho(ctx context.Context, proxyURL *url.URL, tlsCfg *tls.Config, u string) (io.Closer, error) {
	tr := &http.Transport{Proxy: http.ProxyURL(proxyURL), TLSClientConfig: tlsCfg}
	c, _, err := coder.Dial(ctx, u, &coder.DialOptions{HTTPClient: &http.Client{Transport: tr}})
	if err != nil {
		tr.CloseIdleConnections()
		return nil, err
	}
	done := func() error { err := c.CloseNow(); tr.CloseIdleConnections(); return err }
	if err := c.Write(ctx, coder.MessageText, echoMsg); err != nil {
		done()
		return nil, err
	}
	_, m, err := c.Read(ctx)
	if err == nil && !bytes.Equal(m, echoMsg) {
		err = fmt.Errorf("echo %q", m)
	}
	if err != nil {
		done()
		return nil, err
	}
	return closeFunc(done), nil
}

// runConnect times dial-to-first-echo per iteration and reports the median
// (p50-ms) and the median in round trips of the emulated network (RTTs).
func runConnect(b *testing.B, dial wsDial) {
	lat := make([]time.Duration, 0, b.N)
	for i := 0; i < b.N; i++ {
		ctx, cancel := ctxTimeout()
		start := time.Now()
		c, err := dial(ctx)
		d := time.Since(start)
		cancel()
		if err != nil {
			b.Fatal(err)
		}
		lat = append(lat, d)
		c.Close()
	}
	med := median(lat)
	b.ReportMetric(float64(med)/1e6, "p50-ms")
	b.ReportMetric(float64(med)/float64(rtt), "RTTs")
}

type connectFixture struct {
	tgt    *target.Server
	tlsCfg *tls.Config
	wss    string // wss://127.0.0.1:port/ws
}

// BenchmarkConnect: time from dial to the first WebSocket echo over wss
// (TCP, tunnel, TLS, upgrade, one message) with a relay that adds 10 ms each
// way between the client and the proxy: a 20 ms round trip. For direct the
// relay sits in front of the target instead.
//
// Clients: proxygen's Dialer standard and optimistic (as gorilla's
// NetDialContext), x/net/proxy SOCKS5 (gorilla NetDialContext), gorilla's
// own Dialer.Proxy, and net/http Transport.Proxy with coder/websocket.
func BenchmarkConnect(b *testing.B) {
	c := testCA(b)
	tgt := target.Start(b, c)
	f := &connectFixture{tgt: tgt, tlsCfg: c.ClientConfig(""), wss: tgt.URL("wss", "127.0.0.1", "/ws")}

	type group struct {
		name  string
		start func(b *testing.B) endpoint
		socks bool
	}
	groups := []group{
		{"proxytest-socks5-auth", func(b *testing.B) endpoint {
			s := proxytest.NewSOCKS5(user, pass)
			b.Cleanup(s.Close)
			return endpoint{scheme: runtime.SOCKS5, addr: s.Addr(), user: user, pass: pass}
		}, true},
		{"proxytest-http-auth", func(b *testing.B) endpoint {
			s := proxytest.NewHTTP(user, pass)
			b.Cleanup(s.Close)
			return endpoint{scheme: runtime.HTTP, addr: s.Addr(), user: user, pass: pass}
		}, false},
		{"danted-socks5", func(b *testing.B) endpoint {
			s := realServer(b, "danted")
			return endpoint{scheme: runtime.SOCKS5, addr: s.Addr}
		}, true},
		{"squid-http-auth", func(b *testing.B) endpoint {
			s := realServer(b, "squid")
			return endpoint{scheme: runtime.HTTP, addr: s.Addr, user: user, pass: pass}
		}, false},
	}
	for _, g := range groups {
		b.Run("proxy="+g.name, func(b *testing.B) {
			e := g.start(b)
			e.addr = target.Relay(b, e.addr, oneWay).Addr
			direct := target.Relay(b, tgt.HTTPSAddr, oneWay).Addr
			f.clients(b, e, direct, g.socks)
		})
	}
}

func (f *connectFixture) clients(b *testing.B, e endpoint, directAddr string, socks bool) {
	std, opt := e.dialer(b, false), e.dialer(b, true)
	b.Run("client=proxygen-std", func(b *testing.B) {
		d := &websocket.Dialer{NetDialContext: std.DialContext, TLSClientConfig: f.tlsCfg}
		runConnect(b, func(ctx context.Context) (io.Closer, error) { return gorillaEcho(ctx, d, f.wss) })
	})
	b.Run("client=proxygen-optimistic", func(b *testing.B) {
		d := &websocket.Dialer{NetDialContext: opt.DialContext, TLSClientConfig: f.tlsCfg}
		runConnect(b, func(ctx context.Context) (io.Closer, error) { return gorillaEcho(ctx, d, f.wss) })
	})
	if socks {
		b.Run("client=xnet-socks5-gorilla", func(b *testing.B) {
			var auth *proxy.Auth
			if e.user != "" {
				auth = &proxy.Auth{User: e.user, Password: e.pass}
			}
			pd, err := proxy.SOCKS5("tcp", e.addr, auth, proxy.Direct)
			if err != nil {
				b.Fatal(err)
			}
			d := &websocket.Dialer{NetDialContext: pd.(proxy.ContextDialer).DialContext, TLSClientConfig: f.tlsCfg}
			runConnect(b, func(ctx context.Context) (io.Closer, error) { return gorillaEcho(ctx, d, f.wss) })
		})
	}
	b.Run("client=gorilla-proxy", func(b *testing.B) {
		d := &websocket.Dialer{Proxy: http.ProxyURL(e.url()), TLSClientConfig: f.tlsCfg}
		runConnect(b, func(ctx context.Context) (io.Closer, error) { return gorillaEcho(ctx, d, f.wss) })
	})
	b.Run("client=nethttp-coder", func(b *testing.B) {
		runConnect(b, func(ctx context.Context) (io.Closer, error) { return coderEcho(ctx, e.url(), f.tlsCfg, f.wss) })
	})
	b.Run("client=direct", func(b *testing.B) {
		var nd net.Dialer
		d := &websocket.Dialer{TLSClientConfig: f.tlsCfg, NetDialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return nd.DialContext(ctx, network, directAddr)
		}}
		runConnect(b, func(ctx context.Context) (io.Closer, error) { return gorillaEcho(ctx, d, f.wss) })
	})
}
