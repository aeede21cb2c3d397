// Package soak drives many concurrent WebSocket sessions through real proxies
// (danted over SOCKS5, squid over HTTP CONNECT) to the WebSocket echo
// target, each sending sequence-numbered messages at a steady rate, and
// checks that no message is lost or reordered, no error happens, and memory
// and goroutines stay flat: TestSoak is the long run (2,000 sessions per
// proxy for 60 s), gated by PROXYGEN_SOAK=1 (make soak); TestLoadShort is a
// short always-on variant. It must not run the long variant by default (CI
// stays minutes long) nor report a performance number: those are Go
// benchmarks in internal/bench. It has no code of its own.
package soak
