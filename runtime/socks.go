package runtime

import (
	"encoding/binary"
	"io"
	"net/netip"
)

// SOCKS wire constants (RFC 1928, RFC 1929, SOCKS4 and 4a).
const (
	socks5Version       = 0x05
	socks5AuthNone      = 0x00
	socks5AuthPassword  = 0x02
	socks5NoAcceptable  = 0xff
	socks5CmdConnect    = 0x01
	socks5AtypIPv4      = 0x01
	socks5AtypDomain    = 0x03
	socks5AtypIPv6      = 0x04
	socks5PasswordVer   = 0x01
	socks4Version       = 0x04
	socks4CmdConnect    = 0x01
	socks4Granted       = 0x5a
	socks5MaxReplyBytes = 4 + 1 + 255 + 2
)

// target is a dial's destination. ip is valid for IP literals and for
// names resolved locally; host keeps the text the caller gave.
type target struct {
	host string
	ip   netip.Addr
	port uint16
}

// socks5Greeting appends a greeting that offers exactly one method: user/pass
// when the proxy has credentials, "no authentication" otherwise.
func socks5Greeting(b []byte, auth bool) []byte {
	m := byte(socks5AuthNone)
	if auth {
		m = socks5AuthPassword
	}
	return append(b, socks5Version, 1, m)
}

// socks5AuthRequest appends an RFC 1929 user/pass request. The caller has
// checked both lengths are <= 255.
func socks5AuthRequest(b []byte, user, pass string) []byte {
	b = append(b, socks5PasswordVer, byte(len(user)))
	b = append(b, user...)
	b = append(b, byte(len(pass)))
	return append(b, pass...)
}

// socks5Request appends a CONNECT request. An IP (literal or resolved
// locally) is sent as an address; otherwise the host name is sent for the
// proxy to resolve. The caller has checked a name is 1..255 bytes.
func socks5Request(b []byte, t target) []byte {
	b = append(b, socks5Version, socks5CmdConnect, 0)
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
func readSOCKS5Method(r io.Reader, b []byte, auth bool) (Stage, error) {
	if err := readFull(r, b[:2]); err != nil {
		return StageGreeting, err
	}
	if b[0] != socks5Version {
		return StageGreeting, protoErr("not a socks5 proxy (reply version 0x%s)", hex2(b[0]))
	}
	want := byte(socks5AuthNone)
	if auth {
		want = socks5AuthPassword
	}
	switch {
	case b[1] == want:
		return StageGreeting, nil
	case b[1] == socks5NoAcceptable && auth:
		return StageAuth, &protoError{msg: "proxy does not accept username/password authentication", auth: true}
	case b[1] == socks5NoAcceptable:
		return StageAuth, &protoError{msg: "proxy authentication required", auth: true}
	case b[1] == socks5AuthPassword:
		return StageAuth, &protoError{msg: "proxy authentication required", auth: true}
	}
	return StageGreeting, protoErr("proxy chose method 0x%s that was not offered", hex2(b[1]))
}

// readSOCKS5AuthReply reads the RFC 1929 status.
func readSOCKS5AuthReply(r io.Reader, b []byte) error {
	if err := readFull(r, b[:2]); err != nil {
		return err
	}
	// RFC 1929 says version 1; some servers echo the SOCKS version 5.
	if b[0] != socks5PasswordVer && b[0] != socks5Version {
		return protoErr("bad username/password reply version 0x%s", hex2(b[0]))
	}
	if b[1] != 0 {
		return &protoError{msg: "proxy authentication failed", auth: true}
	}
	return nil
}

// readSOCKS5Reply reads a CONNECT reply with exact reads: the 4-byte head,
// then the bound address by its type, then the port. b must hold at least
// socks5MaxReplyBytes. code is the reply code when the proxy refused.
func readSOCKS5Reply(r io.Reader, b []byte) (code byte, err error) {
	if err := readFull(r, b[:4]); err != nil {
		return 0, err
	}
	if b[0] != socks5Version {
		return 0, protoErr("bad socks5 reply version 0x%s", hex2(b[0]))
	}
	if b[1] != 0 {
		return b[1], socks5ReplyError(b[1])
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
		return 0, protoErr("bad socks5 reply address type 0x%s", hex2(b[3]))
	}
	if err := readFull(r, b[:n+2]); err != nil {
		return 0, err
	}
	return 0, nil
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
	b = append(b, 0, 0, 0, 1)
	b = append(b, userID...)
	b = append(b, 0)
	b = append(b, t.host...)
	return append(b, 0)
}

// readSOCKS4Reply reads the 8-byte SOCKS4 reply.
func readSOCKS4Reply(r io.Reader, b []byte) (code byte, err error) {
	if err := readFull(r, b[:8]); err != nil {
		return 0, err
	}
	// The reply version is 0; some servers send 4.
	if b[0] != 0 && b[0] != socks4Version {
		return 0, protoErr("bad socks4 reply version 0x%s", hex2(b[0]))
	}
	if b[1] != socks4Granted {
		return b[1], socks4ReplyError(b[1])
	}
	return 0, nil
}
