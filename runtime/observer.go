package runtime

import (
	"context"
	"time"
)

// Observer receives the events of dials made by an injector (see
// WithObserver). It is the one required part; the optional parts
// (AttemptObserver, MemberObserver, ProbeObserver, TunnelObserver) are
// discovered by type assertion when the observer is installed, so a new
// event added later is a new optional interface and never breaks an
// existing observer (the pattern of pgx's tracers).
//
// This was chosen over net/http/httptrace's struct of funcs: an interface
// value is one pointer to check on the hot path, and the optional parts are
// found by one type assertion each at install time, not per event; a new
// event is a new interface, so existing observers keep compiling; funcs in a
// struct would need a nil check per field per event and make composing two
// observers (a tee, as the injector does with its Stats recorder) awkward.
//
// Events name a proxy by "scheme://host:port" only, never by credentials.
// Methods are called on the dialing goroutine (probes: on the prober's) and
// must not block.
type Observer interface {
	// DialStart is called before a dial's first attempt. The context it
	// returns is passed to the dial's later events (attempts, DialDone), so
	// an observer can hang a span on it.
	DialStart(ctx context.Context, ev DialStart) context.Context
	// DialDone is called once per dial, when it has a tunnel or has failed.
	DialDone(ctx context.Context, ev DialDone)
}

// AttemptObserver, implemented by an Observer, receives each attempt of a
// dial through one member of a route's pool.
type AttemptObserver interface {
	Attempt(ctx context.Context, ev Attempt)
}

// MemberObserver, implemented by an Observer, receives a proxy's health
// state changes (ejected, half-open, back).
type MemberObserver interface {
	MemberState(ev MemberState)
}

// ProbeObserver, implemented by an Observer, receives active health check
// results.
type ProbeObserver interface {
	Probe(ev Probe)
}

// TunnelObserver, implemented by an Observer, is told when a tunnel opens
// and when the caller closes it. With one installed, dials return the tunnel
// wrapped to see its Close; the wrapper keeps ReadFrom, WriteTo, CloseWrite
// and NetConn.
type TunnelObserver interface {
	TunnelOpen(ev Tunnel)
	TunnelClose(ev Tunnel)
}

// DialStart describes a dial about to start.
type DialStart struct {
	Exchange  string // exchange id
	Transport Transport
	Target    string // host:port the caller asked for
	Time      time.Time
}

// DialDone describes a finished dial.
type DialDone struct {
	Exchange  string
	Transport Transport
	Target    string
	// Proxy is the member that carried the tunnel ("scheme://host:port"), or
	// "" when the dial failed or the route is direct.
	Proxy     string
	Duration  time.Duration
	Attempts  int // members tried, hedges included (0 for a direct dial)
	Failovers int // moves to another member after an attempt failed
	Err       error
}

// Attempt describes one attempt through one member of a pool.
type Attempt struct {
	Exchange  string
	Transport Transport
	Target    string
	Proxy     string // "scheme://host:port"
	N         int    // 1 for the dial's first attempt
	Hedge     bool   // started by hedge_after_ms while another was in flight
	// Stage is the stage the attempt failed at, or "" on success.
	Stage Stage
	// Code is the SOCKS reply code or HTTP status of a refusal, 0 if none.
	Code int
	// Handshake is the time from the attempt's start to its result.
	Handshake time.Duration
	// Counted reports whether the failure counted against the member
	// (proxy-side failures do; target-side replies and cancellations do
	// not).
	Counted bool
	Err     error // nil on success
}

// Health is a proxy's state in the pool.
type Health uint8

// The health states of a proxy.
const (
	Up       Health = iota // usable
	Ejected                // out until its ejection ends
	HalfOpen               // its ejection ended; one trial dial is let through
)

// String returns "up", "ejected" or "half-open".
func (h Health) String() string {
	switch h {
	case Up:
		return "up"
	case Ejected:
		return "ejected"
	case HalfOpen:
		return "half-open"
	}
	return "health(?)"
}

// MemberState describes a proxy's health change.
type MemberState struct {
	Proxy    string // "scheme://host:port"
	State    Health
	Until    time.Time // end of the ejection, when State is Ejected
	Failures int       // consecutive proxy-side failures that led here
}

// Probe describes one active health check of a proxy.
type Probe struct {
	Proxy    string
	Target   string
	Duration time.Duration
	Err      error // nil when the probe passed
}

// Tunnel describes a tunnel that opened or closed.
type Tunnel struct {
	Exchange  string
	Transport Transport
	Target    string
	Proxy     string
	// Open is how long the tunnel was open (TunnelClose only).
	Open time.Duration
}
