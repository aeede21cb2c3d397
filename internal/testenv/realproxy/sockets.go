package realproxy

// Which process holds a TCP socket, from /proc/net/tcp{,6} and /proc/<pid>/fd.

import (
	"fmt"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
)

// OwnsConn reports whether a process of the server holds the TCP socket
// whose local address is addr: give it the peer address a target saw, and
// it proves that the connection came from this proxy (not from the client
// directly, nor from another proxy). It reads /proc/net/tcp{,6} and
// /proc/PID/fd, so the connection must still be open.
func (s *Server) OwnsConn(addr string) (bool, error) {
	owners, err := SocketOwners(addr)
	if err != nil {
		return false, err
	}
	mine := s.AllPids()
	for _, pid := range owners {
		if slices.Contains(mine, pid) {
			return true, nil
		}
	}
	return false, nil
}

// Owner returns which of servers holds the TCP socket with local address
// addr (the peer a target saw), or nil when none does: for a direct
// connection SocketOwners(addr) holds os.Getpid() instead. It reads the
// socket table once and only the servers' own processes' descriptors, so
// it stays cheap on a machine with many processes.
func Owner(addr string, servers ...*Server) (*Server, error) {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		return nil, err
	}
	inode, err := socketInode(ap)
	if err != nil {
		return nil, err
	}
	want := "socket:[" + inode + "]"
	for _, s := range servers {
		for _, pid := range s.AllPids() {
			if holds(pid, want) {
				return s, nil
			}
		}
	}
	return nil, nil
}

// OwnerOf is Owner for the socket from peer to remote (the target's
// listening address): Linux lets sockets toward different remotes share a
// local port, so knowing both ends makes the answer exact where Owner can
// only guess. held reports whether pid holds that socket instead (the
// client itself, for a direct connection).
func OwnerOf(peer, remote string, servers ...*Server) (owner *Server, heldBy func(pid int) bool, err error) {
	ap, err := netip.ParseAddrPort(peer)
	if err != nil {
		return nil, nil, err
	}
	rp, err := netip.ParseAddrPort(remote)
	if err != nil {
		return nil, nil, err
	}
	inode, err := socketInodeTo(ap, rp)
	if err != nil {
		return nil, nil, err
	}
	want := "socket:[" + inode + "]"
	heldBy = func(pid int) bool { return holds(pid, want) }
	for _, s := range servers {
		for _, pid := range s.AllPids() {
			if holds(pid, want) {
				return s, heldBy, nil
			}
		}
	}
	return nil, heldBy, nil
}

// holds reports whether process pid has a descriptor linked to want.
func holds(pid int, want string) bool {
	dir := "/proc/" + strconv.Itoa(pid) + "/fd"
	fds, err := os.ReadDir(dir)
	if err != nil {
		return false
	}
	for _, fd := range fds {
		if l, err := os.Readlink(dir + "/" + fd.Name()); err == nil && l == want {
			return true
		}
	}
	return false
}

// SocketOwners returns the processes that hold the open TCP socket whose
// local address is addr ("127.0.0.1:54321"), read from /proc.
func SocketOwners(addr string) ([]int, error) {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		return nil, err
	}
	inode, err := socketInode(ap)
	if err != nil {
		return nil, err
	}
	want := "socket:[" + inode + "]"
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	var pids []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		dir := "/proc/" + e.Name() + "/fd"
		fds, err := os.ReadDir(dir)
		if err != nil {
			continue
		}
		for _, fd := range fds {
			if l, err := os.Readlink(dir + "/" + fd.Name()); err == nil && l == want {
				pids = append(pids, pid)
				break
			}
		}
	}
	return pids, nil
}

// socketInode finds the inode of the TCP socket with local address ap.
// Linux lets connect() reuse a local port toward different remotes, so
// several sockets may share ap (a client's socket to a proxy and that
// proxy's socket to the target, say). The one wanted is the end of a
// connection to a target: test targets run in this process, so its other
// end is a socket this process holds.
func socketInode(ap netip.AddrPort) (string, error) { return socketInodeTo(ap, netip.AddrPort{}) }

// socketInodeTo is socketInode for the socket from ap to remote when remote
// is valid: exact even when several sockets share ap.
func socketInodeTo(ap, remote netip.AddrPort) (string, error) {
	a := ap.Addr()
	files := []string{"/proc/net/tcp6"}
	if a.Is4() || a.Is4In6() {
		a = a.Unmap()
		files = []string{"/proc/net/tcp", "/proc/net/tcp6"}
	}
	type entry struct{ local, remote, inode string }
	var mine []entry                 // sockets whose local address is ap
	byEnds := map[[2]string]string{} // local, remote -> inode
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		want := procAddr(a, f == "/proc/net/tcp6") + fmt.Sprintf(":%04X", ap.Port())
		for _, line := range strings.Split(string(data), "\n") {
			// Only sockets with ap at one end matter (a busy machine has
			// tens of thousands of lines, mostly TIME_WAIT).
			if !strings.Contains(line, want) {
				continue
			}
			fs := strings.Fields(line)
			if len(fs) <= 9 || fs[9] == "0" {
				continue
			}
			byEnds[[2]string{fs[1], fs[2]}] = fs[9]
			if fs[1] == want && (!remote.IsValid() || fs[2] == procAddr(remote.Addr().Unmap(), f == "/proc/net/tcp6")+fmt.Sprintf(":%04X", remote.Port())) {
				mine = append(mine, entry{fs[1], fs[2], fs[9]})
			}
		}
	}
	if len(mine) > 1 {
		held := ownSockets()
		for _, e := range mine {
			if held["socket:["+byEnds[[2]string{e.remote, e.local}]+"]"] {
				return e.inode, nil
			}
		}
	}
	if len(mine) > 0 {
		return mine[0].inode, nil
	}
	return "", fmt.Errorf("no open TCP socket with local address %s in /proc/net", ap)
}

// ownSockets returns the link targets ("socket:[INODE]") of this process's
// file descriptors.
func ownSockets() map[string]bool {
	held := map[string]bool{}
	fds, _ := os.ReadDir("/proc/self/fd")
	for _, fd := range fds {
		if l, err := os.Readlink("/proc/self/fd/" + fd.Name()); err == nil {
			held[l] = true
		}
	}
	return held
}

// procAddr encodes an address as /proc/net/tcp{,6} does: 32-bit words in
// host (little-endian) byte order.
func procAddr(a netip.Addr, six bool) string {
	var b []byte
	if six {
		s := a.As16()
		if a.Is4() {
			s = netip.AddrFrom16(a.As16()).As16() // v4-mapped
		}
		b = s[:]
	} else {
		s := a.As4()
		b = s[:]
	}
	var out strings.Builder
	for i := 0; i < len(b); i += 4 {
		fmt.Fprintf(&out, "%02X%02X%02X%02X", b[i+3], b[i+2], b[i+1], b[i])
	}
	return out.String()
}
