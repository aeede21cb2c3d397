package runtime_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	goruntime "runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/proxygen-go/proxygen/runtime"
)

// echoProxy is a hostile proxy that answers with the client's own bytes:
// mode "raw" echoes everything back as it comes; "407" and "502" read the
// request head and answer that status with the request in the reason
// phrase, in header fields and in the body.
func echoProxy(t *testing.T, mode string) (host string, port uint16) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	conns := map[net.Conn]struct{}{}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns[c] = struct{}{}
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() {
					c.Close()
					mu.Lock()
					delete(conns, c)
					mu.Unlock()
				}()
				_ = c.SetDeadline(time.Now().Add(5 * time.Second))
				if mode == "raw" {
					_, _ = io.Copy(c, c)
					return
				}
				br := bufio.NewReader(c)
				var head bytes.Buffer
				for {
					line, err := br.ReadString('\n')
					head.WriteString(line)
					if err != nil || line == "\r\n" || line == "\n" {
						break
					}
				}
				req := head.String()
				oneLine := strings.NewReplacer("\r", " ", "\n", " ").Replace(req)
				var resp strings.Builder
				fmt.Fprintf(&resp, "HTTP/1.1 %s %s\r\n", mode, oneLine)
				for _, l := range strings.Split(strings.TrimSpace(req), "\r\n") {
					fmt.Fprintf(&resp, "X-Echo: %s\r\n", l)
				}
				fmt.Fprintf(&resp, "Proxy-Authenticate: Basic realm=%q\r\nContent-Length: %d\r\n\r\n%s", oneLine, len(req), req)
				_, _ = io.WriteString(c, resp.String())
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	ap := ln.Addr().(*net.TCPAddr)
	return "127.0.0.1", uint16(ap.Port)
}

// Issue 9, "what held keeps holding": auth failures against proxies that
// echo the request never reveal the password or its base64, in the error or
// the debug log.
func TestSec_EchoingProxyNeverRevealsPassword(t *testing.T) {
	const user, pass = "feeder", "CANARY-echo-Pa55w0rd"
	b64 := base64.StdEncoding.EncodeToString([]byte(user + ":" + pass))
	forbidden := []string{pass, b64, b64[:len(b64)-4], fmt.Sprintf("%x", pass)}
	for _, mode := range []string{"raw", "407", "502"} {
		host, port := echoProxy(t, mode)
		for _, s := range allSchemes {
			if s == runtime.HTTPS {
				continue // TLS to an echo server fails before any credential is sent
			}
			if mode != "raw" && s != runtime.HTTP {
				continue // the HTTP-shaped echoes wait for a line SOCKS never sends
			}
			p := &runtime.Proxy{Scheme: s, Host: host, Port: port, User: user, Timeout: 2 * time.Second}
			if s != runtime.SOCKS4 && s != runtime.SOCKS4A {
				p.Password = runtime.NewSecret(pass)
			}
			var logs bytes.Buffer
			d := &runtime.Dialer{Proxy: p, Exchange: "binance", Logger: slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}
			for _, optimistic := range []bool{false, true} {
				p.Optimistic = optimistic
				c, err := d.DialContext(context.Background(), "tcp", "exchange.example:443")
				if err == nil {
					// Optimistic tunnels report the reply on first read.
					_, err = c.Read(make([]byte, 16))
					c.Close()
				}
				if err == nil {
					t.Errorf("%s/%s: echo accepted as a tunnel", mode, s)
					continue
				}
				all := fmt.Sprintf("%v|%+v|%#v|%s", err, err, err, logs.String())
				for _, f := range forbidden {
					if strings.Contains(all, f) {
						t.Errorf("%s/%s optimistic=%v: error or log reveals the credential: %s", mode, s, optimistic, all)
					}
				}
			}
		}
	}
}

func openFDs(t *testing.T) int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("no /proc/self/fd: %v", err)
	}
	return len(ents)
}

func heapInuse() (inuse, live uint64) {
	var ms goruntime.MemStats
	goruntime.GC()
	goruntime.GC()
	goruntime.ReadMemStats(&ms)
	return ms.HeapInuse, ms.HeapAlloc
}

// Issue 9, "what held keeps holding": 10,000 failed dials (refused by the
// proxy's port, and refused by a hostile proxy mid-handshake) leave no file
// descriptor, goroutine or heap growth behind.
func TestSec_NoGrowthAfter10kFailedDials(t *testing.T) {
	if testing.Short() {
		t.Skip("10k dials")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedPort := uint16(ln.Addr().(*net.TCPAddr).Port)
	ln.Close()
	echoHost, echoPort := echoProxy(t, "407")

	refused := &runtime.Dialer{Proxy: &runtime.Proxy{Scheme: runtime.SOCKS5H, Host: "127.0.0.1", Port: closedPort, User: "u", Password: runtime.NewSecret("p")}, Logger: quietLogger}
	rejected := &runtime.Dialer{Proxy: &runtime.Proxy{Scheme: runtime.HTTP, Host: echoHost, Port: echoPort, User: "u", Password: runtime.NewSecret("p")}, Logger: quietLogger}
	ctx := context.Background()
	run := func(n int) {
		for i := 0; i < n; i++ {
			d := refused
			if i%10 == 0 {
				d = rejected
			}
			c, err := d.DialContext(ctx, "tcp", "exchange.example:"+strconv.Itoa(443))
			if err == nil {
				c.Close()
				t.Fatal("dial succeeded")
			}
		}
	}
	run(200) // warm up pools and lazily allocated state
	settle := func() (int, int, uint64, uint64) {
		deadline := time.Now().Add(5 * time.Second)
		for {
			fds, g := openFDs(t), goruntime.NumGoroutine()
			if time.Now().After(deadline) {
				h, l := heapInuse()
				return fds, g, h, l
			}
			time.Sleep(20 * time.Millisecond)
			if fds2, g2 := openFDs(t), goruntime.NumGoroutine(); fds2 == fds && g2 == g {
				h, l := heapInuse()
				return fds, g, h, l
			}
		}
	}
	fds0, g0, h0, l0 := settle()
	run(10000)
	fds1, g1, h1, l1 := settle()
	t.Logf("fds %d -> %d, goroutines %d -> %d, HeapInuse %d -> %d, HeapAlloc after GC %d -> %d", fds0, fds1, g0, g1, h0, h1, l0, l1)
	if fds1 > fds0+4 {
		t.Errorf("file descriptors grew %d -> %d", fds0, fds1)
	}
	if g1 > g0+4 {
		t.Errorf("goroutines grew %d -> %d", g0, g1)
	}
	// A leak of even 26 bytes a dial would show in the live heap.
	if h1 > h0+1<<20 {
		t.Errorf("HeapInuse grew %d -> %d bytes", h0, h1)
	}
	if l1 > l0+256<<10 {
		t.Errorf("live heap grew %d -> %d bytes", l0, l1)
	}
}
