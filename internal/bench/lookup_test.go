package bench

import (
	"testing"

	"github.com/proxygen-go/proxygen/examples/feed/proxies"
	"github.com/proxygen-go/proxygen/runtime"
)

var sinkProxy *runtime.Proxy

// BenchmarkRouteLookup compares the ways to find an exchange's route, over
// the committed generated package examples/feed/proxies (6 exchanges):
// the typed accessor, the injector by string id, the global ProxyFor, and a
// plain map[string]*runtime.Proxy as the floor. Every variant cycles
// through the same 8 keys with the same indexing (i&7), so only the lookup
// differs.
func BenchmarkRouteLookup(b *testing.B) {
	in := proxies.Injector()
	var typed [8]proxies.Exchange
	var ids [8]string
	all := proxies.Exchanges()
	for i := range typed {
		typed[i] = all[i%len(all)]
		ids[i] = typed[i].String()
	}
	m := make(map[string]*runtime.Proxy, len(all))
	for _, e := range all {
		m[e.String()] = proxies.HTTPProxy(e)
	}
	runtime.Install(in)
	b.Cleanup(func() { runtime.Install(nil) })
	for _, id := range ids { // the same answers everywhere
		e, _ := proxies.ParseExchange(id)
		a, t, g := in.Proxy(id, runtime.TransportHTTP), proxies.HTTPProxy(e), runtime.ProxyFor(id, runtime.TransportHTTP)
		if (a == nil) != (t == nil) || (a == nil) != (g == nil) || a != nil && (a.String() != t.String() || a.String() != g.String()) {
			b.Fatalf("routes of %s differ between lookups", id)
		}
	}

	b.Run("lookup=map-baseline", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			sinkProxy = m[ids[i&7]]
		}
	})
	b.Run("lookup=typed", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			sinkProxy = proxies.HTTPProxy(typed[i&7])
		}
	})
	b.Run("lookup=injector-string", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			sinkProxy = in.Proxy(ids[i&7], runtime.TransportHTTP)
		}
	})
	b.Run("lookup=global-ProxyFor", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			sinkProxy = runtime.ProxyFor(ids[i&7], runtime.TransportHTTP)
		}
	})
}
