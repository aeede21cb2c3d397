package schema

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const head = "version: 1\nenabled: true\n"

// loadErrs loads src as f.yaml and returns the error lines.
func loadErrs(t *testing.T, src string, opts Options) []string {
	t.Helper()
	spec, err := Load("f.yaml", []byte(src), opts)
	if err == nil {
		if spec == nil {
			t.Fatal("Load returned neither spec nor error")
		}
		return nil
	}
	if spec != nil {
		t.Errorf("Load returned a spec with an error")
	}
	var es Errors
	if !errors.As(err, &es) {
		t.Fatalf("error %T is not Errors: %v", err, err)
	}
	return strings.Split(es.Error(), "\n")
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name string
		src  string
		opts Options
		want []string
	}{
		// YAML structure.
		{"empty file", "", Options{}, []string{"f.yaml:1:1: empty spec"}},
		{"comments only", "# nothing\n", Options{}, []string{"f.yaml:1:1: empty spec"}},
		{"document marker only", "---\n", Options{}, []string{"f.yaml:2:1: empty spec"}},
		{"list document", "- a\n- b\n", Options{}, []string{"f.yaml:1:1: spec must be a mapping (got a list)"}},
		{"scalar document", "hello\n", Options{}, []string{`f.yaml:1:1: spec must be a mapping (got a string)`}},
		{"syntax error", head + "default:\n  http: {url: [1\n", Options{}, []string{"f.yaml:4:1: yaml: did not find expected ',' or ']'; a [ ] list that starts on this line is not closed, or lacks a comma"}},
		{"bad indentation", head + "default:\n  http: {}\n wrong: 1\n", Options{}, []string{"f.yaml:5:2: yaml: did not find expected key; check this line's indentation: keys of one mapping must line up"}},
		{"tab indentation", head + "default:\n\thttp: {}\n", Options{}, []string{"f.yaml:4:1: yaml: tabs are not allowed in YAML indentation; indent with spaces"}},
		{"two documents", head + "---\n" + head, Options{}, []string{"f.yaml:3:1: only one YAML document is allowed"}},
		{"duplicate key", head + "lock: true\nlock: false\n", Options{}, []string{`f.yaml:4:1: lock: duplicate key "lock" (first at line 3)`}},
		{"duplicate nested key", head + "default:\n  http: {url: 'socks5h://h:1', url: 'socks5h://h:2'}\n", Options{},
			[]string{`f.yaml:4:32: default.http.url: duplicate key "url" (first at line 4)`}},
		{"anchor and alias", head + "default: &d\n  http: {direct: true}\nexchanges:\n  kraken: *d\n", Options{}, []string{
			"f.yaml:3:10: default: anchors are not allowed (&d)",
			"f.yaml:6:11: exchanges.kraken: aliases are not allowed (*d)",
		}},
		{"merge key", head + "default: &d {}\nexchanges:\n  kraken:\n    <<: *d\n", Options{}, []string{
			"f.yaml:3:10: default: anchors are not allowed (&d)",
			"f.yaml:6:5: exchanges.kraken: merge keys (<<) are not allowed",
		}},
		{"unknown anchor", head + "lock: *nope\n", Options{}, []string{"f.yaml:3:7: aliases are not allowed"}},
		{"integer key", head + "exchanges:\n  42: {}\n", Options{}, []string{"f.yaml:4:3: exchanges: keys must be strings (got 42)"}},
		{"bool key", head + "true: 1\n", Options{}, []string{"f.yaml:3:1: keys must be strings (got true)"}},
		{"sequence key", head + "? [a]\n: 1\n", Options{}, []string{"f.yaml:3:3: keys must be strings (got a list)"}},

		// Top level.
		{"unknown top-level key", head + "proxies: {}\n", Options{}, []string{`f.yaml:3:1: proxies: unknown key "proxies"`}},
		{"missing enabled", "version: 1\n", Options{}, []string{`f.yaml:1:1: missing required key "enabled"`}},
		{"missing version", "enabled: true\n", Options{}, []string{`f.yaml:1:1: missing required key "version"`}},
		{"version 2", "version: 2\nenabled: true\n", Options{}, []string{"f.yaml:1:10: version: must be 1 (got 2)"}},
		{"version string", "version: \"1\"\nenabled: true\n", Options{}, []string{`f.yaml:1:10: version: must be an integer (got a string)`}},
		{"version float", "version: 1.0\nenabled: true\n", Options{}, []string{"f.yaml:1:10: version: must be an integer (got 1.0)"}},
		{"enabled string", "version: 1\nenabled: \"yes\"\n", Options{}, []string{`f.yaml:2:10: enabled: must be a boolean (got a string)`}},
		{"enabled null", "version: 1\nenabled:\n", Options{}, []string{"f.yaml:2:9: enabled: must be a boolean (got null)"}},
		{"package pattern", head + "package: My-Pkg\n", Options{}, []string{`f.yaml:3:10: package: must match ^[a-z_][a-z0-9_]*$ (got "My-Pkg")`}},
		{"env_prefix pattern", head + "env_prefix: 'A B'\n", Options{}, []string{`f.yaml:3:13: env_prefix: must match ^[A-Za-z][A-Za-z0-9_]*_$ (got "A B")`}},
		{"lock not bool", head + "lock: 1\n", Options{}, []string{"f.yaml:3:7: lock: must be a boolean (got 1)"}},
		{"default not mapping", head + "default: []\n", Options{}, []string{"f.yaml:3:10: default: must be a mapping (got a list)"}},

		// Transports and proxy configs.
		{"unknown transport", head + "default:\n  grpc: {direct: true}\n", Options{}, []string{`f.yaml:4:3: default.grpc: unknown key "grpc"`}},
		{"unknown proxy key", head + "default:\n  http: {url: 'socks5h://h:1', timeout: 5}\n", Options{}, []string{`f.yaml:4:32: default.http.timeout: unknown key "timeout"; did you mean "timeout_seconds"?`}},
		{"url and direct", head + "default:\n  http: {url: 'socks5h://h:1', direct: true}\n", Options{}, []string{"f.yaml:4:40: default.http.direct: must not be true together with url"}},
		{"neither url nor direct", head + "default:\n  http: {timeout_seconds: 5}\n", Options{}, []string{"f.yaml:4:9: default.http: needs url, urls or direct: true"}},
		{"direct false alone", head + "default:\n  websocket:\n    direct: false\n", Options{}, []string{"f.yaml:5:5: default.websocket: needs url, urls or direct: true"}},
		{"empty proxy", head + "exchanges:\n  kraken:\n    websocket: {}\n", Options{}, []string{"f.yaml:5:16: exchanges.kraken.websocket: needs url, urls or direct: true"}},
		{"proxy null", head + "default:\n  http:\n", Options{}, []string{"f.yaml:4:8: default.http: must be a mapping (got null)"}},
		{"proxy is a string", head + "default:\n  http: socks5h://h:1\n", Options{}, []string{`f.yaml:4:9: default.http: must be a mapping (got a string)`}},
		{"direct not bool", head + "default:\n  http: {direct: 'yes'}\n", Options{}, []string{
			"f.yaml:4:9: default.http: needs url, urls or direct: true",
			`f.yaml:4:18: default.http.direct: must be a boolean (got a string)`,
		}},
		{"optimistic not bool", head + "default:\n  http: {url: 'socks5h://h:1', optimistic: 1}\n", Options{}, []string{"f.yaml:4:44: default.http.optimistic: must be a boolean (got 1)"}},

		// timeout_seconds.
		{"timeout 0", head + "default:\n  http: {url: 'socks5h://h:1', timeout_seconds: 0}\n", Options{}, []string{"f.yaml:4:49: default.http.timeout_seconds: must be >= 1 (got 0)"}},
		{"timeout 301", head + "exchanges:\n  binance:\n    http: {url: 'socks5h://h:1', timeout_seconds: 301}\n", Options{}, []string{"f.yaml:5:51: exchanges.binance.http.timeout_seconds: must be <= 300 (got 301)"}},
		{"timeout negative", head + "default:\n  http: {url: 'socks5h://h:1', timeout_seconds: -5}\n", Options{}, []string{"f.yaml:4:49: default.http.timeout_seconds: must be >= 1 (got -5)"}},
		{"timeout float", head + "default:\n  http: {url: 'socks5h://h:1', timeout_seconds: 5.5}\n", Options{}, []string{"f.yaml:4:49: default.http.timeout_seconds: must be an integer (got 5.5)"}},
		{"timeout float integral", head + "default:\n  http: {url: 'socks5h://h:1', timeout_seconds: 5.0}\n", Options{}, []string{"f.yaml:4:49: default.http.timeout_seconds: must be an integer (got 5.0)"}},
		{"timeout string", head + "default:\n  http: {url: 'socks5h://h:1', timeout_seconds: \"5\"}\n", Options{}, []string{`f.yaml:4:49: default.http.timeout_seconds: must be an integer (got a string)`}},
		{"timeout bool", head + "default:\n  http: {url: 'socks5h://h:1', timeout_seconds: true}\n", Options{}, []string{"f.yaml:4:49: default.http.timeout_seconds: must be an integer (got true)"}},

		// URLs.
		{"url empty", head + "default:\n  http: {url: ''}\n", Options{}, []string{"f.yaml:4:15: default.http.url: must not be empty"}},
		{"url not string", head + "default:\n  http: {url: 1080}\n", Options{}, []string{"f.yaml:4:15: default.http.url: must be a string (got an integer)"}},
		{"url no scheme", head + "default:\n  http: {url: 'proxy:1080'}\n", Options{}, []string{"f.yaml:4:15: default.http.url: proxy URL needs a scheme, like socks5h://host:port"}},
		{"url bad scheme", head + "default:\n  http: {url: 'ftp://proxy:21'}\n", Options{}, []string{`f.yaml:4:15: default.http.url: unsupported proxy scheme (want http, https, socks4, socks4a, socks5 or socks5h)`}},
		{"url no host", head + "default:\n  http: {url: 'socks5://:1080'}\n", Options{}, []string{"f.yaml:4:15: default.http.url: proxy URL needs a host"}},
		{"url no port", head + "default:\n  http: {url: 'http://proxy'}\n", Options{}, []string{"f.yaml:4:15: default.http.url: proxy URL needs an explicit port"}},
		{"url port 0", head + "default:\n  http: {url: 'http://proxy:0'}\n", Options{}, []string{"f.yaml:4:15: default.http.url: proxy port 0 out of range 1..65535"}},
		{"url port 65536", head + "default:\n  http: {url: 'http://proxy:65536'}\n", Options{}, []string{"f.yaml:4:15: default.http.url: proxy port 65536 out of range 1..65535"}},
		{"url port text", head + "default:\n  http: {url: 'http://proxy:http'}\n", Options{}, []string{"f.yaml:4:15: default.http.url: proxy port is not a number"}},
		{"url path", head + "default:\n  http: {url: 'http://proxy:3128/x'}\n", Options{}, []string{"f.yaml:4:15: default.http.url: proxy URL must not have a path"}},
		{"url query", head + "default:\n  http: {url: 'http://proxy:3128/?a=1'}\n", Options{}, []string{"f.yaml:4:15: default.http.url: proxy URL must not have a query"}},
		{"url fragment", head + "default:\n  http: {url: 'http://proxy:3128#x'}\n", Options{}, []string{"f.yaml:4:15: default.http.url: proxy URL must not have a fragment"}},
		{"url ipv6 unbracketed", head + "default:\n  http: {url: 'socks5://::1:1080'}\n", Options{}, []string{"f.yaml:4:15: default.http.url: IPv6 proxy host must be in brackets"}},
		{"url inline user", head + "default:\n  websocket: {url: 'http://alice@proxy:3128'}\n", Options{}, []string{"f.yaml:4:20: default.websocket.url: inline user not allowed: use a ${VAR} reference (or -allow-inline-credentials)"}},
		{"url inline password", head + "default:\n  websocket: {url: 'http://${U}:hunter2@proxy:3128'}\n", Options{}, []string{"f.yaml:4:20: default.websocket.url: inline password not allowed: use a ${VAR} reference (or -allow-inline-credentials)"}},
		{"url partial var", head + "default:\n  websocket: {url: 'http://${U}:x${P}@proxy:3128'}\n", Options{}, []string{"f.yaml:4:20: default.websocket.url: password must be a whole ${VAR} reference"}},
		{"url bad var name", head + "default:\n  websocket: {url: 'http://${1U}@proxy:3128'}\n", Options{}, []string{"f.yaml:4:20: default.websocket.url: user reference must be ${NAME} with NAME of letters, digits and _"}},
		{"socks4 password", head + "default:\n  http: {url: 'socks4://${U}:${P}@proxy:1080'}\n", Options{AllowInlineCredentials: true}, []string{"f.yaml:4:15: default.http.url: socks4 takes a user id only, not a password"}},
		{"socks4a password", head + "default:\n  http: {url: 'SOCKS4A://${U}:${P}@proxy:1080'}\n", Options{}, []string{"f.yaml:4:15: default.http.url: socks4a takes a user id only, not a password"}},

		// Exchange ids.
		{"exchange id digit", head + "exchanges:\n  1inch: {}\n", Options{}, []string{`f.yaml:4:3: exchanges.1inch: exchange id must match ^[A-Za-z][A-Za-z0-9]*(_[A-Za-z0-9]+)*$ (got "1inch")`}},
		{"exchange id dash", head + "exchanges:\n  gate-io: {}\n", Options{}, []string{`f.yaml:4:3: exchanges.gate-io: exchange id must match ^[A-Za-z][A-Za-z0-9]*(_[A-Za-z0-9]+)*$ (got "gate-io"); did you mean "gate_io"?`}},
		{"exchange ids among siblings", "exchanges:\n  1a: {}\n  b-c: {}\nversion: 1\nenabled: true\nlock: false\npackage: p\n", Options{}, []string{
			`f.yaml:2:3: exchanges.1a: exchange id must match ^[A-Za-z][A-Za-z0-9]*(_[A-Za-z0-9]+)*$ (got "1a")`,
			`f.yaml:3:3: exchanges.b-c: exchange id must match ^[A-Za-z][A-Za-z0-9]*(_[A-Za-z0-9]+)*$ (got "b-c"); did you mean "b_c"?`,
		}},
		{"exchange id case duplicate", head + "exchanges:\n  binance: {}\n  kraken: {}\n  BINANCE: {}\n", Options{}, []string{`f.yaml:6:3: exchanges.BINANCE: exchange id "BINANCE" duplicates "binance" (first at line 4)`}},
		{"exchange id exact duplicate", head + "exchanges:\n  binance: {}\n  binance: {}\n", Options{}, []string{`f.yaml:5:3: exchanges.binance: duplicate key "binance" (first at line 4)`}},
		{"exchange null", head + "exchanges:\n  bybit:\n", Options{}, []string{"f.yaml:4:9: exchanges.bybit: must be a mapping (got null)"}},
		{"exchange unknown key", head + "exchanges:\n  bybit: {rest: {direct: true}}\n", Options{}, []string{`f.yaml:4:11: exchanges.bybit.rest: unknown key "rest"`}},
		{"exchanges not mapping", head + "exchanges: [binance]\n", Options{}, []string{"f.yaml:3:12: exchanges: must be a mapping (got a list)"}},

		// Every error of a file, sorted.
		{"many errors", "version: 3\nextra: x\ndefault:\n  http: {url: 'socks5://proxy', timeout_seconds: 301}\nexchanges:\n  Kraken: {websocket: {}}\n  kraken: {}\n", Options{}, []string{
			`f.yaml:1:1: missing required key "enabled"`,
			"f.yaml:1:10: version: must be 1 (got 3)",
			`f.yaml:2:1: extra: unknown key "extra"`,
			"f.yaml:4:15: default.http.url: proxy URL needs an explicit port",
			"f.yaml:4:50: default.http.timeout_seconds: must be <= 300 (got 301)",
			"f.yaml:6:23: exchanges.Kraken.websocket: needs url, urls or direct: true",
			`f.yaml:7:3: exchanges.kraken: exchange id "kraken" duplicates "Kraken" (first at line 6)`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := loadErrs(t, tt.src, tt.opts)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLoadValid(t *testing.T) {
	tests := []struct {
		name string
		src  string
		opts Options
	}{
		{"minimal", "version: 1\nenabled: false\n", Options{}},
		{"modeline and comments", "# yaml-language-server: $schema=" + SchemaID + "\nversion: 1 # v\nenabled: true\n", Options{}},
		{"every scheme", head + "exchanges:\n" +
			"  a: {http: {url: 'http://h:1'}}\n  b: {http: {url: 'https://h:443'}}\n" +
			"  c: {http: {url: 'socks4://h:1080'}}\n  d: {http: {url: 'socks4a://${ID}@h:1080'}}\n" +
			"  e: {http: {url: 'socks5://h:1080'}}\n  f: {http: {url: 'SOCKS5H://h:1080/'}}\n", Options{}},
		{"ipv6", head + "default:\n  http: {url: 'socks5h://[2001:db8::1]:1080'}\n", Options{}},
		{"direct false with url", head + "default:\n  http: {url: 'socks5h://h:1', direct: false}\n", Options{}},
		{"inline credentials allowed", head + "default:\n  http: {url: 'http://alice:s3cret@h:3128'}\n", Options{AllowInlineCredentials: true}},
		{"timeout bounds", head + "default:\n  http: {url: 'socks5h://h:1', timeout_seconds: 1}\n  websocket: {url: 'socks5h://h:1', timeout_seconds: 300}\n", Options{}},
		{"timeout hex", head + "default:\n  http: {url: 'socks5h://h:1', timeout_seconds: 0x1e}\n", Options{}},
		{"exchange without overrides", head + "exchanges:\n  bybit: {}\n", Options{}},
		{"empty exchanges", head + "exchanges: {}\n", Options{}},
		{"document end marker", head + "...\n", Options{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Load("f.yaml", []byte(tt.src), tt.opts); err != nil {
				t.Fatalf("Load: %v", err)
			}
		})
	}
}

const designExample = `# yaml-language-server: $schema=https://proxygen-go.github.io/proxygen/schema/v1.json
version: 1
package: proxies                 # Go package of the generated file (flag -package overrides)
enabled: true                    # required; false => everything direct (a compiled-in kill switch)
env_prefix: CRYPTOFEED_PROXY_    # optional, this is the default; run-time overlay, see below
lock: false                      # optional; true => no run-time overlay at all (locked-down builds)
default:
  http:      { url: "socks5h://proxy.internal:1080", timeout_seconds: 30 }
  websocket: { url: "http://${PROXY_USER}:${PROXY_PASS}@proxy.internal:3128" }
exchanges:
  binance:
    http: { url: "https://eu-egress.internal:8443", timeout_seconds: 10, optimistic: true }
  kraken:
    websocket: { direct: true }  # bypass the default for this exchange and transport
  Binance_Futures: {}
`

func TestLoadDesignExample(t *testing.T) {
	spec, err := Load("spec.yaml", []byte(designExample), Options{})
	if err != nil {
		t.Fatal(err)
	}
	ten, thirty, yes := 10, 30, true
	enabled := true
	want := &Spec{
		Version:   1,
		Package:   "proxies",
		Enabled:   &enabled,
		EnvPrefix: "CRYPTOFEED_PROXY_",
		Default: &Transports{
			HTTP:      &ProxyConfig{URL: "socks5h://proxy.internal:1080", TimeoutSeconds: &thirty},
			WebSocket: &ProxyConfig{URL: "http://${PROXY_USER}:${PROXY_PASS}@proxy.internal:3128"},
		},
		Exchanges: map[string]*Transports{
			"binance":         {HTTP: &ProxyConfig{URL: "https://eu-egress.internal:8443", TimeoutSeconds: &ten, Optimistic: &yes}},
			"kraken":          {WebSocket: &ProxyConfig{Direct: true}},
			"binance_futures": {},
		},
	}
	if diff := cmp.Diff(want, spec); diff != "" {
		t.Errorf("spec (-want +got):\n%s", diff)
	}
	if got := spec.ExchangeIDs(); !cmp.Equal(got, []string{"binance", "binance_futures", "kraken"}) {
		t.Errorf("ExchangeIDs = %v", got)
	}
	st, err := spec.Settings(false)
	if err != nil {
		t.Fatalf("Settings: %v", err)
	}
	if r := st.Exchanges["kraken"].WebSocket; r == nil || !r.Direct {
		t.Errorf("kraken websocket route = %+v, want direct", r)
	}
	if p := st.Default.WebSocket.Proxies[0]; p.UserVar != "PROXY_USER" || p.PasswordVar != "PROXY_PASS" {
		t.Errorf("default websocket proxy = %+v", p)
	}
}

// No message ever shows a password, however wrong the URL around it.
func TestCanary(t *testing.T) {
	const canary = "CANARY-s3cr3t"
	urls := []string{
		"socks5://user:" + canary + "@proxy",
		"socks5://user:" + canary + "@proxy:0",
		"socks5://user:" + canary + "@proxy:99999",
		"socks5://user:" + canary + "@proxy:1080/path",
		"socks5://user:" + canary + "@proxy:1080?q=1",
		"socks5://user:" + canary + "@proxy:1080#frag",
		"socks5://user:" + canary + "@",
		"socks5://user:" + canary,
		"socks5://user:" + canary + "/x@proxy:1080",
		"socks5://user:" + canary + "?@proxy:1080",
		"socks5://user:" + canary + "#@proxy:1080",
		"socks5://user:" + canary + "@pro xy:1080",
		"socks5://user:" + canary + "@[::1:1080",
		"socks5://user:" + canary + "@[10.0.0.1]:1080",
		"socks5://user:" + canary + "@ho$t:1080",
		"socks5://" + canary + "@proxy:1080",
		"socks4://user:" + canary + "@proxy:1080",
		"http://user:" + canary + "@proxy:3128",
		"http://${USER}:" + canary + "@proxy:3128",
		"http://${USER}:${" + canary + "}@proxy:3128",
		"http://${USER}:x${" + canary + "}@proxy:3128",
		"ftp://user:" + canary + "@proxy:21",
		"user:" + canary + "@proxy:1080",
		"//user:" + canary + "@proxy:1080",
		"socks5:/user:" + canary + "@proxy:1080",
		"user:" + canary + "@socks5://proxy:1080",
		"socks5://user:" + canary + "@proxy:1080 ",
	}
	for _, u := range urls {
		srcs := []string{
			head + "default:\n  http: {url: '" + u + "'}\n",
			head + "default:\n  http: {url: '" + u + "', direct: true, timeout_seconds: 301}\n",
			head + "default:\n  http: '" + u + "'\n",
			head + "default:\n  http: {url: '" + u + "', timeout_seconds: '" + u + "', direct: '" + u + "', optimistic: ['" + u + "']}\n",
			head + "package: '" + u + "'\nenv_prefix: '" + u + "'\n",
			head + "exchanges:\n  '" + u + "': {}\n",
			head + "'" + u + "': 1\n",
			"version: '" + u + "'\nenabled: '" + u + "'\n",
			"'" + u + "'\n",
			head + "default:\n  http: {url: '" + u + "', url: '" + u + "'}\n",
			head + "default:\n  http: {url: \"" + u + "\\q\"}\n",
			head + "default:\n  http: {url: '" + u + "'\n",
			head + "default:\n  http: {url: " + u + "}\n",
			head + "default:\n  http:\n    url: " + u + ": x\n",
			head + "default:\n  http: {url: &a '" + u + "'}\n  websocket: {url: *a}\n",
		}
		for _, src := range srcs {
			for _, opts := range []Options{{}, {AllowInlineCredentials: true}} {
				_, err := Load("f.yaml", []byte(src), opts)
				if err == nil {
					continue
				}
				if strings.Contains(err.Error(), canary) || strings.Contains(fmt.Sprintf("%+v %#v", err, err), canary) {
					t.Errorf("message shows the password:\nsrc: %s\nerr: %v", src, err)
				}
			}
		}
	}
	// The canary must reach the URL check at all: it fails without the
	// check's redaction.
	if _, err := Load("f.yaml", []byte(head+"default:\n  http: {url: 'socks5://user:"+canary+"@proxy'}\n"), Options{}); err == nil {
		t.Fatal("URL without port accepted")
	}
}

func TestLoadFile(t *testing.T) {
	spec, err := LoadFile(filepath.Join("testdata", "spec.yaml"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(spec.Exchanges) != 3 {
		t.Errorf("exchanges = %v", spec.ExchangeIDs())
	}

	_, err = LoadFile(filepath.Join("testdata", "invalid.yaml"), Options{})
	var es Errors
	if !errors.As(err, &es) || len(es) == 0 || es[0].File != filepath.Join("testdata", "invalid.yaml") {
		t.Fatalf("invalid.yaml: %v", err)
	}

	missing := filepath.Join("testdata", "no-such-spec.yaml")
	_, err = LoadFile(missing, Options{})
	if err == nil || errors.As(err, &es) {
		t.Fatalf("missing file: got %T %v, want a plain error", err, err)
	}
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), missing) {
		t.Errorf("missing file: %v", err)
	}
}

func TestErrorsFormat(t *testing.T) {
	es := Errors{
		{File: "b.yaml", Line: 1, Col: 1, Msg: "empty spec"},
		{File: "a.yaml", Line: 3, Col: 2, Path: "lock", Msg: "z"},
		{File: "a.yaml", Line: 3, Col: 2, Path: "lock", Msg: "a"},
		{File: "a.yaml", Line: 3, Col: 1, Path: "x", Msg: "m"},
		{File: "a.yaml", Line: 3, Col: 2, Path: "lock", Msg: "a"},
		{File: "a.yaml", Line: 10, Col: 1, Path: "a", Msg: "m"},
	}
	want := "a.yaml:3:1: x: m\na.yaml:3:2: lock: a\na.yaml:3:2: lock: z\na.yaml:10:1: a: m\nb.yaml:1:1: empty spec"
	sorted := es.Sort()
	if got := sorted.Error(); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	var e *Error
	if !errors.As(error(sorted), &e) || e.Path != "x" {
		t.Errorf("errors.As(*Error) = %v", e)
	}
}

// Two keys that differ only in case are one exchange: Load lower-cases ids.
func TestLoadLowerCasesIDs(t *testing.T) {
	spec, err := Load("f.yaml", []byte(head+"exchanges:\n  BinanceFutures: {http: {direct: true}}\n  KRAKEN: {}\n"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := spec.ExchangeIDs(); !cmp.Equal(got, []string{"binancefutures", "kraken"}) {
		t.Errorf("ids = %v", got)
	}
}

func manyExchanges(n int) []byte {
	var b strings.Builder
	b.WriteString(head + "default:\n  http: {url: 'socks5h://proxy.internal:1080', timeout_seconds: 30}\n  websocket: {url: 'http://${PROXY_USER}:${PROXY_PASS}@proxy.internal:3128'}\nexchanges:\n")
	for i := range n {
		switch i % 3 {
		case 0:
			fmt.Fprintf(&b, "  Exchange_%d:\n    http: {url: 'https://egress-%d.internal:8443', timeout_seconds: %d}\n", i, i, 1+i%300)
		case 1:
			fmt.Fprintf(&b, "  exchange_%d:\n    websocket: {direct: true}\n", i)
		default:
			fmt.Fprintf(&b, "  exchange_%d: {}\n", i)
		}
	}
	return []byte(b.String())
}

func TestLoad1000(t *testing.T) {
	spec, err := Load("f.yaml", manyExchanges(1000), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(spec.Exchanges) != 1000 {
		t.Fatalf("exchanges = %d", len(spec.Exchanges))
	}
	if c := spec.Exchanges["exchange_999"]; c == nil || c.HTTP == nil || *c.HTTP.TimeoutSeconds != 1+999%300 {
		t.Errorf("exchange_999 = %+v", c)
	}
}

func BenchmarkLoad1000(b *testing.B) {
	data := manyExchanges(1000)
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := Load("f.yaml", data, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

// TestLoadFoldsIDsLikeTheRuntime: the loader folds ids with the runtime's
// one ASCII folding, so a Unicode look-alike (the Kelvin sign, which
// strings.ToLower turns into "k") is not taken for an ASCII id: it is an
// invalid id, never a second name of "kraken".
func TestLoadFoldsIDsLikeTheRuntime(t *testing.T) {
	_, err := Load("f.yaml", []byte(head+"exchanges:\n  \u212Araken: {}\n"), Options{})
	if err == nil {
		t.Fatal("an id with the Kelvin sign was accepted")
	}
	_, err = Load("f.yaml", []byte(head+"exchanges:\n  kraken: {}\n  \u212Araken: {}\n"), Options{})
	if err == nil || strings.Contains(err.Error(), "duplicates") {
		t.Fatalf("err = %v, want an invalid id, not a duplicate", err)
	}
}
