package runtime

import (
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// HealthRegistry holds the health of every proxy, keyed by (scheme, host,
// port): every pool built with the same registry shares a proxy's failure
// count, ejection and handshake average. An injector holds one; it is safe
// for concurrent use.
type HealthRegistry struct {
	now  func() time.Time
	mobs MemberObserver // nil when the observer has no MemberState
	// ejected counts the members whose until is set, so that selection
	// skips the per-member check (and the clock) when it is zero.
	ejected atomic.Int64

	mu      sync.Mutex
	members map[proxyKey]*memberHealth
}

// NewHealthRegistry returns an empty registry. obs, if it implements
// MemberObserver, receives each state change; now is the clock of
// ejections (nil means time.Now), for tests.
func NewHealthRegistry(obs Observer, now func() time.Time) *HealthRegistry {
	h := &HealthRegistry{now: now, members: map[proxyKey]*memberHealth{}}
	if h.now == nil {
		h.now = time.Now
	}
	if m, ok := obs.(MemberObserver); ok {
		h.mobs = m
	}
	return h
}

// member returns the shared health of p, creating it.
func (h *HealthRegistry) member(p *Proxy) *memberHealth {
	k := keyOf(p)
	h.mu.Lock()
	defer h.mu.Unlock()
	m := h.members[k]
	if m == nil {
		m = &memberHealth{reg: h, name: memberName(p)}
		h.members[k] = m
	}
	return m
}

// MemberStatus is a snapshot of one proxy's health.
type MemberStatus struct {
	Proxy     string // "scheme://host:port"
	State     Health
	Until     time.Time     // end of the ejection (zero when up)
	Failures  int           // consecutive proxy-side failures
	Ejections int           // consecutive ejections (the doubling's exponent)
	Handshake time.Duration // moving average handshake time, 0 if unmeasured
}

// Status returns the health of p (Up and zero counts for a proxy the
// registry has not seen).
func (h *HealthRegistry) Status(p *Proxy) MemberStatus {
	h.mu.Lock()
	m := h.members[keyOf(p)]
	h.mu.Unlock()
	if m == nil {
		return MemberStatus{Proxy: memberName(p)}
	}
	return m.status(h.now())
}

// Snapshot returns the health of every proxy the registry knows, sorted by
// Proxy.
func (h *HealthRegistry) Snapshot() []MemberStatus {
	h.mu.Lock()
	ms := make([]*memberHealth, 0, len(h.members))
	for _, m := range h.members {
		ms = append(ms, m)
	}
	h.mu.Unlock()
	now := h.now()
	out := make([]MemberStatus, len(ms))
	for i, m := range ms {
		out[i] = m.status(now)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Proxy < out[j].Proxy })
	return out
}

// memberHealth is one proxy's shared health. until, trial and ewma are read
// without the lock by member selection; every change happens under mu.
type memberHealth struct {
	reg  *HealthRegistry
	name string

	until atomic.Int64 // unix nanoseconds the ejection ends; 0 when up
	trial atomic.Bool  // a half-open trial dial is in flight
	ewma  atomic.Int64 // moving average handshake, nanoseconds; 0 unmeasured
	fails atomic.Int32 // consecutive counted failures (mirror, for the fast path)

	mu        sync.Mutex
	ejections int
}

func (m *memberHealth) status(now time.Time) MemberStatus {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := MemberStatus{Proxy: m.name, Failures: int(m.fails.Load()), Ejections: m.ejections, Handshake: time.Duration(m.ewma.Load())}
	if u := m.until.Load(); u != 0 {
		s.Until = time.Unix(0, u)
		s.State = Ejected
		if now.UnixNano() >= u {
			s.State = HalfOpen
		}
	}
	return s
}

// usable reports whether a dial may pick m at now (unix ns): up, or its
// ejection is over and no trial is in flight.
func (m *memberHealth) usable(now int64) bool {
	u := m.until.Load()
	return u == 0 || now >= u && !m.trial.Load()
}

// claimTrial makes the caller's attempt the half-open trial if m's
// ejection is over and no other trial is in flight.
func (m *memberHealth) claimTrial(now time.Time) bool {
	u := m.until.Load()
	if u == 0 || now.UnixNano() < u {
		return false
	}
	if !m.trial.CompareAndSwap(false, true) {
		return false
	}
	if o := m.reg.mobs; o != nil {
		o.MemberState(MemberState{Proxy: m.name, State: HalfOpen, Until: time.Unix(0, u), Failures: int(m.fails.Load())})
	}
	return true
}

// releaseTrial ends a trial that proved nothing (a target-side failure, a
// cancelled or losing attempt).
func (m *memberHealth) releaseTrial(trial bool) {
	if trial {
		m.trial.Store(false)
	}
}

// observe folds a handshake time into the moving average.
func (m *memberHealth) observe(d time.Duration) { foldEWMA(&m.ewma, d) }

// foldEWMA folds d into the moving average v (nanoseconds, 1/4 weight; 0
// means unmeasured).
func foldEWMA(v *atomic.Int64, d time.Duration) {
	if d <= 0 {
		d = 1
	}
	for {
		old := v.Load()
		nv := int64(d)
		if old != 0 {
			nv = old + (int64(d)-old)/4
			if nv <= 0 {
				nv = 1
			}
		}
		if v.CompareAndSwap(old, nv) {
			return
		}
	}
}

// success records a tunnel (or a passing probe) through m: the failure
// count, the ejection and its doubling reset.
func (m *memberHealth) success(handshake time.Duration, trial bool) {
	m.observe(handshake)
	if m.fails.Load() == 0 && m.until.Load() == 0 && !trial {
		return // the common case: nothing to reset
	}
	m.mu.Lock()
	was := m.until.Load()
	m.fails.Store(0)
	m.ejections = 0
	m.until.Store(0)
	m.trial.Store(false)
	if was != 0 {
		m.reg.ejected.Add(-1)
	}
	m.mu.Unlock()
	if o := m.reg.mobs; o != nil && was != 0 {
		o.MemberState(MemberState{Proxy: m.name, State: Up})
	}
}

// failure records a proxy-side failure judged with policy e (already with
// defaults). A failed half-open trial ejects again, doubled; other
// failures while ejected only count; otherwise the member is ejected at
// e.AfterFailures consecutive failures.
func (m *memberHealth) failure(e EjectPolicy, trial bool) {
	now := m.reg.now()
	m.mu.Lock()
	f := m.fails.Add(1)
	u := m.until.Load()
	eject := false
	switch {
	case trial:
		eject = true
	case u != 0:
		// already ejected (a try_ejected attempt, not the trial): counting
		// is enough
	case int(f) >= e.AfterFailures:
		eject = true
	}
	var ev MemberState
	if eject {
		m.ejections++
		until := now.Add(e.ejection(m.ejections))
		m.until.Store(until.UnixNano())
		if u == 0 {
			m.reg.ejected.Add(1)
		}
		ev = MemberState{Proxy: m.name, State: Ejected, Until: until, Failures: int(f)}
		m.fails.Store(0)
	}
	if trial {
		m.trial.Store(false)
	}
	m.mu.Unlock()
	if o := m.reg.mobs; o != nil && eject {
		o.MemberState(ev)
	}
}
