package main

import (
	"fmt"
	"os"
	"slices"
	"sort"
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
	// Validate as the runtime would; ExplainRoutes itself never dials and
	// never resolves ${VAR}s.
	if err := runtime.Validate(eff); err != nil {
		fmt.Fprintf(c.stderr, "%s: %v\n", *spec, err)
		return exitInvalid
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "EXCHANGE\tTRANSPORT\tPROXY\tTIMEOUT\tSOURCE\tVARIABLES\tCREDENTIALS")
	var pools []runtime.RouteExplain
	for _, e := range runtime.ExplainRoutes(eff) {
		proxy, timeout := "direct", "-"
		if len(e.Members) > 0 {
			proxy = e.Members[0]
			if len(e.Members) > 1 {
				proxy = fmt.Sprintf("%s +%d", e.Members[0], len(e.Members)-1)
			}
			timeout = e.Settings[0].Value // timeout_seconds comes first
			if isPool(e) {
				pools = append(pools, e)
			}
		}
		vars := envVars(eff, e)
		source := e.Origin.Source.String()
		if len(vars) > 0 {
			source = "env"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", label(e.Exchange), e.Transport, proxy, timeout, source,
			strings.Join(vars, " "), credentials(e.Vars, *env))
	}
	if len(pools) > 0 {
		fmt.Fprintln(tw)
		fmt.Fprintln(tw, "EXCHANGE\tTRANSPORT\tSETTING\tVALUE\tSOURCE")
		for _, e := range pools {
			id, t := label(e.Exchange), e.Transport
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", id, t, "members", strings.Join(e.Members, ", "), e.Origin.Source)
			for _, st := range e.Settings {
				src := st.Source.String()
				if st.Source.Env != "" {
					src += " " + st.Source.Env
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", id, t, st.Field, st.Value, src)
			}
		}
	}
	if err := tw.Flush(); err != nil {
		fmt.Fprintf(c.stderr, "proxygen: %v\n", err)
		return exitUsage
	}
	return exitOK
}

// envVars names the environment variables that shaped route e (its
// destination and its settings; ENABLED for a disabled route), sorted.
func envVars(s runtime.Settings, e runtime.RouteExplain) []string {
	var out []string
	if e.Origin.Source == runtime.SourceDisabled {
		out = append(out, s.FromEnv["enabled"]...)
	}
	out = append(out, e.Origin.Env...)
	for _, st := range e.Settings {
		if st.Source.Env != "" {
			out = append(out, st.Source.Env)
		}
	}
	sort.Strings(out)
	return slices.Compact(out)
}

// label names a route's exchange, otherID for the default route.
func label(id string) string {
	if id == runtime.DefaultRouteID {
		return otherID
	}
	return id
}

// isPool reports whether a proxied route has more than one member or a pool
// setting that is not the built-in default: explain details its settings.
func isPool(e runtime.RouteExplain) bool {
	if len(e.Members) > 1 {
		return true
	}
	for _, st := range e.Settings {
		if st.Field != runtime.SetTimeout && st.Field != runtime.SetOptimistic && st.Source.Origin != runtime.OriginBuiltin {
			return true
		}
	}
	return false
}

// credentials lists the ${VAR} names a route's credentials need; with
// lookup, whether each is set in the environment (never its value).
func credentials(vars []string, lookup bool) string {
	if !lookup {
		return strings.Join(vars, " ")
	}
	out := make([]string, len(vars))
	for i, v := range vars {
		state := "unset"
		if _, ok := os.LookupEnv(v); ok {
			state = "set"
		}
		out[i] = v + "(" + state + ")"
	}
	return strings.Join(out, " ")
}
