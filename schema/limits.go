package schema

import (
	"time"

	"github.com/proxygen-go/proxygen/runtime"
)

// Limits and defaults of a route's fields, in the spec's units, derived
// from the runtime's constants (runtime/limits.go, pool.go): the JSON
// Schema (ProxyConfig, Eject and HealthCheck's JSONSchemaExtend), Load's
// checks and the runtime's Validate and ApplyEnv share one set of numbers.
const (
	// MinTimeoutSeconds and MaxTimeoutSeconds bound timeout_seconds and
	// attempt_timeout_seconds.
	MinTimeoutSeconds = int(runtime.MinTimeout / time.Second)
	MaxTimeoutSeconds = int(runtime.MaxTimeout / time.Second)
	// DefaultTimeoutSeconds applies when timeout_seconds is absent (set
	// nowhere, not even in the default route of the transport).
	DefaultTimeoutSeconds = int(runtime.DefaultTimeout / time.Second)

	// MaxPoolURLs is the most members urls may list (at least 1).
	MaxPoolURLs = runtime.MaxPoolMembers

	// HedgeOff is hedge_after_ms's "no hedging" value, the default; any
	// other value is MinHedgeAfterMS..MaxHedgeAfterMS.
	HedgeOff        = 0
	MinHedgeAfterMS = int(runtime.MinHedgeAfter / time.Millisecond)
	MaxHedgeAfterMS = int(runtime.MaxHedgeAfter / time.Millisecond)

	// eject.after_failures.
	MinEjectAfterFailures     = runtime.MinEjectAfterFailures
	MaxEjectAfterFailures     = runtime.MaxEjectAfterFailures
	DefaultEjectAfterFailures = runtime.DefaultEjectAfterFailures
	// eject.seconds; eject.max_seconds is eject.seconds..MaxEjectMaxSeconds.
	MinEjectSeconds        = int(runtime.MinEjectDuration / time.Second)
	MaxEjectSeconds        = int(runtime.MaxEjectDuration / time.Second)
	DefaultEjectSeconds    = int(runtime.DefaultEjectDuration / time.Second)
	MaxEjectMaxSeconds     = int(runtime.MaxEjectMaxDuration / time.Second)
	DefaultEjectMaxSeconds = int(runtime.DefaultEjectMaxDuration / time.Second)

	// health_check.interval_seconds.
	MinHealthIntervalSeconds     = int(runtime.MinProbeInterval / time.Second)
	MaxHealthIntervalSeconds     = int(runtime.MaxProbeInterval / time.Second)
	DefaultHealthIntervalSeconds = int(runtime.DefaultProbeInterval / time.Second)
	// health_check.timeout_seconds, also at most interval_seconds.
	MinHealthTimeoutSeconds     = int(runtime.MinProbeTimeout / time.Second)
	MaxHealthTimeoutSeconds     = int(runtime.MaxProbeTimeout / time.Second)
	DefaultHealthTimeoutSeconds = int(runtime.DefaultProbeTimeout / time.Second)

	// DefaultStrategy and DefaultWhenAllDown apply when the field is set
	// nowhere.
	DefaultStrategy    = StrategyFailover
	DefaultWhenAllDown = WhenAllDownTryEjected
)
