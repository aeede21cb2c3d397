package proxyotel

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"

	"github.com/proxygen-go/proxygen/runtime"
)

const (
	dead   = "socks5://127.0.0.1:1081"
	live   = "http://127.0.0.1:3128"
	hedge  = "https://127.0.0.1:8443"
	target = "api.example.com:443"
)

var errRefused = errors.New("connect: connection refused")

type fixture struct {
	o      *Observer
	tp     *sdktrace.TracerProvider
	spans  *tracetest.SpanRecorder
	reader *sdkmetric.ManualReader
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{spans: tracetest.NewSpanRecorder(), reader: sdkmetric.NewManualReader()}
	f.tp = sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(f.spans))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(f.reader))
	t.Cleanup(func() {
		_ = f.tp.Shutdown(context.Background())
		_ = mp.Shutdown(context.Background())
	})
	o, err := NewObserver(WithTracerProvider(f.tp), WithMeterProvider(mp))
	if err != nil {
		t.Fatalf("NewObserver: %v", err)
	}
	f.o = o
	return f
}

// dial emits one dial's events under ctx and returns DialStart's context.
func dial(ctx context.Context, o *Observer, exchange string, tr runtime.Transport, proxy string, err error, failovers int, attempts ...runtime.Attempt) context.Context {
	ctx = o.DialStart(ctx, runtime.DialStart{Exchange: exchange, Transport: tr, Target: target, Time: time.Now()})
	for i, a := range attempts {
		a.Exchange, a.Transport, a.Target, a.N = exchange, tr, target, i+1
		o.Attempt(ctx, a)
	}
	o.DialDone(ctx, runtime.DialDone{
		Exchange: exchange, Transport: tr, Target: target, Proxy: proxy,
		Duration: 7 * time.Millisecond, Attempts: len(attempts), Failovers: failovers, Err: err,
	})
	return ctx
}

// script is the same sequence as proxyprom's tests: a failover from the
// dead proxy (then ejected), a plain dial, a websocket dial whose hedge
// loses, and a dial refused at the live proxy's reply.
func script(ctx context.Context, o *Observer) {
	o.MemberState(runtime.MemberState{Proxy: dead, State: runtime.Up})
	dial(ctx, o, "binance", runtime.TransportHTTP, live, nil, 1,
		runtime.Attempt{Proxy: dead, Stage: runtime.StageConnect, Counted: true, Err: errRefused, Handshake: time.Millisecond},
		runtime.Attempt{Proxy: live, Handshake: 3 * time.Millisecond},
	)
	o.MemberState(runtime.MemberState{Proxy: dead, State: runtime.Ejected, Until: time.Now().Add(time.Minute), Failures: 1})
	o.TunnelOpen(runtime.Tunnel{Exchange: "binance", Transport: runtime.TransportHTTP, Target: target, Proxy: live})
	dial(ctx, o, "binance", runtime.TransportHTTP, live, nil, 0, runtime.Attempt{Proxy: live, Handshake: 2 * time.Millisecond})
	o.TunnelOpen(runtime.Tunnel{Exchange: "binance", Transport: runtime.TransportHTTP, Target: target, Proxy: live})
	dial(ctx, o, "kraken", runtime.TransportWebSocket, live, nil, 0,
		runtime.Attempt{Proxy: live, Handshake: 4 * time.Millisecond},
		runtime.Attempt{Proxy: hedge, Hedge: true, Stage: runtime.StageReply, Err: fmt.Errorf("hedge lost: %w", context.Canceled)},
	)
	o.TunnelOpen(runtime.Tunnel{Exchange: "kraken", Transport: runtime.TransportWebSocket, Target: target, Proxy: live})
	o.TunnelClose(runtime.Tunnel{Exchange: "binance", Transport: runtime.TransportHTTP, Target: target, Proxy: live, Open: time.Second})
	dial(ctx, o, "binance", runtime.TransportHTTP, "", &runtime.ProxyError{Stage: runtime.StageReply, Proxy: live, Status: 502, Err: errors.New("502 Bad Gateway")}, 0,
		runtime.Attempt{Proxy: live, Stage: runtime.StageReply, Code: 502, Err: errors.New("502 Bad Gateway")},
	)
}

func attrMap(kvs []attribute.KeyValue) map[string]string {
	m := map[string]string{}
	for _, kv := range kvs {
		m[string(kv.Key)] = kv.Value.String()
	}
	return m
}

func checkAttrs(t *testing.T, what string, got []attribute.KeyValue, want map[string]string) {
	t.Helper()
	g := attrMap(got)
	for k, v := range want {
		if g[k] != v {
			t.Errorf("%s: %s = %q, want %q", what, k, g[k], v)
		}
	}
	for k, v := range g {
		if _, ok := want[k]; !ok {
			t.Errorf("%s: unexpected attribute %s = %q", what, k, v)
		}
	}
}

// TestDialSpanFailover: a dial that fails over is one client span under the
// caller's span, with the target, the proxy that carried the tunnel and one
// event per attempt.
func TestDialSpanFailover(t *testing.T) {
	f := newFixture(t)
	ctx, parent := f.tp.Tracer("test").Start(context.Background(), "caller")
	dctx := dial(ctx, f.o, "binance", runtime.TransportHTTP, live, nil, 1,
		runtime.Attempt{Proxy: dead, Stage: runtime.StageConnect, Counted: true, Err: errRefused, Handshake: time.Millisecond},
		runtime.Attempt{Proxy: live, Handshake: 3 * time.Millisecond},
	)
	if got := trace.SpanFromContext(dctx).SpanContext(); got.SpanID() == parent.SpanContext().SpanID() || !got.IsValid() {
		t.Errorf("DialStart's context does not carry the dial's own span")
	}
	parent.End()
	ended := f.spans.Ended()
	if len(ended) != 2 {
		t.Fatalf("%d ended spans, want 2 (dial and caller)", len(ended))
	}
	s := ended[0]
	if s.Name() != "proxygen.dial" {
		t.Fatalf("first ended span %q, want proxygen.dial", s.Name())
	}
	if s.Parent().SpanID() != parent.SpanContext().SpanID() || s.SpanContext().TraceID() != parent.SpanContext().TraceID() {
		t.Errorf("dial span is not a child of the caller's span")
	}
	if s.SpanKind() != trace.SpanKindClient {
		t.Errorf("span kind %v, want client", s.SpanKind())
	}
	checkAttrs(t, "span", s.Attributes(), map[string]string{
		"proxygen.exchange": "binance", "proxygen.transport": "http",
		"server.address": "api.example.com", "server.port": "443",
		"network.peer.address": "127.0.0.1", "network.peer.port": "3128",
		"proxygen.proxy": live, "proxygen.attempts": "2", "proxygen.failovers": "1",
	})
	if s.Status().Code != codes.Unset {
		t.Errorf("status %v, want unset", s.Status())
	}
	ev := s.Events()
	if len(ev) != 2 {
		t.Fatalf("%d events, want 2", len(ev))
	}
	for _, e := range ev {
		if e.Name != "proxygen.attempt" {
			t.Errorf("event %q, want proxygen.attempt", e.Name)
		}
	}
	checkAttrs(t, "attempt 1", ev[0].Attributes, map[string]string{
		"proxygen.proxy": dead, "proxygen.attempt.n": "1", "proxygen.attempt.hedge": "false",
		"proxygen.attempt.handshake": "0.001", "proxygen.attempt.stage": "connect",
		"proxygen.attempt.counted": "true", "error.type": "connect",
	})
	checkAttrs(t, "attempt 2", ev[1].Attributes, map[string]string{
		"proxygen.proxy": live, "proxygen.attempt.n": "2", "proxygen.attempt.hedge": "false",
		"proxygen.attempt.handshake": "0.003",
	})
}

// TestDialSpanFailure: a failed dial has error.type and status Error, and
// the attempt event carries the refusal's code.
func TestDialSpanFailure(t *testing.T) {
	f := newFixture(t)
	dial(context.Background(), f.o, "kraken", runtime.TransportWebSocket, "",
		fmt.Errorf("pool: %w", &runtime.ProxyError{Stage: runtime.StageAuth, Proxy: live, Status: 407, Err: runtime.ErrProxyAuth}), 0,
		runtime.Attempt{Proxy: live, Stage: runtime.StageAuth, Code: 407, Counted: true, Err: runtime.ErrProxyAuth, Handshake: 2 * time.Millisecond},
	)
	ended := f.spans.Ended()
	if len(ended) != 1 {
		t.Fatalf("%d spans, want 1", len(ended))
	}
	s := ended[0]
	if s.Status().Code != codes.Error || s.Status().Description != "auth" {
		t.Errorf("status %+v, want Error \"auth\"", s.Status())
	}
	checkAttrs(t, "span", s.Attributes(), map[string]string{
		"proxygen.exchange": "kraken", "proxygen.transport": "websocket",
		"server.address": "api.example.com", "server.port": "443",
		"proxygen.attempts": "1", "proxygen.failovers": "0", "error.type": "auth",
	})
	checkAttrs(t, "attempt", s.Events()[0].Attributes, map[string]string{
		"proxygen.proxy": live, "proxygen.attempt.n": "1", "proxygen.attempt.hedge": "false",
		"proxygen.attempt.handshake": "0.002", "proxygen.attempt.stage": "auth",
		"proxygen.attempt.code": "407", "proxygen.attempt.counted": "true", "error.type": "auth",
	})
}

func TestErrorType(t *testing.T) {
	for _, c := range []struct {
		err   error
		stage runtime.Stage
		want  string
	}{
		{nil, "", ""},
		{context.Canceled, runtime.StageReply, "canceled"},
		{fmt.Errorf("x: %w", context.DeadlineExceeded), runtime.StageConnect, "timeout"},
		{errRefused, runtime.StageConnect, "connect"},
		{fmt.Errorf("pool: %w", &runtime.ProxyError{Stage: runtime.StageTLS}), "", "tls"},
		{fmt.Errorf("x: %w", runtime.ErrProxyAuth), "", "auth"},
		{errors.New("no proxy usable"), "", "_OTHER"},
		{errors.New("x"), "weird", "_OTHER"},
	} {
		if got := errorType(c.err, c.stage); got != c.want {
			t.Errorf("errorType(%v, %q) = %q, want %q", c.err, c.stage, got, c.want)
		}
	}
}

// TestDialDoneNeverEndsCallerSpan: DialDone and Attempt with a context that
// did not come from DialStart leave the caller's span alone.
func TestDialDoneNeverEndsCallerSpan(t *testing.T) {
	f := newFixture(t)
	ctx, parent := f.tp.Tracer("test").Start(context.Background(), "caller")
	f.o.Attempt(ctx, runtime.Attempt{Exchange: "x", Proxy: live})
	f.o.DialDone(ctx, runtime.DialDone{Exchange: "x", Err: errRefused})
	if n := len(f.spans.Ended()); n != 0 {
		t.Errorf("%d spans ended, want 0", n)
	}
	if ro := parent.(sdktrace.ReadOnlySpan); len(ro.Events()) != 0 || len(ro.Attributes()) != 0 || ro.Status().Code != codes.Unset {
		t.Errorf("caller's span was changed: events %v attrs %v status %v", ro.Events(), ro.Attributes(), ro.Status())
	}
	parent.End()
}

// metrics collects the reader's metrics by name.
func (f *fixture) metrics(t *testing.T) map[string]metricdata.Metrics {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := f.reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	out := map[string]metricdata.Metrics{}
	for _, sm := range rm.ScopeMetrics {
		if sm.Scope.Name != ScopeName {
			t.Errorf("scope %q, want %q", sm.Scope.Name, ScopeName)
		}
		for _, m := range sm.Metrics {
			out[m.Name] = m
		}
	}
	return out
}

// key renders an attribute set as k=v,k=v (sorted, as attribute.Set is).
func key(s attribute.Set) string {
	var b strings.Builder
	for i, kv := range s.ToSlice() {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(string(kv.Key) + "=" + kv.Value.String())
	}
	return b.String()
}

// points returns a metric's data points as attribute key -> value
// (histograms: count; sums and gauges: value).
func points(t *testing.T, m metricdata.Metrics) map[string]float64 {
	t.Helper()
	out := map[string]float64{}
	switch d := m.Data.(type) {
	case metricdata.Sum[int64]:
		for _, p := range d.DataPoints {
			out[key(p.Attributes)] = float64(p.Value)
		}
	case metricdata.Gauge[int64]:
		for _, p := range d.DataPoints {
			out[key(p.Attributes)] = float64(p.Value)
		}
	case metricdata.Histogram[float64]:
		for _, p := range d.DataPoints {
			out[key(p.Attributes)] = float64(p.Count)
		}
	default:
		t.Fatalf("%s: unexpected data %T", m.Name, m.Data)
	}
	return out
}

// TestMetricsAfterScript checks every data point of every instrument after
// the scripted dials.
func TestMetricsAfterScript(t *testing.T) {
	f := newFixture(t)
	script(context.Background(), f.o)
	got := f.metrics(t)
	const (
		bh = "proxygen.exchange=binance,"
		kw = "proxygen.exchange=kraken,"
	)
	want := map[string]map[string]float64{
		"proxygen.dial.duration": {
			bh + "proxygen.transport=http":                       2,
			"error.type=reply," + bh + "proxygen.transport=http": 1,
			kw + "proxygen.transport=websocket":                  1,
		},
		"proxygen.proxy.attempts": {
			"error.type=connect," + bh + "proxygen.proxy=" + dead + ",proxygen.transport=http":        1,
			bh + "proxygen.proxy=" + live + ",proxygen.transport=http":                                2,
			"error.type=reply," + bh + "proxygen.proxy=" + live + ",proxygen.transport=http":          1,
			kw + "proxygen.proxy=" + live + ",proxygen.transport=websocket":                           1,
			"error.type=canceled," + kw + "proxygen.proxy=" + hedge + ",proxygen.transport=websocket": 1,
		},
		"proxygen.proxy.failures": {
			bh + "proxygen.proxy=" + dead + ",proxygen.stage=connect,proxygen.transport=http": 1,
			bh + "proxygen.proxy=" + live + ",proxygen.stage=reply,proxygen.transport=http":   1,
		},
		"proxygen.proxy.handshake.duration": {
			bh + "proxygen.proxy=" + live + ",proxygen.transport=http":      2,
			kw + "proxygen.proxy=" + live + ",proxygen.transport=websocket": 1,
		},
		"proxygen.failovers": {
			bh + "proxygen.transport=http":      1,
			kw + "proxygen.transport=websocket": 0,
		},
		"proxygen.proxy.up": {
			"proxygen.proxy=" + dead:  0,
			"proxygen.proxy=" + live:  1,
			"proxygen.proxy=" + hedge: 1,
		},
		"proxygen.proxy.ejections": {
			"proxygen.proxy=" + dead:  1,
			"proxygen.proxy=" + live:  0,
			"proxygen.proxy=" + hedge: 0,
		},
		"proxygen.tunnels.open": {
			bh + "proxygen.proxy=" + live + ",proxygen.transport=http":      1,
			kw + "proxygen.proxy=" + live + ",proxygen.transport=websocket": 1,
		},
	}
	for name, wp := range want {
		m, ok := got[name]
		if !ok {
			t.Errorf("metric %s missing", name)
			continue
		}
		gp := points(t, m)
		for k, v := range wp {
			if gv, ok := gp[k]; !ok || gv != v {
				t.Errorf("%s{%s} = %v (present %v), want %v", name, k, gv, ok, v)
			}
		}
		for k, v := range gp {
			if _, ok := wp[k]; !ok {
				t.Errorf("%s: unexpected point {%s} = %v", name, k, v)
			}
		}
	}
	for name := range got {
		if _, ok := want[name]; !ok {
			t.Errorf("unexpected metric %s", name)
		}
	}
	if u := got["proxygen.dial.duration"].Unit; u != "s" {
		t.Errorf("proxygen.dial.duration unit %q, want s", u)
	}
	if h, ok := got["proxygen.dial.duration"].Data.(metricdata.Histogram[float64]); ok {
		for _, p := range h.DataPoints {
			if p.Sum != 0.007*float64(p.Count) && (p.Sum < 0.00699*float64(p.Count) || p.Sum > 0.00701*float64(p.Count)) {
				t.Errorf("dial duration sum %v for %d dials of 7ms", p.Sum, p.Count)
			}
		}
	}
	if len(f.spans.Ended()) != 4 {
		t.Errorf("%d spans, want 4", len(f.spans.Ended()))
	}
}

// TestGlobalProvidersByDefault: without options the observer uses the
// global providers.
func TestGlobalProvidersByDefault(t *testing.T) {
	sr := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sr))
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	oldTP, oldMP := otel.GetTracerProvider(), otel.GetMeterProvider()
	otel.SetTracerProvider(tp)
	otel.SetMeterProvider(mp)
	t.Cleanup(func() {
		otel.SetTracerProvider(oldTP)
		otel.SetMeterProvider(oldMP)
		_ = tp.Shutdown(context.Background())
		_ = mp.Shutdown(context.Background())
	})
	o, err := NewObserver(WithTracerProvider(nil), WithMeterProvider(nil))
	if err != nil {
		t.Fatal(err)
	}
	dial(context.Background(), o, "binance", runtime.TransportHTTP, live, nil, 0, runtime.Attempt{Proxy: live})
	if n := len(sr.Ended()); n != 1 {
		t.Errorf("global tracer provider: %d spans, want 1", n)
	}
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	if len(rm.ScopeMetrics) != 1 || len(rm.ScopeMetrics[0].Metrics) == 0 {
		t.Errorf("global meter provider: no metrics: %+v", rm)
	}
}

// TestNoopProviders: with no-op providers every event is safe.
func TestNoopProviders(t *testing.T) {
	o, err := NewObserver(WithTracerProvider(tracenoop.NewTracerProvider()), WithMeterProvider(metricnoop.NewMeterProvider()))
	if err != nil {
		t.Fatal(err)
	}
	script(context.Background(), o)
	o.DialDone(context.Background(), runtime.DialDone{Err: errRefused})
}

func TestProxyLabel(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"socks5://127.0.0.1:1080", "socks5://127.0.0.1:1080"},
		{"http://[::1]:3128", "http://[::1]:3128"},
		{"http://user:pw@127.0.0.1:3128", "http://127.0.0.1:3128"},
		{"http://user:p/w?#@127.0.0.1:3128", "http://127.0.0.1:3128"},
		{"https://127.0.0.1:443/path?q=1#f", "https://127.0.0.1:443"},
		{"", ""},
	} {
		if got := proxyLabel(c.in); got != c.want {
			t.Errorf("proxyLabel(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

const canary = "CanaryPw-7f3e9"

// TestCanaryNeverInSpansOrMetrics feeds events whose errors, stages and
// proxy strings hold a credential and checks no span, event, status or
// metric shows it.
func TestCanaryNeverInSpansOrMetrics(t *testing.T) {
	f := newFixture(t)
	leaky := "socks5h://alice:" + canary + "@[::1]:1080/" + canary
	secretErr := fmt.Errorf("auth as alice:%s: %w", canary, runtime.ErrProxyAuth)
	ctx := f.o.DialStart(context.Background(), runtime.DialStart{Exchange: "binance", Target: target})
	f.o.Attempt(ctx, runtime.Attempt{Exchange: "binance", Proxy: leaky, Stage: runtime.Stage(canary), Err: secretErr})
	f.o.Attempt(ctx, runtime.Attempt{Exchange: "binance", Proxy: leaky})
	f.o.DialDone(ctx, runtime.DialDone{Exchange: "binance", Proxy: leaky, Err: secretErr})
	f.o.MemberState(runtime.MemberState{Proxy: leaky, State: runtime.Ejected})
	f.o.TunnelOpen(runtime.Tunnel{Exchange: "binance", Proxy: leaky})

	var all strings.Builder
	for _, s := range f.spans.Ended() {
		fmt.Fprintf(&all, "%s %v %+v %+v\n", s.Name(), s.Attributes(), s.Status(), s.Events())
	}
	var rm metricdata.ResourceMetrics
	if err := f.reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			fmt.Fprintf(&all, "%s %+v %v\n", m.Name, m.Data, points(t, m))
		}
	}
	out := all.String()
	if strings.Contains(out, canary) || strings.Contains(out, "alice") {
		t.Fatalf("credential in spans or metrics:\n%s", out)
	}
	if !strings.Contains(out, "socks5h://[::1]:1080") || !strings.Contains(out, "network.peer.address") {
		t.Errorf("redacted proxy missing from the output:\n%s", out)
	}
}
