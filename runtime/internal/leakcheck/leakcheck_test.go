package leakcheck

import (
	"strings"
	"testing"
	"time"
)

// TestLeakedSeesABlockedGoroutine: a goroutine the test starts and leaves
// blocked is reported with its stack, and is gone once it ends.
func TestLeakedSeesABlockedGoroutine(t *testing.T) {
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { blockedHere(stop); close(done) }()
	time.Sleep(10 * time.Millisecond)
	found := false
	for _, s := range Leaked() {
		if strings.Contains(s, "blockedHere") {
			found = true
		}
	}
	if !found {
		t.Fatalf("Leaked() misses a blocked goroutine: %q", Leaked())
	}
	close(stop)
	<-done
	for _, s := range wait(2 * time.Second) {
		if strings.Contains(s, "blockedHere") {
			t.Fatalf("the goroutine ended but is still reported:\n%s", s)
		}
	}
}

func blockedHere(stop chan struct{}) { <-stop }
