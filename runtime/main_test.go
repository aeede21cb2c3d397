package runtime

import (
	"testing"

	"github.com/proxygen-go/proxygen/runtime/internal/leakcheck"
)

// TestMain fails the package's tests if any goroutine outlives them: no
// dial, tunnel or test proxy may leave one behind.
func TestMain(m *testing.M) {
	leakcheck.Main(m)
}
