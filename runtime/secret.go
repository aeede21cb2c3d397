package runtime

import (
	"encoding/json"
	"fmt"
	"log/slog"
)

// Secret holds a credential. No raw print can show it: String, every fmt
// verb, slog, JSON and text marshalling give "***" (or "" when the secret is
// empty), and even where fmt bypasses those methods (%p on an enclosing
// value, an unexported field) the only thing it can reach is a pointer,
// which prints as an address. Reveal returns the value. The zero Secret is
// empty.
type Secret struct{ v *string }

// NewSecret returns a Secret holding v; an empty v gives the zero Secret.
func NewSecret(v string) Secret {
	if v == "" {
		return Secret{}
	}
	return Secret{v: &v}
}

// Reveal returns the credential itself. Call it only where the value must
// go on the wire.
func (s Secret) Reveal() string {
	if s.v == nil {
		return ""
	}
	return *s.v
}

// IsZero reports whether the secret is empty.
func (s Secret) IsZero() bool { return s.v == nil || *s.v == "" }

// Len returns the length of the credential in bytes.
func (s Secret) Len() int {
	if s.v == nil {
		return 0
	}
	return len(*s.v)
}

// Equal reports whether s and t hold the same value.
func (s Secret) Equal(t Secret) bool { return s.Reveal() == t.Reveal() }

// String returns "***", or "" for an empty secret.
func (s Secret) String() string {
	if s.IsZero() {
		return ""
	}
	return "***"
}

// GoString returns a redacted Go expression.
func (s Secret) GoString() string {
	if s.IsZero() {
		return "runtime.Secret{}"
	}
	return `runtime.NewSecret("***")`
}

// Format prints the redacted form for every verb.
func (s Secret) Format(f fmt.State, verb rune) {
	switch verb {
	case 'q':
		fmt.Fprintf(f, "%q", s.String())
	case 'v':
		if f.Flag('#') {
			_, _ = f.Write([]byte(s.GoString()))
			return
		}
		_, _ = f.Write([]byte(s.String()))
	default:
		_, _ = f.Write([]byte(s.String()))
	}
}

// LogValue implements slog.LogValuer with the redacted form.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalJSON encodes the redacted form as a JSON string.
func (s Secret) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }

// MarshalText encodes the redacted form.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }
