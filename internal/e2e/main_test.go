package e2e

import (
	"fmt"
	"os"
	"testing"

	"go.uber.org/goleak"

	"github.com/proxygen-go/proxygen/internal/realproxy"
)

// TestMain checks, after every test, that no process of the real servers and
// no goroutine is left.
func TestMain(m *testing.M) {
	code := m.Run()
	if left := realproxy.Leaked(); len(left) > 0 {
		fmt.Fprintf(os.Stderr, "e2e: real-server processes left after the tests: %v\n", left)
		code = 1
	}
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintf(os.Stderr, "e2e: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}
