package realproxy

import (
	"fmt"
	"os"
	"testing"

	"go.uber.org/goleak"
)

// Main runs a package's tests, then fails the run when a real server
// process or, after passing tests, a goroutine is left. Use it as
//
//	func TestMain(m *testing.M) { os.Exit(realproxy.Main(m)) }
func Main(m *testing.M) int {
	code := m.Run()
	if left := Leaked(); len(left) > 0 {
		fmt.Fprintf(os.Stderr, "real-server processes left after the tests: %v\n", left)
		code = 1
	}
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			code = 1
		}
	}
	return code
}
