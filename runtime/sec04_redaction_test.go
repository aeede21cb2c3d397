package runtime_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/proxygen-go/proxygen/runtime"
)

// Issue 9 item 4: no fmt verb, enclosing struct (exported or unexported
// field, value or pointer), slog handler, JSON or error reveals the password.
func TestSec04_EveryVerbRedactsPassword(t *testing.T) {
	const canary = "CANARY-sec04-Pa55"
	p := runtime.Proxy{Scheme: runtime.HTTP, Host: "proxy.internal", Port: 3128, User: "u", Password: runtime.NewSecret(canary)}
	pp := &p
	type exported struct{ P runtime.Proxy }
	type exportedPtr struct{ P *runtime.Proxy }
	type unexported struct{ p runtime.Proxy }
	type unexportedPtr struct{ p *runtime.Proxy }
	type secretOnly struct{ s runtime.Secret }
	type nested struct {
		a unexported
		b []runtime.Proxy
		c map[string]runtime.Proxy
		d [1]runtime.Secret
	}
	values := map[string]any{
		"Proxy":          p,
		"*Proxy":         pp,
		"exported":       exported{p},
		"*exported":      &exported{p},
		"exportedPtr":    exportedPtr{pp},
		"unexported":     unexported{p},
		"*unexported":    &unexported{p},
		"unexportedPtr":  unexportedPtr{pp},
		"*unexportedPtr": &unexportedPtr{pp},
		"Secret":         p.Password,
		"secretOnly":     secretOnly{p.Password},
		"*secretOnly":    &secretOnly{p.Password},
		"nested":         nested{unexported{p}, []runtime.Proxy{p}, map[string]runtime.Proxy{"k": p}, [1]runtime.Secret{p.Password}},
		"*nested":        &nested{unexported{p}, []runtime.Proxy{p}, map[string]runtime.Proxy{"k": p}, [1]runtime.Secret{p.Password}},
		"[]Proxy":        []runtime.Proxy{p},
		"[]any":          []any{p, pp, p.Password},
		"error":          fmt.Errorf("wrapped: %v", p),
	}
	verbs := []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%p", "%T", "%d", "%t", "%b", "%o", "%O", "%c", "%U", "%e", "%E", "%f", "%F", "%g", "%G", "%8.3v", "%-20s", "%#x", "% x", "%+q", "%#q", "%w", "%z"}
	hexCanary := fmt.Sprintf("%x", canary)
	leaks := func(s string) bool {
		return strings.Contains(s, canary) || strings.Contains(strings.ToLower(s), hexCanary)
	}
	for name, v := range values {
		for _, verb := range verbs {
			if s := fmt.Sprintf(verb, v); leaks(s) {
				t.Errorf("fmt %s on %s leaks: %s", verb, name, s)
			}
		}
		if s := fmt.Sprint(v) + fmt.Sprintln(v); leaks(s) {
			t.Errorf("Sprint on %s leaks: %s", name, s)
		}
		var buf bytes.Buffer
		slog.New(slog.NewTextHandler(&buf, nil)).Info("m", "v", v, slog.Any("any", v), slog.Group("g", "v", v))
		slog.New(slog.NewJSONHandler(&buf, nil)).Info("m", "v", v, slog.Any("any", v), slog.Group("g", "v", v))
		if leaks(buf.String()) {
			t.Errorf("slog of %s leaks: %s", name, buf.String())
		}
		if js, err := json.Marshal(v); err == nil && leaks(string(js)) {
			t.Errorf("json of %s leaks: %s", name, js)
		}
		if err := errors.New(fmt.Sprint(v)); leaks(err.Error()) {
			t.Errorf("error of %s leaks", name)
		}
	}
	// The value is still there for the wire.
	if p.Password.Reveal() != canary || p.Password.Len() != len(canary) || p.Password.IsZero() {
		t.Fatal("Secret lost its value")
	}
	if !runtime.NewSecret("").IsZero() || runtime.NewSecret("").String() != "" || p.Password.String() != "***" {
		t.Error("empty / set Secret prints wrong")
	}
	if txt, _ := p.Password.MarshalText(); string(txt) != "***" {
		t.Errorf("MarshalText = %q", txt)
	}
}
