package runtime

import "testing"

// Issue 9 item 10: the runtime's by-id lookup folds exactly as
// NormalizeExchangeID (ASCII only), which generated ParseExchange uses.
func FuzzSec10_LookupFoldsLikeNormalize(f *testing.F) {
	for _, s := range []string{"binance", "BINANCE", "\u212araken", "KRAKEN", "gate_io", "GATE_\u0130O", "ﬀ", ""} {
		f.Add(s)
	}
	in, err := NewInjector(Settings{Enabled: true, Exchanges: map[string]Routes{
		"binance": {HTTP: &Route{Direct: true}}, "kraken": {HTTP: &Route{Direct: true}}, "gate_io": {HTTP: &Route{Direct: true}},
	}})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r := in.lookup(s)
		want, ok := in.byID[NormalizeExchangeID(s)]
		if !ok {
			want = in.def
		}
		if r != want {
			t.Errorf("%q: lookup and NormalizeExchangeID disagree", s)
		}
		for i := 0; i < len(NormalizeExchangeID(s)); i++ {
			if c := NormalizeExchangeID(s)[i]; 'A' <= c && c <= 'Z' {
				t.Errorf("%q: upper case left", s)
			}
		}
	})
}
