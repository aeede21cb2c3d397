package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

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
