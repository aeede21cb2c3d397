// Package proxyotel exports the events of a proxygen runtime as
// OpenTelemetry spans and metrics. It uses the OpenTelemetry API only (the
// program chooses the SDK and exporters) and must never record error text or
// a credential in a span or a metric, nor an attribute of unbounded
// cardinality (see below).
//
// Install it on an injector with runtime.WithObserver:
//
//	obs, err := proxyotel.NewObserver() // global providers
//	if err != nil { ... }
//	inj, err := runtime.NewInjector(..., runtime.WithObserver(obs))
//
// Each dial is a client span named "proxygen.dial", a child of the span in
// the dial's context, with the attributes proxygen.exchange,
// proxygen.transport, server.address and server.port (the target), and, when
// it got a tunnel, network.peer.address and network.peer.port (the proxy
// that carried it) and proxygen.proxy ("scheme://host:port"). A failed dial
// has error.type and status Error. Each attempt is a span event
// "proxygen.attempt" (see Observer.Attempt).
//
// Metrics (instrumentation scope ScopeName):
//
//	proxygen.dial.duration              histogram s  proxygen.exchange, proxygen.transport, error.type (on failure)
//	proxygen.proxy.attempts             counter      proxygen.exchange, proxygen.transport, proxygen.proxy, error.type (on failure)
//	proxygen.proxy.failures             counter      proxygen.exchange, proxygen.transport, proxygen.proxy, proxygen.stage
//	proxygen.proxy.handshake.duration   histogram s  proxygen.exchange, proxygen.transport, proxygen.proxy
//	proxygen.failovers                  counter      proxygen.exchange, proxygen.transport
//	proxygen.proxy.up                   gauge        proxygen.proxy (1 usable, 0 ejected or half-open)
//	proxygen.proxy.ejections            counter      proxygen.proxy
//	proxygen.tunnels.open               updowncounter proxygen.exchange, proxygen.transport, proxygen.proxy
//
// The count of proxygen.dial.duration is the number of dials (Prometheus's
// proxygen_dials_total). error.type is low-cardinality: "canceled",
// "timeout", the set-up stage that failed ("connect", "tls", "greeting",
// "auth", "request", "reply", "resolve", "config") or "_OTHER". No error
// text is recorded anywhere (no RecordError, no status message beyond the
// error type), and a proxy is only ever shown as "scheme://host:port", so no
// credential can reach a span or a metric.
package proxyotel
