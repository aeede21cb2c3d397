package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"go/scanner"
	"go/token"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/proxygen-go/proxygen/gen"
	"github.com/proxygen-go/proxygen/internal/udiff"
	"github.com/proxygen-go/proxygen/schema"
)

// genFlags are the flags generate and check share.
type genFlags struct {
	spec, out, pkg string
	lock, inline   bool
	// defaultPkg is the package when neither -package nor the spec names
	// one: $GOPACKAGE, else the existing output file's package.
	defaultPkg string
}

// recorded are the non-default flags g holds, in a fixed order: what the
// generated header records.
func (g genFlags) recorded() []string {
	var out []string
	if g.pkg != "" {
		out = append(out, "-package", g.pkg)
	}
	if g.lock {
		out = append(out, "-lock")
	}
	if g.inline {
		out = append(out, "-allow-inline-credentials")
	}
	return out
}

// isPackageName reports whether s can name a generated package (the
// spec's and the -package flag's one rule).
func isPackageName(s string) bool { return schema.CheckPackageName(s) == nil }

// defaultOut is -out under go generate: the spec's name with its extension
// replaced by _proxygen.go, in the spec's folder.
func defaultOut(spec string) string {
	base := filepath.Base(spec)
	base = strings.TrimSuffix(base, filepath.Ext(base))
	return filepath.Join(filepath.Dir(spec), base+"_proxygen.go")
}

// header reads the leading comment lines of a Go file (up to its package
// clause); nil if the file cannot be read.
func header(path string) []string {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	var lines []string
	for _, l := range strings.Split(string(b), "\n") {
		l = strings.TrimSpace(l)
		if strings.HasPrefix(l, "package ") {
			lines = append(lines, l)
			break
		}
		lines = append(lines, l)
	}
	return lines
}

// existingPackage is the package clause of the file at path, or "".
func existingPackage(path string) string {
	for _, l := range header(path) {
		if name, ok := strings.CutPrefix(l, "package "); ok {
			if name = strings.TrimSpace(name); isPackageName(name) {
				return name
			}
		}
	}
	return ""
}

// reuseFlags applies the flags recorded in the existing file's header to
// every flag the check command line does not set itself.
func (c *cli) reuseFlags(set *flag.FlagSet, g *genFlags) int {
	var recorded []string
	for _, l := range header(g.out) {
		if f, ok := strings.CutPrefix(l, "// "+gen.FlagsPrefix); ok {
			recorded = strings.Fields(f)
		}
	}
	if len(recorded) == 0 {
		return exitOK
	}
	var r genFlags
	rs := flag.NewFlagSet("recorded", flag.ContinueOnError)
	rs.SetOutput(io.Discard)
	rs.StringVar(&r.pkg, "package", "", "")
	rs.BoolVar(&r.lock, "lock", false, "")
	rs.BoolVar(&r.inline, "allow-inline-credentials", false, "")
	if err := rs.Parse(recorded); err != nil || rs.NArg() > 0 || (r.pkg != "" && !isPackageName(r.pkg)) {
		fmt.Fprintf(c.stderr, "proxygen: %s: unreadable %q header line; run proxygen generate\n", g.out, gen.FlagsPrefix)
		return exitInvalid
	}
	given := map[string]bool{}
	set.Visit(func(f *flag.Flag) { given[f.Name] = true })
	if !given["package"] {
		g.pkg = r.pkg
	}
	if !given["lock"] {
		g.lock = r.lock
	}
	if !given["allow-inline-credentials"] {
		g.inline = r.inline
	}
	return exitOK
}

func (g *genFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&g.spec, "spec", "", "spec file (YAML)")
	fs.StringVar(&g.out, "out", "", "generated Go file (under go generate: default SPEC_proxygen.go next to the spec)")
	fs.StringVar(&g.pkg, "package", "", "Go package name (overrides the spec's package; default $GOPACKAGE)")
	fs.BoolVar(&g.lock, "lock", false, "ignore the environment overlay at run time")
	fs.BoolVar(&g.inline, "allow-inline-credentials", false, "accept literal credentials in proxy URLs")
}

func (c *cli) generate(args []string, check bool) int {
	name := "generate"
	if check {
		name = "check"
	}
	var g genFlags
	set := c.flags(name)
	g.register(set)
	if code, ok := c.parse(set, args); !ok {
		return code
	}
	goGenerate := c.getenv("GOPACKAGE") != ""
	if g.out == "" && g.spec != "" && goGenerate {
		g.out = defaultOut(g.spec)
	}
	switch {
	case set.NArg() > 0:
		return c.usageErr(fmt.Sprintf("%s: unexpected argument %q", name, set.Arg(0)))
	case g.spec == "" || g.out == "":
		return c.usageErr(name + " needs -spec and -out (-out is optional under go generate)")
	}
	if g.pkg != "" {
		if err := schema.CheckPackageName(g.pkg); err != nil {
			return c.usageErr(fmt.Sprintf("-package %q %v", g.pkg, err))
		}
	}
	if check {
		if code := c.reuseFlags(set, &g); code != exitOK {
			return code
		}
	}
	g.defaultPkg = c.getenv("GOPACKAGE")
	if !isPackageName(g.defaultPkg) {
		g.defaultPkg = existingPackage(g.out)
	}
	src, code := c.render(g)
	if code != exitOK {
		return code
	}
	old, err := os.ReadFile(g.out)
	missing := errors.Is(err, fs.ErrNotExist)
	if err != nil && !missing {
		fmt.Fprintf(c.stderr, "proxygen: %v\n", err)
		return exitUsage
	}
	if check {
		if missing {
			fmt.Fprintf(c.stderr, "proxygen: %s does not exist; run proxygen generate\n", g.out)
			return exitInvalid
		}
		if bytes.Equal(old, src) {
			return exitOK
		}
		// The diff goes to CI logs: literal credentials never do, with
		// or without -allow-inline-credentials (the file on disk may
		// predate a move to ${VAR} references).
		old, src = redactCredentials(old), redactCredentials(src)
		if d := udiff.Diff(g.out, old, g.out+" (from "+g.spec+")", src); d != "" {
			fmt.Fprint(c.stdout, d)
		} else {
			fmt.Fprintln(c.stderr, "proxygen: the differences are in credential lines, not shown")
		}
		fmt.Fprintf(c.stderr, "proxygen: %s is stale; run proxygen generate\n", g.out)
		return exitInvalid
	}
	if !missing && bytes.Equal(old, src) {
		return exitOK
	}
	if err := writeAtomic(g.out, src); err != nil {
		fmt.Fprintf(c.stderr, "proxygen: %v\n", err)
		return exitUsage
	}
	return exitOK
}

// render loads, validates and generates, printing errors.
func (c *cli) render(g genFlags) ([]byte, int) {
	spec, code := c.load(g.spec, g.inline)
	if code != exitOK {
		return nil, code
	}
	files, err := gen.Generate(spec, gen.Options{
		Package:                g.pkg,
		DefaultPackage:         g.defaultPkg,
		Flags:                  g.recorded(),
		Lock:                   g.lock,
		AllowInlineCredentials: g.inline,
		Source:                 filepath.ToSlash(g.spec),
	})
	if err != nil {
		fmt.Fprintf(c.stderr, "%s: %v\n", g.spec, err)
		return nil, exitInvalid
	}
	return files[gen.FileName], exitOK
}

// redactCredentials replaces every string or character literal in the
// value of a User: or Password: key (a generated Proxy literal's fields)
// with "***", whatever its form: interpreted "..." or raw `...` (even
// across lines), concatenated, or in parentheses. It reads the file as Go
// tokens, so spacing, comments and hand edits do not hide a literal; a file
// that is not valid Go is still scanned token by token.
func redactCredentials(src []byte) []byte {
	fset := token.NewFileSet()
	file := fset.AddFile("", fset.Base(), len(src))
	var s scanner.Scanner
	s.Init(file, src, func(token.Position, string) {}, 0)
	var out bytes.Buffer
	last := 0
	key := false     // the previous token is User or Password
	inValue := false // between the key's colon and the end of its value
	depth := 0
	for {
		pos, tok, lit := s.Scan()
		if tok == token.EOF {
			break
		}
		wasKey := key
		key = tok == token.IDENT && (lit == "User" || lit == "Password")
		switch {
		case wasKey && tok == token.COLON:
			inValue, depth = true, 0
		case !inValue:
		case tok == token.STRING || tok == token.CHAR:
			off := file.Offset(pos)
			out.Write(src[last:off])
			out.WriteString(`"***"`)
			last = literalEnd(src, off)
		case tok == token.LPAREN || tok == token.LBRACK || tok == token.LBRACE:
			depth++
		case tok == token.RPAREN || tok == token.RBRACK || tok == token.RBRACE:
			depth--
			inValue = depth >= 0
		case depth == 0 && (tok == token.COMMA || tok == token.SEMICOLON):
			inValue = false
		}
	}
	out.Write(src[last:])
	return out.Bytes()
}

// literalEnd returns the offset just past the string or character literal
// starting at src[off]; an unterminated literal ends at its line's end (a
// raw string: at the end of src).
func literalEnd(src []byte, off int) int {
	q := src[off]
	for i := off + 1; i < len(src); i++ {
		switch c := src[i]; {
		case c == q:
			return i + 1
		case q == '`':
		case c == '\\':
			i++
		case c == '\n':
			return i
		}
	}
	return len(src)
}
