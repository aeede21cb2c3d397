// Package e2e holds proxygen's end-to-end tests: a spec compiled into
// generated code in a throw-away module and driven through the real proxy
// servers of internal/testenv/realproxy (net/http, gorilla/websocket,
// coder/websocket, gobwas/ws), the in-process shared-library path of the
// runtime's global injector, a log canary across the whole suite, and a
// guard that keeps docs/TRACEABILITY.md pointing at tests that exist.
//
// The package has no code of its own; see the _test.go files.
package e2e
