package runtime

import "time"

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
	// names of the variables, sorted. Never values. ExplainRoutes reports them.
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

// Route is one transport's route: Direct, or a pool of Proxies (a spec's
// url: is a pool of one) tried by Strategy, with the route's settings.
//
// A setting is "set here" when its value is not zero or its bit is in Set;
// a zero value without its bit is "not set". Only an explicit zero needs
// its bit: Set: SetStrategy with Strategy StrategyFailover (the zero
// Strategy), SetHedgeAfter with HedgeAfter 0 (no hedging), SetOptimistic
// with Optimistic false. Generated code sets the bit of every setting the
// spec sets. An exchange's route inherits every setting it does not set
// from the default route of the same transport, then the built-in default
// (see ResolveRoute); the destination (Direct, Proxies and their
// credentials) is never inherited.
//
// The members' own Timeout and Optimistic are not settings: leave them
// zero (Validate rejects them); ResolveRoute gives each member of the
// effective route the route's values.
type Route struct {
	Direct bool
	// Proxies are the pool's members in spec order: 1..MaxPoolMembers,
	// distinct by scheme, host, port and credentials.
	Proxies []*Proxy

	// Timeout bounds the whole dial, every attempt and hedge included
	// (timeout_seconds; built-in DefaultTimeout).
	Timeout time.Duration
	// AttemptTimeout bounds one member's attempt (attempt_timeout_seconds;
	// built-in: Timeout).
	AttemptTimeout time.Duration
	// Strategy orders the members (built-in StrategyFailover).
	Strategy Strategy
	// HedgeAfter, when positive, starts the next member after this long
	// while an attempt is still in its handshake (hedge_after_ms; 0 off).
	HedgeAfter time.Duration
	// Eject is passive health; each of its three fields is a setting.
	Eject EjectPolicy
	// HealthCheck is the active probe; each of its three fields is a
	// setting, and the probe is on when the effective Target is not empty.
	HealthCheck HealthCheck
	// WhenAllDown is what a dial does when every member is ejected
	// (built-in TryEjected).
	WhenAllDown AllDown
	// Optimistic sends the handshake and the first application bytes
	// without waiting for the proxy's replies (built-in false).
	Optimistic bool

	// Set marks settings set here with their zero value (see above).
	Set RouteField
}

// Get returns the route of one transport.
func (r Routes) Get(t Transport) *Route {
	if t == TransportWebSocket {
		return r.WebSocket
	}
	return r.HTTP
}
