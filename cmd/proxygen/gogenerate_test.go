package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// runEnv runs the CLI with the given environment (only those variables)
// and standard input.
func runEnv(t *testing.T, env map[string]string, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var o, e bytes.Buffer
	code = runIO(args, strings.NewReader(stdin), &o, &e, func(k string) string { return env[k] })
	return code, o.String(), e.String()
}

// packageClause is the package name of a generated file.
func packageClause(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if name, ok := strings.CutPrefix(l, "package "); ok {
			return name
		}
	}
	t.Fatalf("%s has no package clause", path)
	return ""
}

// TestGoPackageDefault: like stringer, the package is $GOPACKAGE when
// neither -package nor the spec's package: names one; -package and package:
// still win; outside go generate the existing file's package is kept.
func TestGoPackageDefault(t *testing.T) {
	goGen := map[string]string{"GOPACKAGE": "feed", "GOFILE": "main.go"}
	noPkg := writeSpec(t, validSpec)
	withPkg := writeSpec(t, "package: routes\n"+validSpec)
	for _, c := range []struct {
		name string
		env  map[string]string
		spec string
		args []string
		want string
	}{
		{"GOPACKAGE", goGen, noPkg, nil, "feed"},
		{"spec package wins", goGen, withPkg, nil, "routes"},
		{"flag wins", goGen, withPkg, []string{"-package", "flagged"}, "flagged"},
		{"no go generate", nil, noPkg, nil, "proxies"},
	} {
		t.Run(c.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "proxies.go")
			args := append([]string{"generate", "-spec", c.spec, "-out", out}, c.args...)
			if code, _, stderr := runEnv(t, c.env, "", args...); code != exitOK {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			if got := packageClause(t, out); got != c.want {
				t.Errorf("package %s, want %s", got, c.want)
			}
		})
	}

	// Outside go generate, regenerating and checking keep the package the
	// file already has (the one go generate gave it).
	out := filepath.Join(t.TempDir(), "proxies.go")
	if code, _, stderr := runEnv(t, goGen, "", "generate", "-spec", noPkg, "-out", out); code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if code, stdout, stderr := runEnv(t, nil, "", "check", "-spec", noPkg, "-out", out); code != exitOK {
		t.Errorf("check outside go generate: exit %d\n%s%s", code, stdout, stderr)
	}
	if code, _, stderr := runEnv(t, nil, "", "generate", "-spec", noPkg, "-out", out); code != exitOK || packageClause(t, out) != "feed" {
		t.Errorf("generate outside go generate: exit %d, package %s: %s", code, packageClause(t, out), stderr)
	}
}

// TestDefaultOut: under go generate -out may be omitted and is the spec's
// name with _proxygen.go, next to the spec; elsewhere it is required.
func TestDefaultOut(t *testing.T) {
	dir := t.TempDir()
	spec := filepath.Join(dir, "proxies.yaml")
	writeFile(t, spec, []byte(validSpec))
	env := map[string]string{"GOPACKAGE": "feed"}
	if code, _, stderr := runEnv(t, env, "", "generate", "-spec", spec); code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	want := filepath.Join(dir, "proxies_proxygen.go")
	if got := packageClause(t, want); got != "feed" {
		t.Errorf("%s: package %s", want, got)
	}
	if code, stdout, stderr := runEnv(t, env, "", "check", "-spec", spec); code != exitOK {
		t.Errorf("check without -out: exit %d\n%s%s", code, stdout, stderr)
	}
	if code, _, stderr := runEnv(t, nil, "", "generate", "-spec", spec); code != exitUsage || !strings.Contains(stderr, "-out") {
		t.Errorf("outside go generate: exit %d, stderr %q; want 2 asking for -out", code, stderr)
	}
}

// TestCheckReusesRecordedFlags: the header records the non-default flags,
// and a plain check regenerates with them, so a -lock build is current;
// a flag given to check overrides the recorded one.
func TestCheckReusesRecordedFlags(t *testing.T) {
	spec := writeSpec(t, validSpec)
	out := filepath.Join(t.TempDir(), "proxies.go")
	if code, _, stderr := runCLI(t, "generate", "-spec", spec, "-out", out, "-lock", "-package", "feed"); code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	b, _ := os.ReadFile(out)
	if !strings.Contains(string(b), "\n// proxygen flags: -package feed -lock\n") {
		t.Fatalf("header does not record the flags:\n%s", b[:min(len(b), 200)])
	}
	if code, stdout, stderr := runCLI(t, "check", "-spec", spec, "-out", out); code != exitOK {
		t.Errorf("plain check of a -lock build: exit %d\n%s%s", code, stdout, stderr)
	}
	code, stdout, _ := runCLI(t, "check", "-spec", spec, "-out", out, "-lock=false")
	if code != exitInvalid || !strings.Contains(stdout, "-// proxygen flags: -package feed -lock") {
		t.Errorf("check -lock=false: exit %d, want 1 with the header in the diff:\n%s", code, stdout)
	}

	// A build without flags records none.
	if code, _, stderr := runCLI(t, "generate", "-spec", spec, "-out", out); code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if b, _ := os.ReadFile(out); strings.Contains(string(b), "proxygen flags:") {
		t.Errorf("a build without flags records some")
	}
}

// TestHelpExitsZero: -h and -help, alone or after a command, print help on
// stdout and exit 0.
func TestHelpExitsZero(t *testing.T) {
	for _, args := range [][]string{
		{"-h"}, {"-help"}, {"help"},
		{"generate", "-h"}, {"generate", "-help"}, {"check", "-h"},
		{"validate", "-h"}, {"explain", "-help"},
	} {
		code, stdout, stderr := runCLI(t, args...)
		if code != exitOK || !strings.Contains(stdout, "usage") || stderr != "" {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want 0 and usage on stdout", args, code, stdout, stderr)
		}
	}
	if code, _, stderr := runCLI(t, "generate", "-nosuchflag"); code != exitUsage || !strings.Contains(stderr, "-spec") {
		t.Errorf("bad flag: exit %d, stderr %q; want 2 with the flags", code, stderr)
	}
}

// TestValidateStdin: "validate -" reads the spec from standard input.
func TestValidateStdin(t *testing.T) {
	if code, _, stderr := runEnv(t, nil, validSpec, "validate", "-"); code != exitOK || stderr != "" {
		t.Errorf("valid stdin: exit %d, stderr %q", code, stderr)
	}
	code, _, stderr := runEnv(t, nil, "version: 2\nenabled: true\n", "validate", "-")
	if code != exitInvalid || !strings.HasPrefix(stderr, "<stdin>:1:10: version:") {
		t.Errorf("invalid stdin: exit %d, stderr %q; want 1 and <stdin>:1:10", code, stderr)
	}
}

// TestValidateGitHubFormat: -format github prints one workflow command per
// error on stdout, at the same positions as the text format.
func TestValidateGitHubFormat(t *testing.T) {
	bad := writeSpec(t, "version: 2\nenabled: true\ndefaults: {}\n")
	code, stdout, stderr := runCLI(t, "validate", "-format", "github", bad)
	if code != exitInvalid || stderr != "" {
		t.Fatalf("exit %d, stderr %q; want 1 and nothing on stderr", code, stderr)
	}
	want := "::error file=" + strings.NewReplacer(":", "%3A", ",", "%2C").Replace(bad) + ",line=1,col=10::version: must be 1 (got 2)\n" +
		"::error file=" + strings.NewReplacer(":", "%3A", ",", "%2C").Replace(bad) + ",line=3,col=1::defaults: unknown key \"defaults\"; did you mean \"default\"?\n"
	if stdout != want {
		t.Errorf("got\n%s\nwant\n%s", stdout, want)
	}
	if got := escapeData("50% done\r\nnext"); got != "50%25 done%0D%0Anext" {
		t.Errorf("escapeData: %q", got)
	}
	if code, _, _ := runCLI(t, "validate", "-format", "xml", bad); code != exitUsage {
		t.Errorf("-format xml: exit %d, want 2", code)
	}
}
