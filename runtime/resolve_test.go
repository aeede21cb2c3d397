package runtime

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

// fieldCase sets one setting to a non-default value (a) and to an explicit
// value that differs from a, zero where the field has one (b).
type fieldCase struct {
	f    RouteField
	a, b func(r *Route)
	want [2]string // fieldText after a, after b
}

var fieldCases = []fieldCase{
	{SetTimeout, func(r *Route) { r.Timeout = 20 * time.Second }, func(r *Route) { r.Timeout = 5 * time.Second }, [2]string{"20s", "5s"}},
	{SetAttemptTimeout, func(r *Route) { r.AttemptTimeout = 4 * time.Second }, func(r *Route) { r.AttemptTimeout = 2 * time.Second }, [2]string{"4s", "2s"}},
	{SetStrategy, func(r *Route) { r.Strategy = StrategySticky }, func(r *Route) { r.Strategy = StrategyFailover; r.Set |= SetStrategy }, [2]string{"sticky", "failover"}},
	{SetHedgeAfter, func(r *Route) { r.HedgeAfter = 250 * time.Millisecond }, func(r *Route) { r.HedgeAfter = 0; r.Set |= SetHedgeAfter }, [2]string{"250ms", "off"}},
	{SetEjectAfterFailures, func(r *Route) { r.Eject.AfterFailures = 7 }, func(r *Route) { r.Eject.AfterFailures = 1 }, [2]string{"7", "1"}},
	{SetEjectDuration, func(r *Route) { r.Eject.Duration = 20 * time.Second }, func(r *Route) { r.Eject.Duration = time.Second }, [2]string{"20s", "1s"}},
	{SetEjectMaxDuration, func(r *Route) { r.Eject.MaxDuration = time.Hour }, func(r *Route) { r.Eject.MaxDuration = 40 * time.Second }, [2]string{"1h0m0s", "40s"}},
	{SetHealthTarget, func(r *Route) { r.HealthCheck.Target = "a.example:443" }, func(r *Route) { r.HealthCheck.Target = "b.example:443" }, [2]string{"a.example:443", "b.example:443"}},
	{SetHealthInterval, func(r *Route) { r.HealthCheck.Interval = time.Minute }, func(r *Route) { r.HealthCheck.Interval = 10 * time.Second }, [2]string{"1m0s", "10s"}},
	{SetHealthTimeout, func(r *Route) { r.HealthCheck.Timeout = 3 * time.Second }, func(r *Route) { r.HealthCheck.Timeout = time.Second }, [2]string{"3s", "1s"}},
	{SetWhenAllDown, func(r *Route) { r.WhenAllDown = FailFast }, func(r *Route) { r.WhenAllDown = TryEjected; r.Set |= SetWhenAllDown }, [2]string{"fail_fast", "try_ejected"}},
	{SetOptimistic, func(r *Route) { r.Optimistic = true }, func(r *Route) { r.Optimistic = false; r.Set |= SetOptimistic }, [2]string{"true", "false"}},
}

// builtinText is each setting's built-in default as fieldText shows it.
var builtinText = map[RouteField]string{
	SetTimeout: "30s", SetAttemptTimeout: "30s", SetStrategy: "failover", SetHedgeAfter: "off",
	SetEjectAfterFailures: "3", SetEjectDuration: "30s", SetEjectMaxDuration: "5m0s",
	SetHealthTarget: "off", SetHealthInterval: "30s", SetHealthTimeout: "5s", SetWhenAllDown: "try_ejected", SetOptimistic: "false",
}

// Every setting, one at a time: the override's own value (an explicit zero
// included) beats the default route's, an unset one inherits it, and a
// setting set nowhere is the built-in default; the origin says which.
func TestResolveRouteInheritance(t *testing.T) {
	if len(fieldCases) != len(RouteFields()) {
		t.Fatalf("%d field cases for %d fields", len(fieldCases), len(RouteFields()))
	}
	for _, c := range fieldCases {
		t.Run(c.f.String(), func(t *testing.T) {
			def := &Route{Proxies: []*Proxy{px(SOCKS5H, "def", 1)}}
			c.a(def)
			own := &Route{Proxies: []*Proxy{px(HTTP, "own", 2)}}
			c.b(own)
			bare := &Route{Proxies: []*Proxy{px(HTTP, "bare", 3)}}
			s := Settings{Enabled: true, Default: Routes{WebSocket: def},
				Exchanges: map[string]Routes{"own": {WebSocket: own}, "Bare": {WebSocket: bare}}}
			for _, tt := range []struct {
				id     string
				want   string
				origin Origin
			}{
				{"own", c.want[1], OriginOverride},
				{"bare", c.want[0], OriginDefault},
				{"other", c.want[0], OriginDefault},
			} {
				r, o := ResolveRoute(s, tt.id, TransportWebSocket)
				if got := r.fieldText(c.f); got != tt.want || o.Of(c.f).Origin != tt.origin {
					t.Errorf("%s: %s = %s from %v, want %s from %v", tt.id, c.f, got, o.Of(c.f).Origin, tt.want, tt.origin)
				}
			}
			// With no default route, an override's unset field is built in.
			s.Default = Routes{}
			r, o := ResolveRoute(s, "bare", TransportWebSocket)
			if got := r.fieldText(c.f); got != builtinText[c.f] || o.Of(c.f).Origin != OriginBuiltin {
				t.Errorf("builtin: %s = %s from %v, want %s", c.f, got, o.Of(c.f).Origin, builtinText[c.f])
			}
		})
	}
}

// The destination is never inherited (credentials included), a direct
// override stays direct, disabled is direct, nothing configured is direct;
// ids are case-insensitive; the effective members carry the route's
// Timeout and Optimistic without changing the settings.
func TestResolveRouteDestination(t *testing.T) {
	def := &Route{Proxies: []*Proxy{{Scheme: SOCKS5, Host: "def", Port: 1, UserVar: "DEF_USER", PasswordVar: "DEF_PASS"}},
		Timeout: 9 * time.Second, Optimistic: true, Strategy: StrategyRandom}
	own := &Route{Proxies: []*Proxy{px(HTTP, "a", 1), px(HTTP, "b", 2)}}
	s := Settings{Enabled: true, Default: Routes{HTTP: def},
		Exchanges: map[string]Routes{"Binance": {HTTP: own}, "kraken": {HTTP: &Route{Direct: true}}}}

	r, o := ResolveRoute(s, "BINANCE", TransportHTTP)
	if o.Source != SourceOverride || len(r.Proxies) != 2 || r.Proxies[0].Host != "a" || r.Proxies[1].Host != "b" {
		t.Fatalf("binance: %v %+v", o.Source, r)
	}
	if len(r.vars()) != 0 {
		t.Errorf("binance inherited credentials: %v", r.vars())
	}
	for _, p := range r.Proxies {
		if p.Timeout != 9*time.Second || !p.Optimistic {
			t.Errorf("member %s: timeout %v optimistic %v", p, p.Timeout, p.Optimistic)
		}
	}
	if own.Proxies[0].Timeout != 0 || own.Proxies[0].Optimistic {
		t.Error("ResolveRoute changed the settings' members")
	}
	if p := r.Policy(); p.Strategy != StrategyRandom || p.Timeout != 9*time.Second || p.AttemptTimeout != 9*time.Second || p.HealthCheck != nil {
		t.Errorf("policy %+v", p)
	}
	if _, err := NewPool(PoolConfig{Members: r.Proxies, Policy: r.Policy()}); err != nil {
		t.Errorf("NewPool of an effective route: %v", err)
	}

	for _, tt := range []struct {
		s    Settings
		id   string
		t    Transport
		src  RouteSource
		want string
	}{
		{s, "kraken", TransportHTTP, SourceOverride, "direct"},
		{s, "okx", TransportHTTP, SourceDefault, "socks5://***@def:1"},
		{s, "", TransportHTTP, SourceDefault, "socks5://***@def:1"},
		{s, DefaultRouteID, TransportWebSocket, SourceDirect, "direct"},
		{s, "binance", TransportWebSocket, SourceDirect, "direct"},
		{Settings{Default: s.Default, Exchanges: s.Exchanges}, "binance", TransportHTTP, SourceDisabled, "direct"},
	} {
		r, o := ResolveRoute(tt.s, tt.id, tt.t)
		got := "direct"
		if !r.Direct {
			got = r.Proxies[0].String()
		}
		if o.Source != tt.src || got != tt.want {
			t.Errorf("%q %v: %v %s, want %v %s", tt.id, tt.t, o.Source, got, tt.src, tt.want)
		}
	}
	if r, _ := ResolveRoute(s, "okx", TransportHTTP); !reflect.DeepEqual(r.vars(), []string{"DEF_PASS", "DEF_USER"}) {
		t.Errorf("vars %v", r.vars())
	}

	// A direct default gives an override nothing to inherit.
	s.Default.HTTP = &Route{Direct: true}
	if r, o := ResolveRoute(s, "binance", TransportHTTP); r.Timeout != DefaultTimeout || o.Of(SetTimeout).Origin != OriginBuiltin {
		t.Errorf("direct default: timeout %v from %v", r.Timeout, o.Of(SetTimeout))
	}
}

// An attempt timeout set nowhere is the effective timeout, wherever that
// comes from.
func TestResolveRouteAttemptTimeout(t *testing.T) {
	s := Settings{Enabled: true, Default: Routes{HTTP: &Route{Proxies: []*Proxy{px(HTTP, "d", 1)}, Timeout: 12 * time.Second}},
		Exchanges: map[string]Routes{"x": {HTTP: &Route{Proxies: []*Proxy{px(HTTP, "x", 1)}, Timeout: 4 * time.Second}}}}
	if r, o := ResolveRoute(s, "x", TransportHTTP); r.AttemptTimeout != 4*time.Second || o.Of(SetAttemptTimeout).Origin != OriginBuiltin {
		t.Errorf("attempt %v from %v", r.AttemptTimeout, o.Of(SetAttemptTimeout))
	}
	if r, _ := ResolveRoute(s, "y", TransportHTTP); r.AttemptTimeout != 12*time.Second {
		t.Errorf("attempt %v", r.AttemptTimeout)
	}
}

// Env on the default route reaches every override that inherits the
// field, and the source names the variable; an override's own value still
// wins; env on the override names its own variable.
func TestResolveRouteEnvSources(t *testing.T) {
	const P = DefaultEnvPrefix
	s := Settings{Enabled: true,
		Default: Routes{WebSocket: &Route{Proxies: []*Proxy{px(SOCKS5H, "def", 1)}, Strategy: StrategySticky}},
		Exchanges: map[string]Routes{
			"inherits": {WebSocket: &Route{Proxies: []*Proxy{px(HTTP, "i", 1)}}},
			"owns":     {WebSocket: &Route{Proxies: []*Proxy{px(HTTP, "o", 1)}, Strategy: StrategyFailover, Set: SetStrategy}},
		}}
	env := []string{
		P + "DEFAULT__WEBSOCKET__STRATEGY=fastest",
		P + "DEFAULT__WEBSOCKET__HEDGE_AFTER_MS=300",
		P + "EXCHANGES__OWNS__WEBSOCKET__EJECT__SECONDS=12",
		P + "EXCHANGES__OWNS__WEBSOCKET__URLS=socks5://x:1,socks5://y:2",
	}
	out, err := ApplyEnv(s, env)
	if err != nil {
		t.Fatal(err)
	}
	r, o := ResolveRoute(out, "inherits", TransportWebSocket)
	if r.Strategy != StrategyFastest || o.Of(SetStrategy) != (SettingSource{OriginDefault, P + "DEFAULT__WEBSOCKET__STRATEGY"}) || o.Of(SetStrategy).String() != "env" {
		t.Errorf("inherits strategy %v from %+v", r.Strategy, o.Of(SetStrategy))
	}
	if r.HedgeAfter != 300*time.Millisecond || o.Of(SetHedgeAfter).Env != P+"DEFAULT__WEBSOCKET__HEDGE_AFTER_MS" {
		t.Errorf("inherits hedge %v from %+v", r.HedgeAfter, o.Of(SetHedgeAfter))
	}
	if o.Of(SetTimeout) != (SettingSource{Origin: OriginBuiltin}) || o.Of(SetTimeout).String() != "builtin" {
		t.Errorf("timeout from %+v", o.Of(SetTimeout))
	}
	r, o = ResolveRoute(out, "owns", TransportWebSocket)
	if r.Strategy != StrategyFailover || o.Of(SetStrategy) != (SettingSource{Origin: OriginOverride}) {
		t.Errorf("owns strategy %v from %+v", r.Strategy, o.Of(SetStrategy))
	}
	if r.Eject.Duration != 12*time.Second || o.Of(SetEjectDuration) != (SettingSource{OriginOverride, P + "EXCHANGES__OWNS__WEBSOCKET__EJECT__SECONDS"}) {
		t.Errorf("owns eject %v from %+v", r.Eject.Duration, o.Of(SetEjectDuration))
	}
	if len(r.Proxies) != 2 || !reflect.DeepEqual(o.Env, []string{P + "EXCHANGES__OWNS__WEBSOCKET__URLS"}) {
		t.Errorf("owns members %v from %v", r.Proxies, o.Env)
	}
	// The default route itself.
	if _, o := ResolveRoute(out, "", TransportWebSocket); o.Of(SetStrategy) != (SettingSource{OriginDefault, P + "DEFAULT__WEBSOCKET__STRATEGY"}) {
		t.Errorf("default strategy from %+v", o.Of(SetStrategy))
	}
}

// ExplainRoutes lists every listed exchange then the default, http then
// websocket, with redacted members and every setting with its source.
func TestExplainRoutes(t *testing.T) {
	s := Settings{Enabled: true,
		Default:   Routes{HTTP: &Route{Proxies: []*Proxy{{Scheme: SOCKS5, Host: "d", Port: 1, User: "u", Password: NewSecret(canary)}, px(HTTP, "e", 2)}, HedgeAfter: 50 * time.Millisecond}},
		Exchanges: map[string]Routes{"Kraken": {WebSocket: &Route{Direct: true}}, "binance": {}}}
	got := ExplainRoutes(s)
	var keys []string
	for _, e := range got {
		keys = append(keys, e.Exchange+"/"+e.Transport.String()+"/"+e.Origin.Source.String())
	}
	if want := "binance/http/default binance/websocket/direct kraken/http/default kraken/websocket/override */http/default */websocket/direct"; strings.Join(keys, " ") != want {
		t.Errorf("routes %v, want %s", keys, want)
	}
	e := got[0]
	if strings.Join(e.Members, " ") != "socks5://***@d:1 http://e:2" || len(e.Settings) != len(RouteFields()) {
		t.Fatalf("binance http: %+v", e)
	}
	if st := e.Settings[3]; st.Field != SetHedgeAfter || st.Value != "50ms" || st.Source.Origin != OriginDefault {
		t.Errorf("hedge: %+v", st)
	}
	if len(got[3].Members) != 0 || len(got[3].Settings) != 0 {
		t.Errorf("a direct route has members or settings: %+v", got[3])
	}
	for _, e := range got {
		if out := sprintf("%v %+v %#v", e, e, e); strings.Contains(out, canary) {
			t.Errorf("explain data shows the canary: %s", out)
		}
	}
}

func TestRouteFieldString(t *testing.T) {
	if got := (SetEjectDuration | SetHealthTarget).String(); got != "eject.seconds|health_check.target" {
		t.Errorf("got %q", got)
	}
	var keys []string
	for _, f := range RouteFields() {
		keys = append(keys, f.String())
	}
	if got := strings.Join(keys, " "); got != "timeout_seconds attempt_timeout_seconds strategy hedge_after_ms eject.after_failures eject.seconds eject.max_seconds health_check.target health_check.interval_seconds health_check.timeout_seconds when_all_down optimistic" {
		t.Errorf("fields %s", got)
	}
}
