package schema_test

import (
	"errors"
	"testing"

	"github.com/proxygen-go/proxygen/gen"
	"github.com/proxygen-go/proxygen/runtime"
	"github.com/proxygen-go/proxygen/schema"
)

// FuzzLoad feeds any bytes to Load: it must never panic; an error must be
// schema.Errors whose every entry names the file and has a position
// (Line >= 1, Col >= 1); a spec that loads must convert to runtime Settings
// the runtime accepts (pools included: the spec's and the runtime's rules
// agree) and must generate.
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
				}
				continue
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
