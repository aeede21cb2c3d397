package schema

import (
	"regexp"
	"strconv"
	"testing"

	"github.com/proxygen-go/proxygen/runtime"
)

// ProxyURLPattern (what editors check) accepts every URL ParseURL accepts
// and rejects a bad scheme, a missing or out-of-range port, a path, a
// query and a fragment.
func TestProxyURLPattern(t *testing.T) {
	re := regexp.MustCompile(ProxyURLPattern)
	good := []string{
		"socks5h://proxy.internal:1080", "SOCKS5H://proxy.internal:1080", "http://h:1", "https://h:65535/",
		"socks4://${U}@10.0.0.1:1080", "socks4a://h:01080", "socks5://${U}:${P}@h:1080",
		"http://[::1]:3128", "https://[2001:db8::1]:443", "http://u:p%40ss@h:80", "http://a@b@h:80",
		"http://u:p/x@h:80", "socks5://h_1.example-2.com:9", "http://u:p\u2028w@h:1",
	}
	bad := []string{
		"ftp://h:21", "socks6://h:1", "sock5://h:1", "h:1080", "//h:1080", "socks5://h", "socks5://h:",
		"socks5://h:0", "socks5://h:65536", "socks5://h:99999", "socks5://h:-1", "socks5://h:http",
		"socks5://h:1080/x", "socks5://h:1080?q", "socks5://h:1080#f", "socks5://:1080",
		"socks5://::1:1080", "socks5://h 1:1080", "http://[::1]", " http://h:1",
	}
	for _, u := range good {
		if _, err := runtime.ParseURL(u, runtime.ParseURLOptions{AllowInlineCredentials: true}); err != nil {
			t.Fatalf("test data: ParseURL(%q): %v", u, err)
		}
		if !re.MatchString(u) {
			t.Errorf("pattern rejects %q, which ParseURL accepts", u)
		}
	}
	for _, u := range bad {
		if _, err := runtime.ParseURL(u, runtime.ParseURLOptions{AllowInlineCredentials: true}); err == nil {
			t.Fatalf("test data: ParseURL(%q) accepts it", u)
		}
		if re.MatchString(u) {
			t.Errorf("pattern accepts %q", u)
		}
	}
	for port := 0; port <= 70000; port++ {
		u := "socks5://h:" + strconv.Itoa(port)
		_, err := runtime.ParseURL(u, runtime.ParseURLOptions{})
		if re.MatchString(u) != (err == nil) {
			t.Errorf("port %d: pattern match %v, ParseURL error %v", port, re.MatchString(u), err)
		}
	}
}

// FuzzProxyURLPattern: the editor's pattern never rejects a URL that
// proxygen accepts.
func FuzzProxyURLPattern(f *testing.F) {
	for _, s := range []string{"socks5h://h:1080", "http://${U}:${P}@[::1]:3128/", "HTTPS://a@b@h:443", "socks4a://h:00080"} {
		f.Add(s)
	}
	re := regexp.MustCompile(ProxyURLPattern)
	f.Fuzz(func(t *testing.T, u string) {
		if _, err := runtime.ParseURL(u, runtime.ParseURLOptions{AllowInlineCredentials: true}); err == nil && !re.MatchString(u) {
			t.Errorf("pattern rejects %q, which ParseURL accepts", u)
		}
	})
}
