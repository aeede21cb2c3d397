package schema_test

import (
	"testing"

	"github.com/proxygen-go/proxygen/schema"
)

// Item 9: every id the grammar admits is reachable from the environment
// overlay (the other direction, ids the overlay cannot reach are refused,
// is TestSec09_ExchangeIDGrammar).
func TestSec09_IDsReachableFromEnvOverlay(t *testing.T) {
	for _, prefix := range []string{"", "env_prefix: FEED_\n"} {
		src := "version: 1\nenabled: true\n" + prefix + "exchanges:\n  binance: {}\n  binance_futures: {}\n  a1_2b_c3: {}\n  Gate_IO: {}\n  x_1: {}\n  y1: {}\n"
		spec, err := schema.Load("f.yaml", []byte(src), schema.Options{})
		if err != nil {
			t.Fatal(err)
		}
		envRoundTrip(t, spec)
	}
}
