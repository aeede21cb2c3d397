package runtime

// Settings mirrors a proxygen spec in Go. Generated code holds the compiled
// spec as a Settings literal; programs without a spec build one by hand and
// pass it to Install. Exchange ids are case-insensitive.
type Settings struct {
	// Enabled false sends everything direct (the kill switch).
	Enabled bool
	// EnvPrefix is the overlay's variable prefix; empty means
	// DefaultEnvPrefix.
	EnvPrefix string
	// Lock disables the environment overlay entirely.
	Lock bool
	// Default routes apply to every exchange without an override.
	Default Routes
	// Exchanges holds per-exchange overrides, keyed by exchange id.
	Exchanges map[string]Routes

	// FromEnv is set by ApplyEnv: for each route it set or changed
	// ("default.http", "exchanges.binance.websocket", or "enabled"), the
	// names of the variables, sorted. Never values. Explain reports them.
	FromEnv map[string][]string
}

// DefaultEnvPrefix is the overlay prefix when Settings.EnvPrefix is empty.
const DefaultEnvPrefix = "CRYPTOFEED_PROXY_"

// Routes are the routes of one exchange (or the defaults), per transport.
// A nil *Route means "not set here": an exchange falls back to the default,
// and the default falls back to direct.
type Routes struct {
	HTTP      *Route
	WebSocket *Route
}

// Route is one transport's route: exactly one of Proxy or Direct.
type Route struct {
	Proxy  *Proxy
	Direct bool
}

// Get returns the route of one transport.
func (r Routes) Get(t Transport) *Route {
	if t == TransportWebSocket {
		return r.WebSocket
	}
	return r.HTTP
}
