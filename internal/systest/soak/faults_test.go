// The soak with faults: a pool of three real proxies, one killed and
// brought back; see doc.go.
package soak_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/proxygen-go/proxygen/internal/testenv/realproxy"
	"github.com/proxygen-go/proxygen/internal/testenv/target"
	pgrt "github.com/proxygen-go/proxygen/runtime"
)

// faultConfig is one soak-with-faults run.
type faultConfig struct {
	sessions int           // WebSocket sessions over the pool
	duration time.Duration // of the run after every session is up
	killAt   time.Duration // when the victim is killed (SIGKILL)
	reviveAt time.Duration // when it is started again on the same port
	interval time.Duration // between two messages of one session
	churn    time.Duration // one healthy session is recycled (closed, dialled again) this often
	dialPar  int           // initial dials in flight
	attempt  time.Duration // the route's attempt_timeout_seconds
	// prompt bounds how soon after the kill every session on the victim
	// must see its read error.
	prompt time.Duration
}

// TestSoakFaults: 1,000 WebSocket sessions over a round-robin pool of
// danted, squid and microsocks for 60 s; danted is killed (by pid) at 20 s
// and started again on its port at 40 s. Sessions on it must fail promptly
// with a read error and reconnect through the survivors, nothing may
// connect direct (the target checks who holds every connection it has),
// no session may be stuck longer than attempt_timeout_seconds, and danted
// must rejoin the pool (its health check passes again) and carry new
// sessions. It reports counts, reconnect times and memory.
func TestSoakFaults(t *testing.T) {
	if os.Getenv("PROXYGEN_SOAK") != "1" {
		t.Skip("set PROXYGEN_SOAK=1 (make soak) for the 60 s soak run with faults")
	}
	runFaults(t, faultConfig{sessions: 1000, duration: 60 * time.Second, killAt: 20 * time.Second, reviveAt: 40 * time.Second,
		interval: time.Second, churn: 100 * time.Millisecond, dialPar: 64, attempt: 3 * time.Second, prompt: time.Second})
}

// member indexes of the pool.
const (
	victim = iota // danted: killed and revived
	squidM
	microM
	nMembers
)

var memberNames = [nMembers]string{"danted", "squid", "microsocks"}

// poolObserver records the pool's member state changes and probes.
type poolObserver struct {
	mu     sync.Mutex
	states []string // "T+12.3s socks5://...: ejected"
	t0     atomic.Int64
	victim string // "socks5://host:port"
	// victimUp is when the victim was last seen back up (unix ns), 0 if not.
	victimUp, victimEjected atomic.Int64
	probesOK, probesFailed  atomic.Int64
}

func (o *poolObserver) DialStart(ctx context.Context, _ pgrt.DialStart) context.Context { return ctx }
func (o *poolObserver) DialDone(context.Context, pgrt.DialDone)                         {}
func (o *poolObserver) MemberState(ev pgrt.MemberState) {
	now := time.Now()
	o.mu.Lock()
	o.states = append(o.states, fmt.Sprintf("T+%.1fs %s %s (failures %d)", time.Duration(now.UnixNano()-o.t0.Load()).Seconds(), ev.Proxy, ev.State, ev.Failures))
	o.mu.Unlock()
	if ev.Proxy == o.victim {
		switch ev.State {
		case pgrt.Up:
			o.victimUp.Store(now.UnixNano())
		case pgrt.Ejected:
			o.victimEjected.Store(now.UnixNano())
		}
	}
}
func (o *poolObserver) Probe(ev pgrt.Probe) {
	if ev.Err == nil {
		o.probesOK.Add(1)
	} else {
		o.probesFailed.Add(1)
	}
}

// fsession is one logical WebSocket session: it reconnects after a read
// error (or when the churn recycles it) until the run ends.
type fsession struct {
	mu       sync.Mutex
	ws       *websocket.Conn
	member   int
	recycled bool // the current connection is being closed on purpose
	// Progress, for the stuck watchdog (unix ns; 0 when not applicable).
	dialStart atomic.Int64 // a dial (and first echo) in progress since
	lastSent  atomic.Int64
	lastRecv  atomic.Int64
	stuck     atomic.Bool
}

// faultStats are the run's counters.
type faultStats struct {
	established, reconnects, recycles  atomic.Int64
	victimReadErrs, otherReadErrs      atomic.Int64
	dialErrs                           atomic.Int64
	sent, received                     atomic.Int64
	direct                             atomic.Int64
	onVictimWhileDown, onVictimRevived atomic.Int64
	perMember                          [nMembers]atomic.Int64 // connections per member
	mu                                 sync.Mutex
	reconnect                          []time.Duration // read error to first echo on the new connection
	detect                             []time.Duration // kill to read error, sessions on the victim
	firstErr                           []string
}

func (s *faultStats) note(format string, args ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.firstErr) < 5 {
		s.firstErr = append(s.firstErr, fmt.Sprintf(format, args...))
	}
}

type memSample struct {
	heap, rss  uint64
	goroutines int
	fds        int
}

func sampleMem() memSample {
	m := measure()
	return memSample{heap: m.heap, rss: rssBytes(), goroutines: m.goroutines, fds: countFDs()}
}

func (m memSample) String() string {
	return fmt.Sprintf("heap=%s rss=%s goroutines=%d fds=%d", mib(m.heap), mib(m.rss), m.goroutines, m.fds)
}

func rssBytes() uint64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(data), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseUint(f[1], 10, 64)
			return kb << 10
		}
	}
	return 0
}

func countFDs() int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return -1
	}
	return len(ents)
}

func pct(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(p * float64(len(s)-1))
	return s[i]
}

// nofileArg is prlimit's argument setting the open-file limit to this
// process's hard limit: Go raises its own soft limit, but a server keeps
// the one it was started with (danted and squid need two descriptors per
// tunnel).
func nofileArg() string {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil || rl.Max == 0 {
		return "--nofile=20000:20000"
	}
	return fmt.Sprintf("--nofile=%d:%d", rl.Max, rl.Max)
}

// openFileLimit returns a process's soft open-file limit (-1 unknown).
func openFileLimit(pid int) int {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/limits")
	if err != nil {
		return -1
	}
	for _, l := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(l, "Max open files") {
			if f := strings.Fields(l); len(f) >= 4 {
				if n, err := strconv.Atoi(f[3]); err == nil {
					return n
				}
				return 1 << 30 // unlimited
			}
		}
	}
	return -1
}

// ensureNoFile raises (with prlimit) the open-file limit of every process
// of s below need, and fails the test if one stays below it.
func ensureNoFile(t *testing.T, s *realproxy.Server, need int) {
	t.Helper()
	for _, pid := range s.AllPids() {
		if n := openFileLimit(pid); n >= need || n < 0 {
			continue
		}
		if out, err := exec.Command("prlimit", "--pid", strconv.Itoa(pid), nofileArg()).CombinedOutput(); err != nil {
			t.Logf("prlimit %d: %v %s", pid, err, out)
		}
		if n := openFileLimit(pid); n < need {
			t.Fatalf("%s (pid %d) may open %d files, the run needs %d", s.Name, pid, n, need)
		}
	}
}

// revived is the victim started again by the test (realproxy has no
// restart): its own session, stopped by t.Cleanup.
type revived struct {
	cmd  *exec.Cmd
	done chan struct{}
}

// killServer kills every process of s's sessions with SIGKILL and waits
// until they are gone; it returns the argv of its first process, to start
// it again.
func killServer(t *testing.T, s *realproxy.Server) []string {
	t.Helper()
	pids := s.Pids()
	if len(pids) == 0 {
		t.Fatalf("%s has no process", s.Name)
	}
	raw, err := os.ReadFile("/proc/" + strconv.Itoa(pids[0]) + "/cmdline")
	if err != nil {
		t.Fatalf("cmdline of %s: %v", s.Name, err)
	}
	argv := strings.Split(strings.TrimRight(string(raw), "\x00"), "\x00")
	for _, pid := range pids {
		_ = syscall.Kill(-pid, syscall.SIGKILL) // the session leader's group: danted and its children
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) && len(s.AllPids()) > 0 {
		time.Sleep(10 * time.Millisecond)
	}
	if left := s.AllPids(); len(left) > 0 {
		t.Fatalf("%s processes %v survived SIGKILL", s.Name, left)
	}
	return argv
}

// revive starts argv again in s's directory, in a session of its own,
// with a raised open-file limit, and waits until it accepts on s.Addr.
func revive(t *testing.T, s *realproxy.Server, argv []string) *revived {
	t.Helper()
	logf, err := os.OpenFile(filepath.Join(s.Dir, "revived.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	cmd := exec.Command("prlimit", append([]string{nofileArg(), "--"}, argv...)...)
	cmd.Dir, cmd.Stdout, cmd.Stderr = s.Dir, logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("revive %s: %v", s.Name, err)
	}
	r := &revived{cmd: cmd, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(r.done) }()
	t.Cleanup(func() {
		pgid := cmd.Process.Pid
		_ = syscall.Kill(-pgid, syscall.SIGTERM)
		deadline := time.Now().Add(10 * time.Second)
		for len(realproxy.GroupPids(pgid)) > 0 && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		if len(realproxy.GroupPids(pgid)) > 0 {
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
			for len(realproxy.GroupPids(pgid)) > 0 {
				time.Sleep(20 * time.Millisecond)
			}
		}
		<-r.done
	})
	deadline := time.Now().Add(realproxy.StartTimeout)
	for {
		c, err := net.DialTimeout("tcp", s.Addr, time.Second)
		if err == nil {
			c.Close()
			return r
		}
		if time.Now().After(deadline) {
			t.Fatalf("revived %s does not accept on %s: %v\n%s", s.Name, s.Addr, err, s.ReadFile("revived.log"))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func runFaults(t *testing.T, cfg faultConfig) {
	tgt := target.Start(t, nil)
	dante := realproxy.Dante(t)
	squid := realproxy.Squid(t, "", "", nil, nil)
	micro := realproxy.Microsocks(t, "", "")
	servers := [nMembers]*realproxy.Server{dante, squid, micro}
	for _, s := range servers {
		// Every session on one proxy, two descriptors each.
		ensureNoFile(t, s, 2*cfg.sessions+256)
	}
	members := []*pgrt.Proxy{
		{Scheme: pgrt.SOCKS5, Host: dante.Host(), Port: dante.Port()},
		{Scheme: pgrt.HTTP, Host: squid.Host(), Port: squid.Port()},
		{Scheme: pgrt.SOCKS5, Host: micro.Host(), Port: micro.Port()},
	}
	memberOf := map[string]int{}
	for i, s := range servers {
		memberOf[s.Addr] = i
	}
	obs := &poolObserver{victim: "socks5://" + dante.Addr}
	route := &pgrt.Route{
		Proxies:        members,
		Strategy:       pgrt.StrategyRoundRobin,
		Timeout:        10 * time.Second,
		AttemptTimeout: cfg.attempt,
		Eject:          pgrt.EjectPolicy{AfterFailures: 3, Duration: 5 * time.Second, MaxDuration: 60 * time.Second},
		HealthCheck:    pgrt.HealthCheck{Target: tgt.HTTPAddr, Interval: 5 * time.Second, Timeout: 2 * time.Second},
	}
	in, err := pgrt.NewInjector(pgrt.Settings{Enabled: true, Lock: true, Default: pgrt.Routes{WebSocket: route}},
		pgrt.WithLogger(slog.New(slog.DiscardHandler)), pgrt.WithObserver(obs))
	if err != nil {
		t.Fatal(err)
	}
	pgrt.Install(in) // starts the health checks
	defer func() { pgrt.Install(nil); _ = in.Close() }()
	dial := in.WebSocketDialContext("soak")
	wsURL := tgt.URL("ws", "127.0.0.1", "/ws")
	baseline := sampleMem()

	var st faultStats
	var stopping atomic.Bool
	var killedAt, revivedAt atomic.Int64 // unix ns
	sessions := make([]*fsession, cfg.sessions)
	for i := range sessions {
		sessions[i] = &fsession{member: -1}
	}

	// connect dials one connection of a session and waits for its first
	// echo; it records where it landed and whether the target saw a
	// direct connection.
	connect := func(s *fsession) error {
		s.dialStart.Store(time.Now().UnixNano())
		defer s.dialStart.Store(0)
		d := websocket.Dialer{NetDialContext: dial, HandshakeTimeout: 10 * time.Second}
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		ws, resp, err := d.DialContext(ctx, wsURL, nil)
		if resp != nil && resp.Body != nil {
			_ = resp.Body.Close()
		}
		if err != nil {
			return fmt.Errorf("dial: %w", err)
		}
		m, ok := memberOf[ws.NetConn().RemoteAddr().String()]
		if !ok {
			st.direct.Add(1)
			st.note("connection to %s, not to a member", ws.NetConn().RemoteAddr())
			m = -1
		}
		if peer := resp.Header.Get(target.PeerHeader); peer == "" || peer == ws.NetConn().LocalAddr().String() {
			st.direct.Add(1)
			st.note("the target saw this process's own socket %q: a direct connection", peer)
		}
		// First echo.
		_ = ws.NetConn().SetDeadline(time.Now().Add(10 * time.Second))
		var buf [16]byte
		if err := ws.WriteMessage(websocket.BinaryMessage, buf[:]); err != nil {
			ws.Close()
			return fmt.Errorf("first write: %w", err)
		}
		if _, _, err := ws.ReadMessage(); err != nil {
			ws.Close()
			return fmt.Errorf("first echo: %w", err)
		}
		_ = ws.NetConn().SetDeadline(time.Time{})
		now := time.Now().UnixNano()
		if m >= 0 {
			st.perMember[m].Add(1)
			if m == victim {
				if k, r := killedAt.Load(), revivedAt.Load(); k != 0 && r == 0 {
					st.onVictimWhileDown.Add(1)
					st.note("a connection landed on the killed member")
				} else if r != 0 {
					st.onVictimRevived.Add(1)
				}
			}
		}
		s.mu.Lock()
		s.ws, s.member, s.recycled = ws, m, false
		s.mu.Unlock()
		s.lastSent.Store(0)
		s.lastRecv.Store(now)
		return nil
	}

	// live runs one connection: a writer every interval and a blocking
	// reader; it returns when the connection ends (read error or
	// recycling) and tells which.
	live := func(s *fsession) (readErr error, recycled bool) {
		s.mu.Lock()
		ws := s.ws
		s.mu.Unlock()
		done := make(chan struct{})
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			tick := time.NewTicker(cfg.interval)
			defer tick.Stop()
			buf := make([]byte, 16)
			select { // spread the sessions' messages over the interval
			case <-done:
				return
			case <-time.After(time.Duration(rand.Int64N(int64(cfg.interval)))):
			}
			for seq := uint64(1); ; seq++ {
				binary.BigEndian.PutUint64(buf, seq)
				binary.BigEndian.PutUint64(buf[8:], uint64(time.Now().UnixNano()))
				_ = ws.SetWriteDeadline(time.Now().Add(cfg.attempt))
				if s.lastSent.Load() <= s.lastRecv.Load() {
					s.lastSent.Store(time.Now().UnixNano())
				}
				if err := ws.WriteMessage(websocket.BinaryMessage, buf); err != nil {
					return // the reader sees the connection end too
				}
				st.sent.Add(1)
				select {
				case <-done:
					return
				case <-tick.C:
				}
			}
		}()
		defer wg.Wait()
		defer close(done)
		for {
			_, _, err := ws.ReadMessage()
			if err != nil {
				s.mu.Lock()
				recycled = s.recycled || stopping.Load()
				s.ws = nil
				s.mu.Unlock()
				ws.Close()
				return err, recycled
			}
			st.received.Add(1)
			s.lastSent.Store(0)
			s.lastRecv.Store(time.Now().UnixNano())
		}
	}

	// run is a session's life: connect, live, reconnect.
	var running sync.WaitGroup
	run := func(s *fsession) {
		defer running.Done()
		for !stopping.Load() {
			err, recycled := live(s)
			if stopping.Load() {
				return
			}
			errAt := time.Now()
			if recycled {
				st.recycles.Add(1)
			} else {
				switch k := killedAt.Load(); {
				case s.member == victim && k != 0:
					st.victimReadErrs.Add(1)
					st.mu.Lock()
					st.detect = append(st.detect, errAt.Sub(time.Unix(0, k)))
					st.mu.Unlock()
				default:
					st.otherReadErrs.Add(1)
					st.note("read error on %s: %v", memberNames[max(s.member, 0)], err)
				}
			}
			if err := connect(s); err != nil {
				st.dialErrs.Add(1)
				st.note("reconnect: %v", err)
				return
			}
			if !recycled {
				st.reconnects.Add(1)
				st.mu.Lock()
				st.reconnect = append(st.reconnect, time.Since(errAt))
				st.mu.Unlock()
			}
		}
	}

	// Establish every session.
	dialStart := time.Now()
	sem := make(chan struct{}, cfg.dialPar)
	var wg sync.WaitGroup
	for _, s := range sessions {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if err := connect(s); err != nil {
				st.dialErrs.Add(1)
				st.note("initial %v", err)
				return
			}
			st.established.Add(1)
		}()
	}
	wg.Wait()
	t.Logf("SOAKF established %d of %d sessions in %v: danted %d, squid %d, microsocks %d", st.established.Load(), cfg.sessions,
		time.Since(dialStart).Round(time.Millisecond), st.perMember[victim].Load(), st.perMember[squidM].Load(), st.perMember[microM].Load())
	defer func() { // on an early return
		for _, s := range sessions {
			s.mu.Lock()
			if s.ws != nil {
				s.ws.Close()
			}
			s.mu.Unlock()
		}
	}()
	if st.established.Load() != int64(cfg.sessions) {
		t.Fatalf("%d of %d sessions established: %v", st.established.Load(), cfg.sessions, st.firstErr)
	}
	t0 := time.Now()
	obs.t0.Store(t0.UnixNano())
	for _, s := range sessions {
		running.Add(1)
		go run(s)
	}

	// The watchdog: a session is stuck when a dial (with its first echo)
	// or an unanswered message is older than attempt_timeout_seconds.
	var aux sync.WaitGroup
	auxStop := make(chan struct{})
	var maxStuck atomic.Int64
	aux.Add(1)
	go func() {
		defer aux.Done()
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-auxStop:
				return
			case <-tick.C:
			}
			now := time.Now().UnixNano()
			for _, s := range sessions {
				age := int64(0)
				if d := s.dialStart.Load(); d != 0 {
					age = now - d
				} else if ls, lr := s.lastSent.Load(), s.lastRecv.Load(); ls > lr {
					age = now - ls
				}
				if age > maxStuck.Load() {
					maxStuck.Store(age)
				}
				if age > int64(cfg.attempt) {
					s.stuck.Store(true)
				}
			}
		}
	}()
	// The churn: recycle a random session now and then, so dials go on
	// all the time (they show where new connections land).
	aux.Add(1)
	go func() {
		defer aux.Done()
		tick := time.NewTicker(cfg.churn)
		defer tick.Stop()
		for {
			select {
			case <-auxStop:
				return
			case <-tick.C:
			}
			// Not around the kill: a session on the victim fails there.
			if since := time.Since(t0); since > cfg.killAt-time.Second && since < cfg.killAt+2*time.Second {
				continue
			}
			s := sessions[rand.IntN(len(sessions))]
			s.mu.Lock()
			if s.ws != nil && !s.recycled {
				s.recycled = true
				_ = s.ws.Close()
			}
			s.mu.Unlock()
		}
	}()

	at := func(d time.Duration) { time.Sleep(time.Until(t0.Add(d))) }
	at(cfg.killAt / 4)
	start := sampleMem()
	at(cfg.killAt)
	onVictim := 0
	for _, s := range sessions {
		s.mu.Lock()
		if s.ws != nil && s.member == victim {
			onVictim++
		}
		s.mu.Unlock()
	}
	killedAt.Store(time.Now().UnixNano())
	argv := killServer(t, dante)
	t.Logf("SOAKF T+%.1fs killed danted (pids %v) with %d sessions on it", time.Since(t0).Seconds(), dante.Pids(), onVictim)
	at((cfg.killAt + cfg.reviveAt) / 2)
	mid := sampleMem()
	directMid, checkedMid, unknownMid := checkTargetPeers(t, tgt, servers[:], nil)
	at(cfg.reviveAt)
	rv := revive(t, dante, argv)
	revivedAt.Store(time.Now().UnixNano())
	t.Logf("SOAKF T+%.1fs danted started again on %s (pid %d)", time.Since(t0).Seconds(), dante.Addr, rv.cmd.Process.Pid)
	at(cfg.duration - cfg.duration/20)
	end := sampleMem()
	directEnd, checkedEnd, unknownEnd := checkTargetPeers(t, tgt, servers[:], rv)
	at(cfg.duration)

	// Stop: no more reconnects, close every connection.
	close(auxStop)
	aux.Wait()
	stopping.Store(true)
	for _, s := range sessions {
		s.mu.Lock()
		if s.ws != nil {
			s.ws.Close()
		}
		s.mu.Unlock()
	}
	running.Wait()
	for _, s := range sessions { // a reconnect may have finished after the closes
		s.mu.Lock()
		if s.ws != nil {
			s.ws.Close()
			s.ws = nil
		}
		s.mu.Unlock()
	}
	pgrt.Install(nil)
	_ = in.Close()
	time.Sleep(200 * time.Millisecond)
	after := sampleMem()

	stuck := 0
	for _, s := range sessions {
		if s.stuck.Load() {
			stuck++
		}
	}
	revivedUp := obs.victimUp.Load() > revivedAt.Load()
	rejoin := "never"
	if revivedUp {
		rejoin = fmt.Sprintf("%.1fs after its restart", time.Duration(obs.victimUp.Load()-revivedAt.Load()).Seconds())
	}
	st.mu.Lock()
	detect, reconn := slices.Clone(st.detect), slices.Clone(st.reconnect)
	errs := slices.Clone(st.firstErr)
	st.mu.Unlock()
	t.Logf("SOAKF sessions=%d duration=%v pool=danted,squid,microsocks strategy=round_robin attempt_timeout=%v eject=3 failures/5s health_check=5s",
		cfg.sessions, cfg.duration, cfg.attempt)
	t.Logf("SOAKF connections per member (initial, reconnects and churn): danted=%d squid=%d microsocks=%d; churn recycles=%d",
		st.perMember[victim].Load(), st.perMember[squidM].Load(), st.perMember[microM].Load(), st.recycles.Load())
	t.Logf("SOAKF kill: %d sessions on danted, %d read errors on them, detection after the kill p50=%v max=%v",
		onVictim, st.victimReadErrs.Load(), pct(detect, 0.5).Round(time.Microsecond), pct(detect, 1).Round(time.Microsecond))
	t.Logf("SOAKF reconnects after a read error: %d, time to first echo p50=%v p99=%v max=%v; reconnect failures=%d; landed on danted while down=%d",
		st.reconnects.Load(), pct(reconn, 0.5).Round(time.Microsecond), pct(reconn, 0.99).Round(time.Microsecond), pct(reconn, 1).Round(time.Microsecond),
		st.dialErrs.Load(), st.onVictimWhileDown.Load())
	t.Logf("SOAKF rejoin: danted back up %s (probes passed=%d failed=%d); connections through danted after its restart=%d",
		rejoin, obs.probesOK.Load(), obs.probesFailed.Load(), st.onVictimRevived.Load())
	obs.mu.Lock()
	t.Logf("SOAKF member states: %s", strings.Join(obs.states, "; "))
	obs.mu.Unlock()
	t.Logf("SOAKF messages sent=%d echoed=%d; other read errors=%d; stuck sessions (> %v)=%d, longest wait %v",
		st.sent.Load(), st.received.Load(), st.otherReadErrs.Load(), cfg.attempt, stuck, time.Duration(maxStuck.Load()).Round(time.Millisecond))
	t.Logf("SOAKF direct connections: %d (client-side checks); the target's open connections held by this process: mid %d of %d, end %d of %d; held by no proxy process: mid %d, end %d",
		st.direct.Load(), directMid, checkedMid, directEnd, checkedEnd, unknownMid, unknownEnd)
	t.Logf("SOAKF target: %d connections accepted = %d WebSocket sessions + %d passing health checks (connect-only) + %d unexplained",
		tgt.Conns(), tgt.WebSocketSessions(), obs.probesOK.Load(), tgt.Conns()-tgt.WebSocketSessions()-obs.probesOK.Load())
	t.Logf("SOAKF memory baseline: %v", baseline)
	t.Logf("SOAKF memory start:    %v", start)
	t.Logf("SOAKF memory mid:      %v", mid)
	t.Logf("SOAKF memory end:      %v", end)
	t.Logf("SOAKF memory closed:   %v", after)
	if len(errs) > 0 {
		t.Logf("SOAKF first notes: %s", strings.Join(errs, " | "))
	}

	if onVictim == 0 {
		t.Errorf("no session was on danted when it was killed")
	}
	if n := st.victimReadErrs.Load(); n != int64(onVictim) {
		t.Errorf("%d read errors on danted's %d sessions", n, onVictim)
	}
	if m := pct(detect, 1); m > cfg.prompt {
		t.Errorf("a session on danted saw its read error %v after the kill (want <= %v)", m, cfg.prompt)
	}
	if n := st.otherReadErrs.Load(); n > 0 {
		t.Errorf("%d read errors on sessions not on the killed member", n)
	}
	if n := st.dialErrs.Load(); n > 0 {
		t.Errorf("%d reconnects failed", n)
	}
	if n := st.onVictimWhileDown.Load(); n > 0 {
		t.Errorf("%d connections landed on danted while it was down", n)
	}
	if n := st.direct.Load() + int64(directMid+directEnd); n > 0 {
		t.Errorf("%d direct connections", n)
	}
	if unknownMid+unknownEnd > 0 {
		t.Errorf("%d of the target's connections are held by no proxy process", unknownMid+unknownEnd)
	}
	if n := tgt.Conns() - tgt.WebSocketSessions() - obs.probesOK.Load(); n > 0 {
		t.Errorf("the target accepted %d connections that are neither a session nor a health check", n)
	}
	if checkedMid == 0 || checkedEnd == 0 {
		t.Errorf("the target's peers were not checked (mid %d, end %d)", checkedMid, checkedEnd)
	}
	if stuck > 0 {
		t.Errorf("%d sessions stuck longer than attempt_timeout %v (longest %v)", stuck, cfg.attempt, time.Duration(maxStuck.Load()))
	}
	if obs.victimEjected.Load() == 0 {
		t.Errorf("danted was never ejected")
	}
	if !revivedUp {
		t.Errorf("danted did not rejoin the pool after its restart")
	}
	if st.onVictimRevived.Load() == 0 {
		t.Errorf("no new connection went through danted after it came back")
	}
	if after.goroutines > baseline.goroutines+8 {
		t.Errorf("goroutines after closing every session: %d, baseline %d", after.goroutines, baseline.goroutines)
	}
	if end.heap > start.heap*3/2+16<<20 {
		t.Errorf("heap grew from %s to %s", mib(start.heap), mib(end.heap))
	}
}

// TestCheckTargetPeers: the direct-connection check finds a connection
// this process made to the target itself.
func TestCheckTargetPeers(t *testing.T) {
	tgt := target.Start(t, nil)
	ws, _, err := websocket.DefaultDialer.Dial(tgt.URL("ws", "127.0.0.1", "/ws"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	direct, checked, unknown := checkTargetPeers(t, tgt, nil, nil)
	if direct != 1 || checked != 1 || unknown != 0 {
		t.Fatalf("direct %d, checked %d, unknown %d; want 1, 1, 0", direct, checked, unknown)
	}
}

// checkTargetPeers looks up who holds the client end of every connection
// the target has open: it returns how many are held by this process (a
// direct connection), how many were checked, and how many of those no
// proxy process holds (the others are held by a process of one of the
// proxies, or of rv, the revived one). It reads /proc.
func checkTargetPeers(t *testing.T, tgt *target.Server, servers []*realproxy.Server, rv *revived) (direct, checked, unknown int) {
	t.Helper()
	// Sockets whose remote end is the target's plain port: local -> inode,
	// read before and after the descriptors, so that only sockets that
	// lived through the whole scan are judged.
	_, tp, _ := net.SplitHostPort(tgt.HTTPAddr)
	tport, _ := strconv.Atoi(tp)
	snapshot := func() map[string]string {
		inodes := map[string]string{} // "127.0.0.1:port" -> inode
		for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
			data, err := os.ReadFile(f)
			if err != nil {
				continue
			}
			for _, line := range strings.Split(string(data), "\n")[1:] {
				fs := strings.Fields(line)
				if len(fs) < 10 || fs[3] != "01" || fs[9] == "0" { // ESTABLISHED, with an inode
					continue
				}
				local, ok1 := v4(fs[1])
				remote, ok2 := v4(fs[2])
				if ok1 && ok2 && remote == "127.0.0.1:"+strconv.Itoa(tport) {
					inodes[local] = fs[9]
				}
			}
		}
		return inodes
	}
	inodes := snapshot()
	holders := map[string]string{} // "socket:[inode]" -> holder
	addFDs := func(pid int, who string) {
		dir := "/proc/" + strconv.Itoa(pid) + "/fd"
		fds, _ := os.ReadDir(dir)
		for _, fd := range fds {
			if l, err := os.Readlink(dir + "/" + fd.Name()); err == nil && strings.HasPrefix(l, "socket:") {
				holders[l] = who
			}
		}
	}
	addFDs(os.Getpid(), "self")
	for _, s := range servers {
		for _, pid := range s.AllPids() {
			addFDs(pid, s.Name)
		}
	}
	if rv != nil {
		for _, pid := range realproxy.GroupPids(rv.cmd.Process.Pid) {
			addFDs(pid, "danted (revived)")
		}
	}
	later := snapshot()
	for _, peer := range tgt.Peers() {
		inode, ok := inodes[peer]
		if !ok || later[peer] != inode {
			continue // closed before or during the scan
		}
		checked++
		switch holders["socket:["+inode+"]"] {
		case "self":
			direct++
		case "":
			unknown++
		}
	}
	return direct, checked, unknown
}

// v4 decodes a /proc/net/tcp{,6} address of an IPv4 (or v4-mapped)
// endpoint: "0100007F:1F90" -> "127.0.0.1:8080".
func v4(s string) (string, bool) {
	host, port, ok := strings.Cut(s, ":")
	if !ok {
		return "", false
	}
	switch len(host) {
	case 8:
	case 32:
		if !strings.HasPrefix(host, "0000000000000000FFFF0000") {
			return "", false
		}
		host = host[24:]
	default:
		return "", false
	}
	b, err := strconv.ParseUint(host, 16, 32)
	p, err2 := strconv.ParseUint(port, 16, 16)
	if err != nil || err2 != nil {
		return "", false
	}
	// Little-endian 32-bit word.
	return fmt.Sprintf("%d.%d.%d.%d:%d", b&0xff, b>>8&0xff, b>>16&0xff, b>>24, p), true
}
