package bench

import (
	"context"
	"net"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/proxygen-go/proxygen/observe/proxyotel"
	"github.com/proxygen-go/proxygen/observe/proxyprom"
	"github.com/proxygen-go/proxygen/runtime"
	"github.com/proxygen-go/proxygen/runtime/proxytest"
)

// discardSpans is a span exporter that drops every span: the SDK records
// (samples, builds attributes and events, ends) each span as it would for a
// real exporter.
type discardSpans struct{}

func (discardSpans) ExportSpans(context.Context, []sdktrace.ReadOnlySpan) error { return nil }
func (discardSpans) Shutdown(context.Context) error                             { return nil }

// holdTarget accepts connections and holds each until the client closes it.
func holdTarget(b *testing.B) string {
	b.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				var buf [1]byte
				_, _ = c.Read(buf[:])
				c.Close()
			}()
		}
	}()
	b.Cleanup(func() { ln.Close(); <-done })
	return ln.Addr().String()
}

// BenchmarkObservedDial is a tunnel's set-up through an injector
// (runtime.NewInjector over in-process proxytest SOCKS5 servers on
// loopback: a single-proxy route and a two-member pool, both members
// healthy) with each observer, in one run so the columns compare: none
// (Stats only), observe/proxyprom, observe/proxyotel with the SDK (every
// span sampled and recorded, exported to a discarding exporter; metrics to
// a manual reader) and observe/proxyotel on the global providers with no
// SDK installed (no-op). Each op dials and closes one tunnel.
func BenchmarkObservedDial(b *testing.B) {
	target := holdTarget(b)
	s1 := proxytest.New(proxytest.Config{Kind: proxytest.SOCKS5})
	s2 := proxytest.New(proxytest.Config{Kind: proxytest.SOCKS5})
	b.Cleanup(func() { s1.Close(); s2.Close() })
	routes := []struct {
		name  string
		route func() *runtime.Route
	}{
		{"single", func() *runtime.Route {
			return &runtime.Route{Proxies: []*runtime.Proxy{s1.Proxy(runtime.SOCKS5H)}}
		}},
		{"pool", func() *runtime.Route {
			return &runtime.Route{Proxies: []*runtime.Proxy{s1.Proxy(runtime.SOCKS5H), s2.Proxy(runtime.SOCKS5H)}}
		}},
	}
	observers := []struct {
		name string
		new  func(b *testing.B) runtime.Observer
	}{
		{"none", func(*testing.B) runtime.Observer { return nil }},
		{"proxyprom", func(b *testing.B) runtime.Observer {
			o, err := proxyprom.NewObserver(prometheus.NewRegistry())
			if err != nil {
				b.Fatal(err)
			}
			return o
		}},
		{"proxyotel-sdk", func(b *testing.B) runtime.Observer {
			tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.AlwaysSample()), sdktrace.WithSyncer(discardSpans{}))
			mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
			b.Cleanup(func() { _ = tp.Shutdown(context.Background()); _ = mp.Shutdown(context.Background()) })
			o, err := proxyotel.NewObserver(proxyotel.WithTracerProvider(tp), proxyotel.WithMeterProvider(mp))
			if err != nil {
				b.Fatal(err)
			}
			return o
		}},
		{"proxyotel-noop", func(b *testing.B) runtime.Observer {
			o, err := proxyotel.NewObserver() // global providers: no SDK installed, no-op
			if err != nil {
				b.Fatal(err)
			}
			return o
		}},
	}
	for _, r := range routes {
		for _, o := range observers {
			b.Run("route="+r.name+"/observer="+o.name, func(b *testing.B) {
				opts := []runtime.Option{runtime.WithLogger(discard)}
				if obs := o.new(b); obs != nil {
					opts = append(opts, runtime.WithObserver(obs))
				}
				in, err := runtime.NewInjector(runtime.Settings{Enabled: true, Lock: true,
					Default: runtime.Routes{WebSocket: r.route()}}, opts...)
				if err != nil {
					b.Fatal(err)
				}
				b.Cleanup(func() { _ = in.Close() })
				dial := in.WebSocketDialContext("binance")
				ctx := context.Background()
				b.ReportAllocs()
				for b.Loop() {
					c, err := dial(ctx, "tcp", target)
					if err != nil {
						b.Fatal(err)
					}
					c.Close()
				}
			})
		}
	}
}
