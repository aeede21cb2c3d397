// The canary through every surface; see doc.go.
package leaks_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/proxygen-go/proxygen/gen"
	"github.com/proxygen-go/proxygen/internal/testenv"
	"github.com/proxygen-go/proxygen/internal/testenv/target"
	"github.com/proxygen-go/proxygen/runtime"
	"github.com/proxygen-go/proxygen/runtime/proxytest"
	"github.com/proxygen-go/proxygen/schema"
)

// canary is the password, testenv.Canary: any occurrence, whole or in a
// common encoding (testenv.CanaryForms), is a leak.
const (
	canary     = testenv.Canary
	canaryUser = testenv.CanaryUser
)

// logs collects every slog line of the test binary (slog.Default is this
// handler at debug level; the runtime logs there when no logger is given).
var logs = &capture{}

type capture struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (c *capture) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.buf.Write(p)
}

func (c *capture) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.buf.String()
}

// proxygen is the CLI binary, built once.
var proxygen string

func TestMain(m *testing.M) {
	slog.SetDefault(slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	dir, err := os.MkdirTemp("", "secrets-cli")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	proxygen = filepath.Join(dir, "proxygen")
	if out, err := exec.Command("go", "build", "-o", proxygen, "github.com/proxygen-go/proxygen/cmd/proxygen").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "secrets: building proxygen: %v\n%s", err, out)
		os.Exit(2)
	}
	code := m.Run()
	os.RemoveAll(dir)
	if code == 0 {
		if s := logs.String(); testenv.Leak(s) != "" {
			fmt.Fprintf(os.Stderr, "secrets: the canary is in the slog output (%s):\n%s", testenv.Leak(s), s)
			code = 1
		}
	}
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "secrets:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// badURLs put the canary in credential positions of URLs that break one
// rule or several.
var badURLs = []string{
	"http://" + canaryUser + ":" + canary + "@proxy.internal:3128",         // inline, otherwise fine
	"http://" + canaryUser + ":" + canary + "@proxy.internal:99999",        // bad port
	"http://" + canaryUser + ":" + canary + "@proxy.internal",              // no port
	"http://" + canaryUser + ":" + canary + "@proxy.internal:3128/p?q#f",   // path, query, fragment
	"ftp://" + canaryUser + ":" + canary + "@proxy.internal:21",            // scheme
	"http://" + canaryUser + ":" + canary + "%zz@proxy.internal:3128",      // bad escape
	"http://" + canaryUser + ":" + canary + "@[::1:3128",                   // bad IPv6
	"http://" + canaryUser + ":" + canary + "@:3128",                       // no host
	"http://" + canaryUser + ":" + canary + "@proxy internal:3128",         // space in host
	"socks4://" + canaryUser + ":" + canary + "@proxy.internal:1080",       // socks4 takes no password
	"socks5h://${PROXY_USER}:" + canary + "@proxy.internal:1080",           // half a reference
	"socks5h://" + canary + ":${PROXY_PASS}@proxy.internal:1080",           // canary as user
	"http://${PROXY_USER}:${" + canary + "@proxy.internal:3128",            // broken reference
	canaryUser + ":" + canary + "@proxy.internal:3128",                     // no scheme
	"//" + canaryUser + ":" + canary + "@proxy.internal:3128",              // scheme-relative
	"http://" + canaryUser + ":" + canary + "@proxy.internal:3128\x00",     // NUL
	"http://" + canaryUser + ":" + url.PathEscape(canary) + "@h:3128/x",    // escaped, with a path
	"HTTP://" + canaryUser + ":" + canary + "@proxy.internal:0",            // port 0
	"http://" + canaryUser + ":" + canary + "@proxy.internal:3128:3128",    // two ports
	"http://" + canaryUser + ":" + canary + "@" + canary + "@proxy.int:31", // two @
}

func TestURLParseErrors(t *testing.T) {
	for _, raw := range badURLs {
		for _, allow := range []bool{false, true} {
			p, err := runtime.ParseURL(raw, runtime.ParseURLOptions{AllowInlineCredentials: allow})
			if err != nil {
				testenv.NoCanary(t, "ParseURL error", err.Error())
				testenv.NoCanary(t, "ParseURL error %+v", fmt.Sprintf("%+v %#v", err, err))
				continue
			}
			testenv.NoCanary(t, "parsed proxy", fmt.Sprintf("%v %+v %#v %s", p, p, p, p.String()))
			j, _ := json.Marshal(p)
			testenv.NoCanary(t, "parsed proxy JSON", string(j))
		}
	}
}

// specs are whole spec files with the canary where it does not belong.
func specs() map[string]string {
	m := map[string]string{}
	for i, u := range badURLs {
		m[fmt.Sprintf("url%02d.yaml", i)] = fmt.Sprintf("version: 1\nenabled: true\ndefault:\n  http: { url: %q, timeout_seconds: 301 }\n", u)
	}
	m["misplaced.yaml"] = "version: 1\nenabled: \"socks5://u:" + canary + "@h:1\"\ndefault:\n  http:\n    url: \"http://127.0.0.1:1\"\n    timeout_seconds: \"http://u:" + canary + "@h:1\"\n  websocket: { direct: \"u:" + canary + "@h\" }\nexchanges:\n  binance: \"socks5h://u:" + canary + "@h:1\"\n  kraken: { http: \"http://u:" + canary + "@h:1\" }\n"
	m["unterminated.yaml"] = "version: 1\nenabled: true\ndefault:\n  http: { url: \"http://u:" + canary + "@h:1 }\n"
	m["tab.yaml"] = "version: 1\nenabled: true\ndefault:\n\thttp: { url: \"http://u:" + canary + "@h:1\" }\n"
	m["duplicate.yaml"] = "version: 1\nenabled: true\ndefault:\n  http: { url: \"http://u:" + canary + "@h:1\" }\n  http: { url: \"http://u:" + canary + "@h:2\" }\n"
	m["both.yaml"] = "version: 1\nenabled: true\nexchanges:\n  binance:\n    http: { url: \"http://u:" + canary + "@h:1\", direct: true }\n"
	m["unknown.yaml"] = "version: 1\nenabled: true\ndefault:\n  http: { url: \"http://${U}:${P}@h:1\", proxy_url: \"http://u:" + canary + "@h:1\" }\n"
	m["anchor.yaml"] = "version: 1\nenabled: true\ndefault:\n  http: &a { url: \"http://u:" + canary + "@h:1\" }\n  websocket: *a\n"
	m["list.yaml"] = "version: 1\nenabled: true\ndefault:\n  http: [\"http://u:" + canary + "@h:1\"]\n"
	m["flow.yaml"] = "{version: 1, enabled: true, default: {http: {url: http://u:" + canary + "@h:1, optimistic: " + canary + "@h}}}\n"
	return m
}

// TestBareSecretInAWrongField: a password pasted into the wrong field
// (`timeout_seconds: "hunter2"`) is never echoed; schema errors say
// "(got a string)".
func TestBareSecretInAWrongField(t *testing.T) {
	src := "version: 1\nenabled: true\ndefault:\n  http: { url: \"http://h:1\", timeout_seconds: \"" + canary + "\" }\n"
	_, err := schema.Load("bare.yaml", []byte(src), schema.Options{})
	if err == nil {
		t.Fatal("loaded")
	}
	if testenv.Leak(err.Error()) != "" {
		t.Errorf("a bare string in a non-credential field is echoed: %s",
			strings.ReplaceAll(err.Error(), canary, "<canary>"))
	}
}

func TestSpecValidationErrors(t *testing.T) {
	for name, src := range specs() {
		for _, allow := range []bool{false, true} {
			_, err := schema.Load(name, []byte(src), schema.Options{AllowInlineCredentials: allow})
			if err == nil {
				t.Errorf("%s (allow=%v): loaded", name, allow)
				continue
			}
			testenv.NoCanary(t, name+" errors", err.Error())
			var es schema.Errors
			if errors.As(err, &es) {
				for _, e := range es {
					testenv.NoCanary(t, name+" error fields", fmt.Sprintf("%+v", *e))
				}
			}
		}
	}
}

// cli runs the proxygen binary with env added and returns its exit code,
// stdout and stderr.
func cli(t *testing.T, env []string, args ...string) (int, string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, proxygen, args...)
	cmd.Env = append(os.Environ(), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return code, out.String(), errb.String()
}

func TestCLI(t *testing.T) {
	dir := t.TempDir()
	var files []string
	for name, src := range specs() {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, p)
	}
	for _, allow := range [][]string{nil, {"-allow-inline-credentials"}} {
		code, out, errs := cli(t, nil, append(append([]string{"validate"}, allow...), files...)...)
		if code != 1 || !strings.Contains(errs, "url00.yaml") {
			t.Errorf("validate %v: exit %d\n%s", allow, code, errs)
		}
		testenv.NoCanary(t, "validate stdout", out)
		testenv.NoCanary(t, "validate stderr", errs)
		for _, f := range files {
			for _, cmd := range []string{"generate", "check"} {
				code, out, errs := cli(t, nil, append([]string{cmd, "-spec", f, "-out", filepath.Join(dir, "out.go")}, allow...)...)
				if code == 0 {
					t.Errorf("%s %s: exit 0", cmd, filepath.Base(f))
				}
				testenv.NoCanary(t, cmd+" stdout", out)
				testenv.NoCanary(t, cmd+" stderr", errs)
			}
			code, out, errs := cli(t, nil, append([]string{"explain", "-spec", f}, allow...)...)
			if code == 0 {
				t.Errorf("explain %s: exit 0", filepath.Base(f))
			}
			testenv.NoCanary(t, "explain stdout", out)
			testenv.NoCanary(t, "explain stderr", errs)
		}
	}
}

const inlineSpec = "version: 1\nenabled: true\ndefault:\n  http: { url: \"http://" + canaryUser + ":" + canary + "@127.0.0.1:3128\" }\nexchanges:\n  binance:\n    websocket: { url: \"socks5h://" + canaryUser + ":" + canary + "@127.0.0.1:1080\" }\n"

const varSpec = "version: 1\nenabled: true\ndefault:\n  http: { url: \"http://${SECRETS_USER}:${SECRETS_PASS}@127.0.0.1:3128\" }\nexchanges:\n  binance:\n    websocket: { url: \"socks5h://${SECRETS_USER}:${SECRETS_PASS}@127.0.0.1:1080\" }\n"

// TestInlineCredentials: refused unless allowed; allowed, the generated file
// carries a warning and the CLI prints nothing secret (explain, check's diff
// notwithstanding the file itself).
func TestInlineCredentials(t *testing.T) {
	dir := t.TempDir()
	spec := filepath.Join(dir, "inline.yaml")
	out := filepath.Join(dir, "proxies.go")
	if err := os.WriteFile(spec, []byte(inlineSpec), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, errs := cli(t, nil, "generate", "-spec", spec, "-out", out)
	if code != 1 || !strings.Contains(errs, "inline.yaml:4:") {
		t.Fatalf("generate without -allow-inline-credentials: exit %d\n%s", code, errs)
	}
	testenv.NoCanary(t, "refusal", errs)
	if _, err := os.Stat(out); err == nil {
		t.Fatal("a refused spec wrote a file")
	}

	code, stdout, errs := cli(t, nil, "generate", "-allow-inline-credentials", "-spec", spec, "-out", out)
	if code != 0 {
		t.Fatalf("generate -allow-inline-credentials: exit %d\n%s", code, errs)
	}
	testenv.NoCanary(t, "generate output", stdout+errs)
	src, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(src), "WARNING: this file holds literal proxy credentials") {
		t.Errorf("the generated file has no warning:\n%s", src)
	}
	// The library agrees with the CLI.
	s, err := schema.Load("inline.yaml", []byte(inlineSpec), schema.Options{AllowInlineCredentials: true})
	if err != nil {
		t.Fatal(err)
	}
	files, err := gen.Generate(s, gen.Options{AllowInlineCredentials: true, Source: "inline.yaml"})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(files[gen.FileName], []byte("WARNING: this file holds literal proxy credentials")) {
		t.Error("gen.Generate: no warning")
	}
	if _, err := gen.Generate(s, gen.Options{Source: "inline.yaml"}); err == nil {
		t.Error("gen.Generate accepted inline credentials without AllowInlineCredentials")
	} else {
		testenv.NoCanary(t, "gen.Generate error", err.Error())
	}

	code, stdout, errs = cli(t, nil, "explain", "-allow-inline-credentials", "-spec", spec)
	if code != 0 || !strings.Contains(stdout, "***") {
		t.Errorf("explain: exit %d\n%s%s", code, stdout, errs)
	}
	testenv.NoCanary(t, "explain of an inline spec", stdout+errs)

	code, stdout, errs = cli(t, nil, "check", "-allow-inline-credentials", "-spec", spec, "-out", out)
	if code != 0 {
		t.Errorf("check: exit %d\n%s%s", code, stdout, errs)
	}
	testenv.NoCanary(t, "check of a current file", stdout+errs)
}

// TestGeneratedCodeAndExplain: with ${VAR} references, neither the generated
// file nor explain -env (with the secrets and an overlay URL in the
// environment) shows the canary.
func TestGeneratedCodeAndExplain(t *testing.T) {
	dir := t.TempDir()
	spec := filepath.Join(dir, "vars.yaml")
	out := filepath.Join(dir, "proxies.go")
	if err := os.WriteFile(spec, []byte(varSpec), 0o644); err != nil {
		t.Fatal(err)
	}
	env := []string{
		"SECRETS_USER=" + canaryUser, "SECRETS_PASS=" + canary,
		"CRYPTOFEED_PROXY_EXCHANGES__KRAKEN__HTTP__URL=https://" + canaryUser + ":" + canary + "@10.0.0.5:8443",
		"CRYPTOFEED_PROXY_EXCHANGES__BYBIT__WEBSOCKET__URL=socks5://${SECRETS_USER}:${SECRETS_PASS}@10.0.0.6:1080",
	}
	code, stdout, errs := cli(t, env, "generate", "-spec", spec, "-out", out)
	if code != 0 {
		t.Fatalf("generate: exit %d\n%s", code, errs)
	}
	testenv.NoCanary(t, "generate output", stdout+errs)
	src, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	testenv.NoCanary(t, "generated code", string(src))
	if !strings.Contains(string(src), `PasswordVar: "SECRETS_PASS"`) {
		t.Errorf("generated code does not reference the variable:\n%s", src)
	}

	code, stdout, errs = cli(t, env, "explain", "-env", "-spec", spec)
	if code != 0 || !strings.Contains(stdout, "kraken") || !strings.Contains(stdout, "10.0.0.5") {
		t.Fatalf("explain -env: exit %d\n%s%s", code, stdout, errs)
	}
	testenv.NoCanary(t, "explain -env", stdout+errs)

	// An invalid overlay value carrying the canary: explain -env fails
	// naming the variable only.
	bad := append(env, "CRYPTOFEED_PROXY_DEFAULT__HTTP__URL=http://"+canaryUser+":"+canary+"@h:99999")
	code, stdout, errs = cli(t, bad, "explain", "-env", "-spec", spec)
	if code == 0 || !strings.Contains(errs, "CRYPTOFEED_PROXY_DEFAULT__HTTP__URL") {
		t.Errorf("explain -env with a bad overlay: exit %d\n%s%s", code, stdout, errs)
	}
	testenv.NoCanary(t, "explain -env error", stdout+errs)
}

// TestEnvOverlayErrors: every invalid overlay value carrying the canary is
// reported by name only; a valid one with inline credentials never shows in
// Explain, FromEnv or the proxies' printed forms.
func TestEnvOverlayErrors(t *testing.T) {
	base := runtime.Settings{Enabled: true, Default: runtime.Routes{HTTP: &runtime.Route{Proxies: []*runtime.Proxy{{Scheme: runtime.HTTP, Host: "127.0.0.1", Port: 3128}}}}}
	const p = "CRYPTOFEED_PROXY_"
	bad := []string{
		p + "ENABLED=" + canary,
		p + "DEFAULT__HTTP__TIMEOUT_SECONDS=" + canary,
		p + "DEFAULT__HTTP__OPTIMISTIC=" + canary,
		p + "DEFAULT__WEBSOCKET__DIRECT=" + canary,
		p + "DEFAULT__HTTP__PASSWORD=" + canary,
		p + "EXCHANGES__BINANCE__HTTP__DIRECT=true",
		p + "EXCHANGES__BINANCE__HTTP__URL=http://" + canaryUser + ":" + canary + "@h:3128",
	}
	for _, u := range badURLs[1:] {
		bad = append(bad, p+"EXCHANGES__KRAKEN__WEBSOCKET__URL="+u)
	}
	for _, kv := range bad {
		_, err := runtime.ApplyEnv(base, []string{kv})
		if err == nil {
			continue // the overlay allows literal credentials
		}
		testenv.NoCanary(t, "ApplyEnv error", err.Error())
		var ee *runtime.EnvError
		if errors.As(err, &ee) {
			testenv.NoCanary(t, "EnvError", fmt.Sprintf("%+v", *ee))
		}
		// The same through Init and NewInjector.
		name, value, _ := strings.Cut(kv, "=")
		if strings.IndexByte(value, 0) >= 0 {
			continue // the environment cannot hold a NUL
		}
		t.Setenv(name, value)
		if _, err := runtime.Init(base); err == nil {
			t.Errorf("Init accepted %s", name)
		} else {
			testenv.NoCanary(t, "Init error", err.Error())
		}
		os.Unsetenv(name)
	}
	// A valid overlay with inline credentials and one with references.
	s, err := runtime.ApplyEnv(base, []string{
		p + "EXCHANGES__BINANCE__HTTP__URL=http://" + canaryUser + ":" + canary + "@10.0.0.7:3128",
		p + "EXCHANGES__KRAKEN__WEBSOCKET__URL=socks5h://${SECRETS_USER}:${SECRETS_PASS}@10.0.0.8:1080",
	})
	if err != nil {
		t.Fatal(err)
	}
	testenv.NoCanary(t, "FromEnv", fmt.Sprint(s.FromEnv))
	in, err := runtime.NewInjector(s, runtime.WithLookup(func(k string) (string, bool) {
		return map[string]string{"SECRETS_USER": canaryUser, "SECRETS_PASS": canary}[k], true
	}))
	if err != nil {
		t.Fatal(err)
	}
	testenv.NoCanary(t, "ExplainRoutes", fmt.Sprintf("%+v", runtime.ExplainRoutes(s)))
	for _, id := range []string{"binance", "kraken"} {
		for _, tr := range []runtime.Transport{runtime.TransportHTTP, runtime.TransportWebSocket} {
			px := in.Proxy(id, tr)
			if px == nil {
				continue
			}
			j, _ := json.Marshal(px)
			txt, _ := px.MarshalText()
			testenv.NoCanary(t, "proxy forms", fmt.Sprintf("%v|%+v|%#v|%s|%s|%s", px, px, px, *px, j, txt))
			var b bytes.Buffer
			slog.New(slog.NewTextHandler(&b, nil)).Info("route", "proxy", px, "deref", *px)
			testenv.NoCanary(t, "proxy in slog", b.String())
		}
	}
	if in.Proxy("binance", runtime.TransportHTTP).Password.Reveal() != canary {
		t.Fatal("the overlay did not take the inline password (the test proves nothing)")
	}
}

// TestProxyAuthFailures: wrong credentials (the canary) against HTTP 407,
// SOCKS5 user/pass and an HTTPS proxy; right credentials (the canary)
// tunnel. Errors, wrapped errors and the log lines show no canary.
func TestProxyAuthFailures(t *testing.T) {
	tgt := target.Start(t, nil)
	type srv struct {
		name   string
		s      *proxytest.Server
		scheme runtime.Scheme
	}
	wrong := []srv{
		{"http 407", proxytest.NewHTTP(canaryUser, "the-right-one"), runtime.HTTP},
		{"https 407", proxytest.NewHTTPS(canaryUser, "the-right-one"), runtime.HTTPS},
		{"socks5 user/pass", proxytest.NewSOCKS5(canaryUser, "the-right-one"), runtime.SOCKS5H},
	}
	right := []srv{
		{"http", proxytest.NewHTTP(canaryUser, canary), runtime.HTTP},
		{"socks5", proxytest.NewSOCKS5(canaryUser, canary), runtime.SOCKS5},
	}
	for _, s := range append(wrong, right...) {
		defer s.s.Close()
	}
	before := len(logs.String())
	for i, s := range append(wrong, right...) {
		p := s.s.Proxy(s.scheme)
		p.User, p.Password = canaryUser, runtime.NewSecret(canary)
		settings := runtime.Settings{Enabled: true, Default: runtime.Routes{
			HTTP:      &runtime.Route{Proxies: []*runtime.Proxy{p}, Timeout: 5 * time.Second},
			WebSocket: &runtime.Route{Proxies: []*runtime.Proxy{p}, Timeout: 5 * time.Second}}}
		in, err := runtime.NewInjector(settings, runtime.WithClientTLSConfig(tgt.ClientTLS("")))
		if err != nil {
			t.Fatal(err)
		}
		// Raw dial.
		c, err := in.DialContext(context.Background(), "binance", runtime.TransportWebSocket, "tcp", tgt.HTTPSAddr)
		failed := i < len(wrong)
		if failed {
			if err == nil || !errors.Is(err, runtime.ErrProxyAuth) {
				t.Errorf("%s: want an auth failure, got %v", s.name, err)
			} else {
				testenv.NoCanary(t, s.name+" error", err.Error())
				testenv.NoCanary(t, s.name+" error %+v", fmt.Sprintf("%+v %#v", err, err))
			}
		} else if err != nil {
			t.Errorf("%s: %v", s.name, err)
		} else {
			_ = c.Close()
		}
		// Through net/http (the error is wrapped in a *url.Error).
		resp, err := in.HTTPClient("binance").Get(tgt.URL("https", "127.0.0.1", "/ping"))
		if failed {
			if err == nil {
				resp.Body.Close()
				t.Errorf("%s: REST request succeeded", s.name)
			} else {
				testenv.NoCanary(t, s.name+" REST error", err.Error())
			}
		} else if err != nil {
			t.Errorf("%s REST: %v", s.name, err)
		} else {
			resp.Body.Close()
		}
		in.CloseIdleConnections()
		rec := s.s.Last()
		if rec.Password != canary {
			t.Errorf("%s: the proxy saw password %q: the test proves nothing", s.name, rec.Password)
		}
	}
	got := logs.String()[before:]
	if !strings.Contains(got, `"msg":"proxy tunnel failed"`) || !strings.Contains(got, `"msg":"proxy tunnel"`) {
		t.Errorf("expected success and failure log lines:\n%s", got)
	}
	testenv.NoCanary(t, "slog lines", got)
}

// TestRecoveredPanics: panics whose values hold proxies, settings, errors
// and injectors, recovered and printed as a crash report would be, stack
// included, show no canary.
func TestRecoveredPanics(t *testing.T) {
	p := &runtime.Proxy{Scheme: runtime.SOCKS5H, Host: "127.0.0.1", Port: 1, User: canaryUser, Password: runtime.NewSecret(canary)}
	settings := runtime.Settings{Enabled: true, Default: runtime.Routes{HTTP: &runtime.Route{Proxies: []*runtime.Proxy{p}, Timeout: time.Second}}}
	in, err := runtime.NewInjector(settings)
	if err != nil {
		t.Fatal(err)
	}
	_, dialErr := in.DialContext(context.Background(), "x", runtime.TransportHTTP, "tcp", "127.0.0.1:9")
	if dialErr == nil {
		t.Fatal("dial to a closed port succeeded")
	}
	// Settings the runtime rejects: the generated package panics with
	// this error's text.
	badSettings := runtime.Settings{Enabled: true, Default: runtime.Routes{HTTP: &runtime.Route{Proxies: []*runtime.Proxy{{
		Scheme: runtime.SOCKS4, Host: "h", Port: 0, User: canaryUser, Password: runtime.NewSecret(canary), Timeout: time.Hour}}}}}
	_, settingsErr := runtime.NewInjector(badSettings)
	if settingsErr == nil {
		t.Fatal("invalid settings accepted")
	}
	values := []any{p, *p, dialErr, settingsErr, in, runtime.ExplainRoutes(settings), settings.Default.HTTP, *settings.Default.HTTP,
		[]*runtime.Proxy{p}, map[string]runtime.Proxy{"binance": *p}, struct{ P runtime.Proxy }{*p},
		fmt.Errorf("feed: %w", dialErr), errors.Join(settingsErr, dialErr)}
	for i, v := range values {
		msg, stack := recovered(func() { panic(v) })
		testenv.NoCanary(t, fmt.Sprintf("panic value %d (%T)", i, v), msg)
		testenv.NoCanary(t, fmt.Sprintf("panic stack %d", i), stack)
	}
	// A panic raised inside a dial's call chain (the logger panics).
	boom := slog.New(panicHandler{})
	d := &runtime.Dialer{Proxy: p, Logger: boom}
	msg, stack := recovered(func() { _, _ = d.DialContext(context.Background(), "tcp", "127.0.0.1:9") })
	if msg == "" {
		t.Fatal("the logger did not panic")
	}
	testenv.NoCanary(t, "panic from inside a dial", msg)
	testenv.NoCanary(t, "stack from inside a dial", stack)
}

// recovered runs fn and returns its panic as a crash report would print it:
// the value with %v, %+v and %#v, and the stack.
func recovered(fn func()) (msg, stack string) {
	defer func() {
		if r := recover(); r != nil {
			msg = fmt.Sprintf("panic: %v\n%+v\n%#v", r, r, r)
			stack = string(debug.Stack())
		}
	}()
	fn()
	return "", ""
}

type panicHandler struct{}

func (panicHandler) Enabled(context.Context, slog.Level) bool { return true }
func (panicHandler) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	r.Attrs(func(a slog.Attr) bool { fmt.Fprintf(&b, "%s=%v ", a.Key, a.Value); return true })
	panic("log handler: " + b.String())
}
func (h panicHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h panicHandler) WithGroup(string) slog.Handler      { return h }

// TestHTTPClientErrorsAndRedirects: the REST client's errors through a dead
// or refusing proxy with the canary as password.
func TestHTTPClientErrors(t *testing.T) {
	refusing := proxytest.New(proxytest.Config{Kind: proxytest.HTTP, Misbehave: proxytest.Misbehave{Status: 403}})
	defer refusing.Close()
	for _, px := range []*runtime.Proxy{
		{Scheme: runtime.HTTP, Host: "127.0.0.1", Port: 1, User: canaryUser, Password: runtime.NewSecret(canary)},
		func() *runtime.Proxy {
			p := refusing.Proxy(runtime.HTTP)
			p.User, p.Password = canaryUser, runtime.NewSecret(canary)
			return p
		}(),
	} {
		in, err := runtime.NewInjector(runtime.Settings{Enabled: true, Default: runtime.Routes{HTTP: &runtime.Route{Proxies: []*runtime.Proxy{px}, Timeout: time.Second}}})
		if err != nil {
			t.Fatal(err)
		}
		_, err = in.HTTPClient("binance").Get("https://exchange.test/ping")
		if err == nil {
			t.Fatal("request succeeded")
		}
		testenv.NoCanary(t, "REST error", fmt.Sprintf("%v %+v", err, err))
		var ue *url.Error
		if errors.As(err, &ue) {
			testenv.NoCanary(t, "url.Error", ue.URL+ue.Op)
		}
		in.CloseIdleConnections()
	}
	_ = http.StatusOK
}

// TestCheckDiffWithInlineCredentials: with -allow-inline-credentials,
// `proxygen check` on a stale file prints a diff with the credential lines
// redacted, so literal passwords never reach CI logs.
func TestCheckDiffWithInlineCredentials(t *testing.T) {
	dir := t.TempDir()
	spec := filepath.Join(dir, "inline.yaml")
	out := filepath.Join(dir, "proxies.go")
	old := strings.ReplaceAll(inlineSpec, canary, "old-password-1")
	if err := os.WriteFile(spec, []byte(old), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, errs := cli(t, nil, "generate", "-allow-inline-credentials", "-spec", spec, "-out", out); code != 0 {
		t.Fatalf("generate: %s", errs)
	}
	if err := os.WriteFile(spec, []byte(inlineSpec), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, errs := cli(t, nil, "check", "-allow-inline-credentials", "-spec", spec, "-out", out)
	if code != 1 {
		t.Fatalf("check of a stale file: exit %d", code)
	}
	if testenv.Leak(stdout+errs) != "" {
		t.Errorf("check's diff prints inline credentials:\n%s",
			strings.ReplaceAll(stdout, canary, "<canary>"))
	}
}
