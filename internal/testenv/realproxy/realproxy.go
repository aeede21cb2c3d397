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
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
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
