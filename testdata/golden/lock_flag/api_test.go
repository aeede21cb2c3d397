package proxies

// Hand-written (not generated): generate -lock ignores the environment
// although the spec itself does not say lock.

import (
	"testing"

	"github.com/proxygen-go/proxygen/runtime"
)

func TestLockFlagIgnoresEnv(t *testing.T) {
	t.Cleanup(func() { runtime.Install(nil) })
	t.Setenv("CRYPTOFEED_PROXY_DEFAULT__WEBSOCKET__URL", "socks5://127.0.0.1:1")
	if err := Init(); err != nil {
		t.Fatalf("Init: %v", err)
	}
	if p := WebSocketProxy(Bitmex); p == nil || p.String() != "socks5h://proxy.internal:1080" {
		t.Errorf("-lock build changed by env: %v", p)
	}
}
