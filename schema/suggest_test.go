package schema

import (
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Unknown keys get the near miss among the keys the schema allows at that
// place; nothing when no key is close.
func TestDidYouMean(t *testing.T) {
	tests := []struct{ name, src, want string }{
		{"swap", head + "defualt: {}\n", `f.yaml:3:1: defualt: unknown key "defualt"; did you mean "default"?`},
		{"case", head + "Default: {}\n", `f.yaml:3:1: Default: unknown key "Default"; did you mean "default"?`},
		{"missing letter", head + "exchange: {}\n", `f.yaml:3:1: exchange: unknown key "exchange"; did you mean "exchanges"?`},
		{"dash", head + "env-prefix: X_\n", `f.yaml:3:1: env-prefix: unknown key "env-prefix"; did you mean "env_prefix"?`},
		{"transport", head + "default:\n  htpp: {direct: true}\n", `f.yaml:4:3: default.htpp: unknown key "htpp"; did you mean "http"?`},
		{"exchange transport", head + "exchanges:\n  binance:\n    websockets: {direct: true}\n", `f.yaml:5:5: exchanges.binance.websockets: unknown key "websockets"; did you mean "websocket"?`},
		{"proxy key", head + "default:\n  http: {url: 'socks5h://h:1', optimistc: true}\n", `f.yaml:4:32: default.http.optimistc: unknown key "optimistc"; did you mean "optimistic"?`},
		{"prefix", head + "default:\n  http: {url: 'socks5h://h:1', timeout: 5}\n", `f.yaml:4:32: default.http.timeout: unknown key "timeout"; did you mean "timeout_seconds"?`},
		{"two close", head + "default:\n  http: {url: 'socks5h://h:1', urll: 'x'}\n", `f.yaml:4:32: default.http.urll: unknown key "urll"; did you mean "url" or "urls"?`},
		{"one level too high", head + "exchanges:\n  binance:\n    url: 'socks5h://h:1'\n", `f.yaml:5:5: exchanges.binance.url: unknown key "url"; "url" goes under "http" or "websocket"`},
		{"timeout under default", head + "default:\n  timeout_seconds: 5\n", `f.yaml:4:3: default.timeout_seconds: unknown key "timeout_seconds"; "timeout_seconds" goes under "http" or "websocket"`},
		{"nothing close", head + "proxies: {}\n", `f.yaml:3:1: proxies: unknown key "proxies"`},
		{"short", head + "x: 1\n", `f.yaml:3:1: x: unknown key "x"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff([]string{tt.want}, loadErrs(t, tt.src, Options{})); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
		})
	}
}

// The candidate keys come from the schema at each place.
func TestAllowedKeys(t *testing.T) {
	tests := []struct {
		path []string
		want []string
	}{
		{nil, []string{"default", "enabled", "env_prefix", "exchanges", "lock", "package", "version"}},
		{[]string{"default"}, []string{"http", "websocket"}},
		{[]string{"exchanges", "anything"}, []string{"http", "websocket"}},
		{[]string{"exchanges", "kraken", "websocket"}, []string{"attempt_timeout_seconds", "direct", "eject", "health_check", "hedge_after_ms", "optimistic", "strategy", "timeout_seconds", "url", "urls", "when_all_down"}},
		{[]string{"nope"}, []string{}},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, allowedKeys(tt.path)); diff != "" {
			t.Errorf("%v (-want +got):\n%s", tt.path, diff)
		}
	}
}

func TestEditDistance(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"default", "default", 0}, {"defualt", "default", 1}, {"deafult", "default", 1},
		{"defaul", "default", 1}, {"defaults", "default", 1}, {"dfeualt", "default", 2}, {"abc", "xyz", 3},
		{"", "url", 3}, {"ürl", "url", 1},
	}
	for _, tt := range tests {
		if got := editDistance(tt.a, tt.b); got != tt.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
		if got := editDistance(tt.b, tt.a); got != tt.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tt.b, tt.a, got, tt.want)
		}
	}
}

// Invalid exchange ids get the valid id they were meant to be.
func TestSuggestID(t *testing.T) {
	tests := []struct{ id, want string }{
		{"binance-futures", `; did you mean "binance_futures"?`},
		{"Binance-Futures", `; did you mean "binance_futures"?`},
		{"gate.io", `; did you mean "gate_io"?`},
		{"crypto com", `; did you mean "crypto_com"?`},
		{"-okx-", `; did you mean "okx"?`},
		{"1inch", ""},
		{"---", ""},
		{"binance", ""},
		{"socks5://u:pw@h", ""},
		{"a@b", ""},
	}
	for _, tt := range tests {
		if got := suggestID(tt.id); got != tt.want {
			t.Errorf("suggestID(%q) = %q, want %q", tt.id, got, tt.want)
		}
	}
	got := loadErrs(t, head+"exchanges:\n  binance-futures: {}\n", Options{})
	want := []string{`f.yaml:4:3: exchanges.binance-futures: exchange id must match ` + ExchangeKeyPattern + ` (got "binance-futures"); did you mean "binance_futures"?`}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("errors (-want +got):\n%s", diff)
	}
}

// One problem gives one message: where the schema and a semantic check
// both object to a value, only the more specific message remains.
func TestOneMessagePerValue(t *testing.T) {
	tests := []struct{ name, src, want string }{
		{"huge integer", head + "default:\n  http: {url: 'socks5h://h:1', timeout_seconds: 99999999999999999999}\n",
			"f.yaml:4:49: default.http.timeout_seconds: must be <= 300 (got 99999999999999999999)"},
		{"huge negative integer", head + "default:\n  http: {url: 'socks5h://h:1', timeout_seconds: -99999999999999999999}\n",
			"f.yaml:4:49: default.http.timeout_seconds: must be >= 1 (got -99999999999999999999)"},
		{"float over range", head + "default:\n  http: {url: 'socks5h://h:1', timeout_seconds: 1e3}\n",
			"f.yaml:4:49: default.http.timeout_seconds: must be <= 300 (got 1e3)"},
		{"huge version", "version: 99999999999999999999\nenabled: true\n",
			"f.yaml:1:10: version: must be 1 (got 99999999999999999999)"},
		{"url without port", head + "default:\n  http: {url: 'socks5h://h'}\n",
			"f.yaml:4:15: default.http.url: proxy URL needs an explicit port"},
		{"url bad scheme", head + "default:\n  http: {url: 'ftp://h:21'}\n",
			`f.yaml:4:15: default.http.url: unsupported proxy scheme (want http, https, socks4, socks4a, socks5 or socks5h)`},
		{"url port out of range", head + "default:\n  http: {url: 'socks5h://h:65536'}\n",
			"f.yaml:4:15: default.http.url: proxy port 65536 out of range 1..65535"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff([]string{tt.want}, loadErrs(t, tt.src, Options{})); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
		})
	}
	// Distinct problems at one place all stay.
	got := loadErrs(t, "{}\n", Options{})
	want := []string{`f.yaml:1:1: missing required key "enabled"`, `f.yaml:1:1: missing required key "version"`}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("errors (-want +got):\n%s", diff)
	}
}

func TestMessageRank(t *testing.T) {
	tests := []struct {
		msg  string
		want int
	}{
		{`unknown key "x"`, rankStructural},
		{`missing required key "enabled"`, rankStructural},
		{"anchors are not allowed (&d)", rankStructural},
		{"must match ^a$ (got a string)", rankPattern},
		{"must be an integer (got 1e3)", rankType},
		{"must be a mapping or null (got a list)", rankType},
		{"must be a boolean (got \"yes\")", rankType},
		{"must be <= 300 (got 301)", rankBound},
		{"must be >= 1 (got 0)", rankBound},
		{"must be 1 (got 2)", rankBound},
		{"must be one of \"a\", \"b\" (got \"c\")", rankBound},
		{"must not be empty", rankBound},
		{"proxy URL needs an explicit port", rankSemantic},
		{"must not be true together with url", rankSemantic},
	}
	for _, tt := range tests {
		if got := messageRank(tt.msg); got != tt.want {
			t.Errorf("messageRank(%q) = %d, want %d", tt.msg, got, tt.want)
		}
	}
}

// Values are shown where a field can never hold a secret (package,
// env_prefix, ids; booleans and numbers), capped; URLs and strings in any
// other field never are.
func TestShownValues(t *testing.T) {
	long := strings.Repeat("x", 70) + "-"
	tests := []struct{ name, src, want string }{
		{"package", head + "package: My-Pkg\n", `f.yaml:3:10: package: must match ^[a-z_][a-z0-9_]*$ (got "My-Pkg")`},
		{"env_prefix", head + "env_prefix: 'A B'\n", `f.yaml:3:13: env_prefix: must match ^[A-Za-z][A-Za-z0-9_]*_$ (got "A B")`},
		{"boolean field", head + "lock: 'no'\n", `f.yaml:3:7: lock: must be a boolean (got a string)`},
		{"integer field", head + "default:\n  http: {url: 'socks5h://h:1', timeout_seconds: 'ten'}\n", `f.yaml:4:49: default.http.timeout_seconds: must be an integer (got a string)`},
		{"integer", head + "default:\n  http: {url: 'socks5h://h:1', timeout_seconds: 301}\n", "f.yaml:4:49: default.http.timeout_seconds: must be <= 300 (got 301)"},
		{"capped", head + "package: " + long + "\n", `f.yaml:3:10: package: must match ^[a-z_][a-z0-9_]*$ (got "` + strings.Repeat("x", 61) + `...")`},
		{"capped number", head + "lock: " + strings.Repeat("9", 100) + "\n", "f.yaml:3:7: lock: must be a boolean (got " + strings.Repeat("9", 61) + "...)"},
		{"exchange key in a field", head + "exchanges:\n  bin-ance: {}\n", `(got "bin-ance")`},
		{"url never", head + "default:\n  http: {url: 1080}\n", "f.yaml:4:15: default.http.url: must be a string (got an integer)"},
		{"url string never", head + "default:\n  http: {url: 'socks5h://h:1', direct: 'hunter2'}\n", `f.yaml:4:40: default.http.direct: must be a boolean (got a string)`},
		{"transport never", head + "default:\n  http: 'hunter2'\n", "f.yaml:4:9: default.http: must be a mapping (got a string)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := loadErrs(t, tt.src, Options{})
			if len(got) > 0 && !strings.Contains(got[0], tt.want) {
				t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), tt.want)
			}
		})
	}
	if got := capString(strings.Repeat("é", 40), maxEcho); len(got) > maxEcho || !strings.HasSuffix(got, "...") || !strings.HasPrefix(got, "ééé") {
		t.Errorf("capString cut a character: %q (%d bytes)", got, len(got))
	}
}

// Hints never echo a password: not in a key's suggestion, not lower-cased.
func TestHintsCanary(t *testing.T) {
	const canary = "CANARY-s3cr3t"
	srcs := []string{
		head + "exchanges:\n  'socks5://user:" + canary + "@proxy:1080': {}\n",
		head + "exchanges:\n  '" + canary + "@h': {}\n",
		head + "'socks5://user:" + canary + "@proxy:1080': {}\n",
		head + "default:\n  http: {url: 'socks5://user:" + canary + "@proxy'}\n",
		head + "default:\n  http: {url: 'socks5://user:" + canary + "@proxy:1080', timeout_seconds: 'socks5://u:" + canary + "@h:1'}\n",
		head + "default:\n  http:\n\turl: 'socks5://user:" + canary + "@proxy:1080'\n",
		head + "default:\n  http:\n    url: socks5://user:" + canary + "@proxy:1080\n   timeout_seconds: 5\n",
	}
	lower := regexp.MustCompile(`(?i)canary.s3cr3t`)
	for _, src := range srcs {
		_, err := Load("f.yaml", []byte(src), Options{})
		if err == nil {
			t.Fatalf("accepted:\n%s", src)
		}
		if lower.MatchString(err.Error()) {
			t.Errorf("message shows the password:\nsrc: %s\nerr: %v", src, err)
		}
	}
}
