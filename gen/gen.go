// Package gen turns a validated spec into Go source. It does no file I/O:
// Generate returns the file contents and the caller decides where they go.
package gen

import (
	"bytes"
	"errors"
	"fmt"
	"go/format"
	"go/scanner"
	"path"
	"strings"
	"time"

	"github.com/dave/jennifer/jen"

	"github.com/proxygen-go/proxygen/runtime"
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

// ref renders a route variable, nil for direct.
func ref(r routeRef) jen.Code {
	if r == "" {
		return jen.Nil()
	}
	return jen.Id(r)
}

func render(m *model) *jen.File {
	f := jen.NewFilePathName("", m.pkg)
	f.HeaderComment("Code generated by proxygen. DO NOT EDIT.")
	f.HeaderComment("Source: " + m.source)
	if m.flags != "" {
		f.HeaderComment(FlagsPrefix + m.flags)
	}
	f.ImportName(RuntimePath, "runtime")
	if m.inline {
		f.Comment("WARNING: this file holds literal proxy credentials (generated with")
		f.Comment("-allow-inline-credentials). Keep it out of shared repositories and logs.")
		f.Line()
	}
	f.Comment("This file needs a runtime package that supports version 1 of the")
	f.Comment("generated code; an older runtime fails the build here.")
	f.Const().Id("_").Op("=").Qual(RuntimePath, "SupportPackageIsVersion1")

	renderExchanges(f, m)
	renderRoutes(f, m)
	renderSettings(f, m)
	renderTable(f, m)
	renderAPI(f, m)
	return f
}

func renderExchanges(f *jen.File, m *model) {
	f.Comment("Exchange is an exchange of the spec. Its zero value is no exchange:")
	f.Comment("the constants start at 1, and Exchange(0) routes like an id the spec")
	f.Comment("does not list.")
	f.Type().Id("Exchange").Uint16()

	if len(m.ids) == 0 {
		f.Comment("String returns \"Exchange(n)\": the spec lists no exchange.")
		f.Func().Params(jen.Id("e").Id("Exchange")).Id("String").Params().String().Block(
			jen.Return(jen.Lit("Exchange(").Op("+").Qual("strconv", "Itoa").Call(jen.Int().Parens(jen.Id("e"))).Op("+").Lit(")")),
		)
		f.Comment("ParseExchange reports false: the spec lists no exchange.")
		f.Func().Id("ParseExchange").Params(jen.Id("id").String()).Params(jen.Id("Exchange"), jen.Bool()).Block(
			jen.Return(jen.Lit(0), jen.False()),
		)
		f.Comment("Exchanges returns nil: the spec lists no exchange.")
		f.Func().Id("Exchanges").Params().Index().Id("Exchange").Block(jen.Return(jen.Nil()))
		return
	}

	f.Comment("The exchanges of the spec, in id order.")
	f.Const().DefsFunc(func(g *jen.Group) {
		for i, n := range m.names {
			if i == 0 {
				g.Id(n).Id("Exchange").Op("=").Iota().Op("+").Lit(1).Comment(m.ids[i])
			} else {
				g.Id(n).Comment(m.ids[i])
			}
		}
	})
	f.Const().Id("numExchanges").Op("=").Lit(len(m.ids))

	f.Comment("exchangeIDs is indexed by Exchange; index 0 (no exchange) is empty.")
	f.Var().Id("exchangeIDs").Op("=").Index(jen.Id("numExchanges").Op("+").Lit(1)).String().ValuesFunc(func(g *jen.Group) {
		for i, id := range m.ids {
			g.Line().Id(m.names[i]).Op(":").Lit(id)
		}
		g.Line()
	})

	f.Comment("String returns the exchange's canonical (lower-case) id.")
	f.Func().Params(jen.Id("e").Id("Exchange")).Id("String").Params().String().Block(
		jen.If(jen.Id("e").Op(">").Lit(0).Op("&&").Int().Parens(jen.Id("e")).Op("<=").Id("numExchanges")).Block(
			jen.Return(jen.Id("exchangeIDs").Index(jen.Id("e"))),
		),
		jen.Return(jen.Lit("Exchange(").Op("+").Qual("strconv", "Itoa").Call(jen.Int().Parens(jen.Id("e"))).Op("+").Lit(")")),
	)

	f.Comment("ParseExchange returns the exchange with the given id, ignoring ASCII")
	f.Comment("case exactly as the runtime's by-id lookup does.")
	f.Func().Id("ParseExchange").Params(jen.Id("id").String()).Params(jen.Id("Exchange"), jen.Bool()).Block(
		jen.Switch(jen.Qual(RuntimePath, "NormalizeExchangeID").Call(jen.Id("id"))).BlockFunc(func(g *jen.Group) {
			for i, id := range m.ids {
				g.Case(jen.Lit(id)).Block(jen.Return(jen.Id(m.names[i]), jen.True()))
			}
		}),
		jen.Return(jen.Lit(0), jen.False()),
	)

	f.Comment("Exchanges returns every exchange of the spec, in id order.")
	f.Func().Id("Exchanges").Params().Index().Id("Exchange").Block(
		jen.Return(jen.Index().Id("Exchange").ValuesFunc(func(g *jen.Group) {
			for _, n := range m.names {
				g.Id(n)
			}
		})),
	)
}

// proxyFields lists a Proxy literal's fields in declaration order, leaving
// out zero values.
func proxyFields(p *runtime.Proxy) []jen.Code {
	fields := []jen.Code{
		field("Scheme", jen.Qual(RuntimePath, schemeConst(p.Scheme))),
		field("Host", jen.Lit(p.Host)),
		field("Port", jen.Lit(int(p.Port))),
	}
	if p.User != "" {
		fields = append(fields, field("User", jen.Lit(p.User)))
	}
	if !p.Password.IsZero() {
		fields = append(fields, field("Password", jen.Qual(RuntimePath, "NewSecret").Call(jen.Lit(p.Password.Reveal()))))
	}
	for _, f := range []struct{ name, v string }{{"UserVar", p.UserVar}, {"PasswordVar", p.PasswordVar}} {
		if f.v != "" {
			fields = append(fields, field(f.name, jen.Lit(f.v)))
		}
	}
	if p.Timeout != 0 {
		fields = append(fields, field("Timeout", durationLit(p.Timeout)))
	}
	if p.Optimistic {
		fields = append(fields, field("Optimistic", jen.True()))
	}
	return multiline(fields)
}

// field renders "name: value" for a keyed composite literal.
func field(name string, value jen.Code) jen.Code {
	return jen.Id(name).Op(":").Add(value)
}

// multiline puts each element on its own line.
func multiline(items []jen.Code) []jen.Code {
	out := make([]jen.Code, 0, len(items)+1)
	for _, it := range items {
		out = append(out, jen.Line().Add(it))
	}
	return append(out, jen.Line())
}

func schemeConst(s runtime.Scheme) string {
	// GoString is "runtime.NAME"; the generated file imports runtime as is.
	return s.GoString()[len("runtime."):]
}

func durationLit(d time.Duration) jen.Code {
	if d%time.Second == 0 {
		return jen.Lit(int(d/time.Second)).Op("*").Qual("time", "Second")
	}
	return jen.Qual("time", "Duration").Call(jen.Lit(int64(d)))
}

func renderSettings(f *jen.File, m *model) {
	s := m.settings
	routes := func(r runtime.Routes) []jen.Code {
		var fs []jen.Code
		if r.HTTP != nil {
			fs = append(fs, field("HTTP", jen.Id(m.vars[r.HTTP])))
		}
		if r.WebSocket != nil {
			fs = append(fs, field("WebSocket", jen.Id(m.vars[r.WebSocket])))
		}
		return fs
	}
	fields := []jen.Code{field("Enabled", jen.Lit(s.Enabled))}
	if s.EnvPrefix != "" {
		fields = append(fields, field("EnvPrefix", jen.Lit(s.EnvPrefix)))
	}
	if s.Lock {
		fields = append(fields, field("Lock", jen.True()))
	}
	if d := routes(s.Default); len(d) > 0 {
		fields = append(fields, field("Default", jen.Qual(RuntimePath, "Routes").Values(d...)))
	}
	if len(m.ids) > 0 {
		fields = append(fields, field("Exchanges", jen.Map(jen.String()).Qual(RuntimePath, "Routes").ValuesFunc(func(g *jen.Group) {
			for _, id := range m.ids {
				g.Line().Lit(id).Op(":").Values(routes(s.Exchanges[id])...)
			}
			g.Line()
		})))
	}
	f.Comment("Settings returns the compiled-in spec as runtime settings, before any")
	f.Comment("environment overlay. The *runtime.Route and *runtime.Proxy values are")
	f.Comment("shared: treat them as read-only.")
	f.Func().Id("Settings").Params().Qual(RuntimePath, "Settings").Block(
		jen.Return(jen.Qual(RuntimePath, "Settings").Values(multiline(fields)...)),
	)
}

func renderTable(f *jen.File, m *model) {
	// column is the effective routes of transport index ti by exchange, or
	// nil when the spec lists no exchange or every one is direct.
	var decls []jen.Code
	column := func(ti int, name string) jen.Code {
		direct := true
		for _, r := range m.effective[ti] {
			direct = direct && r == ""
		}
		if direct {
			return jen.Nil()
		}
		decls = append(decls, jen.Id(name).Op("=").Index(jen.Id("numExchanges").Op("+").Lit(1)).Op("*").Qual(RuntimePath, "Route").ValuesFunc(func(g *jen.Group) {
			for i, r := range m.effective[ti] {
				if r != "" {
					g.Line().Id(m.names[i]).Op(":").Id(r)
				}
			}
			g.Line()
		}))
		return jen.Id(name).Index(jen.Lit(1).Op(":"))
	}
	httpCol, wsCol := column(0, "httpRoutes"), column(1, "webSocketRoutes")
	if len(decls) > 0 {
		f.Comment("The effective routes by exchange (nil is direct): runtime.ResolveRoute")
		f.Comment("at generate time. Index 0 (no exchange) is unused: the table gets the")
		f.Comment("slices from 1.")
		f.Var().Defs(decls...)
	}
	ids := jen.Code(jen.Nil())
	if len(m.ids) > 0 {
		ids = jen.Id("exchangeIDs").Index(jen.Lit(1).Op(":"))
	}
	f.Comment("routes serves the compiled routes until Init replaces them. It is")
	f.Comment("registered with the runtime when the package is initialised, so the")
	f.Comment("runtime's by-id API knows the compiled routes before Init.")
	f.Var().Id("routes").Op("=").Qual(RuntimePath, "RegisterTable").Call(jen.Qual(RuntimePath, "NewTable").Call(
		jen.Line().Id("Settings"), ids,
		jen.Line().Add(httpCol), wsCol,
		jen.Line().Add(ref(m.def[0])), ref(m.def[1]),
		jen.Line(),
	))
}

func renderAPI(f *jen.File, m *model) {
	rt := func(name string) *jen.Statement { return jen.Qual(RuntimePath, name) }
	injector := func() *jen.Statement { return jen.Id("routes").Dot("Injector").Call() }
	// index is the table index of e: constants start at 1, and Exchange(0)
	// (-1, outside the table) routes like an id the spec does not list.
	index := func() *jen.Statement { return jen.Int().Parens(jen.Id("e")).Op("-").Lit(1) }
	ctxDial := jen.Func().Params(
		jen.Id("ctx").Qual("context", "Context"), jen.Id("network"), jen.Id("addr").String(),
	).Params(jen.Qual("net", "Conn"), jen.Error())

	f.Comment("Init installs the effective routes: the compiled-in spec")
	if m.lock {
		f.Comment("(this build is locked: the environment overlay is ignored), with")
	} else {
		f.Comment("overlaid with the environment (" + envPrefix(m) + "...), with")
	}
	f.Comment("${VAR} credentials resolved from the environment. It also installs the")
	f.Comment("routes into the runtime's global injector. Calling it again re-reads the")
	f.Comment("environment and replaces the routes; clients and dial functions handed")
	f.Comment("out before (package-level vars included) follow them at their next dial.")
	f.Comment("On error nothing changes.")
	f.Func().Id("Init").Params().Error().Block(jen.Return(jen.Id("InitWith").Call()))

	f.Comment("InitWith is Init with runtime options (a logger, TLS settings, a legacy")
	f.Comment("fallback proxy); they apply after the default environment lookup.")
	f.Func().Id("InitWith").Params(jen.Id("opts").Op("...").Add(rt("Option"))).Error().Block(
		jen.If(jen.Err().Op(":=").Id("routes").Dot("Init").Call(jen.Id("opts").Op("...")), jen.Err().Op("!=").Nil()).Block(
			jen.Return(jen.Qual("fmt", "Errorf").Call(jen.Lit(m.pkg+": %w"), jen.Err())),
		),
		jen.Return(jen.Nil()),
	)

	f.Comment("Shutdown stops what Init started: the health checks of the installed")
	f.Comment("routes (every probe has ended when it returns nil) and their idle")
	f.Comment("connections. It returns ctx's error if ctx ends first. Routes keep")
	f.Comment("working afterwards, without health checks; Init starts them again.")
	f.Func().Id("Shutdown").Params(jen.Id("ctx").Qual("context", "Context")).Error().Block(
		jen.Return(jen.Id("routes").Dot("Shutdown").Call(jen.Id("ctx"))),
	)

	f.Comment("HTTPRoute returns the exchange's effective REST route: its pool and")
	f.Comment("settings. It is never nil: a direct route has Direct set. Treat it as")
	f.Comment("read-only.")
	f.Func().Id("HTTPRoute").Params(jen.Id("e").Id("Exchange")).Op("*").Qual(RuntimePath, "Route").Block(
		jen.Return(jen.Id("routes").Dot("HTTPRoute").Call(index())),
	)
	f.Comment("WebSocketRoute returns the exchange's effective WebSocket route (see")
	f.Comment("HTTPRoute).")
	f.Func().Id("WebSocketRoute").Params(jen.Id("e").Id("Exchange")).Op("*").Qual(RuntimePath, "Route").Block(
		jen.Return(jen.Id("routes").Dot("WebSocketRoute").Call(index())),
	)

	f.Comment("HTTPProxy returns the first member of the exchange's REST route; nil")
	f.Comment("means direct.")
	f.Func().Id("HTTPProxy").Params(jen.Id("e").Id("Exchange")).Op("*").Qual(RuntimePath, "Proxy").Block(
		jen.Return(jen.Id("routes").Dot("HTTPProxy").Call(index())),
	)
	f.Comment("WebSocketProxy returns the first member of the exchange's WebSocket")
	f.Comment("route; nil means direct.")
	f.Func().Id("WebSocketProxy").Params(jen.Id("e").Id("Exchange")).Op("*").Qual(RuntimePath, "Proxy").Block(
		jen.Return(jen.Id("routes").Dot("WebSocketProxy").Call(index())),
	)

	f.Comment("HTTPClient returns the exchange's REST client, routed through its HTTP")
	f.Comment("route. It is created once and reused; it looks the route up at each")
	f.Comment("request, so one taken before Init follows Init (kill switch included).")
	f.Func().Id("HTTPClient").Params(jen.Id("e").Id("Exchange")).Op("*").Qual("net/http", "Client").Block(
		jen.Return(jen.Id("routes").Dot("HTTPClient").Call(index())),
	)
	f.Comment("WebSocketDialContext returns a dial function over the exchange's WebSocket")
	f.Comment("route, for gorilla's Dialer.NetDialContext or gobwas's Dialer.NetDial.")
	f.Comment("It looks the route up at each dial.")
	f.Func().Id("WebSocketDialContext").Params(jen.Id("e").Id("Exchange")).Add(ctxDial).Block(
		jen.Return(jen.Id("routes").Dot("WebSocketDialContext").Call(index())),
	)
	f.Comment("WebSocketHTTPClient returns an HTTP/1.1 client over the exchange's")
	f.Comment("WebSocket route, for coder/websocket's DialOptions.HTTPClient; ws:// and")
	f.Comment("wss:// both tunnel through the route.")
	f.Func().Id("WebSocketHTTPClient").Params(jen.Id("e").Id("Exchange")).Op("*").Qual("net/http", "Client").Block(
		jen.Return(jen.Id("routes").Dot("WebSocketHTTPClient").Call(index())),
	)
	f.Comment("Injector returns the injector in use: Init's, or before Init one built")
	f.Comment("from the compiled-in settings.")
	f.Func().Id("Injector").Params().Op("*").Qual(RuntimePath, "Injector").Block(
		jen.Return(injector()),
	)
}

func envPrefix(m *model) string {
	if m.settings.EnvPrefix != "" {
		return m.settings.EnvPrefix
	}
	return runtime.DefaultEnvPrefix
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
