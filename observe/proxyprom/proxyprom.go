// Package proxyprom exports the events of a proxygen runtime as Prometheus
// metrics. It depends on the Prometheus client library and the runtime only,
// registers only on the registry it is given, and must never make error text,
// a target or a credential a label, nor let a label's values grow beyond
// what the program's spec and proxies bound (see below).
//
// Install it on an injector with runtime.WithObserver and serve the registry
// it was given (for example with promhttp):
//
//	reg := prometheus.NewRegistry()
//	obs, err := proxyprom.NewObserver(reg)
//	if err != nil { ... }
//	inj, err := runtime.NewInjector(..., runtime.WithObserver(obs))
//	http.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
//
// The metrics and their labels:
//
//	proxygen_dials_total              counter   exchange, transport, result (ok|error)
//	proxygen_dial_duration_seconds    histogram exchange, transport
//	proxygen_proxy_attempts_total     counter   exchange, transport, proxy, result (ok|error|canceled)
//	proxygen_proxy_failures_total     counter   exchange, transport, proxy, stage
//	proxygen_proxy_handshake_seconds  histogram exchange, transport, proxy
//	proxygen_failovers_total          counter   exchange, transport
//	proxygen_proxy_up                 gauge     proxy (1 usable, 0 ejected or half-open)
//	proxygen_proxy_ejections_total    counter   proxy
//	proxygen_tunnels_open             gauge     exchange, transport, proxy
//
// Label values are bounded: exchange and transport come from the program's
// spec, proxy is "scheme://host:port" (anything else in the event's proxy
// string, such as user info or a path, is dropped), stage is one of the
// runtime's stages. No error text, target or credential is ever a label.
package proxyprom

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/proxygen-go/proxygen/runtime"
)

// buckets are the upper bounds, in seconds, of the duration histograms
// (dial duration and proxy handshake): from a loopback handshake to a
// set-up that ran into a 30 s timeout.
var buckets = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}

// Observer is a runtime.Observer (with the attempt, member and tunnel parts)
// that records dials as Prometheus metrics. Its methods are safe for
// concurrent use and do not block.
type Observer struct {
	dials        *prometheus.CounterVec
	dialDuration *prometheus.HistogramVec
	attempts     *prometheus.CounterVec
	failures     *prometheus.CounterVec
	handshake    *prometheus.HistogramVec
	failovers    *prometheus.CounterVec
	up           *prometheus.GaugeVec
	ejections    *prometheus.CounterVec
	tunnels      *prometheus.GaugeVec

	// seen holds the proxies whose proxygen_proxy_up series exists. A
	// proxy first seen in an attempt starts at 1; a state change always
	// wins (mu orders the two).
	seen sync.Map // string -> struct{}
	mu   sync.Mutex
}

var (
	_ runtime.Observer        = (*Observer)(nil)
	_ runtime.AttemptObserver = (*Observer)(nil)
	_ runtime.MemberObserver  = (*Observer)(nil)
	_ runtime.TunnelObserver  = (*Observer)(nil)
)

// NewObserver creates the metrics and registers them on reg. It never uses
// the global registry. When a metric cannot be registered (for example
// because reg already has an Observer's metrics), it unregisters the ones it
// had registered and returns the error.
func NewObserver(reg prometheus.Registerer) (*Observer, error) {
	if reg == nil {
		return nil, errors.New("proxyprom: nil registerer")
	}
	route := []string{"exchange", "transport"}
	member := []string{"exchange", "transport", "proxy"}
	o := &Observer{
		dials: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "proxygen_dials_total",
			Help: "Dials made by routes through their proxies, by result (ok or error).",
		}, []string{"exchange", "transport", "result"}),
		dialDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "proxygen_dial_duration_seconds",
			Help:    "Time from a dial's start to its tunnel or its failure, all attempts included.",
			Buckets: buckets,
		}, route),
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "proxygen_proxy_attempts_total",
			Help: "Attempts through one proxy of a route's pool, by result (ok, error or canceled).",
		}, []string{"exchange", "transport", "proxy", "result"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "proxygen_proxy_failures_total",
			Help: "Failed attempts through one proxy, by the set-up stage that failed.",
		}, []string{"exchange", "transport", "proxy", "stage"}),
		handshake: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "proxygen_proxy_handshake_seconds",
			Help:    "Time from an attempt's start to its tunnel, for successful attempts.",
			Buckets: buckets,
		}, member),
		failovers: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "proxygen_failovers_total",
			Help: "Moves to another proxy within one dial after an attempt failed.",
		}, route),
		up: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "proxygen_proxy_up",
			Help: "Whether a proxy is usable (1) or ejected or half-open (0).",
		}, []string{"proxy"}),
		ejections: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "proxygen_proxy_ejections_total",
			Help: "Times a proxy was ejected from its pool.",
		}, []string{"proxy"}),
		tunnels: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "proxygen_tunnels_open",
			Help: "Tunnels open now.",
		}, member),
	}
	cs := []prometheus.Collector{o.dials, o.dialDuration, o.attempts, o.failures,
		o.handshake, o.failovers, o.up, o.ejections, o.tunnels}
	for i, c := range cs {
		if err := reg.Register(c); err != nil {
			for _, done := range cs[:i] {
				reg.Unregister(done)
			}
			return nil, fmt.Errorf("proxyprom: register metrics: %w", err)
		}
	}
	return o, nil
}

// DialStart implements runtime.Observer; it returns ctx unchanged.
func (o *Observer) DialStart(ctx context.Context, _ runtime.DialStart) context.Context {
	return ctx
}

// DialDone implements runtime.Observer: it counts the dial, its duration
// and its failovers.
func (o *Observer) DialDone(_ context.Context, ev runtime.DialDone) {
	tr := ev.Transport.String()
	result := "ok"
	if ev.Err != nil {
		result = "error"
	}
	o.dials.WithLabelValues(ev.Exchange, tr, result).Inc()
	o.dialDuration.WithLabelValues(ev.Exchange, tr).Observe(ev.Duration.Seconds())
	o.failovers.WithLabelValues(ev.Exchange, tr).Add(float64(max(ev.Failovers, 0)))
}

// Attempt implements runtime.AttemptObserver. A failed attempt counts as an
// error and a failure at its stage, except a cancelled one (a hedge that
// lost the race, or a caller that gave up), which counts as canceled only.
// Handshake time is recorded for successful attempts.
func (o *Observer) Attempt(_ context.Context, ev runtime.Attempt) {
	tr := ev.Transport.String()
	proxy := proxyLabel(ev.Proxy)
	o.markSeen(proxy)
	switch {
	case ev.Err == nil:
		o.attempts.WithLabelValues(ev.Exchange, tr, proxy, "ok").Inc()
		o.handshake.WithLabelValues(ev.Exchange, tr, proxy).Observe(ev.Handshake.Seconds())
	case errors.Is(ev.Err, context.Canceled):
		o.attempts.WithLabelValues(ev.Exchange, tr, proxy, "canceled").Inc()
	default:
		o.attempts.WithLabelValues(ev.Exchange, tr, proxy, "error").Inc()
		o.failures.WithLabelValues(ev.Exchange, tr, proxy, stageLabel(ev.Stage)).Inc()
	}
}

// MemberState implements runtime.MemberObserver: proxygen_proxy_up is 1
// when the proxy is back, 0 when it is ejected or half-open; an ejection
// counts in proxygen_proxy_ejections_total.
func (o *Observer) MemberState(ev runtime.MemberState) {
	proxy := proxyLabel(ev.Proxy)
	v := 0.0
	if ev.State == runtime.Up {
		v = 1
	}
	o.mu.Lock()
	o.seen.Store(proxy, struct{}{})
	o.up.WithLabelValues(proxy).Set(v)
	ej := o.ejections.WithLabelValues(proxy)
	if ev.State == runtime.Ejected {
		ej.Inc()
	}
	o.mu.Unlock()
}

// markSeen creates a proxy's up series at 1 and its ejections series at 0
// the first time the proxy appears, unless a state change came first.
func (o *Observer) markSeen(proxy string) {
	if _, ok := o.seen.Load(proxy); ok {
		return
	}
	o.mu.Lock()
	if _, ok := o.seen.Load(proxy); !ok {
		o.seen.Store(proxy, struct{}{})
		o.up.WithLabelValues(proxy).Set(1)
		o.ejections.WithLabelValues(proxy)
	}
	o.mu.Unlock()
}

// TunnelOpen implements runtime.TunnelObserver.
func (o *Observer) TunnelOpen(ev runtime.Tunnel) {
	o.tunnels.WithLabelValues(ev.Exchange, ev.Transport.String(), proxyLabel(ev.Proxy)).Inc()
}

// TunnelClose implements runtime.TunnelObserver.
func (o *Observer) TunnelClose(ev runtime.Tunnel) {
	o.tunnels.WithLabelValues(ev.Exchange, ev.Transport.String(), proxyLabel(ev.Proxy)).Dec()
}

// proxyLabel returns the "scheme://host:port" part of an event's proxy
// string: user info, path, query and fragment are dropped (events never
// carry them; this makes sure a label cannot either). It does not allocate
// when there is nothing to drop.
func proxyLabel(p string) string {
	rest, scheme := p, ""
	if i := strings.Index(p, "://"); i >= 0 {
		scheme, rest = p[:i+3], p[i+3:]
	}
	// User info first: a careless password may hold a '/' or a '?'.
	if i := strings.LastIndexByte(rest, '@'); i >= 0 {
		rest = rest[i+1:]
	}
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		rest = rest[:i]
	}
	if len(scheme)+len(rest) == len(p) {
		return p
	}
	return scheme + rest
}

// stageLabel returns the stage as a label value: one of the runtime's
// stages, "" as "unknown", and anything else as "other".
func stageLabel(s runtime.Stage) string {
	switch s {
	case runtime.StageConfig, runtime.StageResolve, runtime.StageConnect, runtime.StageTLS,
		runtime.StageGreeting, runtime.StageAuth, runtime.StageRequest, runtime.StageReply:
		return string(s)
	case "":
		return "unknown"
	}
	return "other"
}
