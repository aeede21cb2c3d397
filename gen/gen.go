// Package gen turns a validated spec into Go source: it builds a model of the
// spec's routes (model.go, route.go; the effective routes come from
// runtime.ResolveRoute, the one resolution rule) and renders it with jennifer
// (render.go). It must do no I/O (no files, no environment, no network):
// Generate returns the file contents and the caller decides where they go.
// It must not restate a rule that schema or the runtime owns, and must never
// put a credential into an error message.
package gen

import (
	"bytes"
	"errors"
	"fmt"
	"go/format"
	"go/scanner"

	"github.com/proxygen-go/proxygen/schema"
)

// RuntimePath is the import path of the runtime package generated code uses.
const RuntimePath = "github.com/proxygen-go/proxygen/runtime"

// FlagsPrefix starts the header line that records the non-default flags a
// file was generated with.
const FlagsPrefix = "proxygen flags: "

// FileName is the key of the generated file in Generate's result.
const FileName = "proxygen.go"

// Options control generation.
type Options struct {
	// Package overrides the spec's package name. Either must pass
	// schema.CheckPackageName (not a keyword, _ or main).
	Package string
	// DefaultPackage is the package when neither Package nor the spec names
	// one (the CLI passes $GOPACKAGE); empty means "proxies".
	DefaultPackage string
	// Flags are the non-default command-line flags generation ran with;
	// the header records them ("// proxygen flags: -lock") so that check
	// can reuse them. They must hold no secret.
	Flags []string
	// Lock compiles the overlay out, like lock: true in the spec.
	Lock bool
	// AllowInlineCredentials accepts literal credentials; the generated file
	// then carries a warning.
	AllowInlineCredentials bool
	// Source names the spec in the header; only its base name is used.
	Source string
}

// Generate renders the Go file for spec. The output is deterministic: the
// same spec and options give the same bytes.
func Generate(spec *schema.Spec, opts Options) (map[string][]byte, error) {
	m, err := build(spec, opts)
	if err != nil {
		return nil, err
	}
	f := render(m)
	// jennifer's own formatting would put the whole source, credentials
	// included, into its error; format here and keep only a position.
	f.NoFormat = true
	var buf bytes.Buffer
	if err := f.Render(&buf); err != nil {
		return nil, fmt.Errorf("render: %w", err)
	}
	src, err := format.Source(groupImports(buf.Bytes()))
	if err != nil {
		return nil, formatError(err)
	}
	return map[string][]byte{FileName: src}, nil
}

// formatError reports where generated code fails to parse without the
// parser's message, which may quote the code (a literal password).
func formatError(err error) error {
	var list scanner.ErrorList
	if errors.As(err, &list) && len(list) > 0 {
		return fmt.Errorf("generated code does not parse at line %d (a proxygen bug; the message is withheld as it may quote credentials)", list[0].Pos.Line)
	}
	return errors.New("generated code does not parse (a proxygen bug; the message is withheld as it may quote credentials)")
}

// groupImports splits jennifer's single import block into the standard
// library and the rest, as goimports would.
func groupImports(src []byte) []byte {
	start := bytes.Index(src, []byte("\nimport (\n"))
	if start < 0 {
		return src
	}
	body := start + len("\nimport (\n")
	end := bytes.Index(src[body:], []byte("\n)\n"))
	if end < 0 {
		return src
	}
	var std, other [][]byte
	for _, line := range bytes.Split(src[body:body+end], []byte("\n")) {
		path := bytes.Trim(bytes.TrimSpace(line), `"`)
		if i := bytes.LastIndexByte(path, ' '); i >= 0 { // named import
			path = bytes.Trim(path[i+1:], `"`)
		}
		if first, _, _ := bytes.Cut(path, []byte("/")); bytes.Contains(first, []byte(".")) {
			other = append(other, line)
		} else {
			std = append(std, line)
		}
	}
	var out bytes.Buffer
	out.Write(src[:body])
	out.Write(bytes.Join(std, []byte("\n")))
	if len(std) > 0 && len(other) > 0 {
		out.WriteString("\n")
	}
	if len(other) > 0 {
		out.WriteString("\n")
		out.Write(bytes.Join(other, []byte("\n")))
	}
	out.Write(src[body+end:])
	return out.Bytes()
}
