// Package proxytest runs in-process SOCKS4/4a, SOCKS5 and HTTP CONNECT
// (plain and TLS) proxies for tests, as net/http/httptest runs HTTP
// servers. Each Server records what every client connection sent (the
// target exactly as sent, host name or address; the credentials; the number
// of client flights before the tunnel opened) and can misbehave on demand:
// stall, close mid-handshake, answer with a wrong version, refuse with a
// given reply code or HTTP status, send an oversized or garbage reply, or
// send data right after its reply. It is for tests only: it must listen on
// loopback only, trusts every client and dials any target it is asked for,
// so it must never serve as a real proxy, and no non-test code of this
// repository may import it.
//
// A Server listens on loopback at once. Close stops it, closes every
// connection it holds and waits for all of its goroutines.
//
// # Flights
//
// Record.Flights counts the client's handshake bursts as the server saw
// them, split at the server's own replies: the first bytes the client sends
// start flight 1, and bytes that the server has to read from the socket
// after it sent a reply start the next flight. Bytes the client pipelined
// (sent before it saw the reply they follow) that were already read with an
// earlier burst stay in that flight. So a client that waits for every reply
// makes one flight per message (SOCKS5: 2 without auth, 3 with; SOCKS4/4a
// and CONNECT: 1), and a client that pipelines its whole handshake makes 1.
// Counting stops when the tunnel opens: application bytes are not flights.
package proxytest
