package gen

// Regression tests of issue 9's generator side; each test name carries its
// item number (TestSecNN_...).

import (
	"errors"
	"fmt"
	"go/parser"
	"go/scanner"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/proxygen-go/proxygen/schema"
)

const canary = "CANARY-s3cr3t"

const inlineSpec = `version: 1
enabled: true
default:
  http: { url: "http://user:` + canary + `@proxy.internal:3128" }
exchanges:
  binance: {}
`

// Item 1 and 7: Generate refuses a package name Go refuses, whether from
// the spec (built in code, bypassing Load) or Options.Package, and its
// error never holds generated source.
func TestSec01_GenerateRefusesBadPackage(t *testing.T) {
	opts := schema.Options{AllowInlineCredentials: true}
	for _, name := range []string{"type", "func", "go", "_", "main", "a-b"} {
		s := load(t, inlineSpec, opts)
		_, err := Generate(s, Options{AllowInlineCredentials: true, Package: name})
		if err == nil || strings.Contains(err.Error(), canary) || strings.Contains(err.Error(), "runtime.Proxy") {
			t.Errorf("-package %s: %v", name, err)
		}
		s.Package = name
		_, err = Generate(s, Options{AllowInlineCredentials: true})
		if err == nil || strings.Contains(err.Error(), canary) || !strings.Contains(err.Error(), fmt.Sprintf("package name %q", name)) {
			t.Errorf("spec package %s: %v", name, err)
		}
	}
}

// Item 1: a parse failure of generated code says where, never what: the
// parser's message can quote a literal (a password).
func TestSec01_FormatErrorWithholdsSource(t *testing.T) {
	src := "package type\n\nvar p = &Proxy{Password: \"" + canary + "\"}\n"
	fset := token.NewFileSet()
	_, perr := parser.ParseFile(fset, "", src, 0)
	var list scanner.ErrorList
	if !errors.As(perr, &list) {
		t.Fatalf("no parse error: %v", perr)
	}
	list = append(list, &scanner.Error{Pos: token.Position{Line: 3}, Msg: "found 'STRING' \"" + canary + "\""})
	for _, err := range []error{list, errors.New(canary)} {
		got := formatError(err).Error()
		if strings.Contains(got, canary) || strings.Contains(got, "Proxy") || !strings.Contains(got, "does not parse") {
			t.Errorf("formatError: %q", got)
		}
	}
	if got := formatError(list).Error(); !strings.Contains(got, "line 1") {
		t.Errorf("formatError lost the position: %q", got)
	}
}

// Item 6: MaxExchanges exchanges generate (the uint16 Exchange holds them:
// see the compile-time assertion in gen.go); more are refused even for a
// spec built in code.
func TestSec06_MaxExchanges(t *testing.T) {
	var b strings.Builder
	b.WriteString("version: 1\nenabled: true\nexchanges:\n")
	for i := range schema.MaxExchanges {
		fmt.Fprintf(&b, "  e%d: {}\n", i)
	}
	s := load(t, b.String(), schema.Options{})
	src := generate(t, s, Options{})
	if _, err := parser.ParseFile(token.NewFileSet(), "", src, 0); err != nil {
		t.Fatalf("generated code does not parse: %v", err)
	}
	if want := fmt.Sprintf("const numExchanges = %d", schema.MaxExchanges); !strings.Contains(src, want) {
		t.Errorf("generated code lacks %q", want)
	}
	if !testing.Short() {
		goBuild(t, src)
	}
	s.Exchanges["e_extra"] = &schema.Transports{}
	if _, err := Generate(s, Options{}); err == nil || !strings.Contains(err.Error(), "at most") {
		t.Errorf("MaxExchanges+1 exchanges: %v", err)
	}
}

// goBuild builds src as a package in a module that uses this repository's
// runtime.
func goBuild(t *testing.T, src string) {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the build check needs go on PATH: %v", err)
	}
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	// Generated code needs the runtime module only, which needs nothing.
	for name, data := range map[string][]byte{
		"go.mod":     []byte("module maxexchanges\n\ngo 1.22\n\nrequire github.com/proxygen-go/proxygen/runtime v0.0.0\n\nreplace github.com/proxygen-go/proxygen/runtime => " + filepath.Join(root, "runtime") + "\n"),
		"proxies.go": []byte(src),
	} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(goBin, "build", "./...")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOWORK=off")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build of %d exchanges: %v\n%s", schema.MaxExchanges, err, out)
	}
}
