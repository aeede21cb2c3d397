package proxytest

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"strconv"
)

// socks4 runs a SOCKS4 or SOCKS4a handshake: one request (a name after the
// user id when the address is 0.0.0.x), one reply. It returns the target
// connection, or nil when the handshake ended.
func (ss *session) socks4() net.Conn {
	ss.set(func(r *Record) { r.Protocol = "socks4" })
	h, err := ss.readFull(8)
	if err != nil {
		ss.fail("request: %v", err)
		return nil
	}
	user, err := ss.readCString()
	if err != nil {
		ss.fail("request: user id: %v", err)
		return nil
	}
	port := binary.BigEndian.Uint16(h[2:4])
	host := netip.AddrFrom4([4]byte(h[4:8])).String()
	isName := false
	if h[4] == 0 && h[5] == 0 && h[6] == 0 && h[7] != 0 {
		if host, err = ss.readCString(); err != nil {
			ss.fail("request: host: %v", err)
			return nil
		}
		isName = true
	}
	target := net.JoinHostPort(host, strconv.Itoa(int(port)))
	ss.set(func(r *Record) {
		r.User, r.Auth, r.Target, r.TargetIsName = user, user != "", target, isName
		if isName {
			r.Protocol = "socks4a"
		}
	})
	if ss.afterFirst(socksGarbage) {
		return nil
	}
	ver := byte(0)
	if ss.mis.WrongVersion {
		ver = 5
	}
	refuse := func(code byte, why string) net.Conn {
		_ = ss.reply([]byte{ver, code, 0, 0, 0, 0, 0, 0})
		ss.fail("%s", why)
		return nil
	}
	switch {
	case h[0] != 4 || h[1] != 1:
		return refuse(0x5b, fmt.Sprintf("version %#x command %#x", h[0], h[1]))
	case ss.s.cfg.User != "" && user != ss.s.cfg.User:
		return refuse(0x5d, "user id mismatch")
	case ss.mis.ReplyCode != 0:
		return refuse(ss.mis.ReplyCode, fmt.Sprintf("refused with reply %#x on purpose", ss.mis.ReplyCode))
	case ss.mis.WrongVersion:
		return refuse(0x5a, "wrong version on purpose")
	}
	up, err := ss.s.dial(target)
	if err != nil {
		return refuse(0x5b, "dial target: "+err.Error())
	}
	return ss.grant(up, []byte{0, 0x5a, h[2], h[3], 0, 0, 0, 0})
}
