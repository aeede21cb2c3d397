package runtime

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

// envBase is a compiled-in spec like DESIGN.md's example.
func envBase() Settings {
	return Settings{
		Enabled: true,
		Default: Routes{
			HTTP:      &Route{Proxies: []*Proxy{&Proxy{Scheme: SOCKS5H, Host: "proxy.internal", Port: 1080}}, Timeout: 30 * time.Second},
			WebSocket: &Route{Proxies: []*Proxy{&Proxy{Scheme: HTTP, Host: "proxy.internal", Port: 3128, UserVar: "PROXY_USER", PasswordVar: "PROXY_PASS"}}, Timeout: 30 * time.Second},
		},
		Exchanges: map[string]Routes{
			"binance": {HTTP: &Route{Proxies: []*Proxy{&Proxy{Scheme: HTTPS, Host: "eu-egress.internal", Port: 8443}}, Timeout: 10 * time.Second, Optimistic: true}},
			"kraken":  {WebSocket: &Route{Direct: true}},
			"bybit":   {},
		},
	}
}

func TestApplyEnv(t *testing.T) {
	const P = DefaultEnvPrefix
	tests := []struct {
		name  string
		env   []string
		check func(t *testing.T, s Settings)
	}{
		{"no env keeps the spec", []string{"PATH=/bin", "CRYPTOFEED_PROXYX=1"}, func(t *testing.T, s Settings) {
			if !reflect.DeepEqual(s, envBase()) {
				t.Errorf("settings changed: %+v", s)
			}
		}},
		{"kill switch", []string{P + "ENABLED=false"}, func(t *testing.T, s Settings) {
			if s.Enabled {
				t.Error("still enabled")
			}
			if got := s.FromEnv["enabled"]; !reflect.DeepEqual(got, []string{P + "ENABLED"}) {
				t.Errorf("FromEnv[enabled] = %v", got)
			}
		}},
		{"booleans", []string{P + "ENABLED=Off"}, func(t *testing.T, s Settings) {
			if s.Enabled {
				t.Error("Off did not disable")
			}
		}},
		{"names case-insensitive", []string{"cryptofeed_proxy_enabled=0"}, func(t *testing.T, s Settings) {
			if s.Enabled {
				t.Error("lower-case name ignored")
			}
		}},
		{"timeout keeps url", []string{P + "DEFAULT__WEBSOCKET__TIMEOUT_SECONDS=5"}, func(t *testing.T, s Settings) {
			p := s.Default.WebSocket.Proxies[0]
			if s.Default.WebSocket.Timeout != 5*time.Second || p.Host != "proxy.internal" || p.Port != 3128 || p.UserVar != "PROXY_USER" {
				t.Errorf("got %+v", *p)
			}
		}},
		{"url keeps timeout and optimistic", []string{P + "EXCHANGES__BINANCE__HTTP__URL=socks5://u:" + canary + "@10.0.0.1:1081"}, func(t *testing.T, s Settings) {
			p := s.Exchanges["binance"].HTTP.Proxies[0]
			if p.Scheme != SOCKS5 || p.Host != "10.0.0.1" || p.Port != 1081 || p.User != "u" || p.Password != canary {
				t.Errorf("url not applied: %+v", *p)
			}
			if r := s.Exchanges["binance"].HTTP; r.Timeout != 10*time.Second || !r.Optimistic || p.Timeout != 0 {
				t.Errorf("timeout/optimistic lost: %v %v", r.Timeout, r.Optimistic)
			}
			if got := s.FromEnv["exchanges.binance.http"]; len(got) != 1 {
				t.Errorf("FromEnv = %v", s.FromEnv)
			}
		}},
		{"url with ${VAR}", []string{P + "DEFAULT__HTTP__URL=http://${U}:${PW}@h:1"}, func(t *testing.T, s Settings) {
			if p := s.Default.HTTP.Proxies[0]; p.UserVar != "U" || p.PasswordVar != "PW" {
				t.Errorf("got %+v", *p)
			}
		}},
		{"optimistic", []string{P + "DEFAULT__HTTP__OPTIMISTIC=yes"}, func(t *testing.T, s Settings) {
			if !s.Default.HTTP.Optimistic {
				t.Error("not optimistic")
			}
		}},
		{"url replaces direct", []string{P + "EXCHANGES__KRAKEN__WEBSOCKET__URL=socks5h://p:1"}, func(t *testing.T, s Settings) {
			r := s.Exchanges["kraken"].WebSocket
			if r.Direct || len(r.Proxies) != 1 || r.Has(SetTimeout) {
				t.Errorf("got %+v", r)
			}
		}},
		{"direct replaces url", []string{P + "EXCHANGES__BINANCE__HTTP__DIRECT=true"}, func(t *testing.T, s Settings) {
			if r := s.Exchanges["binance"].HTTP; !r.Direct || r.Proxies != nil {
				t.Errorf("got %+v", r)
			}
		}},
		{"direct false keeps url", []string{P + "DEFAULT__HTTP__DIRECT=0"}, func(t *testing.T, s Settings) {
			if r := s.Default.HTTP; r.Direct || len(r.Proxies) != 1 {
				t.Errorf("got %+v", r)
			}
		}},
		{"one transport keeps the other", []string{P + "EXCHANGES__BYBIT__WEBSOCKET__DIRECT=on"}, func(t *testing.T, s Settings) {
			if r := s.Exchanges["bybit"]; r.HTTP != nil || !r.WebSocket.Direct {
				t.Errorf("got %+v", r)
			}
		}},
		{"new exchange lower-cased", []string{P + "EXCHANGES__OKX__HTTP__URL=http://h:8080", P + "exchanges__okx__websocket__direct=1", P + "EXCHANGES__COIN__BASE__HTTP__URL=http://h:1"}, func(t *testing.T, s Settings) {
			r, ok := s.Exchanges["okx"]
			if !ok || r.HTTP.Proxies[0].Port != 8080 || !r.WebSocket.Direct {
				t.Errorf("okx = %+v (%v)", r, ok)
			}
			if _, ok := s.Exchanges["coin__base"]; !ok {
				t.Errorf("id with __ not added: %v", s.Exchanges)
			}
		}},
		{"existing mixed-case key matched", nil, nil}, // see TestApplyEnvMixedCaseKey
		{"custom prefix", nil, nil},                   // see TestApplyEnvPrefix
	}
	for _, tt := range tests {
		if tt.check == nil {
			continue
		}
		t.Run(tt.name, func(t *testing.T) {
			base := envBase()
			s, err := ApplyEnv(base, tt.env)
			if err != nil {
				t.Fatalf("ApplyEnv: %v", err)
			}
			tt.check(t, s)
			if !reflect.DeepEqual(base, envBase()) {
				t.Error("ApplyEnv modified its input")
			}
		})
	}
}

func TestApplyEnvMixedCaseKey(t *testing.T) {
	s := Settings{Enabled: true, Exchanges: map[string]Routes{"Binance": {}}}
	out, err := ApplyEnv(s, []string{"CRYPTOFEED_PROXY_EXCHANGES__BINANCE__HTTP__URL=http://h:1"})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Exchanges) != 1 || out.Exchanges["Binance"].HTTP == nil {
		t.Errorf("got %v", out.Exchanges)
	}
}

func TestApplyEnvPrefix(t *testing.T) {
	s := Settings{EnvPrefix: "FEED_"}
	out, err := ApplyEnv(s, []string{"feed_enabled=true", "CRYPTOFEED_PROXY_ENABLED=nonsense"})
	if err != nil {
		t.Fatal(err)
	}
	if !out.Enabled {
		t.Error("FEED_ENABLED ignored")
	}
}

func TestApplyEnvLock(t *testing.T) {
	s := envBase()
	s.Lock = true
	out, err := ApplyEnv(s, []string{"CRYPTOFEED_PROXY_ENABLED=false", "CRYPTOFEED_PROXY_DEFAULT__HTTP__URL=http://h:1", "CRYPTOFEED_PROXY_BOGUS=1"})
	if err != nil {
		t.Fatalf("locked ApplyEnv: %v", err)
	}
	if !reflect.DeepEqual(out, s) {
		t.Errorf("locked settings changed: %+v", out)
	}
}

func TestApplyEnvErrors(t *testing.T) {
	const P = DefaultEnvPrefix
	tests := []struct {
		name string
		env  []string
		want []string // one per error, sorted: "VAR: reason" substrings
	}{
		{"unknown", []string{P + "BOGUS=" + canary}, []string{P + "BOGUS: unknown variable"}},
		{"unknown field", []string{P + "DEFAULT__HTTP__PORT=" + canary}, []string{P + `DEFAULT__HTTP__PORT: unknown field "PORT"`}},
		{"unknown transport", []string{P + "DEFAULT__REST__URL=" + canary}, []string{P + `DEFAULT__REST__URL: unknown transport "REST"`}},
		{"bad nesting", []string{P + "EXCHANGES__HTTP__URL=" + canary, P + "DEFAULT__URL=x"}, []string{P + "DEFAULT__URL: unknown variable", P + "EXCHANGES__HTTP__URL: unknown variable"}},
		{"bad id", []string{P + "EXCHANGES__1INCH__HTTP__URL=http://h:1"}, []string{P + `EXCHANGES__1INCH__HTTP__URL: invalid exchange id "1inch"`}},
		{"bad bool", []string{P + "ENABLED=" + canary}, []string{P + "ENABLED: not a boolean"}},
		{"bad direct", []string{P + "DEFAULT__HTTP__DIRECT=" + canary}, []string{P + "DEFAULT__HTTP__DIRECT: not a boolean"}},
		{"bad timeout", []string{P + "DEFAULT__HTTP__TIMEOUT_SECONDS=" + canary}, []string{P + "DEFAULT__HTTP__TIMEOUT_SECONDS: must be an integer 1..300"}},
		{"timeout range", []string{P + "DEFAULT__HTTP__TIMEOUT_SECONDS=301", P + "DEFAULT__WEBSOCKET__TIMEOUT_SECONDS=0"}, []string{"HTTP__TIMEOUT_SECONDS: must be an integer 1..300", "WEBSOCKET__TIMEOUT_SECONDS: must be an integer 1..300"}},
		{"url scheme", []string{P + "DEFAULT__HTTP__URL=" + canary + "://h:1"}, []string{P + "DEFAULT__HTTP__URL: unsupported proxy scheme (want"}},
		{"url host", []string{P + "DEFAULT__HTTP__URL=http://" + canary + "!:1"}, []string{P + "DEFAULT__HTTP__URL: invalid proxy host"}},
		{"url port", []string{P + "DEFAULT__HTTP__URL=http://h:70000"}, []string{P + "DEFAULT__HTTP__URL: proxy port out of range"}},
		{"url path", []string{P + "DEFAULT__HTTP__URL=http://u:" + canary + "@h:1/" + canary}, []string{P + "DEFAULT__HTTP__URL: proxy URL must not have a path"}},
		{"url socks4 password", []string{P + "DEFAULT__HTTP__URL=socks4://u:" + canary + "@h:1"}, []string{P + "DEFAULT__HTTP__URL: socks4 takes a user id only"}},
		{"url bad var", []string{P + "DEFAULT__HTTP__URL=http://${" + canary + "}@h:1"}, []string{P + "DEFAULT__HTTP__URL: user reference must be"}},
		{"empty url", []string{P + "DEFAULT__HTTP__URL="}, []string{P + "DEFAULT__HTTP__URL: empty proxy URL"}},
		{"direct false without url", []string{P + "EXCHANGES__KRAKEN__WEBSOCKET__DIRECT=false"}, []string{P + "EXCHANGES__KRAKEN__WEBSOCKET__DIRECT: needs a proxy URL: exchanges.kraken.websocket is direct: true in the spec (set " + P + "EXCHANGES__KRAKEN__WEBSOCKET__URL or " + P + "EXCHANGES__KRAKEN__WEBSOCKET__URLS)"}},
		{"timeout without url", []string{P + "EXCHANGES__BYBIT__HTTP__TIMEOUT_SECONDS=5", P + "EXCHANGES__BYBIT__HTTP__OPTIMISTIC=1"}, []string{"EXCHANGES__BYBIT__HTTP__OPTIMISTIC: needs a proxy URL: exchanges.bybit.http has no proxy URL", "EXCHANGES__BYBIT__HTTP__TIMEOUT_SECONDS: needs a proxy URL"}},
		{"direct with url", []string{P + "DEFAULT__HTTP__DIRECT=1", P + "DEFAULT__HTTP__URL=http://u:" + canary + "@h:1"}, []string{P + "DEFAULT__HTTP__URL: conflicts with " + P + "DEFAULT__HTTP__DIRECT"}},
		{"set twice", []string{P + "ENABLED=1", "cryptofeed_proxy_enabled=" + canary}, []string{"cryptofeed_proxy_enabled: set twice, also as " + P + "ENABLED"}},
		{"all reported", []string{P + "A=1", P + "ENABLED=x", P + "DEFAULT__HTTP__URL=x"}, []string{P + "A: unknown", P + "DEFAULT__HTTP__URL: proxy URL needs a scheme", P + "ENABLED: not a boolean"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base := envBase()
			out, err := ApplyEnv(base, tt.env)
			if err == nil {
				t.Fatalf("ApplyEnv: no error, want %q", tt.want)
			}
			if !reflect.DeepEqual(out, envBase()) {
				t.Error("failed ApplyEnv did not return its input")
			}
			msg := err.Error()
			if strings.Contains(msg, canary) {
				t.Errorf("error leaks the value: %v", msg)
			}
			lines := strings.Split(msg, "\n")
			if len(lines) != len(tt.want) {
				t.Fatalf("got %d errors, want %d:\n%s", len(lines), len(tt.want), msg)
			}
			for i, w := range tt.want {
				if !strings.Contains(lines[i], w) {
					t.Errorf("error %d = %q, want it to contain %q", i, lines[i], w)
				}
			}
			var ee *EnvError
			if !errors.As(err, &ee) {
				t.Errorf("not an *EnvError: %T", err)
			}
		})
	}
}

// TestApplyEnvNeverEchoesValue feeds the canary into every field of every
// kind of variable, valid or not: no error may contain it.
func TestApplyEnvNeverEchoesValue(t *testing.T) {
	values := []string{canary, canary + "://h:1", "http://" + canary + ":1", "http://h:" + canary,
		"http://[" + canary + "]:1", "http://u:" + canary + "@h", "http://h:1?" + canary, "http://h:1#" + canary,
		"socks4://u:" + canary + "@h:1", "http://" + canary + "@", "\"" + canary, "http://\"" + canary + "\":1"}
	names := []string{"ENABLED", "DEFAULT__HTTP__URL", "DEFAULT__WEBSOCKET__DIRECT", "DEFAULT__HTTP__TIMEOUT_SECONDS",
		"EXCHANGES__X__HTTP__OPTIMISTIC", "EXCHANGES__Y__WEBSOCKET__URL", "NOPE"}
	for _, n := range names {
		for _, v := range values {
			_, err := ApplyEnv(envBase(), []string{DefaultEnvPrefix + n + "=" + v})
			if err == nil {
				continue
			}
			if strings.Contains(err.Error(), canary) || strings.Contains(err.Error(), "s3cr3t") {
				t.Errorf("%s=%q: error leaks the value: %v", n, v, err)
			}
		}
	}
}
