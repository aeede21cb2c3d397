package runtime_test

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strings"
	"testing"

	"github.com/proxygen-go/proxygen/runtime"
)

// refuseForward records that a dial got past the config stage and fails it.
type refuseForward struct{ dialed bool }

var errRefused = errors.New("refused by the test")

func (f *refuseForward) DialContext(context.Context, string, string) (net.Conn, error) {
	f.dialed = true
	return nil, errRefused
}

// FuzzSec03_TargetHost (issue 9 item 3): a target whose host could split a
// CONNECT or SOCKS request never gets past the config stage, whatever the
// scheme.
func FuzzSec03_TargetHost(f *testing.F) {
	for _, s := range malformedTargets {
		f.Add(s)
	}
	for _, s := range []string{"a.example:443", "[::1]:443", "10.0.0.1:80", "x_y.example:https"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, addr string) {
		// The check is the same for every scheme and runs first; the
		// locally resolving socks4 and socks5 would look names up in DNS
		// next, which a fuzz test must not do.
		for _, s := range []runtime.Scheme{runtime.HTTP, runtime.HTTPS, runtime.SOCKS4A, runtime.SOCKS5H} {
			fw := &refuseForward{}
			d := &runtime.Dialer{Proxy: &runtime.Proxy{Scheme: s, Host: "127.0.0.1", Port: 1}, Forward: fw, Logger: quietLogger}
			_, err := d.DialContext(context.Background(), "tcp", addr)
			if !fw.dialed {
				var pe *runtime.ProxyError
				if !errors.As(err, &pe) || pe.Stage != runtime.StageConfig {
					t.Fatalf("%s %q: no dial but %v", s, addr, err)
				}
				continue
			}
			host, _, serr := net.SplitHostPort(addr)
			if serr != nil {
				t.Fatalf("%s: %q is no host:port but reached the proxy", s, addr)
			}
			if _, perr := netip.ParseAddr(host); perr == nil {
				continue
			}
			if host == "" || len(host) > 253 || strings.ContainsFunc(host, func(r rune) bool {
				return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '.' || r == '_')
			}) {
				t.Fatalf("%s: host %q reached the proxy", s, host)
			}
		}
	})
}

// FuzzSec08_URLErrorNeverEchoes (issue 9 item 8): whatever surrounds it, a
// token placed anywhere in a proxy URL never appears in ParseURL's error or
// in the environment overlay's.
func FuzzSec08_URLErrorNeverEchoes(f *testing.F) {
	for _, s := range [][2]string{
		{"http://u:", "@h:1"}, {"http://u%40", ":1"}, {"http://u\uff20", ".h:1"}, {"http://[", "]:1"},
		{"", "://h:1"}, {"http://h:", ""}, {"http://u:p@h:1/", ""}, {"socks4://u:", "@h:1"},
	} {
		f.Add(s[0], s[1])
	}
	const token = "Zq9XtoKen"
	f.Fuzz(func(t *testing.T, before, after string) {
		raw := before + token + after
		_, err := runtime.ParseURL(raw, runtime.ParseURLOptions{AllowInlineCredentials: true})
		if err != nil && strings.Contains(err.Error(), "Zq9X") {
			t.Fatalf("ParseURL(%q) echoes: %v", raw, err)
		}
		if strings.ContainsAny(raw, "\x00") {
			return
		}
		_, err = runtime.ApplyEnv(runtime.Settings{Enabled: true}, []string{runtime.DefaultEnvPrefix + "DEFAULT__HTTP__URL=" + raw})
		if err != nil && strings.Contains(err.Error(), "Zq9X") {
			t.Fatalf("ApplyEnv(%q) echoes: %v", raw, err)
		}
	})
}
