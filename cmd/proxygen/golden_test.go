package main

import (
	"bytes"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

const goldenDir = "../../testdata/golden"

// goldenCase is one folder of testdata/golden: spec.yaml in; proxygen.go
// (positive) or stderr.golden (negative) out; optional args holds extra
// generate flags.
type goldenCase struct {
	name, dir string
	args      []string
}

func goldenCases(t *testing.T) []goldenCase {
	t.Helper()
	entries, err := os.ReadDir(goldenDir)
	if err != nil {
		t.Fatal(err)
	}
	var cases []goldenCase
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		dir, err := filepath.Abs(filepath.Join(goldenDir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		c := goldenCase{name: e.Name(), dir: dir}
		if b, err := os.ReadFile(filepath.Join(dir, "args")); err == nil {
			c.args = strings.Fields(string(b))
		}
		cases = append(cases, c)
	}
	if len(cases) == 0 {
		t.Fatal("no golden cases")
	}
	return cases
}

// TestGolden runs proxygen generate on every case and compares the output
// (generated file, or exit status 1 and stderr) with the golden files.
func TestGolden(t *testing.T) {
	for _, c := range goldenCases(t) {
		t.Run(c.name, func(t *testing.T) {
			t.Chdir(c.dir) // error messages name "spec.yaml", as a user typing it would see
			out := filepath.Join(t.TempDir(), "proxygen.go")
			args := append([]string{"generate", "-spec", "spec.yaml", "-out", out}, c.args...)
			var stdout, stderr bytes.Buffer
			code := run(args, &stdout, &stderr)
			goldGo := filepath.Join(c.dir, "proxygen.go")
			goldErr := filepath.Join(c.dir, "stderr.golden")
			if *update {
				os.Remove(goldGo)
				os.Remove(goldErr)
				if code == exitOK {
					copyFile(t, out, goldGo)
				} else {
					writeFile(t, goldErr, stderr.Bytes())
				}
			}
			if _, err := os.Stat(goldGo); err == nil {
				if code != exitOK {
					t.Fatalf("exit %d, want 0; stderr:\n%s", code, stderr.String())
				}
				if stderr.Len() > 0 || stdout.Len() > 0 {
					t.Errorf("unexpected output: stdout %q stderr %q", stdout.String(), stderr.String())
				}
				assertSameFile(t, out, goldGo)
				assertDeterministic(t, args, out)
				return
			}
			want, err := os.ReadFile(goldErr)
			if err != nil {
				t.Fatalf("case has neither proxygen.go nor stderr.golden: %v", err)
			}
			if code != exitInvalid {
				t.Errorf("exit %d, want %d", code, exitInvalid)
			}
			if got := stderr.String(); got != string(want) {
				t.Errorf("stderr:\n%s\nwant:\n%s", got, want)
			}
			if _, err := os.Stat(out); !os.IsNotExist(err) {
				t.Errorf("an invalid spec wrote %s (stat: %v)", out, err)
			}
		})
	}
}

// assertDeterministic generates again: same bytes, and the file is not
// rewritten when nothing changed.
func assertDeterministic(t *testing.T, args []string, out string) {
	t.Helper()
	before, err := os.Stat(out)
	if err != nil {
		t.Fatal(err)
	}
	first, _ := os.ReadFile(out)
	if code := run(args, &bytes.Buffer{}, &bytes.Buffer{}); code != exitOK {
		t.Fatalf("second generate: exit %d", code)
	}
	after, err := os.Stat(out)
	if err != nil {
		t.Fatal(err)
	}
	if !os.SameFile(before, after) || !after.ModTime().Equal(before.ModTime()) {
		t.Errorf("second generate rewrote an unchanged file")
	}
	second, _ := os.ReadFile(out)
	if !bytes.Equal(first, second) {
		t.Errorf("generate is not deterministic")
	}
}

// TestGoldenBuild builds, vets and tests every positive golden case in the
// nested module: generated code compiles against the runtime, and the
// hand-written api_test.go files next to some cases check its behaviour.
func TestGoldenBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the golden module with the go command")
	}
	goTool := goCommand(t)
	for _, args := range [][]string{{"build", "./..."}, {"vet", "./..."}, {"test", "-count=1", "./..."}} {
		cmd := exec.Command(goTool, args...)
		cmd.Dir = goldenDir // requires the std-only runtime alone: builds under CI's -mod=readonly
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go %s in %s: %v\n%s", strings.Join(args, " "), goldenDir, err, out)
		}
	}
}

// goCommand finds the go command on PATH.
func goCommand(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the golden build needs the go command on PATH: %v", err)
	}
	return p
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, to, b)
}

func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func assertSameFile(t *testing.T, got, want string) {
	t.Helper()
	g, err := os.ReadFile(got)
	if err != nil {
		t.Fatal(err)
	}
	w, err := os.ReadFile(want)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(g, w) {
		t.Errorf("%s differs from %s; rerun with -update if the change is intended", got, want)
	}
}
