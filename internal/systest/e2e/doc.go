// Package e2e holds proxygen's end-to-end tests: a spec compiled into
// generated code in a throw-away module and driven through the real proxy
// servers of internal/testenv/realproxy (net/http, gorilla/websocket,
// coder/websocket, gobwas/ws), the in-process shared-library path of the
// runtime's global injector, a canary check of everything the driver
// printed, and a guard that keeps docs/TRACEABILITY.md pointing at tests
// that exist. A new test that builds generated code into a program goes
// here. Its throw-away modules get a complete go.mod (testenv.RootRequires)
// and must not override CI's -mod=readonly; it must not reach beyond
// loopback. It has no code of its own.
package e2e
