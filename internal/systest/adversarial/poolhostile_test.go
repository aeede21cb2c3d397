// Hostile pool members (issue 12, item 5): every misbehaviour of the
// hostile matrix as the FIRST member of a pool whose second member is a
// healthy SOCKS5 proxy. See doc.go.

package adversarial_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	goruntime "runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/proxygen-go/proxygen/internal/testenv"
	"github.com/proxygen-go/proxygen/internal/testenv/target"
	"github.com/proxygen-go/proxygen/runtime"
	"github.com/proxygen-go/proxygen/runtime/proxytest"
)

const (
	// poolAttemptTimeout bounds the hostile member's attempt
	// (attempt_timeout_seconds: 1, the minimum).
	poolAttemptTimeout = time.Second
	// poolHedge is hedge_after_ms in the hedged variant.
	poolHedge = 100 * time.Millisecond
	// poolSlack is what a dial may take beyond its bound (the healthy
	// dial included) on this loaded 2-core machine.
	poolSlack = 2 * time.Second
	poolID    = "hostilepool"
)

// poolObs records a pool's attempts, dials and member states.
type poolObs struct {
	mu       sync.Mutex
	dials    []runtime.DialDone
	attempts []runtime.Attempt
	states   []runtime.MemberState
}

func (o *poolObs) DialStart(ctx context.Context, _ runtime.DialStart) context.Context { return ctx }
func (o *poolObs) DialDone(_ context.Context, ev runtime.DialDone) {
	o.mu.Lock()
	o.dials = append(o.dials, ev)
	o.mu.Unlock()
}
func (o *poolObs) Attempt(_ context.Context, ev runtime.Attempt) {
	o.mu.Lock()
	o.attempts = append(o.attempts, ev)
	o.mu.Unlock()
}
func (o *poolObs) MemberState(ev runtime.MemberState) {
	o.mu.Lock()
	o.states = append(o.states, ev)
	o.mu.Unlock()
}

func (o *poolObs) of(name string) (as []runtime.Attempt, ejected bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, a := range o.attempts {
		if a.Proxy == name {
			as = append(as, a)
		}
	}
	for _, s := range o.states {
		if s.Proxy == name && s.State == runtime.Ejected {
			ejected = true
		}
	}
	return as, ejected
}

// poolCase is one first member of the pool: a hostile row, or a proxy
// that refuses for a reason on the target's side (which moves on without
// counting) or on its own (which counts).
type poolCase struct {
	name   string
	scheme runtime.Scheme
	creds  bool
	// timeout: the member never finishes its handshake (the dial moves on
	// at attempt_timeout_seconds, or at hedge_after_ms when hedging).
	timeout bool
	// counted: the member's failure counts against it (proxy-side).
	counted bool
	start   func(t *testing.T, f *fixture) (port uint16, stop func())
	// check, for a row whose member gives a working tunnel, exercises it.
	check func(t *testing.T, pe *runtime.ProxyError, conn net.Conn)
}

// poolCases are the hostile matrix's rows (the optimistic ones aside: an
// optimistic dial returns before the proxy answers, so a pool cannot move
// on from it) and proxytest refusals of both classes.
func poolCases() []poolCase {
	var cs []poolCase
	for _, r := range rows() {
		if r.optimistic {
			continue
		}
		r := r
		cs = append(cs, poolCase{name: r.name, scheme: r.scheme, creds: r.creds, timeout: r.timeout, counted: true, check: r.check,
			start: func(t *testing.T, f *fixture) (uint16, func()) {
				p := startRaw(t, r.handler(f))
				return p.Port(), p.Close
			}})
	}
	refusal := func(name string, kind proxytest.Kind, scheme runtime.Scheme, m proxytest.Misbehave, counted bool) poolCase {
		return poolCase{name: name, scheme: scheme, counted: counted,
			start: func(t *testing.T, _ *fixture) (uint16, func()) {
				s := proxytest.New(proxytest.Config{Kind: kind, Misbehave: m})
				_, ps, _ := net.SplitHostPort(s.Addr())
				p, _ := strconv.Atoi(ps)
				return uint16(p), s.Close
			}}
	}
	return append(cs,
		refusal("target side: SOCKS5 reply 0x05 (connection refused)", proxytest.SOCKS5, runtime.SOCKS5, proxytest.Misbehave{ReplyCode: 5}, false),
		refusal("target side: SOCKS5 reply 0x04 (host unreachable)", proxytest.SOCKS5, runtime.SOCKS5, proxytest.Misbehave{ReplyCode: 4}, false),
		refusal("target side: SOCKS4 reply 0x5b", proxytest.SOCKS4, runtime.SOCKS4, proxytest.Misbehave{ReplyCode: 0x5b}, false),
		refusal("target side: CONNECT 502", proxytest.HTTP, runtime.HTTP, proxytest.Misbehave{Status: 502}, false),
		refusal("target side: CONNECT 500 (tinyproxy's closed port)", proxytest.HTTP, runtime.HTTP, proxytest.Misbehave{Status: 500}, false),
		refusal("proxy side: CONNECT 403", proxytest.HTTP, runtime.HTTP, proxytest.Misbehave{Status: 403}, true),
		refusal("proxy side: SOCKS5 reply 0x02 (not allowed by ruleset)", proxytest.SOCKS5, runtime.SOCKS5, proxytest.Misbehave{ReplyCode: 2}, true),
	)
}

// TestPoolHostileFirstMember puts each poolCase first in a pool whose
// second member is a healthy SOCKS5 proxy, and dials through the
// injector, without and with hedging. Every dial must give a working
// tunnel (through the healthy member, or through the first when the row's
// proxy works after all) within attempt_timeout_seconds (hedge_after_ms
// when hedging) plus the healthy dial time plus slack; a member that never
// answers must hold the dial for the attempt timeout and no longer; the
// first member's failure must count (and eject it) exactly when it is on
// the proxy's side, and never when the dial had already won; no file
// descriptor, goroutine or credential may be left behind.
func TestPoolHostileFirstMember(t *testing.T) {
	f := newFixture(t)
	warmUp(t, f)
	echo := target.Echo(t)
	healthy := proxytest.NewSOCKS5("", "")
	defer healthy.Close()
	hp := &runtime.Proxy{Scheme: runtime.SOCKS5, Host: "127.0.0.1", Port: portOf(t, healthy.Addr())}
	healthyName := "socks5://" + healthy.Addr()

	// The healthy dial time, measured through a pool of the healthy
	// member alone.
	var healthyDial time.Duration
	{
		in := poolInjector(t, f, []*runtime.Proxy{hp}, 0, nil)
		for range 3 {
			start := time.Now()
			c, err := in.DialContext(context.Background(), poolID, runtime.TransportWebSocket, "tcp", echo)
			if err != nil {
				t.Fatalf("healthy member alone: %v", err)
			}
			healthyDial = max(healthyDial, time.Since(start))
			echoOnce(t, c)
			c.Close()
		}
		_ = in.Close()
	}

	type line struct {
		name, variant, via, first string
		took                      time.Duration
		failed                    bool
	}
	var lines []line
	for _, pc := range poolCases() {
		for _, hedge := range []time.Duration{0, poolHedge} {
			variant := "attempt_timeout 1s"
			if hedge > 0 {
				variant = "hedge_after 100ms"
			}
			t.Run(pc.name+"/"+variant, func(t *testing.T) {
				l := line{name: pc.name, variant: variant}
				defer func() { l.failed = t.Failed(); lines = append(lines, l) }()
				fds, gs := nonPipeFDs(t), goruntime.NumGoroutine()

				port, stop := pc.start(t, f)
				first := &runtime.Proxy{Scheme: pc.scheme, Host: "127.0.0.1", Port: port}
				if pc.creds {
					first.User, first.Password = testenv.CanaryUser, runtime.NewSecret(testenv.Canary)
				}
				firstName := pc.scheme.String() + "://127.0.0.1:" + strconv.Itoa(int(port))
				obs := &poolObs{}
				in := poolInjector(t, f, []*runtime.Proxy{first, hp}, hedge, obs)

				start := time.Now()
				conn, err := in.DialContext(context.Background(), poolID, runtime.TransportWebSocket, "tcp", echo)
				l.took = time.Since(start)
				if err != nil {
					testenv.NoCanary(t, "the pool's error", err)
					t.Fatalf("the pool failed with a healthy second member: %v", err)
				}
				obs.mu.Lock()
				done := obs.dials[len(obs.dials)-1]
				obs.mu.Unlock()
				l.via = done.Proxy
				switch done.Proxy {
				case healthyName:
					echoOnce(t, conn)
				case firstName:
					// The row's proxy works after all (a tunnel row).
					if pc.check == nil {
						t.Errorf("the dial went through the refusing first member")
					} else {
						pc.check(t, nil, conn)
					}
				default:
					t.Errorf("the dial's proxy is %q, want %s or %s", done.Proxy, healthyName, firstName)
				}
				conn.Close()

				// Time: bounded by the first member's attempt timeout (or the
				// hedge delay) plus the healthy dial.
				bound := poolAttemptTimeout
				if hedge > 0 {
					bound = hedge
				}
				if l.took > bound+healthyDial+poolSlack {
					t.Errorf("took %v, want <= %v + healthy %v + %v", l.took, bound, healthyDial, poolSlack)
				}
				if pc.timeout && done.Proxy == healthyName && l.took < bound*9/10 {
					t.Errorf("took %v: a first member that never answers must hold the dial for %v", l.took, bound)
				}
				if !pc.timeout && hedge == 0 && l.took >= poolAttemptTimeout {
					t.Errorf("took %v: a first member that fails at once must not hold the dial for the attempt timeout", l.took)
				}

				// The failure class. An attempt that ended after the winner
				// (a hedge's loser) reports after the winner's success.
				obs.mu.Lock()
				firstAt, wonAt := -1, -1
				for i, a := range obs.attempts {
					switch {
					case a.Proxy == firstName:
						firstAt = i
					case a.Proxy == healthyName && a.Err == nil && wonAt < 0:
						wonAt = i
					}
				}
				obs.mu.Unlock()
				as, ejected := obs.of(firstName)
				if len(as) != 1 {
					t.Fatalf("%d attempts through the first member, want 1: %+v", len(as), as)
				}
				a := as[0]
				lost := hedge > 0 && wonAt >= 0 && firstAt > wonAt
				l.first = "tunnel"
				if a.Err != nil {
					l.first = fmt.Sprintf("%s, counted=%v", a.Stage, a.Counted)
					if lost {
						l.first = "lost the race, counted=" + strconv.FormatBool(a.Counted)
					}
					testenv.NoCanary(t, "the first member's error", a.Err)
				}
				if hedge > 0 && pc.timeout && !lost {
					t.Errorf("a first member that never answers did not lose to the hedge: %+v", a)
				}
				switch {
				case lost:
					if a.Counted || ejected {
						t.Errorf("a hedge's loser was counted (ejected %v): %+v", ejected, a)
					}
				case a.Err == nil:
					if a.Counted || ejected {
						t.Errorf("a working first member was counted or ejected")
					}
				case pc.counted:
					if !a.Counted || !ejected {
						t.Errorf("a proxy-side failure was not counted (counted %v, ejected %v): %v", a.Counted, ejected, a.Err)
					}
				default:
					if a.Counted || ejected {
						t.Errorf("a target-side refusal counted against the member (ejected %v): %v", ejected, a.Err)
					}
				}

				_ = in.Close()
				stop()
				checkNoLeak(t, fds, gs)
			})
		}
	}

	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "FIRST MEMBER\tPOOL\tFIRST'S ATTEMPT\tTUNNEL VIA\tTIME\tVERDICT\n")
	for _, l := range lines {
		v := "pass"
		if l.failed {
			v = "FAIL"
		}
		via := "healthy"
		if l.via != healthyName {
			via = "first"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", l.name, l.variant, l.first, via, l.took.Round(time.Millisecond), v)
	}
	_ = tw.Flush()
	t.Logf("hostile first member, healthy second (healthy dial %v; fds, goroutines checked per row):\n%s", healthyDial.Round(10*time.Microsecond), b.String())
}

// poolInjector builds an injector whose default WebSocket route is a pool
// of members: attempt timeout 1 s in a 5 s budget, eject after one failure.
func poolInjector(t *testing.T, f *fixture, members []*runtime.Proxy, hedge time.Duration, obs *poolObs) *runtime.Injector {
	t.Helper()
	r := &runtime.Route{Proxies: members, Timeout: 5 * time.Second, AttemptTimeout: poolAttemptTimeout,
		HedgeAfter: hedge, Set: runtime.SetHedgeAfter,
		Eject: runtime.EjectPolicy{AfterFailures: 1, Duration: time.Minute, MaxDuration: time.Minute}}
	if len(members) == 1 {
		// A pool of one dials as a plain proxy unless it is a pool for a
		// reason: fail_fast makes it one.
		r.WhenAllDown = runtime.FailFast
	}
	opts := []runtime.Option{quiet, runtime.WithProxyTLSConfig(f.ca.ClientConfig(""))}
	if obs != nil {
		opts = append(opts, runtime.WithObserver(obs))
	}
	in, err := runtime.NewInjector(runtime.Settings{Enabled: true, Lock: true, Default: runtime.Routes{HTTP: r, WebSocket: r}}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return in
}

func portOf(t *testing.T, addr string) uint16 {
	t.Helper()
	_, ps, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	p, err := strconv.Atoi(ps)
	if err != nil {
		t.Fatal(err)
	}
	return uint16(p)
}

func echoOnce(t *testing.T, c net.Conn) {
	t.Helper()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	msg := []byte("through the healthy member")
	if _, err := c.Write(msg); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(c, got); err != nil || string(got) != string(msg) {
		t.Fatalf("echo %q %v", got, err)
	}
}

// checkNoLeak waits briefly for closes to complete, then fails t if more
// sockets or other descriptors, or more goroutines, are open than before
// (one goroutine of tolerance for the runtime's own). Pipes are not
// counted: the standard library keeps the pipe pairs of splice (io.Copy
// between TCP sockets, as the in-process healthy proxy relays) in a pool
// that only a garbage collection empties.
func checkNoLeak(t *testing.T, fds, gs int) {
	t.Helper()
	var fa, ga int
	for range 80 {
		fa, ga = nonPipeFDs(t), goruntime.NumGoroutine()
		if fa <= fds && ga <= gs+1 {
			return
		}
		goruntime.GC()
		time.Sleep(25 * time.Millisecond)
	}
	if fa > fds {
		t.Errorf("file descriptors (pipes aside): %d before, %d after:%s", fds, fa, dumpFDs())
	}
	if ga > gs+1 {
		buf := make([]byte, 1<<16)
		n := goruntime.Stack(buf, true)
		t.Errorf("goroutines: %d before, %d after:\n%s", gs, ga, buf[:n])
	}
}

// nonPipeFDs counts this process's open file descriptors that are not
// pipes.
func nonPipeFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("no /proc/self/fd: %v", err)
	}
	n := 0
	for _, e := range ents {
		if l, err := os.Readlink("/proc/self/fd/" + e.Name()); err == nil && strings.HasPrefix(l, "pipe:") {
			continue
		}
		n++
	}
	return n
}
