package editor

import (
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/proxygen-go/proxygen/internal/testenv"
)

// lspVersion is the yaml-language-server release .ci/install-lsp.sh
// installs; the test logs the version it finds.
const lspVersion = "1.25.0"

// languageServer finds yaml-language-server on PATH: a missing server skips
// the test, or fails it under CI=true (CI installs it).
func languageServer(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("yaml-language-server")
	if err != nil {
		msg := "yaml-language-server not found on PATH; install it with .ci/install-lsp.sh (npm install -g yaml-language-server@" + lspVersion + ")"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg + " [CI=true: a missing language server fails the run]")
		}
		t.Skip(msg)
	}
	return p
}

// schemaPath is the absolute path of the committed schema/schema.json.
func schemaPath(t *testing.T) string {
	t.Helper()
	p := filepath.Join(testenv.RepoRoot(t), "schema", "schema.json")
	if _, err := os.Stat(p); err != nil {
		t.Fatal(err)
	}
	return p
}

// The version CI installs is the one the test expects.
func TestInstallScriptPin(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(testenv.RepoRoot(t), ".ci", "install-lsp.sh"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "\nVERSION=\""+lspVersion+"\"\n") {
		t.Errorf(".ci/install-lsp.sh does not pin yaml-language-server %s (lspVersion)", lspVersion)
	}
}

// wantDiag is a diagnostic the editor must show: its 1-based line and a
// piece of its message.
type wantDiag struct {
	line int
	msg  string
}

// TestLanguageServer opens specs in yaml-language-server with a modeline
// that names the local schema file, as a user's editor would, and checks
// the diagnostics: one per mistake on the mistake's line, none for valid
// specs.
func TestLanguageServer(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the yaml-language-server (node) process")
	}
	bin := languageServer(t)
	out, err := exec.Command(bin, "--version").CombinedOutput()
	switch v := strings.TrimSpace(string(out)); {
	case err == nil && v == lspVersion:
		t.Logf("yaml-language-server %s (%s)", v, bin)
	case os.Getenv("CI") == "true":
		t.Fatalf("yaml-language-server --version: %q (%v), want %s: CI pins it in .ci/install-lsp.sh", v, err, lspVersion)
	default:
		t.Logf("yaml-language-server --version: %q (%v); CI pins %s", v, err, lspVersion)
	}
	modeline := "# yaml-language-server: $schema=" + schemaPath(t) + "\n"
	dir := t.TempDir()

	c := startLSP(t, bin, "--stdio")
	rootURI := fileURI(dir)
	if _, err := c.callTimeout("initialize", map[string]any{
		"processId": os.Getpid(),
		"rootUri":   rootURI,
		"capabilities": map[string]any{
			"workspace":    map[string]any{"configuration": true},
			"textDocument": map[string]any{"publishDiagnostics": map[string]any{}},
		},
		"workspaceFolders": []map[string]any{{"uri": rootURI, "name": "specs"}},
	}, 60*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := c.notify("initialized", map[string]any{}); err != nil {
		t.Fatal(err)
	}
	if err := c.notify("workspace/didChangeConfiguration", map[string]any{
		"settings": map[string]any{"yaml": yamlSettings()},
	}); err != nil {
		t.Fatal(err)
	}

	// The README's way: proxygen schema -o next to the spec, named by a
	// relative path.
	schemaBytes, err := os.ReadFile(schemaPath(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "proxygen.schema.json"), schemaBytes, 0o644); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name     string
		modeline string // default: the absolute path of schema/schema.json
		spec     string // after the modeline, which is line 1
		want     []wantDiag
	}{
		{
			name: "three_mistakes",
			spec: `version: 1
enabled: true
defualt:
  http:
    url: "socks5h://proxy.internal:1080"
exchanges:
  binance:
    http:
      url: "ftp://proxy.internal:1080"
      timeout_seconds: 301
`,
			want: []wantDiag{
				{4, "defualt"},
				{10, "proxy URL must be scheme://host:port"},
				{11, "300"},
			},
		},
		{
			name: "bad_ports",
			spec: `version: 1
enabled: true
exchanges:
  a:
    http: { url: "socks5h://proxy.internal" }
  b:
    http: { url: "socks5h://proxy.internal:0" }
  c:
    websocket: { url: "http://[::1]:65536" }
  d:
    websocket: { url: "https://proxy.internal:1080/path" }
`,
			want: []wantDiag{
				{6, "port 1..65535"},
				{8, "port 1..65535"},
				{10, "port 1..65535"},
				{12, "no path"},
			},
		},
		{
			// Every other kind of rule the schema states, so a draft
			// the server only half supports shows here.
			name: "schema_rules",
			spec: `version: 2
enabled: true
exchanges:
  1inch: {}
  a:
    http: {}
  b:
    http: { url: "socks5://h:1", direct: true }
  c:
    http: { direct: false }
  d:
    http: { url: "socks5://h:1", timeout_seconds: 5.5 }
`,
			want: []wantDiag{
				{2, "Valid values: 1"},
				{5, "pattern"},
				{7, `Missing property "url"`},
				{9, "not allowed"},
				{11, `Missing property "url"`},
				{13, `"integer"`},
			},
		},
		{
			name:     "relative_modeline",
			modeline: "# yaml-language-server: $schema=./proxygen.schema.json\n",
			spec: `version: 1
enabled: true
default:
  websocket: { url: "socks5h://proxy.internal:1080", timeout_seconds: 0 }
`,
			want: []wantDiag{{5, "below the minimum of 1"}},
		},
		{
			name: "valid",
			spec: `version: 1
package: proxies
enabled: true
env_prefix: CRYPTOFEED_PROXY_
lock: false
default:
  http:
    url: "socks5h://${PROXY_USER}:${PROXY_PASS}@proxy.internal:1080"
    timeout_seconds: 300
    optimistic: true
  websocket:
    url: "HTTP://proxy.internal:3128/"
exchanges:
  binance:
    http: { url: "socks4a://${SOCKS_USER}@10.0.0.1:01080", timeout_seconds: 1 }
  Binance_Futures:
    websocket: { url: "https://[2001:db8::1]:65535" }
  coinbase:
    http: { direct: true }
  kraken:
    websocket: { url: "socks5://proxy.internal:1", direct: false }
  bybit: {}
`,
		},
	}
	// The committed example spec, opened where it lies: its modeline names
	// the schema by a relative path.
	t.Run("example_spec", func(t *testing.T) {
		path := filepath.Join(testenv.RepoRoot(t), "examples", "feed", "spec.yaml")
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		text := string(b)
		if !strings.HasPrefix(text, "# yaml-language-server: $schema=") {
			t.Fatalf("%s has no modeline", path)
		}
		uri := fileURI(path)
		if err := c.notify("textDocument/didOpen", map[string]any{
			"textDocument": map[string]any{"uri": uri, "languageId": "yaml", "version": 1, "text": text},
		}); err != nil {
			t.Fatal(err)
		}
		diags := c.diagnosticsFor(uri, 60*time.Second, 1500*time.Millisecond)
		for _, d := range diags {
			t.Errorf("diagnostic examples/feed/spec.yaml:%s", d)
		}
		assertHover(t, c, uri, text, "enabled", "kill switch")
	})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, tt.name+".proxygen.yaml")
			text := modeline + tt.spec
			if tt.modeline != "" {
				text = tt.modeline + tt.spec
			}
			if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
				t.Fatal(err)
			}
			uri := fileURI(path)
			if err := c.notify("textDocument/didOpen", map[string]any{
				"textDocument": map[string]any{"uri": uri, "languageId": "yaml", "version": 1, "text": text},
			}); err != nil {
				t.Fatal(err)
			}
			diags := c.diagnosticsFor(uri, 60*time.Second, 1500*time.Millisecond)
			for _, d := range diags {
				t.Logf("diagnostic %s:%s", filepath.Base(path), d)
			}
			if len(tt.want) == 0 {
				t.Logf("%s: %d diagnostics", filepath.Base(path), len(diags))
				// No diagnostics must mean "valid", not "no schema": the
				// hover text of a key comes from the schema's description.
				assertHover(t, c, uri, text, "timeout_seconds", "Bounds the whole tunnel set-up")
			}
			if len(diags) != len(tt.want) {
				t.Fatalf("%d diagnostics, want %d (lines %v)", len(diags), len(tt.want), tt.want)
			}
			slices.SortFunc(diags, func(a, b diagnostic) int { return a.Range.Start.Line - b.Range.Start.Line })
			for i, w := range tt.want {
				d := diags[i]
				if d.Range.Start.Line+1 != w.line || !strings.Contains(d.Message, w.msg) {
					t.Errorf("diagnostic %d: %s; want line %d with %q", i, d, w.line, w.msg)
				}
				if d.Severity != 1 {
					t.Errorf("diagnostic %d: %s: severity %d, want 1 (error)", i, d, d.Severity)
				}
			}
		})
	}
}

// assertHover hovers over the first occurrence of key in text and wants
// the hover to contain want.
func assertHover(t *testing.T, c *lspClient, uri, text, key, want string) {
	t.Helper()
	i := strings.Index(text, key)
	if i < 0 {
		t.Fatalf("%q not in the spec", key)
	}
	line := strings.Count(text[:i], "\n")
	char := i - (strings.LastIndexByte(text[:i], '\n') + 1) + 1
	res, err := c.callTimeout("textDocument/hover", map[string]any{
		"textDocument": map[string]any{"uri": uri},
		"position":     map[string]any{"line": line, "character": char},
	}, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("hover over %s: %s", key, res)
	if !strings.Contains(string(res), want) {
		t.Errorf("hover over %s = %s; want it to contain %q (is the schema applied?)", key, res, want)
	}
}

func fileURI(path string) string {
	return (&url.URL{Scheme: "file", Path: filepath.ToSlash(path)}).String()
}
