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
// network latency, and counts connections. SetMode puts what is behind it
// out of reach without touching it: blackholed, refused or reset.
type TCPRelay struct {
	Addr     string // 127.0.0.1:port to connect to
	Upstream string
	Delay    time.Duration // added to each chunk in each direction

	accepted atomic.Int64
	bytesUp  atomic.Int64 // client to upstream
	bytesDn  atomic.Int64 // upstream to client

	mu       sync.Mutex
	ln       net.Listener // nil while refusing
	mode     RelayMode
	byMode   [4]int64 // connections accepted per mode
	forwards int64    // connections forwarded upstream
	conns    map[net.Conn]struct{}
	closed   bool
	wg       sync.WaitGroup
}

// RelayMode is what a TCPRelay does with the connections it accepts.
type RelayMode int32

// The modes of a TCPRelay.
const (
	// Forward relays to the upstream (the default).
	Forward RelayMode = iota
	// Blackhole accepts, reads and discards, and never answers nor dials
	// the upstream: a proxy that stalls at its first byte.
	Blackhole
	// Refuse closes the listening socket: connecting gets "connection
	// refused". Leaving it listens again on the same address.
	Refuse
	// Reset accepts and resets at once (TCP RST).
	Reset
)

// String returns "forward", "blackhole", "refuse" or "reset".
func (m RelayMode) String() string {
	switch m {
	case Forward:
		return "forward"
	case Blackhole:
		return "blackhole"
	case Refuse:
		return "refuse"
	case Reset:
		return "reset"
	}
	return "mode(?)"
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
	r := &TCPRelay{Addr: ln.Addr().String(), Upstream: upstream, Delay: delay, conns: map[net.Conn]struct{}{}}
	t.Cleanup(r.Close)
	r.mu.Lock()
	r.listen(ln)
	r.mu.Unlock()
	return r
}

// listen starts accepting on ln; r.mu is held.
func (r *TCPRelay) listen(ln net.Listener) {
	r.ln = ln
	r.wg.Add(1)
	go r.acceptLoop(ln)
}

// SetMode switches what the relay does with connections accepted from now
// on; connections already relayed keep going (Sever ends them). Leaving
// Refuse listens again on the same address; it returns an error if the
// address was taken meanwhile.
func (r *TCPRelay) SetMode(m RelayMode) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed || m == r.mode {
		return nil
	}
	if m == Refuse && r.ln != nil {
		_ = r.ln.Close()
		r.ln = nil
	}
	if m != Refuse && r.ln == nil {
		ln, err := net.Listen("tcp", r.Addr)
		if err != nil {
			return err
		}
		r.listen(ln)
	}
	r.mode = m
	return nil
}

// Mode returns the current mode.
func (r *TCPRelay) Mode() RelayMode {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.mode
}

// Accepted returns how many connections were accepted in mode m (always 0
// for Refuse).
func (r *TCPRelay) Accepted(m RelayMode) int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	if m < 0 || int(m) >= len(r.byMode) {
		return 0
	}
	return r.byMode[m]
}

// Forwarded returns how many connections reached the upstream.
func (r *TCPRelay) Forwarded() int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.forwards
}

// Sever closes every connection the relay holds now (both ends), as a
// proxy that dies does; the relay keeps its mode and listener.
func (r *TCPRelay) Sever() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for c := range r.conns {
		c.Close()
	}
}

// Open returns how many sockets (client and upstream ends) the relay holds.
func (r *TCPRelay) Open() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.conns)
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
		if r.ln != nil {
			r.ln.Close()
		}
		for c := range r.conns {
			c.Close()
		}
	}
	r.mu.Unlock()
	r.wg.Wait()
}

func (r *TCPRelay) acceptLoop(ln net.Listener) {
	defer r.wg.Done()
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		r.accepted.Add(1)
		r.mu.Lock()
		mode := r.mode
		r.byMode[mode]++
		r.mu.Unlock()
		if mode == Reset || mode == Refuse { // Refuse: accepted while switching
			if tc, ok := c.(*net.TCPConn); ok {
				_ = tc.SetLinger(0)
			}
			c.Close()
			continue
		}
		if !r.track(c, true) {
			c.Close()
			return
		}
		r.wg.Add(1)
		if mode == Blackhole {
			go r.hold(c)
			continue
		}
		go r.handle(c)
	}
}

// hold reads and discards until the client (or Close, or Sever) ends c.
func (r *TCPRelay) hold(c net.Conn) {
	defer r.wg.Done()
	defer r.track(c, false)
	defer c.Close()
	_, _ = io.Copy(io.Discard, c)
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
	r.mu.Lock()
	r.forwards++
	r.mu.Unlock()
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
