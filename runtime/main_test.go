package runtime

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if any goroutine outlives them: no
// dial, tunnel or test proxy may leave one behind.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
