package adversarial_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// rawProxy is a tiny hostile "proxy": a loopback listener that hands every
// accepted connection to a handler that misbehaves on purpose. After the
// handler returns, the connection is drained until the client closes it (so
// a handler that returns early is a proxy that never answers), and the
// outcome is reported on done.
type rawProxy struct {
	ln      net.Listener
	handler func(c net.Conn)
	wg      sync.WaitGroup
	mu      sync.Mutex
	conns   map[net.Conn]struct{}
	done    chan peerEnd
	closing chan struct{}
}

// peerEnd is how the proxy's side of one connection ended.
type peerEnd struct {
	// closedByClient: the proxy read EOF or a reset from the client (the
	// client closed its socket). False when the handler closed the
	// connection itself or the drain ran out of time.
	closedByClient bool
	selfClosed     bool
	at             time.Time
}

// drainLimit bounds how long the proxy waits for the client to close.
const drainLimit = 10 * time.Second

func startRaw(t *testing.T, handler func(c net.Conn)) *rawProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &rawProxy{ln: ln, handler: handler, conns: map[net.Conn]struct{}{}, done: make(chan peerEnd, 16), closing: make(chan struct{})}
	p.wg.Add(1)
	go p.accept()
	return p
}

func (p *rawProxy) Addr() string { return p.ln.Addr().String() }

func (p *rawProxy) Port() uint16 { return uint16(p.ln.Addr().(*net.TCPAddr).Port) }

func (p *rawProxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		p.conns[c] = struct{}{}
		p.mu.Unlock()
		p.wg.Add(1)
		go p.serve(c)
	}
}

func (p *rawProxy) serve(c net.Conn) {
	defer p.wg.Done()
	defer func() {
		p.mu.Lock()
		delete(p.conns, c)
		p.mu.Unlock()
		_ = c.Close()
	}()
	p.handler(c)
	_ = c.SetReadDeadline(time.Now().Add(drainLimit))
	_, err := io.Copy(io.Discard, c)
	end := peerEnd{at: time.Now()}
	switch {
	case err == nil, errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		end.closedByClient = true
	case errors.Is(err, net.ErrClosed):
		end.selfClosed = true
	}
	select {
	case p.done <- end:
	default:
	}
}

// Close stops the listener, closes every connection and waits for every
// goroutine of the proxy.
func (p *rawProxy) Close() {
	_ = p.ln.Close()
	p.mu.Lock()
	for c := range p.conns {
		_ = c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}

// openFDs counts this process's open file descriptors.
func openFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("no /proc/self/fd: %v", err)
	}
	return len(ents)
}

// dumpFDs lists the open file descriptors, for a failure message.
func dumpFDs() string {
	ents, _ := os.ReadDir("/proc/self/fd")
	var b strings.Builder
	for _, e := range ents {
		l, _ := os.Readlink("/proc/self/fd/" + e.Name())
		fmt.Fprintf(&b, " %s->%s", e.Name(), l)
	}
	return b.String()
}

// --- protocol helpers for handlers ---

func readN(c net.Conn, n int) ([]byte, error) {
	b := make([]byte, n)
	_, err := io.ReadFull(c, b)
	return b, err
}

// readGreeting reads a SOCKS5 greeting (version, method count, methods).
func readGreeting(c net.Conn) error {
	h, err := readN(c, 2)
	if err != nil {
		return err
	}
	_, err = readN(c, int(h[1]))
	return err
}

// readSOCKS5Request reads a SOCKS5 CONNECT request.
func readSOCKS5Request(c net.Conn) error {
	h, err := readN(c, 4)
	if err != nil {
		return err
	}
	n := 0
	switch h[3] {
	case 1:
		n = 4
	case 4:
		n = 16
	case 3:
		l, err := readN(c, 1)
		if err != nil {
			return err
		}
		n = int(l[0])
	}
	_, err = readN(c, n+2)
	return err
}

// readSOCKS4Request reads a SOCKS4 or 4a CONNECT request.
func readSOCKS4Request(c net.Conn) error {
	h, err := readN(c, 8)
	if err != nil {
		return err
	}
	if err := readUntilNUL(c); err != nil {
		return err
	}
	if h[4] == 0 && h[5] == 0 && h[6] == 0 && h[7] != 0 {
		return readUntilNUL(c)
	}
	return nil
}

func readUntilNUL(c net.Conn) error {
	var b [1]byte
	for range 1024 {
		if _, err := io.ReadFull(c, b[:]); err != nil {
			return err
		}
		if b[0] == 0 {
			return nil
		}
	}
	return errors.New("no NUL")
}

// readHTTPHead reads a request head up to the blank line, byte by byte so
// nothing after it is consumed.
func readHTTPHead(c net.Conn) ([]byte, error) {
	var head []byte
	var b [1]byte
	for len(head) < 16<<10 {
		if _, err := io.ReadFull(c, b[:]); err != nil {
			return head, err
		}
		head = append(head, b[0])
		if bytes.HasSuffix(head, []byte("\r\n\r\n")) {
			return head, nil
		}
	}
	return head, errors.New("request head too large")
}

// socks5Handshake answers a no-auth greeting and reads the request.
func socks5Handshake(c net.Conn) error {
	if err := readGreeting(c); err != nil {
		return err
	}
	if _, err := c.Write([]byte{5, 0}); err != nil {
		return err
	}
	return readSOCKS5Request(c)
}

// trickle writes b one byte at a time, every gap, then keeps writing filler
// bytes forever, until a write fails (the client closed) or stop closes.
func trickle(c net.Conn, b []byte, filler byte, gap time.Duration, stop <-chan struct{}) {
	t := time.NewTicker(gap)
	defer t.Stop()
	for i := 0; ; i++ {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		x := filler
		if i < len(b) {
			x = b[i]
		}
		if _, err := c.Write([]byte{x}); err != nil {
			return
		}
	}
}

// rst closes c with a TCP reset instead of a FIN.
func rst(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = c.Close()
}
