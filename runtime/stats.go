package runtime

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"
)

// Stats is a snapshot of an injector's dials: per route and per proxy
// counters with each proxy's health. It names proxies by
// "scheme://host:port" only, never by credentials.
type Stats struct {
	Routes  []RouteStats  // sorted by exchange, then transport
	Members []MemberStats // sorted by proxy
}

// RouteStats counts one route's dials.
type RouteStats struct {
	Exchange    string
	Transport   Transport
	DialsOK     uint64 // dials that returned a tunnel
	DialsFailed uint64 // dials that returned an error
	Attempts    uint64 // attempts through members, hedges included
	Failovers   uint64 // moves to another member after a failed attempt
	// Failures counts failed attempts by the stage they failed at (only
	// stages with a failure are present).
	Failures map[Stage]uint64
	Tunnels  int64 // tunnels open now
}

// MemberStats is one proxy's health and counters.
type MemberStats struct {
	Proxy     string // "scheme://host:port"
	State     Health
	Until     time.Time     // end of the ejection (zero when up)
	Failures  int           // consecutive proxy-side failures
	Ejections uint64        // times ejected since start
	Handshake time.Duration // moving average handshake time, 0 if unmeasured
	DialsOK   uint64        // attempts through it that gave a tunnel
	// DialsFailed counts attempts through it that failed, whatever the
	// side (see Failures for those that counted against it).
	DialsFailed uint64
	Tunnels     int64 // tunnels through it open now
}

// WriteTable writes s as two readable tables: one line per proxy, then one
// line per route.
func (s Stats) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "PROXY\tSTATE\tUNTIL\tFAILS\tEJECTIONS\tHANDSHAKE\tOK\tFAILED\tTUNNELS")
	for _, m := range s.Members {
		until := "-"
		if !m.Until.IsZero() {
			until = m.Until.UTC().Format(time.TimeOnly)
		}
		hs := "-"
		if m.Handshake > 0 {
			hs = m.Handshake.Round(time.Microsecond).String()
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%s\t%d\t%d\t%d\n",
			m.Proxy, m.State, until, m.Failures, m.Ejections, hs, m.DialsOK, m.DialsFailed, m.Tunnels)
	}
	fmt.Fprintln(tw)
	fmt.Fprintln(tw, "EXCHANGE\tTRANSPORT\tDIALS OK\tDIALS FAILED\tATTEMPTS\tFAILOVERS\tFAILURES\tTUNNELS")
	for _, r := range s.Routes {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%s\t%d\n",
			r.Exchange, r.Transport, r.DialsOK, r.DialsFailed, r.Attempts, r.Failovers, failureList(r.Failures), r.Tunnels)
	}
	return tw.Flush()
}

// failureList renders failures as "connect=2 auth=1" in stage order.
func failureList(f map[Stage]uint64) string {
	var b strings.Builder
	for i, st := range statStages {
		if n := f[st]; n > 0 {
			if b.Len() > 0 {
				b.WriteByte(' ')
			}
			fmt.Fprintf(&b, "%s=%d", statStages[i], n)
		}
	}
	if b.Len() == 0 {
		return "-"
	}
	return b.String()
}

// statStages are the stages counted apart; any other lands in the last
// slot, "other".
var statStages = [...]Stage{StageConfig, StageResolve, StageConnect, StageTLS, StageGreeting, StageAuth, StageRequest, StageReply, "other"}

func stageIndex(s Stage) int {
	for i, st := range statStages[:len(statStages)-1] {
		if st == s {
			return i
		}
	}
	return len(statStages) - 1
}

// maxStatsKeys bounds each of the recorder's maps: routes and proxies come
// from the configuration, so the bound is only a guard; events past it are
// not counted.
const maxStatsKeys = 4096

type routeKey struct {
	exchange  string
	transport Transport
}

type routeCounters struct {
	dialsOK, dialsFailed atomic.Uint64
	attempts, failovers  atomic.Uint64
	failures             [len(statStages)]atomic.Uint64
	tunnels              atomic.Int64
}

type memberCounters struct {
	ok, failed atomic.Uint64
	handshake  atomic.Int64 // moving average of successful attempts, ns
	ejections  atomic.Uint64
	tunnels    atomic.Int64
}

// statsRecorder is the injector's always-on observer behind Stats: atomic
// counters in maps that are copied on write, so an event after the first of
// its route or proxy takes no lock and allocates nothing.
type statsRecorder struct {
	routes  atomic.Pointer[map[routeKey]*routeCounters]
	members atomic.Pointer[map[string]*memberCounters]
	mu      sync.Mutex // serialises the copies on write
}

func newStatsRecorder() *statsRecorder {
	r := &statsRecorder{}
	rm := map[routeKey]*routeCounters{}
	mm := map[string]*memberCounters{}
	r.routes.Store(&rm)
	r.members.Store(&mm)
	return r
}

// route returns k's counters, creating them; nil past maxStatsKeys.
func (r *statsRecorder) route(k routeKey) *routeCounters {
	if c := (*r.routes.Load())[k]; c != nil {
		return c
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	old := *r.routes.Load()
	if c := old[k]; c != nil {
		return c
	}
	if len(old) >= maxStatsKeys {
		return nil
	}
	m := make(map[routeKey]*routeCounters, len(old)+1)
	for k, v := range old {
		m[k] = v
	}
	c := &routeCounters{}
	m[k] = c
	r.routes.Store(&m)
	return c
}

// member returns proxy's counters, creating them; nil for "" (a direct
// dial) and past maxStatsKeys.
func (r *statsRecorder) member(proxy string) *memberCounters {
	if proxy == "" {
		return nil
	}
	if c := (*r.members.Load())[proxy]; c != nil {
		return c
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	old := *r.members.Load()
	if c := old[proxy]; c != nil {
		return c
	}
	if len(old) >= maxStatsKeys {
		return nil
	}
	m := make(map[string]*memberCounters, len(old)+1)
	for k, v := range old {
		m[k] = v
	}
	c := &memberCounters{}
	m[strings.Clone(proxy)] = c
	r.members.Store(&m)
	return c
}

func (r *statsRecorder) DialStart(ctx context.Context, _ DialStart) context.Context { return ctx }

func (r *statsRecorder) DialDone(_ context.Context, ev DialDone) {
	c := r.route(routeKey{ev.Exchange, ev.Transport})
	if c == nil {
		return
	}
	if ev.Err == nil {
		c.dialsOK.Add(1)
	} else {
		c.dialsFailed.Add(1)
	}
	if ev.Attempts > 0 {
		c.attempts.Add(uint64(ev.Attempts))
	}
	if ev.Failovers > 0 {
		c.failovers.Add(uint64(ev.Failovers))
	}
}

func (r *statsRecorder) Attempt(_ context.Context, ev Attempt) {
	m := r.member(ev.Proxy)
	if ev.Err == nil {
		if m != nil {
			m.ok.Add(1)
			foldEWMA(&m.handshake, ev.Handshake)
		}
		return
	}
	if m != nil {
		m.failed.Add(1)
	}
	if c := r.route(routeKey{ev.Exchange, ev.Transport}); c != nil {
		c.failures[stageIndex(ev.Stage)].Add(1)
	}
}

func (r *statsRecorder) MemberState(ev MemberState) {
	if ev.State != Ejected {
		return
	}
	if m := r.member(ev.Proxy); m != nil {
		m.ejections.Add(1)
	}
}

// dialsOnly is the recorder without TunnelObserver: the injector installs
// it when no user observer watches tunnels, so that a dial costs no
// wrapper (Stats then counts no open tunnels).
type dialsOnly struct{ r *statsRecorder }

func (d dialsOnly) DialStart(ctx context.Context, ev DialStart) context.Context {
	return d.r.DialStart(ctx, ev)
}
func (d dialsOnly) DialDone(ctx context.Context, ev DialDone) { d.r.DialDone(ctx, ev) }
func (d dialsOnly) Attempt(ctx context.Context, ev Attempt)   { d.r.Attempt(ctx, ev) }
func (d dialsOnly) MemberState(ev MemberState)                { d.r.MemberState(ev) }

func (r *statsRecorder) TunnelOpen(ev Tunnel)  { r.tunnel(ev, 1) }
func (r *statsRecorder) TunnelClose(ev Tunnel) { r.tunnel(ev, -1) }

func (r *statsRecorder) tunnel(ev Tunnel, d int64) {
	if c := r.route(routeKey{ev.Exchange, ev.Transport}); c != nil {
		c.tunnels.Add(d)
	}
	if m := r.member(ev.Proxy); m != nil {
		m.tunnels.Add(d)
	}
}

// snapshot merges the counters with h's health (h may be nil): every proxy
// either knows appears once.
func (r *statsRecorder) snapshot(h *HealthRegistry) Stats {
	var s Stats
	for k, c := range *r.routes.Load() {
		rs := RouteStats{Exchange: k.exchange, Transport: k.transport,
			DialsOK: c.dialsOK.Load(), DialsFailed: c.dialsFailed.Load(),
			Attempts: c.attempts.Load(), Failovers: c.failovers.Load(), Tunnels: c.tunnels.Load()}
		for i := range c.failures {
			if n := c.failures[i].Load(); n > 0 {
				if rs.Failures == nil {
					rs.Failures = map[Stage]uint64{}
				}
				rs.Failures[statStages[i]] = n
			}
		}
		s.Routes = append(s.Routes, rs)
	}
	sort.Slice(s.Routes, func(i, j int) bool {
		a, b := s.Routes[i], s.Routes[j]
		if a.Exchange != b.Exchange {
			return a.Exchange < b.Exchange
		}
		return a.Transport < b.Transport
	})
	counters := *r.members.Load()
	seen := make(map[string]bool, len(counters))
	if h != nil {
		for _, st := range h.Snapshot() {
			ms := MemberStats{Proxy: st.Proxy, State: st.State, Until: st.Until, Failures: st.Failures, Handshake: st.Handshake}
			if c := counters[st.Proxy]; c != nil {
				c.fill(&ms)
			}
			seen[st.Proxy] = true
			s.Members = append(s.Members, ms)
		}
	}
	for name, c := range counters {
		if seen[name] {
			continue
		}
		ms := MemberStats{Proxy: name}
		c.fill(&ms)
		s.Members = append(s.Members, ms)
	}
	sort.Slice(s.Members, func(i, j int) bool { return s.Members[i].Proxy < s.Members[j].Proxy })
	return s
}

func (c *memberCounters) fill(ms *MemberStats) {
	if ms.Handshake == 0 {
		// A proxy outside every pool (a route of one member) has no
		// health record: its dials give the moving average.
		ms.Handshake = time.Duration(c.handshake.Load())
	}
	ms.DialsOK, ms.DialsFailed = c.ok.Load(), c.failed.Load()
	ms.Ejections, ms.Tunnels = c.ejections.Load(), c.tunnels.Load()
}
