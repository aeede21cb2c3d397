package testenv_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"testing"

	"github.com/proxygen-go/proxygen/internal/testenv"
)

// recorder is a testing.TB that records failures instead of failing.
type recorder struct {
	testing.TB
	failed []string
}

func (r *recorder) Helper() {}
func (r *recorder) Errorf(format string, args ...any) {
	r.failed = append(r.failed, fmt.Sprintf(format, args...))
}
func (r *recorder) Fatalf(format string, args ...any) {
	r.failed = append(r.failed, fmt.Sprintf(format, args...))
}

// TestNoCanary: each encoded form of the canary, in each kind of value, is
// reported; a clean text is not.
func TestNoCanary(t *testing.T) {
	leaky := []string{
		"proxy said: " + testenv.Canary,
		"Proxy-Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte(testenv.CanaryUser+":"+testenv.Canary)),
		"pw=" + base64.StdEncoding.EncodeToString([]byte(testenv.Canary)),
		"http://u:" + url.QueryEscape(testenv.Canary) + "@h:1",
		"LOUD " + "KANAR1E-P4SS-9F3C",
		"quiet kanar1e-p4ss-9f3c",
	}
	for _, s := range leaky {
		for _, v := range []any{s, []byte(s), errors.New(s), bytes.NewBufferString(s)} {
			r := &recorder{TB: t}
			testenv.NoCanary(r, "x", v)
			if len(r.failed) != 1 {
				t.Errorf("NoCanary(%T %q) reported %d failures, want 1", v, s, len(r.failed))
			}
		}
	}
	r := &recorder{TB: t}
	testenv.NoCanary(r, "x", "dial socks5h://feeder:***@127.0.0.1:1080: connection refused")
	testenv.NoCanary(r, "x", error(nil))
	if len(r.failed) != 0 {
		t.Errorf("clean values reported: %q", r.failed)
	}
	testenv.NoCanary(r, "x", 42)
	if len(r.failed) != 1 {
		t.Errorf("an uncheckable value was not reported")
	}
}
