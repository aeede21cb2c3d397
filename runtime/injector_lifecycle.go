package runtime

// routes returns the routes of the listed exchanges, sorted by id.
func (in *Injector) routes() []*route {
	out := make([]*route, len(in.ids))
	for i, id := range in.ids {
		out[i] = in.byID[id]
	}
	return out
}

// startProbes starts the health checks (a no-op when there are none, when
// they run already, or after Close).
func (in *Injector) startProbes() {
	if in.prober != nil {
		in.prober.Start()
	}
}

// stopProbes stops the health checks and waits for them to end.
func (in *Injector) stopProbes() {
	if in.prober != nil {
		_ = in.prober.Close()
	}
}

// Close stops the injector's health checks (waiting for every probe to
// end) and closes the idle connections of its clients. Nothing the
// injector started outlives it. Dials through it still work afterwards,
// without health checks. It is safe to call more than once and always
// returns nil.
func (in *Injector) Close() error {
	in.closeOnce.Do(func() {
		in.stopProbes()
		in.CloseIdleConnections()
	})
	return nil
}
