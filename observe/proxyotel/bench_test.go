package proxyotel

import (
	"context"
	"testing"
	"time"

	metricnoop "go.opentelemetry.io/otel/metric/noop"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"

	"github.com/proxygen-go/proxygen/runtime"
)

func benchDialEvents(b *testing.B, o *Observer) {
	ctx := context.Background()
	start := runtime.DialStart{Exchange: "binance", Transport: runtime.TransportHTTP, Target: target}
	att := runtime.Attempt{Exchange: "binance", Target: target, Proxy: live, N: 1, Handshake: time.Millisecond}
	done := runtime.DialDone{Exchange: "binance", Target: target, Proxy: live, Duration: time.Millisecond, Attempts: 1}
	tun := runtime.Tunnel{Exchange: "binance", Target: target, Proxy: live}
	b.ReportAllocs()
	for b.Loop() {
		c := o.DialStart(ctx, start)
		o.Attempt(c, att)
		o.DialDone(c, done)
		o.TunnelOpen(tun)
		o.TunnelClose(tun)
	}
}

// BenchmarkDialEvents is the observer's cost for one dial through a pool
// (DialStart, one attempt, DialDone, tunnel open and close) with the SDK
// sampling every span and a manual metric reader.
func BenchmarkDialEvents(b *testing.B) {
	// A span recorder would keep every span: sample and record (so the
	// attributes and events are built) with no exporter instead.
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.AlwaysSample()))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	b.Cleanup(func() { _ = tp.Shutdown(context.Background()); _ = mp.Shutdown(context.Background()) })
	o, err := NewObserver(WithTracerProvider(tp), WithMeterProvider(mp))
	if err != nil {
		b.Fatal(err)
	}
	benchDialEvents(b, o)
}

// BenchmarkDialEventsNoop is the same with no-op providers (the default
// when the program installs no SDK).
func BenchmarkDialEventsNoop(b *testing.B) {
	o, err := NewObserver(WithTracerProvider(tracenoop.NewTracerProvider()), WithMeterProvider(metricnoop.NewMeterProvider()))
	if err != nil {
		b.Fatal(err)
	}
	benchDialEvents(b, o)
}
