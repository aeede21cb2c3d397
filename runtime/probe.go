package runtime

import (
	"context"
	"io"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"
)

// Prober runs the active health checks of pools: for each pool with a
// HealthCheck, right after Start and then every Interval (+-10% jitter), a
// connect-only tunnel to the check's target through each member, bounded
// by the check's Timeout. A failed probe counts like a failed dial (with
// the pool's EjectPolicy); a passing one brings an ejected member back. A
// proxy listed by several pools with the same target is probed once.
//
// Nothing runs before Start; Close stops every probe and returns when all
// of them have ended.
type Prober struct {
	jobs []probeJob

	mu      sync.Mutex
	started bool
	closed  bool
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

type probeJob struct {
	p  *Pool
	i  int // member index
	hc HealthCheck
}

// NewProber returns a prober for the pools' health checks; pools without
// one are skipped.
func NewProber(pools ...*Pool) *Prober {
	pr := &Prober{}
	type key struct {
		name, target string
		reg          *HealthRegistry
	}
	seen := map[key]bool{}
	for _, p := range pools {
		if p == nil || p.policy.HealthCheck == nil {
			continue
		}
		hc := *p.policy.HealthCheck
		for i, m := range p.members {
			k := key{m.name, hc.Target, p.health}
			if seen[k] {
				continue
			}
			seen[k] = true
			pr.jobs = append(pr.jobs, probeJob{p: p, i: i, hc: hc})
		}
	}
	return pr
}

// Start starts probing; it is a no-op after the first call or after Close.
func (pr *Prober) Start() {
	pr.mu.Lock()
	defer pr.mu.Unlock()
	if pr.started || pr.closed {
		return
	}
	pr.started = true
	ctx, cancel := context.WithCancel(context.Background())
	pr.cancel = cancel
	for _, j := range pr.jobs {
		pr.wg.Add(1)
		go func() {
			defer pr.wg.Done()
			j.run(ctx)
		}()
	}
}

// Close stops every probe and waits for them to end. It is safe to call
// more than once.
func (pr *Prober) Close() error {
	pr.mu.Lock()
	pr.closed = true
	cancel := pr.cancel
	pr.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	pr.wg.Wait()
	return nil
}

// jitter returns d +-probeJitter, at random.
func jitter(d time.Duration) time.Duration {
	span := int64(float64(d) * probeJitter)
	if span <= 0 {
		return d
	}
	return d - time.Duration(span) + time.Duration(rand.Int64N(2*span+1))
}

func (j probeJob) run(ctx context.Context) {
	j.probe(ctx)
	t := time.NewTimer(jitter(j.hc.Interval))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			j.probe(ctx)
			t.Reset(jitter(j.hc.Interval))
		}
	}
}

var discardLogger = slog.New(slog.NewTextHandler(io.Discard, nil))

// probe opens and closes one tunnel through the member.
func (j probeJob) probe(ctx context.Context) {
	p := j.p
	m := &p.members[j.i]
	cp := *m.proxy
	cp.Timeout = j.hc.Timeout
	cp.Optimistic = false // a probe must see the proxy's reply
	d := p.d
	d.Logger = discardLogger // no INFO line per probe; the observer sees them
	trial := m.h.claimTrial(p.health.now())
	t0 := time.Now()
	c, err := d.dialProxy(ctx, &cp, "tcp", j.hc.Target)
	dur := time.Since(t0)
	if err == nil {
		_ = c.Close()
		m.h.success(dur, trial)
	} else {
		pe := err.(*ProxyError)
		if ctx.Err() != nil {
			m.h.releaseTrial(trial)
			return // closing
		}
		if proxySide(cp.Scheme, pe) {
			m.h.failure(p.policy.Eject, trial)
		} else {
			m.h.releaseTrial(trial)
		}
		p.d.logger().LogAttrs(ctx, slog.LevelDebug, "proxy probe failed",
			slog.String("proxy", m.name), slog.String("target", j.hc.Target), slog.String("error", pe.Error()))
	}
	if p.pobs != nil {
		ev := Probe{Proxy: m.name, Target: j.hc.Target, Duration: dur}
		if err != nil {
			ev.Err = err
		}
		p.pobs.Probe(ev)
	}
}
