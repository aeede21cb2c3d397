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
			Exchanges: map[string]Routes{"Binance": {HTTP: &Route{Proxies: []*Proxy{&Proxy{Scheme: HTTP, Host: "::1", Port: 3128, UserVar: "U", PasswordVar: "P"}}}}, "bybit": {}}}},
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
		{name: "socks4 password", s: Settings{Default: Routes{HTTP: &Route{Proxies: []*Proxy{&Proxy{Scheme: SOCKS4, Host: "h", Port: 1, User: "u", Password: canary}}}}},
			want: []string{"default.http.url: socks4 takes a user id only"}},
		{name: "socks4a password var", s: Settings{Default: Routes{HTTP: &Route{Proxies: []*Proxy{&Proxy{Scheme: SOCKS4A, Host: "h", Port: 1, PasswordVar: "P"}}}}},
			want: []string{"default.http.url: socks4a takes a user id only"}},
		{name: "bad var", s: Settings{Default: Routes{HTTP: &Route{Proxies: []*Proxy{&Proxy{Scheme: HTTP, Host: "h", Port: 1, UserVar: "1X"}}}}},
			want: []string{"default.http.url: user reference must be ${NAME}"}},
		{name: "user twice", s: Settings{Default: Routes{HTTP: &Route{Proxies: []*Proxy{&Proxy{Scheme: HTTP, Host: "h", Port: 1, User: canary, UserVar: "U", Password: canary, PasswordVar: "P"}}}}},
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
}
