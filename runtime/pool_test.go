package runtime_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	goruntime "runtime"

	"github.com/proxygen-go/proxygen/runtime"
	"github.com/proxygen-go/proxygen/runtime/internal/leakcheck"
	"github.com/proxygen-go/proxygen/runtime/proxytest"
)

// fakeClock is the clock of ejections in tests.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)} }

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// recorder is an Observer that keeps every event.
type recorder struct {
	mu       sync.Mutex
	starts   []runtime.DialStart
	dones    []runtime.DialDone
	attempts []runtime.Attempt
	states   []runtime.MemberState
	probes   []runtime.Probe
}

type ctxKey struct{}

func (r *recorder) DialStart(ctx context.Context, ev runtime.DialStart) context.Context {
	r.mu.Lock()
	r.starts = append(r.starts, ev)
	r.mu.Unlock()
	return context.WithValue(ctx, ctxKey{}, "span")
}

func (r *recorder) DialDone(ctx context.Context, ev runtime.DialDone) {
	if ctx.Value(ctxKey{}) != "span" {
		panic("DialDone without DialStart's context")
	}
	r.mu.Lock()
	r.dones = append(r.dones, ev)
	r.mu.Unlock()
}

func (r *recorder) Attempt(ctx context.Context, ev runtime.Attempt) {
	if ctx.Value(ctxKey{}) != "span" {
		panic("Attempt without DialStart's context")
	}
	r.mu.Lock()
	r.attempts = append(r.attempts, ev)
	r.mu.Unlock()
}

func (r *recorder) MemberState(ev runtime.MemberState) {
	r.mu.Lock()
	r.states = append(r.states, ev)
	r.mu.Unlock()
}

func (r *recorder) Probe(ev runtime.Probe) {
	r.mu.Lock()
	r.probes = append(r.probes, ev)
	r.mu.Unlock()
}

func (r *recorder) stateLog() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, s := range r.states {
		out = append(out, s.State.String())
	}
	return out
}

func newSwitch(t *testing.T, cfg proxytest.Config) *proxytest.Switch {
	t.Helper()
	sw := proxytest.NewSwitch(cfg)
	switchMu.Lock()
	switchBy[sw.Addr()] = sw
	switchMu.Unlock()
	t.Cleanup(func() {
		sw.Close()
		switchMu.Lock()
		delete(switchBy, sw.Addr())
		switchMu.Unlock()
	})
	return sw
}

func switches(t *testing.T, n int) ([]*proxytest.Switch, []*runtime.Proxy) {
	t.Helper()
	var sws []*proxytest.Switch
	var ps []*runtime.Proxy
	for range n {
		sw := newSwitch(t, proxytest.Config{Kind: proxytest.SOCKS5})
		sws = append(sws, sw)
		ps = append(ps, sw.Proxy(runtime.SOCKS5H))
	}
	return sws, ps
}

type poolOpts struct {
	health *runtime.HealthRegistry
	obs    runtime.Observer
}

func newPool(t *testing.T, members []*runtime.Proxy, pol runtime.PoolPolicy, o poolOpts) *runtime.Pool {
	t.Helper()
	p, err := runtime.NewPool(runtime.PoolConfig{
		Members:  members,
		Policy:   pol,
		Dialer:   runtime.Dialer{Exchange: "binance", Transport: runtime.TransportWebSocket, Logger: quietLogger},
		Health:   o.health,
		Observer: o.obs,
	})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func dialOK(t *testing.T, p *runtime.Pool, addr string) {
	t.Helper()
	c, err := p.DialContext(context.Background(), "tcp", addr)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	roundTrip(t, c, "ping")
	c.Close()
}

func tunnels(sws []*proxytest.Switch) []int {
	out := make([]int, len(sws))
	for i, s := range sws {
		out[i] = s.Tunnels()
	}
	return out
}

func index(ps []*runtime.Proxy, p *runtime.Proxy) int {
	for i, q := range ps {
		if q.Addr() == p.Addr() {
			return i
		}
	}
	return -1
}

func TestPoolStrategyFailover(t *testing.T) {
	echo := newEcho(t, "127.0.0.1:0")
	target := "127.0.0.1:" + echo.port()
	sws, ps := switches(t, 3)
	p := newPool(t, ps, runtime.PoolPolicy{Strategy: runtime.StrategyFailover}, poolOpts{})
	for range 3 {
		dialOK(t, p, target)
	}
	if got := tunnels(sws); fmt.Sprint(got) != "[3 0 0]" {
		t.Fatalf("healthy failover pool tunnels %v, want all on the first member", got)
	}
	sws[0].Set(proxytest.Refuse)
	dialOK(t, p, target)
	if got := tunnels(sws); fmt.Sprint(got) != "[3 1 0]" {
		t.Fatalf("tunnels %v, want the second member after the first refused", got)
	}
}

func TestPoolStrategyRoundRobin(t *testing.T) {
	echo := newEcho(t, "127.0.0.1:0")
	target := "127.0.0.1:" + echo.port()
	sws, ps := switches(t, 4)
	p := newPool(t, ps, runtime.PoolPolicy{Strategy: runtime.StrategyRoundRobin}, poolOpts{})
	for range 8 {
		dialOK(t, p, target)
	}
	if got := tunnels(sws); fmt.Sprint(got) != "[2 2 2 2]" {
		t.Fatalf("round robin tunnels %v, want [2 2 2 2]", got)
	}
}

func TestPoolStrategyRandom(t *testing.T) {
	_, ps := switches(t, 4)
	p := newPool(t, ps, runtime.PoolPolicy{Strategy: runtime.StrategyRandom}, poolOpts{})
	var first [4]int
	for range 400 {
		ord, usable := p.Order("x:1")
		if len(ord) != 4 || usable != 4 {
			t.Fatalf("order %d members, %d usable", len(ord), usable)
		}
		first[index(ps, ord[0])]++
	}
	for i, n := range first {
		if n < 50 { // expectation 100; P(n<50) is negligible
			t.Fatalf("member %d first %d times in 400: %v", i, n, first)
		}
	}
}

func TestPoolStrategySticky(t *testing.T) {
	_, ps := switches(t, 4)
	pick := func(p *runtime.Pool, target string) int {
		ord, _ := p.Order(target)
		return index(ps, ord[0])
	}
	clock := newFakeClock()
	h := runtime.NewHealthRegistry(nil, clock.now)
	a := newPool(t, ps, runtime.PoolPolicy{Strategy: runtime.StrategySticky, Eject: runtime.EjectPolicy{AfterFailures: 1}}, poolOpts{health: h})
	// Another pool with its own registry, as another process would build.
	b := newPool(t, ps, runtime.PoolPolicy{Strategy: runtime.StrategySticky}, poolOpts{})
	var targets []string
	before := map[string]int{}
	var used [4]int
	for i := range 200 {
		tg := fmt.Sprintf("host%d.example:443", i)
		targets = append(targets, tg)
		before[tg] = pick(a, tg)
		used[before[tg]]++
		if again := pick(a, tg); again != before[tg] {
			t.Fatalf("%s: member %d then %d", tg, before[tg], again)
		}
		if other := pick(b, tg); other != before[tg] {
			t.Fatalf("%s: member %d in one pool, %d in another", tg, before[tg], other)
		}
	}
	for i, n := range used {
		if n < 20 {
			t.Fatalf("member %d carries %d of 200 targets: %v", i, n, used)
		}
	}
	// Eject member 2 (one counted failure with after_failures 1): only its
	// targets move.
	failMember(t, a, ps[2])
	moved := 0
	for _, tg := range targets {
		now := pick(a, tg)
		switch {
		case before[tg] == 2 && now == 2:
			t.Fatalf("%s still on the ejected member", tg)
		case before[tg] == 2:
			moved++
		case now != before[tg]:
			t.Fatalf("%s moved from %d to %d though its member is up", tg, before[tg], now)
		}
	}
	if moved != used[2] {
		t.Fatalf("moved %d targets, want %d", moved, used[2])
	}
}

// failMember makes m's switch refuse and dials through a pool of m alone
// over p's registry and policy until m is ejected, then restores the mode.
func failMember(t *testing.T, p *runtime.Pool, m *runtime.Proxy) {
	t.Helper()
	sw := findSwitch(m)
	if sw == nil {
		t.Fatalf("no switch for %s", m)
	}
	prev := sw.Mode()
	sw.Set(proxytest.Refuse)
	defer sw.Set(prev)
	solo := newPool(t, []*runtime.Proxy{m}, p.Policy(), poolOpts{health: p.Health()})
	for range 100 {
		if st := p.Health().Status(m); st.State == runtime.Ejected {
			return
		}
		if _, err := solo.DialContext(context.Background(), "tcp", "127.0.0.1:9"); err == nil {
			t.Fatal("dial through a refusing proxy succeeded")
		}
	}
	t.Fatalf("%s not ejected after 100 failures", m)
}

var (
	switchMu sync.Mutex
	switchBy = map[string]*proxytest.Switch{}
)

func findSwitch(m *runtime.Proxy) *proxytest.Switch {
	switchMu.Lock()
	defer switchMu.Unlock()
	return switchBy[m.Addr()]
}

func TestPoolStrategyFastest(t *testing.T) {
	echo := newEcho(t, "127.0.0.1:0")
	target := "127.0.0.1:" + echo.port()
	slow := newSwitch(t, proxytest.Config{Kind: proxytest.SOCKS5, Misbehave: proxytest.Misbehave{ReplyDelay: 40 * time.Millisecond}})
	fast := newSwitch(t, proxytest.Config{Kind: proxytest.SOCKS5})
	sws := []*proxytest.Switch{slow, fast}
	ps := []*runtime.Proxy{slow.Proxy(runtime.SOCKS5H), fast.Proxy(runtime.SOCKS5H)}
	p := newPool(t, ps, runtime.PoolPolicy{Strategy: runtime.StrategyFastest}, poolOpts{})
	// Unmeasured members first, in spec order: slow, then fast.
	dialOK(t, p, target)
	if got := tunnels(sws); fmt.Sprint(got) != "[1 0]" {
		t.Fatalf("first dial tunnels %v, want the unmeasured first member", got)
	}
	dialOK(t, p, target)
	if got := tunnels(sws); fmt.Sprint(got) != "[1 1]" {
		t.Fatalf("second dial tunnels %v, want the other unmeasured member", got)
	}
	for range 5 {
		dialOK(t, p, target)
	}
	if got := tunnels(sws); fmt.Sprint(got) != "[1 6]" {
		t.Fatalf("tunnels %v, want every measured dial on the fast member", got)
	}
}

// TestPoolFailoverClasses puts each failure as the first member of a pool
// whose second member is healthy: every dial succeeds through the second,
// and the first member's failure is counted only for proxy-side failures.
func TestPoolFailoverClasses(t *testing.T) {
	echo := newEcho(t, "127.0.0.1:0")
	target := "127.0.0.1:" + echo.port()
	type tc struct {
		name    string
		cfg     proxytest.Config
		mode    proxytest.Mode
		scheme  runtime.Scheme
		noCreds bool // the member omits the server's credentials
		noRoots bool // https without the test CA
		counted bool
	}
	cases := []tc{
		{name: "refused", cfg: proxytest.Config{Kind: proxytest.SOCKS5}, mode: proxytest.Refuse, counted: true},
		{name: "reset", cfg: proxytest.Config{Kind: proxytest.SOCKS5}, mode: proxytest.Reset, counted: true},
		{name: "blackhole timeout", cfg: proxytest.Config{Kind: proxytest.SOCKS5}, mode: proxytest.Blackhole, counted: true},
		{name: "stall after greeting", cfg: proxytest.Config{Kind: proxytest.HTTP, Misbehave: proxytest.Misbehave{Stall: true}}, counted: true},
		{name: "garbage reply", cfg: proxytest.Config{Kind: proxytest.SOCKS5, Misbehave: proxytest.Misbehave{GarbageReply: true}}, counted: true},
		{name: "wrong version", cfg: proxytest.Config{Kind: proxytest.HTTP, Misbehave: proxytest.Misbehave{WrongVersion: true}}, counted: true},
		{name: "close mid handshake", cfg: proxytest.Config{Kind: proxytest.SOCKS4, Misbehave: proxytest.Misbehave{CloseMidHandshake: true}}, scheme: runtime.SOCKS4A, counted: true},
		{name: "socks5 auth refused", cfg: proxytest.Config{Kind: proxytest.SOCKS5, User: "u", Password: "p"}, noCreds: true, counted: true},
		{name: "http 407", cfg: proxytest.Config{Kind: proxytest.HTTP, User: "u", Password: "p"}, noCreds: true, counted: true},
		{name: "http 403", cfg: proxytest.Config{Kind: proxytest.HTTP, Misbehave: proxytest.Misbehave{Status: 403}}, counted: true},
		{name: "http 429", cfg: proxytest.Config{Kind: proxytest.HTTP, Misbehave: proxytest.Misbehave{Status: 429}}, counted: true},
		{name: "https bad tls", cfg: proxytest.Config{Kind: proxytest.HTTPS}, noRoots: true, counted: true},
		{name: "socks5 general failure 1", cfg: proxytest.Config{Kind: proxytest.SOCKS5, Misbehave: proxytest.Misbehave{ReplyCode: 1}}, counted: true},
		{name: "socks5 ruleset 2", cfg: proxytest.Config{Kind: proxytest.SOCKS5, Misbehave: proxytest.Misbehave{ReplyCode: 2}}, counted: true},
		{name: "socks4 identd 0x5c", cfg: proxytest.Config{Kind: proxytest.SOCKS4, Misbehave: proxytest.Misbehave{ReplyCode: 0x5c}}, scheme: runtime.SOCKS4A, counted: true},
		{name: "socks5 network unreachable 3", cfg: proxytest.Config{Kind: proxytest.SOCKS5, Misbehave: proxytest.Misbehave{ReplyCode: 3}}},
		{name: "socks5 host unreachable 4", cfg: proxytest.Config{Kind: proxytest.SOCKS5, Misbehave: proxytest.Misbehave{ReplyCode: 4}}},
		{name: "socks5 connection refused 5", cfg: proxytest.Config{Kind: proxytest.SOCKS5, Misbehave: proxytest.Misbehave{ReplyCode: 5}}},
		{name: "socks4 rejected 0x5b", cfg: proxytest.Config{Kind: proxytest.SOCKS4, Misbehave: proxytest.Misbehave{ReplyCode: 0x5b}}, scheme: runtime.SOCKS4A},
		{name: "http 500", cfg: proxytest.Config{Kind: proxytest.HTTP, Misbehave: proxytest.Misbehave{Status: 500}}},
		{name: "http 502", cfg: proxytest.Config{Kind: proxytest.HTTP, Misbehave: proxytest.Misbehave{Status: 502}}},
		{name: "http 503", cfg: proxytest.Config{Kind: proxytest.HTTP, Misbehave: proxytest.Misbehave{Status: 503}}},
		{name: "http 504", cfg: proxytest.Config{Kind: proxytest.HTTP, Misbehave: proxytest.Misbehave{Status: 504}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			bad := newSwitch(t, c.cfg)
			bad.Set(c.mode)
			good := newSwitch(t, proxytest.Config{Kind: proxytest.SOCKS5})
			scheme := c.scheme
			if scheme == 0 {
				scheme = runtime.SOCKS5H
			}
			first := bad.Proxy(scheme)
			if c.noCreds {
				first.User, first.Password = "", runtime.Secret{}
			}
			if c.noRoots {
				first.TLSConfig = nil
			}
			rec := &recorder{}
			p := newPool(t, []*runtime.Proxy{first, good.Proxy(runtime.SOCKS5H)},
				runtime.PoolPolicy{Timeout: 5 * time.Second, AttemptTimeout: 300 * time.Millisecond}, poolOpts{obs: rec})
			start := time.Now()
			dialOK(t, p, target)
			if el := time.Since(start); el > 2*time.Second {
				t.Fatalf("dial took %v", el)
			}
			if good.Tunnels() != 1 {
				t.Fatalf("healthy member tunnels %d, want 1", good.Tunnels())
			}
			fails := p.Health().Status(first).Failures
			if want := map[bool]int{true: 1, false: 0}[c.counted]; fails != want {
				t.Fatalf("first member failures %d, want %d", fails, want)
			}
			rec.mu.Lock()
			defer rec.mu.Unlock()
			if len(rec.attempts) != 2 || rec.attempts[0].Err == nil || rec.attempts[0].Counted != c.counted || rec.attempts[1].Err != nil {
				t.Fatalf("attempt events %+v", rec.attempts)
			}
			if d := rec.dones[0]; d.Failovers != 1 || d.Attempts != 2 || d.Proxy != "socks5h://"+good.Addr() || d.Target != target {
				t.Fatalf("dial done %+v", d)
			}
		})
	}
}

func TestPoolCancellationStopsAtOnce(t *testing.T) {
	sws, ps := switches(t, 2)
	sws[0].Set(proxytest.Blackhole)
	rec := &recorder{}
	p := newPool(t, ps, runtime.PoolPolicy{Timeout: 20 * time.Second, AttemptTimeout: 10 * time.Second}, poolOpts{obs: rec})
	for _, hedge := range []time.Duration{0, 5 * time.Second} {
		p := p
		if hedge > 0 {
			p = newPool(t, ps, runtime.PoolPolicy{Timeout: 20 * time.Second, AttemptTimeout: 10 * time.Second, HedgeAfter: hedge}, poolOpts{obs: rec})
		}
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(50*time.Millisecond, cancel)
		start := time.Now()
		_, err := p.DialContext(ctx, "tcp", "127.0.0.1:9")
		el := time.Since(start)
		if err == nil || !errors.Is(err, context.Canceled) || errors.Is(err, runtime.ErrAllProxiesFailed) {
			t.Fatalf("hedge %v: err %v, want context.Canceled and not ErrAllProxiesFailed", hedge, err)
		}
		if el > time.Second {
			t.Fatalf("hedge %v: cancelled dial returned after %v", hedge, el)
		}
		if n := sws[1].AcceptedTotal(); n != 0 {
			t.Fatalf("hedge %v: second member saw %d connections after the cancel", hedge, n)
		}
		if f := p.Health().Status(ps[0]).Failures; f != 0 {
			t.Fatalf("hedge %v: cancellation counted %d failures", hedge, f)
		}
	}
	waitFor(t, func() bool { return sws[0].Holding() == 0 }, "blackholed connections closed")
}

func waitFor(t *testing.T, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestPoolBudgetAndAttemptTimeout(t *testing.T) {
	echo := newEcho(t, "127.0.0.1:0")
	target := "127.0.0.1:" + echo.port()
	t.Run("attempt timeout moves on", func(t *testing.T) {
		sws, ps := switches(t, 2)
		sws[0].Set(proxytest.Blackhole)
		p := newPool(t, ps, runtime.PoolPolicy{Timeout: 10 * time.Second, AttemptTimeout: 150 * time.Millisecond}, poolOpts{})
		start := time.Now()
		dialOK(t, p, target)
		if el := time.Since(start); el < 150*time.Millisecond || el > 2*time.Second {
			t.Fatalf("dial took %v, want about the attempt timeout (150ms)", el)
		}
		if f := p.Health().Status(ps[0]).Failures; f != 1 {
			t.Fatalf("blackholed member failures %d, want 1", f)
		}
	})
	t.Run("budget over all attempts", func(t *testing.T) {
		sws, ps := switches(t, 3)
		for _, s := range sws {
			s.Set(proxytest.Blackhole)
		}
		p := newPool(t, ps, runtime.PoolPolicy{Timeout: 250 * time.Millisecond, AttemptTimeout: 100 * time.Millisecond}, poolOpts{})
		start := time.Now()
		_, err := p.DialContext(context.Background(), "tcp", target)
		el := time.Since(start)
		if el < 240*time.Millisecond || el > 2*time.Second {
			t.Fatalf("dial took %v, want about the budget (250ms)", el)
		}
		if !errors.Is(err, runtime.ErrAllProxiesFailed) || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err %v, want ErrAllProxiesFailed and DeadlineExceeded", err)
		}
		var pe *runtime.PoolError
		if !errors.As(err, &pe) || len(pe.Attempts) != 3 {
			t.Fatalf("err %#v, want a PoolError with 3 attempts", err)
		}
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() {
			t.Fatalf("err is not a net.Error timeout")
		}
		got := []int{p.Health().Status(ps[0]).Failures, p.Health().Status(ps[1]).Failures, p.Health().Status(ps[2]).Failures}
		if fmt.Sprint(got) != "[1 1 0]" {
			t.Fatalf("failures %v, want [1 1 0] (the third attempt was cut by the budget, not the member)", got)
		}
	})
}

func TestPoolHedging(t *testing.T) {
	echo := newEcho(t, "127.0.0.1:0")
	target := "127.0.0.1:" + echo.port()
	sws, ps := switches(t, 2)
	sws[0].Set(proxytest.Blackhole)
	rec := &recorder{}
	p := newPool(t, ps, runtime.PoolPolicy{Timeout: 10 * time.Second, AttemptTimeout: 5 * time.Second, HedgeAfter: 50 * time.Millisecond}, poolOpts{obs: rec})
	start := time.Now()
	dialOK(t, p, target)
	el := time.Since(start)
	if el < 50*time.Millisecond || el > time.Second {
		t.Fatalf("hedged dial took %v, want about hedge_after (50ms) + a healthy dial", el)
	}
	if sws[1].Tunnels() != 1 {
		t.Fatal("the hedge did not carry the tunnel")
	}
	// The loser (blackholed) was closed by the dial and not counted.
	waitFor(t, func() bool { return sws[0].Holding() == 0 }, "the losing attempt's connection to close")
	if f := p.Health().Status(ps[0]).Failures; f != 0 {
		t.Fatalf("losing hedge counted %d failures", f)
	}
	rec.mu.Lock()
	if len(rec.attempts) != 2 || !rec.attempts[0].Hedge || rec.attempts[0].Err != nil || rec.attempts[0].Proxy != "socks5h://"+sws[1].Addr() ||
		rec.attempts[1].Hedge || rec.attempts[1].Counted || !errors.Is(rec.attempts[1].Err, context.Canceled) {
		t.Fatalf("attempt events %+v, want the hedge that won, then the cancelled first attempt, not counted", rec.attempts)
	}
	if d := rec.dones[0]; d.Attempts != 2 || d.Failovers != 0 {
		t.Fatalf("dial done %+v, want 2 attempts and no failover", d)
	}
	rec.mu.Unlock()

	// Both slow to answer: the faster one wins, the other's tunnel or
	// attempt is closed; no goroutine outlives the dial (TestMain checks
	// the whole package; check here too).
	slowA := newSwitch(t, proxytest.Config{Kind: proxytest.SOCKS5, Misbehave: proxytest.Misbehave{ReplyDelay: 300 * time.Millisecond}})
	slowB := newSwitch(t, proxytest.Config{Kind: proxytest.SOCKS5, Misbehave: proxytest.Misbehave{ReplyDelay: 20 * time.Millisecond}})
	q := newPool(t, []*runtime.Proxy{slowA.Proxy(runtime.SOCKS5H), slowB.Proxy(runtime.SOCKS5H)},
		runtime.PoolPolicy{Timeout: 10 * time.Second, HedgeAfter: 30 * time.Millisecond}, poolOpts{})
	before := goroutineCount()
	dialOK(t, q, target)
	if slowB.Tunnels() != 1 {
		t.Fatal("the faster hedge did not win")
	}
	if f := q.Health().Status(slowA.Proxy(runtime.SOCKS5H)).Failures; f != 0 {
		t.Fatalf("slow loser counted %d failures", f)
	}
	// The slow proxy's handler ends after its reply delay; the dial's own
	// goroutines must be gone by then.
	waitFor(t, func() bool { return goroutineCount() <= before }, "the goroutine count to return to its level before the dial")
}

func TestPoolEjectionDoublingAndHalfOpen(t *testing.T) {
	echo := newEcho(t, "127.0.0.1:0")
	target := "127.0.0.1:" + echo.port()
	sws, ps := switches(t, 2)
	clock := newFakeClock()
	rec := &recorder{}
	h := runtime.NewHealthRegistry(rec, clock.now)
	eject := runtime.EjectPolicy{AfterFailures: 2, Duration: 10 * time.Second, MaxDuration: 25 * time.Second}
	p := newPool(t, ps, runtime.PoolPolicy{Eject: eject}, poolOpts{health: h, obs: rec})
	sws[0].Set(proxytest.Refuse)
	dial := func() { t.Helper(); dialOK(t, p, target) }
	state := func() runtime.MemberStatus { return h.Status(ps[0]) }

	dial()
	if s := state(); s.State != runtime.Up || s.Failures != 1 {
		t.Fatalf("after one failure: %+v", s)
	}
	dial()
	if s := state(); s.State != runtime.Ejected || !s.Until.Equal(clock.now().Add(10*time.Second)) || s.Ejections != 1 {
		t.Fatalf("after two failures: %+v, want ejected for 10s", s)
	}
	// While ejected, failover goes straight to the second member.
	sws[0].Set(proxytest.Answer)
	dial()
	if sws[0].Tunnels() != 0 || sws[1].Tunnels() != 3 {
		t.Fatalf("ejected member was dialled: tunnels %v", tunnels(sws))
	}
	// Half-open: a failed trial ejects again for twice as long, then the
	// cap.
	sws[0].Set(proxytest.Refuse)
	for _, want := range []time.Duration{20 * time.Second, 25 * time.Second, 25 * time.Second} {
		clock.advance(state().Until.Sub(clock.now()))
		if s := state(); s.State != runtime.HalfOpen {
			t.Fatalf("ejection over: %+v, want half-open", s)
		}
		dial()
		if s := state(); s.State != runtime.Ejected || s.Until.Sub(clock.now()) != want {
			t.Fatalf("failed trial: %+v, want ejected for %v", s, want)
		}
	}
	// A successful trial brings it back and resets the doubling.
	sws[0].Set(proxytest.Answer)
	clock.advance(25 * time.Second)
	dial()
	if s := state(); s.State != runtime.Up || s.Ejections != 0 || s.Failures != 0 || sws[0].Tunnels() != 1 {
		t.Fatalf("after a good trial: %+v, tunnels %v", s, tunnels(sws))
	}
	sws[0].Set(proxytest.Refuse)
	dial()
	dial()
	if s := state(); s.State != runtime.Ejected || s.Until.Sub(clock.now()) != 10*time.Second {
		t.Fatalf("ejected again: %+v, want the first length (10s) again", s)
	}
	want := "ejected half-open ejected half-open ejected half-open ejected half-open up ejected"
	if got := strings.Join(rec.stateLog(), " "); got != want {
		t.Fatalf("member state events\n got %s\nwant %s", got, want)
	}
	rec.mu.Lock()
	for _, ev := range rec.states {
		if ev.Proxy != "socks5h://"+sws[0].Addr() {
			t.Fatalf("state event names %q", ev.Proxy)
		}
	}
	rec.mu.Unlock()
}

func TestPoolHalfOpenOneTrial(t *testing.T) {
	sws, ps := switches(t, 2)
	clock := newFakeClock()
	h := runtime.NewHealthRegistry(nil, clock.now)
	p := newPool(t, ps, runtime.PoolPolicy{Eject: runtime.EjectPolicy{AfterFailures: 1, Duration: time.Second}}, poolOpts{health: h})
	failMember(t, p, ps[0])
	clock.advance(time.Second)
	// The trial stalls in the proxy: while it is in flight, other dials do
	// not pick the member first.
	sws[0].Set(proxytest.Blackhole)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	solo := newPool(t, ps[:1], p.Policy(), poolOpts{health: h})
	go func() {
		defer close(done)
		_, _ = solo.DialContext(ctx, "tcp", "127.0.0.1:9")
	}()
	waitFor(t, func() bool { return sws[0].Holding() == 1 }, "the trial to reach the proxy")
	ord, usable := p.Order("x:1")
	if usable != 1 || ord[0] != ps[1] {
		t.Fatalf("during the trial: usable %d, first %v; want only the second member usable", usable, ord[0])
	}
	cancel()
	<-done
	// A cancelled trial proves nothing: the next dial may try again.
	if _, usable := p.Order("x:1"); usable != 2 {
		t.Fatalf("after a cancelled trial %d usable, want 2", usable)
	}
}

func TestPoolSharedHealth(t *testing.T) {
	echo := newEcho(t, "127.0.0.1:0")
	target := "127.0.0.1:" + echo.port()
	sws, ps := switches(t, 3)
	h := runtime.NewHealthRegistry(nil, newFakeClock().now)
	// Both pools list ps[0]; each judges failures with its own policy.
	lenient := newPool(t, []*runtime.Proxy{ps[0], ps[1]}, runtime.PoolPolicy{Eject: runtime.EjectPolicy{AfterFailures: 5}}, poolOpts{health: h})
	strict := newPool(t, []*runtime.Proxy{ps[0], ps[2]}, runtime.PoolPolicy{Eject: runtime.EjectPolicy{AfterFailures: 3}}, poolOpts{health: h})
	sws[0].Set(proxytest.Refuse)
	dialOK(t, lenient, target)
	dialOK(t, lenient, target)
	if s := h.Status(ps[0]); s.State != runtime.Up || s.Failures != 2 {
		t.Fatalf("after two failures seen by the lenient route: %+v", s)
	}
	dialOK(t, strict, target) // the third consecutive failure, judged by 3
	if s := h.Status(ps[0]); s.State != runtime.Ejected {
		t.Fatalf("after the strict route's failure: %+v, want ejected", s)
	}
	if _, usable := lenient.Order(target); usable != 1 {
		t.Fatalf("the other route still sees the member usable")
	}
	sws[0].Set(proxytest.Answer)
	dialOK(t, lenient, target)
	if sws[0].Tunnels() != 0 {
		t.Fatal("a route dialled a member another route's failures ejected")
	}
}

func TestPoolWhenAllDown(t *testing.T) {
	echo := newEcho(t, "127.0.0.1:0")
	target := "127.0.0.1:" + echo.port()
	for _, mode := range []runtime.AllDown{runtime.FailFast, runtime.TryEjected} {
		t.Run(mode.String(), func(t *testing.T) {
			sws, ps := switches(t, 2)
			clock := newFakeClock()
			h := runtime.NewHealthRegistry(nil, clock.now)
			p := newPool(t, ps, runtime.PoolPolicy{WhenAllDown: mode, Eject: runtime.EjectPolicy{AfterFailures: 1, Duration: 30 * time.Second}}, poolOpts{health: h})
			failMember(t, p, ps[1])
			clock.advance(time.Second)
			failMember(t, p, ps[0]) // back one second after ps[1]
			for _, s := range sws {
				s.Set(proxytest.Answer)
			}
			ord, usable := p.Order(target)
			if usable != 0 {
				t.Fatalf("%d usable, want 0", usable)
			}
			start := time.Now()
			c, err := p.DialContext(context.Background(), "tcp", target)
			if mode == runtime.FailFast {
				if len(ord) != 0 {
					t.Fatalf("fail_fast orders %d ejected members", len(ord))
				}
				var pe *runtime.PoolError
				if err == nil || !errors.Is(err, runtime.ErrAllProxiesFailed) || !errors.As(err, &pe) || !pe.AllEjected || len(pe.Attempts) != 0 {
					t.Fatalf("fail_fast: err %v", err)
				}
				if el := time.Since(start); el > 250*time.Millisecond {
					t.Fatalf("fail_fast took %v", el)
				}
				if n := sws[0].AcceptedTotal() + sws[1].AcceptedTotal(); n != 0 {
					t.Fatalf("fail_fast dialled: %d connections", n)
				}
				return
			}
			if len(ord) != 2 || ord[0] != ps[1] {
				t.Fatalf("try_ejected order %v, want the soonest to return (second member) first", ord)
			}
			if err != nil {
				t.Fatalf("try_ejected: %v", err)
			}
			roundTrip(t, c, "x")
			c.Close()
			if fmt.Sprint(tunnels(sws)) != "[0 1]" {
				t.Fatalf("tunnels %v, want the soonest to return", tunnels(sws))
			}
			if s := h.Status(ps[1]); s.State != runtime.Up {
				t.Fatalf("a tunnel through an ejected member did not bring it back: %+v", s)
			}
		})
	}
}

func TestPoolErrorRedacted(t *testing.T) {
	const canary = "c4n4ry-s3cr3t"
	sws, _ := switches(t, 3)
	var ps []*runtime.Proxy
	for _, s := range sws {
		s.Set(proxytest.Refuse)
		p := s.Proxy(runtime.SOCKS5H)
		p.User, p.Password = "user", runtime.NewSecret(canary)
		ps = append(ps, p)
	}
	rec := &recorder{}
	p := newPool(t, ps, runtime.PoolPolicy{}, poolOpts{obs: rec})
	_, err := p.DialContext(context.Background(), "tcp", "127.0.0.1:9")
	if !errors.Is(err, runtime.ErrAllProxiesFailed) {
		t.Fatalf("err %v, want ErrAllProxiesFailed", err)
	}
	var pe *runtime.PoolError
	if !errors.As(err, &pe) || len(pe.Attempts) != 3 {
		t.Fatalf("err %v, want 3 attempts", err)
	}
	for i, a := range pe.Attempts {
		var ae *runtime.ProxyError
		if !errors.As(a, &ae) || ae.Stage != runtime.StageConnect || ae.Proxy != ps[i].String() {
			t.Fatalf("attempt %d: %#v", i, a)
		}
	}
	var first *runtime.ProxyError
	if !errors.As(err, &first) {
		t.Fatal("errors.As finds no *ProxyError in the pool error")
	}
	texts := []string{err.Error(), fmt.Sprintf("%v %+v %#v", err, err, pe.Attempts)}
	rec.mu.Lock()
	for _, ev := range rec.attempts {
		texts = append(texts, fmt.Sprintf("%+v", ev))
	}
	for _, ev := range rec.dones {
		texts = append(texts, fmt.Sprintf("%+v", ev))
	}
	rec.mu.Unlock()
	for _, s := range texts {
		if strings.Contains(s, canary) {
			t.Fatalf("canary in %q", s)
		}
	}
	if !strings.Contains(err.Error(), "all proxies failed") || !strings.Contains(err.Error(), "***@") {
		t.Fatalf("error text %q", err)
	}
}

func TestPoolNeverDirect(t *testing.T) {
	// A target that counts connections: with every member failing, nothing
	// reaches it.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	direct := 0
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			direct++
			mu.Unlock()
			c.Close()
		}
	}()
	defer func() { ln.Close(); <-done }()
	sws, ps := switches(t, 2)
	sws[0].Set(proxytest.Refuse)
	sws[1].Set(proxytest.Reset)
	for _, mode := range []runtime.AllDown{runtime.TryEjected, runtime.FailFast} {
		p := newPool(t, ps, runtime.PoolPolicy{WhenAllDown: mode, Eject: runtime.EjectPolicy{AfterFailures: 1}}, poolOpts{})
		for range 3 {
			if c, err := p.DialContext(context.Background(), "tcp", ln.Addr().String()); err == nil {
				c.Close()
				t.Fatal("dial succeeded with every member down")
			}
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if direct != 0 {
		t.Fatalf("%d direct connections", direct)
	}
}

func TestProber(t *testing.T) {
	echo := newEcho(t, "127.0.0.1:0")
	target := "127.0.0.1:" + echo.port()
	sws, ps := switches(t, 2)
	rec := &recorder{}
	h := runtime.NewHealthRegistry(rec, newFakeClock().now)
	pol := runtime.PoolPolicy{
		Eject:       runtime.EjectPolicy{AfterFailures: 2},
		HealthCheck: &runtime.HealthCheck{Target: target, Interval: 30 * time.Millisecond, Timeout: 20 * time.Millisecond},
	}
	p := newPool(t, ps, pol, poolOpts{health: h, obs: rec})
	other := newPool(t, ps[:1], pol, poolOpts{health: h, obs: rec}) // the same proxy and target: probed once
	pr := runtime.NewProber(p, other, newPool(t, ps, runtime.PoolPolicy{}, poolOpts{health: h}))
	time.Sleep(60 * time.Millisecond)
	if n := len(rec.probes); n != 0 {
		t.Fatalf("%d probes before Start", n)
	}
	sws[0].Set(proxytest.Blackhole)
	pr.Start()
	pr.Start()
	waitFor(t, func() bool { return h.Status(ps[0]).State == runtime.Ejected }, "failed probes to eject the member")
	if sws[1].Tunnels() == 0 {
		t.Fatal("the healthy member was not probed")
	}
	sws[0].Set(proxytest.Answer)
	waitFor(t, func() bool { return h.Status(ps[0]).State == runtime.Up }, "a passing probe to bring the member back")
	if err := pr.Close(); err != nil {
		t.Fatal(err)
	}
	rec.mu.Lock()
	n := len(rec.probes)
	var sawFail, sawPass bool
	for _, ev := range rec.probes {
		if ev.Target != target || !strings.HasPrefix(ev.Proxy, "socks5h://127.0.0.1:") {
			t.Fatalf("probe event %+v", ev)
		}
		if ev.Err != nil {
			sawFail = true
		} else {
			sawPass = true
		}
	}
	rec.mu.Unlock()
	if !sawFail || !sawPass {
		t.Fatalf("probe events: failed %v passed %v", sawFail, sawPass)
	}
	// No probe after Close; no probe goroutine left.
	time.Sleep(100 * time.Millisecond)
	rec.mu.Lock()
	after := len(rec.probes)
	rec.mu.Unlock()
	if after != n {
		t.Fatalf("%d probes after Close", after-n)
	}
	_ = pr.Close()
	for _, stack := range leakcheck.Leaked() {
		if strings.Contains(stack, "runtime.probeJob") || strings.Contains(stack, "(*Prober)") {
			t.Fatalf("a probe goroutine outlived Close:\n%s", stack)
		}
	}
}

func goroutineCount() int { return goruntime.NumGoroutine() }

// TestPoolHedgingFailsOverAtOnce: with hedging on, a member that fails
// fast hands over at once, without waiting for hedge_after.
func TestPoolHedgingFailsOverAtOnce(t *testing.T) {
	echo := newEcho(t, "127.0.0.1:0")
	target := "127.0.0.1:" + echo.port()
	sws, ps := switches(t, 3)
	sws[0].Set(proxytest.Refuse)
	rec := &recorder{}
	p := newPool(t, ps, runtime.PoolPolicy{HedgeAfter: 2 * time.Second}, poolOpts{obs: rec})
	start := time.Now()
	dialOK(t, p, target)
	if el := time.Since(start); el > time.Second {
		t.Fatalf("dial took %v, want well under hedge_after", el)
	}
	if fmt.Sprint(tunnels(sws)) != "[0 1 0]" {
		t.Fatalf("tunnels %v", tunnels(sws))
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if d := rec.dones[0]; d.Attempts != 2 || d.Failovers != 1 || d.Err != nil {
		t.Fatalf("dial done %+v, want 2 attempts and 1 failover", d)
	}
	if a := rec.attempts; len(a) != 2 || a[0].Hedge || a[1].Hedge || !a[0].Counted || a[0].Stage != runtime.StageConnect {
		t.Fatalf("attempts %+v", a)
	}
}
