package runtime

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

// envBase is a compiled-in spec like docs/DESIGN.md's example.
func envBase() Settings {
	return Settings{
		Enabled: true,
		Default: Routes{
			HTTP:      &Route{Proxies: []*Proxy{{Scheme: SOCKS5H, Host: "proxy.internal", Port: 1080}}, Timeout: 30 * time.Second},
			WebSocket: &Route{Proxies: []*Proxy{{Scheme: HTTP, Host: "proxy.internal", Port: 3128, UserVar: "PROXY_USER", PasswordVar: "PROXY_PASS"}}, Timeout: 30 * time.Second},
		},
		Exchanges: map[string]Routes{
			"binance": {HTTP: &Route{Proxies: []*Proxy{{Scheme: HTTPS, Host: "eu-egress.internal", Port: 8443}}, Timeout: 10 * time.Second, Optimistic: true}},
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
			if p.Scheme != SOCKS5 || p.Host != "10.0.0.1" || p.Port != 1081 || p.User != "u" || p.Password.Reveal() != canary {
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
		{"new exchange lower-cased", []string{P + "EXCHANGES__OKX__HTTP__URL=http://h:8080", P + "exchanges__okx__websocket__direct=1", P + "EXCHANGES__COIN_BASE__HTTP__URL=http://h:1"}, func(t *testing.T, s Settings) {
			r, ok := s.Exchanges["okx"]
			if !ok || r.HTTP.Proxies[0].Port != 8080 || !r.WebSocket.Direct {
				t.Errorf("okx = %+v (%v)", r, ok)
			}
			if _, ok := s.Exchanges["coin_base"]; !ok {
				t.Errorf("id with _ not added: %v", s.Exchanges)
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
		{"url and urls", []string{P + "DEFAULT__HTTP__URL=http://h:1", P + "DEFAULT__HTTP__URLS=http://u:" + canary + "@h:2"}, []string{P + "DEFAULT__HTTP__URLS: conflicts with " + P + "DEFAULT__HTTP__URL: set URL or URLS, not both"}},
		{"urls member", []string{P + "DEFAULT__HTTP__URLS=http://h:1,http://u:" + canary + "@h:2/" + canary}, []string{P + "DEFAULT__HTTP__URLS: member 2: proxy URL must not have a path"}},
		{"urls empty member", []string{P + "DEFAULT__HTTP__URLS=http://h:1,,http://h:2"}, []string{P + "DEFAULT__HTTP__URLS: member 2 is empty"}},
		{"urls empty", []string{P + "DEFAULT__HTTP__URLS="}, []string{P + "DEFAULT__HTTP__URLS: member 1 is empty"}},
		{"urls too many", []string{P + "DEFAULT__HTTP__URLS=" + strings.Repeat("http://h:1,", 64) + "http://h:2"}, []string{P + "DEFAULT__HTTP__URLS: a pool has at most 64 members (got 65)"}},
		{"urls duplicate", []string{P + "DEFAULT__HTTP__URLS=http://u:" + canary + "@h:1,http://u:" + canary + "@H:1"}, []string{P + "DEFAULT__HTTP__URLS: default.http.urls.1: duplicates member 0: the same proxy twice"}},
		{"strategy", []string{P + "DEFAULT__HTTP__STRATEGY=" + canary}, []string{P + "DEFAULT__HTTP__STRATEGY: unknown strategy: want failover"}},
		{"attempt", []string{P + "DEFAULT__HTTP__ATTEMPT_TIMEOUT_SECONDS=0"}, []string{P + "DEFAULT__HTTP__ATTEMPT_TIMEOUT_SECONDS: must be an integer 1..300 (seconds)"}},
		{"attempt over timeout", []string{P + "DEFAULT__HTTP__ATTEMPT_TIMEOUT_SECONDS=31"}, []string{P + "DEFAULT__HTTP__ATTEMPT_TIMEOUT_SECONDS: default.http.attempt_timeout_seconds: must be <= timeout_seconds",
			"exchanges.binance.http.timeout_seconds: must be >= attempt_timeout_seconds (after the environment overlay)"}},
		{"hedge", []string{P + "DEFAULT__HTTP__HEDGE_AFTER_MS=9", P + "DEFAULT__WEBSOCKET__HEDGE_AFTER_MS=60001"}, []string{"HTTP__HEDGE_AFTER_MS: must be 0 (off) or an integer 10..60000 (milliseconds)", "WEBSOCKET__HEDGE_AFTER_MS: must be 0 (off)"}},
		{"eject failures", []string{P + "DEFAULT__HTTP__EJECT__AFTER_FAILURES=101"}, []string{P + "DEFAULT__HTTP__EJECT__AFTER_FAILURES: must be an integer 1..100"}},
		{"eject seconds", []string{P + "DEFAULT__HTTP__EJECT__SECONDS=3601"}, []string{P + "DEFAULT__HTTP__EJECT__SECONDS: must be an integer 1..3600 (seconds)"}},
		{"eject max", []string{P + "DEFAULT__HTTP__EJECT__MAX_SECONDS=86401"}, []string{P + "DEFAULT__HTTP__EJECT__MAX_SECONDS: must be an integer 1..86400 (seconds)"}},
		{"eject order", []string{P + "DEFAULT__HTTP__EJECT__SECONDS=301"}, []string{P + "DEFAULT__HTTP__EJECT__SECONDS: default.http.eject.seconds: must be <= eject.max_seconds"}},
		{"target", []string{P + "DEFAULT__HTTP__HEALTH_CHECK__TARGET=" + canary}, []string{P + "DEFAULT__HTTP__HEALTH_CHECK__TARGET: must be host:port"}},
		{"interval", []string{P + "DEFAULT__HTTP__HEALTH_CHECK__INTERVAL_SECONDS=4"}, []string{P + "DEFAULT__HTTP__HEALTH_CHECK__INTERVAL_SECONDS: must be an integer 5..3600 (seconds)"}},
		{"probe timeout", []string{P + "DEFAULT__HTTP__HEALTH_CHECK__TIMEOUT_SECONDS=61"}, []string{P + "DEFAULT__HTTP__HEALTH_CHECK__TIMEOUT_SECONDS: must be an integer 1..60 (seconds)"}},
		{"probe without target", []string{P + "DEFAULT__HTTP__HEALTH_CHECK__INTERVAL_SECONDS=60"}, []string{P + "DEFAULT__HTTP__HEALTH_CHECK__INTERVAL_SECONDS: default.http.health_check: needs target (host:port)"}},
		{"when all down", []string{P + "DEFAULT__HTTP__WHEN_ALL_DOWN=" + canary}, []string{P + "DEFAULT__HTTP__WHEN_ALL_DOWN: unknown when_all_down: want try_ejected or fail_fast"}},
		{"unknown nested field", []string{P + "EXCHANGES__BINANCE__HTTP__EJECT__FOO=1"}, []string{P + `EXCHANGES__BINANCE__HTTP__EJECT__FOO: unknown field "EJECT__FOO"`}},
		{"pool setting without url", []string{P + "EXCHANGES__KRAKEN__WEBSOCKET__STRATEGY=sticky"}, []string{P + "EXCHANGES__KRAKEN__WEBSOCKET__STRATEGY: needs a proxy URL: exchanges.kraken.websocket is direct: true in the spec"}},
		{"direct with pool settings", []string{P + "DEFAULT__HTTP__DIRECT=1", P + "DEFAULT__HTTP__URLS=http://h:1", P + "DEFAULT__HTTP__EJECT__SECONDS=5"},
			[]string{P + "DEFAULT__HTTP__EJECT__SECONDS: conflicts with " + P + "DEFAULT__HTTP__DIRECT", P + "DEFAULT__HTTP__URLS: conflicts with " + P + "DEFAULT__HTTP__DIRECT"}},
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
			var se *SettingsError
			if !errors.As(err, &ee) && !errors.As(err, &se) {
				t.Errorf("neither an *EnvError nor a *SettingsError: %T", err)
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
		"EXCHANGES__X__HTTP__OPTIMISTIC", "EXCHANGES__Y__WEBSOCKET__URL", "NOPE",
		"DEFAULT__HTTP__URLS", "EXCHANGES__BINANCE__HTTP__URLS", "DEFAULT__HTTP__STRATEGY", "DEFAULT__HTTP__ATTEMPT_TIMEOUT_SECONDS",
		"DEFAULT__HTTP__HEDGE_AFTER_MS", "DEFAULT__HTTP__EJECT__AFTER_FAILURES", "DEFAULT__HTTP__EJECT__SECONDS",
		"DEFAULT__HTTP__EJECT__MAX_SECONDS", "DEFAULT__HTTP__HEALTH_CHECK__TARGET", "DEFAULT__HTTP__HEALTH_CHECK__INTERVAL_SECONDS",
		"DEFAULT__HTTP__HEALTH_CHECK__TIMEOUT_SECONDS", "DEFAULT__HTTP__WHEN_ALL_DOWN"}
	values = append(values, "http://h:1,http://u:"+canary+"@h:2/"+canary, "socks5://u:"+canary+"@h:1,,http://h:2",
		"socks5://u:"+canary+"@h:1,socks5://u:"+canary+"@h:1", "h:"+canary, canary+":443", "["+canary+"]:1")
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

// Every pool field has its variable; each keeps the route's other fields,
// URLS replaces the pool and URL makes it a pool of one, nested fields
// parse for an exchange id with '_', and FromEnv records the variables.
func TestApplyEnvPools(t *testing.T) {
	const P = DefaultEnvPrefix
	base := envBase()
	base.Default.WebSocket.Strategy = StrategySticky
	base.Default.WebSocket.Proxies[0].TLSConfig = testTLSConfig
	env := []string{
		P + "DEFAULT__WEBSOCKET__URLS= socks5h://u:pw@a.internal:1080 ,http://b.internal:3128",
		P + "DEFAULT__WEBSOCKET__ATTEMPT_TIMEOUT_SECONDS=4",
		P + "DEFAULT__WEBSOCKET__HEDGE_AFTER_MS=0",
		P + "DEFAULT__WEBSOCKET__EJECT__AFTER_FAILURES=5",
		P + "DEFAULT__WEBSOCKET__EJECT__SECONDS=10",
		P + "DEFAULT__WEBSOCKET__EJECT__MAX_SECONDS=600",
		P + "DEFAULT__WEBSOCKET__HEALTH_CHECK__TARGET=api.example.com:443",
		P + "DEFAULT__WEBSOCKET__HEALTH_CHECK__INTERVAL_SECONDS=60",
		P + "DEFAULT__WEBSOCKET__HEALTH_CHECK__TIMEOUT_SECONDS=3",
		P + "DEFAULT__WEBSOCKET__WHEN_ALL_DOWN=FAIL_FAST",
		P + "EXCHANGES__BINANCE__HTTP__URL=socks5://one.internal:1080",
		P + "EXCHANGES__BINANCE__HTTP__STRATEGY=round_robin",
		P + "EXCHANGES__BINANCE_FUTURES__HTTP__URL=http://f.internal:1",
		P + "EXCHANGES__BINANCE_FUTURES__HTTP__EJECT__MAX_SECONDS=900",
		P + "EXCHANGES__BINANCE_FUTURES__HTTP__STRATEGY=failover",
	}
	s, err := ApplyEnv(base, env)
	if err != nil {
		t.Fatal(err)
	}
	ws := s.Default.WebSocket
	want := Route{
		Timeout: 30 * time.Second, AttemptTimeout: 4 * time.Second, Strategy: StrategySticky,
		Eject:       EjectPolicy{AfterFailures: 5, Duration: 10 * time.Second, MaxDuration: 10 * time.Minute},
		HealthCheck: HealthCheck{Target: "api.example.com:443", Interval: time.Minute, Timeout: 3 * time.Second},
		WhenAllDown: FailFast,
		Set:         SetAttemptTimeout | SetHedgeAfter | SetEjectAfterFailures | SetEjectDuration | SetEjectMaxDuration | SetHealthTarget | SetHealthInterval | SetHealthTimeout | SetWhenAllDown,
	}
	got := *ws
	got.Proxies = nil
	if !reflect.DeepEqual(got, want) {
		t.Errorf("default websocket\n got %+v\nwant %+v", got, want)
	}
	if len(ws.Proxies) != 2 || ws.Proxies[0].String() != "socks5h://***@a.internal:1080" || ws.Proxies[1].Host != "b.internal" ||
		ws.Proxies[0].Password.Reveal() != "pw" || ws.Proxies[1].TLSConfig != testTLSConfig {
		t.Errorf("members %v", ws.Proxies)
	}
	if base.Default.WebSocket.Proxies[0].Host != "proxy.internal" || base.Default.WebSocket.Has(SetWhenAllDown) {
		t.Error("ApplyEnv changed its input")
	}
	bn := s.Exchanges["binance"].HTTP
	if len(bn.Proxies) != 1 || bn.Proxies[0].Host != "one.internal" || bn.Timeout != 10*time.Second || !bn.Optimistic || bn.Strategy != StrategyRoundRobin {
		t.Errorf("binance http %+v", bn)
	}
	bf := s.Exchanges["binance_futures"].HTTP
	if bf.Eject.MaxDuration != 15*time.Minute || bf.Strategy != StrategyFailover || !bf.Has(SetStrategy) {
		t.Errorf("binance_futures http %+v", bf)
	}
	if vs := s.FromEnv["default.websocket"]; len(vs) != 10 {
		t.Errorf("FromEnv default.websocket = %v", vs)
	}
	// An env value beats the compiled-in one, explicit zero included.
	s2, err := ApplyEnv(s, []string{P + "DEFAULT__WEBSOCKET__STRATEGY=failover", P + "DEFAULT__WEBSOCKET__URL=http://c.internal:1"})
	if err != nil {
		t.Fatal(err)
	}
	if r := s2.Default.WebSocket; r.Strategy != StrategyFailover || !r.Has(SetStrategy) || len(r.Proxies) != 1 || r.WhenAllDown != FailFast {
		t.Errorf("second overlay %+v", r)
	}
	if r, _ := ResolveRoute(s2, "kraken", TransportHTTP); r.Strategy != StrategyFailover {
		t.Errorf("an inheriting route got strategy %v", r.Strategy)
	}
}

// A rule between two settings broken by a variable names the variable and
// quotes no value, also where an exchange inherits the variable's value.
func TestApplyEnvCrossFieldNoValue(t *testing.T) {
	const P = DefaultEnvPrefix
	_, err := ApplyEnv(envBase(), []string{P + "DEFAULT__HTTP__ATTEMPT_TIMEOUT_SECONDS=287", P + "DEFAULT__HTTP__EJECT__SECONDS=1999"})
	if err == nil {
		t.Fatal("no error")
	}
	for _, v := range []string{"287", "1999", "4m47s", "33m19s"} {
		if strings.Contains(err.Error(), v) {
			t.Errorf("error quotes a value (%s): %v", v, err)
		}
	}
	var ee *EnvError
	if !errors.As(err, &ee) || !strings.Contains(err.Error(), P+"DEFAULT__HTTP__EJECT__SECONDS: default.http.eject.seconds: must be <= eject.max_seconds") ||
		!strings.Contains(err.Error(), "exchanges.binance.http.timeout_seconds: must be >= attempt_timeout_seconds (after the environment overlay)") {
		t.Errorf("got %v", err)
	}
}

// A rule between two settings quotes the value it found in Validate's text
// but keeps it out of Reason, so the environment overlay reports the rule
// without the value (by structure, not by cutting text).
func TestEnvDropsQuotedValue(t *testing.T) {
	s := envBase()
	s.Default.HTTP.AttemptTimeout, s.Default.HTTP.Set = 31*time.Second, s.Default.HTTP.Set|SetAttemptTimeout
	err := Validate(s)
	var se *SettingsError
	if !errors.As(err, &se) || !strings.Contains(err.Error(), "(") || strings.Contains(se.Reason, "(") {
		t.Fatalf("Validate: %v (Reason %q): want the value in the text, not in Reason", err, se.Reason)
	}
	_, err = ApplyEnv(envBase(), []string{DefaultEnvPrefix + "DEFAULT__HTTP__ATTEMPT_TIMEOUT_SECONDS=31"})
	if err == nil || strings.Contains(err.Error(), "31") || strings.Contains(err.Error(), "(") && !strings.Contains(err.Error(), "(after the environment overlay)") {
		t.Fatalf("ApplyEnv: %v: want the rule without the value", err)
	}
}
