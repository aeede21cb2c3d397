package gen_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/proxygen-go/proxygen/gen"
	"github.com/proxygen-go/proxygen/schema"
)

// benchSpec is a spec with n exchanges: a third override http with a
// timeout, a third set websocket direct, a third only declared.
func benchSpec(n int) []byte {
	var b strings.Builder
	b.WriteString("version: 1\npackage: proxies\nenabled: true\ndefault:\n" +
		"  http: {url: 'socks5h://proxy.internal:1080', timeout_seconds: 30}\n" +
		"  websocket: {url: 'http://${PROXY_USER}:${PROXY_PASS}@proxy.internal:3128'}\nexchanges:\n")
	for i := range n {
		switch i % 3 {
		case 0:
			fmt.Fprintf(&b, "  exchange_%d:\n    http: {url: 'https://egress-%d.internal:8443', timeout_seconds: %d}\n", i, i, 1+i%300)
		case 1:
			fmt.Fprintf(&b, "  exchange_%d:\n    websocket: {direct: true}\n", i)
		default:
			fmt.Fprintf(&b, "  exchange_%d: {}\n", i)
		}
	}
	return []byte(b.String())
}

func generate(tb testing.TB, data []byte) []byte {
	spec, err := schema.Load("spec.yaml", data, schema.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	files, err := gen.Generate(spec, gen.Options{Source: "spec.yaml"})
	if err != nil {
		tb.Fatal(err)
	}
	return files[gen.FileName]
}

// BenchmarkGenerate: load, validate (JSON Schema and semantic checks) and
// generate a spec of 1,000 exchanges and of schema.MaxExchanges (4,096),
// the most a spec may declare.
func BenchmarkGenerate(b *testing.B) {
	for _, n := range []int{1000, schema.MaxExchanges} {
		b.Run("exchanges="+strconv.Itoa(n), func(b *testing.B) {
			data := benchSpec(n)
			b.ReportAllocs()
			for b.Loop() {
				generate(b, data)
			}
		})
	}
}

// BenchmarkGoBuild: `go build` of the package generated for 1,000
// exchanges, in a module that uses this repository's runtime. Each op
// changes a constant in a second file so the compiler cannot use its cache
// for the package (the runtime package stays cached, as in a user's build).
func BenchmarkGoBuild(b *testing.B) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		b.Skip("go is not on PATH")
	}
	root, err := filepath.Abs("..")
	if err != nil {
		b.Fatal(err)
	}
	for _, n := range []int{1000} {
		b.Run("exchanges="+strconv.Itoa(n), func(b *testing.B) {
			dir := b.TempDir()
			src := generate(b, benchSpec(n))
			// Generated code needs the runtime module only, which needs
			// nothing: no go.sum and no -mod flag, so CI's -mod=readonly holds.
			must := func(err error) {
				if err != nil {
					b.Fatal(err)
				}
			}
			must(os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module benchbuild\n\ngo 1.26.0\n\nrequire github.com/proxygen-go/proxygen/runtime v0.0.0\n\nreplace github.com/proxygen-go/proxygen/runtime => "+filepath.Join(root, "runtime")+"\n"), 0o644))
			must(os.WriteFile(filepath.Join(dir, "proxies.go"), src, 0o644))
			build := func(i int) {
				must(os.WriteFile(filepath.Join(dir, "nonce.go"), fmt.Appendf(nil, "package proxies\n\nconst buildNonce = %d\n", i), 0o644))
				cmd := exec.Command(goBin, "build", "./...")
				cmd.Dir = dir
				cmd.Env = append(os.Environ(), "GOWORK=off")
				if out, err := cmd.CombinedOutput(); err != nil {
					b.Fatalf("go build: %v\n%s", err, out)
				}
			}
			build(-1) // warm the cache for the runtime package
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				build(i)
			}
		})
	}
}
