package bench

import (
	"context"
	"encoding/binary"
	"io"
	"net"
	"testing"

	"github.com/gorilla/websocket"
	"golang.org/x/net/proxy"

	"github.com/proxygen-go/proxygen/internal/testenv/target"
	"github.com/proxygen-go/proxygen/runtime"
	"github.com/proxygen-go/proxygen/runtime/proxytest"
)

type dialFunc func(ctx context.Context, network, addr string) (net.Conn, error)

// path is one way to reach a target: direct, through a plain forwarding
// hop, or through a proxy with one of the clients.
type path struct {
	name string
	// dial returns a dial function for the target at addr, or nil when a
	// server it needs is not installed; it may start servers (relays,
	// proxies) with b's lifetime.
	dial func(b *testing.B, addr string) dialFunc
}

// throughputPaths: direct; "relay", a plain TCP forwarder (io.Copy both
// ways, the forwarding a proxy does, no proxy protocol) to show what one
// extra hop costs on this machine; then proxygen (standard and optimistic)
// and x/net/proxy through the in-process proxytest SOCKS5 (auth) and
// through danted; "proxytest-pool-std" is a pool route of four proxytest
// SOCKS5 members (see poolThroughputDial).
func throughputPaths() []path {
	var nd net.Dialer
	viaRelay := func(b *testing.B, addr string) dialFunc {
		r := target.Relay(b, addr, 0)
		return func(ctx context.Context, network, _ string) (net.Conn, error) {
			return nd.DialContext(ctx, network, r.Addr)
		}
	}
	proxytestEP := func(b *testing.B) endpoint {
		s := proxytest.NewSOCKS5(user, pass)
		b.Cleanup(s.Close)
		return endpoint{scheme: runtime.SOCKS5, addr: s.Addr(), user: user, pass: pass}
	}
	dantedEP := func(b *testing.B) endpoint {
		s := realServer(b, "danted")
		if s == nil {
			return endpoint{}
		}
		return endpoint{scheme: runtime.SOCKS5, addr: s.Addr}
	}
	proxygen := func(ep func(*testing.B) endpoint, optimistic bool) func(*testing.B, string) dialFunc {
		return func(b *testing.B, _ string) dialFunc {
			e := ep(b)
			if e.addr == "" {
				return nil
			}
			return e.dialer(b, optimistic).DialContext
		}
	}
	xnet := func(ep func(*testing.B) endpoint) func(*testing.B, string) dialFunc {
		return func(b *testing.B, _ string) dialFunc {
			e := ep(b)
			if e.addr == "" {
				return nil
			}
			var auth *proxy.Auth
			if e.user != "" {
				auth = &proxy.Auth{User: e.user, Password: e.pass}
			}
			pd, err := proxy.SOCKS5("tcp", e.addr, auth, proxy.Direct)
			if err != nil {
				b.Fatal(err)
			}
			return pd.(proxy.ContextDialer).DialContext
		}
	}
	return []path{
		{"direct", func(*testing.B, string) dialFunc { return nd.DialContext }},
		{"relay", viaRelay},
		{"proxytest-proxygen-std", proxygen(proxytestEP, false)},
		{"proxytest-proxygen-optimistic", proxygen(proxytestEP, true)},
		{"proxytest-xnet", xnet(proxytestEP)},
		{"proxytest-pool-std", poolThroughputDial},
		{"danted-proxygen-std", proxygen(dantedEP, false)},
		{"danted-proxygen-optimistic", proxygen(dantedEP, true)},
		{"danted-xnet", xnet(dantedEP)},
	}
}

const missing = "danted is not installed (bash .ci/install-peers.sh installs it)"

const bulkChunk = 64 << 10

// BenchmarkBulk: bytes/s written through an established tunnel (64 KiB
// writes) to a sink that reads them all and acknowledges the total; the
// tunnel is opened before the timer starts.
func BenchmarkBulk(b *testing.B) {
	s := newSink(b)
	buf := make([]byte, bulkChunk)
	for i := range buf {
		buf[i] = byte(i)
	}
	for _, p := range throughputPaths() {
		dial := p.dial(b, s.addr()) // servers live as long as the parent benchmark
		b.Run("path="+p.name, func(b *testing.B) {
			if dial == nil {
				b.Skip(missing)
			}
			{
				ctx, cancel := ctxTimeout()
				defer cancel()
				c, err := dial(ctx, "tcp", s.addr())
				if err != nil {
					b.Fatal(err)
				}
				defer c.Close()
				var hdr [8]byte
				binary.BigEndian.PutUint64(hdr[:], uint64(b.N)*bulkChunk)
				if _, err := c.Write(hdr[:]); err != nil {
					b.Fatal(err)
				}
				b.SetBytes(bulkChunk)
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					if _, err := c.Write(buf); err != nil {
						b.Fatal(err)
					}
				}
				if _, err := io.ReadFull(c, hdr[:1]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

const wsMsgSize = 256

// BenchmarkWebSocketMessages: WebSocket messages/s over wss through an
// established tunnel, pipelined: one goroutine writes b.N messages of 256
// bytes while the caller reads the b.N echoes.
func BenchmarkWebSocketMessages(b *testing.B) {
	c := testCA(b)
	tgt := target.Start(b, c)
	wss := tgt.URL("wss", "127.0.0.1", "/ws")
	msg := make([]byte, wsMsgSize)
	for _, p := range throughputPaths() {
		dial := p.dial(b, tgt.HTTPSAddr)
		b.Run("path="+p.name, func(b *testing.B) {
			if dial == nil {
				b.Skip(missing)
			}
			d := &websocket.Dialer{NetDialContext: dial, TLSClientConfig: c.ClientConfig("")}
			{
				ctx, cancel := ctxTimeout()
				defer cancel()
				ws, _, err := d.DialContext(ctx, wss, nil)
				if err != nil {
					b.Fatal(err)
				}
				defer ws.Close()
				b.SetBytes(wsMsgSize)
				b.ResetTimer()
				errc := make(chan error, 1)
				go func() {
					for i := 0; i < b.N; i++ {
						if err := ws.WriteMessage(websocket.BinaryMessage, msg); err != nil {
							errc <- err
							return
						}
					}
					errc <- nil
				}()
				for i := 0; i < b.N; i++ {
					if _, _, err := ws.ReadMessage(); err != nil {
						b.Fatal(err)
					}
				}
				if err := <-errc; err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
			}
		})
	}
}
