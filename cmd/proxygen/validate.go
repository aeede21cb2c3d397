package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/proxygen-go/proxygen/gen"
	"github.com/proxygen-go/proxygen/schema"
)

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
