package main

import (
	"fmt"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/proxygen-go/proxygen/runtime"
)

// otherID labels the routes of an exchange id the spec does not name.
const otherID = "(any other)"

func (c *cli) explain(args []string) int {
	fs := c.flags("explain")
	spec := fs.String("spec", "", "spec file (YAML)")
	env := fs.Bool("env", false, "apply the current environment overlay")
	inline := fs.Bool("allow-inline-credentials", false, "accept literal credentials in proxy URLs")
	if code, ok := c.parse(fs, args); !ok {
		return code
	}
	if *spec == "" || fs.NArg() > 0 {
		return c.usageErr("explain needs -spec and no other arguments")
	}
	sp, code := c.load(*spec, *inline)
	if code != exitOK {
		return code
	}
	base, err := sp.Settings(*inline)
	if err != nil {
		fmt.Fprintf(c.stderr, "%s: %v\n", *spec, err)
		return exitInvalid
	}
	eff := base
	prefix := base.EnvPrefix
	if prefix == "" {
		prefix = runtime.DefaultEnvPrefix
	}
	switch {
	case base.Lock:
		fmt.Fprintf(c.stdout, "%s: locked build: the environment overlay is ignored\n", *spec)
	case *env:
		if eff, err = runtime.ApplyEnv(base, os.Environ()); err != nil {
			fmt.Fprintf(c.stderr, "proxygen: environment overlay: %v\n", err)
			return exitInvalid
		}
		fmt.Fprintf(c.stdout, "%s: with the environment overlay (%s*) applied\n", *spec, prefix)
	default:
		fmt.Fprintf(c.stdout, "%s: as compiled; at run time %s* variables may change routes (see -env)\n", *spec, prefix)
	}
	if !eff.Enabled {
		fmt.Fprintln(c.stdout, "proxying is disabled: every exchange connects direct")
	}
	in, err := runtime.NewInjector(eff) // no lookup: ${VAR}s stay names, nothing dials
	if err != nil {
		fmt.Fprintf(c.stderr, "%s: %v\n", *spec, err)
		return exitInvalid
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "EXCHANGE\tTRANSPORT\tPROXY\tTIMEOUT\tSOURCE\tVARIABLES")
	for _, r := range in.Explain() {
		timeout := "-"
		if p := in.Proxy(r.Exchange, r.Transport); p != nil {
			timeout = p.SetupTimeout().String()
		}
		id := r.Exchange
		if id == runtime.DefaultRouteID {
			id = otherID
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", id, r.Transport, r.Proxy, timeout, r.SourceLabel(), strings.Join(r.Env, " "))
	}
	if err := tw.Flush(); err != nil {
		fmt.Fprintf(c.stderr, "proxygen: %v\n", err)
		return exitUsage
	}
	return exitOK
}
