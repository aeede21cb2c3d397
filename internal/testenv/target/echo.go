package target

import (
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

// echoIdle bounds each connection of Echo, so a test that forgets one
// cannot hang the run.
const echoIdle = 30 * time.Second

// Echo starts the TCP echo server on 127.0.0.1 and returns its address.
// Each connection gets back what it sends, until it half-closes or closes
// (or echoIdle passes); t.Cleanup closes the listener and waits for every
// connection to end.
func Echo(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { l.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(echoIdle))
				EchoConn(c)
			}()
		}
	}()
	return l.Addr().String()
}

// EchoConn copies c back to itself until the peer half-closes or closes,
// for a test's own server that must echo after a handshake. It hides the
// TCP fast paths: splice(2) keeps a pool of pipes open that a file
// descriptor count would mistake for a leak.
func EchoConn(c net.Conn) {
	_, _ = io.Copy(struct{ io.Writer }{c}, struct{ io.Reader }{c})
}
