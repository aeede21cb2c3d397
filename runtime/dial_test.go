package runtime_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/proxygen-go/proxygen/runtime"
	"github.com/proxygen-go/proxygen/runtime/proxytest"
)

func TestDirect(t *testing.T) {
	e := newEcho(t, "127.0.0.1:0")
	c, err := (&runtime.Dialer{}).DialContext(context.Background(), "tcp", "127.0.0.1:"+e.port())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, ok := c.(*net.TCPConn); !ok {
		t.Fatalf("%T", c)
	}
	roundTrip(t, c, "direct")
}

// countingForward checks Forward carries the TCP connection to the proxy.
type countingForward struct {
	mu    sync.Mutex
	addrs []string
}

func (f *countingForward) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	f.mu.Lock()
	f.addrs = append(f.addrs, network+" "+addr)
	f.mu.Unlock()
	var d net.Dialer
	return d.DialContext(ctx, network, addr)
}

func TestForward(t *testing.T) {
	e := newEcho(t, "127.0.0.1:0")
	srv := newServer(t, proxytest.Config{Kind: proxytest.SOCKS5})
	f := &countingForward{}
	d := dialer(srv.Proxy(runtime.SOCKS5))
	d.Forward = f
	c, err := d.DialContext(context.Background(), "tcp", "127.0.0.1:"+e.port())
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	if len(f.addrs) != 1 || f.addrs[0] != "tcp "+srv.Addr() {
		t.Fatalf("forward dialed %v", f.addrs)
	}
}

func TestUnresolvedVariableFailsBeforeIO(t *testing.T) {
	srv := newServer(t, proxytest.Config{Kind: proxytest.SOCKS5})
	p := srv.Proxy(runtime.SOCKS5H)
	p.UserVar, p.PasswordVar = "BINANCE_PROXY_USER", "BINANCE_PROXY_PASS"
	_, err := dialer(p).DialContext(context.Background(), "tcp", "127.0.0.1:1")
	var ue *runtime.UnresolvedError
	var pe *runtime.ProxyError
	if !errors.As(err, &ue) || ue.Var != "BINANCE_PROXY_USER" || !errors.As(err, &pe) || pe.Stage != runtime.StageConfig {
		t.Fatalf("err = %v", err)
	}
	if !strings.Contains(err.Error(), "BINANCE_PROXY_USER") || strings.Contains(err.Error(), "${") {
		t.Fatalf("err = %v", err)
	}
	if n := len(srv.Records()); n != 0 {
		t.Fatalf("proxy saw %d connections", n)
	}
}

func TestLocalDNSFailureNeverReachesProxy(t *testing.T) {
	srv := newServer(t, proxytest.Config{Kind: proxytest.SOCKS5})
	for _, s := range []runtime.Scheme{runtime.SOCKS5, runtime.SOCKS4} {
		if s == runtime.SOCKS4 {
			srv = newServer(t, proxytest.Config{Kind: proxytest.SOCKS4})
		}
		_, err := dialer(srv.Proxy(s)).DialContext(context.Background(), "tcp", "no-such-host.invalid:443")
		var pe *runtime.ProxyError
		if !errors.As(err, &pe) || pe.Stage != runtime.StageResolve {
			t.Fatalf("%s: err = %v, want resolve stage", s, err)
		}
		if n := len(srv.Records()); n != 0 {
			t.Fatalf("%s: proxy saw %d connections", s, n)
		}
	}
}

func TestSetupTimeout(t *testing.T) {
	e := newEcho(t, "127.0.0.1:0")
	addr := "127.0.0.1:" + e.port()
	for _, s := range allSchemes {
		for _, opt := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/optimistic=%v", s, opt), func(t *testing.T) {
				srv := newServer(t, proxytest.Config{Kind: kindOf(s), Misbehave: proxytest.Misbehave{Stall: true}})
				p := srv.Proxy(s)
				p.Timeout = 150 * time.Millisecond
				p.Optimistic = opt
				start := time.Now()
				err := dialAndRead(p, addr)
				took := time.Since(start)
				checkTimeout(t, err)
				if took > 2*time.Second {
					t.Fatalf("took %v", took)
				}
			})
		}
	}
	t.Run("tls-stall", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		var held []net.Conn
		done := make(chan struct{})
		go func() {
			defer close(done)
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				held = append(held, c)
			}
		}()
		defer func() {
			ln.Close()
			<-done
			for _, c := range held {
				c.Close()
			}
		}()
		port, _ := strconv.Atoi(ln.Addr().(*net.TCPAddr).AddrPort().String()[len("127.0.0.1:"):])
		p := &runtime.Proxy{Scheme: runtime.HTTPS, Host: "127.0.0.1", Port: uint16(port), Timeout: 100 * time.Millisecond}
		_, err = dialer(p).DialContext(context.Background(), "tcp", addr)
		checkTimeout(t, err)
		var pe *runtime.ProxyError
		if errors.As(err, &pe); pe.Stage != runtime.StageTLS {
			t.Fatalf("stage %s", pe.Stage)
		}
	})
	t.Run("caller-deadline", func(t *testing.T) {
		srv := newServer(t, proxytest.Config{Kind: proxytest.SOCKS5, Misbehave: proxytest.Misbehave{Stall: true}})
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		_, err := dialer(srv.Proxy(runtime.SOCKS5)).DialContext(ctx, "tcp", addr)
		checkTimeout(t, err)
		if strings.Contains(err.Error(), "30s") {
			t.Fatalf("caller's deadline reported as the proxy timeout: %v", err)
		}
	})
}

func checkTimeout(t *testing.T, err error) {
	t.Helper()
	var pe *runtime.ProxyError
	var ne net.Error
	if !errors.As(err, &pe) || !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, os.ErrDeadlineExceeded) ||
		!errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("err = %v (%T), want a timeout *ProxyError", err, err)
	}
}

func TestCancelClosesAtOnce(t *testing.T) {
	e := newEcho(t, "127.0.0.1:0")
	for _, s := range []runtime.Scheme{runtime.SOCKS5, runtime.HTTP, runtime.HTTPS, runtime.SOCKS4} {
		t.Run(s.String(), func(t *testing.T) {
			srv := newServer(t, proxytest.Config{Kind: kindOf(s), Misbehave: proxytest.Misbehave{Stall: true}})
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(100*time.Millisecond, cancel)
			start := time.Now()
			_, err := dialer(srv.Proxy(s)).DialContext(ctx, "tcp", "127.0.0.1:"+e.port())
			if !errors.Is(err, context.Canceled) || time.Since(start) > time.Second {
				t.Fatalf("err = %v after %v", err, time.Since(start))
			}
			var pe *runtime.ProxyError
			if !errors.As(err, &pe) || pe.Timeout() {
				t.Fatalf("err = %v", err)
			}
		})
	}
}

// TestDeadlinesCleared: a tunnel idle longer than the set-up timeout still
// works.
func TestDeadlinesCleared(t *testing.T) {
	e := newEcho(t, "127.0.0.1:0")
	for _, s := range allSchemes {
		for _, opt := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/optimistic=%v", s, opt), func(t *testing.T) {
				t.Parallel()
				srv := newServer(t, proxytest.Config{Kind: kindOf(s)})
				p := srv.Proxy(s)
				p.Timeout = 200 * time.Millisecond
				p.Optimistic = opt
				c, err := dialer(p).DialContext(context.Background(), "tcp", "127.0.0.1:"+e.port())
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				if opt {
					roundTrip(t, c, "first")
				}
				time.Sleep(400 * time.Millisecond)
				if _, err := io.WriteString(c, "late"); err != nil {
					t.Fatal(err)
				}
				buf := make([]byte, 4)
				if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "late" {
					t.Fatalf("read %q %v", buf, err)
				}
			})
		}
	}
}

// TestRedaction: a canary password never shows in any printed form of the
// Proxy, in logs, or in any error.
func TestRedaction(t *testing.T) {
	const canary = "CANARY-9d1c-pass"
	p := runtime.Proxy{Scheme: runtime.SOCKS5H, Host: "proxy.internal", Port: 1080, User: "CANARY-user", Password: runtime.NewSecret(canary)}
	var logBuf bytes.Buffer
	l := slog.New(slog.NewJSONHandler(&logBuf, nil))
	l.Info("p", "proxy", p, "ptr", &p)
	slog.New(slog.NewTextHandler(&logBuf, nil)).Info("p", "proxy", p)
	js, err := json.Marshal(map[string]any{"p": p, "ptr": &p})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{
		p.String(), fmt.Sprint(p), fmt.Sprintf("%v %+v %#v %s %q", p, p, p, p, p),
		fmt.Sprintf("%v %+v %#v %s", &p, &p, &p, &p), fmt.Sprintf("%+v", struct{ P runtime.Proxy }{p}),
		logBuf.String(), string(js),
	} {
		if strings.Contains(s, canary) || strings.Contains(s, "CANARY-user") {
			t.Errorf("leak: %s", s)
		}
	}
	// Errors and logs of real dials.
	e := newEcho(t, "127.0.0.1:0")
	addr := "127.0.0.1:" + e.port()
	for _, s := range allSchemes {
		srv := newServer(t, proxytest.Config{Kind: kindOf(s), User: "other", Password: ""})
		q := srv.Proxy(s)
		q.User = "CANARY-user"
		if s != runtime.SOCKS4 && s != runtime.SOCKS4A {
			q.Password = runtime.NewSecret(canary)
		}
		var buf bytes.Buffer
		d := &runtime.Dialer{Proxy: q, Exchange: "kraken", Logger: slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))}
		_, err := d.DialContext(context.Background(), "tcp", addr)
		if err == nil {
			t.Fatalf("%s: wrong credentials accepted", s)
		}
		all := fmt.Sprintf("%v %+v %#v", err, err, err) + buf.String()
		if strings.Contains(all, canary) || strings.Contains(all, "CANARY-user") {
			t.Errorf("%s leak: %s", s, all)
		}
		if !strings.Contains(err.Error(), "***@") {
			t.Errorf("%s: error does not name the redacted proxy: %v", s, err)
		}
	}
}

func TestLogLine(t *testing.T) {
	e := newEcho(t, "127.0.0.1:0")
	srv := newServer(t, proxytest.Config{Kind: proxytest.SOCKS5, User: "u", Password: "CANARY-log"})
	var buf bytes.Buffer
	d := &runtime.Dialer{Proxy: srv.Proxy(runtime.SOCKS5H), Exchange: "binance", Transport: runtime.TransportHTTP,
		Logger: slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	c, err := d.DialContext(context.Background(), "tcp", "127.0.0.1:"+e.port())
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	// Tunnels log at DEBUG: an INFO logger sees nothing.
	var info bytes.Buffer
	d.Logger = slog.New(slog.NewJSONHandler(&info, nil))
	if c, err = d.DialContext(context.Background(), "tcp", "127.0.0.1:"+e.port()); err != nil {
		t.Fatal(err)
	}
	c.Close()
	if info.Len() != 0 {
		t.Errorf("a tunnel logged at INFO: %s", info.String())
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 1 {
		t.Fatalf("%d log lines: %s", len(lines), buf.String())
	}
	for _, want := range []string{`"level":"DEBUG"`, `"exchange":"binance"`, `"transport":"http"`, `"scheme":"socks5h"`, `"proxy":"` + srv.Addr() + `"`, `"setup":`} {
		if !strings.Contains(lines[0], want) {
			t.Errorf("log line lacks %s: %s", want, lines[0])
		}
	}
	if strings.Contains(lines[0], "CANARY") || strings.Contains(lines[0], `"u"`) {
		t.Errorf("log line leaks: %s", lines[0])
	}
}
