// Package bench holds proxygen's benchmarks (in _test.go files only): route
// lookup, connect latency over an emulated 20 ms round trip, throughput
// through an established tunnel, heap per idle tunnel and dial rate, each
// beside its peers (golang.org/x/net/proxy, gorilla/websocket's own proxy
// support, net/http Transport.Proxy with coder/websocket) in the same run;
// `go run ./internal/tools/benchreport -out BENCHMARKS.md` (make bench) runs
// them and writes the report. Benchmarks that need a real proxy server
// (danted, squid) skip with a message when it is not installed. It must not
// hold tests of behaviour (those are internal/systest's) nor state a
// performance figure anywhere but a benchmark's output.
package bench
