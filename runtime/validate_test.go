package runtime

import (
	"errors"
	"strings"
	"testing"
	"time"
)

const canary = "CANARY-s3cr3t"

func px(s Scheme, host string, port uint16) *Proxy {
	return &Proxy{Scheme: s, Host: host, Port: port}
}

func TestValidate(t *testing.T) {
	ok := &Route{Proxies: []*Proxy{px(SOCKS5H, "proxy.internal", 1080)}}
	tests := []struct {
		name string
		s    Settings
		want []string // substrings, one per expected error, in sorted order
	}{
		{name: "empty", s: Settings{}},
		{name: "valid", s: Settings{Enabled: true, Default: Routes{HTTP: ok, WebSocket: &Route{Direct: true}},
			Exchanges: map[string]Routes{"Binance": {HTTP: &Route{Proxies: []*Proxy{{Scheme: HTTP, Host: "::1", Port: 3128, UserVar: "U", PasswordVar: "P"}}}}, "bybit": {}}}},
		{name: "route both", s: Settings{Default: Routes{HTTP: &Route{Proxies: ok.Proxies, Direct: true}}},
			want: []string{"default.http: has both proxies and direct: true"}},
		{name: "route neither", s: Settings{Exchanges: map[string]Routes{"kraken": {WebSocket: &Route{}}}},
			want: []string{"exchanges.kraken.websocket: needs a proxy url or direct: true"}},
		{name: "bad scheme", s: Settings{Default: Routes{HTTP: &Route{Proxies: []*Proxy{px(0, "h", 1)}}}},
			want: []string{"default.http.url: unsupported proxy scheme"}},
		{name: "no host", s: Settings{Default: Routes{HTTP: &Route{Proxies: []*Proxy{px(HTTP, "", 1)}}}},
			want: []string{"default.http.url: proxy URL needs a host"}},
		{name: "bad host", s: Settings{Default: Routes{HTTP: &Route{Proxies: []*Proxy{px(HTTP, "a b", 1)}}}},
			want: []string{"default.http.url: proxy host is not a valid"}},
		{name: "bad ipv6", s: Settings{Default: Routes{HTTP: &Route{Proxies: []*Proxy{px(HTTP, "1:x", 1)}}}},
			want: []string{"default.http.url: proxy host is not a valid"}},
		{name: "port 0", s: Settings{Default: Routes{HTTP: &Route{Proxies: []*Proxy{px(HTTP, "h", 0)}}}},
			want: []string{"default.http.url: proxy port must be 1..65535"}},
		{name: "timeout high", s: Settings{Default: Routes{WebSocket: &Route{Proxies: []*Proxy{px(HTTP, "h", 1)}, Timeout: 301 * time.Second}}},
			want: []string{"default.websocket.timeout_seconds: must be 1s..5m0s (got 5m1s)"}},
		{name: "timeout low", s: Settings{Default: Routes{WebSocket: &Route{Proxies: []*Proxy{px(HTTP, "h", 1)}, Timeout: time.Millisecond}}},
			want: []string{"default.websocket.timeout_seconds: must be 1s..5m0s"}},
		{name: "member timeout", s: Settings{Default: Routes{WebSocket: &Route{Proxies: []*Proxy{{Scheme: HTTP, Host: "h", Port: 1, Timeout: time.Second, Optimistic: true}}}}},
			want: []string{"default.websocket.url: a member's Optimistic must be false", "default.websocket.url: a member's Timeout must be zero"}},
		{name: "socks4 password", s: Settings{Default: Routes{HTTP: &Route{Proxies: []*Proxy{{Scheme: SOCKS4, Host: "h", Port: 1, User: "u", Password: NewSecret(canary)}}}}},
			want: []string{"default.http.url: socks4 takes a user id only"}},
		{name: "socks4a password var", s: Settings{Default: Routes{HTTP: &Route{Proxies: []*Proxy{{Scheme: SOCKS4A, Host: "h", Port: 1, PasswordVar: "P"}}}}},
			want: []string{"default.http.url: socks4a takes a user id only"}},
		{name: "bad var", s: Settings{Default: Routes{HTTP: &Route{Proxies: []*Proxy{{Scheme: HTTP, Host: "h", Port: 1, UserVar: "1X"}}}}},
			want: []string{"default.http.url: user reference must be ${NAME}"}},
		{name: "user twice", s: Settings{Default: Routes{HTTP: &Route{Proxies: []*Proxy{{Scheme: HTTP, Host: "h", Port: 1, User: canary, UserVar: "U", Password: NewSecret(canary), PasswordVar: "P"}}}}},
			want: []string{"default.http.url: password is set both", "default.http.url: user is set both"}},
		{name: "bad id", s: Settings{Exchanges: map[string]Routes{"1inch": {}, "bin-ance": {}}},
			want: []string{`exchanges.1inch: invalid exchange id "1inch"`, `exchanges.bin-ance: invalid exchange id`}},
		{name: "duplicate id", s: Settings{Exchanges: map[string]Routes{"Binance": {}, "binance": {}}},
			want: []string{`exchanges.binance: exchange ids "Binance" and "binance" are the same after lower-casing`}},
		{name: "all errors", s: Settings{Default: Routes{HTTP: &Route{}}, Exchanges: map[string]Routes{"x": {WebSocket: &Route{Proxies: []*Proxy{px(HTTP, "h", 0)}}}}},
			want: []string{"default.http: needs", "exchanges.x.websocket.url: proxy port"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Validate(tt.s)
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate: nil, want %q", tt.want)
			}
			lines := strings.Split(err.Error(), "\n")
			if len(lines) != len(tt.want) {
				t.Fatalf("got %d errors, want %d:\n%v", len(lines), len(tt.want), err)
			}
			for i, w := range tt.want {
				if !strings.Contains(lines[i], w) {
					t.Errorf("error %d = %q, want it to contain %q", i, lines[i], w)
				}
			}
			if strings.Contains(err.Error(), canary) {
				t.Errorf("error leaks a credential: %v", err)
			}
			var se *SettingsError
			if !errors.As(err, &se) {
				t.Errorf("error is not a *SettingsError: %T", err)
			}
		})
	}
}

func TestNormalizeExchangeID(t *testing.T) {
	for in, want := range map[string]string{"binance": "binance", "BiNaNcE_2": "binance_2", "": ""} {
		if got := NormalizeExchangeID(in); got != want {
			t.Errorf("NormalizeExchangeID(%q) = %q, want %q", in, got, want)
		}
	}
	if n := testing.AllocsPerRun(100, func() { _ = NormalizeExchangeID("binance_futures") }); n != 0 {
		t.Errorf("NormalizeExchangeID of a lower-case id allocates %v times", n)
	}
	// One folding: NormalizeExchangeID, equalFold (schemes, strategies)
	// and the injector's lookup agree on every byte, and only A-Z change.
	for b := 0; b < 256; b++ {
		s := "x" + string([]byte{byte(b)})
		n := NormalizeExchangeID(s)
		want := s
		if 'A' <= b && b <= 'Z' {
			want = "x" + string([]byte{byte(b + 'a' - 'A')})
		}
		if n != want {
			t.Errorf("NormalizeExchangeID(%q) = %q, want %q", s, n, want)
		}
		if !equalFold(n, s) {
			t.Errorf("equalFold(%q, %q) = false", n, s)
		}
	}
	if got := NormalizeExchangeID("\u212Araken"); got != "\u212Araken" {
		t.Errorf("the Kelvin sign folded to %q", got)
	}
}

// The pool rules, the same as the spec's: members, ranges, the rules
// between two settings on the effective values (reported at the setting
// the route sets itself), and no pool setting with direct.
func TestValidatePools(t *testing.T) {
	pool := func(mod func(r *Route)) *Route {
		r := &Route{Proxies: []*Proxy{px(SOCKS5H, "a", 1), px(SOCKS5H, "b", 1)}}
		if mod != nil {
			mod(r)
		}
		return r
	}
	many := make([]*Proxy, MaxPoolMembers+1)
	for i := range many {
		many[i] = px(HTTP, "h", uint16(i+1))
	}
	def := func(mod func(r *Route)) Settings { return Settings{Default: Routes{HTTP: pool(mod)}} }
	over := func(d, o func(r *Route)) Settings {
		return Settings{Default: Routes{HTTP: pool(d)}, Exchanges: map[string]Routes{"x": {HTTP: pool(o)}}}
	}
	tests := []struct {
		name string
		s    Settings
		want []string
	}{
		{"valid", def(func(r *Route) {
			r.Strategy, r.Timeout, r.AttemptTimeout, r.HedgeAfter = StrategySticky, 10*time.Second, 3*time.Second, MinHedgeAfter
			r.Eject = EjectPolicy{AfterFailures: MaxEjectAfterFailures, Duration: MaxEjectDuration, MaxDuration: MaxEjectMaxDuration}
			r.HealthCheck = HealthCheck{Target: "[::1]:443", Interval: MinProbeInterval, Timeout: MinProbeInterval}
			r.WhenAllDown, r.Set = FailFast, SetOptimistic
		}), nil},
		{"max members", Settings{Default: Routes{HTTP: &Route{Proxies: many[:MaxPoolMembers]}}}, nil},
		{"too many", Settings{Default: Routes{HTTP: &Route{Proxies: many}}}, []string{"default.http.urls: a pool has at most 64 members (got 65)"}},
		{"duplicate", def(func(r *Route) { r.Proxies = append(r.Proxies, &Proxy{Scheme: SOCKS5H, Host: "A", Port: 1}) }),
			[]string{"default.http.urls.2: duplicates member 0"}},
		{"duplicate ipv6 spelling", def(func(r *Route) {
			r.Proxies = append(r.Proxies, &Proxy{Scheme: HTTP, Host: "2001:db8::1", Port: 1, UserVar: "U"}, &Proxy{Scheme: HTTP, Host: "2001:DB8:0::1", Port: 1, UserVar: "U"})
		}), []string{"default.http.urls.3: duplicates member 2"}},
		// As the spec's rule: other credentials make another member.
		{"same proxy other credentials", def(func(r *Route) {
			r.Proxies = append(r.Proxies, &Proxy{Scheme: SOCKS5H, Host: "a", Port: 1, UserVar: "U"}, &Proxy{Scheme: SOCKS5H, Host: "a", Port: 1, User: "u", Password: NewSecret(canary)})
		}), nil},
		{"nil member", def(func(r *Route) { r.Proxies[1] = nil }), []string{"default.http.urls.1: is nil"}},
		{"member of a pool", def(func(r *Route) { r.Proxies[1] = px(HTTP, "", 1) }), []string{"default.http.urls.1: proxy URL needs a host"}},
		{"explicit zero timeout", def(func(r *Route) { r.Set = SetTimeout }), []string{"default.http.timeout_seconds: must be 1s..5m0s (got 0s)"}},
		{"attempt range", def(func(r *Route) { r.AttemptTimeout = 301 * time.Second }), []string{"default.http.attempt_timeout_seconds: must be 1s..5m0s"}},
		{"strategy", def(func(r *Route) { r.Strategy = 9 }), []string{"default.http.strategy: unknown strategy 9"}},
		{"hedge low", def(func(r *Route) { r.HedgeAfter = 9 * time.Millisecond }), []string{"default.http.hedge_after_ms: must be 0 (off) or 10ms..1m0s"}},
		{"hedge high", def(func(r *Route) { r.HedgeAfter = MaxHedgeAfter + time.Millisecond }), []string{"default.http.hedge_after_ms: must be 0 (off)"}},
		{"hedge explicit off", def(func(r *Route) { r.Set = SetHedgeAfter }), nil},
		{"eject failures", def(func(r *Route) { r.Eject.AfterFailures = 101 }), []string{"default.http.eject.after_failures: must be 1..100"}},
		{"eject explicit zero", def(func(r *Route) { r.Set = SetEjectAfterFailures }), []string{"default.http.eject.after_failures: must be 1..100 (got 0)"}},
		{"eject seconds", def(func(r *Route) { r.Eject.Duration = 3601 * time.Second }), []string{"default.http.eject.seconds: must be 1s..1h0m0s"}},
		{"eject max", def(func(r *Route) { r.Eject.MaxDuration = 86401 * time.Second }), []string{"default.http.eject.max_seconds: must be 1s..24h0m0s"}},
		{"eject order", def(func(r *Route) { r.Eject.Duration, r.Eject.MaxDuration = time.Minute, 30*time.Second }),
			[]string{"default.http.eject.seconds: must be <= eject.max_seconds (30s)"}},
		{"eject order builtin max", def(func(r *Route) { r.Eject.Duration = 301 * time.Second }),
			[]string{"default.http.eject.seconds: must be <= eject.max_seconds (5m0s, the built-in default)"}},
		{"target", def(func(r *Route) { r.HealthCheck.Target = "nohost" }), []string{"default.http.health_check.target: must be host:port"}},
		{"target port", def(func(r *Route) { r.HealthCheck.Target = "h:0" }), []string{"default.http.health_check.target: must be host:port: the port must be a number 1..65535"}},
		{"target bracket v4", def(func(r *Route) { r.HealthCheck.Target = "[1.2.3.4]:1" }), []string{"default.http.health_check.target: must be host:port: the host in brackets"}},
		{"interval", def(func(r *Route) { r.HealthCheck = HealthCheck{Target: "h:1", Interval: 4 * time.Second} }), []string{"default.http.health_check.interval_seconds: must be 5s..1h0m0s"}},
		{"probe timeout", def(func(r *Route) { r.HealthCheck = HealthCheck{Target: "h:1", Timeout: 61 * time.Second} }), []string{"default.http.health_check.timeout_seconds: must be 1s..1m0s"}},
		{"probe order", def(func(r *Route) {
			r.HealthCheck = HealthCheck{Target: "h:1", Interval: 5 * time.Second, Timeout: 6 * time.Second}
		}),
			[]string{"default.http.health_check.timeout_seconds: must be <= health_check.interval_seconds (5s)"}},
		{"probe no target", def(func(r *Route) { r.HealthCheck.Interval = time.Minute }), []string{"default.http.health_check: needs target (host:port)"}},
		{"when all down", def(func(r *Route) { r.WhenAllDown = 2 }), []string{"default.http.when_all_down: unknown when_all_down 2"}},
		{"direct with pool settings", Settings{Default: Routes{HTTP: &Route{Direct: true, Strategy: StrategySticky, Set: SetHedgeAfter, Timeout: time.Second}}},
			[]string{"default.http.hedge_after_ms: only with url or urls", "default.http.strategy: only with url or urls"}},
		// Rules between two settings use the effective values.
		{"attempt over inherited timeout", over(func(r *Route) { r.Timeout = 5 * time.Second }, func(r *Route) { r.AttemptTimeout = 6 * time.Second }),
			[]string{"exchanges.x.http.attempt_timeout_seconds: must be <= timeout_seconds (5s, inherited from the default route)"}},
		{"timeout under inherited attempt", over(func(r *Route) { r.AttemptTimeout = 6 * time.Second }, func(r *Route) { r.Timeout = 5 * time.Second }),
			[]string{"exchanges.x.http.timeout_seconds: must be >= attempt_timeout_seconds (6s, inherited from the default route)"}},
		{"attempt over builtin timeout", def(func(r *Route) { r.AttemptTimeout = 31 * time.Second }),
			[]string{"default.http.attempt_timeout_seconds: must be <= timeout_seconds (30s, the built-in default)"}},
		{"inherited eject seconds over own max", over(func(r *Route) { r.Eject.Duration = time.Minute }, func(r *Route) { r.Eject.MaxDuration = 30 * time.Second }),
			[]string{"exchanges.x.http.eject.max_seconds: must be >= eject.seconds (1m0s, inherited from the default route)"}},
		{"probe interval with inherited target", over(func(r *Route) { r.HealthCheck.Target = "h:1" }, func(r *Route) { r.HealthCheck.Interval = time.Minute }), nil},
		{"inherited probe timeout over own interval", over(func(r *Route) { r.HealthCheck = HealthCheck{Target: "h:1", Timeout: 10 * time.Second} }, func(r *Route) { r.HealthCheck.Interval = 5 * time.Second }),
			[]string{"exchanges.x.http.health_check.interval_seconds: must be >= health_check.timeout_seconds (10s, inherited from the default route)"}},
		{"neither set here: the default reports", over(func(r *Route) { r.Timeout, r.AttemptTimeout = 5*time.Second, 6*time.Second }, nil),
			[]string{"default.http.attempt_timeout_seconds: must be <= timeout_seconds (5s)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Validate(tt.s)
			var lines []string
			if err != nil {
				lines = strings.Split(err.Error(), "\n")
			}
			if len(lines) != len(tt.want) {
				t.Fatalf("got %d errors, want %d: %v", len(lines), len(tt.want), err)
			}
			for i, w := range tt.want {
				if !strings.Contains(lines[i], w) {
					t.Errorf("error %d = %q, want it to contain %q", i, lines[i], w)
				}
			}
		})
	}
}
