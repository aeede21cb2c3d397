package runtime

import (
	"testing"

	"github.com/proxygen-go/proxygen/runtime/internal/apifile"
)

// TestAPI compares the package's exported API with api.txt, so that every
// change to it shows up in that file's diff. After a deliberate change:
// go test -run TestAPI -update.
func TestAPI(t *testing.T) {
	apifile.Check(t, "runtime", "generated.go")
}
