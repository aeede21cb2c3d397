package e2e

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/proxygen-go/proxygen/internal/testenv"
)

// TestModuleDependencies keeps go.mod to the libraries docs/DESIGN.md lists
// (and their own dependencies, marked indirect). A new direct dependency
// needs a reason in its commit and an entry here.
func TestModuleDependencies(t *testing.T) {
	allowed := map[string]bool{
		"github.com/dave/jennifer":                 true,
		"github.com/invopop/jsonschema":            true,
		"github.com/santhosh-tekuri/jsonschema/v6": true,
		"go.yaml.in/yaml/v3":                       true,
		"golang.org/x/tools":                       true,
		"github.com/gorilla/websocket":             true,
		"github.com/coder/websocket":               true,
		"github.com/gobwas/ws":                     true,
		"golang.org/x/net":                         true,
		"go.uber.org/goleak":                       true,
		"github.com/google/go-cmp":                 true,
		// invopop/jsonschema\'s Schema.Properties is this ordered map; the
		// schema package builds properties through it.
		"github.com/pb33f/ordered-map/v2": true,
		// The runtime is this repository's own nested module (replaced
		// by ./runtime); the generator's tests and examples use it.
		"github.com/proxygen-go/proxygen/runtime": true,
		// The demo serves /metrics through observe/proxyprom (-metrics,
		// examples/feed) with client_golang's promhttp, and the real
		// Prometheus test (internal/systest/observe) scrapes it. Neither
		// reaches cmd/proxygen nor a generated program: they depend on the
		// runtime module only (internal/systest/adopt's TestFreshModule).
		"github.com/proxygen-go/proxygen/observe/proxyprom": true,
		"github.com/prometheus/client_golang":               true,
		// internal/bench's BenchmarkObservedDial compares the dial path with
		// no observer, proxyprom and proxyotel (with the OpenTelemetry SDK
		// recording every span, and with no SDK) in one run; test-only.
		"github.com/proxygen-go/proxygen/observe/proxyotel": true,
		"go.opentelemetry.io/otel/sdk":                      true,
		"go.opentelemetry.io/otel/sdk/metric":               true,
	}
	f, err := os.Open(filepath.Join(testenv.RepoRoot(t), "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	inRequire := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "require (":
			inRequire = true
			continue
		case line == ")":
			inRequire = false
			continue
		case strings.HasPrefix(line, "require "):
			line = strings.TrimPrefix(line, "require ")
		case !inRequire:
			continue
		}
		fields := strings.Fields(line)
		if len(fields) < 2 || strings.Contains(line, "// indirect") {
			continue
		}
		if !allowed[fields[0]] {
			t.Errorf("go.mod requires %s directly: not among docs/DESIGN.md's libraries", fields[0])
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
}
