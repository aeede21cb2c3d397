// The load and soak runs; see doc.go.
package soak_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/proxygen-go/proxygen/internal/testenv/realproxy"
	"github.com/proxygen-go/proxygen/internal/testenv/target"
	pgrt "github.com/proxygen-go/proxygen/runtime"
)

func TestMain(m *testing.M) { os.Exit(realproxy.Main(m)) }

type config struct {
	sessions int           // per proxy
	duration time.Duration // of steady traffic
	interval time.Duration // between two messages of one session
	msgSize  int
	dialPar  int // dials in flight per proxy
}

func TestSoak(t *testing.T) {
	if os.Getenv("PROXYGEN_SOAK") != "1" {
		t.Skip("set PROXYGEN_SOAK=1 (make soak) for the 60 s soak run")
	}
	run(t, config{sessions: 2000, duration: 60 * time.Second, interval: 500 * time.Millisecond, msgSize: 128, dialPar: 32})
}

// TestLoadShort is the always-on variant: 100 sessions per proxy for 3 s.
func TestLoadShort(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	run(t, config{sessions: 100, duration: 3 * time.Second, interval: 100 * time.Millisecond, msgSize: 128, dialPar: 16})
}

// stats of one proxy's sessions.
type stats struct {
	established, sent, received, reordered, errs atomic.Int64
	rttSum, rttMax                               atomic.Int64 // ns
	firstErr                                     atomic.Value // string
}

func (s *stats) fail(err error) {
	s.errs.Add(1)
	s.firstErr.CompareAndSwap(nil, err.Error())
}

type memPoint struct {
	heap       uint64
	goroutines int
}

func measure() memPoint {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return memPoint{heap: ms.HeapAlloc, goroutines: runtime.NumGoroutine()}
}

func mib(b uint64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

func run(t *testing.T, cfg config) {
	tgt := target.Start(t, nil)
	dante := realproxy.Dante(t)
	squid := realproxy.Squid(t, "", "", nil, nil)
	baseline := measure()

	type lane struct {
		name  string
		proxy *pgrt.Proxy
		st    stats
		conns []*websocket.Conn
	}
	lanes := []*lane{
		{name: "danted (socks5)", proxy: &pgrt.Proxy{Scheme: pgrt.SOCKS5, Host: dante.Host(), Port: dante.Port()}},
		{name: "squid (http connect)", proxy: &pgrt.Proxy{Scheme: pgrt.HTTP, Host: squid.Host(), Port: squid.Port()}},
	}
	wsURL := tgt.URL("ws", "127.0.0.1", "/ws")

	// Dial every session, a bounded number at a time per proxy.
	dialStart := time.Now()
	var wg sync.WaitGroup
	for _, l := range lanes {
		in, err := pgrt.NewInjector(pgrt.Settings{Enabled: true, Default: pgrt.Routes{WebSocket: &pgrt.Route{Proxies: []*pgrt.Proxy{l.proxy}, Timeout: 30 * time.Second}}},
			pgrt.WithLogger(slog.New(slog.DiscardHandler)))
		if err != nil {
			t.Fatal(err)
		}
		l.conns = make([]*websocket.Conn, cfg.sessions)
		sem := make(chan struct{}, cfg.dialPar)
		for i := range cfg.sessions {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				d := websocket.Dialer{NetDialContext: in.WebSocketDialContext("soak"), HandshakeTimeout: 30 * time.Second}
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				c, resp, err := d.DialContext(ctx, wsURL, nil)
				if resp != nil && resp.Body != nil {
					_ = resp.Body.Close()
				}
				if err != nil {
					l.st.fail(fmt.Errorf("dial: %w", err))
					return
				}
				l.conns[i] = c
				l.st.established.Add(1)
			}()
		}
	}
	wg.Wait()
	t.Logf("dialled %d sessions through each of %d proxies in %v", cfg.sessions, len(lanes), time.Since(dialStart).Round(time.Millisecond))
	defer func() {
		for _, l := range lanes {
			for _, c := range l.conns {
				if c != nil {
					_ = c.Close()
				}
			}
		}
	}()
	for _, l := range lanes {
		if n := l.st.errs.Load(); n > 0 {
			t.Fatalf("%s: %d dial errors, first: %v", l.name, n, l.st.firstErr.Load())
		}
	}
	established := measure()

	// Steady traffic: each session sends seq-numbered messages every
	// interval (offsets spread over the interval) and reads the echoes.
	stop := make(chan struct{})
	var closing atomic.Bool
	var readers, writers sync.WaitGroup
	for _, l := range lanes {
		for i, c := range l.conns {
			var sent atomic.Int64
			done := make(chan struct{})
			readers.Add(1)
			go func() { // reader
				defer readers.Done()
				defer close(done)
				next := int64(0)
				for {
					_, msg, err := c.ReadMessage()
					if err != nil {
						if !closing.Load() {
							l.st.fail(fmt.Errorf("read: %w", err))
						}
						return
					}
					if len(msg) != cfg.msgSize {
						l.st.fail(fmt.Errorf("echo of %d bytes, want %d", len(msg), cfg.msgSize))
						continue
					}
					seq := int64(binary.BigEndian.Uint64(msg))
					rtt := time.Now().UnixNano() - int64(binary.BigEndian.Uint64(msg[8:]))
					l.st.rttSum.Add(rtt)
					for {
						m := l.st.rttMax.Load()
						if rtt <= m || l.st.rttMax.CompareAndSwap(m, rtt) {
							break
						}
					}
					if seq != next {
						l.st.reordered.Add(1)
					}
					next = seq + 1
					l.st.received.Add(1)
				}
			}()
			writers.Add(1)
			go func() { // writer
				defer writers.Done()
				offset := time.Duration(i) * cfg.interval / time.Duration(cfg.sessions)
				select {
				case <-time.After(offset):
				case <-stop:
					return
				}
				tick := time.NewTicker(cfg.interval)
				defer tick.Stop()
				buf := make([]byte, cfg.msgSize)
				for seq := int64(0); ; seq++ {
					binary.BigEndian.PutUint64(buf, uint64(seq))
					binary.BigEndian.PutUint64(buf[8:], uint64(time.Now().UnixNano()))
					_ = c.SetWriteDeadline(time.Now().Add(10 * time.Second))
					if err := c.WriteMessage(websocket.BinaryMessage, buf); err != nil {
						l.st.fail(fmt.Errorf("write: %w", err))
						return
					}
					l.st.sent.Add(1)
					sent.Add(1)
					select {
					case <-tick.C:
					case <-stop:
						return
					}
				}
			}()
		}
	}
	// start is taken once traffic is steady, end just before it stops.
	time.Sleep(cfg.duration / 10)
	start := measure()
	time.Sleep(cfg.duration/2 - cfg.duration/10)
	mid := measure()
	time.Sleep(cfg.duration - cfg.duration/2 - cfg.duration/20)
	end := measure()
	time.Sleep(cfg.duration / 20)
	close(stop)
	writers.Wait()

	// Drain: every echo must arrive.
	drainBy := time.Now().Add(15 * time.Second)
	for time.Now().Before(drainBy) {
		pending := int64(0)
		for _, l := range lanes {
			pending += l.st.sent.Load() - l.st.received.Load()
		}
		if pending == 0 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	closing.Store(true)
	for _, l := range lanes {
		for i, c := range l.conns {
			_ = c.Close()
			l.conns[i] = nil
		}
	}
	readers.Wait()
	time.Sleep(200 * time.Millisecond) // let the target notice the closes
	after := measure()

	for _, l := range lanes {
		st := &l.st
		sent, recv := st.sent.Load(), st.received.Load()
		mean := time.Duration(0)
		if recv > 0 {
			mean = time.Duration(st.rttSum.Load() / recv)
		}
		t.Logf("SOAK %-22s sessions=%d duration=%v rate=%.0f msg/s sent=%d received=%d lost=%d reordered=%d errors=%d rtt mean=%v max=%v",
			l.name, st.established.Load(), cfg.duration, float64(cfg.sessions)*float64(time.Second)/float64(cfg.interval),
			sent, recv, sent-recv, st.reordered.Load(), st.errs.Load(), mean.Round(time.Microsecond), time.Duration(st.rttMax.Load()).Round(time.Microsecond))
		if st.established.Load() != int64(cfg.sessions) {
			t.Errorf("%s: %d of %d sessions established", l.name, st.established.Load(), cfg.sessions)
		}
		if n := st.errs.Load(); n > 0 {
			t.Errorf("%s: %d errors, first: %v", l.name, n, st.firstErr.Load())
		}
		if sent != recv {
			t.Errorf("%s: %d messages lost", l.name, sent-recv)
		}
		if n := st.reordered.Load(); n > 0 {
			t.Errorf("%s: %d messages out of order", l.name, n)
		}
		minSent := int64(cfg.sessions) * int64(cfg.duration/cfg.interval) / 2
		if sent < minSent {
			t.Errorf("%s: only %d messages sent, want >= %d (rate not kept)", l.name, sent, minSent)
		}
	}
	t.Logf("SOAK memory: heap baseline=%s established=%s start=%s mid=%s end=%s after-close=%s",
		mib(baseline.heap), mib(established.heap), mib(start.heap), mib(mid.heap), mib(end.heap), mib(after.heap))
	t.Logf("SOAK goroutines: baseline=%d established=%d start=%d mid=%d end=%d after-close=%d",
		baseline.goroutines, established.goroutines, start.goroutines, mid.goroutines, end.goroutines, after.goroutines)
	// Flat: the steady state does not grow (generous bounds for GC noise).
	if end.heap > start.heap*3/2+16<<20 {
		t.Errorf("heap grew from %s to %s during steady traffic", mib(start.heap), mib(end.heap))
	}
	if end.goroutines > start.goroutines {
		t.Errorf("goroutines grew during steady traffic: %d -> %d", start.goroutines, end.goroutines)
	}
	if after.goroutines > baseline.goroutines+8 {
		t.Errorf("goroutines after closing every session: %d, baseline %d", after.goroutines, baseline.goroutines)
	}
}
