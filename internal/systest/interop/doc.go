// Package interop holds the interoperability tests of runtime.Dialer against
// real proxy servers from Debian's packages, started by
// internal/testenv/realproxy: an HTTPS REST GET with net/http and WebSocket
// echo round trips over ws:// and wss:// with gorilla/websocket and
// coder/websocket, through every scheme each server speaks, plus wrong
// credentials against each server that authenticates; each subtest logs one
// INTEROP line (run with -v to see the matrix). pool_test.go drives pools of
// real servers through the injector: failover, hedging, ejection, recovery,
// sticky and all members down, with members killed and restarted, paused
// (SIGSTOP) or blackholed and refused by a relay in front. A new test that
// needs a real proxy server goes here. It must not use in-process fake
// proxies (that is systest/adversarial), build generated code (systest/e2e),
// or reach beyond loopback. It has no code of its own.
package interop
