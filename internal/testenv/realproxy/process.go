package realproxy

// Starting and stopping server processes, and waiting for their ports.

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

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
