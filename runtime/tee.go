package runtime

import "context"

// teeObserver returns an observer that forwards every event to a and b (a
// first). It implements each optional interface (AttemptObserver,
// MemberObserver, ProbeObserver, TunnelObserver) only when a or b does, so
// the type assertions of pools and the health registry stay accurate. A nil
// side gives the other one unchanged.
func teeObserver(a, b Observer) Observer {
	if a == nil {
		return b
	}
	if b == nil {
		return a
	}
	t := &tee{a: a, b: b}
	t.aa, _ = a.(AttemptObserver)
	t.ba, _ = b.(AttemptObserver)
	t.am, _ = a.(MemberObserver)
	t.bm, _ = b.(MemberObserver)
	t.ap, _ = a.(ProbeObserver)
	t.bp, _ = b.(ProbeObserver)
	t.at, _ = a.(TunnelObserver)
	t.bt, _ = b.(TunnelObserver)
	var mask int
	if t.aa != nil || t.ba != nil {
		mask |= teeABit
	}
	if t.am != nil || t.bm != nil {
		mask |= teeMBit
	}
	if t.ap != nil || t.bp != nil {
		mask |= teePBit
	}
	if t.at != nil || t.bt != nil {
		mask |= teeTBit
	}
	switch mask {
	case 0:
		return t
	case teeABit:
		return struct {
			*tee
			teeA
		}{t, teeA{t}}
	case teeMBit:
		return struct {
			*tee
			teeM
		}{t, teeM{t}}
	case teeABit | teeMBit:
		return struct {
			*tee
			teeA
			teeM
		}{t, teeA{t}, teeM{t}}
	case teePBit:
		return struct {
			*tee
			teeP
		}{t, teeP{t}}
	case teeABit | teePBit:
		return struct {
			*tee
			teeA
			teeP
		}{t, teeA{t}, teeP{t}}
	case teeMBit | teePBit:
		return struct {
			*tee
			teeM
			teeP
		}{t, teeM{t}, teeP{t}}
	case teeABit | teeMBit | teePBit:
		return struct {
			*tee
			teeA
			teeM
			teeP
		}{t, teeA{t}, teeM{t}, teeP{t}}
	case teeTBit:
		return struct {
			*tee
			teeT
		}{t, teeT{t}}
	case teeABit | teeTBit:
		return struct {
			*tee
			teeA
			teeT
		}{t, teeA{t}, teeT{t}}
	case teeMBit | teeTBit:
		return struct {
			*tee
			teeM
			teeT
		}{t, teeM{t}, teeT{t}}
	case teeABit | teeMBit | teeTBit:
		return struct {
			*tee
			teeA
			teeM
			teeT
		}{t, teeA{t}, teeM{t}, teeT{t}}
	case teePBit | teeTBit:
		return struct {
			*tee
			teeP
			teeT
		}{t, teeP{t}, teeT{t}}
	case teeABit | teePBit | teeTBit:
		return struct {
			*tee
			teeA
			teeP
			teeT
		}{t, teeA{t}, teeP{t}, teeT{t}}
	case teeMBit | teePBit | teeTBit:
		return struct {
			*tee
			teeM
			teeP
			teeT
		}{t, teeM{t}, teeP{t}, teeT{t}}
	case teeABit | teeMBit | teePBit | teeTBit:
		return struct {
			*tee
			teeA
			teeM
			teeP
			teeT
		}{t, teeA{t}, teeM{t}, teeP{t}, teeT{t}}
	}
	panic("unreachable")
}

const (
	teeABit = 1 << iota
	teeMBit
	teePBit
	teeTBit
)

// tee is the Observer part of teeObserver's result; the optional parts
// are the teeA, teeM, teeP and teeT halves embedded beside it.
type tee struct {
	a, b   Observer
	aa, ba AttemptObserver
	am, bm MemberObserver
	ap, bp ProbeObserver
	at, bt TunnelObserver
}

// DialStart threads the context through a, then b: each sees the context
// the other returned, and later events get both values.
func (t *tee) DialStart(ctx context.Context, ev DialStart) context.Context {
	ctx = t.a.DialStart(ctx, ev)
	return t.b.DialStart(ctx, ev)
}

func (t *tee) DialDone(ctx context.Context, ev DialDone) {
	t.a.DialDone(ctx, ev)
	t.b.DialDone(ctx, ev)
}

type teeA struct{ t *tee }

func (x teeA) Attempt(ctx context.Context, ev Attempt) {
	if x.t.aa != nil {
		x.t.aa.Attempt(ctx, ev)
	}
	if x.t.ba != nil {
		x.t.ba.Attempt(ctx, ev)
	}
}

type teeM struct{ t *tee }

func (x teeM) MemberState(ev MemberState) {
	if x.t.am != nil {
		x.t.am.MemberState(ev)
	}
	if x.t.bm != nil {
		x.t.bm.MemberState(ev)
	}
}

type teeP struct{ t *tee }

func (x teeP) Probe(ev Probe) {
	if x.t.ap != nil {
		x.t.ap.Probe(ev)
	}
	if x.t.bp != nil {
		x.t.bp.Probe(ev)
	}
}

type teeT struct{ t *tee }

func (x teeT) TunnelOpen(ev Tunnel) {
	if x.t.at != nil {
		x.t.at.TunnelOpen(ev)
	}
	if x.t.bt != nil {
		x.t.bt.TunnelOpen(ev)
	}
}

func (x teeT) TunnelClose(ev Tunnel) {
	if x.t.at != nil {
		x.t.at.TunnelClose(ev)
	}
	if x.t.bt != nil {
		x.t.bt.TunnelClose(ev)
	}
}
