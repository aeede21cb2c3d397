// pooldial.go is a little over 400 lines on purpose: the Pool and its one dial
// (sequential and hedged attempts, all methods of dialState) are one job;
// splitting would part dialState's methods.

package runtime

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync/atomic"
	"time"
)

// PoolConfig configures NewPool.
type PoolConfig struct {
	// Members are the proxies, in spec order: 1..MaxPoolMembers, distinct
	// by (scheme, host, port). Each is copied; its Timeout is replaced by
	// the policy's AttemptTimeout.
	Members []*Proxy
	Policy  PoolPolicy
	// Dialer is the template of every attempt: Exchange, Transport,
	// Forward, Logger and Resolver are used; Proxy is ignored.
	Dialer Dialer
	// Health is the registry shared by every pool of an injector; nil
	// means a registry of the pool's own.
	Health *HealthRegistry
	// Observer receives the pool's dial events; nil costs nothing.
	Observer Observer
}

// Pool dials through one of several proxies: members ordered by the
// strategy, failover by failure class, one budget over every attempt,
// optional hedging, and ejection through the shared HealthRegistry. A Pool
// never connects direct. It is safe for concurrent use.
type Pool struct {
	members  []poolMember
	proxies  []*Proxy // as given, for Members
	policy   PoolPolicy
	health   *HealthRegistry
	d        Dialer
	obs      Observer
	aobs     AttemptObserver
	tobs     TunnelObserver // wraps each tunnel to see its close
	pobs     ProbeObserver
	rr       atomic.Uint64
	fav      atomic.Int32 // StrategyFastest's current member, -1 none
	rot      [8]uint64    // rotations(len(members)) when it is <= 8
	failFast bool
}

type poolMember struct {
	proxy *Proxy // copy with Timeout = AttemptTimeout
	name  string // scheme://host:port
	hash  uint64 // mix64(hashString(name)), for sticky
	h     *memberHealth
}

// NewPool checks c and builds the pool.
func NewPool(c PoolConfig) (*Pool, error) {
	if len(c.Members) == 0 || len(c.Members) > MaxPoolMembers {
		return nil, fmt.Errorf("pool needs 1..%d members (got %d)", MaxPoolMembers, len(c.Members))
	}
	pol := c.Policy.withDefaults()
	if err := pol.check(); err != nil {
		return nil, fmt.Errorf("pool policy: %w", err)
	}
	h := c.Health
	if h == nil {
		h = NewHealthRegistry(c.Observer, nil)
	}
	p := &Pool{policy: pol, health: h, d: c.Dialer, obs: c.Observer, failFast: pol.WhenAllDown == FailFast}
	p.d.Proxy = nil
	p.fav.Store(-1)
	if c.Observer != nil {
		p.aobs, _ = c.Observer.(AttemptObserver)
		p.tobs, _ = c.Observer.(TunnelObserver)
		p.pobs, _ = c.Observer.(ProbeObserver)
	}
	// Members are distinct as Validate sees them: the same proxy with other
	// credentials is another member (their health is shared: it belongs to
	// scheme, host and port).
	seen := make(map[memberID]bool, len(c.Members))
	for i, m := range c.Members {
		if m == nil {
			return nil, fmt.Errorf("pool member %d is nil", i+1)
		}
		k := memberIdentity(m)
		if seen[k] {
			return nil, fmt.Errorf("pool member %d repeats %s", i+1, memberName(m))
		}
		seen[k] = true
		cp := *m
		cp.Timeout = pol.AttemptTimeout
		name := memberName(m)
		p.members = append(p.members, poolMember{proxy: &cp, name: name, hash: mix64(hashString(name)), h: h.member(m)})
		p.proxies = append(p.proxies, m)
	}
	if len(p.members) <= 8 {
		p.rot = rotations(len(p.members))
	}
	return p, nil
}

// Members returns the members as given, in spec order. They belong to the
// pool and must not be modified.
func (p *Pool) Members() []*Proxy { return append([]*Proxy(nil), p.proxies...) }

// Policy returns the policy with its defaults filled in.
func (p *Pool) Policy() PoolPolicy { return p.policy }

// Health returns the pool's registry.
func (p *Pool) Health() *HealthRegistry { return p.health }

// Order returns the members the next dial to target would try, in order,
// and how many of them are usable (the rest are ejected). Round-robin and
// random advance as a dial would.
func (p *Pool) Order(target string) (members []*Proxy, usable int) {
	var ord [MaxPoolMembers]uint8
	n, u := p.order(&ord, target)
	out := make([]*Proxy, n)
	for i := range n {
		out[i] = p.proxies[ord[i]]
	}
	return out, u
}

// budgetSlack is how far an attempt may overrun the dial's budget before
// the budget gets a context of its own.
const budgetSlack = 10 * time.Millisecond

// attemptResult is one finished attempt.
type attemptResult struct {
	i         int // member index
	conn      net.Conn
	err       *ProxyError
	handshake time.Duration
	trial     bool
	hedge     bool
	short     bool // the budget left it less than 90% of AttemptTimeout
	n         int
}

// dialState is one pool dial.
type dialState struct {
	p         *Pool
	ctx       context.Context // the caller's (after DialStart)
	deadline  time.Time       // the budget's end
	network   string
	addr      string
	attempts  []error
	n         int // attempts started
	failovers int
}

// DialContext connects to addr through a member of the pool. Only the dial
// is retried: an attempt that fails on the proxy's side counts against the
// member and the dial moves on; a failure the proxy reports for the target
// moves on without counting; the caller's cancellation stops at once. On
// failure the error is a *PoolError (errors.Is(err, ErrAllProxiesFailed)
// unless the caller cancelled).
func (p *Pool) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	var start time.Time
	if p.obs != nil {
		start = time.Now()
		ctx = p.obs.DialStart(ctx, DialStart{Exchange: p.d.Exchange, Transport: p.d.Transport, Target: addr, Time: start})
	}
	var ord [MaxPoolMembers]uint8
	n, usable := p.order(&ord, addr)
	if usable == 0 && p.failFast {
		err := &PoolError{Exchange: p.d.Exchange, Transport: p.d.Transport, AllEjected: true, Err: ErrAllProxiesFailed}
		p.done(ctx, start, addr, "", 0, 0, err)
		return nil, err
	}
	s := dialState{p: p, ctx: ctx, deadline: time.Now().Add(p.policy.Timeout), network: network, addr: addr}
	var c net.Conn
	var winner int
	if p.policy.HedgeAfter > 0 && n > 1 {
		c, winner = s.hedged(ord[:n])
	} else {
		c, winner = s.sequential(ord[:n])
	}
	if c != nil {
		if p.obs != nil {
			name := p.members[winner].name
			p.done(ctx, start, addr, name, s.n, s.failovers, nil)
			if p.tobs != nil {
				c = observeTunnel(c, Tunnel{Exchange: p.d.Exchange, Transport: p.d.Transport, Target: addr, Proxy: name}, p.tobs)
			}
		}
		return c, nil
	}
	err := &PoolError{Exchange: p.d.Exchange, Transport: p.d.Transport, Attempts: s.attempts, AllEjected: usable == 0, Err: ErrAllProxiesFailed}
	if cerr := ctx.Err(); cerr != nil {
		err.Err = cerr
	}
	p.done(ctx, start, addr, "", s.n, s.failovers, err)
	return nil, err
}

func (p *Pool) done(ctx context.Context, start time.Time, addr, proxy string, attempts, failovers int, err error) {
	if p.obs == nil {
		return
	}
	p.obs.DialDone(ctx, DialDone{Exchange: p.d.Exchange, Transport: p.d.Transport, Target: addr, Proxy: proxy,
		Duration: time.Since(start), Attempts: attempts, Failovers: failovers, Err: err})
}

// sequential tries the members one after the other on the caller's
// goroutine.
func (s *dialState) sequential(ord []uint8) (net.Conn, int) {
	for k, i := range ord {
		if s.stopped() {
			return nil, -1
		}
		if k > 0 {
			s.failovers++
		}
		s.n++
		// The member's copy bounds the attempt to AttemptTimeout; the
		// budget needs a context of its own only when clearly less is left
		// (the first attempt may overrun the budget by the few
		// microseconds the dial spent before it).
		actx, cancel := s.ctx, context.CancelFunc(nil)
		if time.Until(s.deadline)+budgetSlack < s.p.policy.AttemptTimeout {
			actx, cancel = context.WithDeadline(s.ctx, s.deadline)
		}
		r := s.p.attempt(actx, int(i), s.network, s.addr, s.deadline, s.n, false)
		if cancel != nil {
			cancel()
		}
		if s.settle(r, false) {
			return r.conn, r.i
		}
	}
	return nil, -1
}

// stopped reports whether the dial must not start another attempt: the
// caller cancelled or the budget ran out.
func (s *dialState) stopped() bool {
	return s.ctx.Err() != nil || !time.Now().Before(s.deadline)
}

// attempt runs one member's set-up, bounded by the member's copy's Timeout
// (AttemptTimeout) and ctx.
func (p *Pool) attempt(ctx context.Context, i int, network, addr string, deadline time.Time, n int, hedge bool) attemptResult {
	m := &p.members[i]
	trial := false
	if m.h.until.Load() != 0 { // no clock read for a member that is up
		trial = m.h.claimTrial(p.health.now())
	}
	t0 := time.Now()
	c, err := p.d.dialProxy(ctx, m.proxy, network, addr)
	r := attemptResult{i: i, conn: c, handshake: time.Since(t0), trial: trial, hedge: hedge, n: n}
	if err != nil {
		at := p.policy.AttemptTimeout
		if deadline.Sub(t0) < at-at/10 {
			r.short = true
		}
	}
	if err != nil {
		r.err = err.(*ProxyError)
	}
	return r
}

// settle records a finished attempt in the member's health and the dial's
// errors, emits the Attempt event and reports whether it gave the tunnel.
// lost marks an attempt that the dial no longer wants (a hedge's loser, or
// one cancelled after the winner): it is not counted.
func (s *dialState) settle(r attemptResult, lost bool) bool {
	p := s.p
	m := &p.members[r.i]
	counted := false
	if r.err == nil {
		m.h.success(r.handshake, r.trial)
	} else {
		counted = !lost && s.counts(r)
		if counted {
			m.h.failure(p.policy.Eject, r.trial)
		} else {
			m.h.releaseTrial(r.trial)
		}
		if !lost {
			s.attempts = append(s.attempts, r.err)
		}
	}
	if p.aobs != nil {
		ev := Attempt{Exchange: p.d.Exchange, Transport: p.d.Transport, Target: s.addr, Proxy: m.name, N: r.n,
			Hedge: r.hedge, Handshake: r.handshake, Counted: counted}
		if r.err != nil {
			ev.Stage, ev.Err = r.err.Stage, r.err
			ev.Code = r.err.Code
			if r.err.Status != 0 {
				ev.Code = r.err.Status
			}
		}
		p.aobs.Attempt(s.ctx, ev)
	}
	return r.err == nil
}

// counts reports whether a failed attempt counts against its member: a
// proxy-side failure does; a failure reported for the target, a bad
// configuration, the caller's cancellation and an attempt the budget cut
// short do not.
func (s *dialState) counts(r attemptResult) bool {
	if s.ctx.Err() != nil {
		return false // the caller cancelled
	}
	e := r.err
	if r.short && errors.Is(e, context.DeadlineExceeded) {
		return false // the dial's budget, not the member, ended it
	}
	return proxySide(s.p.members[r.i].proxy.Scheme, e)
}

// proxySide classifies a failed set-up: true for a failure on the proxy's
// side (TCP or TLS to the proxy, a handshake timeout, a malformed reply,
// authentication refused, a refusal by the proxy), false for a failure on
// the target's side that the proxy reported (SOCKS5 replies 3, 4, 5;
// SOCKS4 0x5b; CONNECT 500, 502, 503, 504) and for configuration and
// local resolution errors, which are nobody's fault on the proxy's side.
func proxySide(scheme Scheme, e *ProxyError) bool {
	switch e.Stage {
	case StageConfig, StageResolve:
		return false
	case StageReply:
		switch {
		case e.Status == 500 || e.Status == 502 || e.Status == 503 || e.Status == 504:
			return false
		case (scheme == SOCKS5 || scheme == SOCKS5H) && (e.Code == 3 || e.Code == 4 || e.Code == 5):
			return false
		case (scheme == SOCKS4 || scheme == SOCKS4A) && e.Code == 0x5b:
			return false
		}
	}
	return true
}

// hedged runs attempts on their own goroutines: after HedgeAfter without a
// result the next member starts too; a failure starts the next member at
// once. The first tunnel wins; the others are cancelled, closed if they
// opened, and not counted. It returns only when every attempt has ended.
func (s *dialState) hedged(ord []uint8) (net.Conn, int) {
	bctx, bcancel := context.WithDeadline(s.ctx, s.deadline)
	defer bcancel()
	actx, cancel := context.WithCancel(bctx)
	defer cancel()
	p, network, addr, deadline := s.p, s.network, s.addr, s.deadline
	results := make(chan attemptResult, len(ord))
	next, inflight := 0, 0
	launch := func(hedge bool) {
		i := int(ord[next])
		next++
		inflight++
		s.n++
		n := s.n
		go func() { results <- p.attempt(actx, i, network, addr, deadline, n, hedge) }()
	}
	timer := time.NewTimer(s.p.policy.HedgeAfter)
	defer timer.Stop()
	launch(false)
	var won net.Conn
	winner := -1
	bdone := bctx.Done()
	for inflight > 0 {
		select {
		case r := <-results:
			inflight--
			if won != nil || r.err == nil && s.ctx.Err() != nil {
				s.lose(r) // a loser, or a tunnel the caller no longer wants
				continue
			}
			if s.settle(r, false) {
				won, winner = r.conn, r.i
				cancel()
				continue
			}
			if next < len(ord) && !s.stopped() {
				s.failovers++
				launch(false)
				timer.Reset(s.p.policy.HedgeAfter)
			}
		case <-timer.C:
			if won == nil && next < len(ord) && !s.stopped() {
				launch(true)
				timer.Reset(s.p.policy.HedgeAfter)
			}
		case <-bdone:
			// The caller cancelled or the budget ran out: the attempts see
			// it through actx and end; wait for them.
			bdone = nil
			cancel()
		}
	}
	return won, winner
}

// lose closes a tunnel that lost the race; an attempt that ended after the
// winner is not counted (a failure it had before the winner was counted
// when it arrived).
func (s *dialState) lose(r attemptResult) {
	if r.conn != nil {
		_ = r.conn.Close()
		r.err = nil
		r.conn = nil
		s.p.members[r.i].h.releaseTrial(r.trial)
		return
	}
	s.settle(r, true)
}
