package main

// Regression tests of issue 9's CLI side; each test name carries its item
// number (TestSecNN_...).

import (
	"bytes"
	"fmt"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// inlineSpec routes through a proxy with a literal canary password; pkg is
// its package: line.
func inlineSpec(pkg string) string {
	return `version: 1
package: ` + pkg + `
enabled: true
default:
  http: { url: "http://user:` + canary + `@proxy.internal:3128" }
exchanges:
  binance: {}
`
}

// Item 1: a keyword (or _ or main) as package: is a positioned error, and
// no command prints generated source (with its literal password).
func TestSec01_PackageKeyword(t *testing.T) {
	names := []string{"_", "main"}
	for tok := token.BREAK; tok <= token.VAR; tok++ {
		if tok.IsKeyword() {
			names = append(names, tok.String())
		}
	}
	for _, name := range names {
		spec := writeSpec(t, inlineSpec(name))
		out := filepath.Join(t.TempDir(), "proxies.go")
		for _, args := range [][]string{
			{"validate", "-allow-inline-credentials", spec},
			{"generate", "-allow-inline-credentials", "-spec", spec, "-out", out},
			{"check", "-allow-inline-credentials", "-spec", spec, "-out", out},
			{"validate", spec},
		} {
			code, stdout, stderr := runCLI(t, args...)
			if code != exitInvalid {
				t.Errorf("package %s: %q exit %d, want %d", name, args[0], code, exitInvalid)
			}
			if want := spec + ":2:10: package: " + strconv.Quote(name) + " "; !strings.HasPrefix(stderr, want) {
				t.Errorf("package %s: %q stderr %q, want it to start with %q", name, args[0], stderr, want)
			}
			if strings.Contains(stdout+stderr, canary) || strings.Contains(stderr, "runtime.Proxy") {
				t.Errorf("package %s: %q printed generated source:\n%s%s", name, args[0], stdout, stderr)
			}
		}
		if _, err := os.Stat(out); !os.IsNotExist(err) {
			t.Errorf("package %s: generate wrote %s", name, out)
		}
	}
	// The -package flag follows the same rule.
	spec := writeSpec(t, inlineSpec("proxies"))
	for _, name := range append(names, "a-b", "1x") {
		code, stdout, stderr := runCLI(t, "generate", "-allow-inline-credentials", "-spec", spec, "-out", filepath.Join(t.TempDir(), "x.go"), "-package", name)
		if code != exitUsage || !strings.Contains(stderr, fmt.Sprintf("-package %q", name)) || strings.Contains(stdout+stderr, canary) {
			t.Errorf("-package %s: exit %d stderr %q", name, code, stderr)
		}
	}
}

// Item 2: check's diff never shows a literal credential of the file on
// disk, with or without -allow-inline-credentials, whatever its literal
// form.
func TestSec02_CheckRedactsDiff(t *testing.T) {
	inline := writeSpec(t, inlineSpec("proxies"))
	refs := writeSpec(t, validSpec) // ${VAR} references only
	for _, form := range []struct{ name, lit string }{
		{"interpreted", strconv.Quote(canary)},
		{"raw", "`" + canary + "`"},
		{"raw_multiline", "`x\n" + canary + "\ny`"},
		{"concatenated", `"ab" + "` + canary + `"`},
		{"parenthesized", `("` + canary + `")`},
		{"escaped", `"\"` + canary + `\\"`},
	} {
		t.Run(form.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "proxies.go")
			if code, _, stderr := runCLI(t, "generate", "-allow-inline-credentials", "-spec", inline, "-out", out); code != exitOK {
				t.Fatalf("generate: %s", stderr)
			}
			src, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			lit := strconv.Quote(canary)
			if !strings.Contains(string(src), "Password: runtime.NewSecret("+lit+")") {
				t.Fatalf("generated file lacks the literal password")
			}
			// A hand-edited file: same password, another literal form, and
			// the user name too.
			edited := strings.Replace(string(src), "Password: runtime.NewSecret("+lit+")", "Password: runtime.NewSecret("+form.lit+")", 1)
			edited = strings.Replace(edited, `User:     "user"`, `User: `+form.lit, 1)
			writeFile(t, out, []byte(edited))
			for _, c := range []struct {
				spec   string
				inline bool
			}{{refs, false}, {refs, true}, {inline, true}} {
				args := []string{"check", "-spec", c.spec, "-out", out}
				if c.inline {
					args = append(args, "-allow-inline-credentials")
				}
				code, stdout, stderr := runCLI(t, args...)
				if code != exitInvalid {
					t.Errorf("%q: exit %d, want %d", args, code, exitInvalid)
				}
				if strings.Contains(stdout+stderr, canary) {
					t.Errorf("%q printed the credential:\n%s%s", args, stdout, stderr)
				}
			}
		})
	}
}

func TestSec02_RedactCredentials(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"\t\tPassword: \"p\\\"w\",\n", "\t\tPassword: \"***\",\n"},
		{"\t\tPassword: `pw`,\n", "\t\tPassword: \"***\",\n"},
		{"\t\tPassword: `a\nb`,\n\t\tUser: \"u\",\n", "\t\tPassword: \"***\",\n\t\tUser: \"***\",\n"},
		{"{User: \"u\", Password: \"p\" + \"q\", Host: \"h\"}", "{User: \"***\", Password: \"***\" + \"***\", Host: \"h\"}"},
		{"\t\tUserVar: \"PROXY_USER\",\n", "\t\tUserVar: \"PROXY_USER\",\n"},
		{"\t\tPassword: \"unterminated\n\t\tHost: \"h\",\n", "\t\tPassword: \"***\"\n\t\tHost: \"h\",\n"},
		{"\t\tPassword: `unterminated\nforever", "\t\tPassword: \"***\""},
		{"// Password: \"in a comment\"\n", "// Password: \"in a comment\"\n"},
	} {
		if got := string(redactCredentials([]byte(c.in))); got != c.want {
			t.Errorf("redact(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// FuzzRedactCredentials: a password marked CANARYpw, written as any Go
// literal form in a Proxy literal's User or Password field, never survives
// redaction.
func FuzzRedactCredentials(f *testing.F) {
	f.Add("s3cr3t", uint8(0))
	f.Add("a\"b\\c", uint8(1))
	f.Add("line1\nline2", uint8(2))
	f.Add("`", uint8(3))
	f.Fuzz(func(t *testing.T, pw string, form uint8) {
		pw = "CANARYpw" + pw
		var lit string
		switch form % 5 {
		case 0:
			lit = strconv.Quote(pw)
		case 1:
			if strings.Contains(pw, "`") {
				return
			}
			lit = "`" + pw + "`"
		case 2:
			lit = strconv.Quote(pw[:4]) + " + " + strconv.Quote(pw[4:])
		case 3:
			lit = "(" + strconv.QuoteToASCII(pw) + ")"
		case 4:
			if strings.Contains(pw, "`") {
				return
			}
			lit = "string(`" + pw + "`)"
		}
		for _, field := range []string{"User", "Password"} {
			src := "package proxies\n\nvar p = &runtime.Proxy{\n\tHost: \"h\",\n\t" + field + ": " + lit + ",\n\tPort: 1,\n}\n"
			if got := redactCredentials([]byte(src)); bytes.Contains(got, []byte("CANARY")) {
				t.Fatalf("survived redaction:\n%s", got)
			}
		}
	})
}
