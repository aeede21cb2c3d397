package proxies

// Hand-written (not generated): enabled: false sends everything direct.

import "testing"

func TestDisabledIsDirect(t *testing.T) {
	for _, e := range Exchanges() {
		if HTTPProxy(e) != nil || WebSocketProxy(e) != nil {
			t.Errorf("%s: proxy %v / %v with enabled: false", e, HTTPProxy(e), WebSocketProxy(e))
		}
	}
	if HTTPProxy(Exchange(42)) != nil {
		t.Error("unknown exchange routed while disabled")
	}
}
