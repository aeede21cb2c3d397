// Package realproxy starts real proxy servers from Debian's packages
// (microsocks, danted, OpenSSH dynamic forwarding, tinyproxy, squid) on free
// loopback ports for the system tests: every server runs in a session of its
// own (setsid), with every file it needs or writes in a t.TempDir(), and
// t.Cleanup stops exactly the process groups this package started and waits
// until none of them is left; a failing test gets the servers' logs. A
// missing binary skips the test with a clear message, except under CI=true,
// where it fails it (CI installs the servers with .ci/install-peers.sh). It
// must not listen beyond loopback, touch files outside its temporary
// directories, signal a process it did not start, or be imported by product
// code.
package realproxy

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// StartTimeout bounds how long a server may take to accept on its port.
// Generous: a loaded 2-core machine starting squid can take seconds.
const StartTimeout = 30 * time.Second

// stopTimeout bounds a graceful stop before the group is killed.
const stopTimeout = 10 * time.Second

// Server is one running real proxy server (possibly several processes).
type Server struct {
	Name    string // "microsocks", "danted", "ssh", "tinyproxy", "squid"
	Addr    string // 127.0.0.1:port of the plain listener
	TLSAddr string // 127.0.0.1:port of the TLS listener (squid's https_port), else ""
	User    string // credentials the server accepts ("" when none)
	Pass    string
	Dir     string // the server's private directory (config, logs, keys)

	procs []*proc
	// launch starts the server's processes (startWithRetry's), kept for
	// Restart; samePorts makes it reuse Addr's and TLSAddr's ports.
	launch    func() error
	samePorts bool
}

type proc struct {
	name    string
	cmd     *exec.Cmd
	logPath string
	done    chan struct{} // closed when cmd.Wait returns
	err     error         // cmd.Wait's result, valid after done
	stopped bool          // stop has run for it (a failed attempt)
}

// Host returns the host part of Addr.
func (s *Server) Host() string { h, _ := splitHostPort(s.Addr); return h }

// Port returns the port of Addr.
func (s *Server) Port() uint16 { _, p := splitHostPort(s.Addr); return p }

// TLSPort returns the port of TLSAddr (0 when there is none).
func (s *Server) TLSPort() uint16 { _, p := splitHostPort(s.TLSAddr); return p }

func splitHostPort(addr string) (string, uint16) {
	h, ps, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0
	}
	p, _ := strconv.ParseUint(ps, 10, 16)
	return h, uint16(p)
}

// Pids returns the process ids this Server started (one per session; the
// sessions may hold more processes, such as danted's children).
func (s *Server) Pids() []int {
	var pids []int
	for _, p := range s.procs {
		if !p.stopped {
			pids = append(pids, p.cmd.Process.Pid)
		}
	}
	return pids
}

// Logs returns the servers' captured stderr/stdout and log files.
func (s *Server) Logs() string {
	var b strings.Builder
	for _, p := range s.procs {
		data, _ := os.ReadFile(p.logPath)
		fmt.Fprintf(&b, "----- %s (pid %d) %s -----\n%s", p.name, p.cmd.Process.Pid, p.logPath, data)
		if len(data) > 0 && data[len(data)-1] != '\n' {
			b.WriteByte('\n')
		}
	}
	for _, extra := range []string{"cache.log", "access.log"} {
		path := filepath.Join(s.Dir, extra)
		if data, err := os.ReadFile(path); err == nil {
			fmt.Fprintf(&b, "----- %s -----\n%s", path, data)
		}
	}
	return b.String()
}

// ReadFile returns a file of the server's directory, such as squid's
// "access.log".
func (s *Server) ReadFile(name string) string {
	data, _ := os.ReadFile(filepath.Join(s.Dir, name))
	return string(data)
}

// requireBinary returns the path of a binary, or skips (fails under CI=true)
// the test when it is missing.
func requireBinary(t testing.TB, name, pkg string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, dir := range []string{"/usr/sbin", "/usr/bin", "/sbin", "/usr/lib/squid"} {
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return p
		}
	}
	msg := fmt.Sprintf("realproxy: %s not found (Debian package %s; run .ci/install-peers.sh)", name, pkg)
	if os.Getenv("CI") == "true" {
		t.Fatal(msg + " [CI=true: a missing server fails the run]")
	}
	t.Skip(msg)
	return ""
}

func requireRoot(t testing.TB, what string) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	msg := fmt.Sprintf("realproxy: %s must run as root here (it drops privileges itself)", what)
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// FreePort returns a loopback TCP port that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("realproxy: free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// newServer makes the Server and its private directory, and registers the
// cleanup that stops its processes (before the directory is removed: cleanups
// run last-in first-out).
func newServer(t testing.TB, name string) *Server {
	t.Helper()
	s := &Server{Name: name, Dir: t.TempDir()}
	t.Cleanup(func() {
		s.stop(t)
		if t.Failed() {
			t.Logf("realproxy: %s logs:\n%s", s.Name, s.Logs())
		}
	})
	return s
}

// start starts one process of the server in a session of its own, with
// stdout and stderr going to a log file in the server's directory.
func (s *Server) start(t testing.TB, name string, env []string, argv ...string) (*proc, error) {
	t.Helper()
	logPath := filepath.Join(s.Dir, fmt.Sprintf("%s.%d.log", name, len(s.procs)))
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	defer logf.Close() // the child has its own copy
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = s.Dir
	cmd.Stdin = nil
	cmd.Stdout = logf
	cmd.Stderr = logf
	cmd.Env = append(append([]string{}, baseEnv(s.Dir)...), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, logPath: logPath, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	s.procs = append(s.procs, p)
	registry.Lock()
	registry.sessions = append(registry.sessions, cmd.Process.Pid)
	registry.Unlock()
	t.Logf("realproxy: started %s (pid %d): %s", name, cmd.Process.Pid, strings.Join(argv, " "))
	return p, nil
}

func baseEnv(dir string) []string {
	env := []string{"TMPDIR=" + dir, "HOME=" + dir, "LANG=C", "LC_ALL=C"}
	if p := os.Getenv("PATH"); p != "" {
		env = append(env, "PATH="+p+":/usr/sbin:/sbin")
	} else {
		env = append(env, "PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin")
	}
	return env
}

// waitAccept waits until addr accepts a TCP connection, the process exits,
// or StartTimeout passes.
func waitAccept(p *proc, addr string) error {
	deadline := time.Now().Add(StartTimeout)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		select {
		case <-p.done:
			return fmt.Errorf("%s exited before accepting on %s: %v", p.name, addr, p.err)
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s did not accept on %s within %v: %v", p.name, addr, StartTimeout, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stop stops the server's sessions in reverse start order: SIGTERM to the
// whole process group, then SIGKILL after stopTimeout, and waits until no
// process of the group is left.
func (s *Server) stop(t testing.TB) {
	for i := len(s.procs) - 1; i >= 0; i-- {
		p := s.procs[i]
		if p.stopped {
			continue
		}
		p.stopped = true
		pgid := p.cmd.Process.Pid
		_ = syscall.Kill(-pgid, syscall.SIGTERM)
		_ = syscall.Kill(-pgid, syscall.SIGCONT) // a paused group acts on SIGTERM only once continued
		if !waitGroupGone(p, pgid, stopTimeout) {
			t.Logf("realproxy: %s (pgid %d) still running %v after SIGTERM; killing", p.name, pgid, stopTimeout)
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
			if !waitGroupGone(p, pgid, stopTimeout) {
				t.Errorf("realproxy: %s (pgid %d) survived SIGKILL: pids %v", p.name, pgid, GroupPids(pgid))
			}
		}
	}
}

func waitGroupGone(p *proc, pgid int, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for {
		exited := false
		select {
		case <-p.done:
			exited = true
		default:
		}
		if exited && len(GroupPids(pgid)) == 0 {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// GroupPids returns the live processes (not zombies) whose process group or
// session is id, read from /proc.
func GroupPids(id int) []int {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var pids []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		st, err := readStat(pid)
		if err != nil || st.state == "Z" || st.state == "X" {
			continue
		}
		if st.pgrp == id || st.session == id {
			pids = append(pids, pid)
		}
	}
	return pids
}

type procStat struct {
	state         string
	pgrp, session int
}

func readStat(pid int) (procStat, error) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return procStat{}, err
	}
	// pid (comm) state ppid pgrp session ...; comm may hold spaces.
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return procStat{}, errors.New("bad stat")
	}
	f := strings.Fields(string(data[i+1:]))
	if len(f) < 4 {
		return procStat{}, errors.New("bad stat")
	}
	pg, _ := strconv.Atoi(f[2])
	sid, _ := strconv.Atoi(f[3])
	return procStat{state: f[0], pgrp: pg, session: sid}, nil
}

// AllPids returns every live process of the server's sessions.
func (s *Server) AllPids() []int {
	var pids []int
	for _, p := range s.procs {
		if !p.stopped {
			pids = append(pids, GroupPids(p.cmd.Process.Pid)...)
		}
	}
	return pids
}

// startWithRetry runs launch up to three times: a free port found a moment
// ago may be taken by someone else before the server binds it.
func startWithRetry(t testing.TB, s *Server, launch func() error) {
	t.Helper()
	s.launch = launch
	var err error
	for attempt := 1; attempt <= 3; attempt++ {
		if err = launch(); err == nil {
			return
		}
		t.Logf("realproxy: %s attempt %d: %v", s.Name, attempt, err)
		s.stop(t)
	}
	t.Fatalf("realproxy: %s did not start: %v", s.Name, err)
}

func writeFile(t testing.TB, path, content string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatalf("realproxy: %v", err)
	}
}

// waitListen waits until a socket listens on addr (an IPv4 loopback
// address), read from /proc/net/tcp, without connecting to it.
func waitListen(p *proc, addr string) error {
	_, port := splitHostPort(addr)
	want := fmt.Sprintf("0100007F:%04X", port)
	deadline := time.Now().Add(StartTimeout)
	for {
		if data, err := os.ReadFile("/proc/net/tcp"); err == nil {
			for _, line := range strings.Split(string(data), "\n") {
				f := strings.Fields(line)
				if len(f) > 3 && f[1] == want && f[3] == "0A" {
					return nil
				}
			}
		} else {
			// No /proc/net/tcp: fall back to a fixed grace period.
			time.Sleep(2 * time.Second)
			return nil
		}
		select {
		case <-p.done:
			return fmt.Errorf("%s exited before listening on %s: %v", p.name, addr, p.err)
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s did not listen on %s within %v", p.name, addr, StartTimeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

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
func socketInode(ap netip.AddrPort) (string, error) {
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
			if fs[1] == want {
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

// LogMark is a position in a server's logs (see LogSince).
type LogMark map[string]int64

func (s *Server) logFiles() []string {
	var files []string
	for _, p := range s.procs {
		files = append(files, p.logPath)
	}
	return append(files, filepath.Join(s.Dir, "access.log"), filepath.Join(s.Dir, "cache.log"))
}

// Mark returns the current end of every log of the server.
func (s *Server) Mark() LogMark {
	m := LogMark{}
	for _, f := range s.logFiles() {
		if fi, err := os.Stat(f); err == nil {
			m[f] = fi.Size()
		}
	}
	return m
}

// LogSince returns what the server's logs (process output, squid's
// access.log and cache.log) gained since the mark.
func (s *Server) LogSince(m LogMark) string {
	var b strings.Builder
	for _, f := range s.logFiles() {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		if off := m[f]; off <= int64(len(data)) {
			data = data[off:]
		}
		b.Write(data)
	}
	return b.String()
}

// registry holds every session this test process started.
var registry struct {
	sync.Mutex
	sessions []int
}

// Leaked returns the processes still alive in any session this package
// started in this test process. After every test's cleanups it must be
// empty; TestMain functions check it.
func Leaked() []int {
	registry.Lock()
	defer registry.Unlock()
	var pids []int
	for _, sid := range registry.sessions {
		pids = append(pids, GroupPids(sid)...)
	}
	return pids
}
