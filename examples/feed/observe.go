package main

import (
	"context"
	"sync/atomic"

	"github.com/proxygen-go/proxygen/runtime"
)

// tunnelWatch is the demo's observer. The injector keeps its Stats with no
// observer at all, but it can only see a tunnel close by wrapping the
// connection, and it wraps only when an installed observer watches tunnels
// (runtime.TunnelObserver): this small one does, so the Stats table counts
// open tunnels. It counts opens and closes itself and forwards every event
// to next (the Prometheus observer when -metrics is set).
type tunnelWatch struct {
	opened, closed atomic.Int64
	next           runtime.Observer // nil: nothing to forward to
}

var (
	_ runtime.TunnelObserver  = (*tunnelWatch)(nil)
	_ runtime.AttemptObserver = (*tunnelWatch)(nil)
	_ runtime.MemberObserver  = (*tunnelWatch)(nil)
	_ runtime.ProbeObserver   = (*tunnelWatch)(nil)
)

func (w *tunnelWatch) DialStart(ctx context.Context, ev runtime.DialStart) context.Context {
	if w.next != nil {
		return w.next.DialStart(ctx, ev)
	}
	return ctx
}

func (w *tunnelWatch) DialDone(ctx context.Context, ev runtime.DialDone) {
	if w.next != nil {
		w.next.DialDone(ctx, ev)
	}
}

func (w *tunnelWatch) Attempt(ctx context.Context, ev runtime.Attempt) {
	if o, ok := w.next.(runtime.AttemptObserver); ok {
		o.Attempt(ctx, ev)
	}
}

func (w *tunnelWatch) MemberState(ev runtime.MemberState) {
	if o, ok := w.next.(runtime.MemberObserver); ok {
		o.MemberState(ev)
	}
}

func (w *tunnelWatch) Probe(ev runtime.Probe) {
	if o, ok := w.next.(runtime.ProbeObserver); ok {
		o.Probe(ev)
	}
}

func (w *tunnelWatch) TunnelOpen(ev runtime.Tunnel) {
	w.opened.Add(1)
	if o, ok := w.next.(runtime.TunnelObserver); ok {
		o.TunnelOpen(ev)
	}
}

func (w *tunnelWatch) TunnelClose(ev runtime.Tunnel) {
	w.closed.Add(1)
	if o, ok := w.next.(runtime.TunnelObserver); ok {
		o.TunnelClose(ev)
	}
}
