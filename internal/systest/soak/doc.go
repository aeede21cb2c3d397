// Package soak drives many concurrent WebSocket sessions through real proxies
// (danted over SOCKS5, squid over HTTP CONNECT) to the WebSocket echo
// target, each sending sequence-numbered messages at a steady rate, and
// checks that no message is lost or reordered, no error happens, and memory
// and goroutines stay flat: TestSoak is the long run (2,000 sessions per
// proxy for 60 s), gated by PROXYGEN_SOAK=1 (make soak); TestLoadShort is a
// short always-on variant. TestSoakFaults (also PROXYGEN_SOAK=1) is the
// soak with faults: 1,000 sessions over a round-robin pool of danted, squid
// and microsocks for 60 s, danted killed at 20 s and started again on its
// port at 40 s; it checks prompt read errors, reconnects through the
// survivors, no direct connection (who holds each of the target's
// connections, read from /proc), no session stuck beyond the attempt
// timeout and the member's rejoining, and reports counts, reconnect times
// and memory of that run. It must not run the long variants by default
// (CI stays minutes long) nor make a performance claim: those are Go
// benchmarks in internal/bench. It has no code of its own.
package soak
