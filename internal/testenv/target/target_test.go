package target_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"go.uber.org/goleak"

	"github.com/proxygen-go/proxygen/internal/testenv/target"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func dialVia(addr string) func(ctx context.Context, network, _ string) (net.Conn, error) {
	return func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}
}

func TestServer(t *testing.T) {
	s := target.Start(t, nil)
	for _, host := range []string{"127.0.0.1", "localhost", "::1"} {
		if host == "::1" && !s.IPv6 {
			continue
		}
		tr := &http.Transport{TLSClientConfig: s.ClientTLS("")}
		c := &http.Client{Transport: tr, Timeout: 10 * time.Second}
		resp, err := c.Get(s.URL("https", host, "/ping"))
		if err != nil {
			t.Fatal(err)
		}
		var p target.Ping
		err = json.NewDecoder(resp.Body).Decode(&p)
		resp.Body.Close()
		tr.CloseIdleConnections()
		if err != nil || !p.Pong || !p.TLS {
			t.Fatalf("%s: ping %+v err %v", host, p, err)
		}
	}
	// exchange.test does not resolve: dial the address, verify the name.
	tr := &http.Transport{TLSClientConfig: s.ClientTLS(""), DialContext: dialVia(s.HTTPSAddr)}
	resp, err := (&http.Client{Transport: tr}).Get(s.URL("https", target.ExchangeName, "/ping"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	tr.CloseIdleConnections()

	for _, scheme := range []string{"ws", "wss"} {
		d := websocket.Dialer{TLSClientConfig: s.ClientTLS(""), HandshakeTimeout: 10 * time.Second}
		before := s.Conns()
		c, resp, err := d.Dial(s.URL(scheme, "127.0.0.1", "/ws"), nil)
		if err != nil {
			t.Fatal(err)
		}
		if resp.Header.Get(target.PeerHeader) != c.LocalAddr().String() {
			t.Errorf("peer header %q, local %s", resp.Header.Get(target.PeerHeader), c.LocalAddr())
		}
		if err := c.WriteMessage(websocket.TextMessage, []byte("hi "+scheme)); err != nil {
			t.Fatal(err)
		}
		_, msg, err := c.ReadMessage()
		if err != nil || string(msg) != "hi "+scheme {
			t.Fatalf("echo %q %v", msg, err)
		}
		c.Close()
		if s.Conns() != before+1 {
			t.Errorf("conns %d, want %d", s.Conns(), before+1)
		}
	}
	if s.WebSocketSessions() != 2 || s.RESTHits() < 3 {
		t.Errorf("ws %d rest %d", s.WebSocketSessions(), s.RESTHits())
	}
	// An open WebSocket session is closed by Close (from t.Cleanup).
	d := websocket.Dialer{TLSClientConfig: s.ClientTLS("")}
	c, _, err := d.Dial(s.URL("wss", "localhost", "/ws"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
}

func TestRelayDelay(t *testing.T) {
	s := target.Start(t, nil)
	const delay = 50 * time.Millisecond
	r := target.Relay(t, s.HTTPAddr, delay)
	d := websocket.Dialer{NetDialContext: dialVia(r.Addr), HandshakeTimeout: 10 * time.Second}
	c, _, err := d.Dial(s.URL("ws", "127.0.0.1", "/ws"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// Order is kept under delay: send a burst, read it back in order.
	for i := 0; i < 50; i++ {
		if err := c.WriteMessage(websocket.BinaryMessage, []byte{byte(i)}); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 50; i++ {
		_, m, err := c.ReadMessage()
		if err != nil || len(m) != 1 || m[0] != byte(i) {
			t.Fatalf("message %d: %v %v", i, m, err)
		}
	}
	start := time.Now()
	if err := c.WriteMessage(websocket.TextMessage, []byte("rtt")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.ReadMessage(); err != nil {
		t.Fatal(err)
	}
	if rtt := time.Since(start); rtt < 2*delay {
		t.Errorf("round trip %v, want >= %v", rtt, 2*delay)
	}
	if r.Conns() != 1 {
		t.Errorf("relay conns %d", r.Conns())
	}
	up, down := r.Bytes()
	if up == 0 || down == 0 {
		t.Errorf("bytes %d %d", up, down)
	}
}

func TestRelayNoDelayHalfClose(t *testing.T) {
	r := target.Relay(t, target.Echo(t), 0)
	c, err := net.Dial("tcp", r.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, _ = io.WriteString(c, "ping")
	_ = c.(*net.TCPConn).CloseWrite()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	b, err := io.ReadAll(c)
	if err != nil || string(b) != "ping" {
		t.Fatalf("%q %v", b, err)
	}
}

// TestRelayModes: blackhole accepts and never answers nor dials upstream,
// refuse gets "connection refused" and comes back on the same address,
// reset resets, Sever cuts relayed connections, forward works again.
func TestRelayModes(t *testing.T) {
	up := target.Echo(t)
	r := target.Relay(t, up, 0)
	roundTrip := func() error {
		c, err := net.DialTimeout("tcp", r.Addr, 2*time.Second)
		if err != nil {
			return err
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(300 * time.Millisecond))
		if _, err := c.Write([]byte("x")); err != nil {
			return err
		}
		_, err = c.Read(make([]byte, 1))
		return err
	}
	if err := roundTrip(); err != nil {
		t.Fatalf("forward: %v", err)
	}
	if err := r.SetMode(target.Blackhole); err != nil {
		t.Fatal(err)
	}
	if err := roundTrip(); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("blackhole: %v, want a read timeout", err)
	}
	if err := r.SetMode(target.Refuse); err != nil {
		t.Fatal(err)
	}
	if err := roundTrip(); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("refuse: %v, want connection refused", err)
	}
	if err := r.SetMode(target.Reset); err != nil {
		t.Fatal(err)
	}
	if err := roundTrip(); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("reset: %v, want a reset or EOF", err)
	}
	if err := r.SetMode(target.Forward); err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("tcp", r.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte("y")); err != nil {
		t.Fatal(err)
	}
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err != nil {
		t.Fatalf("forward again: %v", err)
	}
	r.Sever()
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Error("read after Sever succeeded")
	}
	if r.Accepted(target.Blackhole) != 1 || r.Accepted(target.Reset) != 1 || r.Accepted(target.Forward) != 2 || r.Forwarded() != 2 {
		t.Errorf("counts: forward %d blackhole %d reset %d forwarded %d", r.Accepted(target.Forward), r.Accepted(target.Blackhole), r.Accepted(target.Reset), r.Forwarded())
	}
}
