package adopt

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/proxygen-go/proxygen/internal/testenv"
)

// repoRoot is the repository's root directory, absolute.
func repoRoot(t *testing.T) string {
	t.Helper()
	return testenv.RepoRoot(t)
}

func readme(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(t), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// fence is one fenced code block of a Markdown file.
type fence struct {
	lang, body string
	line       int // of the opening fence, 1-based
}

// fences returns the fenced code blocks of md, in order.
func fences(md string) []fence {
	var out []fence
	var cur *fence
	var body []string
	for i, l := range strings.Split(md, "\n") {
		switch {
		case cur == nil && strings.HasPrefix(l, "```"):
			cur = &fence{lang: strings.TrimSpace(strings.TrimPrefix(l, "```")), line: i + 1}
			body = nil
		case cur != nil && strings.TrimSpace(l) == "```":
			cur.body = strings.Join(body, "\n") + "\n"
			out = append(out, *cur)
			cur = nil
		case cur != nil:
			body = append(body, l)
		}
	}
	return out
}

// between returns the text between the line starting with begin and the
// next line starting with end.
func between(t *testing.T, md, begin, end string) string {
	t.Helper()
	i := strings.Index(md, begin)
	if i < 0 {
		t.Fatalf("README.md has no %q marker", begin)
	}
	rest := md[i+len(begin):]
	j := strings.Index(rest, end)
	if j < 0 {
		t.Fatalf("README.md has no %q marker after %q", end, begin)
	}
	return rest[:j]
}

// goCmd runs the go command in dir with env added, failing the test on
// error; it returns the combined output.
func goCmd(t *testing.T, dir string, env []string, args ...string) string {
	t.Helper()
	out, err := goCmdErr(dir, env, args...)
	if err != nil {
		t.Fatalf("go %s (in %s): %v\n%s", strings.Join(args, " "), dir, err, out)
	}
	return out
}

func goCmdErr(dir string, env []string, args ...string) (string, error) {
	cmd := exec.Command(goBin(), args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func goBin() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return "go"
}

// moduleEnv is the environment of go commands in the fresh module of
// TestFreshModule, a new user's module outside the repository: go.mod
// updates allowed, no workspace, the module cache and proxy as configured
// (see offlineFallback). It sets -mod=mod on purpose, overriding CI's
// -mod=readonly for that throw-away module only: the test follows a user
// whose go.mod is written by `go get -tool` and `go mod tidy` as they run,
// which is what it proves; the repository's own modules are never built
// with it.
func moduleEnv(t *testing.T) []string {
	t.Helper()
	return []string{"GOFLAGS=-mod=mod -buildvcs=false", "GOWORK=off", "GOPROXY=" + offlineFallback(t)}
}

// offlineFallback is the configured GOPROXY's proxies, each falling
// through on any error ("|"), then "off" (no "direct": no VCS access). The generator's module is not
// published, so a proxy may answer the go command's lookups of its paths
// with an error other than "not found" (some answer 403); ending in "off"
// turns any such error into "lookup disabled", which the go command treats
// as not found, and the replace directives to this checkout apply. Modules that are published still come from the
// module cache or the proxy, verified against the checkout's go.sum.
func offlineFallback(t *testing.T) string {
	t.Helper()
	out, err := exec.Command(goBin(), "env", "GOPROXY").Output()
	if err != nil {
		t.Fatalf("go env GOPROXY: %v", err)
	}
	var proxies []string
	for _, p := range strings.FieldsFunc(strings.TrimSpace(string(out)), func(r rune) bool { return r == ',' || r == '|' }) {
		if p != "direct" && p != "off" { // nothing is consulted after direct
			proxies = append(proxies, p)
		}
	}
	return strings.Join(append(proxies, "off"), "|")
}
