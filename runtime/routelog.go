package runtime

import (
	"context"
	"log/slog"
)

// routeInfo is one line of the route table Init logs: an effective route
// as the injector holds it, credentials resolved but never shown. (What a
// program or `proxygen explain` shows of a spec is ExplainRoutes'.)
type routeInfo struct {
	Exchange  string // lower-case id, or DefaultRouteID for ids the settings do not list
	Transport Transport
	Proxy     string // redacted proxy URL, or "direct"
	Source    RouteSource
	// Env names the environment variables (ApplyEnv) that set or changed
	// this route; never their values.
	Env []string
}

// sourceLabel returns "env" when environment variables shaped the route,
// else Source.String().
func (r routeInfo) sourceLabel() string {
	if len(r.Env) > 0 {
		return "env"
	}
	return r.Source.String()
}

// routeTable returns the effective routes: every listed exchange (sorted)
// for http then websocket, then the default route (DefaultRouteID).
func (in *Injector) routeTable() []routeInfo {
	out := make([]routeInfo, 0, 2*len(in.ids)+2)
	for _, id := range in.ids {
		out = in.explain(out, in.byID[id])
	}
	return in.explain(out, in.def)
}

func (in *Injector) explain(out []routeInfo, r *route) []routeInfo {
	for i, t := range [2]Transport{TransportHTTP, TransportWebSocket} {
		ri := routeInfo{Exchange: r.id, Transport: t, Proxy: "direct", Source: r.source[i]}
		if p := r.first(i); p != nil {
			ri.Proxy = p.String()
		}
		var key string
		switch r.source[i] {
		case SourceOverride:
			key = "exchanges." + r.id + "." + t.String()
		case SourceDefault:
			key = "default." + t.String()
		case SourceDisabled:
			key = "enabled"
		}
		if vs := in.fromEnv[key]; key != "" && len(vs) > 0 {
			ri.Env = append([]string(nil), vs...)
		}
		out = append(out, ri)
	}
	return out
}

// defaultRouteLabel is the exchange the route table Init logs gives the
// default route (what ids the settings do not list get); it cannot be an id.
const defaultRouteLabel = "(default)"

// logRoutes logs the effective route table at INFO, one line per exchange
// and transport (listed exchanges sorted, then the default route): the
// exchange, the transport, the scheme ("direct" for none), the proxy's
// host:port and where the route comes from. Never a credential.
func (in *Injector) logRoutes(ctx context.Context) {
	l := in.logger
	if l == nil {
		l = slog.Default()
	}
	if !l.Enabled(ctx, slog.LevelInfo) {
		return
	}
	for _, ri := range in.routeTable() {
		r, name := in.byID[ri.Exchange], ri.Exchange
		if ri.Exchange == DefaultRouteID {
			r, name = in.def, defaultRouteLabel
		}
		scheme, addr, size, strategy := "direct", "", 0, ""
		if p := r.first(tIndex(ri.Transport)); p != nil {
			e := r.eff[tIndex(ri.Transport)]
			scheme, addr, size, strategy = p.Scheme.String(), p.Addr(), len(e.Proxies), e.Strategy.String()
		}
		attrs := []slog.Attr{
			slog.String("exchange", name),
			slog.String("transport", ri.Transport.String()),
			slog.String("scheme", scheme),
			slog.String("proxy", addr),
			slog.String("source", ri.sourceLabel()),
		}
		if size > 0 {
			// proxy is the first member; the pool's size and strategy
			// say how many more there are and how they are chosen.
			attrs = append(attrs, slog.Int("pool", size), slog.String("strategy", strategy))
		}
		l.LogAttrs(ctx, slog.LevelInfo, "proxy route", attrs...)
	}
}
