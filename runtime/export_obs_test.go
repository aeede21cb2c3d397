package runtime

import "net"

// StatsRecorder is the injector's statsRecorder, for tests.
type StatsRecorder = statsRecorder

// NewStatsRecorder returns a statsRecorder, for tests.
func NewStatsRecorder() *StatsRecorder { return newStatsRecorder() }

// Snapshot is snapshot, for tests.
func (r *statsRecorder) Snapshot(h *HealthRegistry) Stats { return r.snapshot(h) }

// TeeObserver is teeObserver, for tests.
func TeeObserver(a, b Observer) Observer { return teeObserver(a, b) }

// ObserveTunnel is observeTunnel, for tests.
func ObserveTunnel(c net.Conn, ev Tunnel, o TunnelObserver) net.Conn { return observeTunnel(c, ev, o) }
