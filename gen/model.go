package gen

import (
	"fmt"
	"path"
	"strings"

	"github.com/proxygen-go/proxygen/runtime"
	"github.com/proxygen-go/proxygen/schema"
)

// The generated Exchange type is a uint16: every id index
// 0..MaxExchanges-1 must fit, or this constant overflows and gen does not
// build.
const _ = uint16(schema.MaxExchanges - 1)

// model is the intermediate form between the spec and the rendered code.
type model struct {
	pkg      string
	source   string
	flags    string
	lock     bool
	inline   bool
	settings runtime.Settings
	ids      []string
	names    []string
	// routes are the route variables in declaration order; vars maps a
	// spec route to its variable.
	routes []namedRoute
	vars   map[*runtime.Route]string
	// effective[t][i] is the effective route of exchange i ("" direct);
	// def[t] the default's.
	effective [2][]routeRef
	def       [2]routeRef
}

// build checks spec and opts and computes the model: the package name, the
// compiled settings (validated with the runtime's rules), the Go names and
// every route, spec and effective (runtime.ResolveRoute). It renders nothing.
func build(spec *schema.Spec, opts Options) (*model, error) {
	pkg := spec.Package
	if opts.Package != "" {
		pkg = opts.Package
	}
	if pkg == "" {
		pkg = opts.DefaultPackage
	}
	if pkg == "" {
		pkg = "proxies"
	}
	if err := schema.CheckPackageName(pkg); err != nil {
		return nil, fmt.Errorf("package name %q %w", pkg, err)
	}
	if len(spec.Exchanges) > schema.MaxExchanges {
		return nil, fmt.Errorf("%d exchanges; at most %d are supported", len(spec.Exchanges), schema.MaxExchanges)
	}
	s, err := spec.Settings(opts.AllowInlineCredentials)
	if err != nil {
		return nil, err
	}
	if opts.Lock {
		s.Lock = true
	}
	// The runtime checks the compiled settings again when the generated
	// package first routes; rules the spec loader does not know yet (id
	// grammar, env prefix, credential shapes) must fail here, not there.
	if err := runtime.Validate(s); err != nil {
		return nil, fmt.Errorf("spec breaks the runtime's rules: %w", err)
	}
	m := &model{
		pkg:      pkg,
		source:   path.Base(opts.Source),
		flags:    strings.Join(opts.Flags, " "),
		lock:     s.Lock,
		settings: s,
		ids:      spec.ExchangeIDs(),
		vars:     map[*runtime.Route]string{},
	}
	if m.names, err = goNames(m.ids); err != nil {
		return nil, err
	}
	m.addSpecRoute("routeDefaultHTTP", s.Default.HTTP)
	m.addSpecRoute("routeDefaultWebSocket", s.Default.WebSocket)
	for i, id := range m.ids {
		r := s.Exchanges[id]
		m.addSpecRoute("route"+m.names[i]+"HTTP", r.HTTP)
		m.addSpecRoute("route"+m.names[i]+"WebSocket", r.WebSocket)
	}
	// The effective routes: runtime.ResolveRoute, the one rule.
	for ti, t := range []runtime.Transport{runtime.TransportHTTP, runtime.TransportWebSocket} {
		if m.def[ti], err = m.effectiveRef("", "Default", t); err != nil {
			return nil, err
		}
		m.effective[ti] = make([]routeRef, len(m.ids))
		for i, id := range m.ids {
			if m.effective[ti][i], err = m.effectiveRef(id, m.names[i], t); err != nil {
				return nil, err
			}
		}
	}
	return m, nil
}
