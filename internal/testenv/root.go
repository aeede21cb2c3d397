package testenv

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Module is the root module's path.
const Module = "github.com/proxygen-go/proxygen"

// RepoRoot returns the repository's root directory, absolute: the nearest
// directory above the test's working directory whose go.mod declares
// Module. It fails t when there is none, so a test that moves keeps
// finding the repository.
func RepoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && bytes.HasPrefix(b, []byte("module "+Module+"\n")) {
			return dir
		}
		up := filepath.Dir(dir)
		if up == dir {
			t.Fatalf("no directory above the working directory holds the go.mod of %s", Module)
		}
		dir = up
	}
}

// RootRequires returns the require directives of the root module's go.mod,
// each block or line as written. A throw-away module that needs the root's
// dependencies (at the root's versions) writes them into its go.mod and
// copies the root's go.sum: its go.mod is then complete, and the go command
// builds it under CI's -mod=readonly. It fails t when there is none.
func RootRequires(t testing.TB) string {
	t.Helper()
	gomod, err := os.ReadFile(filepath.Join(RepoRoot(t), "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	in := false
	for _, l := range strings.Split(string(gomod), "\n") {
		switch {
		case in:
			b.WriteString(l + "\n")
			in = l != ")"
		case strings.HasPrefix(l, "require ("):
			b.WriteString(l + "\n")
			in = true
		case strings.HasPrefix(l, "require "):
			b.WriteString(l + "\n")
		}
	}
	if b.Len() == 0 {
		t.Fatal("the root go.mod has no require directive")
	}
	return b.String()
}
