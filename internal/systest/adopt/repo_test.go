package adopt

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// trackedFiles lists the repository's files as git tracks them (plus new,
// not yet ignored ones, so the test sees work in progress too).
func trackedFiles(t *testing.T, root string) []string {
	t.Helper()
	cmd := exec.Command("git", "ls-files", "--cached", "--others", "--exclude-standard")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		t.Skipf("git ls-files: %v (not a git checkout?)", err)
	}
	var files []string
	for _, f := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if f != "" {
			files = append(files, f)
		}
	}
	return files
}

// TestSelfContained: the repository stands alone. No file points at the
// workspace outside it (a sibling shared folder, the original design
// document's seed file), every citation of the design document names the
// repository's own docs/DESIGN.md, and LICENSE and CHANGELOG.md exist.
func TestSelfContained(t *testing.T) {
	root := repoRoot(t)
	// Built from pieces so that this file does not match itself.
	outside := []string{".." + "/shared", "shared/" + "DESIGN.md", "seed/" + "000_"}
	bareDesign := regexp.MustCompile(`(^|[^/A-Za-z_])DESIGN\.md`)
	for _, f := range []string{"docs/DESIGN.md", "LICENSE", "CHANGELOG.md"} {
		if _, err := os.Stat(filepath.Join(root, filepath.FromSlash(f))); err != nil {
			t.Errorf("the repository lacks %s: %v", f, err)
		}
	}
	files := trackedFiles(t, root)
	if len(files) < 50 {
		t.Fatalf("only %d files listed", len(files))
	}
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(root, f))
		if err != nil {
			if os.IsNotExist(err) {
				continue // deleted in the work tree
			}
			t.Fatal(err)
		}
		text := string(b)
		for _, s := range outside {
			if strings.Contains(text, s) {
				t.Errorf("%s mentions %q: a file outside the repository", f, s)
			}
		}
		if strings.HasPrefix(f, "docs/") || f == "internal/systest/adopt/repo_test.go" {
			continue // docs/ links it relatively; this file names the rule
		}
		for n, line := range strings.Split(text, "\n") {
			if bareDesign.MatchString(line) {
				t.Errorf("%s:%d: cites DESIGN.md without its path (docs/DESIGN.md): %s", f, n+1, strings.TrimSpace(line))
			}
		}
	}
}

// TestRuntimeModule: the runtime is its own module, standard library only
// (its tests included), with go 1.22 as its go line, and go vet (whose
// stdversion analyzer flags standard library APIs newer than the go line)
// passes on it.
func TestRuntimeModule(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the go command on the runtime module")
	}
	dir := filepath.Join(repoRoot(t), "runtime")
	f, err := os.Open(filepath.Join(dir, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var module, goLine string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 {
			continue
		}
		switch fields[0] {
		case "module":
			module = fields[1]
		case "go":
			goLine = fields[1]
		case "require", "replace", "toolchain", "tool":
			t.Errorf("runtime/go.mod has a %s directive: the runtime module must need nothing", fields[0])
		}
	}
	if module != "github.com/proxygen-go/proxygen/runtime" || goLine != "1.22" {
		t.Errorf("runtime/go.mod: module %q go %q, want github.com/proxygen-go/proxygen/runtime and go 1.22", module, goLine)
	}
	env := []string{"GOWORK=off", "GOFLAGS=-mod=readonly"}
	out := goCmd(t, dir, env, "list", "-deps", "-test", "-f", "{{if not .Standard}}{{with .Module}}{{.Path}}{{end}}|{{.ImportPath}}{{end}}", "./...")
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		mod, pkg, _ := strings.Cut(l, "|")
		if l == "" || mod == module || (mod == "" && strings.HasSuffix(pkg, ".test")) {
			continue // the module's own packages, test variants and test mains
		}
		t.Errorf("the runtime module (with its tests) depends on %s (module %q)", pkg, mod)
	}
	goCmd(t, dir, env, "vet", "./...")
	t.Logf("runtime/go.mod: go %s; go vet ./... in runtime/: ok", goLine)
}
