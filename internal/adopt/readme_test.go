package adopt

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// repoRoot is the repository's root directory, absolute.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	return root
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

// moduleEnv is the environment of go commands in a module outside the
// repository: module mode with go.mod updates allowed (CI exports
// -mod=readonly), no workspace, the proxy and module cache as configured.
var moduleEnv = []string{"GOFLAGS=-mod=mod -buildvcs=false", "GOWORK=off"}
