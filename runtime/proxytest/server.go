package proxytest

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/proxygen-go/proxygen/runtime"
)

// Kind is the protocol a Server speaks.
type Kind int

// The kinds of proxy.
const (
	SOCKS5 Kind = iota + 1 // SOCKS5 (socks5 and socks5h clients)
	SOCKS4                 // SOCKS4 and SOCKS4a
	HTTP                   // HTTP CONNECT over TCP
	HTTPS                  // HTTP CONNECT over TLS
)

func (k Kind) String() string {
	switch k {
	case SOCKS5:
		return "socks5"
	case SOCKS4:
		return "socks4"
	case HTTP:
		return "http"
	case HTTPS:
		return "https"
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// Config configures a Server.
type Config struct {
	Kind Kind
	// User and Password, when either is set, are required: SOCKS5
	// username/password (RFC 1929), HTTP Basic Proxy-Authorization. For
	// SOCKS4, User is the required user id (a mismatch gets reply 0x5d).
	// Without them the server asks for no authentication, but a SOCKS5
	// client that offers only username/password gets it, and anything
	// is accepted (and recorded).
	User, Password string
	// Addr is the listen address; "" means "127.0.0.1:0".
	Addr string
	// Hosts maps target host names to the addresses the proxy dials
	// instead (like /etc/hosts on the proxy's side): a name only the proxy
	// can resolve proves the client sent the name.
	Hosts map[string]string
	// Dial reaches the targets; nil means a net.Dialer with a 10 s timeout.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// TLSConfig serves HTTPS; nil means a fresh self-signed certificate for
	// 127.0.0.1, ::1 and localhost (see Server.RootCAs).
	TLSConfig *tls.Config
	// Misbehave makes the server break the protocol on purpose.
	Misbehave Misbehave
}

// authRequired reports whether clients must send User and Password.
func (c *Config) authRequired() bool { return c.User != "" || c.Password != "" }

// Record is what one client connection sent.
type Record struct {
	// Protocol is "socks5", "socks4", "socks4a" or "http".
	Protocol string
	// Target is host:port exactly as the client sent it: a host name for
	// socks5h, socks4a and HTTP, an address for socks5 and socks4 (an
	// IPv6 address in brackets).
	Target string
	// TargetIsName reports whether the client sent a host name.
	TargetIsName bool
	// Methods are the SOCKS5 authentication methods the client offered.
	Methods []byte
	// User and Password are the credentials as sent: SOCKS5 user/pass,
	// HTTP Basic (decoded), SOCKS4 user id (User).
	User, Password string
	// Auth reports whether the client sent credentials at all.
	Auth bool
	// Flights counts the client's handshake flights (see the package doc).
	Flights int
	// Tunnel reports whether a tunnel was opened.
	Tunnel bool
	// TLSServerName and ALPN are what an HTTPS client sent in its
	// ClientHello (SNI) and the protocol negotiated.
	TLSServerName, ALPN string
	// Err says why the server ended the handshake without a tunnel.
	Err string
}

// Server is a running test proxy.
type Server struct {
	cfg  Config
	ln   net.Listener
	tls  *tls.Config
	pool *x509.CertPool
	ctx  context.Context
	stop context.CancelFunc
	wg   sync.WaitGroup

	mu      sync.Mutex
	mis     Misbehave
	conns   map[net.Conn]struct{}
	records []*Record
	tunnels int
	closed  bool
}

// New starts a Server. It panics if it cannot listen, as httptest does.
func New(cfg Config) *Server {
	if cfg.Kind < SOCKS5 || cfg.Kind > HTTPS {
		panic("proxytest: unknown Kind " + cfg.Kind.String())
	}
	addr := cfg.Addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		panic("proxytest: listen: " + err.Error())
	}
	s := &Server{cfg: cfg, ln: ln, mis: cfg.Misbehave, conns: map[net.Conn]struct{}{}}
	s.ctx, s.stop = context.WithCancel(context.Background())
	if cfg.Kind == HTTPS {
		s.tls = cfg.TLSConfig
		if s.tls == nil {
			s.tls, s.pool = selfSigned()
		}
	}
	s.wg.Add(1)
	go s.serve()
	return s
}

// NewSOCKS5 starts a SOCKS5 proxy; a non-empty user or password is required
// from clients.
func NewSOCKS5(user, password string) *Server {
	return New(Config{Kind: SOCKS5, User: user, Password: password})
}

// NewSOCKS4 starts a SOCKS4/4a proxy; a non-empty userID is required.
func NewSOCKS4(userID string) *Server { return New(Config{Kind: SOCKS4, User: userID}) }

// NewHTTP starts an HTTP CONNECT proxy; a non-empty user or password is
// required as Basic Proxy-Authorization.
func NewHTTP(user, password string) *Server {
	return New(Config{Kind: HTTP, User: user, Password: password})
}

// NewHTTPS starts an HTTP CONNECT proxy over TLS with a self-signed
// certificate; Proxy sets the matching roots.
func NewHTTPS(user, password string) *Server {
	return New(Config{Kind: HTTPS, User: user, Password: password})
}

// Addr returns the listen address, host:port.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// URL returns the proxy URL for scheme, without credentials.
func (s *Server) URL(scheme runtime.Scheme) string { return scheme.String() + "://" + s.Addr() }

// Proxy returns a runtime.Proxy for this server with its credentials (and,
// for HTTPS with the generated certificate, its roots). scheme picks the
// client's flavour: socks5 or socks5h, socks4 or socks4a; it is ignored for
// HTTP and HTTPS servers.
func (s *Server) Proxy(scheme runtime.Scheme) *runtime.Proxy {
	ap := netip.MustParseAddrPort(s.Addr())
	switch s.cfg.Kind {
	case HTTP:
		scheme = runtime.HTTP
	case HTTPS:
		scheme = runtime.HTTPS
	}
	p := &runtime.Proxy{Scheme: scheme, Host: ap.Addr().String(), Port: ap.Port(), User: s.cfg.User, Password: runtime.NewSecret(s.cfg.Password)}
	if s.pool != nil {
		p.TLSConfig = &tls.Config{RootCAs: s.pool}
	}
	return p
}

// RootCAs returns the pool holding the generated certificate (nil when
// Config.TLSConfig was given or the server is not HTTPS).
func (s *Server) RootCAs() *x509.CertPool { return s.pool }

// SetMisbehave changes the misbehaviour for connections accepted from now.
func (s *Server) SetMisbehave(m Misbehave) {
	s.mu.Lock()
	s.mis = m
	s.mu.Unlock()
}

// Records returns a copy of what every connection so far sent, in accept
// order. A handshake still in progress shows what was seen so far.
func (s *Server) Records() []Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Record, len(s.records))
	for i, r := range s.records {
		out[i] = *r
		out[i].Methods = append([]byte(nil), r.Methods...)
	}
	return out
}

// Last returns the most recent Record (the zero Record if none).
func (s *Server) Last() Record {
	r := s.Records()
	if len(r) == 0 {
		return Record{}
	}
	return r[len(r)-1]
}

// Tunnels returns how many tunnels were opened.
func (s *Server) Tunnels() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tunnels
}

// Close stops the server, closes every connection it holds (client and
// target sides) and waits for its goroutines. It is safe to call twice.
func (s *Server) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		s.wg.Wait()
		return
	}
	s.closed = true
	for c := range s.conns {
		_ = c.Close()
	}
	s.mu.Unlock()
	s.stop()
	_ = s.ln.Close()
	s.wg.Wait()
}

// track registers c to be closed by Close; it reports false (and closes c)
// once the server is closed.
func (s *Server) track(c net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		_ = c.Close()
		return false
	}
	s.conns[c] = struct{}{}
	return true
}

func (s *Server) untrack(c net.Conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	_ = c.Close()
}

func (s *Server) serve() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			select {
			case <-s.ctx.Done():
				return
			case <-time.After(10 * time.Millisecond):
				continue
			}
		}
		s.serveConn(c)
	}
}

// serveConn handles an accepted connection on its own goroutine (a Switch
// hands over the connections it answers).
func (s *Server) serveConn(c net.Conn) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		_ = c.Close()
		return
	}
	s.conns[c] = struct{}{}
	rec := &Record{}
	s.records = append(s.records, rec)
	mis := s.mis
	s.wg.Add(1) // under mu, before Close can Wait
	s.mu.Unlock()
	go func() {
		defer s.wg.Done()
		defer s.untrack(c)
		s.handle(c, rec, mis)
	}()
}

func (s *Server) handle(c net.Conn, rec *Record, mis Misbehave) {
	ss := &session{s: s, rec: rec, mis: mis, conn: c}
	if s.cfg.Kind == HTTPS {
		tc := tls.Server(c, s.tls)
		_ = tc.SetDeadline(time.Now().Add(10 * time.Second))
		if err := tc.HandshakeContext(s.ctx); err != nil {
			ss.fail("tls: %v", err)
			return
		}
		_ = tc.SetDeadline(time.Time{})
		cs := tc.ConnectionState()
		ss.set(func(r *Record) { r.TLSServerName, r.ALPN = cs.ServerName, cs.NegotiatedProtocol })
		ss.conn = tc
		s.mu.Lock()
		s.conns[tc] = struct{}{}
		s.mu.Unlock()
		defer s.untrack(tc)
	}
	ss.br = bufio.NewReader(ss)
	var up net.Conn
	switch s.cfg.Kind {
	case SOCKS5:
		up = ss.socks5()
	case SOCKS4:
		up = ss.socks4()
	default:
		up = ss.connect()
	}
	if up == nil {
		return
	}
	defer s.untrack(up)
	s.relay(ss.conn, ss.br, up)
}

// dial reaches the target, through Config.Hosts and Config.Dial.
func (s *Server) dial(hostport string) (net.Conn, error) {
	host, port, _ := net.SplitHostPort(hostport)
	if a, ok := s.cfg.Hosts[strings.ToLower(host)]; ok {
		hostport = net.JoinHostPort(a, port)
	}
	ctx, cancel := context.WithTimeout(s.ctx, 10*time.Second)
	defer cancel()
	var c net.Conn
	var err error
	if s.cfg.Dial != nil {
		c, err = s.cfg.Dial(ctx, "tcp", hostport)
	} else {
		var d net.Dialer
		c, err = d.DialContext(ctx, "tcp", hostport)
	}
	if err != nil {
		return nil, err
	}
	if !s.track(c) {
		return nil, net.ErrClosed
	}
	return c, nil
}

// relay copies both ways until both directions end; a direction that ends
// half-closes the other side when it can.
func (s *Server) relay(client net.Conn, br *bufio.Reader, up net.Conn) {
	done := make(chan struct{})
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer close(done)
		_, _ = io.Copy(up, br)
		closeWrite(up)
	}()
	_, _ = io.Copy(client, up)
	closeWrite(client)
	<-done
}

func closeWrite(c net.Conn) {
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		if cw.CloseWrite() == nil {
			return
		}
	}
	_ = c.Close()
}
