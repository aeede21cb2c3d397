// Package testenv is the one place for what several system tests share that
// is not a server: the canary credential every leak check uses and the
// assertion that a text carries none of its forms. Its subpackages start
// servers: realproxy (the real proxy servers from Debian's packages) and
// target (the test exchange, the one certificate helper, the one TCP echo
// server, the latency relay). It is test support only: no product package
// may import it, and it must not weaken an assertion to make a fixture fit
// (a helper that cannot check something fails the test instead).
package testenv

import (
	"encoding/base64"
	"fmt"
	"net/url"
	"strings"
	"testing"
)

// Canary is the password every leak check uses, with CanaryUser as the user
// name. It is long and unusual so that any occurrence, whole or in a common
// encoding, is a leak. It is accepted by every real proxy server's
// configuration (letters, digits and dashes only).
const (
	Canary     = "Kanar1e-p4ss-9f3c"
	CanaryUser = "feeder"
)

// CanaryForms are the canary as it would appear if it leaked through an
// encoder: as is, in a Basic or SOCKS credential (base64 of user:password
// and of the password alone), URL-escaped, and case-folded.
var CanaryForms = []string{
	Canary,
	base64.StdEncoding.EncodeToString([]byte(CanaryUser + ":" + Canary)),
	base64.StdEncoding.EncodeToString([]byte(Canary)),
	url.QueryEscape(Canary + "/x")[:len(Canary)],
	url.PathEscape(Canary),
	strings.ToLower(Canary),
	strings.ToUpper(Canary),
}

// Leak returns the form of the canary s contains, or "" when it has none.
func Leak(s string) string {
	for _, f := range CanaryForms {
		if strings.Contains(s, f) {
			return f
		}
	}
	return ""
}

// NoCanary fails t when v carries the canary in any of its forms. v is a
// string, a []byte, an error, or anything with a String method (a log
// buffer); where names the place checked in the failure message.
func NoCanary(t testing.TB, where string, v any) {
	t.Helper()
	var s string
	switch x := v.(type) {
	case nil:
		return
	case string:
		s = x
	case []byte:
		s = string(x)
	case error:
		s = x.Error()
	case fmt.Stringer:
		s = x.String()
	default:
		t.Fatalf("testenv.NoCanary: cannot check a %T", v)
	}
	if f := Leak(s); f != "" {
		t.Errorf("%s carries the canary (as %q):\n%s", where, f, s)
	}
}
