// Package interop holds the interoperability tests of runtime.Dialer against
// real proxy servers from Debian's packages (see internal/testenv/realproxy): an
// HTTPS REST GET with net/http and WebSocket echo round trips over ws:// and
// wss:// with gorilla/websocket and coder/websocket, through every scheme
// each server speaks, plus wrong credentials against each server that
// authenticates. Each subtest logs one INTEROP line; run with -v to see the
// matrix.
package interop
