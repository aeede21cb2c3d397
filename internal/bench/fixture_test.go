package bench

import (
	"context"
	"encoding/binary"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/proxygen-go/proxygen/internal/testenv/realproxy"
	"github.com/proxygen-go/proxygen/internal/testenv/target"
	"github.com/proxygen-go/proxygen/runtime"
)

// Credentials of the proxies that require authentication (proxytest SOCKS5
// and HTTP, squid). danted runs without authentication here.
const (
	user = "feeder"
	pass = "s3cret-pw"
)

// setupTimeout bounds every dial of a benchmark.
const setupTimeout = 30 * time.Second

// discard is the tunnels' logger: the peers log nothing either.
var discard = slog.New(slog.DiscardHandler)

var (
	caOnce sync.Once
	ca     *target.CA
	caErr  error
)

func testCA(tb testing.TB) *target.CA {
	tb.Helper()
	caOnce.Do(func() { ca, caErr = target.NewCA() })
	if caErr != nil {
		tb.Fatal(caErr)
	}
	return ca
}

func port(tb testing.TB, addr string) uint16 {
	tb.Helper()
	_, ps, err := net.SplitHostPort(addr)
	if err != nil {
		tb.Fatal(err)
	}
	n, err := strconv.ParseUint(ps, 10, 16)
	if err != nil {
		tb.Fatal(err)
	}
	return uint16(n)
}

// endpoint is a proxy as each client needs it: proxygen's Proxy and a URL
// for the peers (x/net/proxy, gorilla Dialer.Proxy, net/http Transport.Proxy).
type endpoint struct {
	scheme     runtime.Scheme
	addr       string // host:port the clients connect to (a relay, or the proxy)
	user, pass string
}

func (e endpoint) proxy(optimistic bool) *runtime.Proxy {
	return &runtime.Proxy{Scheme: e.scheme, Host: "127.0.0.1", Port: 0, User: e.user, Password: runtime.NewSecret(e.pass),
		Timeout: setupTimeout, Optimistic: optimistic}
}

func (e endpoint) runtimeProxy(tb testing.TB, optimistic bool) *runtime.Proxy {
	p := e.proxy(optimistic)
	p.Port = port(tb, e.addr)
	return p
}

func (e endpoint) dialer(tb testing.TB, optimistic bool) *runtime.Dialer {
	return &runtime.Dialer{Proxy: e.runtimeProxy(tb, optimistic), Exchange: "bench", Transport: runtime.TransportWebSocket, Logger: discard}
}

func (e endpoint) url() *url.URL {
	u := &url.URL{Scheme: "http", Host: e.addr}
	if e.scheme == runtime.SOCKS5 || e.scheme == runtime.SOCKS5H {
		u.Scheme = "socks5"
	}
	if e.user != "" {
		u.User = url.UserPassword(e.user, e.pass)
	}
	return u
}

// installed reports whether a real server's binary is there.
func installed(bin string) bool {
	if _, err := exec.LookPath(bin); err == nil {
		return true
	}
	_, err := exec.LookPath("/usr/sbin/" + bin)
	return err == nil
}

// realServer starts a real proxy ("danted" or "squid"). When its binary is
// missing it skips b, or, when b is a top-level benchmark whose other
// variants should still run, returns nil.
func realServer(b *testing.B, name string) *realproxy.Server {
	b.Helper()
	if !installed(name) {
		if b.Name() == rootName(b) {
			return nil
		}
		b.Skipf("%s is not installed (bash .ci/install-peers.sh installs it)", name)
	}
	var s *realproxy.Server
	switch name {
	case "danted":
		s = realproxy.Dante(b)
	case "squid":
		s = realproxy.Squid(b, user, pass, nil, nil)
	}
	raiseNoFile(s)
	return s
}

// rootName is the top-level benchmark's name.
func rootName(b *testing.B) string {
	n := b.Name()
	if i := strings.IndexByte(n, '/'); i >= 0 {
		return n[:i]
	}
	return n
}

// raiseNoFile lifts the open-file limit of the server's processes (their
// soft limit may be low; Go only raises its own): 1,000 tunnels need 2,000
// descriptors in the proxy.
func raiseNoFile(s *realproxy.Server) {
	for _, pid := range s.AllPids() {
		_ = exec.Command("prlimit", "--pid", strconv.Itoa(pid), "--nofile=65536:65536").Run()
	}
}

// sink accepts connections; each reads an 8-byte length, discards that
// many bytes, and answers one byte.
type sink struct {
	ln net.Listener
	wg sync.WaitGroup
}

func newSink(tb testing.TB) *sink {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	s := &sink{ln: ln}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				defer c.Close()
				buf := make([]byte, 256<<10)
				for {
					if _, err := io.ReadFull(c, buf[:8]); err != nil {
						return
					}
					n := int64(binary.BigEndian.Uint64(buf[:8]))
					for n > 0 {
						k, err := c.Read(buf[:min(int64(len(buf)), n)])
						n -= int64(k)
						if err != nil {
							return
						}
					}
					if _, err := c.Write([]byte{1}); err != nil {
						return
					}
				}
			}()
		}
	}()
	tb.Cleanup(func() { ln.Close(); s.wg.Wait() })
	return s
}

func (s *sink) addr() string { return s.ln.Addr().String() }

// holder accepts connections and keeps them open, doing nothing with them,
// until reset.
type holder struct {
	ln    net.Listener
	mu    sync.Mutex
	conns []net.Conn
	wg    sync.WaitGroup
}

func newHolder(tb testing.TB) *holder {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	h := &holder{ln: ln}
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			h.mu.Lock()
			h.conns = append(h.conns, c)
			h.mu.Unlock()
		}
	}()
	tb.Cleanup(func() { ln.Close(); h.wg.Wait(); h.reset() })
	return h
}

func (h *holder) addr() string { return h.ln.Addr().String() }

func (h *holder) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.conns)
}

func (h *holder) reset() {
	h.mu.Lock()
	cs := h.conns
	h.conns = nil
	h.mu.Unlock()
	for _, c := range cs {
		c.Close()
	}
}

// waitFor polls cond until it holds or 30 s pass.
func waitFor(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	n := len(s)
	if n == 0 {
		return 0
	}
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

func ctxTimeout() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), setupTimeout)
}
