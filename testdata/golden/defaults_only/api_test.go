package proxies

// Hand-written (not generated): the zero Exchange is no exchange.

import "testing"

func TestZeroExchangeIsNoExchange(t *testing.T) {
	var zero Exchange
	if Binance != 1 || Bybit != 2 {
		t.Errorf("constants start at %d, want 1", Binance)
	}
	for _, e := range Exchanges() {
		if e == zero {
			t.Errorf("Exchanges() lists the zero value")
		}
	}
	if got := zero.String(); got != "Exchange(0)" {
		t.Errorf("Exchange(0).String() = %q, want Exchange(0)", got)
	}
	if e, ok := ParseExchange("nosuch"); ok || e != zero {
		t.Errorf("ParseExchange(nosuch) = %v, %v", e, ok)
	}
	if e, ok := ParseExchange("BINANCE"); !ok || e != Binance {
		t.Errorf("ParseExchange(BINANCE) = %v, %v", e, ok)
	}
	// No exchange routes like an id the spec does not list: the default.
	for _, e := range []Exchange{zero, Bybit + 1} {
		if p := HTTPProxy(e); p == nil || p.String() != "socks5h://proxy.internal:1080" {
			t.Errorf("HTTPProxy(%v) = %v, want the default route", e, p)
		}
	}
	if p := HTTPProxy(Binance); p == nil || p.Addr() != "proxy.internal:1080" {
		t.Errorf("HTTPProxy(Binance) = %v", p)
	}
}
