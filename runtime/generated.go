package runtime

// This file holds the names that exist for proxygen's generated code only:
// the compile-time version guard, the Table of compiled routes a generated
// package builds at initialisation (NewTable, RegisterTable) and the
// Table's methods its accessors call by typed index. They are not for
// programs: a program uses its generated package's functions, or the
// Injector and the by-id functions (HTTPClient, DialContext, ...) of this
// package. They change only together with SupportPackageIsVersionN: a
// generated file refers to the constant of the version it was generated
// for, so a runtime without it fails the build instead of misbehaving.
// api.txt lists them in their own section.

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
)

// SupportPackageIsVersion1 is referenced by generated code. A generated file
// that needs a newer runtime names a constant this package does not define,
// so the build fails instead of misbehaving at run time.
const SupportPackageIsVersion1 = true

// Table is a generated package's routing state: the effective routes of its
// exchanges, indexed from 0 in the order of the package's Exchange constants
// (which start at 1: the generated accessors pass e-1, so Exchange(0) falls
// outside the table and gets the default route). It starts with the
// routes compiled into the package; Init replaces them with the spec as
// overlaid by the environment. Safe for concurrent use.
//
// Clients and dial functions a Table hands out are late-bound: they look the
// route up by index when they dial (each request, for a client), so one
// taken before Init follows what Init installs, the kill switch included.
type Table struct {
	settings func() Settings
	ids      []string
	compiled tableRoutes
	current  atomic.Pointer[tableRoutes] // nil before Init

	compiledOnce  sync.Once
	compiledBuilt atomic.Bool // compiled.in and byIndex are set

	// late clients by index (len(ids) is the default route), REST and
	// WebSocket.
	clients []lateSlot
}

type lateSlot [2]atomic.Pointer[http.Client]

type tableRoutes struct {
	http, webSocket []*Route // effective routes by exchange index
	defHTTP, defWS  *Route   // for an index outside the table
	in              *Injector
	byIndex         []*route // the injector's route of each index
	// firstHTTP and firstWS are each route's first member (nil: direct),
	// so HTTPProxy(e) is one index, as before routes were pools.
	firstHTTP, firstWS []*Proxy
}

// indexFirst fills the first-member slices from the routes.
func (r *tableRoutes) indexFirst() {
	r.firstHTTP = make([]*Proxy, len(r.http))
	r.firstWS = make([]*Proxy, len(r.webSocket))
	for i := range r.http {
		r.firstHTTP[i] = firstMember(r.http[i])
	}
	for i := range r.webSocket {
		r.firstWS[i] = firstMember(r.webSocket[i])
	}
}

// NewTable returns the table of a generated package: settings returns its
// compiled-in spec, ids are its exchange ids in constant order, http and
// webSocket the effective routes by index as the generator resolved them
// with ResolveRoute (nil or Direct is direct; a nil slice: every one is
// direct), and defHTTP, defWS the
// routes of an exchange the spec does not name. A compiled route sets the
// settings that differ from the built-in defaults; the table completes it
// with them (each distinct route once).
func NewTable(settings func() Settings, ids []string, http, webSocket []*Route, defHTTP, defWS *Route) *Table {
	if http != nil && len(http) != len(ids) || webSocket != nil && len(webSocket) != len(ids) {
		panic(fmt.Sprintf("runtime: NewTable: %d ids, %d http and %d websocket routes", len(ids), len(http), len(webSocket)))
	}
	done := map[*Route]*Route{}
	complete := func(r *Route) *Route {
		if c, ok := done[r]; ok {
			return c
		}
		c := completeRoute(r)
		done[r] = c
		return c
	}
	t := &Table{
		settings: settings,
		ids:      ids,
		clients:  make([]lateSlot, len(ids)+1),
	}
	t.compiled = tableRoutes{
		http:      make([]*Route, len(ids)),
		webSocket: make([]*Route, len(ids)),
		defHTTP:   complete(defHTTP),
		defWS:     complete(defWS),
	}
	for i := range ids {
		var h, w *Route
		if http != nil {
			h = http[i]
		}
		if webSocket != nil {
			w = webSocket[i]
		}
		t.compiled.http[i] = complete(h)
		t.compiled.webSocket[i] = complete(w)
	}
	t.compiled.indexFirst()
	return t
}

// registered is the first table given to RegisterTable: the by-id API
// (HTTPClient, DialContext, ...) serves its routes while no injector is
// installed, so a program never connects direct before Init (or after a
// failed one) for a route its spec sends through a proxy.
var registered atomic.Pointer[Table]

// RegisterTable makes t's routes the by-id API's while no injector is
// installed (before Init, after a failed Init, after Install(nil)), and returns
// t. Generated packages call it when they are initialised, so the compiled
// routes are known from program start. Only the first table registered is
// used; later ones are ignored (their Init still installs globally).
func RegisterTable(t *Table) *Table {
	registered.CompareAndSwap(nil, t)
	return t
}

func (t *Table) routes() *tableRoutes {
	if r := t.current.Load(); r != nil {
		return r
	}
	return &t.compiled
}

// HTTPRoute returns the effective REST route of exchange index i: never
// nil; a direct route has Direct set. It belongs to the table and must not
// be modified.
func (t *Table) HTTPRoute(i int) *Route {
	r := t.routes()
	if uint(i) < uint(len(r.http)) {
		return r.http[i]
	}
	return r.defHTTP
}

// WebSocketRoute returns the effective WebSocket route of exchange index i
// (see HTTPRoute).
func (t *Table) WebSocketRoute(i int) *Route {
	r := t.routes()
	if uint(i) < uint(len(r.webSocket)) {
		return r.webSocket[i]
	}
	return r.defWS
}

// HTTPProxy returns the first member of the REST route of exchange index i;
// nil means direct.
func (t *Table) HTTPProxy(i int) *Proxy {
	r := t.routes()
	if uint(i) < uint(len(r.firstHTTP)) {
		return r.firstHTTP[i]
	}
	return firstMember(r.defHTTP)
}

// WebSocketProxy returns the first member of the WebSocket route of
// exchange index i; nil means direct.
func (t *Table) WebSocketProxy(i int) *Proxy {
	r := t.routes()
	if uint(i) < uint(len(r.firstWS)) {
		return r.firstWS[i]
	}
	return firstMember(r.defWS)
}

func firstMember(r *Route) *Proxy {
	if r.Direct || len(r.Proxies) == 0 {
		return nil
	}
	return r.Proxies[0]
}

// Injector returns Init's injector, or before Init one built from the
// compiled-in settings (its ${VAR} credentials unresolved: a dial over such
// a route fails naming the variable).
func (t *Table) Injector() *Injector {
	if r := t.current.Load(); r != nil {
		return r.in
	}
	return t.compiledRoutes().in
}

// compiledRoutes builds the compiled-in injector and its index once.
func (t *Table) compiledRoutes() *tableRoutes {
	t.compiledOnce.Do(func() {
		in, err := NewInjector(t.settings())
		if err != nil {
			// The generator validated these settings with the same rules.
			panic("runtime: compiled-in proxy settings rejected: " + err.Error())
		}
		t.compiled.in = in
		t.compiled.byIndex = t.index(in)
		t.compiledBuilt.Store(true)
	})
	return &t.compiled
}

func (t *Table) index(in *Injector) []*route {
	rs := make([]*route, len(t.ids)+1)
	for i, id := range t.ids {
		rs[i] = in.lookup(id)
	}
	rs[len(t.ids)] = in.def
	return rs
}

// route returns the current route of index i (the default route for an
// index outside the table).
func (t *Table) route(i int) *route {
	r := t.current.Load()
	if r == nil {
		r = t.compiledRoutes()
	}
	if uint(i) < uint(len(t.ids)) {
		return r.byIndex[i]
	}
	return r.byIndex[len(t.ids)]
}

func (t *Table) slot(i int) *lateSlot {
	if uint(i) < uint(len(t.ids)) {
		return &t.clients[i]
	}
	return &t.clients[len(t.ids)]
}

// HTTPClient returns the REST client of exchange index i. It is created once
// and reused; each request goes through the current route's pooled
// transport, so it follows Init.
func (t *Table) HTTPClient(i int) *http.Client {
	slot := &t.slot(i)[0]
	if c := slot.Load(); c != nil {
		return c
	}
	return lateClient(slot, func() *route { return t.route(i) }, false)
}

// WebSocketHTTPClient returns the coder/websocket client of exchange index
// i, late-bound like HTTPClient.
func (t *Table) WebSocketHTTPClient(i int) *http.Client {
	slot := &t.slot(i)[1]
	if c := slot.Load(); c != nil {
		return c
	}
	return lateClient(slot, func() *route { return t.route(i) }, true)
}

// WebSocketDialContext returns a dial function over the WebSocket route of
// exchange index i, looked up at each dial.
func (t *Table) WebSocketDialContext(i int) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		return t.route(i).dial[1].DialContext(ctx, network, addr)
	}
}

// Init applies the environment overlay (unless the settings are locked),
// resolves ${VAR} credentials, installs the injector globally (see Init) and
// makes its routes the table's. On error nothing changes: the routes in
// force before (the compiled ones before a first successful Init) stay.
func (t *Table) Init(opts ...Option) error {
	in, err := Init(t.settings(), opts...)
	if err != nil {
		return err
	}
	r := &tableRoutes{
		http:      make([]*Route, len(t.ids)),
		webSocket: make([]*Route, len(t.ids)),
		defHTTP:   in.def.eff[0],
		defWS:     in.def.eff[1],
		in:        in,
		byIndex:   t.index(in),
	}
	for i, id := range t.ids {
		r.http[i] = in.Route(id, TransportHTTP)
		r.webSocket[i] = in.Route(id, TransportWebSocket)
	}
	r.indexFirst()
	old := t.current.Swap(r)
	// Late-bound clients now send through the new routes; drop the idle
	// connections of the old ones (a kill switch must not leave pooled
	// tunnels behind). Connections in use finish normally.
	if old != nil {
		old.in.CloseIdleConnections()
	} else if t.compiledBuilt.Load() {
		t.compiled.in.CloseIdleConnections()
	}
	return nil
}

// Shutdown closes the injector the table's Init installed (see
// Injector.Close): its health checks stop and its idle connections close.
// It returns ctx's error if ctx ends first (the probes then still end on
// their own within their timeout). Before Init it only closes the idle
// connections of the compiled-in routes. Routes keep dialing afterwards,
// without health checks.
func (t *Table) Shutdown(ctx context.Context) error {
	r := t.current.Load()
	if r == nil {
		if t.compiledBuilt.Load() {
			t.compiled.in.CloseIdleConnections()
		}
		return nil
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = r.in.Close()
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
