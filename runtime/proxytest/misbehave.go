package proxytest

import (
	"io"
	"time"
)

// Misbehave lists the ways a Server can break the protocol. The zero value
// behaves.
type Misbehave struct {
	// Stall reads the client's first message, then never answers (until
	// the client or Close ends the connection).
	Stall bool
	// CloseMidHandshake reads the client's first message, then closes.
	CloseMidHandshake bool
	// WrongVersion answers the first message with a wrong protocol version
	// (SOCKS5 0x04, SOCKS4 0x05, HTTP/2.0).
	WrongVersion bool
	// GarbageReply answers the first message with bytes that are no reply
	// of the protocol (an HTTP error page for SOCKS, binary for HTTP).
	GarbageReply bool
	// OversizedReply sends a reply larger than any client should accept
	// (HTTP: a 64 KiB header; SOCKS5: a granted reply followed by 64 KiB
	// that the client must treat as tunnel data, never as reply).
	OversizedReply bool
	// PartialReply sends the first half of the final reply, then closes.
	PartialReply bool
	// ReplyCode refuses the request with this SOCKS reply code (SOCKS5
	// 0x01..0xff, SOCKS4 0x5b..0x5d or anything else); 0 grants it.
	ReplyCode byte
	// Status answers CONNECT with this HTTP status instead of 200 (407
	// adds a Proxy-Authenticate field).
	Status int
	// DataAfterReply is sent in the same write as the success reply, as a
	// target that speaks first would.
	DataAfterReply []byte
	// ReplyDelay waits before each reply.
	ReplyDelay time.Duration
	// BoundAddr is the SOCKS5 reply's BND.ADDR: an IPv4 or IPv6 literal or
	// a host name; "" means the proxy's local address toward the target.
	BoundAddr string
}

var socksGarbage = []byte("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")

// afterFirst applies the misbehaviours that act after the client's first
// message; it reports whether the handshake must end.
func (ss *session) afterFirst(garbage []byte) bool {
	switch {
	case ss.mis.Stall:
		ss.fail("stalled on purpose")
		select {
		case <-ss.s.ctx.Done():
		case <-ss.waitClientGone():
		}
		return true
	case ss.mis.CloseMidHandshake:
		ss.fail("closed mid-handshake on purpose")
		return true
	case ss.mis.GarbageReply:
		ss.fail("garbage reply on purpose")
		_ = ss.reply(garbage)
		return true
	}
	return false
}

// waitClientGone returns a channel closed when the client closes (or sends
// anything: a stalled server reads and discards until EOF).
func (ss *session) waitClientGone() <-chan struct{} {
	ch := make(chan struct{})
	ss.s.wg.Add(1)
	go func() {
		defer ss.s.wg.Done()
		_, _ = io.Copy(io.Discard, ss.br)
		close(ch)
	}()
	return ch
}
