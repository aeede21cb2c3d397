package e2e

import (
	"os"
	"testing"

	"github.com/proxygen-go/proxygen/internal/testenv/realproxy"
)

// TestMain fails the run when a real server process or a goroutine is left.
func TestMain(m *testing.M) { os.Exit(realproxy.Main(m)) }
