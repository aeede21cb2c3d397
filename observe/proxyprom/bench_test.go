package proxyprom

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/proxygen-go/proxygen/runtime"
)

// BenchmarkDialEvents is the observer's cost for one dial through a pool:
// DialStart, one attempt, DialDone, tunnel open and close.
func BenchmarkDialEvents(b *testing.B) {
	o, err := NewObserver(prometheus.NewRegistry())
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	start := runtime.DialStart{Exchange: "binance", Transport: runtime.TransportHTTP, Target: "api.example.com:443"}
	att := runtime.Attempt{Exchange: "binance", Target: "api.example.com:443", Proxy: live, N: 1, Handshake: time.Millisecond}
	done := runtime.DialDone{Exchange: "binance", Target: "api.example.com:443", Proxy: live, Duration: time.Millisecond, Attempts: 1}
	tun := runtime.Tunnel{Exchange: "binance", Target: "api.example.com:443", Proxy: live}
	b.ReportAllocs()
	for b.Loop() {
		c := o.DialStart(ctx, start)
		o.Attempt(c, att)
		o.DialDone(c, done)
		o.TunnelOpen(tun)
		o.TunnelClose(tun)
	}
}
