package adopt

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/proxygen-go/proxygen/internal/testenv"
)

// snippetImports are the package names README snippets may use, and their
// import paths. proxies is the committed generated example package.
var snippetImports = map[string]string{
	"proxies":    "github.com/proxygen-go/proxygen/examples/feed/proxies",
	"runtime":    "github.com/proxygen-go/proxygen/runtime",
	"proxytest":  "github.com/proxygen-go/proxygen/runtime/proxytest",
	"proxyprom":  "github.com/proxygen-go/proxygen/observe/proxyprom",
	"prometheus": "github.com/prometheus/client_golang/prometheus",
	"promhttp":   "github.com/prometheus/client_golang/prometheus/promhttp",
	"websocket":  "github.com/gorilla/websocket",
	"cws":        "github.com/coder/websocket",
	"context":    "context",
	"errors":     "errors",
	"fmt":        "fmt",
	"http":       "net/http",
	"log":        "log",
	"net":        "net",
	"os":         "os",
	"slog":       "log/slog",
	"time":       "time",
}

// snippetFile turns one README Go block into a Go file of package p: the
// block as top-level declarations when it parses as such, else as the body
// of a function; imports are the snippetImports it uses. A //line
// directive makes compiler errors point at README.md.
func snippetFile(t *testing.T, pkg string, f fence) string {
	t.Helper()
	body := fmt.Sprintf("//line README.md:%d\n%s", f.line+1, f.body)
	src := "package " + pkg + "\n\n" + body
	fset := token.NewFileSet()
	file, err := parser.ParseFile(fset, "", src, parser.ParseComments)
	if err != nil {
		src = "package " + pkg + "\n\nfunc _() {\n" + body + "}\n"
		if file, err = parser.ParseFile(fset, "", src, parser.ParseComments); err != nil {
			t.Fatalf("README.md:%d: the Go block parses neither as declarations nor as statements: %v", f.line, err)
		}
	}
	used := map[string]bool{}
	ast.Inspect(file, func(n ast.Node) bool {
		if sel, ok := n.(*ast.SelectorExpr); ok {
			if id, ok := sel.X.(*ast.Ident); ok && snippetImports[id.Name] != "" {
				used[id.Name] = true
			}
		}
		return true
	})
	var names []string
	for n := range used {
		names = append(names, n)
	}
	sort.Strings(names)
	var imp strings.Builder
	for _, n := range names {
		fmt.Fprintf(&imp, "import %s %q\n", n, snippetImports[n])
	}
	i := strings.Index(src, "\n\n")
	return src[:i+2] + imp.String() + "\n" + src[i+2:]
}

// TestReadmeGoSnippets compiles and vets every Go block of README.md, each
// in a package of a module outside the repository that imports the
// committed generated example package (examples/feed/proxies), so the
// README's code stays real.
func TestReadmeGoSnippets(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a module with the go command")
	}
	root := repoRoot(t)
	var blocks []fence
	for _, f := range fences(readme(t)) {
		if f.lang == "go" {
			blocks = append(blocks, f)
		}
	}
	if len(blocks) < 3 {
		t.Fatalf("README.md has %d Go blocks; has the fence format changed?", len(blocks))
	}
	dir := t.TempDir()
	// A complete go.mod (the root module and its requirements at the
	// root's versions, with the root's go.sum), so the build runs under
	// CI's -mod=readonly as it is.
	gomod := "module readmesnippets\n\ngo 1.26.0\n\nrequire github.com/proxygen-go/proxygen v0.0.0\n\n" + testenv.RootRequires(t) + "\n" +
		"replace github.com/proxygen-go/proxygen => " + root + "\n\nreplace github.com/proxygen-go/proxygen/runtime => " + filepath.Join(root, "runtime") + "\n" +
		"\nreplace github.com/proxygen-go/proxygen/observe/proxyprom => " + filepath.Join(root, "observe", "proxyprom") + "\n" +
		"\nreplace github.com/proxygen-go/proxygen/observe/proxyotel => " + filepath.Join(root, "observe", "proxyotel") + "\n"
	sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{"go.mod": gomod, "go.sum": string(sum)}
	for i, f := range blocks {
		pkg := fmt.Sprintf("s%02d", i+1)
		files[filepath.Join(pkg, "snippet.go")] = snippetFile(t, pkg, f)
	}
	for name, data := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	env := []string{"GOWORK=off", "GOPROXY=" + offlineFallback(t)}
	goCmd(t, dir, env, "build", "./...")
	goCmd(t, dir, env, "vet", "./...")
	t.Logf("%d Go blocks of README.md compiled and vetted", len(blocks))
}
