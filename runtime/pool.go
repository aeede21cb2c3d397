package runtime

import (
	"errors"
	"net"
	"strconv"
	"strings"
	"time"
)

// Strategy picks the order in which a pool's members are tried.
type Strategy uint8

// The pool strategies. The zero Strategy is StrategyFailover.
const (
	// StrategyFailover tries members in spec order: always the first usable
	// one (a stable egress IP).
	StrategyFailover Strategy = iota
	// StrategyRoundRobin starts each dial at the next member.
	StrategyRoundRobin
	// StrategyRandom starts each dial at a random member.
	StrategyRandom
	// StrategySticky picks the member by rendezvous hashing of the target
	// host:port over all members, skipping ejected ones: a target keeps its
	// member across dials and processes, and an ejection moves only the
	// ejected member's targets.
	StrategySticky
	// StrategyFastest picks the usable member with the lowest moving
	// average handshake time (real dials and probes), switching only when
	// another is clearly faster; members not yet measured come first.
	StrategyFastest
)

var strategyNames = [...]string{"failover", "round_robin", "random", "sticky", "fastest"}

// String returns the spec name: "failover", "round_robin", "random",
// "sticky" or "fastest".
func (s Strategy) String() string {
	if int(s) < len(strategyNames) {
		return strategyNames[s]
	}
	return "strategy(" + strconv.Itoa(int(s)) + ")"
}

// ParseStrategy maps a spec name (case-insensitive) to a Strategy.
func ParseStrategy(s string) (Strategy, bool) {
	for i, n := range strategyNames {
		if len(n) == len(s) && equalFold(n, s) {
			return Strategy(i), true
		}
	}
	return 0, false
}

// AllDown is what a pool dial does when every member is ejected.
type AllDown uint8

// The when_all_down behaviours. The zero AllDown is TryEjected.
const (
	// TryEjected still tries the ejected members, the soonest to return
	// first, within the dial's budget. When only some members are ejected,
	// the usable ones come first, then the ejected ones.
	TryEjected AllDown = iota
	// FailFast fails at once without dialling when every member is ejected
	// (a circuit breaker), and never dials an ejected member.
	FailFast
)

// String returns "try_ejected" or "fail_fast".
func (a AllDown) String() string {
	switch a {
	case TryEjected:
		return "try_ejected"
	case FailFast:
		return "fail_fast"
	}
	return "all_down(" + strconv.Itoa(int(a)) + ")"
}

// ParseAllDown maps "try_ejected" or "fail_fast" (case-insensitive).
func ParseAllDown(s string) (AllDown, bool) {
	switch {
	case len(s) == len("try_ejected") && equalFold("try_ejected", s):
		return TryEjected, true
	case len(s) == len("fail_fast") && equalFold("fail_fast", s):
		return FailFast, true
	}
	return 0, false
}

// Pool defaults (the spec's defaults).
const (
	// MaxPoolMembers is the largest pool.
	MaxPoolMembers = 64
	// DefaultEjectAfterFailures is eject.after_failures.
	DefaultEjectAfterFailures = 3
	// DefaultEjectDuration is eject.seconds: the first ejection's length.
	DefaultEjectDuration = 30 * time.Second
	// DefaultEjectMaxDuration is eject.max_seconds: the doubling's cap.
	DefaultEjectMaxDuration = 300 * time.Second
	// DefaultProbeInterval is health_check.interval_seconds.
	DefaultProbeInterval = 30 * time.Second
	// DefaultProbeTimeout is health_check.timeout_seconds.
	DefaultProbeTimeout = 5 * time.Second
	// probeJitter is the relative jitter of the probe interval (+-10%).
	probeJitter = 0.1
)

// fastestToleranceDiv says how much faster (relative moving average)
// another member must be before StrategyFastest leaves its current member:
// by 1/fastestToleranceDiv (20%), in integer arithmetic.
const fastestToleranceDiv = 5

// EjectPolicy is passive health (eject: in the spec): AfterFailures
// consecutive proxy-side failures take a member out for Duration, doubling
// at each new ejection up to MaxDuration. Zero fields mean the defaults.
type EjectPolicy struct {
	AfterFailures int
	Duration      time.Duration
	MaxDuration   time.Duration
}

func (e EjectPolicy) withDefaults() EjectPolicy {
	if e.AfterFailures <= 0 {
		e.AfterFailures = DefaultEjectAfterFailures
	}
	if e.Duration <= 0 {
		e.Duration = DefaultEjectDuration
	}
	if e.MaxDuration <= 0 {
		e.MaxDuration = max(DefaultEjectMaxDuration, e.Duration)
	}
	return e
}

// ejection returns the length of the n-th consecutive ejection (n >= 1).
func (e EjectPolicy) ejection(n int) time.Duration {
	d := e.Duration
	for i := 1; i < n && d < e.MaxDuration; i++ {
		d *= 2
	}
	return min(d, e.MaxDuration)
}

// HealthCheck is an active probe (health_check: in the spec): every
// Interval (+-10% jitter) a connect-only tunnel to Target through each
// member, bounded by Timeout. No byte is sent to the target.
type HealthCheck struct {
	Target   string        // host:port
	Interval time.Duration // zero means DefaultProbeInterval
	Timeout  time.Duration // zero means DefaultProbeTimeout
}

// PoolPolicy is how a pool dials: the strategy, the budgets, hedging,
// ejection, the active health check and what happens when every member is
// ejected.
type PoolPolicy struct {
	Strategy Strategy
	// Timeout bounds the whole dial, every attempt and hedge included;
	// zero means DefaultTimeout.
	Timeout time.Duration
	// AttemptTimeout bounds one member's attempt; zero means Timeout. It
	// may not exceed Timeout.
	AttemptTimeout time.Duration
	// HedgeAfter, when positive, starts the next member while the current
	// attempt is still in its handshake after this long; the first tunnel
	// ready wins.
	HedgeAfter time.Duration
	// Eject is the passive health policy; zero fields mean the defaults.
	Eject EjectPolicy
	// HealthCheck, when set, is probed by a Prober.
	HealthCheck *HealthCheck
	WhenAllDown AllDown
}

func (p PoolPolicy) withDefaults() PoolPolicy {
	if p.Timeout <= 0 {
		p.Timeout = DefaultTimeout
	}
	if p.AttemptTimeout <= 0 {
		p.AttemptTimeout = p.Timeout
	}
	p.Eject = p.Eject.withDefaults()
	if hc := p.HealthCheck; hc != nil {
		c := *hc
		if c.Interval <= 0 {
			c.Interval = DefaultProbeInterval
		}
		if c.Timeout <= 0 {
			c.Timeout = min(DefaultProbeTimeout, c.Interval)
		}
		p.HealthCheck = &c
	}
	return p
}

// check reports the first rule the policy breaks (after defaults).
func (p PoolPolicy) check() error {
	switch {
	case int(p.Strategy) >= len(strategyNames):
		return errors.New("unknown strategy " + p.Strategy.String())
	case p.WhenAllDown > FailFast:
		return errors.New("unknown when_all_down " + p.WhenAllDown.String())
	case p.AttemptTimeout > p.Timeout:
		return errors.New("attempt timeout above the dial's timeout")
	case p.HedgeAfter < 0:
		return errors.New("negative hedge delay")
	case p.Eject.Duration > p.Eject.MaxDuration:
		return errors.New("eject duration above its maximum")
	}
	if hc := p.HealthCheck; hc != nil {
		host, port, err := net.SplitHostPort(hc.Target)
		if err != nil || host == "" || port == "" {
			return errors.New("health check target must be host:port")
		}
		if hc.Timeout > hc.Interval {
			return errors.New("health check timeout above its interval")
		}
	}
	return nil
}

// ErrAllProxiesFailed matches, with errors.Is, the error of a pool dial for
// which no member gave a tunnel: every attempt failed, the budget ran out,
// or every member was ejected with FailFast. The caller's cancellation is
// not this error (it matches context.Canceled).
var ErrAllProxiesFailed = errors.New("all proxies failed")

// PoolError is the error of a pool dial that gave no tunnel. Attempts holds
// each attempt's error, in the order they finished; each is a *ProxyError
// and names its member redacted, so the text never contains a credential.
// errors.As finds each attempt's *ProxyError, and errors.Is sees through
// them (context.DeadlineExceeded, ErrProxyAuth, ...). Timeout reports a
// deadline; errors.As with a net.Error finds the attempt (or context
// error) that is one.
type PoolError struct {
	Exchange  string
	Transport Transport
	Attempts  []error
	// AllEjected reports that every member was ejected (with FailFast no
	// attempt was made).
	AllEjected bool
	// Err is ErrAllProxiesFailed, or the caller's context error when the
	// caller cancelled or its deadline passed.
	Err error
}

func (e *PoolError) Error() string {
	var b strings.Builder
	b.WriteString("proxy pool")
	if e.Exchange != "" {
		b.WriteString(" (")
		b.WriteString(e.Exchange)
		b.WriteByte(' ')
		b.WriteString(e.Transport.String())
		b.WriteByte(')')
	}
	b.WriteString(": ")
	if e.Err != nil {
		b.WriteString(e.Err.Error())
	} else {
		b.WriteString("failed")
	}
	if e.AllEjected {
		b.WriteString(" (every member ejected)")
	}
	b.WriteString(" after ")
	b.WriteString(strconv.Itoa(len(e.Attempts)))
	if len(e.Attempts) == 1 {
		b.WriteString(" attempt")
	} else {
		b.WriteString(" attempts")
	}
	for i, a := range e.Attempts {
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString("; ")
		}
		b.WriteString(a.Error())
	}
	return b.String()
}

// Unwrap returns Err followed by every attempt's error.
func (e *PoolError) Unwrap() []error {
	out := make([]error, 0, 1+len(e.Attempts))
	if e.Err != nil {
		out = append(out, e.Err)
	}
	return append(out, e.Attempts...)
}

// Timeout reports whether the dial ended on a deadline (net.Error).
func (e *PoolError) Timeout() bool {
	for _, err := range e.Unwrap() {
		var ne interface{ Timeout() bool }
		if errors.As(err, &ne) && ne.Timeout() {
			return true
		}
	}
	return false
}

// proxyKey is a proxy's identity for health: scheme, host, port.
type proxyKey struct {
	scheme Scheme
	host   string
	port   uint16
}

func keyOf(p *Proxy) proxyKey {
	return proxyKey{scheme: p.Scheme, host: strings.ToLower(p.Host), port: p.Port}
}

// memberName is how events name a proxy: scheme://host:port, never
// credentials.
func memberName(p *Proxy) string {
	return p.Scheme.String() + "://" + p.Addr()
}
