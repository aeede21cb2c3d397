// Package adversarial holds the system tests that drive the runtime
// (runtime.Dialer, the Injector and its HTTP and WebSocket clients) against
// in-process proxies that misbehave, refuse, vanish or cannot be reached:
// tiny raw TCP servers scripted per behaviour (hostile_test.go), and every
// fault a route can have, where REST, gorilla/websocket and coder/websocket
// clients must all fail and a counting target must see nothing
// (failclosed_test.go), and each hostile row as the first member of a pool
// whose second member is healthy (poolhostile_test.go). Every case must end
// in a typed *runtime.ProxyError or a correct tunnel, within its timeout,
// with no goroutine or file descriptor left. It must not start real proxy
// servers (that is systest/interop) nor fail open: no test here may accept a
// direct connection as success. It has no code of its own.
package adversarial
