package runtime

import (
	"fmt"
	"sync"
	"sync/atomic"
)

// Table is a generated package's routing state: the effective routes of its
// exchanges, indexed by the package's Exchange constants. It starts with the
// routes compiled into the package; Init replaces them with the spec as
// overlaid by the environment. Safe for concurrent use.
type Table struct {
	settings func() Settings
	ids      []string
	compiled tableRoutes
	current  atomic.Pointer[tableRoutes] // nil before Init

	compiledOnce sync.Once
	compiledIn   *Injector
}

type tableRoutes struct {
	http, webSocket []*Proxy // by exchange index
	defHTTP, defWS  *Proxy   // for an index outside the table
	in              *Injector
}

// NewTable returns the table of a generated package: settings returns its
// compiled-in spec, ids are its exchange ids in constant order, http and
// webSocket the compiled effective routes by index (nil is direct), and
// defHTTP, defWS the routes of an exchange the spec does not name.
func NewTable(settings func() Settings, ids []string, http, webSocket []*Proxy, defHTTP, defWS *Proxy) *Table {
	if len(http) != len(ids) || len(webSocket) != len(ids) {
		panic(fmt.Sprintf("runtime: NewTable: %d ids, %d http and %d websocket routes", len(ids), len(http), len(webSocket)))
	}
	return &Table{
		settings: settings,
		ids:      ids,
		compiled: compiledRoutes(settings, ids, http, webSocket, defHTTP, defWS),
	}
}

func (t *Table) routes() *tableRoutes {
	if r := t.current.Load(); r != nil {
		return r
	}
	return &t.compiled
}

// HTTPProxy returns the REST route of exchange index i; nil means direct.
func (t *Table) HTTPProxy(i int) *Proxy {
	r := t.routes()
	if uint(i) < uint(len(r.http)) {
		return r.http[i]
	}
	return r.defHTTP
}

// WebSocketProxy returns the WebSocket route of exchange index i; nil means
// direct.
func (t *Table) WebSocketProxy(i int) *Proxy {
	r := t.routes()
	if uint(i) < uint(len(r.webSocket)) {
		return r.webSocket[i]
	}
	return r.defWS
}

// Injector returns Init's injector, or before Init one built from the
// compiled-in settings (its ${VAR} credentials unresolved: a dial over such
// a route fails naming the variable).
func (t *Table) Injector() *Injector {
	if r := t.current.Load(); r != nil {
		return r.in
	}
	t.compiledOnce.Do(func() {
		in, err := NewInjector(t.settings())
		if err != nil {
			// The generator validated these settings with the same rules.
			panic("runtime: compiled-in proxy settings rejected: " + err.Error())
		}
		t.compiledIn = in
	})
	return t.compiledIn
}

// Init applies the environment overlay (unless the settings are locked),
// resolves ${VAR} credentials, installs the injector globally (see Init) and
// makes its routes the table's. On error nothing changes.
func (t *Table) Init(opts ...Option) error {
	in, err := Init(t.settings(), opts...)
	if err != nil {
		return err
	}
	r := &tableRoutes{
		http:      make([]*Proxy, len(t.ids)),
		webSocket: make([]*Proxy, len(t.ids)),
		defHTTP:   in.DefaultProxy(TransportHTTP),
		defWS:     in.DefaultProxy(TransportWebSocket),
		in:        in,
	}
	for i, id := range t.ids {
		r.http[i] = in.Proxy(id, TransportHTTP)
		r.webSocket[i] = in.Proxy(id, TransportWebSocket)
	}
	t.current.Store(r)
	return nil
}
