package main

import (
	"fmt"
	"os"
	"sort"
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
	if err := fs.Parse(args); err != nil {
		return exitUsage
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
		fmt.Fprintln(c.stdout, "proxying is disabled (enabled: false): every exchange connects direct")
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "EXCHANGE\tTRANSPORT\tPROXY\tSOURCE")
	for _, row := range explainRows(base, eff) {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", row.id, row.transport, row.proxy, row.source)
	}
	if err := tw.Flush(); err != nil {
		fmt.Fprintf(c.stderr, "proxygen: %v\n", err)
		return exitUsage
	}
	return exitOK
}

type explainRow struct {
	id, proxy, source string
	transport         runtime.Transport
}

// explainRows lists the effective route of every exchange and transport in
// eff; a route that differs from base's is marked as coming from env.
func explainRows(base, eff runtime.Settings) []explainRow {
	ids := make([]string, 0, len(eff.Exchanges))
	for id := range eff.Exchanges {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	ids = append(ids, otherID)
	var rows []explainRow
	for _, id := range ids {
		for _, t := range []runtime.Transport{runtime.TransportHTTP, runtime.TransportWebSocket} {
			r, source := resolve(eff, id, t)
			if b, _ := resolve(base, id, t); !sameRoute(b, r) || base.Enabled != eff.Enabled {
				source = "env"
			}
			proxy := "direct"
			if r != nil && r.Proxy != nil {
				proxy = r.Proxy.String()
			}
			rows = append(rows, explainRow{id: id, transport: t, proxy: proxy, source: source})
		}
	}
	return rows
}

// resolve applies DESIGN.md's order: not enabled -> direct; exchange
// override -> it; else default -> it; else direct.
func resolve(s runtime.Settings, id string, t runtime.Transport) (*runtime.Route, string) {
	if !s.Enabled {
		return nil, "direct"
	}
	if r := s.Exchanges[id].Get(t); r != nil {
		return r, "override"
	}
	if r := s.Default.Get(t); r != nil {
		return r, "default"
	}
	return nil, "direct"
}

func sameRoute(a, b *runtime.Route) bool {
	direct := func(r *runtime.Route) bool { return r == nil || r.Direct }
	if direct(a) || direct(b) {
		return direct(a) == direct(b)
	}
	p, q := a.Proxy, b.Proxy
	return p.Scheme == q.Scheme && p.Host == q.Host && p.Port == q.Port &&
		p.User == q.User && p.Password == q.Password && p.UserVar == q.UserVar &&
		p.PasswordVar == q.PasswordVar && p.SetupTimeout() == q.SetupTimeout() &&
		p.Optimistic == q.Optimistic
}
