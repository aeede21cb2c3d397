package runtime

import (
	"crypto/tls"
	"net/http"
	"time"
)

// Client tuning. REST clients keep a pool per exchange; set-up of a tunnel is
// bounded by the proxy's Timeout, the rest by these and the request context.
const (
	clientTLSHandshakeTimeout = 10 * time.Second
	clientIdleConnTimeout     = 90 * time.Second
	clientExpectContinue      = 1 * time.Second
	clientMaxIdleConns        = 100
	clientMaxIdleConnsPerHost = 16
)

// client returns the REST (ws false) or WebSocket client of the route,
// creating it on first use.
func (r *route) client(ws bool) *http.Client {
	i, newTransport := 0, newRESTTransport
	if ws {
		i, newTransport = 1, newWebSocketTransport
	}
	slot := &r.clients[i]
	if c := slot.Load(); c != nil {
		return c
	}
	c := &http.Client{Transport: newTransport(r.dial[i], r.clientTLS)}
	if slot.CompareAndSwap(nil, c) {
		return c
	}
	return slot.Load()
}

func (r *route) closeIdle() {
	for i := range r.clients {
		if c := r.clients[i].Load(); c != nil {
			c.CloseIdleConnections()
		}
	}
	r.namedMu.RLock()
	defer r.namedMu.RUnlock()
	for _, n := range r.named {
		n.closeIdle()
	}
}

// newRESTTransport builds the REST client's http.Transport: every
// connection dialed over d, HTTP/2 offered.
func newRESTTransport(d ContextDialer, tlsConf *tls.Config) *http.Transport {
	t := newBaseTransport(d, tlsConf)
	// A custom DialContext turns HTTP/2 off unless forced.
	t.ForceAttemptHTTP2 = true
	return t
}

// newWebSocketTransport builds the WebSocket client's http.Transport:
// every connection dialed over d, HTTP/1.1 only. WebSocket upgrades need
// HTTP/1.1: it offers only http/1.1 in ALPN and never switches the
// connection to HTTP/2 (a non-nil, empty TLSNextProto turns HTTP/2 off in
// every Go release the module supports).
func newWebSocketTransport(d ContextDialer, tlsConf *tls.Config) *http.Transport {
	t := newBaseTransport(d, tlsConf)
	if t.TLSClientConfig == nil {
		t.TLSClientConfig = &tls.Config{}
	}
	t.TLSClientConfig.NextProtos = []string{"http/1.1"}
	t.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
	t.ForceAttemptHTTP2 = false
	return t
}

// newBaseTransport builds an http.Transport that dials every connection
// over d. Transport.Proxy stays nil: HTTP proxies are used with CONNECT
// inside d.DialContext, never as forwarding proxies, and HTTP_PROXY & co.
// in the environment are never consulted.
func newBaseTransport(d ContextDialer, tlsConf *tls.Config) *http.Transport {
	t := &http.Transport{
		Proxy:                 nil,
		DialContext:           d.DialContext,
		TLSHandshakeTimeout:   clientTLSHandshakeTimeout,
		IdleConnTimeout:       clientIdleConnTimeout,
		ExpectContinueTimeout: clientExpectContinue,
		MaxIdleConns:          clientMaxIdleConns,
		MaxIdleConnsPerHost:   clientMaxIdleConnsPerHost,
	}
	if tlsConf != nil {
		t.TLSClientConfig = tlsConf.Clone()
	}
	return t
}
