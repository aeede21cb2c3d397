package runtime

import (
	"bufio"
	"errors"
	"io"
	"net"
	"sync"
	"time"
)

// bufferedConn returns bytes the proxy sent right after its reply before
// reading from the connection. Dial uses it only when such bytes exist;
// otherwise the caller gets the plain connection.
type bufferedConn struct {
	net.Conn
	rest leftover
}

func (c *bufferedConn) Read(p []byte) (int, error) {
	if n, ok := c.rest.read(p); ok {
		return n, nil
	}
	return c.Conn.Read(p)
}

// WriteTo drains the buffered bytes, then lets io.Copy use the underlying
// connection's fast path.
func (c *bufferedConn) WriteTo(w io.Writer) (int64, error) { return c.rest.writeTo(w, c.Conn) }

// ReadFrom lets io.Copy into the tunnel use the underlying connection's
// fast path (splice, sendfile): buffered reply bytes only concern reads.
func (c *bufferedConn) ReadFrom(r io.Reader) (int64, error) { return io.Copy(c.Conn, r) }

// CloseWrite half-closes the tunnel when the underlying connection can.
func (c *bufferedConn) CloseWrite() error { return closeWrite(c.Conn) }

// NetConn returns the underlying connection (as tls.Conn.NetConn does).
// Bytes still buffered are not in it.
func (c *bufferedConn) NetConn() net.Conn { return c.Conn }

// withRest returns c, or c wrapped to hand out rest first when the proxy
// sent bytes right after its reply.
func withRest(c net.Conn, rest []byte) net.Conn {
	if len(rest) == 0 {
		return c
	}
	return &bufferedConn{Conn: c, rest: leftover{b: rest}}
}

// takeRest copies bytes buffered in br past the proxy's reply out of the
// pooled reader, so the reader can be reused.
func takeRest(br *bufio.Reader) []byte {
	n := br.Buffered()
	if n == 0 {
		return nil
	}
	b, _ := br.Peek(n)
	return append([]byte(nil), b...)
}

// leftover holds bytes the proxy sent after its reply; a tunnel hands them
// out before reading from the connection.
type leftover struct {
	mu sync.Mutex
	b  []byte
}

func (l *leftover) set(b []byte) {
	l.mu.Lock()
	l.b = b
	l.mu.Unlock()
}

// read copies leftover bytes into p; ok is false when there are none.
func (l *leftover) read(p []byte) (n int, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.b) == 0 {
		return 0, false
	}
	n = copy(p, l.b)
	l.b = l.b[n:]
	if len(l.b) == 0 {
		l.b = nil
	}
	return n, true
}

// writeTo writes the leftover bytes to w, then copies c to w, so io.Copy
// from the tunnel keeps c's fast path.
func (l *leftover) writeTo(w io.Writer, c net.Conn) (int64, error) {
	l.mu.Lock()
	rest := l.b
	l.b = nil
	l.mu.Unlock()
	var n int64
	if len(rest) > 0 {
		m, err := w.Write(rest)
		n += int64(m)
		if err != nil {
			return n, err
		}
	}
	m, err := io.Copy(w, c)
	return n + m, err
}

// optimisticConn is a tunnel whose handshake was sent without waiting for
// the proxy's replies. Writes go straight out (the caller's first bytes
// follow the handshake at once); the first Read checks the replies and fails
// with the same *ProxyError the standard path gives. Until the replies are
// checked, reads are bounded by the set-up deadline.
type optimisticConn struct {
	net.Conn
	check func(c net.Conn) (rest []byte, err error) // reads and checks the replies
	fail  func(err error) error                     // wraps a check error into a *ProxyError

	once sync.Once
	err  error // check's outcome, set once

	rest leftover

	mu      sync.Mutex
	checked bool
	setupDL time.Time // the set-up deadline while unchecked
	userRD  time.Time // the caller's read deadline
}

func newOptimisticConn(c net.Conn, setupDL time.Time, check func(net.Conn) ([]byte, error), fail func(error) error) *optimisticConn {
	oc := &optimisticConn{Conn: c, check: check, fail: fail, setupDL: setupDL}
	_ = c.SetWriteDeadline(time.Time{})
	_ = c.SetReadDeadline(setupDL)
	return oc
}

func (c *optimisticConn) validate() error {
	c.once.Do(func() {
		rest, err := c.check(c.Conn)
		if err != nil {
			err = c.fail(err)
			_ = c.Conn.Close()
		}
		c.rest.set(rest)
		c.mu.Lock()
		c.checked, c.err = true, err
		if err == nil {
			_ = c.Conn.SetReadDeadline(c.userRD)
		}
		c.mu.Unlock()
	})
	return c.err
}

func (c *optimisticConn) Read(p []byte) (int, error) {
	if err := c.validate(); err != nil {
		return 0, err
	}
	if n, ok := c.rest.read(p); ok {
		return n, nil
	}
	return c.Conn.Read(p)
}

// Write sends p at once, without waiting for the proxy's replies; once the
// replies failed, it returns their error.
func (c *optimisticConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	err := c.err
	c.mu.Unlock()
	if err != nil {
		return 0, err
	}
	return c.Conn.Write(p)
}

// WriteTo lets io.Copy from the tunnel use the underlying connection's fast
// path once the replies are checked.
func (c *optimisticConn) WriteTo(w io.Writer) (int64, error) {
	if err := c.validate(); err != nil {
		return 0, err
	}
	return c.rest.writeTo(w, c.Conn)
}

// ReadFrom lets io.Copy into the tunnel use the underlying connection's
// fast path. Like Write, it sends without waiting for the proxy's replies.
func (c *optimisticConn) ReadFrom(r io.Reader) (int64, error) {
	c.mu.Lock()
	err := c.err
	c.mu.Unlock()
	if err != nil {
		return 0, err
	}
	return io.Copy(c.Conn, r)
}

// CloseWrite half-closes the tunnel when the underlying connection can.
func (c *optimisticConn) CloseWrite() error { return closeWrite(c.Conn) }

func (c *optimisticConn) SetDeadline(t time.Time) error {
	if err := c.SetReadDeadline(t); err != nil {
		return err
	}
	return c.Conn.SetWriteDeadline(t)
}

func (c *optimisticConn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.userRD = t
	if !c.checked && (t.IsZero() || t.After(c.setupDL)) {
		t = c.setupDL
	}
	return c.Conn.SetReadDeadline(t)
}

// NetConn returns the underlying connection.
func (c *optimisticConn) NetConn() net.Conn { return c.Conn }

func closeWrite(c net.Conn) error {
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return errors.ErrUnsupported
}
