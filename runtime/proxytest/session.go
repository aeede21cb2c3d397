package proxytest

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"time"
)

// session is one client connection's handshake.
type session struct {
	s       *Server
	rec     *Record
	mis     Misbehave
	conn    net.Conn
	br      *bufio.Reader
	replied bool // the server wrote since the last counted flight
	open    bool // the tunnel is open: flights are no longer counted
}

// Read counts flights (see the package doc); the bufio.Reader on top only
// calls it when its buffer is empty.
func (ss *session) Read(p []byte) (int, error) {
	n, err := ss.conn.Read(p)
	if n > 0 && !ss.open {
		ss.s.mu.Lock()
		if ss.rec.Flights == 0 || ss.replied {
			ss.rec.Flights++
			ss.replied = false
		}
		ss.s.mu.Unlock()
	}
	return n, err
}

// reply writes b after the configured delay.
func (ss *session) reply(b []byte) error {
	if d := ss.mis.ReplyDelay; d > 0 {
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-ss.s.ctx.Done():
			t.Stop()
			return ss.s.ctx.Err()
		}
	}
	ss.s.mu.Lock()
	ss.replied = true
	ss.s.mu.Unlock()
	_, err := ss.conn.Write(b)
	return err
}

func (ss *session) set(f func(r *Record)) {
	ss.s.mu.Lock()
	f(ss.rec)
	ss.s.mu.Unlock()
}

func (ss *session) fail(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	ss.set(func(r *Record) {
		if r.Err == "" {
			r.Err = msg
		}
	})
}

func (ss *session) opened() {
	ss.open = true
	ss.set(func(r *Record) { r.Tunnel = true })
	ss.s.mu.Lock()
	ss.s.tunnels++
	ss.s.mu.Unlock()
}

func (ss *session) readByte() (byte, error) { return ss.br.ReadByte() }

func (ss *session) readFull(n int) ([]byte, error) {
	b := make([]byte, n)
	_, err := io.ReadFull(ss.br, b)
	return b, err
}

// readCString reads a NUL-terminated string of at most 1024 bytes.
func (ss *session) readCString() (string, error) {
	var b []byte
	for len(b) <= 1024 {
		c, err := ss.br.ReadByte()
		if err != nil {
			return "", err
		}
		if c == 0 {
			return string(b), nil
		}
		b = append(b, c)
	}
	return "", errors.New("string too long")
}

// grant sends the success reply (or its misbehaving variants) and opens the
// tunnel; it returns nil when the handshake must end instead.
func (ss *session) grant(up net.Conn, rep []byte) net.Conn {
	if ss.mis.PartialReply {
		_ = ss.reply(rep[:len(rep)/2])
		ss.fail("partial reply on purpose")
		ss.s.untrack(up)
		return nil
	}
	ss.opened()
	out := append(rep, ss.mis.DataAfterReply...)
	if ss.mis.OversizedReply && ss.s.cfg.Kind != HTTP && ss.s.cfg.Kind != HTTPS {
		out = append(out, make([]byte, 64<<10)...)
	}
	if err := ss.reply(out); err != nil {
		ss.s.untrack(up)
		return nil
	}
	return up
}
