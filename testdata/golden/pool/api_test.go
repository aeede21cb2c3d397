package proxies

// Hand-written (not generated): the compiled pool routes of a generated
// package, resolved by the runtime's one rule.

import (
	"testing"
	"time"

	"github.com/proxygen-go/proxygen/runtime"
)

func TestCompiledPool(t *testing.T) {
	s := Settings()
	if err := runtime.Validate(s); err != nil {
		t.Fatalf("compiled settings: %v", err)
	}
	ws, _ := runtime.ResolveRoute(s, "other", runtime.TransportWebSocket)
	if len(ws.Proxies) != 2 || ws.Strategy != runtime.StrategySticky || ws.HedgeAfter != 250*time.Millisecond || ws.Proxies[1].String() != "socks5h://eu2.internal:1080" {
		t.Errorf("default websocket: %+v", ws)
	}
	// kraken's explicit hedge_after_ms: 0 beats the default's 250; its
	// strategy is inherited.
	kr, o := runtime.ResolveRoute(s, "kraken", runtime.TransportWebSocket)
	if len(kr.Proxies) != 1 || kr.HedgeAfter != 0 || !kr.Has(runtime.SetHedgeAfter) || kr.Strategy != runtime.StrategySticky ||
		o.Of(runtime.SetStrategy).Origin != runtime.OriginDefault || o.Of(runtime.SetHedgeAfter).Origin != runtime.OriginOverride ||
		kr.WhenAllDown != runtime.FailFast || kr.AttemptTimeout != 3*time.Second || kr.HealthCheck.Target != "api.kraken.com:443" {
		t.Errorf("kraken websocket: %+v", kr)
	}
	if p := WebSocketProxy(Kraken); p == nil || p.String() != "socks5h://kraken.internal:1080" {
		t.Errorf("WebSocketProxy(Kraken) = %v", p)
	}
}
