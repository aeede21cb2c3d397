package runtime_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/proxygen-go/proxygen/runtime"
	"github.com/proxygen-go/proxygen/runtime/proxytest"
)

// dialCounter counts the connections a Dialer tries to open.
type dialCounter struct{ n atomic.Int64 }

func (f *dialCounter) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	f.n.Add(1)
	var d net.Dialer
	return d.DialContext(ctx, network, addr)
}

// malformedTargets are targets that must never reach a proxy: each would
// split a CONNECT request or a SOCKS request, or is no host:port at all.
var malformedTargets = []string{
	"evil.example\r\nProxy-Authorization: x\r\n\r\nCONNECT a.example:443",
	"evil.example HTTP/1.1\r\nHost: a.example\r\n\r\nGET / HTTP/1.1\r\nX: y:443",
	"evil.example\n:443",
	"evil.example\r:443",
	"evil example:443",
	"evil.example\t:443",
	"evil\x00.example:443",
	"evil\x7f.example:443",
	"évil.example:443",
	"evil/path.example:443",
	"evil@user.example:443",
	":443",
	"evil.example",
	"evil.example:0",
	"evil.example:65536",
	"evil.example:http\r\nX",
	"[fe80::1%25eth0]:443",
	strings.Repeat("a", 254) + ":443",
}

// Issue 9 item 3: a host with CR/LF, spaces or other bytes outside a host
// name is refused at the config stage, before any byte reaches the proxy,
// for every scheme; so are the other malformed targets.
func TestSec03_MalformedTargetsRefusedAtConfig(t *testing.T) {
	if len(malformedTargets) < 17 {
		t.Fatal("want at least 17 malformed targets")
	}
	const canary = "CANARY-sec03-pass"
	for _, s := range allSchemes {
		srv := newServer(t, proxytest.Config{Kind: kindOf(s)})
		for _, target := range malformedTargets {
			p := srv.Proxy(s)
			p.User = "u"
			if s != runtime.SOCKS4 && s != runtime.SOCKS4A {
				p.Password = runtime.NewSecret(canary)
			}
			fw := &dialCounter{}
			d := &runtime.Dialer{Proxy: p, Exchange: "binance", Forward: fw, Logger: quietLogger}
			c, err := d.DialContext(context.Background(), "tcp", target)
			if err == nil {
				c.Close()
				t.Errorf("%s: %q accepted", s, target)
				continue
			}
			var pe *runtime.ProxyError
			if !errors.As(err, &pe) || pe.Stage != runtime.StageConfig {
				t.Errorf("%s: %q: %v, want a config-stage *ProxyError", s, target, err)
			}
			if n := fw.n.Load(); n != 0 {
				t.Errorf("%s: %q: %d connections to the proxy", s, target, n)
			}
			if strings.Contains(err.Error(), "\n") || strings.Contains(err.Error(), "\r") || strings.Contains(err.Error(), canary) {
				t.Errorf("%s: error echoes the target or the password: %q", s, err)
			}
		}
		if r := srv.Records(); len(r) != 0 {
			t.Errorf("%s: the proxy saw %d connections: %+v", s, len(r), r)
		}
	}
}

// Item 3 through net/http: a request URL built in code with a CR/LF host.
func TestSec03_CRLFHostThroughHTTPClient(t *testing.T) {
	for _, s := range allSchemes {
		srv := newServer(t, proxytest.Config{Kind: kindOf(s)})
		p := srv.Proxy(s)
		d := &runtime.Dialer{Proxy: p, Exchange: "binance", Logger: quietLogger}
		c := &http.Client{Transport: &http.Transport{DialContext: d.DialContext}}
		req := &http.Request{Method: "GET", URL: &url.URL{Scheme: "http", Host: "a.example\r\nX-Injected: 1\r\n\r\nCONNECT b.example:80", Path: "/"}, Header: http.Header{}}
		resp, err := c.Do(req)
		if err == nil {
			resp.Body.Close()
			t.Fatalf("%s: request sent", s)
		}
		if r := srv.Records(); len(r) != 0 {
			t.Errorf("%s: the proxy saw %d connections", s, len(r))
		}
	}
}

// Issue 9 item 8: URL errors name the problem, never the value, in ParseURL
// (so the spec) and in the environment overlay alike.
func TestSec08_URLErrorsNeverEchoValue(t *testing.T) {
	const canary = "CANARYsec08"
	raws := []string{
		"http://user%40" + canary + ":1",
		"http://user\uff20" + canary + ".example:1",
		"http://user:" + canary + "\uff20proxy.example:3128",
		"http://[" + canary + "]:1",
		"http://[" + canary + "%40x]:1",
		canary + "://h:1",
		"ht" + canary + "p://h:1",
		"http://" + strings.Repeat(canary, 1000) + "!:1",
		"http://u:" + canary + "@h:" + canary,
		"http://u:" + canary + "@h:1/" + canary,
		"http://u:" + canary + "@h:1?" + canary,
	}
	for _, raw := range raws {
		_, err := runtime.ParseURL(raw, runtime.ParseURLOptions{AllowInlineCredentials: true})
		if err == nil {
			t.Errorf("%q accepted", raw)
			continue
		}
		if strings.Contains(err.Error(), canary) || len(err.Error()) > 200 {
			t.Errorf("ParseURL error echoes the value: %v", err)
		}
		s := runtime.Settings{Enabled: true}
		_, err = runtime.ApplyEnv(s, []string{runtime.DefaultEnvPrefix + "DEFAULT__HTTP__URL=" + raw})
		if err == nil || strings.Contains(err.Error(), canary) || len(err.Error()) > 300 {
			t.Errorf("env error echoes the value (or none): %v", err)
		}
	}
	// Other echoed text (ids from variable names, spec keys) is capped.
	long := strings.Repeat("x", 10000) + "_"
	err := runtime.Validate(runtime.Settings{Exchanges: map[string]runtime.Routes{long: {}}})
	if err == nil || len(err.Error()) > 400 {
		t.Errorf("Validate echo not capped: %d bytes", len(err.Error()))
	}
	_, err = runtime.ApplyEnv(runtime.Settings{}, []string{runtime.DefaultEnvPrefix + "EXCHANGES__" + strings.ToUpper(long) + "__HTTP__URL=http://h:1"})
	if err == nil || len(err.Error()) > len(long)+400 || strings.Count(err.Error(), "x") > len(long)+100 {
		t.Errorf("env echo not capped: %d bytes", len(err.Error()))
	}
}

var validIDs = []string{"a", "binance", "binance_us", "gate_io", "a1", "a_1", "x9_y8_z7", "okx", "coin_base_pro", "b2c2"}
var invalidIDs = []string{"", "_a", "1a", "a_", "a__b", "binance_", "a___b", "a-b", "a.b", "a b", "é", "a\u212a", "binance__futures"}

// Issue 9 item 9: exchange ids are ^[a-z][a-z0-9]*(_[a-z0-9]+)*$, so every
// valid id is reachable from the overlay, and the rest are rejected by the
// runtime's validation and the overlay alike.
func TestSec09_ExchangeIDGrammarOverlayRoundTrip(t *testing.T) {
	for _, id := range validIDs {
		if !runtime.ValidExchangeID(id) {
			t.Errorf("%q rejected", id)
			continue
		}
		checkOverlayReaches(t, id)
	}
	for _, id := range invalidIDs {
		if runtime.ValidExchangeID(id) {
			t.Errorf("%q accepted", id)
		}
		s := runtime.Settings{Enabled: true, Exchanges: map[string]runtime.Routes{id: {HTTP: &runtime.Route{Direct: true}}}}
		if err := runtime.Validate(s); err == nil {
			t.Errorf("Validate accepted id %q", id)
		}
	}
}

// checkOverlayReaches sets EXCHANGES__<ID>__HTTP__URL and checks it lands on
// exchange id and nowhere else.
func checkOverlayReaches(t *testing.T, id string) {
	t.Helper()
	s := runtime.Settings{Enabled: true, Exchanges: map[string]runtime.Routes{id: {HTTP: &runtime.Route{Direct: true}}}}
	if err := runtime.Validate(s); err != nil {
		t.Errorf("%q: %v", id, err)
		return
	}
	out, err := runtime.ApplyEnv(s, []string{runtime.DefaultEnvPrefix + "EXCHANGES__" + strings.ToUpper(id) + "__HTTP__URL=http://h.example:1"})
	if err != nil {
		t.Errorf("%q: overlay: %v", id, err)
		return
	}
	r := out.Exchanges[id].HTTP
	if len(out.Exchanges) != 1 || r == nil || len(r.Proxies) != 1 || r.Proxies[0].Host != "h.example" {
		t.Errorf("%q: overlay did not reach the exchange: %+v", id, out.Exchanges)
	}
	if _, err := runtime.NewInjector(out); err != nil {
		t.Errorf("%q: %v", id, err)
	}
}

// Fuzz: ValidExchangeID and the overlay agree in both directions.
func FuzzSec09_ExchangeIDOverlay(f *testing.F) {
	for _, id := range append(append([]string{}, validIDs...), invalidIDs...) {
		f.Add(id)
	}
	f.Fuzz(func(t *testing.T, id string) {
		if runtime.ValidExchangeID(id) {
			if len(id) > 200 {
				return
			}
			checkOverlayReaches(t, id)
			return
		}
		if runtime.ValidExchangeID(runtime.NormalizeExchangeID(id)) {
			return // upper-case ids are valid after folding
		}
		s := runtime.Settings{Enabled: true, Exchanges: map[string]runtime.Routes{id: {}}}
		if err := runtime.Validate(s); err == nil {
			t.Errorf("Validate accepted %q", id)
		}
	})
}

// Issue 9 item 11: slog of a nil *Proxy (a direct route) logs "direct".
func TestSec11_NilProxyLogsDirect(t *testing.T) {
	var p *runtime.Proxy
	var buf bytes.Buffer
	slog.New(slog.NewTextHandler(&buf, nil)).Info("route", "proxy", p)
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("route", "proxy", p)
	out := buf.String()
	if strings.Contains(out, "panic") || strings.Count(out, "direct") != 2 {
		t.Errorf("nil proxy logs as: %s", out)
	}
	q := &runtime.Proxy{Scheme: runtime.HTTP, Host: "h", Port: 1, User: "u", Password: runtime.NewSecret("CANARY11")}
	buf.Reset()
	slog.New(slog.NewTextHandler(&buf, nil)).Info("route", "proxy", q, "value", *q)
	if !strings.Contains(buf.String(), "http://***@h:1") || strings.Contains(buf.String(), "CANARY11") {
		t.Errorf("proxy logs as: %s", buf.String())
	}
}

// Issue 9 item 12: a SOCKS5 password without a user name (RFC 1929 needs
// 1..255 bytes), over-long SOCKS5 credentials and an HTTP Basic user with
// ':' are refused by validation, by NewInjector once ${VAR}s are resolved,
// and at the config stage of a dial.
func TestSec12_CredentialShapesRefusedAtConfig(t *testing.T) {
	long := strings.Repeat("p", 256)
	bad := []*runtime.Proxy{
		{Scheme: runtime.SOCKS5, Host: "h", Port: 1, Password: runtime.NewSecret("pw")},
		{Scheme: runtime.SOCKS5H, Host: "h", Port: 1, Password: runtime.NewSecret("pw")},
		{Scheme: runtime.SOCKS5H, Host: "h", Port: 1, User: "u", Password: runtime.NewSecret(long)},
		{Scheme: runtime.SOCKS5H, Host: "h", Port: 1, User: long},
		{Scheme: runtime.HTTP, Host: "h", Port: 1, User: "a:b", Password: runtime.NewSecret("pw")},
		{Scheme: runtime.HTTPS, Host: "h", Port: 1, User: "a:"},
	}
	for _, p := range bad {
		s := runtime.Settings{Enabled: true, Default: runtime.Routes{HTTP: &runtime.Route{Proxies: []*runtime.Proxy{p}}}}
		if err := runtime.Validate(s); err == nil {
			t.Errorf("Validate accepted %s user %d bytes password %d bytes", p.Scheme, len(p.User), p.Password.Len())
		}
		fw := &dialCounter{}
		_, err := (&runtime.Dialer{Proxy: p, Forward: fw, Logger: quietLogger}).DialContext(context.Background(), "tcp", "a.example:443")
		var pe *runtime.ProxyError
		if !errors.As(err, &pe) || pe.Stage != runtime.StageConfig || fw.n.Load() != 0 {
			t.Errorf("%s: dial: %v (connections %d), want a config error", p.Scheme, err, fw.n.Load())
		}
	}
	// Resolved ${VAR}s: an empty user with a password.
	s := runtime.Settings{Enabled: true, Default: runtime.Routes{HTTP: &runtime.Route{Proxies: []*runtime.Proxy{&runtime.Proxy{Scheme: runtime.SOCKS5H, Host: "h", Port: 1, UserVar: "U", PasswordVar: "P"}}}}}
	env := map[string]string{"U": "", "P": "CANARY12"}
	_, err := runtime.NewInjector(s, runtime.WithLookup(func(k string) (string, bool) { v, ok := env[k]; return v, ok }))
	if err == nil || strings.Contains(err.Error(), "CANARY12") {
		t.Errorf("NewInjector: %v", err)
	}
	env = map[string]string{"U": "a:b", "P": "x"}
	s.Default.HTTP.Proxies[0].Scheme = runtime.HTTP
	if _, err := runtime.NewInjector(s, runtime.WithLookup(func(k string) (string, bool) { v, ok := env[k]; return v, ok })); err == nil {
		t.Error("NewInjector accepted an HTTP Basic user with ':'")
	}
	// Still fine: a SOCKS5 user with an empty password, HTTP Basic with ':'
	// in the password.
	for _, p := range []*runtime.Proxy{
		{Scheme: runtime.SOCKS5H, Host: "h", Port: 1, User: "u"},
		{Scheme: runtime.HTTP, Host: "h", Port: 1, User: "u", Password: runtime.NewSecret("a:b")},
	} {
		if err := runtime.Validate(runtime.Settings{Default: runtime.Routes{HTTP: &runtime.Route{Proxies: []*runtime.Proxy{p}}}}); err != nil {
			t.Errorf("%s: %v", p.Scheme, err)
		}
	}
}

// Issue 9 item 14 (prefix): a prefix must end in '_' and be at least
// minEnvPrefixLen long; "P" would claim PATH and PWD.
func TestSec14_EnvPrefixRule(t *testing.T) {
	for _, p := range []string{"P", "P_", "AB", "_AB_", "1AB_", "A-B_", "ABC"} {
		s := runtime.Settings{Enabled: true, EnvPrefix: p}
		if err := runtime.Validate(s); err == nil {
			t.Errorf("Validate accepted prefix %q", p)
		}
		if _, err := runtime.ApplyEnv(s, []string{"PATH=/bin", "PWD=/"}); err == nil || !strings.Contains(err.Error(), "env_prefix") {
			t.Errorf("ApplyEnv with prefix %q: %v", p, err)
		}
	}
	for _, p := range []string{"", "AB_", "MYAPP_PROXY_", "feed_"} {
		s := runtime.Settings{Enabled: true, EnvPrefix: p}
		if err := runtime.Validate(s); err != nil {
			t.Errorf("prefix %q: %v", p, err)
		}
		if _, err := runtime.ApplyEnv(s, []string{"PATH=/bin", "PWD=/"}); err != nil {
			t.Errorf("ApplyEnv with prefix %q: %v", p, err)
		}
	}
}
