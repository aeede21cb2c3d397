package schema

import (
	"time"

	"github.com/proxygen-go/proxygen/runtime"
)

// Limits and defaults of a route's fields, in the spec's units. The JSON
// Schema (ProxyConfig, Eject and HealthCheck's JSONSchemaExtend) and Load's
// checks both read them; the runtime's own constants come first where they
// exist.
const (
	// MinTimeoutSeconds and MaxTimeoutSeconds bound timeout_seconds and
	// attempt_timeout_seconds.
	MinTimeoutSeconds = 1
	MaxTimeoutSeconds = int(runtime.MaxTimeout / time.Second)
	// DefaultTimeoutSeconds applies when timeout_seconds is absent (set
	// nowhere, not even in the default route of the transport).
	DefaultTimeoutSeconds = int(runtime.DefaultTimeout / time.Second)

	// MaxPoolURLs is the most members urls may list (at least 1).
	MaxPoolURLs = 64

	// HedgeOff is hedge_after_ms's "no hedging" value, the default; any
	// other value is MinHedgeAfterMS..MaxHedgeAfterMS.
	HedgeOff        = 0
	MinHedgeAfterMS = 10
	MaxHedgeAfterMS = 60000

	// eject.after_failures.
	MinEjectAfterFailures     = 1
	MaxEjectAfterFailures     = 100
	DefaultEjectAfterFailures = 3
	// eject.seconds; eject.max_seconds is eject.seconds..MaxEjectMaxSeconds.
	MinEjectSeconds        = 1
	MaxEjectSeconds        = 3600
	DefaultEjectSeconds    = 30
	MaxEjectMaxSeconds     = 86400
	DefaultEjectMaxSeconds = 300

	// health_check.interval_seconds. The contract gives no default; 30 is
	// its example's value.
	MinHealthIntervalSeconds     = 5
	MaxHealthIntervalSeconds     = 3600
	DefaultHealthIntervalSeconds = 30
	// health_check.timeout_seconds, also at most interval_seconds.
	MinHealthTimeoutSeconds     = 1
	MaxHealthTimeoutSeconds     = 60
	DefaultHealthTimeoutSeconds = 5

	// DefaultStrategy and DefaultWhenAllDown apply when the field is set
	// nowhere.
	DefaultStrategy    = StrategyFailover
	DefaultWhenAllDown = WhenAllDownTryEjected
)
