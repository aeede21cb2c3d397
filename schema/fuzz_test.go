package schema_test

import (
	"encoding/json"
	"errors"
	"go/parser"
	"go/token"
	"strings"
	"testing"

	"github.com/proxygen-go/proxygen/gen"
	"github.com/proxygen-go/proxygen/runtime"
	"github.com/proxygen-go/proxygen/schema"
)

// FuzzLoad feeds any bytes to Load: it must never panic; an error must be
// schema.Errors whose every entry names the file, has a position
// (Line >= 1, Col >= 1) and a capped length; a spec that loads must have a
// valid package name, valid exchange ids and at most MaxExchanges of them,
// must convert to runtime Settings the runtime accepts (pools included: the
// spec's and the runtime's rules agree) and must generate.
func FuzzLoad(f *testing.F) {
	f.Add([]byte("version: 1\nenabled: true\n"))
	f.Add([]byte("version: 1\nenabled: true\ndefault:\n  http: { url: \"socks5h://proxy.internal:1080\", timeout_seconds: 30 }\n  websocket: { url: \"http://${PROXY_USER}:${PROXY_PASS}@proxy.internal:3128\" }\nexchanges:\n  binance:\n    http: { url: \"https://eu-egress.internal:8443\", timeout_seconds: 10 }\n  kraken:\n    websocket: { direct: true }\n  bybit: {}\n"))
	f.Add([]byte("version: 1\nenabled: true\nexchanges:\n  Binance: {}\n  binance: {}\n"))
	f.Add([]byte("version: 1\nenabled: true\ndefault:\n  http: &a { url: \"socks5://h:1\" }\n  websocket: *a\n"))
	f.Add([]byte("{version: 1, enabled: true, default: {http: {url: 'http://[::1]:8080', optimistic: true}}}"))
	f.Add([]byte("version: 1\nenabled: yes\nlock: 1\npackage: 7\n"))
	f.Add([]byte("version: 1\nenabled: true\ndefault:\n  websocket: {urls: ['socks5h://a:1', 'http://b:2'], strategy: sticky, hedge_after_ms: 250, eject: {seconds: 30}, health_check: {target: 'h:443'}}\nexchanges:\n  x: {websocket: {url: 'socks5://c:3', attempt_timeout_seconds: 20}}\n"))
	f.Add([]byte("\t- \x00\xff"))
	f.Add([]byte("---\nversion: 1\n---\nversion: 2\n"))
	// Issue 9: package names, ids, limits, bad bytes, tags, look-alike '@'.
	f.Add([]byte("version: 1\npackage: type\nenabled: true\n"))
	f.Add([]byte("version: 1\npackage: _\nenabled: true\n"))
	f.Add([]byte("version: 1\npackage: main\nenabled: true\n"))
	f.Add([]byte("version: 1\npackage: mainly\nenabled: true\n"))
	f.Add([]byte("version: 1\nenabled: true\nexchanges:\n  binance_: {}\n  gate__io: {}\n  okx_us: {}\n"))
	f.Add([]byte("version: 1\nenabled: true\nx: " + strings.Repeat("[", schema.MaxDepth) + strings.Repeat("]", schema.MaxDepth) + "\n"))
	f.Add([]byte("version: 1\nenabled: true\nx: " + strings.Repeat("{a: ", schema.MaxDepth-1) + "1" + strings.Repeat("}", schema.MaxDepth-1) + "\n"))
	f.Add([]byte("version: 1\nenabled: true\n# caf\xe9\nlock: \x00true\n"))
	f.Add([]byte("version: !x 1\nenabled: !x CANARY-s3cr3t\ndefault: {http: {url: !x \"http://u:CANARY-s3cr3t@h:1\"}}\n"))
	f.Add([]byte("version: 1\nenabled: true\ndefault:\n  http: { url: \"socks5://CANARY-s3cr3t%40h:1\" }\n  websocket: { url: \"http://${U}:CANARY-s3cr3t\uff20h:1\" }\n"))
	f.Add([]byte("a0: &a [x]\na1: &b [*a, *a, *a]\na2: [*b, *b, *b]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, allow := range []bool{false, true} {
			opts := schema.Options{AllowInlineCredentials: allow}
			spec, err := schema.Load("fuzz.yaml", data, opts)
			if err != nil {
				var es schema.Errors
				if !errors.As(err, &es) || len(es) == 0 {
					t.Fatalf("error is not schema.Errors: %T %v", err, err)
				}
				for _, e := range es {
					if e.File != "fuzz.yaml" || e.Line < 1 || e.Col < 1 {
						t.Fatalf("unpositioned error %+v in %q", *e, err)
					}
					if n := len(e.Error()); n > maxErrorLine {
						t.Fatalf("error line of %d bytes: %.200s", n, e.Error())
					}
				}
				continue
			}
			if spec.Package != "" {
				if err := schema.CheckPackageName(spec.Package); err != nil {
					t.Fatalf("loaded package %q: %v", spec.Package, err)
				}
			}
			if len(spec.Exchanges) > schema.MaxExchanges {
				t.Fatalf("loaded %d exchanges", len(spec.Exchanges))
			}
			for id := range spec.Exchanges {
				if !schema.ValidExchangeID(id) {
					t.Fatalf("loaded exchange id %q", id)
				}
			}
			if len(spec.Exchanges) <= 16 {
				envRoundTrip(t, spec)
			}
			s, err := spec.Settings(allow)
			if err != nil {
				t.Fatalf("loaded spec has no Settings: %v", err)
			}
			if _, err := runtime.NewInjector(s); err != nil {
				t.Fatalf("the runtime rejects a loaded spec: %v", err)
			}
			if _, err := gen.Generate(spec, gen.Options{AllowInlineCredentials: allow, Source: "fuzz.yaml"}); err != nil {
				t.Fatalf("a loaded spec does not generate: %v", err)
			}
		}
	})
}

// maxErrorLine bounds one error line: the file name, a position, a path of
// at most MaxDepth capped keys and a capped message.
const maxErrorLine = 64 + schema.MaxDepth*(64+3) + 512

// FuzzNoEcho puts a password marked CANARYpw in proxy URLs, before every
// kind of '@' (and none), in every field: no error may echo it.
func FuzzNoEcho(f *testing.F) {
	f.Add("s3cr3t", "proxy.internal:1080", uint8(0))
	f.Add("a%40b", "h:1", uint8(1))
	f.Add("x", "[::1]:99999", uint8(2))
	f.Add("", "h", uint8(3))
	f.Add("p:q", "h:1/path?x#y", uint8(4))
	f.Fuzz(func(t *testing.T, pw, host string, sep uint8) {
		seps := []string{"@", "%40", "\uff20", "\ufe6b", "", "%2540", "@@"}
		url := "http://${U}:CANARYpw" + pw + seps[int(sep)%len(seps)] + host
		urlJSON, _ := json.Marshal(url)
		for _, spec := range []string{
			"version: 1\nenabled: true\ndefault:\n  http: { url: " + string(urlJSON) + " }\n",
			"version: 1\nenabled: true\ndefault:\n  websocket: { url: !x " + string(urlJSON) + " }\n",
			"version: 1\nenabled: true\nexchanges:\n  binance:\n    http: { url: " + string(urlJSON) + ", timeout_seconds: " + string(urlJSON) + " }\n",
			"version: 1\nenabled: true\nexchanges:\n  " + string(urlJSON) + ": {}\n",
			"version: 1\nenabled: " + string(urlJSON) + "\n",
		} {
			for _, allow := range []bool{false, true} {
				_, err := schema.Load("fuzz.yaml", []byte(spec), schema.Options{AllowInlineCredentials: allow})
				if err != nil && strings.Contains(err.Error(), "CANARYpw") {
					t.Fatalf("error echoes the password:\n%s", err)
				}
			}
		}
	})
}

// FuzzCheckPackageName: a name CheckPackageName accepts is a package
// clause Go parses and an importable package (not _ or main); a name Go
// parses as an importable package clause is accepted.
func FuzzCheckPackageName(f *testing.F) {
	for _, s := range []string{"proxies", "type", "_", "main", "a-b", "é", "x\x00", "", "mainly", "_x", "Ωmega"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		err := schema.CheckPackageName(name)
		file, perr := parser.ParseFile(token.NewFileSet(), "", "package "+name+"\n", parser.PackageClauseOnly)
		parses := perr == nil && file.Name.Name == name
		importable := parses && name != "_" && name != "main"
		if (err == nil) != importable {
			t.Fatalf("CheckPackageName(%q) = %v, but parses=%v", name, err, parses)
		}
	})
}

// envRoundTrip checks that the environment overlay addresses every
// exchange of a loaded spec: PREFIX EXCHANGES__<ID>__HTTP__DIRECT=true
// must turn that exchange's HTTP route direct (issue 9, item 9).
func envRoundTrip(t *testing.T, spec *schema.Spec) {
	t.Helper()
	if spec.Lock {
		return // a locked build ignores the overlay
	}
	base, err := spec.Settings(true)
	if err != nil {
		t.Fatalf("settings: %v", err)
	}
	prefix := spec.EnvPrefix
	if prefix == "" {
		prefix = runtime.DefaultEnvPrefix
	}
	for _, id := range spec.ExchangeIDs() {
		env := []string{prefix + "EXCHANGES__" + strings.ToUpper(id) + "__HTTP__DIRECT=true"}
		got, err := runtime.ApplyEnv(base, env)
		if err != nil {
			t.Fatalf("overlay %q: %v", env[0], err)
		}
		if r := got.Exchanges[id].HTTP; r == nil || !r.Direct {
			t.Fatalf("overlay %q does not reach exchange %q", env[0], id)
		}
	}
}
