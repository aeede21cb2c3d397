package runtime

import (
	"fmt"
	"testing"
	"time"
)

func selectPool(tb testing.TB, s Strategy, n int) *Pool {
	tb.Helper()
	var ms []*Proxy
	for i := range n {
		ms = append(ms, &Proxy{Scheme: SOCKS5H, Host: fmt.Sprintf("10.0.0.%d", i+1), Port: 1080})
	}
	p, err := NewPool(PoolConfig{Members: ms, Policy: PoolPolicy{Strategy: s}})
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

// TestStickyHashFixed pins the sticky hash: a target must map to the same
// member in every process and every build, so the hash has no seed and
// must never change silently.
func TestStickyHashFixed(t *testing.T) {
	for _, c := range []struct {
		in   string
		want uint64
	}{
		{"", 0xaf63bd4c29620a93},
		{"api.binance.com:443", 0xfa21c69f7b604782},
		{"socks5h://10.0.0.1:1080", 0x6a7134460fa754aa},
	} {
		if got := hashString(c.in); got != c.want {
			t.Errorf("hashString(%q) = %#x, want %#x", c.in, got, c.want)
		}
	}
	p := selectPool(t, StrategySticky, 4)
	var ord [MaxPoolMembers]uint8
	var got []uint8
	for _, tg := range []string{"api.binance.com:443", "ws.kraken.com:443", "stream.bybit.com:443", "ws.okx.com:8443"} {
		p.order(&ord, tg)
		got = append(got, ord[0])
	}
	if fmt.Sprint(got) != "[0 3 2 1]" {
		t.Errorf("sticky picks %v", got)
	}
}

func TestFastestTolerance(t *testing.T) {
	p := selectPool(t, StrategyFastest, 3)
	var ord [MaxPoolMembers]uint8
	first := func() uint8 { p.order(&ord, "x:1"); return ord[0] }
	set := func(i int, d time.Duration) { p.members[i].h.ewma.Store(int64(d)) }
	// Unmeasured members first, in spec order.
	set(0, 10*time.Millisecond)
	if n, _ := p.order(&ord, "x:1"); n != 3 || ord[0] != 1 || ord[1] != 2 || ord[2] != 0 {
		t.Fatalf("order %v, want the unmeasured 1, 2 then 0", ord[:n])
	}
	set(1, 10*time.Millisecond)
	set(2, 10*time.Millisecond)
	if f := first(); f != 0 {
		t.Fatalf("first %d, want 0", f)
	}
	set(2, 9*time.Millisecond) // 10% faster: within the tolerance, no switch
	if f := first(); f != 0 {
		t.Fatalf("switched to %d for a 10%% difference", f)
	}
	set(2, 7*time.Millisecond) // 30% faster: switch
	if f := first(); f != 2 {
		t.Fatalf("first %d, want 2 once it is clearly faster", f)
	}
	set(0, 6500*time.Microsecond) // back slightly faster: stay on 2
	if f := first(); f != 2 {
		t.Fatalf("flapped back to %d", f)
	}
	if n, _ := p.order(&ord, "x:1"); fmt.Sprint(ord[:n]) != "[2 0 1]" {
		t.Fatalf("order %v, want the favourite then by average", ord[:n])
	}
	// An ejected favourite is skipped.
	p.members[2].h.failure(EjectPolicy{AfterFailures: 1, Duration: time.Hour, MaxDuration: time.Hour}, false)
	if f := first(); f != 0 {
		t.Fatalf("first %d, want 0 with 2 ejected", f)
	}
}

func TestEjectionLength(t *testing.T) {
	e := EjectPolicy{Duration: 30 * time.Second, MaxDuration: 300 * time.Second}
	var got []time.Duration
	for n := 1; n <= 6; n++ {
		got = append(got, e.ejection(n))
	}
	if fmt.Sprint(got) != "[30s 1m0s 2m0s 4m0s 5m0s 5m0s]" {
		t.Fatalf("ejections %v", got)
	}
}

func TestPoolSelectionAllocs(t *testing.T) {
	for s := StrategyFailover; s <= StrategyFastest; s++ {
		p := selectPool(t, s, 4)
		p.members[1].h.ewma.Store(5)
		var ord [MaxPoolMembers]uint8
		if a := testing.AllocsPerRun(100, func() { p.order(&ord, "api.binance.com:443") }); a != 0 {
			t.Errorf("%s: %v allocs per selection", s, a)
		}
	}
}

func TestNewPoolRejects(t *testing.T) {
	m := &Proxy{Scheme: SOCKS5, Host: "127.0.0.1", Port: 1080}
	same := &Proxy{Scheme: SOCKS5, Host: "127.0.0.1", Port: 1080}
	for _, c := range []PoolConfig{
		{},
		{Members: []*Proxy{m, same}},
		{Members: []*Proxy{m, nil}},
		{Members: []*Proxy{m}, Policy: PoolPolicy{Strategy: 9}},
		{Members: []*Proxy{m}, Policy: PoolPolicy{WhenAllDown: 7}},
		{Members: []*Proxy{m}, Policy: PoolPolicy{HedgeAfter: -1}},
		{Members: []*Proxy{m}, Policy: PoolPolicy{Timeout: time.Second, AttemptTimeout: 2 * time.Second}},
		{Members: []*Proxy{m}, Policy: PoolPolicy{AttemptTimeout: time.Hour}},
		{Members: []*Proxy{m}, Policy: PoolPolicy{Eject: EjectPolicy{Duration: time.Hour, MaxDuration: time.Minute}}},
		{Members: []*Proxy{m}, Policy: PoolPolicy{HealthCheck: &HealthCheck{Target: "nohost"}}},
		{Members: []*Proxy{m}, Policy: PoolPolicy{HealthCheck: &HealthCheck{Target: "a:1", Interval: time.Second, Timeout: 2 * time.Second}}},
	} {
		if _, err := NewPool(c); err == nil {
			t.Errorf("NewPool(%+v) accepted", c.Policy)
		}
	}
	// The same proxy with other credentials is another member (Validate's
	// rule); its health is shared.
	if _, err := NewPool(PoolConfig{Members: []*Proxy{m, {Scheme: SOCKS5, Host: "127.0.0.1", Port: 1080, User: "x"}}}); err != nil {
		t.Errorf("same proxy, other user: %v", err)
	}
	if _, err := NewPool(PoolConfig{Members: make([]*Proxy, MaxPoolMembers+1)}); err == nil {
		t.Error("65 members accepted")
	}
}

func TestStrategyNames(t *testing.T) {
	for s := StrategyFailover; s <= StrategyFastest; s++ {
		if got, ok := ParseStrategy(s.String()); !ok || got != s {
			t.Errorf("ParseStrategy(%q) = %v, %v", s.String(), got, ok)
		}
	}
	if _, ok := ParseStrategy("fastestx"); ok {
		t.Error("ParseStrategy accepted a bad name")
	}
	for _, a := range []AllDown{TryEjected, FailFast} {
		if got, ok := ParseAllDown(a.String()); !ok || got != a {
			t.Errorf("ParseAllDown(%q) = %v, %v", a.String(), got, ok)
		}
	}
}

// BenchmarkPoolSelect measures ordering a 4-member pool's members for one
// dial, for every strategy (goal: <= 25 ns/op, 0 allocs/op).
func BenchmarkPoolSelect(b *testing.B) {
	for s := StrategyFailover; s <= StrategyFastest; s++ {
		b.Run(s.String(), func(b *testing.B) {
			p := selectPool(b, s, 4)
			for i := range p.members {
				p.members[i].h.ewma.Store(int64(time.Millisecond) + int64(i))
			}
			var ord [MaxPoolMembers]uint8
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				p.order(&ord, "api.binance.com:443")
			}
		})
	}
}

func TestProbeJitter(t *testing.T) {
	d := 30 * time.Second
	lo, hi := d, d
	for range 2000 {
		j := jitter(d)
		if j < d-d/10 || j > d+d/10 {
			t.Fatalf("jitter(%v) = %v, outside +-10%%", d, j)
		}
		lo, hi = min(lo, j), max(hi, j)
	}
	if hi-lo < d/10 {
		t.Fatalf("jitter spread only %v..%v", lo, hi)
	}
}

// TestOrderEjected checks the order with some members ejected: the usable
// ones first in strategy order, then (try_ejected) the ejected ones, the
// soonest to return first; fail_fast leaves the ejected ones out.
func TestOrderEjected(t *testing.T) {
	clock := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	now := func() time.Time { return clock }
	for _, mode := range []AllDown{TryEjected, FailFast} {
		h := NewHealthRegistry(nil, now)
		var ms []*Proxy
		for i := range 5 {
			ms = append(ms, &Proxy{Scheme: HTTP, Host: "127.0.0.1", Port: uint16(8000 + i)})
		}
		p, err := NewPool(PoolConfig{Members: ms, Health: h, Policy: PoolPolicy{WhenAllDown: mode, Eject: EjectPolicy{AfterFailures: 1, Duration: 10 * time.Second, MaxDuration: time.Hour}}})
		if err != nil {
			t.Fatal(err)
		}
		eject := func(i int, times int) {
			for range times {
				if u := p.members[i].h.until.Load(); u != 0 {
					clock = time.Unix(0, u)
					p.members[i].h.failure(p.policy.Eject, p.members[i].h.claimTrial(clock))
				} else {
					p.members[i].h.failure(p.policy.Eject, false)
				}
			}
		}
		start := clock
		eject(3, 3) // 10s, 20s, 40s: back at +70s
		clock = start
		eject(1, 1) // back at +10s
		clock = start.Add(time.Second)
		eject(0, 1) // back at +11s
		clock = start.Add(2 * time.Second)
		var ord [MaxPoolMembers]uint8
		n, usable := p.order(&ord, "x:1")
		want := "[2 4 1 0 3]"
		if mode == FailFast {
			want = "[2 4]"
		}
		if got := fmt.Sprint(ord[:n]); got != want || usable != 2 {
			t.Fatalf("%s: order %s (%d usable), want %s (2 usable)", mode, got, usable, want)
		}
	}
}

// TestStickyBalance: over many targets, each member is the first choice,
// and each is the second choice, for about a quarter of them.
func TestStickyBalance(t *testing.T) {
	p := selectPool(t, StrategySticky, 4)
	var first, second [4]int
	var ord [MaxPoolMembers]uint8
	for i := range 8000 {
		p.order(&ord, fmt.Sprintf("10.1.%d.%d:443", i/256, i%256))
		first[ord[0]]++
		second[ord[1]]++
	}
	for i := range 4 {
		if first[i] < 1700 || first[i] > 2300 || second[i] < 1700 || second[i] > 2300 {
			t.Fatalf("first choices %v, second choices %v; want about 2000 each", first, second)
		}
	}
}
