package apifile

import (
	"strings"
	"testing"
)

func TestExtract(t *testing.T) {
	items, err := Extract("testdata/sample", "gen.go")
	if err != nil {
		t.Fatal(err)
	}
	got := string(Format("sample", "gen.go", items))
	want := `# The exported API of package sample, extracted from its source by TestAPI.
# Rewrite with: go test . -run TestAPI -update, then review the diff: every change is deliberate.
# 12 names (consts, vars, types, funcs, methods); 17 lines with fields.
const A Kind
const B Kind
const Untyped = 3
func F(string, string, ...int) *T
method (*T) Get(string) (string, bool)
type I interface
type I interface, M(int, int) (int, error)
type Kind int
type T struct
type T struct, Dial func(context.Context, string, string) (net.Conn, error)
type T struct, Name string
type T struct, embedded Kind
var V = 1

# For proxygen's generated code only (gen.go); not for programs.
func NewG() *G
method (*G) Do()
type G struct
type G struct, X int
`
	if got != want {
		t.Errorf("got:\n%s\nwant:\n%s\ndiff:\n%s", got, want, diff(want, got))
	}
	names, all := Counts(items)
	if names != 12 || all != 17 {
		t.Errorf("Counts = %d, %d; want 12, 17", names, all)
	}
}

func TestDiff(t *testing.T) {
	d := diff("a\nb\nc\n", "a\nc\nd\n")
	if d != "-b\n+d\n" {
		t.Errorf("diff = %q", d)
	}
	if d := diff("a\n", "a\n"); d != "" {
		t.Errorf("diff of equal texts = %q", d)
	}
	if !strings.HasPrefix(diff("x\n", "x\nx\n"), "+x") {
		t.Error("a repeated line is not reported")
	}
}
