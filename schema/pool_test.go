package schema

import (
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/proxygen-go/proxygen/runtime"
)

// pool is a valid pool route body for flow mappings.
const pool = "urls: ['socks5h://a:1', 'http://b:2']"

// poolCase is a spec and its errors; want nil means it loads.
type poolCase struct {
	name string
	src  string
	opts Options
	want []string
}

func poolErrorCases() []poolCase {
	return []poolCase{
		// url | urls | direct.
		{"url and urls", head + "default:\n  http: {url: 'socks5h://a:1', urls: ['socks5h://b:1']}\n", Options{}, []string{
			"f.yaml:4:38: default.http.urls: must not be set together with url",
		}},
		{"urls and direct", head + "default:\n  http: {" + pool + ", direct: true}\n", Options{}, []string{
			"f.yaml:4:57: default.http.direct: must not be true together with urls",
		}},
		{"url urls and direct", head + "default:\n  http: {url: 'socks5h://a:1', urls: ['socks5h://b:1'], direct: true}\n", Options{}, []string{
			"f.yaml:4:38: default.http.urls: must not be set together with url",
			"f.yaml:4:65: default.http.direct: must not be true together with url",
		}},
		{"pool settings without a destination", head + "exchanges:\n  kraken:\n    http: {strategy: sticky}\n", Options{}, []string{
			"f.yaml:5:11: exchanges.kraken.http: needs url, urls or direct: true",
		}},
		{"direct false with urls", head + "default:\n  http: {" + pool + ", direct: false, strategy: random}\n", Options{}, nil},
		{"pool settings with direct", head + "default:\n  http:\n    direct: true\n    strategy: sticky\n    attempt_timeout_seconds: 3\n    hedge_after_ms: 0\n    eject: {}\n    health_check: {target: 'h:1'}\n    when_all_down: fail_fast\n", Options{}, []string{
			"f.yaml:6:15: default.http.strategy: only with url or urls, not with direct: true",
			"f.yaml:7:30: default.http.attempt_timeout_seconds: only with url or urls, not with direct: true",
			"f.yaml:8:21: default.http.hedge_after_ms: only with url or urls, not with direct: true",
			"f.yaml:9:12: default.http.eject: only with url or urls, not with direct: true",
			"f.yaml:10:19: default.http.health_check: only with url or urls, not with direct: true",
			"f.yaml:11:20: default.http.when_all_down: only with url or urls, not with direct: true",
		}},
		{"pool settings with url", head + "default:\n  http: {url: 'socks5h://a:1', strategy: failover, hedge_after_ms: 10}\n", Options{}, nil},

		// urls.
		{"urls empty", head + "default:\n  http: {urls: []}\n", Options{}, []string{"f.yaml:4:16: default.http.urls: must have at least 1 item (got 0)"}},
		{"urls 65", head + "default:\n  http: {urls: [" + members(65) + "]}\n", Options{}, []string{"f.yaml:4:16: default.http.urls: must have at most 64 items (got 65)"}},
		{"urls 64", head + "default:\n  http: {urls: [" + members(64) + "]}\n", Options{}, nil},
		{"urls not a list", head + "default:\n  http: {urls: 'socks5h://a:1'}\n", Options{}, []string{"f.yaml:4:16: default.http.urls: must be a list (got a string)"}},
		{"urls member not a string", head + "default:\n  http: {urls: ['socks5h://a:1', 7]}\n", Options{}, []string{"f.yaml:4:34: default.http.urls.1: must be a string (got 7)"}},
		{"urls member empty", head + "default:\n  http: {urls: ['socks5h://a:1', '']}\n", Options{}, []string{"f.yaml:4:34: default.http.urls.1: must not be empty"}},
		{"urls member invalid", head + "default:\n  websocket:\n    urls:\n      - 'socks5h://a:1'\n      - 'socks5h://b'\n      - 'ftp://c:21'\n      - 'http://alice@d:3128'\n      - 'http://${U}:x${P}@e:3128'\n      - 'socks4://${U}:${P}@f:1080'\n", Options{}, []string{
			"f.yaml:7:9: default.websocket.urls.1: proxy URL needs an explicit port",
			`f.yaml:8:9: default.websocket.urls.2: unsupported proxy scheme (want http, https, socks4, socks4a, socks5 or socks5h)`,
			"f.yaml:9:9: default.websocket.urls.3: inline user not allowed: use a ${VAR} reference (or -allow-inline-credentials)",
			"f.yaml:10:9: default.websocket.urls.4: password must be a whole ${VAR} reference",
			"f.yaml:11:9: default.websocket.urls.5: socks4 takes a user id only, not a password",
		}},
		{"urls inline credentials allowed", head + "default:\n  http: {urls: ['http://alice:pw@d:3128', 'http://bob:pw@d:3128']}\n", Options{AllowInlineCredentials: true}, nil},
		{"urls duplicate", head + "default:\n  websocket:\n    urls:\n      - 'socks5h://a:1'\n      - 'socks5h://b:1'\n      - 'socks5h://a:1'\n", Options{}, []string{
			"f.yaml:8:9: default.websocket.urls.2: duplicates urls.0 (line 6): the same proxy twice",
		}},
		{"urls duplicate after normalisation", head + "default:\n  websocket:\n    urls:\n      - 'socks5h://${U}:${P}@proxy.internal:1080'\n      - 'SOCKS5H://${U}:${P}@PROXY.internal:1080/'\n      - 'http://[2001:db8::1]:3128'\n      - 'http://[2001:DB8:0::1]:3128'\n", Options{}, []string{
			"f.yaml:7:9: default.websocket.urls.1: duplicates urls.0 (line 6): the same proxy twice",
			"f.yaml:9:9: default.websocket.urls.3: duplicates urls.2 (line 8): the same proxy twice",
		}},
		{"urls same host other scheme or credentials", head + "default:\n  websocket:\n    urls: ['socks5h://a:1', 'socks5://a:1', 'socks5h://${U}@a:1', 'socks5h://${V}@a:1', 'socks5h://a:2']\n", Options{}, nil},

		// strategy and when_all_down.
		{"strategy unknown", head + "default:\n  http: {" + pool + ", strategy: least_conn}\n", Options{}, []string{
			`f.yaml:4:59: default.http.strategy: must be one of "failover", "round_robin", "random", "sticky", "fastest" (got "least_conn")`,
		}},
		{"strategy case", head + "default:\n  http: {" + pool + ", strategy: Sticky}\n", Options{}, []string{
			`f.yaml:4:59: default.http.strategy: must be one of "failover", "round_robin", "random", "sticky", "fastest" (got "Sticky")`,
		}},
		{"when_all_down direct", head + "default:\n  http: {" + pool + ", when_all_down: direct}\n", Options{}, []string{
			`f.yaml:4:64: default.http.when_all_down: must be one of "try_ejected", "fail_fast" (got "direct")`,
		}},
		{"when_all_down bool", head + "default:\n  http: {" + pool + ", when_all_down: false}\n", Options{}, []string{
			`f.yaml:4:64: default.http.when_all_down: must be a string (got false)`,
		}},

		// attempt_timeout_seconds.
		{"attempt above own timeout", head + "default:\n  http: {" + pool + ", timeout_seconds: 5, attempt_timeout_seconds: 6}\n", Options{}, []string{
			"f.yaml:4:94: default.http.attempt_timeout_seconds: must be <= timeout_seconds (5)",
		}},
		{"attempt equal to timeout", head + "default:\n  http: {" + pool + ", timeout_seconds: 5, attempt_timeout_seconds: 5}\n", Options{}, nil},
		{"attempt above default timeout", head + "default:\n  http: {" + pool + ", attempt_timeout_seconds: 31}\n", Options{}, []string{
			"f.yaml:4:74: default.http.attempt_timeout_seconds: must be <= timeout_seconds (30, the default)",
		}},
		{"attempt above inherited timeout", head + "default:\n  http: {" + pool + ", timeout_seconds: 10}\nexchanges:\n  kraken:\n    http: {url: 'socks5h://k:1', attempt_timeout_seconds: 11}\n", Options{}, []string{
			"f.yaml:7:59: exchanges.kraken.http.attempt_timeout_seconds: must be <= timeout_seconds (10, inherited from default.http at line 4)",
		}},
		{"inherited attempt above own timeout", head + "default:\n  http: {" + pool + ", attempt_timeout_seconds: 10}\nexchanges:\n  kraken:\n    http: {url: 'socks5h://k:1', timeout_seconds: 9}\n", Options{}, []string{
			"f.yaml:7:51: exchanges.kraken.http.timeout_seconds: must be >= attempt_timeout_seconds (10, inherited from default.http at line 4)",
		}},
		{"inherited from the other transport only", head + "default:\n  websocket: {" + pool + ", timeout_seconds: 60}\nexchanges:\n  kraken:\n    http: {url: 'socks5h://k:1', attempt_timeout_seconds: 40}\n", Options{}, []string{
			"f.yaml:7:59: exchanges.kraken.http.attempt_timeout_seconds: must be <= timeout_seconds (30, the default)",
		}},
		{"attempt reported once at the default", head + "default:\n  http: {" + pool + ", timeout_seconds: 5, attempt_timeout_seconds: 6}\nexchanges:\n  kraken:\n    http: {url: 'socks5h://k:1'}\n", Options{}, []string{
			"f.yaml:4:94: default.http.attempt_timeout_seconds: must be <= timeout_seconds (5)",
		}},
		{"attempt range", head + "default:\n  http: {" + pool + ", attempt_timeout_seconds: 0}\n  websocket: {" + pool + ", attempt_timeout_seconds: 301}\n", Options{}, []string{
			"f.yaml:4:74: default.http.attempt_timeout_seconds: must be >= 1 (got 0)",
			"f.yaml:5:79: default.websocket.attempt_timeout_seconds: must be <= 300 (got 301)",
		}},
		{"attempt float", head + "default:\n  http: {" + pool + ", attempt_timeout_seconds: 3.0}\n", Options{}, []string{
			"f.yaml:4:74: default.http.attempt_timeout_seconds: must be an integer (got 3.0)",
		}},

		// hedge_after_ms.
		{"hedge bounds", head + "default:\n  http: {" + pool + ", hedge_after_ms: 10}\n  websocket: {" + pool + ", hedge_after_ms: 60000}\nexchanges:\n  k: {http: {url: 'socks5h://k:1', hedge_after_ms: 0}}\n", Options{}, nil},
		{"hedge range", head + "exchanges:\n" +
			"  a: {http: {url: 'socks5h://k:1', hedge_after_ms: 9}}\n" +
			"  b: {http: {url: 'socks5h://k:1', hedge_after_ms: 60001}}\n" +
			"  c: {http: {url: 'socks5h://k:1', hedge_after_ms: -1}}\n" +
			"  d: {http: {url: 'socks5h://k:1', hedge_after_ms: 99999999999999999999}}\n", Options{}, []string{
			"f.yaml:4:52: exchanges.a.http.hedge_after_ms: must be 0 (off) or 10..60000 (got 9)",
			"f.yaml:5:52: exchanges.b.http.hedge_after_ms: must be 0 (off) or 10..60000 (got 60001)",
			"f.yaml:6:52: exchanges.c.http.hedge_after_ms: must be 0 (off) or 10..60000 (got -1)",
			"f.yaml:7:52: exchanges.d.http.hedge_after_ms: must be an integer (got 99999999999999999999)",
		}},
		{"hedge type", head + "default:\n  http: {" + pool + ", hedge_after_ms: '250'}\n  websocket: {" + pool + ", hedge_after_ms: 250.0}\n", Options{}, []string{
			"f.yaml:4:65: default.http.hedge_after_ms: must be an integer (got a string)",
			"f.yaml:5:70: default.websocket.hedge_after_ms: must be an integer (got 250.0)",
		}},

		// eject.
		{"eject after_failures range", head + "default:\n  http: {" + pool + ", eject: {after_failures: 0}}\n  websocket: {" + pool + ", eject: {after_failures: 101}}\n", Options{}, []string{
			"f.yaml:4:73: default.http.eject.after_failures: must be >= 1 (got 0)",
			"f.yaml:5:78: default.websocket.eject.after_failures: must be <= 100 (got 101)",
		}},
		{"eject seconds range", head + "default:\n  http: {" + pool + ", eject: {seconds: 0, max_seconds: 86401}}\n  websocket: {" + pool + ", eject: {seconds: 3601, max_seconds: 86400}}\n", Options{}, []string{
			"f.yaml:4:66: default.http.eject.seconds: must be >= 1 (got 0)",
			"f.yaml:4:82: default.http.eject.max_seconds: must be <= 86400 (got 86401)",
			"f.yaml:5:71: default.websocket.eject.seconds: must be <= 3600 (got 3601)",
		}},
		{"eject seconds above max_seconds", head + "default:\n  http: {" + pool + ", eject: {seconds: 60, max_seconds: 59}}\n", Options{}, []string{
			"f.yaml:4:66: default.http.eject.seconds: must be <= eject.max_seconds (59)",
		}},
		{"eject seconds above default max_seconds", head + "default:\n  http: {" + pool + ", eject: {seconds: 301}}\n", Options{}, []string{
			"f.yaml:4:66: default.http.eject.seconds: must be <= eject.max_seconds (300, the default)",
		}},
		{"eject max_seconds below default seconds", head + "default:\n  http: {" + pool + ", eject: {max_seconds: 29}}\n", Options{}, []string{
			"f.yaml:4:70: default.http.eject.max_seconds: must be >= eject.seconds (30, the default)",
		}},
		{"eject seconds above inherited max_seconds", head + "default:\n  http: {" + pool + ", eject: {max_seconds: 100}}\nexchanges:\n  k:\n    http: {url: 'socks5h://k:1', eject: {seconds: 101}}\n", Options{}, []string{
			"f.yaml:7:51: exchanges.k.http.eject.seconds: must be <= eject.max_seconds (100, inherited from default.http at line 4)",
		}},
		{"eject max_seconds below inherited seconds", head + "default:\n  http: {" + pool + ", eject: {seconds: 600, max_seconds: 3600}}\nexchanges:\n  k:\n    http: {url: 'socks5h://k:1', eject: {max_seconds: 599}}\n", Options{}, []string{
			"f.yaml:7:55: exchanges.k.http.eject.max_seconds: must be >= eject.seconds (600, inherited from default.http at line 4)",
		}},
		{"eject raising both in an override", head + "default:\n  http: {" + pool + ", eject: {seconds: 10, max_seconds: 20}}\nexchanges:\n  k:\n    http: {url: 'socks5h://k:1', eject: {seconds: 600, max_seconds: 3600}}\n", Options{}, nil},
		{"eject unknown key", head + "default:\n  http: {" + pool + ", eject: {after: 3}}\n", Options{}, []string{
			`f.yaml:4:57: default.http.eject.after: unknown key "after"; did you mean "after_failures"?`,
		}},
		{"eject not a mapping", head + "default:\n  http: {" + pool + ", eject: 3}\n", Options{}, []string{
			"f.yaml:4:56: default.http.eject: must be a mapping (got 3)",
		}},

		// health_check.
		{"health target", head + "exchanges:\n" +
			"  a: {http: {url: 'socks5h://k:1', health_check: {target: 'api.binance.com'}}}\n" +
			"  b: {http: {url: 'socks5h://k:1', health_check: {target: 'api.binance.com:0'}}}\n" +
			"  c: {http: {url: 'socks5h://k:1', health_check: {target: 'api.binance.com:65536'}}}\n" +
			"  d: {http: {url: 'socks5h://k:1', health_check: {target: 'api.binance.com:https'}}}\n" +
			"  e: {http: {url: 'socks5h://k:1', health_check: {target: ':443'}}}\n" +
			"  f: {http: {url: 'socks5h://k:1', health_check: {target: 'https://api.binance.com:443'}}}\n" +
			"  g: {http: {url: 'socks5h://k:1', health_check: {target: '[10.0.0.1]:443'}}}\n" +
			"  h: {http: {url: 'socks5h://k:1', health_check: {target: 'a b:443'}}}\n" +
			"  i: {http: {url: 'socks5h://k:1', health_check: {target: '::1:443'}}}\n" +
			"  j: {http: {url: 'socks5h://k:1', health_check: {target: 'h:'}}}\n" +
			"  k: {http: {url: 'socks5h://k:1', health_check: {target: ''}}}\n" +
			"  l: {http: {url: 'socks5h://k:1', health_check: {target: 443}}}\n", Options{}, []string{
			"f.yaml:4:59: exchanges.a.http.health_check.target: must be host:port: the port is missing",
			"f.yaml:5:59: exchanges.b.http.health_check.target: must be host:port: port 0 out of range 1..65535",
			"f.yaml:6:59: exchanges.c.http.health_check.target: must be host:port: port 65536 out of range 1..65535",
			"f.yaml:7:59: exchanges.d.http.health_check.target: must be host:port: the port is not a number",
			"f.yaml:8:59: exchanges.e.http.health_check.target: must be host:port: the host is empty",
			"f.yaml:9:59: exchanges.f.http.health_check.target: must be host:port (an IPv6 host in brackets)",
			"f.yaml:10:59: exchanges.g.http.health_check.target: must be host:port: the host in brackets is not an IPv6 address",
			"f.yaml:11:59: exchanges.h.http.health_check.target: must be host:port: the host has characters other than letters, digits, '-', '.' and '_'",
			"f.yaml:12:59: exchanges.i.http.health_check.target: must be host:port (an IPv6 host in brackets)",
			"f.yaml:13:59: exchanges.j.http.health_check.target: must be host:port: the port is missing",
			"f.yaml:14:59: exchanges.k.http.health_check.target: must not be empty",
			"f.yaml:15:59: exchanges.l.http.health_check.target: must be a string (got 443)",
		}},
		{"health target valid", head + "exchanges:\n" +
			"  a: {http: {url: 'socks5h://k:1', health_check: {target: 'api.binance.com:443'}}}\n" +
			"  b: {http: {url: 'socks5h://k:1', health_check: {target: '[2001:db8::1]:1'}}}\n" +
			"  c: {http: {url: 'socks5h://k:1', health_check: {target: '10.0.0.1:65535'}}}\n", Options{}, nil},
		{"health target missing", head + "default:\n  http: {" + pool + ", health_check: {interval_seconds: 10}}\n", Options{}, []string{
			"f.yaml:4:63: default.http.health_check: needs target (host:port)",
		}},
		{"health target inherited", head + "default:\n  http: {" + pool + ", health_check: {target: 'h:443'}}\nexchanges:\n  k:\n    http: {url: 'socks5h://k:1', health_check: {interval_seconds: 60}}\n", Options{}, nil},
		{"health interval range", head + "default:\n  http: {" + pool + ", health_check: {target: 'h:1', interval_seconds: 4}}\n  websocket: {" + pool + ", health_check: {target: 'h:1', interval_seconds: 3601}}\n", Options{}, []string{
			"f.yaml:4:97: default.http.health_check.interval_seconds: must be >= 5 (got 4)",
			"f.yaml:5:102: default.websocket.health_check.interval_seconds: must be <= 3600 (got 3601)",
		}},
		{"health timeout range", head + "default:\n  http: {" + pool + ", health_check: {target: 'h:1', timeout_seconds: 0}}\n  websocket: {" + pool + ", health_check: {target: 'h:1', timeout_seconds: 61, interval_seconds: 3600}}\n", Options{}, []string{
			"f.yaml:4:96: default.http.health_check.timeout_seconds: must be >= 1 (got 0)",
			"f.yaml:5:101: default.websocket.health_check.timeout_seconds: must be <= 60 (got 61)",
		}},
		{"health timeout above interval", head + "default:\n  http: {" + pool + ", health_check: {target: 'h:1', timeout_seconds: 11, interval_seconds: 10}}\n", Options{}, []string{
			"f.yaml:4:96: default.http.health_check.timeout_seconds: must be <= health_check.interval_seconds (10)",
		}},
		{"health timeout above default interval", head + "default:\n  http: {" + pool + ", health_check: {target: 'h:1', timeout_seconds: 31}}\n", Options{}, []string{
			"f.yaml:4:96: default.http.health_check.timeout_seconds: must be <= health_check.interval_seconds (30, the default)",
		}},
		{"health interval below inherited timeout", head + "default:\n  http: {" + pool + ", health_check: {target: 'h:1', timeout_seconds: 20}}\nexchanges:\n  k:\n    http: {url: 'socks5h://k:1', health_check: {interval_seconds: 10}}\n", Options{}, []string{
			"f.yaml:7:67: exchanges.k.http.health_check.interval_seconds: must be >= health_check.timeout_seconds (20, inherited from default.http at line 4)",
		}},
		{"health unknown key", head + "default:\n  http: {" + pool + ", health_check: {target: 'h:1', url: 'x'}}\n", Options{}, []string{
			`f.yaml:4:79: default.http.health_check.url: unknown key "url"`,
		}},
	}
}

func TestPoolErrors(t *testing.T) {
	for _, tt := range poolErrorCases() {
		t.Run(tt.name, func(t *testing.T) {
			if tt.want == nil {
				spec, err := Load("f.yaml", []byte(tt.src), tt.opts)
				if err != nil {
					t.Fatalf("Load: %v", err)
				}
				// The runtime's rules agree: the converted spec is valid.
				s, err := spec.Settings(tt.opts.AllowInlineCredentials)
				if err != nil {
					t.Fatalf("Settings: %v", err)
				}
				if err := runtime.Validate(s); err != nil {
					t.Fatalf("runtime.Validate: %v", err)
				}
				return
			}
			got := loadErrs(t, tt.src, tt.opts)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
		})
	}
}

// members returns n distinct quoted proxy URLs for a flow list.
func members(n int) string {
	urls := make([]string, n)
	for i := range urls {
		urls[i] = fmt.Sprintf("'socks5h://p%d.internal:1080'", i)
	}
	return strings.Join(urls, ", ")
}

// The combined positive spec loads into exactly these fields: each route
// holds what it sets, nothing inherited (inheritance is the runtime's).
func TestLoadPoolSpec(t *testing.T) {
	spec, err := LoadFile(filepath.Join("testdata", "pool.yaml"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	i := func(n int) *int { return &n }
	str := func(s string) *string { return &s }
	st := func(s Strategy) *Strategy { return &s }
	wd := func(w WhenAllDown) *WhenAllDown { return &w }
	no := false
	enabled := true
	want := &Spec{
		Version: 1,
		Enabled: &enabled,
		Default: &Transports{
			HTTP: &ProxyConfig{URL: "socks5h://proxy.internal:1080", TimeoutSeconds: i(20), AttemptTimeoutSeconds: i(5)},
			WebSocket: &ProxyConfig{
				URLs: []string{
					"socks5h://${EU1_USER}:${EU1_PASS}@eu1.internal:1080",
					"socks5h://eu2.internal:1080",
					"http://eu3.internal:3128",
					"socks5://eu2.internal:1080",
					"http://[2001:db8::1]:3128",
				},
				Strategy:              st(StrategySticky),
				TimeoutSeconds:        i(10),
				AttemptTimeoutSeconds: i(3),
				HedgeAfterMS:          i(250),
				Eject:                 &Eject{AfterFailures: i(3), Seconds: i(30), MaxSeconds: i(300)},
				HealthCheck:           &HealthCheck{Target: str("api.binance.com:443"), IntervalSeconds: i(30), TimeoutSeconds: i(5)},
				WhenAllDown:           wd(WhenAllDownTryEjected),
				Optimistic:            &no,
			},
		},
		Exchanges: map[string]*Transports{
			"binance": {WebSocket: &ProxyConfig{
				URLs:  []string{"socks5h://${BN_USER}:${BN_PASS}@bn1.internal:1080", "socks5h://bn2.internal:1080"},
				Eject: &Eject{MaxSeconds: i(3600)},
			}},
			"kraken": {
				HTTP: &ProxyConfig{
					URLs:         []string{"https://k1.internal:8443", "https://k2.internal:8443"},
					Strategy:     st(StrategyRoundRobin),
					HedgeAfterMS: i(0),
					WhenAllDown:  wd(WhenAllDownFailFast),
				},
				WebSocket: &ProxyConfig{
					URL:         "socks5h://kraken.internal:1080",
					Strategy:    st(StrategyFastest),
					HealthCheck: &HealthCheck{IntervalSeconds: i(60)},
				},
			},
			"bybit": {WebSocket: &ProxyConfig{Direct: true, TimeoutSeconds: i(5)}},
			"okx": {WebSocket: &ProxyConfig{
				URL:                   "socks5h://okx.internal:1080",
				Strategy:              st(StrategyRandom),
				TimeoutSeconds:        i(3),
				AttemptTimeoutSeconds: i(3),
				Eject:                 &Eject{Seconds: i(300)},
			}},
			"deribit": {},
		},
	}
	if diff := cmp.Diff(want, spec); diff != "" {
		t.Errorf("spec (-want +got):\n%s", diff)
	}
}

// Settings converts every pool field into the runtime's Route: what the
// spec sets (zero or not) has its bit in Set, what it does not set stays
// unset so ResolveRoute applies the inheritance; the result passes the
// runtime's Validate.
func TestSettingsPools(t *testing.T) {
	spec, err := LoadFile(filepath.Join("testdata", "pool.yaml"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	s, err := spec.Settings(false)
	if err != nil {
		t.Fatalf("Settings: %v", err)
	}
	if err := runtime.Validate(s); err != nil {
		t.Fatalf("runtime.Validate of a spec Load accepts: %v", err)
	}
	ws := s.Default.WebSocket
	var members []string
	for _, p := range ws.Proxies {
		members = append(members, p.String())
	}
	if got := strings.Join(members, " "); got != "socks5h://***@eu1.internal:1080 socks5h://eu2.internal:1080 http://eu3.internal:3128 socks5://eu2.internal:1080 http://[2001:db8::1]:3128" {
		t.Errorf("members = %s", got)
	}
	want := runtime.Route{
		Strategy: runtime.StrategySticky, Timeout: 10 * time.Second, AttemptTimeout: 3 * time.Second,
		HedgeAfter:  250 * time.Millisecond,
		Eject:       runtime.EjectPolicy{AfterFailures: 3, Duration: 30 * time.Second, MaxDuration: 300 * time.Second},
		HealthCheck: runtime.HealthCheck{Target: "api.binance.com:443", Interval: 30 * time.Second, Timeout: 5 * time.Second},
		WhenAllDown: runtime.TryEjected,
		Set:         1<<len(runtime.RouteFields()) - 1, // every field, optimistic: false included
	}
	got := *ws
	got.Proxies = nil
	if !reflect.DeepEqual(got, want) {
		t.Errorf("default websocket route\n got %+v\nwant %+v", got, want)
	}
	// Explicit zero values keep their bits; unset fields stay unset.
	kr := s.Exchanges["kraken"].HTTP
	if kr.Set != runtime.SetStrategy|runtime.SetHedgeAfter|runtime.SetWhenAllDown || kr.HedgeAfter != 0 ||
		kr.Strategy != runtime.StrategyRoundRobin || kr.WhenAllDown != runtime.FailFast || len(kr.Proxies) != 2 {
		t.Errorf("kraken http = %+v", kr)
	}
	if h := s.Default.HTTP; len(h.Proxies) != 1 || h.Set != runtime.SetTimeout|runtime.SetAttemptTimeout || h.Proxies[0].Timeout != 0 {
		t.Errorf("default http = %+v", h)
	}
	if b := s.Exchanges["bybit"].WebSocket; !b.Direct || b.Set != 0 || b.Timeout != 0 {
		t.Errorf("bybit websocket = %+v", b)
	}
	if e := s.Exchanges["binance"].WebSocket; e.Set != runtime.SetEjectMaxDuration || e.Eject.MaxDuration != time.Hour {
		t.Errorf("binance websocket = %+v", e)
	}

	// Inheritance through the runtime's one rule: binance's websocket
	// inherits all but eject.max_seconds and its members.
	eff, o := runtime.ResolveRoute(s, "binance", runtime.TransportWebSocket)
	if len(eff.Proxies) != 2 || eff.Strategy != runtime.StrategySticky || eff.HedgeAfter != 250*time.Millisecond ||
		eff.Eject.MaxDuration != time.Hour || eff.HealthCheck.Target != "api.binance.com:443" {
		t.Errorf("binance websocket effective = %+v", eff)
	}
	if o.Of(runtime.SetEjectMaxDuration).Origin != runtime.OriginOverride || o.Of(runtime.SetStrategy).Origin != runtime.OriginDefault {
		t.Errorf("binance websocket origins: %v %v", o.Of(runtime.SetEjectMaxDuration), o.Of(runtime.SetStrategy))
	}
	// kraken's explicit hedge_after_ms: 0 beats the default's 250.
	if eff, _ := runtime.ResolveRoute(s, "kraken", runtime.TransportHTTP); eff.HedgeAfter != 0 {
		t.Errorf("kraken http hedge = %v, want off", eff.HedgeAfter)
	}
	// kraken websocket: the health check's interval is its own, the target
	// inherited.
	if eff, _ := runtime.ResolveRoute(s, "kraken", runtime.TransportWebSocket); eff.HealthCheck.Interval != time.Minute || eff.HealthCheck.Target != "api.binance.com:443" {
		t.Errorf("kraken websocket health = %+v", eff.HealthCheck)
	}

	// url with optimistic and timeout_seconds set and unset.
	spec, err = Load("f.yaml", []byte(head+"default:\n  http: {url: 'socks5h://a:1', optimistic: true, timeout_seconds: 7}\n  websocket: {url: 'socks5h://b:2', optimistic: false}\n"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if s, err = spec.Settings(false); err != nil {
		t.Fatal(err)
	}
	if r := s.Default.HTTP; !r.Optimistic || r.Timeout != 7*time.Second || r.Set != runtime.SetTimeout|runtime.SetOptimistic {
		t.Errorf("http route = %+v", r)
	}
	if r := s.Default.WebSocket; r.Optimistic || r.Timeout != 0 || r.Set != runtime.SetOptimistic {
		t.Errorf("websocket route = %+v", r)
	}
	if eff, _ := runtime.ResolveRoute(s, "x", runtime.TransportWebSocket); eff.Timeout != time.Duration(DefaultTimeoutSeconds)*time.Second ||
		eff.Proxies[0].Timeout != eff.Timeout {
		t.Errorf("websocket effective timeout = %v", eff.Timeout)
	}
}

// The schema alone (as an editor uses it) enforces the pool rules it can
// express: url | urls | direct, pool settings not with direct, counts,
// ranges and enums.
func TestPoolSchemaAlone(t *testing.T) {
	sch, err := compiled()
	if err != nil {
		t.Fatal(err)
	}
	route := func(r string) string {
		return `{"version": 1, "enabled": true, "default": {"http": ` + r + `}}`
	}
	tests := []struct {
		route string
		want  bool
	}{
		{`{"urls": ["socks5h://a:1"]}`, true},
		{`{"urls": ["socks5h://a:1"], "direct": false}`, true},
		{`{"urls": []}`, false},
		{`{"urls": ["socks5h://a:1", "socks5h://a:1"]}`, false},
		{`{"urls": [""]}`, false},
		{`{"urls": [1]}`, false},
		{`{"url": "socks5h://a:1", "urls": ["socks5h://b:1"]}`, false},
		{`{"urls": ["socks5h://a:1"], "direct": true}`, false},
		{`{"direct": true, "strategy": "failover"}`, false},
		{`{"direct": true, "attempt_timeout_seconds": 1}`, false},
		{`{"direct": true, "hedge_after_ms": 0}`, false},
		{`{"direct": true, "eject": {}}`, false},
		{`{"direct": true, "health_check": {}}`, false},
		{`{"direct": true, "when_all_down": "fail_fast"}`, false},
		{`{"direct": true, "timeout_seconds": 5, "optimistic": true}`, true},
		{`{"url": "socks5h://a:1", "strategy": "sticky", "when_all_down": "try_ejected"}`, true},
		{`{"url": "socks5h://a:1", "strategy": "least_conn"}`, false},
		{`{"url": "socks5h://a:1", "when_all_down": "direct"}`, false},
		{`{"url": "socks5h://a:1", "hedge_after_ms": 0}`, true},
		{`{"url": "socks5h://a:1", "hedge_after_ms": 10}`, true},
		{`{"url": "socks5h://a:1", "hedge_after_ms": 60000}`, true},
		{`{"url": "socks5h://a:1", "hedge_after_ms": 9}`, false},
		{`{"url": "socks5h://a:1", "hedge_after_ms": 60001}`, false},
		{`{"url": "socks5h://a:1", "hedge_after_ms": -1}`, false},
		{`{"url": "socks5h://a:1", "hedge_after_ms": 12.5}`, false},
		{`{"url": "socks5h://a:1", "attempt_timeout_seconds": 300}`, true},
		{`{"url": "socks5h://a:1", "attempt_timeout_seconds": 0}`, false},
		{`{"url": "socks5h://a:1", "eject": {"after_failures": 1, "seconds": 1, "max_seconds": 86400}}`, true},
		{`{"url": "socks5h://a:1", "eject": {"after_failures": 101}}`, false},
		{`{"url": "socks5h://a:1", "eject": {"seconds": 3601}}`, false},
		{`{"url": "socks5h://a:1", "eject": {"max_seconds": 86401}}`, false},
		{`{"url": "socks5h://a:1", "eject": {"x": 1}}`, false},
		{`{"url": "socks5h://a:1", "health_check": {"target": "h:1", "interval_seconds": 5, "timeout_seconds": 1}}`, true},
		{`{"url": "socks5h://a:1", "health_check": {"interval_seconds": 4}}`, false},
		{`{"url": "socks5h://a:1", "health_check": {"timeout_seconds": 61}}`, false},
		{`{"url": "socks5h://a:1", "health_check": {"target": ""}}`, false},
	}
	for _, tt := range tests {
		v, err := jsonschema.UnmarshalJSON(strings.NewReader(route(tt.route)))
		if err != nil {
			t.Fatal(err)
		}
		if err := sch.Validate(v); (err == nil) != tt.want {
			t.Errorf("%s: valid = %v, want %v (%v)", tt.route, err == nil, tt.want, err)
		}
	}
	// 64 members pass, 65 do not.
	for n, want := range map[int]bool{64: true, 65: false} {
		list := strings.ReplaceAll(members(n), "'", `"`)
		v, err := jsonschema.UnmarshalJSON(strings.NewReader(route(`{"urls": [` + list + `]}`)))
		if err != nil {
			t.Fatal(err)
		}
		if err := sch.Validate(v); (err == nil) != want {
			t.Errorf("%d urls: valid = %v, want %v", n, err == nil, want)
		}
	}
}

// No pool error shows a member's password or a target, however wrong.
func TestPoolCanary(t *testing.T) {
	const canary = "CANARY-s3cr3t"
	srcs := []string{
		"default:\n  http: {urls: ['socks5://u:" + canary + "@p:1', 'socks5://u:" + canary + "@p:1']}\n",
		"default:\n  http: {urls: ['socks5://u:" + canary + "@p', 'socks5://u:" + canary + "@p:0', 'http://${U}:x" + canary + "@p:1']}\n",
		"default:\n  http: {urls: ['socks5://u:" + canary + "@p:1'], direct: true}\n",
		"default:\n  http: {url: 'socks5://u:" + canary + "@p:1', urls: ['socks5://u:" + canary + "@p:2']}\n",
		"default:\n  http: {urls: [['socks5://u:" + canary + "@p:1']]}\n",
		// strategy and when_all_down are fields that can never hold a
		// secret: their value is shown (issue 10), but still redacted.
		"default:\n  http: {urls: ['socks5://u:" + canary + "@p:1'], strategy: 'socks5://u:" + canary + "@p:1', when_all_down: 'http://u:" + canary + "@p:1'}\n",
		"default:\n  http: {urls: ['socks5://u:" + canary + "@p:1'], health_check: {target: 'u:" + canary + "@h:1'}}\n",
		"default:\n  http: {urls: ['socks5://u:" + canary + "@p:1'], health_check: {target: '" + canary + "'}}\n",
		"default:\n  http: {urls: ['socks5://u:" + canary + "@p:1'], health_check: {target: '" + canary + ":99999'}}\n",
		"default:\n  http: {urls: ['socks5://u:" + canary + "@p:1'], eject: {seconds: '" + canary + "'}, hedge_after_ms: '" + canary + "'}\n",
	}
	for _, src := range srcs {
		for _, opts := range []Options{{}, {AllowInlineCredentials: true}} {
			_, err := Load("f.yaml", []byte(head+src), opts)
			if err == nil {
				t.Errorf("accepted:\n%s", src)
				continue
			}
			if strings.Contains(err.Error(), canary) || strings.Contains(fmt.Sprintf("%+v %#v", err, err), canary) {
				t.Errorf("message shows the canary:\nsrc: %s\nerr: %v", src, err)
			}
		}
	}
	// A converted pool keeps a literal credential in its member (as the
	// user asked with -allow-inline-credentials) and shows it nowhere.
	spec, err := Load("f.yaml", []byte(head+"default:\n  http: {urls: ['socks5://u:"+canary+"@p:1', 'socks5://q:2']}\n"), Options{AllowInlineCredentials: true})
	if err != nil {
		t.Fatal(err)
	}
	s, err := spec.Settings(true)
	if err != nil || s.Default.HTTP.Proxies[0].Password.Reveal() != canary {
		t.Fatalf("Settings: %v", err)
	}
	for _, e := range runtime.ExplainRoutes(s) {
		if out := fmt.Sprintf("%v %+v %#v", e, e, e); strings.Contains(out, canary) {
			t.Errorf("explain data shows the canary: %s", out)
		}
	}
}
