package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/proxygen-go/proxygen/gen"
	"github.com/proxygen-go/proxygen/internal/testenv"
	"github.com/proxygen-go/proxygen/schema"
)

// goCommand finds the go command, skipping (failing under CI) without it.
func goCommand(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("uses the go command")
	}
	p, err := exec.LookPath("go")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("needs the go command on PATH: %v", err)
		}
		t.Skipf("needs the go command on PATH: %v", err)
	}
	return p
}

// TestRuntimeStdlibOnly: docs/DESIGN.md's layout promises that the runtime (and
// so every program that links generated code) imports the standard library
// only: `go list -deps ./runtime` shows no module outside std.
func TestRuntimeStdlibOnly(t *testing.T) {
	goTool := goCommand(t)
	cmd := exec.Command(goTool, "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", "github.com/proxygen-go/proxygen/runtime")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, p := range strings.Fields(string(out)) {
		if p != "github.com/proxygen-go/proxygen/runtime" {
			t.Errorf("the runtime depends on %s, which is not in the standard library", p)
		}
	}
}

// TestSupportPackageGuard: generated code names the runtime's
// SupportPackageIsVersionN constant, so a generated file that needs a
// runtime this module does not provide fails to build (instead of
// misbehaving at run time). The unmodified file builds; the same file
// asking for version 999 does not, and the error names the constant.
func TestSupportPackageGuard(t *testing.T) {
	goTool := goCommand(t)
	root := testenv.RepoRoot(t)
	spec := []byte("version: 1\npackage: proxies\nenabled: true\ndefault:\n  http: { url: \"socks5h://127.0.0.1:1080\" }\nexchanges:\n  binance: {}\n")
	s, err := schema.Load("spec.yaml", spec, schema.Options{})
	if err != nil {
		t.Fatal(err)
	}
	files, err := gen.Generate(s, gen.Options{Source: "spec.yaml"})
	if err != nil {
		t.Fatal(err)
	}
	src := string(files[gen.FileName])
	const guard = "runtime.SupportPackageIsVersion1"
	if !strings.Contains(src, guard) {
		t.Fatalf("the generated file does not reference %s", guard)
	}
	// The generated file imports the runtime module alone, which imports the
	// standard library alone: this go.mod is complete and needs no go.sum
	// (a replaced directory has no checksum), so the build runs under CI's
	// -mod=readonly as it is.
	mod := t.TempDir()
	gomod := "module guard\n\ngo 1.26.0\n\nrequire github.com/proxygen-go/proxygen/runtime v0.0.0\n\nreplace github.com/proxygen-go/proxygen/runtime => " + filepath.Join(root, "runtime") + "\n"
	for name, data := range map[string]string{
		"go.mod":            gomod,
		"ok/proxygen.go":    src,
		"newer/proxygen.go": strings.Replace(src, guard, "runtime.SupportPackageIsVersion999", 1),
	} {
		p := filepath.Join(mod, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	build := func(pkg string) (string, error) {
		cmd := exec.Command(goTool, "build", "./"+pkg)
		cmd.Dir = mod
		cmd.Env = append(os.Environ(), "GOWORK=off")
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := build("ok"); err != nil {
		t.Fatalf("the generated file does not build: %v\n%s", err, out)
	}
	out, err := build("newer")
	if err == nil {
		t.Fatal("a generated file asking for SupportPackageIsVersion999 built against this runtime")
	}
	if !strings.Contains(out, "SupportPackageIsVersion999") {
		t.Errorf("the build error does not name the missing constant:\n%s", out)
	}
}
