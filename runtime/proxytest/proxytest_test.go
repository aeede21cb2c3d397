package proxytest_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/proxygen-go/proxygen/runtime"
	"github.com/proxygen-go/proxygen/runtime/internal/leakcheck"
	"github.com/proxygen-go/proxygen/runtime/proxytest"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }

func echo(t testing.TB) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	var conns []net.Conn
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
			go func() { _, _ = io.Copy(c, c); c.Close() }()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
		for _, c := range conns {
			c.Close()
		}
	})
	return ln.Addr().String()
}

func socks5Request(addr string) []byte {
	ap := net.ParseIP(strings.Split(addr, ":")[0]).To4()
	var port int
	fmt.Sscanf(addr[strings.LastIndexByte(addr, ':')+1:], "%d", &port)
	return append([]byte{5, 1, 0, 1, ap[0], ap[1], ap[2], ap[3]}, byte(port>>8), byte(port))
}

// TestFlights drives the SOCKS5 server with raw clients: one that waits
// for every reply (2 flights) and one that pipelines (1 flight).
func TestFlights(t *testing.T) {
	target := echo(t)
	s := proxytest.NewSOCKS5("", "")
	defer s.Close()
	for _, pipelined := range []bool{false, true} {
		c, err := net.Dial("tcp", s.Addr())
		if err != nil {
			t.Fatal(err)
		}
		greeting, req := []byte{5, 1, 0}, socks5Request(target)
		if pipelined {
			c.Write(append(greeting, req...))
			io.ReadFull(c, make([]byte, 2))
		} else {
			c.Write(greeting)
			io.ReadFull(c, make([]byte, 2))
			c.Write(req)
		}
		io.ReadFull(c, make([]byte, 10))
		c.Write([]byte("x"))
		io.ReadFull(c, make([]byte, 1))
		c.Close()
		want := 2
		if pipelined {
			want = 1
		}
		if r := s.Last(); r.Flights != want || !r.Tunnel || r.Target != target || r.TargetIsName {
			t.Errorf("pipelined=%v: %+v, want %d flights", pipelined, r, want)
		}
	}
	if s.Tunnels() != 2 {
		t.Errorf("tunnels %d", s.Tunnels())
	}
}

// TestCloseEndsTunnelsAndWaits: Close ends live tunnels and stalled
// handshakes, then returns.
func TestCloseEndsTunnelsAndWaits(t *testing.T) {
	target := echo(t)
	s := proxytest.New(proxytest.Config{Kind: proxytest.HTTP})
	d := &runtime.Dialer{Proxy: s.Proxy(0), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	c, err := d.DialContext(context.Background(), "tcp", target)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s.SetMisbehave(proxytest.Misbehave{Stall: true})
	stalled, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer stalled.Close()
	fmt.Fprintf(stalled, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n", target, target)
	time.Sleep(50 * time.Millisecond)
	start := time.Now()
	s.Close()
	s.Close() // twice is fine
	if time.Since(start) > 2*time.Second {
		t.Fatalf("Close took %v", time.Since(start))
	}
	c.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Fatal("tunnel still open after Close")
	}
	if r := s.Records(); len(r) != 2 || r[1].Err == "" {
		t.Fatalf("records %+v", r)
	}
}

func TestHTTPRejectsOtherMethods(t *testing.T) {
	s := proxytest.NewHTTP("", "")
	defer s.Close()
	c, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "GET http://example.com/ HTTP/1.1\r\nHost: example.com\r\n\r\n")
	b, _ := io.ReadAll(c)
	if !bytes.HasPrefix(b, []byte("HTTP/1.1 405")) {
		t.Fatalf("reply %q", b)
	}
}

func TestHostsMapping(t *testing.T) {
	target := echo(t)
	_, port, _ := net.SplitHostPort(target)
	s := proxytest.New(proxytest.Config{Kind: proxytest.SOCKS4, Hosts: map[string]string{"api.exchange.test": "127.0.0.1"}})
	defer s.Close()
	d := &runtime.Dialer{Proxy: s.Proxy(runtime.SOCKS4A), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	c, err := d.DialContext(context.Background(), "tcp", "api.exchange.test:"+port)
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	if r := s.Last(); r.Protocol != "socks4a" || r.Target != "api.exchange.test:"+port || !r.TargetIsName || r.Flights != 1 {
		t.Fatalf("%+v", r)
	}
}

// Example shows a test that checks a SOCKS5 route sends host names to the
// proxy (socks5h) and authenticates.
func Example() {
	target, _ := net.Listen("tcp", "127.0.0.1:0")
	defer target.Close()
	go func() {
		c, err := target.Accept()
		if err == nil {
			c.Close()
		}
	}()
	_, port, _ := net.SplitHostPort(target.Addr().String())

	srv := proxytest.New(proxytest.Config{
		Kind: proxytest.SOCKS5, User: "feed", Password: "secret",
		Hosts: map[string]string{"api.exchange.test": "127.0.0.1"},
	})
	defer srv.Close()

	d := &runtime.Dialer{Proxy: srv.Proxy(runtime.SOCKS5H), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	c, err := d.DialContext(context.Background(), "tcp", "api.exchange.test:"+port)
	if err != nil {
		fmt.Println(err)
		return
	}
	c.Close()
	r := srv.Last()
	fmt.Println(r.Protocol, strings.TrimSuffix(r.Target, ":"+port), r.TargetIsName, r.User, r.Flights)
	// Output: socks5 api.exchange.test true feed 3
}
