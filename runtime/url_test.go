package runtime

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestParseURL(t *testing.T) {
	for _, tc := range []struct {
		raw    string
		inline bool
		want   Proxy
		err    string
	}{
		{raw: "socks5h://proxy.internal:1080", want: Proxy{Scheme: SOCKS5H, Host: "proxy.internal", Port: 1080}},
		{raw: "HTTP://[::1]:3128/", want: Proxy{Scheme: HTTP, Host: "::1", Port: 3128}},
		{raw: "https://${U}:${P}@eu.egress:8443", want: Proxy{Scheme: HTTPS, Host: "eu.egress", Port: 8443, UserVar: "U", PasswordVar: "P"}},
		{raw: "socks4a://${ID}@10.0.0.1:1080", want: Proxy{Scheme: SOCKS4A, Host: "10.0.0.1", Port: 1080, UserVar: "ID"}},
		{raw: "http://u:p%40ss@h:1", inline: true, want: Proxy{Scheme: HTTP, Host: "h", Port: 1, User: "u", Password: NewSecret("p@ss")}},
		{raw: "http://u:@h:1", inline: true, want: Proxy{Scheme: HTTP, Host: "h", Port: 1, User: "u"}},
		{raw: "http://u:pa@ss@h:1", inline: true, want: Proxy{Scheme: HTTP, Host: "h", Port: 1, User: "u", Password: NewSecret("pa@ss")}},
		{raw: "", err: "empty"},
		{raw: "proxy:1080", err: "needs a scheme"},
		{raw: "ftp://h:1", err: `unsupported proxy scheme (`},
		{raw: "http://h", err: "explicit port"},
		{raw: "http://h:0", err: "out of range"},
		{raw: "http://h:65536", err: "out of range"},
		{raw: "http://h:+1", err: "not a number"},
		{raw: "http://:1", err: "needs a host"},
		{raw: "http://::1:1", err: "brackets"},
		{raw: "http://[1.2.3.4]:1", err: "not an IPv6"},
		{raw: "http://h:1/x", err: "path"},
		{raw: "http://h:1?x", err: "query"},
		{raw: "http://h:1#x", err: "fragment"},
		{raw: "http://h :1", err: "space"},
		{raw: "http://SECRETUSER:SECRETPW@h:1", err: "inline user not allowed"},
		{raw: "socks4://u:SECRETPW@h:1", inline: true, err: "user id only"},
		{raw: "http://${U:1", err: ""},
		{raw: "http://${1X}@h:1", err: "${NAME}"},
		{raw: "http://a${X}@h:1", err: "whole ${VAR}"},
	} {
		p, err := ParseURL(tc.raw, ParseURLOptions{AllowInlineCredentials: tc.inline})
		if tc.err != "" || err != nil {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: err = %v, want %q", tc.raw, err, tc.err)
			}
			if err != nil && strings.Contains(err.Error(), "SECRET") {
				t.Errorf("%q: error leaks: %v", tc.raw, err)
			}
			continue
		}
		if !reflect.DeepEqual(*p, tc.want) {
			t.Errorf("%q: %#v, want %#v", tc.raw, *p, tc.want)
		}
	}
}

func TestProxyResolve(t *testing.T) {
	p := &Proxy{Scheme: SOCKS5, Host: "h", Port: 1, UserVar: "U", PasswordVar: "P"}
	env := map[string]string{"U": "alice", "P": ""}
	q, err := p.resolve(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil || q.User != "alice" || q.Password.Reveal() != "" || q.UserVar != "" || q.PasswordVar != "" || p.UserVar != "U" {
		t.Fatalf("%#v %v", q, err)
	}
	delete(env, "P")
	if _, err := p.resolve(func(k string) (string, bool) { v, ok := env[k]; return v, ok }); err == nil || !strings.Contains(err.Error(), "P is not set") {
		t.Fatalf("err = %v", err)
	}
	if err := p.unresolved(); err == nil || err.(*UnresolvedError).Var != "U" {
		t.Fatalf("unresolved = %v", err)
	}
}

func TestProxyErrorText(t *testing.T) {
	e := &ProxyError{Exchange: "binance", Transport: TransportWebSocket, Stage: StageAuth, Proxy: "http://***@h:1", Status: 407, Err: httpStatusError(407, true)}
	if got, want := e.Error(), "proxy http://***@h:1 (binance websocket): auth: proxy authentication failed (http 407)"; got != want {
		t.Fatalf("%q\nwant %q", got, want)
	}
	e = &ProxyError{Stage: StageReply, Proxy: "socks5://h:1", Code: 5, Err: &socksReplyError{version: socks5Version, code: socks5ConnRefused}}
	if got, want := e.Error(), "proxy socks5://h:1: reply: connection refused (socks5 reply 0x05)"; got != want {
		t.Fatalf("%q\nwant %q", got, want)
	}
}

// FuzzParseURL: the parser never panics; what it accepts round-trips
// through String; an error never echoes the URL's user information.
func FuzzParseURL(f *testing.F) {
	for _, s := range []string{
		"socks5h://proxy.internal:1080", "http://${U}:${P}@[::1]:3128/", "https://u:p@h:443",
		"SOCKS4A://${ID}@10.0.0.1:1080", "socks5://h:0", "http://h", "ftp://h:1", "http://u:p@h:1?q#f",
		"http://[fe80::1%25eth0]:1", "http://u:pa/ss@h:1", "socks4://u:p@h:1", "http://:1",
	} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, raw string, inline bool) {
		p, err := ParseURL(raw, ParseURLOptions{AllowInlineCredentials: inline})
		if err != nil {
			var ue *URLError
			if !errors.As(err, &ue) {
				t.Fatalf("error type %T", err)
			}
			if i := strings.Index(raw, "://"); i >= 0 {
				rest := raw[i+3:]
				if at := strings.LastIndexByte(rest, '@'); at >= 0 {
					info, after := rest[:at], rest[at+1:]
					if len(info) >= 6 && strings.Contains(err.Error(), info) && !strings.Contains(after, info) && !strings.Contains(raw[:i], info) {
						t.Fatalf("error %q echoes the userinfo %q", err, info)
					}
				}
			}
			return
		}
		if p.Port == 0 || p.Host == "" || p.Scheme < HTTP || p.Scheme > SOCKS5H {
			t.Fatalf("accepted %q as %#v", raw, p)
		}
		if !inline && (p.User != "" || p.Password.Reveal() != "") {
			t.Fatalf("inline credentials accepted from %q", raw)
		}
		want := p.Scheme.String() + "://" + p.Addr()
		if p.HasCredentials() {
			want = p.Scheme.String() + "://***@" + p.Addr()
		}
		if p.String() != want {
			t.Fatalf("String %q, want %q", p.String(), want)
		}
		q, err := ParseURL(p.String(), ParseURLOptions{AllowInlineCredentials: true})
		if err != nil && !p.HasCredentials() {
			t.Fatalf("String %q of %q does not parse: %v", p.String(), raw, err)
		}
		if err == nil && (q.Scheme != p.Scheme || q.Host != p.Host || q.Port != p.Port) {
			t.Fatalf("round trip %q -> %q", raw, p.String())
		}
	})
}

// An out-of-range port is the one value a URLError's text shows; Reason
// never holds it, so the environment overlay can use Reason as is.
func TestURLErrorPortApart(t *testing.T) {
	_, err := ParseURL("http://h:70000", ParseURLOptions{})
	var ue *URLError
	if !errors.As(err, &ue) {
		t.Fatalf("error %v (%T), want *URLError", err, err)
	}
	if !strings.Contains(err.Error(), "70000") || strings.Contains(ue.Reason, "70000") || !strings.Contains(ue.Reason, "out of range") {
		t.Errorf("Error %q, Reason %q: want the port in the text only", err, ue.Reason)
	}
}
