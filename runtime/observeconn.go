package runtime

import (
	"errors"
	"io"
	"net"
	"sync/atomic"
	"time"
)

// observedConn is a tunnel seen by a TunnelObserver: its first Close emits
// TunnelClose with how long the tunnel was open. It keeps the underlying
// connection's fast paths: ReadFrom and WriteTo delegate to it (io.Copy
// into or out of a *net.TCPConn stays splice/sendfile), CloseWrite and
// CloseRead reach it when it has them, and NetConn returns it.
type observedConn struct {
	net.Conn
	obs    TunnelObserver
	ev     Tunnel
	opened time.Time
	closed atomic.Bool
}

// observeTunnel emits TunnelOpen for ev and returns c wrapped to emit
// TunnelClose on its first Close. ev names the proxy by
// "scheme://host:port" only.
func observeTunnel(c net.Conn, ev Tunnel, o TunnelObserver) net.Conn {
	ev.Open = 0
	o.TunnelOpen(ev)
	return &observedConn{Conn: c, obs: o, ev: ev, opened: time.Now()}
}

// Close closes the underlying connection; the first call (of any number,
// concurrent or not) emits TunnelClose.
func (c *observedConn) Close() error {
	err := c.Conn.Close()
	if c.closed.CompareAndSwap(false, true) {
		ev := c.ev
		ev.Open = time.Since(c.opened)
		c.obs.TunnelClose(ev)
	}
	return err
}

// ReadFrom lets io.Copy into the tunnel use the underlying connection's
// fast path (splice, sendfile).
func (c *observedConn) ReadFrom(r io.Reader) (int64, error) {
	if o, ok := r.(*observedConn); ok {
		r = o.Conn // tunnel to tunnel: let the kernel see both sockets
	}
	return io.Copy(c.Conn, r)
}

// WriteTo lets io.Copy from the tunnel use the underlying connection's
// fast path.
func (c *observedConn) WriteTo(w io.Writer) (int64, error) {
	if o, ok := w.(*observedConn); ok {
		w = o.Conn
	}
	return io.Copy(w, c.Conn)
}

// CloseWrite half-closes the tunnel when the underlying connection can.
func (c *observedConn) CloseWrite() error { return closeWrite(c.Conn) }

// CloseRead shuts the reading side when the underlying connection can.
func (c *observedConn) CloseRead() error { return closeRead(c.Conn) }

// NetConn returns the underlying connection (as tls.Conn.NetConn does).
func (c *observedConn) NetConn() net.Conn { return c.Conn }

func closeRead(c net.Conn) error {
	if cr, ok := c.(interface{ CloseRead() error }); ok {
		return cr.CloseRead()
	}
	return errors.ErrUnsupported
}
