package proxytest

import (
	"encoding/binary"
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// SOCKS5 (RFC 1928) and its username/password sub-negotiation (RFC 1929).
const (
	socks5Version        = 5
	socks5MethodNone     = 0x00
	socks5MethodUserPass = 0x02
	socks5NoMethod       = 0xff
	socks5AuthVersion    = 1
	socks5CmdConnect     = 1

	socks5AddrIPv4 = 1
	socks5AddrName = 3
	socks5AddrIPv6 = 4

	socks5Granted           = 0x00
	socks5HostUnreachable   = 0x05
	socks5CmdUnsupported    = 0x07
	socks5AddrUnsupported   = 0x08
	socks5WrongVersionReply = 4 // the version a WrongVersion greeting answers with
)

// socks5 runs a SOCKS5 handshake: greeting, authentication when chosen,
// request, then the reply that opens the tunnel. It returns the target
// connection, or nil when the handshake ended.
func (ss *session) socks5() net.Conn {
	ss.set(func(r *Record) { r.Protocol = "socks5" })
	method, ok := ss.socks5Greeting()
	if !ok {
		return nil
	}
	if method == socks5MethodUserPass && !ss.socks5Auth() {
		return nil
	}
	target, ok := ss.socks5Request()
	if !ok {
		return nil
	}
	if code := ss.mis.ReplyCode; code != 0 {
		ss.socks5Refuse(code)
		ss.fail("refused with reply %#x on purpose", code)
		return nil
	}
	up, err := ss.s.dial(target)
	if err != nil {
		ss.socks5Refuse(socks5HostUnreachable)
		ss.fail("dial target: %v", err)
		return nil
	}
	return ss.grant(up, ss.socks5Reply(up))
}

// socks5Greeting reads the client's methods and answers with the one the
// server picks; ok is false when the handshake ends here.
func (ss *session) socks5Greeting() (method byte, ok bool) {
	head, err := ss.readFull(2)
	if err != nil {
		ss.fail("greeting: %v", err)
		return 0, false
	}
	if head[0] != socks5Version {
		ss.fail("greeting: version %#x", head[0])
		return 0, false
	}
	methods, err := ss.readFull(int(head[1]))
	if err != nil {
		ss.fail("greeting: %v", err)
		return 0, false
	}
	ss.set(func(r *Record) { r.Methods = methods })
	if ss.afterFirst(socksGarbage) {
		return 0, false
	}
	ver := byte(socks5Version)
	if ss.mis.WrongVersion {
		ver = socks5WrongVersionReply
	}
	method = socks5Choose(methods, ss.s.cfg.authRequired())
	if err := ss.reply([]byte{ver, method}); err != nil || method == socks5NoMethod || ss.mis.WrongVersion {
		ss.fail("greeting: no acceptable method (or wrong version on purpose)")
		return 0, false
	}
	return method, true
}

// socks5Choose picks the method: username/password when credentials are
// required, else no authentication, else username/password (recorded,
// anything accepted).
func socks5Choose(offered []byte, required bool) byte {
	has := func(m byte) bool { return strings.IndexByte(string(offered), m) >= 0 }
	switch {
	case required && has(socks5MethodUserPass):
		return socks5MethodUserPass
	case !required && has(socks5MethodNone):
		return socks5MethodNone
	case !required && has(socks5MethodUserPass):
		return socks5MethodUserPass
	}
	return socks5NoMethod
}

// socks5Auth runs the username/password sub-negotiation; it reports
// whether the client may go on.
func (ss *session) socks5Auth() bool {
	h, err := ss.readFull(2)
	if err != nil {
		ss.fail("auth: %v", err)
		return false
	}
	user, err := ss.readFull(int(h[1]))
	if err != nil {
		ss.fail("auth: %v", err)
		return false
	}
	pl, err := ss.readByte()
	if err != nil {
		ss.fail("auth: %v", err)
		return false
	}
	pass, err := ss.readFull(int(pl))
	if err != nil {
		ss.fail("auth: %v", err)
		return false
	}
	ss.set(func(r *Record) { r.User, r.Password, r.Auth = string(user), string(pass), true })
	cfg := &ss.s.cfg
	ok := h[0] == socks5AuthVersion && (!cfg.authRequired() || string(user) == cfg.User && string(pass) == cfg.Password)
	status := byte(0)
	if !ok {
		status = 1
	}
	if err := ss.reply([]byte{socks5AuthVersion, status}); err != nil || !ok {
		ss.fail("auth: failed")
		return false
	}
	return true
}

// socks5Request reads the CONNECT request and records its target; ok is
// false (after a refusal when the request is readable) when the handshake
// ends here.
func (ss *session) socks5Request() (target string, ok bool) {
	h, err := ss.readFull(4)
	if err != nil {
		ss.fail("request: %v", err)
		return "", false
	}
	host, isName, err := ss.socks5Addr(h[3])
	if err != nil {
		ss.fail("request: %v", err)
		return "", false
	}
	if host == "" && !isName {
		ss.socks5Refuse(socks5AddrUnsupported)
		ss.fail("request: address type %#x", h[3])
		return "", false
	}
	pb, err := ss.readFull(2)
	if err != nil {
		ss.fail("request: %v", err)
		return "", false
	}
	target = net.JoinHostPort(host, strconv.Itoa(int(binary.BigEndian.Uint16(pb))))
	ss.set(func(r *Record) { r.Target, r.TargetIsName = target, isName })
	if h[0] != socks5Version || h[1] != socks5CmdConnect {
		ss.socks5Refuse(socks5CmdUnsupported)
		ss.fail("request: version %#x command %#x", h[0], h[1])
		return "", false
	}
	return target, true
}

// socks5Addr reads DST.ADDR of type atyp. An unknown type gives "", false
// and no error.
func (ss *session) socks5Addr(atyp byte) (host string, isName bool, err error) {
	switch atyp {
	case socks5AddrIPv4:
		a, err := ss.readFull(4)
		if err != nil {
			return "", false, err
		}
		return netip.AddrFrom4([4]byte(a)).String(), false, nil
	case socks5AddrIPv6:
		a, err := ss.readFull(16)
		if err != nil {
			return "", false, err
		}
		return netip.AddrFrom16([16]byte(a)).String(), false, nil
	case socks5AddrName:
		n, err := ss.readByte()
		if err != nil {
			return "", false, err
		}
		a, err := ss.readFull(int(n))
		if err != nil {
			return "", false, err
		}
		return string(a), true, nil
	}
	return "", false, nil
}

// socks5Refuse answers the request with code and an empty IPv4 BND.ADDR.
func (ss *session) socks5Refuse(code byte) {
	_ = ss.reply([]byte{socks5Version, code, 0, socks5AddrIPv4, 0, 0, 0, 0, 0, 0})
}

// socks5Reply is the success reply: BND.ADDR is Misbehave.BoundAddr or the
// proxy's local address toward the target.
func (ss *session) socks5Reply(up net.Conn) []byte {
	rep := []byte{socks5Version, socks5Granted, 0}
	bound := ss.mis.BoundAddr
	if bound == "" {
		bound = up.LocalAddr().String()
	}
	bhost, bport, err := net.SplitHostPort(bound)
	if err != nil {
		bhost, bport = bound, "0"
	}
	pn, _ := strconv.Atoi(bport)
	if ip, err := netip.ParseAddr(bhost); err == nil && ip.Unmap().Is4() {
		a := ip.Unmap().As4()
		rep = append(append(rep, socks5AddrIPv4), a[:]...)
	} else if err == nil {
		a := ip.As16()
		rep = append(append(rep, socks5AddrIPv6), a[:]...)
	} else {
		rep = append(append(rep, socks5AddrName, byte(len(bhost))), bhost...)
	}
	return binary.BigEndian.AppendUint16(rep, uint16(pn))
}
