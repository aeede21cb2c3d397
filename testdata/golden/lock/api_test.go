package lockedproxies

// Hand-written (not generated): a locked build ignores the environment.

import (
	"testing"

	"github.com/proxygen-go/proxygen/runtime"
)

func TestLockIgnoresEnv(t *testing.T) {
	t.Cleanup(func() { runtime.Install(nil) })
	t.Setenv("CRYPTOFEED_PROXY_ENABLED", "false")
	t.Setenv("CRYPTOFEED_PROXY_EXCHANGES__DERIBIT__HTTP__URL", "socks5://127.0.0.1:1")
	t.Setenv("CRYPTOFEED_PROXY_NOT_A_FIELD", "x")
	if err := Init(); err != nil {
		t.Fatalf("Init: %v", err)
	}
	if p := HTTPProxy(Deribit); p == nil || p.String() != "http://proxy.internal:3128" {
		t.Errorf("locked build changed by env: %v", p)
	}
}
