package runtime_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/proxygen-go/proxygen/runtime"
	"github.com/proxygen-go/proxygen/runtime/proxytest"
)

const statsCanary = "CANARY-pw-7f3a9c"

// refusedProxy returns a SOCKS5 proxy on a loopback port nothing listens on.
func refusedProxy(t testing.TB) *runtime.Proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	return &runtime.Proxy{Scheme: runtime.SOCKS5, Host: "127.0.0.1", Port: uint16(port), User: "u", Password: runtime.NewSecret(statsCanary)}
}

func TestStatsRecorderCountsRealDials(t *testing.T) {
	echo := newEcho(t, "127.0.0.1:0")
	srv := proxytest.NewSOCKS5("u", statsCanary)
	defer srv.Close()
	dead, live := refusedProxy(t), srv.Proxy(runtime.SOCKS5)
	rec := runtime.NewStatsRecorder()
	user := &recorder{}
	obs := runtime.TeeObserver(user, rec)
	h := runtime.NewHealthRegistry(obs, nil)
	p, err := runtime.NewPool(runtime.PoolConfig{
		Members: []*runtime.Proxy{dead, live},
		Policy:  runtime.PoolPolicy{Eject: runtime.EjectPolicy{AfterFailures: 1, Duration: time.Minute, MaxDuration: time.Hour}},
		Dialer:  runtime.Dialer{Exchange: "binance", Transport: runtime.TransportWebSocket, Logger: quietLogger},
		Health:  h, Observer: obs,
	})
	if err != nil {
		t.Fatal(err)
	}
	// The pool wraps each tunnel itself: its observer watches tunnels.
	var conns []net.Conn
	for i := range 3 {
		c, err := p.DialContext(context.Background(), "tcp", "127.0.0.1:"+echo.port())
		if err != nil {
			t.Fatalf("dial %d: %v", i, err)
		}
		roundTrip(t, c, "ping")
		conns = append(conns, c)
	}
	conns[0].Close()
	conns[1].Close()
	conns[1].Close()
	defer conns[2].Close()

	s := rec.Snapshot(h)
	if len(s.Routes) != 1 {
		t.Fatalf("routes %+v", s.Routes)
	}
	r := s.Routes[0]
	want := runtime.RouteStats{Exchange: "binance", Transport: runtime.TransportWebSocket, DialsOK: 3, Attempts: 4, Failovers: 1,
		Failures: map[runtime.Stage]uint64{runtime.StageConnect: 1}, Tunnels: 1}
	if fmt.Sprint(r) != fmt.Sprint(want) {
		t.Errorf("route\n got %+v\nwant %+v", r, want)
	}
	if len(s.Members) != 2 {
		t.Fatalf("members %+v", s.Members)
	}
	byName := map[string]runtime.MemberStats{}
	for _, m := range s.Members {
		byName[m.Proxy] = m
	}
	d := byName[fmt.Sprintf("socks5://127.0.0.1:%d", dead.Port)]
	if d.State != runtime.Ejected || d.Until.IsZero() || d.Ejections != 1 || d.DialsFailed != 1 || d.DialsOK != 0 {
		t.Errorf("dead member %+v", d)
	}
	l := byName["socks5://"+srv.Addr()]
	if l.State != runtime.Up || l.DialsOK != 3 || l.DialsFailed != 0 || l.Tunnels != 1 || l.Handshake <= 0 {
		t.Errorf("live member %+v", l)
	}
	// The user's observer saw the same dials through the tee.
	user.mu.Lock()
	if len(user.dones) != 3 || len(user.attempts) != 4 || len(user.states) != 1 {
		t.Errorf("user observer: %d dones, %d attempts, %d states", len(user.dones), len(user.attempts), len(user.states))
	}
	user.mu.Unlock()

	var buf bytes.Buffer
	if err := s.WriteTable(&buf); err != nil {
		t.Fatal(err)
	}
	t.Logf("\n%s", buf.String())
	for _, out := range []string{buf.String(), fmt.Sprintf("%+v", s), fmt.Sprintf("%#v", s)} {
		if strings.Contains(out, statsCanary) {
			t.Fatalf("credential in stats output: %s", out)
		}
	}
	for _, col := range []string{"socks5://" + srv.Addr(), "ejected", "up", "connect=1"} {
		if !strings.Contains(buf.String(), col) {
			t.Errorf("table lacks %q", col)
		}
	}
}

func TestStatsRecorderHotPathDoesNotAllocate(t *testing.T) {
	rec := runtime.NewStatsRecorder()
	ctx := context.Background()
	ds := runtime.DialStart{Exchange: "binance", Transport: runtime.TransportHTTP, Target: "api.example:443"}
	ok := runtime.Attempt{Exchange: "binance", Transport: runtime.TransportHTTP, Proxy: "socks5://127.0.0.1:1080", N: 1}
	bad := ok
	bad.Stage, bad.Err = runtime.StageConnect, fmt.Errorf("refused")
	dd := runtime.DialDone{Exchange: "binance", Transport: runtime.TransportHTTP, Proxy: ok.Proxy, Attempts: 2, Failovers: 1}
	tun := runtime.Tunnel{Exchange: "binance", Transport: runtime.TransportHTTP, Proxy: ok.Proxy}
	run := func() {
		ctx := rec.DialStart(ctx, ds)
		rec.Attempt(ctx, bad)
		rec.Attempt(ctx, ok)
		rec.DialDone(ctx, dd)
		rec.TunnelOpen(tun)
		rec.TunnelClose(tun)
	}
	run()
	if n := testing.AllocsPerRun(100, run); n != 0 {
		t.Errorf("%v allocations per dial after warm-up, want 0", n)
	}
	s := rec.Snapshot(nil)
	if r := s.Routes[0]; r.DialsOK != 102 || r.Attempts != 204 || r.Failures[runtime.StageConnect] != 102 || r.Tunnels != 0 {
		t.Errorf("route %+v", r)
	}
}

// minimalObs implements only Observer; it marks the context.
type minimalObs struct {
	key   any
	dones int
	saw   []any
}

func (m *minimalObs) DialStart(ctx context.Context, _ runtime.DialStart) context.Context {
	return context.WithValue(ctx, m.key, true)
}

func (m *minimalObs) DialDone(ctx context.Context, _ runtime.DialDone) {
	m.dones++
	for _, k := range []any{"a", "b"} {
		if ctx.Value(k) != nil {
			m.saw = append(m.saw, k)
		}
	}
}

type attemptOnly struct {
	minimalObs
	attempts int
}

func (a *attemptOnly) Attempt(context.Context, runtime.Attempt) { a.attempts++ }

func TestTeeObserver(t *testing.T) {
	a, b := &minimalObs{key: "a"}, &attemptOnly{minimalObs: minimalObs{key: "b"}}
	tee := runtime.TeeObserver(a, b)
	if _, ok := tee.(runtime.AttemptObserver); !ok {
		t.Error("tee lacks AttemptObserver though b has it")
	}
	for name, ok := range map[string]bool{
		"MemberObserver": is[runtime.MemberObserver](tee),
		"ProbeObserver":  is[runtime.ProbeObserver](tee),
		"TunnelObserver": is[runtime.TunnelObserver](tee),
	} {
		if ok {
			t.Errorf("tee claims %s though neither side has it", name)
		}
	}
	ctx := tee.DialStart(context.Background(), runtime.DialStart{})
	tee.(runtime.AttemptObserver).Attempt(ctx, runtime.Attempt{})
	tee.DialDone(ctx, runtime.DialDone{})
	if a.dones != 1 || b.dones != 1 || b.attempts != 1 {
		t.Errorf("forwarded: a %d dones, b %d dones %d attempts", a.dones, b.dones, b.attempts)
	}
	if fmt.Sprint(a.saw, b.saw) != "[a b] [a b]" {
		t.Errorf("DialDone contexts carry %v and %v, want both values on each", a.saw, b.saw)
	}
	if runtime.TeeObserver(nil, a) != runtime.Observer(a) || runtime.TeeObserver(b, nil) != runtime.Observer(b) {
		t.Error("a nil side should give the other unchanged")
	}
	// Every combination of optional parts is kept exactly.
	full := runtime.TeeObserver(&minimalObs{key: "x"}, runtime.NewStatsRecorder())
	if !is[runtime.AttemptObserver](full) || !is[runtime.MemberObserver](full) || !is[runtime.TunnelObserver](full) || is[runtime.ProbeObserver](full) {
		t.Errorf("tee with the stats recorder: wrong optional parts (%T)", full)
	}
}

func is[T any](v any) bool { _, ok := v.(T); return ok }
