package adopt

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/proxygen-go/proxygen/internal/testenv"
)

// newFeedMain is the program of the fresh module: it uses only the
// generated package.
const newFeedMain = `package main

import (
	"fmt"
	"os"

	"example.com/newfeed/proxies"
)

func main() {
	if err := proxies.Init(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	for _, e := range proxies.Exchanges() {
		fmt.Printf("%s http=%v websocket=%v\n", e, proxies.HTTPProxy(e), proxies.WebSocketProxy(e))
	}
}
`

// TestFreshModule walks a new user's path: a new module outside the
// repository (with replace directives to this checkout, since nothing is
// published), exactly the README's install lines (taken from README.md
// between the install markers, so the test breaks when the README drifts)
// and its quick-start spec, then go generate, go mod tidy, go generate again
// (the directive survives tidy), go build, go vet, and the program runs.
// The program's packages depend on the standard library and the runtime
// module only: the generator's module and its libraries stay out of the
// build.
func TestFreshModule(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a new module with the go command")
	}
	root := repoRoot(t)
	md := readme(t)

	// The README's lines.
	var commands [][]string
	var directive string
	for _, f := range fences(between(t, md, "<!-- install:begin", "<!-- install:end")) {
		for _, l := range strings.Split(f.body, "\n") {
			l = strings.TrimSpace(l)
			switch {
			case f.lang == "sh" && l != "" && !strings.HasPrefix(l, "#"):
				args := strings.Fields(l)
				if args[0] != "go" {
					t.Fatalf("README install line is not a go command: %q", l)
				}
				commands = append(commands, args[1:])
			case f.lang == "go" && strings.HasPrefix(l, "//go:generate "):
				directive = l
			}
		}
	}
	if len(commands) == 0 || directive == "" {
		t.Fatalf("README install section: %d commands, directive %q; want both", len(commands), directive)
	}
	if !strings.Contains(md, "go run github.com/proxygen-go/proxygen/cmd/proxygen@VERSION") {
		t.Errorf("README lacks the go run ...@VERSION form")
	}
	var spec string
	for _, f := range fences(md[strings.Index(md, "## Quick start"):]) {
		if f.lang == "yaml" {
			spec = f.body
			break
		}
	}
	if spec == "" {
		t.Fatal("README's quick start has no yaml spec")
	}

	dir := t.TempDir()
	if rel, err := filepath.Rel(root, dir); err == nil && !strings.HasPrefix(rel, "..") {
		t.Fatalf("the fresh module %s is inside the repository", dir)
	}
	// Nothing is published, so the harness (not the README) adds what a
	// registry would give: replace directives to this checkout, and the
	// checksums of the generator's libraries (go.sum of the checkout: the
	// checksum database need not be reachable). Modules come from the local
	// module cache (.ci/run fills it), else from the configured proxy; see
	// offlineFallback.
	env := moduleEnv(t)
	goCmd(t, dir, env, "mod", "init", "example.com/newfeed")
	goCmd(t, dir, env, "mod", "edit",
		"-replace=github.com/proxygen-go/proxygen="+root,
		"-replace=github.com/proxygen-go/proxygen/runtime="+filepath.Join(root, "runtime"))
	sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "go.sum"), sum, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range commands {
		t.Logf("README: go %s", strings.Join(args, " "))
		goCmd(t, dir, env, args...)
	}
	write := func(rel, data string) {
		t.Helper()
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("proxies/proxies.yaml", spec)
	write("proxies/generate.go", "package proxies\n\n"+directive+"\n")
	write("main.go", newFeedMain)
	t.Logf("README: %s", directive)

	goCmd(t, dir, env, "generate", "./...")
	goCmd(t, dir, env, "mod", "tidy")
	gomod, _ := os.ReadFile(filepath.Join(dir, "go.mod"))
	if !strings.Contains(string(gomod), "tool github.com/proxygen-go/proxygen/cmd/proxygen") {
		t.Errorf("go mod tidy dropped the tool:\n%s", gomod)
	}
	// The root module requires observe/proxyprom and client_golang for its
	// demo; the tool does not import them, so a user's go.mod stays free
	// of them.
	for _, m := range []string{"prometheus", "opentelemetry", "proxygen/observe/"} {
		if strings.Contains(string(gomod), m) {
			t.Errorf("the user's go.mod mentions %s (the tool does not need it):\n%s", m, gomod)
		}
	}
	if err := os.Remove(filepath.Join(dir, "proxies", "proxies.go")); err != nil {
		t.Fatal(err)
	}
	goCmd(t, dir, env, "generate", "./...") // still works after tidy
	src, err := os.ReadFile(filepath.Join(dir, "proxies", "proxies.go"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(src), "\npackage proxies\n") {
		t.Errorf("generated file is not in package proxies ($GOPACKAGE):\n%.300s", src)
	}
	goCmd(t, dir, env, "build", "./...")
	goCmd(t, dir, env, "vet", "./...")

	out := goCmd(t, dir, append(env, "PROXY_USER=feeduser", "PROXY_PASS="+testenv.Canary), "run", ".")
	for _, want := range []string{
		"binance http=https://eu-egress.internal:8443 websocket=http://***@proxy.internal:3128",
		"bybit http=socks5h://proxy.internal:1080 websocket=http://***@proxy.internal:3128",
		"kraken http=socks5h://proxy.internal:1080 websocket=<nil>",
		"proxy route", // Init's route table on the default logger
	} {
		if !strings.Contains(out, want) {
			t.Errorf("program output lacks %q:\n%s", want, out)
		}
	}
	testenv.NoCanary(t, "the program's output", out)

	list := goCmd(t, dir, env, "list", "-deps", "-f", "{{if .Module}}{{.Module.Path}}{{else}}std{{end}}", "./...")
	var mods []string
	for _, m := range strings.Fields(list) {
		if !slices.Contains(mods, m) {
			mods = append(mods, m)
		}
	}
	slices.Sort(mods)
	t.Logf("go list -deps ./... (modules): %s", strings.Join(mods, " "))
	for _, m := range mods {
		if m != "std" && m != "example.com/newfeed" && m != "github.com/proxygen-go/proxygen/runtime" {
			t.Errorf("the program depends on module %s: want only std and the runtime module", m)
		}
	}
	if !slices.Contains(mods, "github.com/proxygen-go/proxygen/runtime") {
		t.Errorf("the program does not use the runtime module: %v", mods)
	}
}
