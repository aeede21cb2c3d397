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
  generate -spec F [-out F] [-package P] [-lock] [-allow-inline-credentials]
                         validate the spec and write the Go file (only if it changed)
  validate [-allow-inline-credentials] [-format text|github] F...
                         report every error of every spec ("-" reads stdin)
  check -spec F [-out F] [...]
                         regenerate in memory and diff with the file on disk
  explain -spec F [-env] print each exchange's effective routes
  schema [-o F]          print the spec's JSON Schema (or write it to F)
  version                print proxygen's version

Under go generate ($GOPACKAGE set), -out defaults to the spec's name with
"_proxygen.go" for its extension, next to the spec (proxies.yaml ->
proxies_proxygen.go). The package is -package, else the spec's package:,
else $GOPACKAGE, else the package of the existing -out file, else proxies.
The header of the generated file records the non-default flags (-package,
-lock, -allow-inline-credentials); check reuses them unless given again.
"proxygen <command> -h" describes a command's flags.

exit codes: 0 ok, 1 invalid spec or stale file, 2 usage or I/O error
`

// run is the whole CLI; main only maps its result to the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	return runIO(args, os.Stdin, stdout, stderr, os.Getenv)
}

// runIO is run with its standard input and environment given.
func runIO(args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	c := &cli{stdin: stdin, stdout: stdout, stderr: stderr, getenv: getenv}
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
		return c.schema(rest)
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
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
}

func (c *cli) usageErr(msg string) int {
	fmt.Fprintf(c.stderr, "proxygen: %s\n\n%s", msg, usage)
	return exitUsage
}

func (c *cli) flags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet("proxygen "+name, flag.ContinueOnError)
	fs.SetOutput(c.stderr)
	fs.Usage = func() {} // parse prints the help itself
	return fs
}

// parse parses a command's flags. -h and -help print the command's flags to
// stdout and exit 0; a bad flag prints them to stderr and exits 2.
func (c *cli) parse(fs *flag.FlagSet, args []string) (code int, ok bool) {
	err := fs.Parse(args)
	if err == nil {
		return exitOK, true
	}
	w, code := c.stderr, exitUsage
	if errors.Is(err, flag.ErrHelp) {
		w, code = c.stdout, exitOK
	}
	fmt.Fprintf(w, "usage of %s:\n", fs.Name())
	fs.SetOutput(w)
	fs.PrintDefaults()
	fs.SetOutput(c.stderr)
	if code == exitOK {
		fmt.Fprintf(w, "\n%s", usage)
	}
	return code, false
}

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
	format := fs.String("format", "text", `error format: "text" (FILE:LINE:COL: msg) or "github" (GitHub Actions annotations)`)
	if code, ok := c.parse(fs, args); !ok {
		return code
	}
	if fs.NArg() == 0 {
		return c.usageErr(`validate needs at least one spec file ("-" reads stdin)`)
	}
	if *format != "text" && *format != "github" {
		return c.usageErr(fmt.Sprintf("validate: unknown -format %q (text or github)", *format))
	}
	worst := exitOK
	for _, path := range fs.Args() {
		if code := c.validateOne(path, *inline, *format == "github"); code != exitOK {
			worst = max(worst, code)
		}
	}
	return worst
}

// stdinName names the spec read from standard input in messages.
const stdinName = "<stdin>"

// validateOne loads one spec ("-": standard input) and generates it in
// memory, printing its errors as text or as GitHub annotations.
func (c *cli) validateOne(path string, inline, github bool) int {
	name, data := path, []byte(nil)
	var err error
	if path == "-" {
		name = stdinName
		data, err = io.ReadAll(c.stdin)
	} else {
		data, err = os.ReadFile(path)
	}
	if err != nil {
		fmt.Fprintf(c.stderr, "proxygen: read spec: %v\n", err)
		return exitUsage
	}
	print := func(e *schema.Error) { fmt.Fprintln(c.stderr, e) }
	if github {
		print = func(e *schema.Error) { fmt.Fprintln(c.stdout, githubAnnotation(e)) }
	}
	spec, err := schema.Load(name, data, schema.Options{AllowInlineCredentials: inline})
	var verrs schema.Errors
	switch {
	case errors.As(err, &verrs):
		for _, e := range verrs {
			print(e)
		}
		return exitInvalid
	case err != nil:
		fmt.Fprintf(c.stderr, "proxygen: %v\n", err)
		return exitUsage
	}
	if _, err := gen.Generate(spec, gen.Options{AllowInlineCredentials: inline, Source: name}); err != nil {
		if github {
			print(&schema.Error{File: name, Line: 1, Col: 1, Msg: err.Error()})
		} else {
			fmt.Fprintf(c.stderr, "%s: %v\n", name, err)
		}
		return exitInvalid
	}
	return exitOK
}

// githubAnnotation renders e as a GitHub Actions workflow command, so CI
// shows it on the spec's line:
// ::error file=F,line=L,col=C::path: message
func githubAnnotation(e *schema.Error) string {
	msg := e.Msg
	if e.Path != "" {
		msg = e.Path + ": " + msg
	}
	return fmt.Sprintf("::error file=%s,line=%d,col=%d::%s", escapeProperty(e.File), e.Line, e.Col, escapeData(msg))
}

// escapeData and escapeProperty escape a workflow command's message and
// property values as GitHub's toolkit does.
func escapeData(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s)
}

func escapeProperty(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C").Replace(s)
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
