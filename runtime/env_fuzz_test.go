package runtime_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/proxygen-go/proxygen/runtime"
)

// FuzzApplyEnv overlays one variable under the prefix with any name suffix
// and value: ApplyEnv must never panic, and its error must never contain the
// value (nor a URL password in it) unless the same text appears in the
// messages other values give, i.e. it is the messages' own wording.
func FuzzApplyEnv(f *testing.F) {
	seeds := [][2]string{
		{"ENABLED", "false"},
		{"ENABLED", "maybe-not"},
		{"DEFAULT__HTTP__URL", "socks5h://10.0.0.5:1080"},
		{"DEFAULT__HTTP__URL", "http://user:s3cr3t-pw@proxy:99999"},
		{"DEFAULT__WEBSOCKET__TIMEOUT_SECONDS", "15"},
		{"DEFAULT__WEBSOCKET__TIMEOUT_SECONDS", "1e9-seconds"},
		{"EXCHANGES__BINANCE__HTTP__URL", "http://${EU_USER}:${EU_PASS}@eu.internal:3128"},
		{"EXCHANGES__KRAKEN__WEBSOCKET__DIRECT", "true"},
		{"EXCHANGES__NEWEX__HTTP__OPTIMISTIC", "1"},
		{"EXCHANGES__1BAD__HTTP__URL", "socks5://h:1"},
		{"EXCHANGES__BINANCE__HTTP__PASSWORD", "hunter2-hunter2"},
		{"DEFAULT__HTTP__URL", "socks4://id:pw-pw-pw-pw@h:1080"},
		{"DEFAULT__HTTP__URL", "https://u:p%zzpass@[::1:8443"},
		{"DEFAULT__HTTP__URLS", "socks5://a:1,http://u:s3cr3t-pw@b:2,socks5://a:1"},
		{"EXCHANGES__BINANCE_FUTURES__HTTP__URLS", "socks5://a:1, ,http://b:2"},
		{"DEFAULT__HTTP__STRATEGY", "least-connections"},
		{"DEFAULT__HTTP__HEDGE_AFTER_MS", "250"},
		{"DEFAULT__HTTP__EJECT__MAX_SECONDS", "86400000"},
		{"DEFAULT__HTTP__EJECT__SECONDS", "600"},
		{"DEFAULT__HTTP__HEALTH_CHECK__TARGET", "u:pw-secret@host:443"},
		{"DEFAULT__HTTP__HEALTH_CHECK__INTERVAL_SECONDS", "60"},
		{"EXCHANGES__BINANCE__WEBSOCKET__WHEN_ALL_DOWN", "go-direct"},
		{"EXCHANGES__X__HTTP__EJECT__NOPE", "1"},
	}
	for _, s := range seeds {
		f.Add(s[0], s[1])
	}
	base := runtime.Settings{
		Enabled: true,
		Default: runtime.Routes{HTTP: &runtime.Route{Proxies: []*runtime.Proxy{{Scheme: runtime.SOCKS5H, Host: "proxy.internal", Port: 1080}}}},
		Exchanges: map[string]runtime.Routes{
			"binance": {WebSocket: &runtime.Route{Direct: true}},
		},
	}
	f.Fuzz(func(t *testing.T, name, value string) {
		name = strings.NewReplacer("=", "", "\x00", "").Replace(name)
		apply := func(v string) string {
			_, err := runtime.ApplyEnv(base, []string{runtime.DefaultEnvPrefix + name + "=" + v})
			if err != nil {
				return err.Error()
			}
			return ""
		}
		msg := apply(value)
		if msg == "" {
			return
		}
		// The messages' own wording, from probes of every kind.
		var neutral strings.Builder
		for _, probe := range []string{"\x01", "", "x", "1", "0", "301", "true", "yes", "http://h", "http://h:1/p?q#f", "ftp://h:1",
			"http://u:p@h:99999", "socks4://u:p@h:1", "socks5h://${A B}@h:1", "http://[::1", "http://u:%zz@h:1"} {
			neutral.WriteString(apply(probe))
			neutral.WriteByte('\n')
		}
		secrets := []string{value}
		if u, err := url.Parse(value); err == nil && u.User != nil {
			if p, ok := u.User.Password(); ok {
				secrets = append(secrets, p)
			}
		}
		for _, s := range secrets {
			if len(s) < 6 || strings.Contains(name, s) || strings.Contains(neutral.String(), s) || strings.Contains(strings.ToUpper(runtime.DefaultEnvPrefix+name), strings.ToUpper(s)) {
				continue
			}
			if strings.Contains(msg, s) {
				t.Fatalf("error carries the value %q: %s", s, msg)
			}
		}
	})
}
