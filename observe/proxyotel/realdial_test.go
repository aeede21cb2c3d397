package proxyotel

import (
	"context"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/proxygen-go/proxygen/runtime"
	"github.com/proxygen-go/proxygen/runtime/proxytest"
)

const realCanary = "CANARY-otel-pw-51e2"

// echoTarget is a loopback TCP target that echoes; it returns host:port.
func echoTarget(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
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

// TestRealDialSpans dials through a real pool (a refused loopback port
// first, a live SOCKS5 server second, ejection after one failure) under a
// caller's span: the first dial's span is the caller's child, has both
// attempts as events and the live member as network.peer.*; the second
// dial skips the ejected member.
func TestRealDialSpans(t *testing.T) {
	f := newFixture(t)
	target := echoTarget(t)
	srv := proxytest.NewSOCKS5("u", realCanary)
	defer srv.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadPort := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	deadP := &runtime.Proxy{Scheme: runtime.SOCKS5, Host: "127.0.0.1", Port: uint16(deadPort), User: "u", Password: runtime.NewSecret(realCanary)}
	livePort := strconv.Itoa(int(srv.Proxy(runtime.SOCKS5).Port))
	dead, live := fmt.Sprintf("socks5://127.0.0.1:%d", deadPort), "socks5://"+srv.Addr()
	p, err := runtime.NewPool(runtime.PoolConfig{
		Members:  []*runtime.Proxy{deadP, srv.Proxy(runtime.SOCKS5)},
		Policy:   runtime.PoolPolicy{Eject: runtime.EjectPolicy{AfterFailures: 1, Duration: 10 * time.Minute, MaxDuration: time.Hour}},
		Dialer:   runtime.Dialer{Exchange: "binance", Transport: runtime.TransportWebSocket},
		Observer: f.o,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, caller := f.tp.Tracer("test").Start(context.Background(), "caller")
	for i := range 2 {
		c, err := p.DialContext(ctx, "tcp", target)
		if err != nil {
			t.Fatalf("dial %d: %v", i, err)
		}
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := io.WriteString(c, "ping"); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 4)
		if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "ping" {
			t.Fatalf("echo %q %v", buf, err)
		}
		c.Close()
	}
	caller.End()

	ended := f.spans.Ended()
	var dials []sdktrace.ReadOnlySpan
	for _, s := range ended {
		if s.Name() == SpanName {
			dials = append(dials, s)
		}
		for _, kv := range s.Attributes() {
			if strings.Contains(kv.Value.String(), realCanary) {
				t.Fatalf("credential in span attribute %s", kv.Key)
			}
		}
		for _, e := range s.Events() {
			for _, kv := range e.Attributes {
				if strings.Contains(kv.Value.String(), realCanary) {
					t.Fatalf("credential in event attribute %s", kv.Key)
				}
			}
		}
	}
	if len(dials) != 2 {
		t.Fatalf("%d dial spans, want 2", len(dials))
	}
	_, tport, _ := net.SplitHostPort(target)
	for i, s := range dials {
		if s.Parent().SpanID() != caller.SpanContext().SpanID() || s.SpanContext().TraceID() != caller.SpanContext().TraceID() {
			t.Errorf("dial %d: span is not a child of the caller's span", i)
		}
		if s.Status().Code != codes.Unset {
			t.Errorf("dial %d: status %v", i, s.Status())
		}
		attempts, failovers := "1", "0"
		if i == 0 {
			attempts, failovers = "2", "1"
		}
		checkAttrs(t, fmt.Sprintf("dial %d span", i), s.Attributes(), map[string]string{
			"proxygen.exchange": "binance", "proxygen.transport": "websocket",
			"server.address": "127.0.0.1", "server.port": tport,
			"network.peer.address": "127.0.0.1", "network.peer.port": livePort,
			"proxygen.proxy": live, "proxygen.attempts": attempts, "proxygen.failovers": failovers,
		})
		t.Logf("dial %d span %s parent %s attributes %v", i, s.SpanContext().SpanID(), s.Parent().SpanID(), attrMap(s.Attributes()))
		for _, e := range s.Events() {
			t.Logf("  event %s %v", e.Name, attrMap(e.Attributes))
		}
	}
	ev := dials[0].Events()
	if len(ev) != 2 {
		t.Fatalf("first dial: %d events, want 2", len(ev))
	}
	checkAttrs(t, "attempt 1", withoutHandshake(t, ev[0].Attributes), map[string]string{
		"proxygen.proxy": dead, "proxygen.attempt.n": "1", "proxygen.attempt.hedge": "false",
		"proxygen.attempt.stage": "connect", "proxygen.attempt.counted": "true", "error.type": "connect",
	})
	checkAttrs(t, "attempt 2", withoutHandshake(t, ev[1].Attributes), map[string]string{
		"proxygen.proxy": live, "proxygen.attempt.n": "2", "proxygen.attempt.hedge": "false",
	})
	if ev := dials[1].Events(); len(ev) != 1 || attrMap(ev[0].Attributes)["proxygen.proxy"] != live {
		t.Errorf("second dial: events %v, want one attempt through the live member (dead one ejected)", ev)
	}
}

// withoutHandshake checks that an attempt event measured a handshake time
// and returns its other attributes.
func withoutHandshake(t *testing.T, kvs []attribute.KeyValue) []attribute.KeyValue {
	t.Helper()
	var out []attribute.KeyValue
	seen := false
	for _, kv := range kvs {
		if kv.Key == AttemptHandshakeKey {
			seen = true
			if kv.Value.AsFloat64() <= 0 {
				t.Errorf("handshake %v, want a measured time", kv.Value.AsFloat64())
			}
			continue
		}
		out = append(out, kv)
	}
	if !seen {
		t.Error("attempt event without its handshake time")
	}
	return out
}
