package runtime

import "time"

// Limits of a route's settings: Validate, ApplyEnv and the spec's schema
// (schema/limits.go) all read these. The defaults sit next to the types
// they belong to: DefaultTimeout (proxy.go), MaxTimeout (validate.go),
// MaxPoolMembers and the Default* of ejection and probes (pool.go).
const (
	// MinTimeout is the smallest Timeout and AttemptTimeout
	// (timeout_seconds, attempt_timeout_seconds); MaxTimeout the largest.
	MinTimeout = time.Second

	// MinHedgeAfter and MaxHedgeAfter bound a HedgeAfter that is not zero
	// (hedge_after_ms: 0 is off, else 10..60000).
	MinHedgeAfter = 10 * time.Millisecond
	MaxHedgeAfter = 60 * time.Second

	// MinEjectAfterFailures and MaxEjectAfterFailures bound
	// eject.after_failures.
	MinEjectAfterFailures = 1
	MaxEjectAfterFailures = 100
	// MinEjectDuration and MaxEjectDuration bound eject.seconds;
	// eject.max_seconds is at least eject.seconds and at most
	// MaxEjectMaxDuration.
	MinEjectDuration    = time.Second
	MaxEjectDuration    = 3600 * time.Second
	MaxEjectMaxDuration = 86400 * time.Second

	// MinProbeInterval and MaxProbeInterval bound
	// health_check.interval_seconds.
	MinProbeInterval = 5 * time.Second
	MaxProbeInterval = 3600 * time.Second
	// MinProbeTimeout and MaxProbeTimeout bound health_check.timeout_seconds
	// (also at most the interval).
	MinProbeTimeout = time.Second
	MaxProbeTimeout = 60 * time.Second
)
