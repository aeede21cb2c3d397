package realproxy

import (
	"net"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// listenPort returns the port a launch listens on: addr's port when
// Restart relaunches the server, else a free one.
func (s *Server) listenPort(t testing.TB, addr string) int {
	t.Helper()
	if s.samePorts {
		if _, ps, err := net.SplitHostPort(addr); err == nil {
			if p, err := strconv.Atoi(ps); err == nil && p > 0 {
				return p
			}
		}
	}
	return FreePort(t)
}

// Pause stops every process of the server with SIGSTOP: the kernel still
// completes TCP handshakes on its listening sockets (up to the backlog),
// but nothing answers, as a proxy that hangs. Resume undoes it. Cleanup
// resumes a paused server before stopping it.
func (s *Server) Pause(t testing.TB) {
	t.Helper()
	s.signalGroups(t, syscall.SIGSTOP)
}

// Resume continues a paused server (SIGCONT).
func (s *Server) Resume(t testing.TB) {
	t.Helper()
	s.signalGroups(t, syscall.SIGCONT)
}

func (s *Server) signalGroups(t testing.TB, sig syscall.Signal) {
	t.Helper()
	for _, p := range s.procs {
		if p.stopped {
			continue
		}
		if err := syscall.Kill(-p.cmd.Process.Pid, sig); err != nil {
			t.Errorf("realproxy: %s (pgid %d): %v: %v", p.name, p.cmd.Process.Pid, sig, err)
		}
	}
}

// Kill stops the server (SIGTERM to its process groups, then SIGKILL) and
// waits until none of its processes is left: its ports refuse connections.
// Restart brings it back on the same ports.
func (s *Server) Kill(t testing.TB) {
	t.Helper()
	s.signalGroups(t, syscall.SIGCONT) // a paused server cannot act on SIGTERM
	s.stop(t)
}

// Restart starts the server again, on the same ports and with the same
// configuration, after Kill (or stops it first), and waits until it
// accepts. It fails t when the server does not come back within
// StartTimeout (a port taken meanwhile, say).
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	s.Kill(t)
	if s.launch == nil {
		t.Fatalf("realproxy: %s cannot be restarted", s.Name)
	}
	s.samePorts = true
	defer func() { s.samePorts = false }()
	deadline := time.Now().Add(StartTimeout)
	for {
		err := s.launch()
		if err == nil {
			return
		}
		s.stop(t)
		if time.Now().After(deadline) {
			t.Fatalf("realproxy: %s did not restart on %s: %v", s.Name, s.Addr, err)
		}
		t.Logf("realproxy: %s restart: %v; retrying", s.Name, err)
		time.Sleep(200 * time.Millisecond)
	}
}
