package proxyotel

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/proxygen-go/proxygen/runtime"
)

// ScopeName is the instrumentation scope of the tracer and the meter.
const ScopeName = "github.com/proxygen-go/proxygen/observe/proxyotel"

// Attribute keys of this package (the others are OpenTelemetry semantic
// conventions: server.*, network.peer.*, error.type).
const (
	ExchangeKey  = attribute.Key("proxygen.exchange")
	TransportKey = attribute.Key("proxygen.transport")
	ProxyKey     = attribute.Key("proxygen.proxy") // "scheme://host:port"
	StageKey     = attribute.Key("proxygen.stage")
	AttemptsKey  = attribute.Key("proxygen.attempts")
	FailoversKey = attribute.Key("proxygen.failovers")

	AttemptNKey         = attribute.Key("proxygen.attempt.n")
	AttemptHedgeKey     = attribute.Key("proxygen.attempt.hedge")
	AttemptStageKey     = attribute.Key("proxygen.attempt.stage")
	AttemptCodeKey      = attribute.Key("proxygen.attempt.code")
	AttemptHandshakeKey = attribute.Key("proxygen.attempt.handshake") // seconds
	AttemptCountedKey   = attribute.Key("proxygen.attempt.counted")
)

// SpanName is the name of a dial's span and AttemptEvent of an attempt's
// span event.
const (
	SpanName     = "proxygen.dial"
	AttemptEvent = "proxygen.attempt"
)

// buckets are the explicit bucket boundaries advised for the duration
// histograms, in seconds.
var buckets = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}

type config struct {
	tp trace.TracerProvider
	mp metric.MeterProvider
}

// Option configures NewObserver.
type Option func(*config)

// WithTracerProvider sets the tracer provider (default: the global one,
// otel.GetTracerProvider, read when NewObserver is called). A nil provider
// keeps the default.
func WithTracerProvider(tp trace.TracerProvider) Option {
	return func(c *config) {
		if tp != nil {
			c.tp = tp
		}
	}
}

// WithMeterProvider sets the meter provider (default: the global one,
// otel.GetMeterProvider, read when NewObserver is called). A nil provider
// keeps the default.
func WithMeterProvider(mp metric.MeterProvider) Option {
	return func(c *config) {
		if mp != nil {
			c.mp = mp
		}
	}
}

// Observer is a runtime.Observer (with the attempt, member and tunnel parts)
// that records dials as OpenTelemetry spans and metrics. Its methods are
// safe for concurrent use and do not block.
type Observer struct {
	tracer trace.Tracer

	dialDuration metric.Float64Histogram
	attempts     metric.Int64Counter
	failures     metric.Int64Counter
	handshake    metric.Float64Histogram
	failovers    metric.Int64Counter
	up           metric.Int64Gauge
	ejections    metric.Int64Counter
	tunnels      metric.Int64UpDownCounter

	// seen holds the proxies whose up gauge has a value: a proxy first
	// seen in an attempt starts at 1, a state change always wins.
	seen sync.Map // string -> struct{}
	mu   sync.Mutex

	// sets caches the metric attribute sets by their (bounded) values, so
	// a measurement neither sorts nor allocates them again.
	setsMu sync.RWMutex
	sets   map[setKey]*attrSet
}

// attrSet is one attribute set as ready-made option slices (passing a
// ready slice to a variadic method does not allocate).
type attrSet struct {
	add []metric.AddOption
	rec []metric.RecordOption
}

// setKey names one metric attribute set: its layout and its values.
type setKey struct {
	kind      setKind
	exchange  string
	transport runtime.Transport
	proxy     string // proxy label
	extra     string // error.type or stage
}

type setKind uint8

const (
	setRoute      setKind = iota // exchange, transport
	setRouteError                // exchange, transport, error.type
	setMember                    // exchange, transport, proxy
	setMemberErr                 // exchange, transport, proxy, error.type
	setMemberStg                 // exchange, transport, proxy, stage
	setProxy                     // proxy
)

// attrs returns k's attribute set, cached.
func (o *Observer) attrs(k setKey) *attrSet {
	o.setsMu.RLock()
	set, ok := o.sets[k]
	o.setsMu.RUnlock()
	if ok {
		return set
	}
	var kvs []attribute.KeyValue
	if k.kind != setProxy {
		kvs = append(kvs, ExchangeKey.String(k.exchange), TransportKey.String(k.transport.String()))
	}
	switch k.kind {
	case setMember, setMemberErr, setMemberStg, setProxy:
		kvs = append(kvs, ProxyKey.String(k.proxy))
	}
	switch k.kind {
	case setRouteError, setMemberErr:
		kvs = append(kvs, semconv.ErrorTypeKey.String(k.extra))
	case setMemberStg:
		kvs = append(kvs, StageKey.String(k.extra))
	}
	m := metric.WithAttributeSet(attribute.NewSet(kvs...))
	set = &attrSet{add: []metric.AddOption{m}, rec: []metric.RecordOption{m}}
	o.setsMu.Lock()
	if old, ok := o.sets[k]; ok {
		set = old
	} else {
		o.sets[k] = set
	}
	o.setsMu.Unlock()
	return set
}

var (
	_ runtime.Observer        = (*Observer)(nil)
	_ runtime.AttemptObserver = (*Observer)(nil)
	_ runtime.MemberObserver  = (*Observer)(nil)
	_ runtime.TunnelObserver  = (*Observer)(nil)
)

// NewObserver creates the tracer and the instruments.
func NewObserver(opts ...Option) (*Observer, error) {
	c := config{}
	for _, opt := range opts {
		opt(&c)
	}
	if c.tp == nil {
		c.tp = otel.GetTracerProvider()
	}
	if c.mp == nil {
		c.mp = otel.GetMeterProvider()
	}
	m := c.mp.Meter(ScopeName)
	o := &Observer{tracer: c.tp.Tracer(ScopeName), sets: map[setKey]*attrSet{}}
	var errs [8]error
	o.dialDuration, errs[0] = m.Float64Histogram("proxygen.dial.duration",
		metric.WithUnit("s"),
		metric.WithDescription("Time from a dial's start to its tunnel or its failure, all attempts included."),
		metric.WithExplicitBucketBoundaries(buckets...))
	o.attempts, errs[1] = m.Int64Counter("proxygen.proxy.attempts",
		metric.WithUnit("{attempt}"),
		metric.WithDescription("Attempts through one proxy of a route's pool."))
	o.failures, errs[2] = m.Int64Counter("proxygen.proxy.failures",
		metric.WithUnit("{failure}"),
		metric.WithDescription("Failed attempts through one proxy, by the set-up stage that failed (cancelled attempts excluded)."))
	o.handshake, errs[3] = m.Float64Histogram("proxygen.proxy.handshake.duration",
		metric.WithUnit("s"),
		metric.WithDescription("Time from an attempt's start to its tunnel, for successful attempts."),
		metric.WithExplicitBucketBoundaries(buckets...))
	o.failovers, errs[4] = m.Int64Counter("proxygen.failovers",
		metric.WithUnit("{failover}"),
		metric.WithDescription("Moves to another proxy within one dial after an attempt failed."))
	o.up, errs[5] = m.Int64Gauge("proxygen.proxy.up",
		metric.WithUnit("1"),
		metric.WithDescription("Whether a proxy is usable (1) or ejected or half-open (0)."))
	o.ejections, errs[6] = m.Int64Counter("proxygen.proxy.ejections",
		metric.WithUnit("{ejection}"),
		metric.WithDescription("Times a proxy was ejected from its pool."))
	o.tunnels, errs[7] = m.Int64UpDownCounter("proxygen.tunnels.open",
		metric.WithUnit("{tunnel}"),
		metric.WithDescription("Tunnels open now."))
	if err := errors.Join(errs[:]...); err != nil {
		return nil, fmt.Errorf("proxyotel: create instruments: %w", err)
	}
	return o, nil
}

// spanKey holds the dial's span in the context DialStart returns, so that
// Attempt and DialDone only ever touch a span this observer started (never
// the caller's).
type spanKey struct{}

// DialStart implements runtime.Observer: it starts the dial's span as a
// child of ctx's span and returns a context carrying it.
func (o *Observer) DialStart(ctx context.Context, ev runtime.DialStart) context.Context {
	attrs := make([]attribute.KeyValue, 2, 4)
	attrs[0], attrs[1] = ExchangeKey.String(ev.Exchange), TransportKey.String(ev.Transport.String())
	if host, port, ok := splitHostPort(ev.Target); ok {
		attrs = append(attrs, semconv.ServerAddress(host), semconv.ServerPort(port))
	} else if ev.Target != "" {
		attrs = append(attrs, semconv.ServerAddress(ev.Target))
	}
	opts := [3]trace.SpanStartOption{clientKind, trace.WithAttributes(attrs...)}
	n := 2
	if !ev.Time.IsZero() {
		opts[2], n = trace.WithTimestamp(ev.Time), 3
	}
	ctx, span := o.tracer.Start(ctx, SpanName, opts[:n]...)
	return context.WithValue(ctx, spanKey{}, span)
}

// clientKind is made once: trace.WithSpanKind allocates.
var clientKind = trace.WithSpanKind(trace.SpanKindClient)

// DialDone implements runtime.Observer: it records the dial's duration and
// failovers and ends its span.
func (o *Observer) DialDone(ctx context.Context, ev runtime.DialDone) {
	etype := errorType(ev.Err, "")
	route := setKey{kind: setRoute, exchange: ev.Exchange, transport: ev.Transport}
	if etype != "" {
		k := route
		k.kind, k.extra = setRouteError, etype
		o.dialDuration.Record(ctx, ev.Duration.Seconds(), o.attrs(k).rec...)
	} else {
		o.dialDuration.Record(ctx, ev.Duration.Seconds(), o.attrs(route).rec...)
	}
	o.failovers.Add(ctx, int64(max(ev.Failovers, 0)), o.attrs(route).add...)

	span, _ := ctx.Value(spanKey{}).(trace.Span)
	if span == nil {
		return
	}
	if span.IsRecording() {
		attrs := []attribute.KeyValue{AttemptsKey.Int(ev.Attempts), FailoversKey.Int(ev.Failovers)}
		if ev.Proxy != "" {
			label := proxyLabel(ev.Proxy)
			attrs = append(attrs, ProxyKey.String(label))
			if host, port, ok := splitHostPort(hostPort(label)); ok {
				attrs = append(attrs, semconv.NetworkPeerAddress(host), semconv.NetworkPeerPort(port))
			}
		}
		if etype != "" {
			attrs = append(attrs, semconv.ErrorTypeKey.String(etype))
			span.SetStatus(codes.Error, etype)
		}
		span.SetAttributes(attrs...)
	}
	span.End()
}

// Attempt implements runtime.AttemptObserver: it adds the event
// "proxygen.attempt" to the dial's span, with proxygen.proxy,
// proxygen.attempt.n, proxygen.attempt.hedge, proxygen.attempt.handshake
// (seconds) and, for a failed attempt, proxygen.attempt.stage,
// proxygen.attempt.code (when non-zero), proxygen.attempt.counted and
// error.type; and it counts the attempt, its failure or its handshake time.
func (o *Observer) Attempt(ctx context.Context, ev runtime.Attempt) {
	proxy := proxyLabel(ev.Proxy)
	o.markSeen(ctx, proxy)
	etype := errorType(ev.Err, ev.Stage)
	k := setKey{kind: setMember, exchange: ev.Exchange, transport: ev.Transport, proxy: proxy}
	if ev.Err == nil {
		o.attempts.Add(ctx, 1, o.attrs(k).add...)
		o.handshake.Record(ctx, ev.Handshake.Seconds(), o.attrs(k).rec...)
	} else {
		ke := k
		ke.kind, ke.extra = setMemberErr, etype
		o.attempts.Add(ctx, 1, o.attrs(ke).add...)
		if etype != "canceled" {
			ks := k
			ks.kind, ks.extra = setMemberStg, stageAttr(ev.Stage)
			o.failures.Add(ctx, 1, o.attrs(ks).add...)
		}
	}

	span, _ := ctx.Value(spanKey{}).(trace.Span)
	if span == nil || !span.IsRecording() {
		return
	}
	attrs := []attribute.KeyValue{
		ProxyKey.String(proxy),
		AttemptNKey.Int(ev.N),
		AttemptHedgeKey.Bool(ev.Hedge),
		AttemptHandshakeKey.Float64(ev.Handshake.Seconds()),
	}
	if ev.Err != nil {
		attrs = append(attrs,
			AttemptStageKey.String(stageAttr(ev.Stage)),
			AttemptCountedKey.Bool(ev.Counted),
			semconv.ErrorTypeKey.String(etype))
		if ev.Code != 0 {
			attrs = append(attrs, AttemptCodeKey.Int(ev.Code))
		}
	}
	span.AddEvent(AttemptEvent, trace.WithAttributes(attrs...), trace.WithTimestamp(time.Now()))
}

// MemberState implements runtime.MemberObserver: proxygen.proxy.up is 1
// when the proxy is back, 0 when it is ejected or half-open; an ejection
// counts in proxygen.proxy.ejections.
func (o *Observer) MemberState(ev runtime.MemberState) {
	ctx := context.Background()
	proxy := proxyLabel(ev.Proxy)
	px := o.attrs(setKey{kind: setProxy, proxy: proxy})
	var v, n int64
	if ev.State == runtime.Up {
		v = 1
	}
	if ev.State == runtime.Ejected {
		n = 1
	}
	o.mu.Lock()
	o.seen.Store(proxy, struct{}{})
	o.up.Record(ctx, v, px.rec...)
	o.ejections.Add(ctx, n, px.add...)
	o.mu.Unlock()
}

// markSeen records up=1 and ejections=0 for a proxy the first time it
// appears, unless a state change came first.
func (o *Observer) markSeen(ctx context.Context, proxy string) {
	if _, ok := o.seen.Load(proxy); ok {
		return
	}
	o.mu.Lock()
	if _, ok := o.seen.Load(proxy); !ok {
		o.seen.Store(proxy, struct{}{})
		px := o.attrs(setKey{kind: setProxy, proxy: proxy})
		o.up.Record(ctx, 1, px.rec...)
		o.ejections.Add(ctx, 0, px.add...)
	}
	o.mu.Unlock()
}

// TunnelOpen implements runtime.TunnelObserver.
func (o *Observer) TunnelOpen(ev runtime.Tunnel) {
	o.tunnels.Add(context.Background(), 1, o.attrs(setKey{kind: setMember, exchange: ev.Exchange, transport: ev.Transport, proxy: proxyLabel(ev.Proxy)}).add...)
}

// TunnelClose implements runtime.TunnelObserver.
func (o *Observer) TunnelClose(ev runtime.Tunnel) {
	o.tunnels.Add(context.Background(), -1, o.attrs(setKey{kind: setMember, exchange: ev.Exchange, transport: ev.Transport, proxy: proxyLabel(ev.Proxy)}).add...)
}
