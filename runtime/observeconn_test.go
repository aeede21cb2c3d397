package runtime_test

import (
	"bytes"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/proxygen-go/proxygen/runtime"
)

// tunnelCounter is a TunnelObserver that counts and keeps the last events.
type tunnelCounter struct {
	opens, closes atomic.Int32
	mu            sync.Mutex
	open, close   runtime.Tunnel
}

func (c *tunnelCounter) TunnelOpen(ev runtime.Tunnel) {
	c.opens.Add(1)
	c.mu.Lock()
	c.open = ev
	c.mu.Unlock()
}

func (c *tunnelCounter) TunnelClose(ev runtime.Tunnel) {
	c.closes.Add(1)
	c.mu.Lock()
	c.close = ev
	c.mu.Unlock()
}

// tcpPair returns both ends of a loopback TCP connection.
func tcpPair(tb testing.TB) (client, server *net.TCPConn) {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	acc := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		acc <- c
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		tb.Fatal(err)
	}
	s := <-acc
	if s == nil {
		tb.Fatal("accept failed")
	}
	tb.Cleanup(func() { c.Close(); s.Close() })
	return c.(*net.TCPConn), s.(*net.TCPConn)
}

var tunnelEv = runtime.Tunnel{Exchange: "binance", Transport: runtime.TransportWebSocket, Target: "stream.example:443", Proxy: "socks5://127.0.0.1:1080"}

func TestObserveTunnelClosesOnce(t *testing.T) {
	c, _ := tcpPair(t)
	var obs tunnelCounter
	w := runtime.ObserveTunnel(c, tunnelEv, &obs)
	if obs.opens.Load() != 1 || obs.open != tunnelEv {
		t.Fatalf("open events %d %+v", obs.opens.Load(), obs.open)
	}
	time.Sleep(2 * time.Millisecond)
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() { defer wg.Done(); _ = w.Close() }()
	}
	wg.Wait()
	_ = w.Close()
	if n := obs.closes.Load(); n != 1 {
		t.Fatalf("%d TunnelClose events for 17 Close calls, want 1", n)
	}
	got := obs.close
	if got.Open < 2*time.Millisecond {
		t.Errorf("Open = %v, want the time the tunnel was open", got.Open)
	}
	got.Open = 0
	if got != tunnelEv {
		t.Errorf("close event %+v, want %+v", got, tunnelEv)
	}
	if _, err := c.Write([]byte("x")); err == nil {
		t.Error("underlying connection still open after Close")
	}
}

// fastConn records whether io.Copy went through its ReadFrom and WriteTo.
type fastConn struct {
	net.Conn
	readFrom, writeTo atomic.Int32
}

func (c *fastConn) ReadFrom(r io.Reader) (int64, error) {
	c.readFrom.Add(1)
	return io.Copy(io.Discard, r)
}

func (c *fastConn) Write(p []byte) (int, error) { return len(p), nil }

func (c *fastConn) WriteTo(w io.Writer) (int64, error) {
	c.writeTo.Add(1)
	return io.Copy(w, strings.NewReader("from the tunnel"))
}

func TestObserveTunnelKeepsFastPaths(t *testing.T) {
	a, _ := net.Pipe()
	defer a.Close()
	fc := &fastConn{Conn: a}
	w := runtime.ObserveTunnel(fc, tunnelEv, &tunnelCounter{})
	if n, err := io.Copy(w, struct{ io.Reader }{strings.NewReader(strings.Repeat("x", 1<<20))}); err != nil || n != 1<<20 {
		t.Fatalf("copy into tunnel: %d %v", n, err)
	}
	if fc.readFrom.Load() != 1 {
		t.Errorf("io.Copy into the wrapper did not use the underlying ReadFrom")
	}
	var buf bytes.Buffer
	if _, err := io.Copy(&buf, w); err != nil || buf.String() != "from the tunnel" {
		t.Fatalf("copy out of tunnel: %q %v", buf.String(), err)
	}
	if fc.writeTo.Load() != 1 {
		t.Errorf("io.Copy out of the wrapper did not use the underlying WriteTo")
	}
	nc, ok := w.(interface{ NetConn() net.Conn })
	if !ok || nc.NetConn() != fc {
		t.Errorf("NetConn does not return the underlying connection")
	}
	// Tunnel to tunnel: each side reaches the other's underlying conn.
	fc2 := &fastConn{Conn: a}
	w2 := runtime.ObserveTunnel(fc2, tunnelEv, &tunnelCounter{})
	if _, err := io.Copy(w2, w); err != nil {
		t.Fatal(err)
	}
	if fc.writeTo.Load() != 2 {
		t.Errorf("tunnel to tunnel copy did not reach the source's WriteTo")
	}
}

func TestObserveTunnelHalfClose(t *testing.T) {
	c, s := tcpPair(t)
	w := runtime.ObserveTunnel(c, tunnelEv, &tunnelCounter{})
	cw, ok := w.(interface{ CloseWrite() error })
	if !ok {
		t.Fatal("wrapper has no CloseWrite")
	}
	if _, err := io.WriteString(w, "req"); err != nil {
		t.Fatal(err)
	}
	if err := cw.CloseWrite(); err != nil {
		t.Fatalf("CloseWrite: %v", err)
	}
	_ = s.SetDeadline(time.Now().Add(5 * time.Second))
	got, err := io.ReadAll(s)
	if err != nil || string(got) != "req" {
		t.Fatalf("peer read %q %v, want req then EOF", got, err)
	}
	// The other direction still works after the half-close.
	if _, err := io.WriteString(s, "resp"); err != nil {
		t.Fatal(err)
	}
	_ = s.CloseWrite()
	_ = w.SetDeadline(time.Now().Add(5 * time.Second))
	if got, err := io.ReadAll(w); err != nil || string(got) != "resp" {
		t.Fatalf("read %q %v after CloseWrite", got, err)
	}
	c2, _ := tcpPair(t)
	w2 := runtime.ObserveTunnel(c2, tunnelEv, &tunnelCounter{})
	if err := w2.(interface{ CloseRead() error }).CloseRead(); err != nil {
		t.Errorf("CloseRead: %v", err)
	}

	// Without a CloseWrite underneath, the wrapper says so.
	p, _ := net.Pipe()
	defer p.Close()
	pw := runtime.ObserveTunnel(p, tunnelEv, &tunnelCounter{})
	if err := pw.(interface{ CloseWrite() error }).CloseWrite(); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("CloseWrite over net.Pipe: %v, want ErrUnsupported", err)
	}
}
