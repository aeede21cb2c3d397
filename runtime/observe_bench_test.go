package runtime_test

import (
	"context"
	"io"
	"net"
	"testing"

	"github.com/proxygen-go/proxygen/runtime"
	"github.com/proxygen-go/proxygen/runtime/proxytest"
)

// nopObserver is a user observer that implements every part and does
// nothing.
type nopObserver struct{}

func (nopObserver) DialStart(ctx context.Context, _ runtime.DialStart) context.Context { return ctx }
func (nopObserver) DialDone(context.Context, runtime.DialDone)                         {}
func (nopObserver) Attempt(context.Context, runtime.Attempt)                           {}
func (nopObserver) MemberState(runtime.MemberState)                                    {}
func (nopObserver) Probe(runtime.Probe)                                                {}
func (nopObserver) TunnelOpen(runtime.Tunnel)                                          {}
func (nopObserver) TunnelClose(runtime.Tunnel)                                         {}

// BenchmarkObservedPoolDial is one dial and close through a one-member
// pool over a loopback SOCKS5 proxy: with no observer, with the stats
// recorder, and with a no-op user observer teed with the recorder.
func BenchmarkObservedPoolDial(b *testing.B) {
	target := benchEcho(b)
	srv := proxytest.NewSOCKS5("", "")
	defer srv.Close()
	for _, bc := range []struct {
		name string
		obs  func() runtime.Observer
	}{
		{"none", func() runtime.Observer { return nil }},
		{"stats", func() runtime.Observer { return runtime.NewStatsRecorder() }},
		{"user+stats", func() runtime.Observer { return runtime.TeeObserver(nopObserver{}, runtime.NewStatsRecorder()) }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			obs := bc.obs()
			p, err := runtime.NewPool(runtime.PoolConfig{
				Members:  []*runtime.Proxy{srv.Proxy(runtime.SOCKS5)},
				Dialer:   runtime.Dialer{Exchange: "binance", Transport: runtime.TransportWebSocket, Logger: quietLogger},
				Observer: obs,
			})
			if err != nil {
				b.Fatal(err)
			}
			to, _ := obs.(runtime.TunnelObserver)
			tev := runtime.Tunnel{Exchange: "binance", Transport: runtime.TransportWebSocket, Target: target, Proxy: "socks5://" + srv.Addr()}
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				c, err := p.DialContext(ctx, "tcp", target)
				if err != nil {
					b.Fatal(err)
				}
				if to != nil {
					c = runtime.ObserveTunnel(c, tev, to)
				}
				c.Close()
			}
		})
	}
}

// BenchmarkStatsRecorderEvents is the recorder's own cost for one dial's
// events (start, a failed and a good attempt, done, tunnel open and close).
func BenchmarkStatsRecorderEvents(b *testing.B) {
	rec := runtime.NewStatsRecorder()
	ctx := context.Background()
	ok := runtime.Attempt{Exchange: "binance", Transport: runtime.TransportHTTP, Proxy: "socks5://127.0.0.1:1080", N: 1}
	bad := ok
	bad.Stage, bad.Err = runtime.StageConnect, io.EOF
	dd := runtime.DialDone{Exchange: "binance", Transport: runtime.TransportHTTP, Proxy: ok.Proxy, Attempts: 2, Failovers: 1}
	tun := runtime.Tunnel{Exchange: "binance", Transport: runtime.TransportHTTP, Proxy: ok.Proxy}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			ctx := rec.DialStart(ctx, runtime.DialStart{Exchange: "binance", Transport: runtime.TransportHTTP})
			rec.Attempt(ctx, bad)
			rec.Attempt(ctx, ok)
			rec.DialDone(ctx, dd)
			rec.TunnelOpen(tun)
			rec.TunnelClose(tun)
		}
	})
}

// BenchmarkTunnelCopy64MiB copies 64 MiB from a loopback TCP source into a
// loopback TCP tunnel with io.Copy: the raw tunnel, the observed tunnel
// (ReadFrom kept: splice), and a wrapper without ReadFrom for contrast.
func BenchmarkTunnelCopy64MiB(b *testing.B) {
	const size = 64 << 20
	chunk := make([]byte, 1<<20)
	for _, bc := range []struct {
		name string
		wrap func(net.Conn) net.Conn
	}{
		{"raw", func(c net.Conn) net.Conn { return c }},
		{"observed", func(c net.Conn) net.Conn {
			return runtime.ObserveTunnel(c, runtime.Tunnel{Proxy: "socks5://127.0.0.1:1"}, nopObserver{})
		}},
		{"plain-wrapper", func(c net.Conn) net.Conn { return struct{ net.Conn }{c} }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(size)
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				b.StopTimer()
				feed, src := tcpPair(b) // feed writes into src
				tun, sink := tcpPair(b) // the tunnel and its far end
				done := make(chan int64, 1)
				go func() {
					n, _ := io.Copy(io.Discard, sink)
					done <- n
				}()
				go func() {
					for range size / len(chunk) {
						if _, err := feed.Write(chunk); err != nil {
							break
						}
					}
					feed.CloseWrite()
				}()
				w := bc.wrap(tun)
				b.StartTimer()
				if _, err := io.Copy(w, src); err != nil {
					b.Fatal(err)
				}
				tun.CloseWrite()
				if n := <-done; n != size {
					b.Fatalf("sink got %d bytes", n)
				}
				b.StopTimer()
				w.Close()
				feed.Close()
				src.Close()
				sink.Close()
				b.StartTimer()
			}
		})
	}
}

// benchEcho starts a loopback echo server for benchmarks; it returns its
// address.
func benchEcho(b *testing.B) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { ln.Close() })
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
