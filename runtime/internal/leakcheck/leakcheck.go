// Package leakcheck fails a test binary whose tests leave goroutines behind.
// It is the runtime module's own small replacement for go.uber.org/goleak,
// so that the module stays standard library only, tests included. It is for
// tests only: no non-test file may import it.
package leakcheck

import (
	"fmt"
	"os"
	goruntime "runtime"
	"strings"
	"testing"
	"time"
)

// ignored are substrings of stacks that belong to the test harness or to
// the Go runtime, not to the code under test.
var ignored = []string{
	"testing.(*M).",
	"testing.Main(",
	"testing.tRunner(",
	"testing.runFuzzing(",
	"os/signal.",
	"runtime.ensureSigM",
	"runtime/trace.",
}

// Main runs the tests, then waits up to 5 s for every goroutine other than
// the harness's to end; if some remain, it prints their stacks and exits 1.
// Use it as TestMain: func TestMain(m *testing.M) { leakcheck.Main(m) }.
func Main(m *testing.M) {
	code := m.Run()
	if code == 0 {
		if leaked := wait(5 * time.Second); len(leaked) > 0 {
			fmt.Fprintf(os.Stderr, "leakcheck: %d goroutine(s) outlived the tests:\n\n%s\n", len(leaked), strings.Join(leaked, "\n\n"))
			code = 1
		}
	}
	os.Exit(code)
}

// Leaked returns the stacks of the goroutines that are not the caller's and
// not the harness's, right now.
func Leaked() []string {
	buf := make([]byte, 1<<20)
	for {
		n := goruntime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	blocks := strings.Split(strings.TrimSpace(string(buf)), "\n\n")
	var out []string
	for i, b := range blocks {
		if i == 0 { // the calling goroutine comes first
			continue
		}
		if interesting(b) {
			out = append(out, b)
		}
	}
	return out
}

func interesting(stack string) bool {
	for _, s := range ignored {
		if strings.Contains(stack, s) {
			return false
		}
	}
	return true
}

func wait(max time.Duration) []string {
	deadline := time.Now().Add(max)
	delay := time.Millisecond
	for {
		leaked := Leaked()
		if len(leaked) == 0 || time.Now().After(deadline) {
			return leaked
		}
		time.Sleep(delay)
		if delay < 100*time.Millisecond {
			delay *= 2
		}
	}
}
