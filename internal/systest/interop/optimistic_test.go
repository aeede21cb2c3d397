package interop_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/proxygen-go/proxygen/internal/testenv/realproxy"
	"github.com/proxygen-go/proxygen/runtime"
)

// TestOptimisticMicrosocks documents what a user sees with optimistic: true
// against microsocks, which misreads bytes pipelined after the greeting: the
// dial returns at once; the first read fails with a typed error, either a
// refused authentication at once or a set-up timeout after timeout_seconds
// (it depends on how the bytes arrive), which says the proxy may not accept
// pipelined requests; nothing hangs past the timeout.
func TestOptimisticMicrosocks(t *testing.T) {
	f := newFixture(t)
	srv := realproxy.Microsocks(t, user, pass)
	const timeout = 2 * time.Second
	const slack = time.Second
	p := &runtime.Proxy{
		Scheme: runtime.SOCKS5H, Host: "127.0.0.1", Port: uint16(mustPort(t, srv.Addr)),
		User: user, Password: runtime.NewSecret(pass), Timeout: timeout, Optimistic: true,
	}
	r := route{server: srv, proxy: p, nameSent: true}

	t.Run("raw", func(t *testing.T) {
		record(t, "server=microsocks scheme=socks5h client=runtime optimistic=true expect=typed-error-within-timeout")
		start := time.Now()
		conn, err := r.dialer(runtime.TransportHTTP).DialContext(context.Background(), "tcp", net.JoinHostPort(host, port(f.tgt.HTTPAddr)))
		if err != nil {
			t.Fatalf("optimistic dial: %v (it sends without waiting, so it should return a conn)", err)
		}
		defer conn.Close()
		_, _ = conn.Write([]byte("GET /ping HTTP/1.1\r\nHost: localhost\r\n\r\n"))
		_, err = conn.Read(make([]byte, 512))
		took := time.Since(start)
		var pe *runtime.ProxyError
		if !errors.As(err, &pe) || !(errors.Is(err, context.DeadlineExceeded) || errors.Is(err, runtime.ErrProxyAuth)) {
			t.Fatalf("first read: %v; want a *runtime.ProxyError timeout or auth failure", err)
		}
		if !strings.Contains(err.Error(), "may not accept pipelined requests") {
			t.Errorf("the error does not point at optimistic mode: %v", err)
		}
		if took > timeout+slack {
			t.Errorf("failed after %v, want within %v + %v", took, timeout, slack)
		}
		t.Logf("microsocks + optimistic: %v after %v", err, took.Round(10*time.Millisecond))
	})

	t.Run("gorilla/wss", func(t *testing.T) {
		record(t, "server=microsocks scheme=socks5h client=gorilla ws=wss optimistic=true expect=error-within-timeout")
		wd := websocket.Dialer{
			NetDialContext:  r.dialer(runtime.TransportWebSocket).DialContext,
			TLSClientConfig: f.ca.ClientConfig(""),
		}
		ctx, cancel := context.WithTimeout(context.Background(), stepTimeout)
		defer cancel()
		start := time.Now()
		c, _, err := wd.DialContext(ctx, f.tgt.URL("wss", host, "/ws"), nil)
		took := time.Since(start)
		if err == nil {
			c.Close()
			t.Fatal("the upgrade succeeded through microsocks with optimistic: true")
		}
		if took > timeout+slack {
			t.Errorf("gorilla gave up after %v, want within %v + %v", took, timeout, slack)
		}
		t.Logf("gorilla wss + microsocks + optimistic: %v after %v", err, took.Round(10*time.Millisecond))
	})
}

func port(addr string) string {
	_, p, _ := net.SplitHostPort(addr)
	return p
}
