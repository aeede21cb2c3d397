package runtime

import (
	"encoding/binary"
	"fmt"
	"io"
	"net"
)

// SOCKS wire constants: RFC 1928 (SOCKS5), RFC 1929 (SOCKS5 user/pass),
// SOCKS4 and its 4a extension.
const (
	socks5Version = 0x05
	socks4Version = 0x04
	// socks4ReplyVersion is the version byte of a SOCKS4 reply; some
	// servers send socks4Version instead.
	socks4ReplyVersion = 0x00
	// rfc1929Version is the version of the user/pass sub-negotiation; some
	// servers answer with socks5Version instead.
	rfc1929Version = 0x01
	rfc1929Success = 0x00

	socks5AuthNone     = 0x00
	socks5AuthPassword = 0x02
	socks5NoAcceptable = 0xff

	socks5CmdConnect = 0x01
	socks4CmdConnect = 0x01
	socks5Reserved   = 0x00

	socks5AtypIPv4   = 0x01
	socks5AtypDomain = 0x03
	socks5AtypIPv6   = 0x04
)

// SOCKS5 reply codes (RFC 1928 section 6).
const (
	socks5Succeeded          = 0x00
	socks5GeneralFailure     = 0x01
	socks5NotAllowed         = 0x02
	socks5NetUnreachable     = 0x03
	socks5HostUnreachable    = 0x04
	socks5ConnRefused        = 0x05
	socks5TTLExpired         = 0x06
	socks5CmdNotSupported    = 0x07
	socks5AtypNotSupported   = 0x08
	socks5LastKnownReplyCode = socks5AtypNotSupported
)

// SOCKS4 reply codes.
const (
	socks4Granted       = 0x5a
	socks4Rejected      = 0x5b
	socks4NoIdentd      = 0x5c // the proxy cannot reach the client's identd
	socks4IdentMismatch = 0x5d // identd reports a different user id
)

// Message sizes. A SOCKS5 reply and a SOCKS5 request have the same shape:
// a 4-byte head, an address of at most 1+255 bytes, a 2-byte port.
const (
	socks5ReplyHeadBytes    = 4 // version, code, reserved, address type
	socks5MaxReplyBytes     = socks5ReplyHeadBytes + 1 + 255 + 2
	socks5MaxRequestBytes   = socks5MaxReplyBytes
	socks5GreetingBytes     = 3             // version, one method, the method
	socks5MaxAuthBytes      = 3 + 255 + 255 // version, two lengths, user, password
	socks5MaxHandshakeBytes = socks5GreetingBytes + socks5MaxAuthBytes + socks5MaxRequestBytes
	socks5MethodReplyBytes  = 2
	rfc1929ReplyBytes       = 2
	socks4HeadBytes         = 8 // version, command, port, IPv4 address
	socks4ReplyBytes        = 8
	// socks4RequestBufBytes holds a request with a user id and a host name
	// of up to 255 bytes each without allocating.
	socks4RequestBufBytes = socks4HeadBytes + 255 + 1 + 255 + 1
)

// socks4aMarker is the IPv4 address 0.0.0.x (x non-zero) that tells a
// SOCKS4a proxy a host name follows the user id.
var socks4aMarker = [4]byte{0, 0, 0, 1}

// socks5 runs the SOCKS5 exchange: method selection, RFC 1929 user/pass
// when the proxy has credentials, then CONNECT. An optimistic proxy gets all
// three at once and its replies are read on the tunnel's first Read.
func (s *setup) socks5(conn net.Conn, t target) (net.Conn, error) {
	p := s.p
	method := socks5Method(p)
	var arr [socks5MaxHandshakeBytes]byte
	b := arr[:0]
	if p.Optimistic {
		b = socks5Greeting(b, method)
		if method == socks5AuthPassword {
			b = socks5AuthRequest(b, p.User, p.Password.Reveal())
		}
		b = socks5Request(b, t)
		_, err := conn.Write(b)
		clear(b)
		if err != nil {
			return nil, step(StageRequest, err)
		}
		return s.optimistic(conn, func(c net.Conn) ([]byte, error) {
			var r [socks5MaxReplyBytes]byte
			return nil, socks5Replies(c, r[:], method)
		}), nil
	}
	if _, err := conn.Write(socks5Greeting(b, method)); err != nil {
		return nil, step(StageGreeting, err)
	}
	if stage, err := readSOCKS5Method(conn, arr[:], method); err != nil {
		return nil, step(stage, err)
	}
	if method == socks5AuthPassword {
		req := socks5AuthRequest(b, p.User, p.Password.Reveal())
		_, err := conn.Write(req)
		clear(req)
		if err != nil {
			return nil, step(StageAuth, err)
		}
		if err := readSOCKS5AuthReply(conn, arr[:]); err != nil {
			return nil, step(StageAuth, err)
		}
	}
	if _, err := conn.Write(socks5Request(b, t)); err != nil {
		return nil, step(StageRequest, err)
	}
	if code, err := readSOCKS5Reply(conn, arr[:]); err != nil {
		return nil, &stepError{stage: StageReply, code: int(code), err: err}
	}
	return conn, nil
}

// socks5Replies reads the replies to a pipelined greeting, auth and request.
func socks5Replies(c net.Conn, b []byte, method byte) error {
	if stage, err := readSOCKS5Method(c, b, method); err != nil {
		return step(stage, err)
	}
	if method == socks5AuthPassword {
		if err := readSOCKS5AuthReply(c, b); err != nil {
			return step(StageAuth, err)
		}
	}
	if code, err := readSOCKS5Reply(c, b); err != nil {
		return &stepError{stage: StageReply, code: int(code), err: err}
	}
	return nil
}

// socks4 sends a SOCKS4 or SOCKS4a CONNECT and checks the reply (on first
// Read for an optimistic proxy).
func (s *setup) socks4(conn net.Conn, t target) (net.Conn, error) {
	var arr [socks4RequestBufBytes]byte
	req := socks4Request(arr[:0], t, s.p.User)
	_, err := conn.Write(req)
	clear(req)
	if err != nil {
		return nil, step(StageRequest, err)
	}
	if s.p.Optimistic {
		return s.optimistic(conn, checkSOCKS4Reply), nil
	}
	if _, err := checkSOCKS4Reply(conn); err != nil {
		return nil, err
	}
	return conn, nil
}

// checkSOCKS4Reply reads the reply to a SOCKS4 request; an identd mismatch
// is an authentication failure.
func checkSOCKS4Reply(c net.Conn) ([]byte, error) {
	var r [socks4ReplyBytes]byte
	if code, err := readSOCKS4Reply(c, r[:]); err != nil {
		stage := StageReply
		if code == socks4IdentMismatch {
			stage = StageAuth
		}
		return nil, &stepError{stage: stage, code: int(code), err: err}
	}
	return nil, nil
}

// socks5Method is the one method a greeting offers: user/pass when the
// proxy has credentials, "no authentication" otherwise.
func socks5Method(p *Proxy) byte {
	if p.sendsCredentials() {
		return socks5AuthPassword
	}
	return socks5AuthNone
}

// socks5Greeting appends a greeting that offers exactly one method.
func socks5Greeting(b []byte, method byte) []byte {
	return append(b, socks5Version, 1, method)
}

// socks5AuthRequest appends an RFC 1929 user/pass request. The caller has
// checked both lengths are <= 255.
func socks5AuthRequest(b []byte, user, pass string) []byte {
	b = append(b, rfc1929Version, byte(len(user)))
	b = append(b, user...)
	b = append(b, byte(len(pass)))
	return append(b, pass...)
}

// socks5Request appends a CONNECT request. An IP (literal or resolved
// locally) is sent as an address; otherwise the host name is sent for the
// proxy to resolve. The caller has checked a name is 1..255 bytes.
func socks5Request(b []byte, t target) []byte {
	b = append(b, socks5Version, socks5CmdConnect, socks5Reserved)
	switch ip := t.ip.Unmap(); {
	case ip.Is4():
		a := ip.As4()
		b = append(b, socks5AtypIPv4)
		b = append(b, a[:]...)
	case ip.Is6():
		a := ip.As16()
		b = append(b, socks5AtypIPv6)
		b = append(b, a[:]...)
	default:
		b = append(b, socks5AtypDomain, byte(len(t.host)))
		b = append(b, t.host...)
	}
	return binary.BigEndian.AppendUint16(b, t.port)
}

// socks4Request appends a SOCKS4 or SOCKS4a CONNECT request. With a valid
// IPv4 in t.ip it is SOCKS4; otherwise the 4a form carries the host name.
func socks4Request(b []byte, t target, userID string) []byte {
	b = append(b, socks4Version, socks4CmdConnect)
	b = binary.BigEndian.AppendUint16(b, t.port)
	if ip := t.ip.Unmap(); ip.Is4() {
		a := ip.As4()
		b = append(b, a[:]...)
		b = append(b, userID...)
		return append(b, 0)
	}
	b = append(b, socks4aMarker[:]...)
	b = append(b, userID...)
	b = append(b, 0)
	b = append(b, t.host...)
	return append(b, 0)
}

// readFull is io.ReadFull with EOF reported as a closed handshake.
func readFull(r io.Reader, b []byte) error {
	_, err := io.ReadFull(r, b)
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return errProxyClosed
	}
	return err
}

// readSOCKS5Method reads the proxy's method selection and checks it is the
// one method offered. The error's stage is StageGreeting unless it is an
// authentication refusal.
func readSOCKS5Method(r io.Reader, b []byte, offered byte) (Stage, error) {
	if err := readFull(r, b[:socks5MethodReplyBytes]); err != nil {
		return StageGreeting, err
	}
	if b[0] != socks5Version {
		return StageGreeting, protoErr(fmt.Sprintf("not a socks5 proxy (reply version 0x%02x)", b[0]))
	}
	switch chosen := b[1]; {
	case chosen == offered:
		return StageGreeting, nil
	case chosen == socks5NoAcceptable && offered == socks5AuthPassword:
		return StageAuth, &protoError{msg: "proxy does not accept username/password authentication", auth: true}
	case chosen == socks5NoAcceptable, chosen == socks5AuthPassword:
		return StageAuth, &protoError{msg: "proxy authentication required", auth: true}
	}
	return StageGreeting, protoErr(fmt.Sprintf("proxy chose method 0x%02x that was not offered", b[1]))
}

// readSOCKS5AuthReply reads the RFC 1929 status.
func readSOCKS5AuthReply(r io.Reader, b []byte) error {
	if err := readFull(r, b[:rfc1929ReplyBytes]); err != nil {
		return err
	}
	if b[0] != rfc1929Version && b[0] != socks5Version {
		return protoErr(fmt.Sprintf("bad username/password reply version 0x%02x", b[0]))
	}
	if b[1] != rfc1929Success {
		return &protoError{msg: "proxy authentication failed", auth: true}
	}
	return nil
}

// readSOCKS5Reply reads a CONNECT reply with exact reads: the 4-byte head,
// then the bound address by its type, then the port. b must hold at least
// socks5MaxReplyBytes. code is the reply code when the proxy refused.
func readSOCKS5Reply(r io.Reader, b []byte) (code byte, err error) {
	if err := readFull(r, b[:socks5ReplyHeadBytes]); err != nil {
		return 0, err
	}
	if b[0] != socks5Version {
		return 0, protoErr(fmt.Sprintf("bad socks5 reply version 0x%02x", b[0]))
	}
	if b[1] != socks5Succeeded {
		return b[1], &socksReplyError{version: socks5Version, code: b[1]}
	}
	var n int
	switch b[3] {
	case socks5AtypIPv4:
		n = 4
	case socks5AtypIPv6:
		n = 16
	case socks5AtypDomain:
		if err := readFull(r, b[:1]); err != nil {
			return 0, err
		}
		n = int(b[0])
	default:
		return 0, protoErr(fmt.Sprintf("bad socks5 reply address type 0x%02x", b[3]))
	}
	if err := readFull(r, b[:n+2]); err != nil {
		return 0, err
	}
	return 0, nil
}

// readSOCKS4Reply reads the 8-byte SOCKS4 reply.
func readSOCKS4Reply(r io.Reader, b []byte) (code byte, err error) {
	if err := readFull(r, b[:socks4ReplyBytes]); err != nil {
		return 0, err
	}
	if b[0] != socks4ReplyVersion && b[0] != socks4Version {
		return 0, protoErr(fmt.Sprintf("bad socks4 reply version 0x%02x", b[0]))
	}
	if b[1] != socks4Granted {
		return b[1], &socksReplyError{version: socks4Version, code: b[1]}
	}
	return 0, nil
}

// socksReplyError is a SOCKS proxy's refusal: the reply code and the
// protocol version it belongs to. A SOCKS4 identd mismatch matches
// ErrProxyAuth.
type socksReplyError struct {
	version byte // socks4Version or socks5Version
	code    byte
}

func (e *socksReplyError) Error() string {
	text := socks5ReplyText(e.code)
	if e.version == socks4Version {
		text = socks4ReplyText(e.code)
	}
	return fmt.Sprintf("%s (socks%d reply 0x%02x)", text, e.version, e.code)
}

func (e *socksReplyError) Is(target error) bool {
	return target == ErrProxyAuth && e.version == socks4Version && e.code == socks4IdentMismatch
}

var socks5ReplyTexts = [...]string{
	socks5Succeeded:        "succeeded",
	socks5GeneralFailure:   "general socks server failure",
	socks5NotAllowed:       "connection not allowed by ruleset",
	socks5NetUnreachable:   "network unreachable",
	socks5HostUnreachable:  "host unreachable",
	socks5ConnRefused:      "connection refused",
	socks5TTLExpired:       "ttl expired",
	socks5CmdNotSupported:  "command not supported",
	socks5AtypNotSupported: "address type not supported",
}

// socks5ReplyText maps a SOCKS5 reply code (RFC 1928) to text.
func socks5ReplyText(code byte) string {
	if code <= socks5LastKnownReplyCode {
		return socks5ReplyTexts[code]
	}
	return "unknown reply code"
}

// socks4ReplyText maps a SOCKS4 reply code to text.
func socks4ReplyText(code byte) string {
	switch code {
	case socks4Granted:
		return "request granted"
	case socks4Rejected:
		return "request rejected or failed"
	case socks4NoIdentd:
		return "request rejected: proxy cannot reach the client's identd"
	case socks4IdentMismatch:
		return "request rejected: identd reports a different user id"
	}
	return "unknown reply code"
}
