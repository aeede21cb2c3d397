package target

import (
	"crypto/tls"
	"encoding/json"
	"io"
	"log"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// ExchangeName is a host name in the server's certificate besides
// 127.0.0.1, ::1 and localhost. It does not resolve: use it as a TLS
// ServerName, or through a proxy that is told the address.
const ExchangeName = "exchange.test"

// Server is an exchange-like test target on loopback: REST (GET /ping) and a
// WebSocket echo (/ws), over TLS (HTTPSAddr: https:// and wss://) and plain
// TCP (HTTPAddr: http:// and ws://). Each listens on 127.0.0.1 and, when the
// machine has IPv6 loopback, on [::1] with the same port, so "localhost"
// works whichever address it resolves to. It counts the connections it
// accepts and records their peers.
type Server struct {
	CA        *CA
	HTTPSAddr string // 127.0.0.1:port, TLS
	HTTPAddr  string // 127.0.0.1:port, plain
	HTTPSPort int
	HTTPPort  int
	IPv6      bool // also listening on [::1] with the same ports

	tlsConns   atomic.Int64
	plainConns atomic.Int64
	wsSessions atomic.Int64
	restHits   atomic.Int64

	mu     sync.Mutex
	peers  []string
	wsOpen map[*websocket.Conn]struct{}
	closed bool

	servers []*http.Server
	wg      sync.WaitGroup
}

// Ping is the JSON body of GET /ping.
type Ping struct {
	Pong  bool   `json:"pong"`
	Peer  string `json:"peer"`  // the connection's remote address as the server saw it
	TLS   bool   `json:"tls"`   // the request came over TLS
	Host  string `json:"host"`  // the Host header
	Proto string `json:"proto"` // HTTP/1.1 or HTTP/2.0
	SNI   string `json:"sni,omitempty"`
}

// PeerHeader is the response header of the WebSocket upgrade that carries
// the connection's remote address as the server saw it.
const PeerHeader = "X-Target-Peer"

// Start starts a Server with a certificate from ca (a new CA when nil) for
// 127.0.0.1, ::1, localhost, ExchangeName and *.ExchangeName. t.Cleanup
// stops it and waits for its goroutines.
func Start(t testing.TB, ca *CA) *Server {
	t.Helper()
	if ca == nil {
		var err error
		if ca, err = NewCA(); err != nil {
			t.Fatal(err)
		}
	}
	cert, err := ca.Issue("127.0.0.1", "::1", "localhost", ExchangeName, "*."+ExchangeName)
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{CA: ca, wsOpen: map[*websocket.Conn]struct{}{}}
	tlsCfg := &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"http/1.1"}, MinVersion: tls.VersionTLS12}

	plain4, plain6 := listenPair(t)
	tls4, tls6 := listenPair(t)
	s.HTTPAddr, s.HTTPPort = plain4.Addr().String(), plain4.Addr().(*net.TCPAddr).Port
	s.HTTPSAddr, s.HTTPSPort = tls4.Addr().String(), tls4.Addr().(*net.TCPAddr).Port
	s.IPv6 = plain6 != nil && tls6 != nil
	t.Cleanup(s.Close)

	serve := func(l net.Listener, secure bool) {
		if l == nil {
			return
		}
		cl := &countingListener{Listener: l, s: s, secure: secure}
		var ln net.Listener = cl
		if secure {
			ln = tls.NewListener(cl, tlsCfg)
		}
		hs := &http.Server{
			Handler:           s.mux(),
			ReadHeaderTimeout: 30 * time.Second,
			ErrorLog:          log.New(io.Discard, "", 0),
		}
		s.servers = append(s.servers, hs)
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			_ = hs.Serve(ln)
		}()
	}
	serve(plain4, false)
	serve(tls4, true)
	if s.IPv6 {
		serve(plain6, false)
		serve(tls6, true)
	} else {
		for _, l := range []net.Listener{plain6, tls6} {
			if l != nil {
				l.Close()
			}
		}
	}
	return s
}

// listenPair listens on 127.0.0.1:0 and, when possible, on [::1] with the
// same port (nil when IPv6 loopback is missing or the port is taken there).
func listenPair(t testing.TB) (net.Listener, net.Listener) {
	t.Helper()
	var first net.Listener
	for attempt := 0; attempt < 20; attempt++ {
		l4, err := net.Listen("tcp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := l4.Addr().(*net.TCPAddr).Port
		l6, err := net.Listen("tcp6", "[::1]:"+strconv.Itoa(port))
		if err == nil {
			if first != nil {
				first.Close()
			}
			return l4, l6
		}
		if first == nil {
			first = l4 // keep one in case IPv6 never works
		} else {
			l4.Close()
		}
		probe, err6 := net.Listen("tcp6", "[::1]:0")
		if err6 != nil {
			break // no IPv6 loopback at all
		}
		probe.Close()
	}
	return first, nil
}

func (s *Server) mux() http.Handler {
	up := websocket.Upgrader{
		HandshakeTimeout: 30 * time.Second,
		CheckOrigin:      func(*http.Request) bool { return true },
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /ping", func(w http.ResponseWriter, r *http.Request) {
		s.restHits.Add(1)
		p := Ping{Pong: true, Peer: r.RemoteAddr, TLS: r.TLS != nil, Host: r.Host, Proto: r.Proto}
		if r.TLS != nil {
			p.SNI = r.TLS.ServerName
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(p)
	})
	mux.HandleFunc("/ws", func(w http.ResponseWriter, r *http.Request) {
		h := http.Header{}
		h.Set(PeerHeader, r.RemoteAddr)
		c, err := up.Upgrade(w, r, h)
		if err != nil {
			return // Upgrade wrote the error response
		}
		if !s.trackWS(c, true) {
			c.Close()
			return
		}
		defer s.trackWS(c, false)
		defer c.Close()
		s.wsSessions.Add(1)
		for {
			_ = c.SetReadDeadline(time.Now().Add(2 * time.Minute))
			mt, msg, err := c.ReadMessage()
			if err != nil {
				return
			}
			_ = c.SetWriteDeadline(time.Now().Add(30 * time.Second))
			if err := c.WriteMessage(mt, msg); err != nil {
				return
			}
		}
	})
	return mux
}

func (s *Server) trackWS(c *websocket.Conn, add bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if add {
		if s.closed {
			return false
		}
		s.wsOpen[c] = struct{}{}
	} else {
		delete(s.wsOpen, c)
	}
	return true
}

// Close stops the server, closes every connection (WebSocket sessions too)
// and waits for the server's goroutines. Start registers it with t.Cleanup.
func (s *Server) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	for c := range s.wsOpen {
		c.NetConn().Close()
	}
	s.mu.Unlock()
	for _, hs := range s.servers {
		_ = hs.Close()
	}
	s.wg.Wait()
	// Handlers of hijacked connections may still be returning.
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		s.mu.Lock()
		n := len(s.wsOpen)
		s.mu.Unlock()
		if n == 0 {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Conns returns the number of connections accepted on all listeners.
func (s *Server) Conns() int64 { return s.tlsConns.Load() + s.plainConns.Load() }

// TLSConns returns the number of connections accepted on the TLS listeners.
func (s *Server) TLSConns() int64 { return s.tlsConns.Load() }

// PlainConns returns the number of connections accepted on the plain listeners.
func (s *Server) PlainConns() int64 { return s.plainConns.Load() }

// WebSocketSessions returns the number of WebSocket upgrades served.
func (s *Server) WebSocketSessions() int64 { return s.wsSessions.Load() }

// RESTHits returns the number of GET /ping requests served.
func (s *Server) RESTHits() int64 { return s.restHits.Load() }

// Peers returns the remote addresses of the accepted connections, in order.
func (s *Server) Peers() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.peers...)
}

// URL returns scheme://host:port/path for scheme https, wss (TLS port) or
// http, ws (plain port); host is a name or address without brackets.
func (s *Server) URL(scheme, host, path string) string {
	port := s.HTTPPort
	if scheme == "https" || scheme == "wss" {
		port = s.HTTPSPort
	}
	return scheme + "://" + net.JoinHostPort(host, strconv.Itoa(port)) + path
}

// ClientTLS returns a TLS client config trusting the server's CA, with
// serverName (may be "" to take it from the URL).
func (s *Server) ClientTLS(serverName string) *tls.Config { return s.CA.ClientConfig(serverName) }

type countingListener struct {
	net.Listener
	s      *Server
	secure bool
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	if l.secure {
		l.s.tlsConns.Add(1)
	} else {
		l.s.plainConns.Add(1)
	}
	l.s.mu.Lock()
	l.s.peers = append(l.s.peers, c.RemoteAddr().String())
	l.s.mu.Unlock()
	return c, nil
}
