package target

import (
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TCPRelay forwards every connection it accepts to an upstream address, both
// ways, optionally delaying each forwarded chunk (keeping order) to emulate
// network latency, and counts connections.
type TCPRelay struct {
	Addr     string // 127.0.0.1:port to connect to
	Upstream string
	Delay    time.Duration // added to each chunk in each direction

	ln       net.Listener
	accepted atomic.Int64
	bytesUp  atomic.Int64 // client to upstream
	bytesDn  atomic.Int64 // upstream to client

	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
	wg     sync.WaitGroup
}

// Relay starts a TCPRelay on loopback to upstream; t.Cleanup closes it and
// every connection, and waits for its goroutines. A delay of zero forwards
// with no added latency. Each direction adds delay once, so a round trip
// through the relay gains 2*delay.
func Relay(t testing.TB, upstream string, delay time.Duration) *TCPRelay {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &TCPRelay{Addr: ln.Addr().String(), Upstream: upstream, Delay: delay, ln: ln, conns: map[net.Conn]struct{}{}}
	t.Cleanup(r.Close)
	r.wg.Add(1)
	go r.acceptLoop()
	return r
}

// Conns returns the number of client connections accepted.
func (r *TCPRelay) Conns() int64 { return r.accepted.Load() }

// Bytes returns the bytes forwarded client to upstream and upstream to client.
func (r *TCPRelay) Bytes() (up, down int64) { return r.bytesUp.Load(), r.bytesDn.Load() }

func (r *TCPRelay) track(c net.Conn, add bool) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if add {
		if r.closed {
			return false
		}
		r.conns[c] = struct{}{}
	} else {
		delete(r.conns, c)
	}
	return true
}

// Close stops accepting, closes every relayed connection and waits for the
// relay's goroutines.
func (r *TCPRelay) Close() {
	r.mu.Lock()
	if !r.closed {
		r.closed = true
		r.ln.Close()
		for c := range r.conns {
			c.Close()
		}
	}
	r.mu.Unlock()
	r.wg.Wait()
}

func (r *TCPRelay) acceptLoop() {
	defer r.wg.Done()
	for {
		c, err := r.ln.Accept()
		if err != nil {
			return
		}
		r.accepted.Add(1)
		if !r.track(c, true) {
			c.Close()
			return
		}
		r.wg.Add(1)
		go r.handle(c)
	}
}

func (r *TCPRelay) handle(client net.Conn) {
	defer r.wg.Done()
	defer r.track(client, false)
	defer client.Close()
	up, err := net.DialTimeout("tcp", r.Upstream, 30*time.Second)
	if err != nil {
		return
	}
	if !r.track(up, true) {
		up.Close()
		return
	}
	defer r.track(up, false)
	defer up.Close()
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); r.pipe(up, client, &r.bytesUp) }()
	go func() { defer wg.Done(); r.pipe(client, up, &r.bytesDn) }()
	wg.Wait()
}

type chunk struct {
	data []byte
	due  time.Time
}

// pipe copies src to dst, delaying each chunk by r.Delay from the moment it
// was read, in order. At EOF it half-closes dst; on an error it closes both.
func (r *TCPRelay) pipe(dst, src net.Conn, n *atomic.Int64) {
	defer halfClose(dst)
	if r.Delay <= 0 {
		c, err := io.Copy(dst, src)
		n.Add(c)
		if err != nil {
			dst.Close()
			src.Close()
		}
		return
	}
	ch := make(chan chunk, 1024)
	stop := make(chan struct{})
	var rwg sync.WaitGroup
	rwg.Add(1)
	go func() { // reader: timestamps each chunk as it arrives
		defer rwg.Done()
		defer close(ch)
		for {
			buf := make([]byte, 32<<10)
			k, err := src.Read(buf)
			if k > 0 {
				select {
				case ch <- chunk{buf[:k], time.Now().Add(r.Delay)}:
				case <-stop:
					return
				}
			}
			if err != nil {
				return
			}
		}
	}()
	failed := false
	for c := range ch {
		if failed {
			continue // drain until the reader sees the closed socket
		}
		if d := time.Until(c.due); d > 0 {
			time.Sleep(d)
		}
		if _, err := dst.Write(c.data); err != nil {
			failed = true
			close(stop)
			dst.Close()
			src.Close()
			continue
		}
		n.Add(int64(len(c.data)))
	}
	rwg.Wait()
}

func halfClose(c net.Conn) {
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
		return
	}
	c.Close()
}
