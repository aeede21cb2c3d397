package runtime

import (
	"strconv"
	"testing"
)

func benchSettings() (Settings, []string) {
	s := Settings{Enabled: true, Default: Routes{HTTP: &Route{Proxies: []*Proxy{px(SOCKS5H, "def", 1080)}}}, Exchanges: map[string]Routes{}}
	ids := []string{"binance", "binance_futures", "kraken", "coinbase", "bybit", "okx", "bitfinex", "deribit"}
	for i := range 40 {
		ids = append(ids, "exchange_"+strconv.Itoa(i))
	}
	for i, id := range ids {
		if i%2 == 0 {
			s.Exchanges[id] = Routes{HTTP: &Route{Proxies: []*Proxy{px(HTTP, "p"+strconv.Itoa(i), 3128)}}}
		} else {
			s.Exchanges[id] = Routes{}
		}
	}
	return s, ids
}

var sinkProxy *Proxy

// BenchmarkProxyLookupString: the injector by string id (lower case, as
// feed code passes it).
func BenchmarkProxyLookupString(b *testing.B) {
	s, ids := benchSettings()
	in, err := NewInjector(s)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		sinkProxy = in.Proxy(ids[i%len(ids)], TransportHTTP)
	}
}

// BenchmarkProxyLookupStringMixedCase: ids that need lower-casing.
func BenchmarkProxyLookupStringMixedCase(b *testing.B) {
	s, ids := benchSettings()
	in, err := NewInjector(s)
	if err != nil {
		b.Fatal(err)
	}
	upper := make([]string, len(ids))
	for i, id := range ids {
		upper[i] = "X" + id[1:]
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		sinkProxy = in.Proxy(upper[i%len(upper)], TransportHTTP)
	}
}

// BenchmarkProxyLookupMapBaseline: a plain map[string]*Proxy, the floor.
func BenchmarkProxyLookupMapBaseline(b *testing.B) {
	s, ids := benchSettings()
	m := make(map[string]*Proxy, len(ids))
	for id, r := range s.Exchanges {
		if r.HTTP != nil {
			m[id] = r.HTTP.Proxies[0]
		} else {
			m[id] = s.Default.HTTP.Proxies[0]
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		sinkProxy = m[ids[i%len(ids)]]
	}
}

func TestProxyLookupAllocs(t *testing.T) {
	s, _ := benchSettings()
	in, err := NewInjector(s)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"binance", "BINANCE_Futures", "unknown", "UNKNOWN"} {
		if n := testing.AllocsPerRun(100, func() { sinkProxy = in.Proxy(id, TransportWebSocket) }); n != 0 {
			t.Errorf("Proxy(%q) allocates %v times", id, n)
		}
	}
	if n := testing.AllocsPerRun(100, func() { _ = in.HTTPClient("Kraken") }); n != 0 {
		t.Errorf("HTTPClient allocates %v times after first use", n)
	}
}
