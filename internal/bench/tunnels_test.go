package bench

import (
	"context"
	"net"
	goruntime "runtime"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/proxy"

	"github.com/proxygen-go/proxygen/runtime"
)

// nTunnels is how many tunnels the memory and dial-rate benchmarks open.
const nTunnels = 1000

// tunnelClients are the ways to open a TCP connection to a holder: direct,
// and through danted with proxygen (standard) and x/net/proxy.
func tunnelClients(b *testing.B) []struct {
	name string
	dial dialFunc
} {
	var nd net.Dialer
	out := []struct {
		name string
		dial dialFunc
	}{{"direct", nd.DialContext}}
	if s := realServer(b, "danted"); s != nil {
		e := endpoint{scheme: runtime.SOCKS5, addr: s.Addr}
		pd, err := proxy.SOCKS5("tcp", s.Addr, nil, &nd)
		if err != nil {
			b.Fatal(err)
		}
		out = append(out,
			struct {
				name string
				dial dialFunc
			}{"danted-proxygen-std", e.dialer(b, false).DialContext},
			struct {
				name string
				dial dialFunc
			}{"danted-xnet", pd.(proxy.ContextDialer).DialContext},
		)
	} else {
		out = append(out, struct {
			name string
			dial dialFunc
		}{"danted-proxygen-std", nil}, struct {
			name string
			dial dialFunc
		}{"danted-xnet", nil})
	}
	return out
}

// dialAll opens n connections to addr with dial, all at once.
func dialAll(b *testing.B, dial dialFunc, addr string, n int) []net.Conn {
	conns := make([]net.Conn, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for i := range n {
		wg.Go(func() { conns[i], errs[i] = dial(ctx, "tcp", addr) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			for _, c := range conns {
				if c != nil {
					c.Close()
				}
			}
			b.Fatalf("dial %d of %d: %v", i, n, err)
		}
	}
	return conns
}

// closeTunnels closes the holder's side first, so that TIME_WAIT stays
// there: a proxy that closes first keeps TIME_WAIT on ports it bound
// itself (danted binds before it connects) and, after tens of thousands of
// tunnels, runs out of ephemeral ports.
func closeTunnels(h *holder, conns []net.Conn) {
	h.reset()
	time.Sleep(20 * time.Millisecond)
	closeAll(conns)
}

func closeAll(conns []net.Conn) {
	for _, c := range conns {
		c.Close()
	}
}

func heapAlloc() uint64 {
	var m goruntime.MemStats
	goruntime.GC()
	goruntime.GC()
	goruntime.ReadMemStats(&m)
	return m.HeapAlloc
}

// BenchmarkIdleTunnels: heap bytes per idle established tunnel, with 1,000
// tunnels open at once to a server that accepts and holds them (in this
// process for every variant, so its share is the same), measured with
// runtime.ReadMemStats after GC. One op opens and closes 1,000 tunnels.
func BenchmarkIdleTunnels(b *testing.B) {
	h := newHolder(b)
	for _, c := range tunnelClients(b) {
		b.Run("path="+c.name, func(b *testing.B) {
			if c.dial == nil {
				b.Skip(missing)
			}
			// Warm up: the first 1,000 dials grow pools (goroutines, the
			// holder) that later rounds reuse.
			conns := dialAll(b, c.dial, h.addr(), nTunnels)
			waitFor(b, "the holder to accept every tunnel", func() bool { return h.count() == nTunnels })
			closeTunnels(h, conns)
			b.ResetTimer()
			var per float64
			for i := 0; i < b.N; i++ {
				before := heapAlloc()
				conns := dialAll(b, c.dial, h.addr(), nTunnels)
				waitFor(b, "the holder to accept every tunnel", func() bool { return h.count() == nTunnels })
				after := heapAlloc()
				per += (float64(after) - float64(before)) / nTunnels
				goruntime.KeepAlive(conns)
				closeTunnels(h, conns)
			}
			b.ReportMetric(per/float64(b.N), "heap-B/tunnel")
		})
	}
}

// BenchmarkDialRate: tunnels/s with 1,000 dials started at once through
// danted (direct as a reference). One op is the 1,000 dials.
func BenchmarkDialRate(b *testing.B) {
	h := newHolder(b)
	for _, c := range tunnelClients(b) {
		b.Run("path="+c.name, func(b *testing.B) {
			if c.dial == nil {
				b.Skip(missing)
			}
			// Warm up, untimed: danted forks the child processes that serve
			// 1,000 clients on the first burst; without this the first
			// variant would pay for them and the next one would not.
			conns := dialAll(b, c.dial, h.addr(), nTunnels)
			waitFor(b, "the holder to accept every tunnel", func() bool { return h.count() == nTunnels })
			closeTunnels(h, conns)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				conns := dialAll(b, c.dial, h.addr(), nTunnels)
				b.StopTimer()
				waitFor(b, "the holder to accept every tunnel", func() bool { return h.count() == nTunnels })
				closeTunnels(h, conns)
				b.StartTimer()
			}
			b.ReportMetric(float64(b.N*nTunnels)/b.Elapsed().Seconds(), "tunnels/s")
		})
	}
}
