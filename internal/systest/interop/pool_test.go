package interop_test

// Pools through real proxy servers (issue 12, item 4): failover, hedging,
// ejection and recovery through real danted, squid and microsocks, for
// net/http and for gorilla, coder and gobwas WebSockets, all through the
// product API (runtime.Settings, runtime.NewInjector and its clients). A
// member goes down for real: killed and restarted (connection refused),
// paused with SIGSTOP (accepts, never answers), or blackholed or refused by
// a relay in front of it. The carrying proxy is the process that owns the
// target's peer socket; every session is proved to come from a proxy, and
// the counting target sees no connection at all when every member is down.

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	coder "github.com/coder/websocket"
	gobwas "github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
	"github.com/gorilla/websocket"

	"github.com/proxygen-go/proxygen/internal/testenv/realproxy"
	"github.com/proxygen-go/proxygen/internal/testenv/target"
	"github.com/proxygen-go/proxygen/runtime"
)

// poolID is the exchange id the pool tests dial as (the default route).
const poolID = "pooltest"

// Short settings keep the package fast: an attempt and an ejection of one
// second, the minimum the spec allows.
const (
	poolAttempt = time.Second
	poolEject   = time.Second
	// poolSlack is what a dial may take beyond its bound on this loaded
	// 2-core machine.
	poolSlack = 2 * time.Second
)

// poolRecorder is the pool tests' runtime.Observer: dials, attempts and
// member states, in order.
type poolRecorder struct {
	mu       sync.Mutex
	dials    []runtime.DialDone
	attempts []runtime.Attempt
	states   []runtime.MemberState
}

func (r *poolRecorder) DialStart(ctx context.Context, _ runtime.DialStart) context.Context {
	return ctx
}

func (r *poolRecorder) DialDone(_ context.Context, ev runtime.DialDone) {
	r.mu.Lock()
	r.dials = append(r.dials, ev)
	r.mu.Unlock()
}

func (r *poolRecorder) Attempt(_ context.Context, ev runtime.Attempt) {
	r.mu.Lock()
	r.attempts = append(r.attempts, ev)
	r.mu.Unlock()
}

func (r *poolRecorder) MemberState(ev runtime.MemberState) {
	r.mu.Lock()
	r.states = append(r.states, ev)
	r.mu.Unlock()
}

// lastDial returns the last finished dial.
func (r *poolRecorder) lastDial(t *testing.T) runtime.DialDone {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.dials) == 0 {
		t.Fatal("no dial recorded")
	}
	return r.dials[len(r.dials)-1]
}

// attemptsOf returns the attempts through member name.
func (r *poolRecorder) attemptsOf(name string) []runtime.Attempt {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []runtime.Attempt
	for _, a := range r.attempts {
		if a.Proxy == name {
			out = append(out, a)
		}
	}
	return out
}

// statesOf returns the health changes of member name.
func (r *poolRecorder) statesOf(name string) []runtime.Health {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []runtime.Health
	for _, s := range r.states {
		if s.Proxy == name {
			out = append(out, s.State)
		}
	}
	return out
}

// poolEnv is one pool scenario: targets, real servers, the injector.
type poolEnv struct {
	ca      *target.CA
	tgts    []*target.Server
	servers []*realproxy.Server // every real proxy of the scenario
	obs     *poolRecorder
	in      *runtime.Injector
}

func newPoolEnv(t *testing.T, targets int) *poolEnv {
	t.Helper()
	ca, err := target.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	e := &poolEnv{ca: ca}
	for range targets {
		e.tgts = append(e.tgts, target.Start(t, ca))
	}
	return e
}

// conns returns the connections every target accepted, together.
func (e *poolEnv) conns() int64 {
	var n int64
	for _, s := range e.tgts {
		n += s.Conns()
	}
	return n
}

// member returns a pool member for a real server at addr (the server's
// own address, or a relay in front of it).
func member(scheme runtime.Scheme, addr string) *runtime.Proxy {
	ap, err := net.ResolveTCPAddr("tcp", addr)
	if err != nil {
		panic(err)
	}
	return &runtime.Proxy{Scheme: scheme, Host: ap.IP.String(), Port: uint16(ap.Port)}
}

// memberName is how the runtime's events name a member.
func memberName(p *runtime.Proxy) string {
	return p.Scheme.String() + "://" + net.JoinHostPort(p.Host, strconv.Itoa(int(p.Port)))
}

// build installs nothing globally: it builds an injector whose default
// routes (REST and WebSocket) are the pool r, with the recorder as its
// observer, and closes it at the end of the test.
func (e *poolEnv) build(t *testing.T, r *runtime.Route) {
	t.Helper()
	e.obs = &poolRecorder{}
	s := runtime.Settings{Enabled: true, Lock: true, Default: runtime.Routes{HTTP: r, WebSocket: r}}
	in, err := runtime.NewInjector(s, runtime.WithClientTLSConfig(e.ca.ClientConfig("")),
		runtime.WithObserver(e.obs), runtime.WithLogger(discardLogger))
	if err != nil {
		t.Fatal(err)
	}
	e.in = in
	t.Cleanup(func() { _ = in.Close() })
}

// poolKinds are the clients every scenario runs.
var poolKinds = []string{"nethttp", "gorilla", "coder", "gobwas"}

// session is one finished set-up through the injector: the proxy that
// carried it (proved by the peer socket's owner) and how long the dial
// took (the observer's DialDone).
type session struct {
	via  *realproxy.Server
	dial time.Duration
}

// open runs one session of kind to target tgt at host (wss/https when tls,
// else ws/http): a REST GET through a new connection, or a WebSocket
// upgrade with one echo. It proves, while the connection is open, that the
// target's peer belongs to one of the scenario's real proxies (never this
// process: no direct connection) and that the target accepted exactly one
// connection. It returns the error of the set-up, if any, and then checks
// nothing else.
func (e *poolEnv) open(t *testing.T, kind string, tgt *target.Server, host string, secure bool) (session, error) {
	t.Helper()
	before := tgt.Conns()
	ctx, cancel := context.WithTimeout(context.Background(), stepTimeout)
	defer cancel()
	scheme := map[bool]string{false: "ws", true: "wss"}[secure]
	var peer string
	var finish func()
	switch kind {
	case "nethttp":
		// Only new connections choose a member: drop the kept-alive ones.
		e.in.CloseIdleConnections()
		scheme = map[bool]string{false: "http", true: "https"}[secure]
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, tgt.URL(scheme, host, "/ping"), nil)
		resp, err := e.in.HTTPClient(poolID).Do(req)
		if err != nil {
			return session{}, err
		}
		var ping target.Ping
		err = json.NewDecoder(resp.Body).Decode(&ping)
		resp.Body.Close()
		if err != nil || !ping.Pong || ping.TLS != secure {
			t.Fatalf("GET /ping: status %d body %+v err %v", resp.StatusCode, ping, err)
		}
		peer = ping.Peer // the connection stays open, idle in the client's pool
		finish = e.in.CloseIdleConnections
	case "gorilla":
		wd := websocket.Dialer{NetDialContext: e.in.WebSocketDialContext(poolID), TLSClientConfig: e.ca.ClientConfig(""), HandshakeTimeout: stepTimeout}
		c, resp, err := wd.DialContext(ctx, tgt.URL(scheme, host, "/ws"), nil)
		if err != nil {
			return session{}, err
		}
		peer = resp.Header.Get(target.PeerHeader)
		_ = c.SetReadDeadline(time.Now().Add(stepTimeout))
		if err := c.WriteMessage(websocket.TextMessage, []byte("pool gorilla")); err != nil {
			t.Fatal(err)
		}
		if _, got, err := c.ReadMessage(); err != nil || string(got) != "pool gorilla" {
			t.Fatalf("gorilla echo %q %v", got, err)
		}
		finish = func() { _ = c.Close() }
	case "coder":
		c, resp, err := coder.Dial(ctx, tgt.URL(scheme, host, "/ws"), &coder.DialOptions{HTTPClient: e.in.WebSocketHTTPClient(poolID)})
		if err != nil {
			return session{}, err
		}
		peer = resp.Header.Get(target.PeerHeader)
		if err := c.Write(ctx, coder.MessageText, []byte("pool coder")); err != nil {
			t.Fatal(err)
		}
		if _, got, err := c.Read(ctx); err != nil || string(got) != "pool coder" {
			t.Fatalf("coder echo %q %v", got, err)
		}
		finish = func() { _ = c.CloseNow() }
	case "gobwas":
		wd := gobwas.Dialer{NetDial: e.in.WebSocketDialContext(poolID), TLSConfig: e.ca.ClientConfig(host), Timeout: stepTimeout,
			OnHeader: func(key, value []byte) error {
				if strings.EqualFold(string(key), target.PeerHeader) {
					peer = string(value)
				}
				return nil
			}}
		conn, br, _, err := wd.Dial(ctx, tgt.URL(scheme, host, "/ws"))
		if err != nil {
			return session{}, err
		}
		var rd io.Reader = conn
		if br != nil {
			rd = io.MultiReader(br, conn)
		}
		rw := struct {
			io.Reader
			io.Writer
		}{rd, conn}
		_ = conn.SetDeadline(time.Now().Add(stepTimeout))
		if err := wsutil.WriteClientText(rw, []byte("pool gobwas")); err != nil {
			t.Fatal(err)
		}
		if got, err := wsutil.ReadServerText(rw); err != nil || string(got) != "pool gobwas" {
			t.Fatalf("gobwas echo %q %v", got, err)
		}
		finish = func() { _ = conn.Close() }
	default:
		t.Fatalf("unknown kind %s", kind)
	}
	defer finish()
	s := session{via: e.owner(t, peer, tgt, secure), dial: e.obs.lastDial(t).Duration}
	if got := tgt.Conns() - before; got != 1 {
		t.Errorf("%s: the target accepted %d connections, want 1", kind, got)
	}
	return s, nil
}

// owner returns the real proxy that owns the target's peer socket (the one
// from peer to tgt's listener: a local port may be shared toward another
// target); it fails the test when none does (a direct connection shows
// this process).
func (e *poolEnv) owner(t *testing.T, peer string, tgt *target.Server, secure bool) *realproxy.Server {
	t.Helper()
	if peer == "" {
		t.Fatal("the target reported no peer")
	}
	port := tgt.HTTPPort
	if secure {
		port = tgt.HTTPSPort
	}
	ap, err := netip.ParseAddrPort(peer)
	if err != nil {
		t.Fatalf("peer %q: %v", peer, err)
	}
	s, heldBy, err := realproxy.OwnerOf(peer, netip.AddrPortFrom(ap.Addr(), uint16(port)).String(), e.servers...)
	if err != nil {
		t.Fatalf("owner of %s: %v", peer, err)
	}
	if s == nil {
		t.Fatalf("the target's peer %s belongs to no proxy of the pool (held by this process %d: %v): a direct connection", peer, os.Getpid(), heldBy(os.Getpid()))
	}
	return s
}

// must opens a session that must succeed and be carried by want (nil: any).
func (e *poolEnv) must(t *testing.T, kind string, want *realproxy.Server) session {
	t.Helper()
	s, err := e.open(t, kind, e.tgts[0], host, true)
	if err != nil {
		t.Fatalf("%s: %v", kind, err)
	}
	if want != nil && s.via != want {
		t.Errorf("%s: carried by %s, want %s", kind, s.via.Name, want.Name)
	}
	t.Logf("POOL %s via %s, dial %v", kind, s.via.Name, s.dial.Round(time.Millisecond))
	return s
}

var discardLogger = slog.New(slog.DiscardHandler)

// waitFor polls cond every 50 ms for up to d.
func waitFor(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
	return true
}

// TestPoolFailoverRealServers: a failover pool of danted, squid (behind a
// relay) and microsocks. Healthy, every client goes through danted (the
// first member). danted killed: its refusal counts and ejects it, and every
// client fails over to squid at once. squid blackholed too: each client
// lands on microsocks within attempt_timeout_seconds. danted restarted and
// squid back: once the ejection is over, the half-open trial brings danted
// back and every client is carried by it again.
func TestPoolFailoverRealServers(t *testing.T) {
	t.Parallel()
	e := newPoolEnv(t, 1)
	dante, squid, micro := realproxy.Dante(t), realproxy.Squid(t, "", "", nil, nil), realproxy.Microsocks(t, "", "")
	e.servers = []*realproxy.Server{dante, squid, micro}
	sqRelay := target.Relay(t, squid.Addr, 0)
	pd, ps, pm := member(runtime.SOCKS5H, dante.Addr), member(runtime.HTTP, sqRelay.Addr), member(runtime.SOCKS5H, micro.Addr)
	e.build(t, &runtime.Route{Proxies: []*runtime.Proxy{pd, ps, pm}, Strategy: runtime.StrategyFailover,
		Timeout: 10 * time.Second, AttemptTimeout: poolAttempt,
		Eject: runtime.EjectPolicy{AfterFailures: 1, Duration: poolEject, MaxDuration: 2 * poolEject}})

	t.Run("healthy", func(t *testing.T) {
		for _, k := range poolKinds {
			e.must(t, k, dante)
		}
	})
	t.Run("first killed", func(t *testing.T) {
		dante.Kill(t)
		for _, k := range poolKinds {
			s := e.must(t, k, squid)
			// Connection refused costs one round trip on loopback.
			if s.dial > poolSlack {
				t.Errorf("%s: dial took %v with the first member refusing", k, s.dial)
			}
		}
		var failed []runtime.Attempt
		for _, a := range e.obs.attemptsOf(memberName(pd)) {
			if a.Err != nil {
				failed = append(failed, a)
			}
		}
		if len(failed) == 0 || !failed[0].Counted || failed[0].Stage != runtime.StageConnect || !errors.Is(failed[0].Err, syscall.ECONNREFUSED) {
			t.Errorf("danted's failed attempts after the kill: %+v, want a counted connection refused", failed)
		}
		if !slices.Contains(e.obs.statesOf(memberName(pd)), runtime.Ejected) {
			t.Errorf("danted was not ejected: %v", e.obs.statesOf(memberName(pd)))
		}
	})
	t.Run("second blackholed", func(t *testing.T) {
		if err := sqRelay.SetMode(target.Blackhole); err != nil {
			t.Fatal(err)
		}
		for i, k := range poolKinds {
			s := e.must(t, k, micro)
			if s.dial > poolAttempt+poolSlack {
				t.Errorf("%s: dial took %v, want <= attempt timeout %v + %v", k, s.dial, poolAttempt, poolSlack)
			}
			if i == 0 && s.dial < poolAttempt*9/10 {
				t.Errorf("%s: the first dial after the blackhole took %v: it cannot have waited for squid's attempt", k, s.dial)
			}
		}
		as := e.obs.attemptsOf(memberName(ps))
		if len(as) == 0 || !as[len(as)-1].Counted || !errors.Is(as[len(as)-1].Err, context.DeadlineExceeded) {
			t.Errorf("squid's last attempt: %+v, want a counted timeout", as)
		}
		if sqRelay.Forwarded() == 0 || sqRelay.Accepted(target.Blackhole) == 0 {
			t.Errorf("relay: %d forwarded, %d blackholed", sqRelay.Forwarded(), sqRelay.Accepted(target.Blackhole))
		}
		if !waitFor(5*time.Second, func() bool { return sqRelay.Open() == 0 }) {
			t.Errorf("%d blackholed connections still open: the pool left its attempt behind", sqRelay.Open())
		}
	})
	t.Run("recovery", func(t *testing.T) {
		dante.Restart(t)
		if err := sqRelay.SetMode(target.Forward); err != nil {
			t.Fatal(err)
		}
		// danted's ejection (at most max_seconds) ends; the next dial is
		// its half-open trial, which succeeds and brings it back.
		var s session
		if !waitFor(3*poolEject+poolSlack, func() bool {
			var err error
			s, err = e.open(t, "gorilla", e.tgts[0], host, true)
			return err == nil && s.via == dante
		}) {
			t.Fatalf("danted did not come back: last session via %v", s.via)
		}
		if st := e.obs.statesOf(memberName(pd)); len(st) == 0 || st[len(st)-1] != runtime.Up {
			t.Errorf("danted's states %v, want the last one up", st)
		}
		for _, k := range poolKinds {
			e.must(t, k, dante)
		}
	})
}

// TestPoolHedgeRealServers: squid blackholed by its relay is the first
// member, danted the second, hedge_after_ms 200 and an attempt timeout of
// 3 s. Every client gets its tunnel from danted after the hedge delay,
// far before the attempt timeout; the blackholed loser is closed (the
// relay holds nothing) and not counted (squid is never ejected). Without
// hedging the same dial waits the whole attempt timeout.
func TestPoolHedgeRealServers(t *testing.T) {
	t.Parallel()
	e := newPoolEnv(t, 1)
	squid, dante := realproxy.Squid(t, "", "", nil, nil), realproxy.Dante(t)
	e.servers = []*realproxy.Server{squid, dante}
	sqRelay := target.Relay(t, squid.Addr, 0)
	if err := sqRelay.SetMode(target.Blackhole); err != nil {
		t.Fatal(err)
	}
	ps, pd := member(runtime.HTTP, sqRelay.Addr), member(runtime.SOCKS5H, dante.Addr)
	const hedge, attempt = 200 * time.Millisecond, 3 * time.Second
	route := func(hedgeAfter time.Duration) *runtime.Route {
		return &runtime.Route{Proxies: []*runtime.Proxy{ps, pd}, Strategy: runtime.StrategyFailover,
			Timeout: 10 * time.Second, AttemptTimeout: attempt, HedgeAfter: hedgeAfter, Set: runtime.SetHedgeAfter,
			Eject: runtime.EjectPolicy{AfterFailures: 1, Duration: poolEject, MaxDuration: poolEject}}
	}
	e.build(t, route(hedge))
	for _, k := range poolKinds {
		held := sqRelay.Accepted(target.Blackhole)
		s := e.must(t, k, dante)
		if s.dial < hedge || s.dial > hedge+poolSlack {
			t.Errorf("%s: hedged dial took %v, want %v..%v (hedge + healthy dial + slack)", k, s.dial, hedge, hedge+poolSlack)
		}
		if d := e.obs.lastDial(t); d.Attempts != 2 {
			t.Errorf("%s: %d attempts, want 2 (squid, then the hedge to danted)", k, d.Attempts)
		}
		if sqRelay.Accepted(target.Blackhole) != held+1 {
			t.Errorf("%s: squid's relay took %d connections, want 1: the hedge did not start on the first member", k, sqRelay.Accepted(target.Blackhole)-held)
		}
	}
	for _, a := range e.obs.attemptsOf(memberName(ps)) {
		if a.Counted {
			t.Errorf("a hedge's loser was counted: %+v", a)
		}
	}
	if st := e.obs.statesOf(memberName(ps)); len(st) != 0 {
		t.Errorf("squid changed state %v: losers must not count", st)
	}
	if !waitFor(5*time.Second, func() bool { return sqRelay.Open() == 0 }) {
		t.Errorf("%d losing attempts still open at the relay: something outlived the dial", sqRelay.Open())
	}

	t.Run("without hedging", func(t *testing.T) {
		e.build(t, route(0))
		s := e.must(t, "gorilla", dante)
		if s.dial < attempt*9/10 || s.dial > attempt+poolSlack {
			t.Errorf("dial took %v, want the attempt timeout %v (+%v)", s.dial, attempt, poolSlack)
		}
	})
}

// stickyTarget is one target host:port of the sticky test.
type stickyTarget struct {
	tgt    *target.Server
	host   string
	secure bool
}

func (s stickyTarget) addr() string {
	port := s.tgt.HTTPPort
	if s.secure {
		port = s.tgt.HTTPSPort
	}
	return net.JoinHostPort(s.host, strconv.Itoa(port))
}

// TestPoolStickyRealServers: a sticky pool of danted, squid and microsocks
// and eight targets (two servers, two host names, ws and wss). Each target
// is carried by the member that rendezvous hashing names (the same as a
// separate runtime.Pool of the same members computes: stable across
// processes), across reconnects with every client. The member of the first
// target is paused (SIGSTOP): its targets move, the others do not; resumed
// and past its ejection, its targets come back to it.
func TestPoolStickyRealServers(t *testing.T) {
	t.Parallel()
	e := newPoolEnv(t, 2)
	dante, squid, micro := realproxy.Dante(t), realproxy.Squid(t, "", "", nil, nil), realproxy.Microsocks(t, "", "")
	e.servers = []*realproxy.Server{dante, squid, micro}
	members := []*runtime.Proxy{member(runtime.SOCKS5H, dante.Addr), member(runtime.HTTP, squid.Addr), member(runtime.SOCKS5H, micro.Addr)}
	byName := map[string]*realproxy.Server{}
	for i, m := range members {
		byName[memberName(m)] = e.servers[i]
	}
	e.build(t, &runtime.Route{Proxies: members, Strategy: runtime.StrategySticky, Set: runtime.SetStrategy,
		Timeout: 10 * time.Second, AttemptTimeout: poolAttempt,
		Eject: runtime.EjectPolicy{AfterFailures: 1, Duration: poolEject, MaxDuration: poolEject}})
	// An independent pool of the same members: the rendezvous order.
	ref, err := runtime.NewPool(runtime.PoolConfig{Members: members, Policy: runtime.PoolPolicy{Strategy: runtime.StrategySticky}})
	if err != nil {
		t.Fatal(err)
	}
	expect := func(addr string, skip *realproxy.Server) *realproxy.Server {
		order, _ := ref.Order(addr)
		for _, m := range order {
			if s := byName[memberName(m)]; s != skip {
				return s
			}
		}
		return nil
	}
	var targets []stickyTarget
	for _, tg := range e.tgts {
		for _, h := range []string{"localhost", "127.0.0.1"} {
			for _, secure := range []bool{true, false} {
				targets = append(targets, stickyTarget{tg, h, secure})
			}
		}
	}
	// round reconnects every target with each of kinds(target index) and
	// checks that each lands on want(target).
	every := func(int) []string { return poolKinds }
	oneEach := func(i int) []string { return poolKinds[i%len(poolKinds) : i%len(poolKinds)+1] }
	round := func(t *testing.T, kinds func(int) []string, want func(stickyTarget) *realproxy.Server) map[*realproxy.Server]int {
		load := map[*realproxy.Server]int{}
		for i, st := range targets {
			w := want(st)
			for _, k := range kinds(i) {
				s, err := e.open(t, k, st.tgt, st.host, st.secure)
				if err != nil {
					t.Fatalf("%s to %s: %v", k, st.addr(), err)
				}
				if s.via != w {
					t.Errorf("%s to %s: carried by %s, want %s (sticky)", k, st.addr(), s.via.Name, w.Name)
				}
				load[s.via]++
			}
		}
		return load
	}
	load := round(t, every, func(st stickyTarget) *realproxy.Server { return expect(st.addr(), nil) })
	t.Logf("POOL sticky spread over %d targets x %d clients: danted %d, squid %d, microsocks %d", len(targets), len(poolKinds), load[dante], load[squid], load[micro])

	down := expect(targets[0].addr(), nil)
	moved := 0
	for _, st := range targets {
		if expect(st.addr(), nil) == down {
			moved++
		}
	}
	if moved == len(targets) {
		t.Logf("every target hashes to %s: the ejection test below cannot show that others stay", down.Name)
	}
	t.Run("one member paused", func(t *testing.T) {
		down.Pause(t)
		defer down.Resume(t)
		round(t, oneEach, func(st stickyTarget) *realproxy.Server { return expect(st.addr(), down) })
		if !slices.Contains(e.obs.statesOf(memberName(members[slices.Index(e.servers, down)])), runtime.Ejected) {
			t.Errorf("the paused %s was not ejected", down.Name)
		}
	})
	t.Run("back after the ejection", func(t *testing.T) {
		time.Sleep(poolEject + 100*time.Millisecond)
		round(t, oneEach, func(st stickyTarget) *realproxy.Server { return expect(st.addr(), nil) })
	})
}

// TestPoolAllDownRealServers: danted killed, squid's relay refusing,
// microsocks paused. With try_ejected every client's dial fails with
// runtime.ErrAllProxiesFailed (errors.Is through each library's error) and
// a *runtime.PoolError naming every member's attempt, and the targets
// accept nothing: no direct connection. With fail_fast, once every member
// is ejected, a dial fails at once without an attempt.
func TestPoolAllDownRealServers(t *testing.T) {
	t.Parallel()
	e := newPoolEnv(t, 1)
	dante, squid, micro := realproxy.Dante(t), realproxy.Squid(t, "", "", nil, nil), realproxy.Microsocks(t, "", "")
	e.servers = []*realproxy.Server{dante, squid, micro}
	sqRelay := target.Relay(t, squid.Addr, 0)
	members := []*runtime.Proxy{member(runtime.SOCKS5H, dante.Addr), member(runtime.HTTP, sqRelay.Addr), member(runtime.SOCKS5H, micro.Addr)}
	dante.Kill(t)
	if err := sqRelay.SetMode(target.Refuse); err != nil {
		t.Fatal(err)
	}
	micro.Pause(t)
	defer micro.Resume(t)

	route := func(all runtime.AllDown) *runtime.Route {
		return &runtime.Route{Proxies: members, Timeout: 10 * time.Second, AttemptTimeout: poolAttempt, WhenAllDown: all,
			Eject: runtime.EjectPolicy{AfterFailures: 1, Duration: 60 * time.Second, MaxDuration: 60 * time.Second}}
	}
	before := e.conns()
	fail := func(t *testing.T, k string) (time.Duration, error) {
		t.Helper()
		start := time.Now()
		_, err := e.open(t, k, e.tgts[0], host, true)
		took := time.Since(start)
		if err == nil {
			t.Fatalf("%s: a session with every member down", k)
		}
		if !errors.Is(err, runtime.ErrAllProxiesFailed) {
			t.Errorf("%s: errors.Is(err, runtime.ErrAllProxiesFailed) is false: %v", k, err)
		}
		var pe *runtime.PoolError
		if !errors.As(err, &pe) {
			t.Errorf("%s: no *runtime.PoolError in %T %v", k, err, err)
		}
		return took, err
	}
	t.Run("try_ejected", func(t *testing.T) {
		e.build(t, route(runtime.TryEjected))
		for i, k := range poolKinds {
			took, err := fail(t, k)
			var pe *runtime.PoolError
			if errors.As(err, &pe) {
				if len(pe.Attempts) != len(members) {
					t.Errorf("%s: %d attempts, want %d (every member, ejected ones too)", k, len(pe.Attempts), len(members))
				}
				if i > 0 && !pe.AllEjected {
					t.Errorf("%s: AllEjected false after every member failed", k)
				}
			}
			for _, m := range members {
				if !strings.Contains(err.Error(), net.JoinHostPort(m.Host, strconv.Itoa(int(m.Port)))) {
					t.Errorf("%s: the error does not name member %s: %v", k, memberName(m), err)
				}
			}
			if took > poolAttempt+poolSlack {
				t.Errorf("%s: failed after %v, want <= attempt timeout + %v", k, took, poolSlack)
			}
			t.Logf("POOL all down %s: %v after %v", k, err, took.Round(time.Millisecond))
		}
	})
	t.Run("fail_fast", func(t *testing.T) {
		e.build(t, route(runtime.FailFast))
		fail(t, "gorilla") // ejects every member
		for _, k := range poolKinds {
			took, err := fail(t, k)
			var pe *runtime.PoolError
			if errors.As(err, &pe) && (!pe.AllEjected || len(pe.Attempts) != 0) {
				t.Errorf("%s: fail_fast with every member ejected: AllEjected %v, %d attempts; want true, 0", k, pe.AllEjected, len(pe.Attempts))
			}
			if took > 500*time.Millisecond {
				t.Errorf("%s: fail_fast took %v", k, took)
			}
		}
	})
	if got := e.conns() - before; got != 0 {
		t.Errorf("the target accepted %d connections with every member down: a direct connection", got)
	}
	if sqRelay.Forwarded() != 0 {
		t.Errorf("the refusing relay forwarded %d connections", sqRelay.Forwarded())
	}
}
