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
	"runtime/debug"
	"strings"

	"github.com/proxygen-go/proxygen/gen"
	"github.com/proxygen-go/proxygen/internal/udiff"
	"github.com/proxygen-go/proxygen/schema"
)

// Exit codes.
const (
	exitOK      = 0
	exitInvalid = 1 // invalid spec, or check found a stale file
	exitUsage   = 2 // bad usage or I/O error
)

const usage = `usage: proxygen <command> [flags]

commands:
  generate -spec F -out F [-package P] [-lock] [-allow-inline-credentials]
                         validate the spec and write the Go file (only if it changed)
  validate [-allow-inline-credentials] F...
                         report every error of every spec
  check -spec F -out F [...]
                         regenerate in memory and diff with the file on disk
  explain -spec F [-env] print each exchange's effective routes
  schema                 print the spec's JSON Schema
  version                print proxygen's version

exit codes: 0 ok, 1 invalid spec or stale file, 2 usage or I/O error
`

// run is the whole CLI; main only maps its result to the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	c := &cli{stdout: stdout, stderr: stderr}
	switch cmd, rest := args[0], args[1:]; cmd {
	case "generate":
		return c.generate(rest, false)
	case "check":
		return c.generate(rest, true)
	case "validate":
		return c.validate(rest)
	case "explain":
		return c.explain(rest)
	case "schema":
		if len(rest) > 0 {
			return c.usageErr("schema takes no arguments")
		}
		_, _ = stdout.Write(schema.JSON())
		return exitOK
	case "version":
		fmt.Fprintln(stdout, "proxygen", version())
		return exitOK
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return exitOK
	default:
		return c.usageErr(fmt.Sprintf("unknown command %q", cmd))
	}
}

type cli struct {
	stdout, stderr io.Writer
}

func (c *cli) usageErr(msg string) int {
	fmt.Fprintf(c.stderr, "proxygen: %s\n\n%s", msg, usage)
	return exitUsage
}

func (c *cli) flags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet("proxygen "+name, flag.ContinueOnError)
	fs.SetOutput(c.stderr)
	return fs
}

// genFlags are the flags generate and check share.
type genFlags struct {
	spec, out, pkg string
	lock, inline   bool
}

func (g *genFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&g.spec, "spec", "", "spec file (YAML)")
	fs.StringVar(&g.out, "out", "", "generated Go file")
	fs.StringVar(&g.pkg, "package", "", "Go package name (overrides the spec's package)")
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
	if err := set.Parse(args); err != nil {
		return exitUsage
	}
	switch {
	case set.NArg() > 0:
		return c.usageErr(fmt.Sprintf("%s: unexpected argument %q", name, set.Arg(0)))
	case g.spec == "" || g.out == "":
		return c.usageErr(name + " needs -spec and -out")
	}
	if g.pkg != "" {
		if err := schema.CheckPackageName(g.pkg); err != nil {
			return c.usageErr(fmt.Sprintf("-package %q %v", g.pkg, err))
		}
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

// load reads and validates one spec, printing its errors.
func (c *cli) load(path string, inline bool) (*schema.Spec, int) {
	spec, err := schema.LoadFile(path, schema.Options{AllowInlineCredentials: inline})
	var verrs schema.Errors
	switch {
	case err == nil:
		return spec, exitOK
	case errors.As(err, &verrs):
		for _, e := range verrs {
			fmt.Fprintln(c.stderr, e)
		}
		return nil, exitInvalid
	default:
		fmt.Fprintf(c.stderr, "proxygen: %v\n", err)
		return nil, exitUsage
	}
}

func (c *cli) validate(args []string) int {
	fs := c.flags("validate")
	inline := fs.Bool("allow-inline-credentials", false, "accept literal credentials in proxy URLs")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	if fs.NArg() == 0 {
		return c.usageErr("validate needs at least one spec file")
	}
	worst := exitOK
	for _, path := range fs.Args() {
		code := exitOK
		if _, code = c.render(genFlags{spec: path, inline: *inline}); code != exitOK {
			worst = max(worst, code)
		}
	}
	return worst
}

// writeAtomic writes data to path through a temporary file in the same
// folder and a rename, so readers never see a half-written file.
func writeAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, unwrapPath(err))
	}
	tmp := f.Name()
	defer os.Remove(tmp) // no-op after a successful rename
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, unwrapPath(err))
	}
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, unwrapPath(err))
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, unwrapPath(err))
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write %s: %w", path, unwrapPath(err))
	}
	return nil
}

// unwrapPath drops the temporary file's name from a *fs.PathError, so the
// message names the user's path only.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	var le *os.LinkError
	if errors.As(err, &le) {
		return le.Err
	}
	return err
}

func version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "(unknown)"
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" {
			return "(devel) " + strings.TrimSpace(s.Value)
		}
	}
	return "(devel)"
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
