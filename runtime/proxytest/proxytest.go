// Package proxytest runs in-process SOCKS4/4a, SOCKS5 and HTTP CONNECT
// (plain and TLS) proxies for tests, as net/http/httptest runs HTTP
// servers. Each Server records what every client connection sent (the
// target exactly as sent, host name or address; the credentials; the number
// of client flights before the tunnel opened) and can misbehave on demand:
// stall, close mid-handshake, answer with a wrong version, refuse with a
// given reply code or HTTP status, send an oversized or garbage reply, or
// send data right after its reply.
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

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
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

// Misbehave lists the ways a Server can break the protocol. The zero value
// behaves.
type Misbehave struct {
	// Stall reads the client's first message, then never answers (until
	// the client or Close ends the connection).
	Stall bool
	// CloseMidHandshake reads the client's first message, then closes.
	CloseMidHandshake bool
	// WrongVersion answers the first message with a wrong protocol version
	// (SOCKS5 0x04, SOCKS4 0x05, HTTP/2.0).
	WrongVersion bool
	// GarbageReply answers the first message with bytes that are no reply
	// of the protocol (an HTTP error page for SOCKS, binary for HTTP).
	GarbageReply bool
	// OversizedReply sends a reply larger than any client should accept
	// (HTTP: a 64 KiB header; SOCKS5: a granted reply followed by 64 KiB
	// that the client must treat as tunnel data, never as reply).
	OversizedReply bool
	// PartialReply sends the first half of the final reply, then closes.
	PartialReply bool
	// ReplyCode refuses the request with this SOCKS reply code (SOCKS5
	// 0x01..0xff, SOCKS4 0x5b..0x5d or anything else); 0 grants it.
	ReplyCode byte
	// Status answers CONNECT with this HTTP status instead of 200 (407
	// adds a Proxy-Authenticate field).
	Status int
	// DataAfterReply is sent in the same write as the success reply, as a
	// target that speaks first would.
	DataAfterReply []byte
	// ReplyDelay waits before each reply.
	ReplyDelay time.Duration
	// BoundAddr is the SOCKS5 reply's BND.ADDR: an IPv4 or IPv6 literal or
	// a host name; "" means the proxy's local address toward the target.
	BoundAddr string
}

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

// session is one client connection's handshake.
type session struct {
	s       *Server
	rec     *Record
	mis     Misbehave
	conn    net.Conn
	br      *bufio.Reader
	replied bool // the server wrote since the last counted flight
	open    bool // the tunnel is open: flights are no longer counted
}

// Read counts flights (see the package doc); the bufio.Reader on top only
// calls it when its buffer is empty.
func (ss *session) Read(p []byte) (int, error) {
	n, err := ss.conn.Read(p)
	if n > 0 && !ss.open {
		ss.s.mu.Lock()
		if ss.rec.Flights == 0 || ss.replied {
			ss.rec.Flights++
			ss.replied = false
		}
		ss.s.mu.Unlock()
	}
	return n, err
}

// reply writes b after the configured delay.
func (ss *session) reply(b []byte) error {
	if d := ss.mis.ReplyDelay; d > 0 {
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-ss.s.ctx.Done():
			t.Stop()
			return ss.s.ctx.Err()
		}
	}
	ss.s.mu.Lock()
	ss.replied = true
	ss.s.mu.Unlock()
	_, err := ss.conn.Write(b)
	return err
}

func (ss *session) set(f func(r *Record)) {
	ss.s.mu.Lock()
	f(ss.rec)
	ss.s.mu.Unlock()
}

func (ss *session) fail(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	ss.set(func(r *Record) {
		if r.Err == "" {
			r.Err = msg
		}
	})
}

// afterFirst applies the misbehaviours that act after the client's first
// message; it reports whether the handshake must end.
func (ss *session) afterFirst(garbage []byte) bool {
	switch {
	case ss.mis.Stall:
		ss.fail("stalled on purpose")
		select {
		case <-ss.s.ctx.Done():
		case <-ss.waitClientGone():
		}
		return true
	case ss.mis.CloseMidHandshake:
		ss.fail("closed mid-handshake on purpose")
		return true
	case ss.mis.GarbageReply:
		ss.fail("garbage reply on purpose")
		_ = ss.reply(garbage)
		return true
	}
	return false
}

// waitClientGone returns a channel closed when the client closes (or sends
// anything: a stalled server reads and discards until EOF).
func (ss *session) waitClientGone() <-chan struct{} {
	ch := make(chan struct{})
	ss.s.wg.Add(1)
	go func() {
		defer ss.s.wg.Done()
		_, _ = io.Copy(io.Discard, ss.br)
		close(ch)
	}()
	return ch
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

func (ss *session) opened() {
	ss.open = true
	ss.set(func(r *Record) { r.Tunnel = true })
	ss.s.mu.Lock()
	ss.s.tunnels++
	ss.s.mu.Unlock()
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

func (ss *session) readByte() (byte, error) { return ss.br.ReadByte() }

func (ss *session) readFull(n int) ([]byte, error) {
	b := make([]byte, n)
	_, err := io.ReadFull(ss.br, b)
	return b, err
}

// readCString reads a NUL-terminated string of at most 1024 bytes.
func (ss *session) readCString() (string, error) {
	var b []byte
	for len(b) <= 1024 {
		c, err := ss.br.ReadByte()
		if err != nil {
			return "", err
		}
		if c == 0 {
			return string(b), nil
		}
		b = append(b, c)
	}
	return "", errors.New("string too long")
}

var socksGarbage = []byte("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")

func (ss *session) socks5() net.Conn {
	ss.set(func(r *Record) { r.Protocol = "socks5" })
	head, err := ss.readFull(2)
	if err != nil {
		ss.fail("greeting: %v", err)
		return nil
	}
	if head[0] != 5 {
		ss.fail("greeting: version %#x", head[0])
		return nil
	}
	methods, err := ss.readFull(int(head[1]))
	if err != nil {
		ss.fail("greeting: %v", err)
		return nil
	}
	ss.set(func(r *Record) { r.Methods = methods })
	if ss.afterFirst(socksGarbage) {
		return nil
	}
	ver := byte(5)
	if ss.mis.WrongVersion {
		ver = 4
	}
	required := ss.s.cfg.User != "" || ss.s.cfg.Password != ""
	offered := func(m byte) bool { return strings.IndexByte(string(methods), m) >= 0 }
	var method byte = 0xff
	switch {
	case required && offered(2):
		method = 2
	case !required && offered(0):
		method = 0
	case !required && offered(2):
		method = 2
	}
	if err := ss.reply([]byte{ver, method}); err != nil || method == 0xff || ss.mis.WrongVersion {
		ss.fail("greeting: no acceptable method (or wrong version on purpose)")
		return nil
	}
	if method == 2 {
		h, err := ss.readFull(2)
		if err != nil {
			ss.fail("auth: %v", err)
			return nil
		}
		user, err := ss.readFull(int(h[1]))
		if err != nil {
			ss.fail("auth: %v", err)
			return nil
		}
		pl, err := ss.readByte()
		if err != nil {
			ss.fail("auth: %v", err)
			return nil
		}
		pass, err := ss.readFull(int(pl))
		if err != nil {
			ss.fail("auth: %v", err)
			return nil
		}
		ss.set(func(r *Record) { r.User, r.Password, r.Auth = string(user), string(pass), true })
		ok := h[0] == 1 && (!required || string(user) == ss.s.cfg.User && string(pass) == ss.s.cfg.Password)
		status := byte(0)
		if !ok {
			status = 1
		}
		if err := ss.reply([]byte{1, status}); err != nil || !ok {
			ss.fail("auth: failed")
			return nil
		}
	}
	h, err := ss.readFull(4)
	if err != nil {
		ss.fail("request: %v", err)
		return nil
	}
	var host string
	isName := false
	switch h[3] {
	case 1:
		a, err := ss.readFull(4)
		if err != nil {
			ss.fail("request: %v", err)
			return nil
		}
		host = netip.AddrFrom4([4]byte(a)).String()
	case 4:
		a, err := ss.readFull(16)
		if err != nil {
			ss.fail("request: %v", err)
			return nil
		}
		host = netip.AddrFrom16([16]byte(a)).String()
	case 3:
		n, err := ss.readByte()
		if err != nil {
			ss.fail("request: %v", err)
			return nil
		}
		a, err := ss.readFull(int(n))
		if err != nil {
			ss.fail("request: %v", err)
			return nil
		}
		host, isName = string(a), true
	default:
		_ = ss.reply([]byte{5, 8, 0, 1, 0, 0, 0, 0, 0, 0})
		ss.fail("request: address type %#x", h[3])
		return nil
	}
	pb, err := ss.readFull(2)
	if err != nil {
		ss.fail("request: %v", err)
		return nil
	}
	target := net.JoinHostPort(host, strconv.Itoa(int(binary.BigEndian.Uint16(pb))))
	ss.set(func(r *Record) { r.Target, r.TargetIsName = target, isName })
	if h[0] != 5 || h[1] != 1 {
		_ = ss.reply([]byte{5, 7, 0, 1, 0, 0, 0, 0, 0, 0})
		ss.fail("request: version %#x command %#x", h[0], h[1])
		return nil
	}
	if code := ss.mis.ReplyCode; code != 0 {
		_ = ss.reply([]byte{5, code, 0, 1, 0, 0, 0, 0, 0, 0})
		ss.fail("refused with reply %#x on purpose", code)
		return nil
	}
	up, err := ss.s.dial(target)
	if err != nil {
		_ = ss.reply([]byte{5, 5, 0, 1, 0, 0, 0, 0, 0, 0})
		ss.fail("dial target: %v", err)
		return nil
	}
	rep := []byte{5, 0, 0}
	bound := ss.mis.BoundAddr
	if bound == "" {
		bound = up.LocalAddr().String()
	}
	bhost, bport, err := net.SplitHostPort(bound)
	if err != nil {
		bhost, bport = bound, "0"
	}
	pn, _ := strconv.Atoi(bport)
	if ip, err := netip.ParseAddr(bhost); err == nil && ip.Unmap().Is4() {
		a := ip.Unmap().As4()
		rep = append(append(rep, 1), a[:]...)
	} else if err == nil {
		a := ip.As16()
		rep = append(append(rep, 4), a[:]...)
	} else {
		rep = append(append(rep, 3, byte(len(bhost))), bhost...)
	}
	rep = binary.BigEndian.AppendUint16(rep, uint16(pn))
	return ss.grant(up, rep)
}

// grant sends the success reply (or its misbehaving variants) and opens the
// tunnel; it returns nil when the handshake must end instead.
func (ss *session) grant(up net.Conn, rep []byte) net.Conn {
	if ss.mis.PartialReply {
		_ = ss.reply(rep[:len(rep)/2])
		ss.fail("partial reply on purpose")
		ss.s.untrack(up)
		return nil
	}
	ss.opened()
	out := append(rep, ss.mis.DataAfterReply...)
	if ss.mis.OversizedReply && ss.s.cfg.Kind != HTTP && ss.s.cfg.Kind != HTTPS {
		out = append(out, make([]byte, 64<<10)...)
	}
	if err := ss.reply(out); err != nil {
		ss.s.untrack(up)
		return nil
	}
	return up
}

func (ss *session) socks4() net.Conn {
	ss.set(func(r *Record) { r.Protocol = "socks4" })
	h, err := ss.readFull(8)
	if err != nil {
		ss.fail("request: %v", err)
		return nil
	}
	user, err := ss.readCString()
	if err != nil {
		ss.fail("request: user id: %v", err)
		return nil
	}
	port := binary.BigEndian.Uint16(h[2:4])
	host := netip.AddrFrom4([4]byte(h[4:8])).String()
	isName := false
	if h[4] == 0 && h[5] == 0 && h[6] == 0 && h[7] != 0 {
		if host, err = ss.readCString(); err != nil {
			ss.fail("request: host: %v", err)
			return nil
		}
		isName = true
	}
	target := net.JoinHostPort(host, strconv.Itoa(int(port)))
	ss.set(func(r *Record) {
		r.User, r.Auth, r.Target, r.TargetIsName = user, user != "", target, isName
		if isName {
			r.Protocol = "socks4a"
		}
	})
	if ss.afterFirst(socksGarbage) {
		return nil
	}
	ver := byte(0)
	if ss.mis.WrongVersion {
		ver = 5
	}
	refuse := func(code byte, why string) net.Conn {
		_ = ss.reply([]byte{ver, code, 0, 0, 0, 0, 0, 0})
		ss.fail("%s", why)
		return nil
	}
	switch {
	case h[0] != 4 || h[1] != 1:
		return refuse(0x5b, fmt.Sprintf("version %#x command %#x", h[0], h[1]))
	case ss.s.cfg.User != "" && user != ss.s.cfg.User:
		return refuse(0x5d, "user id mismatch")
	case ss.mis.ReplyCode != 0:
		return refuse(ss.mis.ReplyCode, fmt.Sprintf("refused with reply %#x on purpose", ss.mis.ReplyCode))
	case ss.mis.WrongVersion:
		return refuse(0x5a, "wrong version on purpose")
	}
	up, err := ss.s.dial(target)
	if err != nil {
		return refuse(0x5b, "dial target: "+err.Error())
	}
	return ss.grant(up, []byte{0, 0x5a, h[2], h[3], 0, 0, 0, 0})
}

func (ss *session) connect() net.Conn {
	ss.set(func(r *Record) { r.Protocol = "http" })
	req, err := http.ReadRequest(ss.br)
	if err != nil {
		ss.fail("request: %v", err)
		return nil
	}
	if req.Body != nil {
		_ = req.Body.Close()
	}
	target := req.RequestURI
	host, _, _ := net.SplitHostPort(target)
	_, perr := netip.ParseAddr(host)
	ss.set(func(r *Record) { r.Target, r.TargetIsName = target, perr != nil })
	if pa := req.Header.Get("Proxy-Authorization"); pa != "" {
		user, pass, _ := parseBasic(pa)
		ss.set(func(r *Record) { r.User, r.Password, r.Auth = user, pass, true })
	}
	if ss.afterFirst([]byte("\x00\x01\x02garbage\xff\r\n\r\n")) {
		return nil
	}
	version := "HTTP/1.1"
	if ss.mis.WrongVersion {
		version = "HTTP/2.0"
	}
	status := func(code int, extra string) net.Conn {
		_ = ss.reply([]byte(version + " " + strconv.Itoa(code) + " " + http.StatusText(code) + "\r\n" + extra + "Content-Length: 0\r\nConnection: close\r\n\r\n"))
		ss.fail("answered %d", code)
		return nil
	}
	if req.Method != http.MethodConnect {
		return status(http.StatusMethodNotAllowed, "")
	}
	if ss.s.cfg.User != "" || ss.s.cfg.Password != "" {
		user, pass, ok := parseBasic(req.Header.Get("Proxy-Authorization"))
		if !ok || user != ss.s.cfg.User || pass != ss.s.cfg.Password {
			return status(http.StatusProxyAuthRequired, "Proxy-Authenticate: Basic realm=\"proxytest\"\r\n")
		}
	}
	if code := ss.mis.Status; code != 0 && code != 200 {
		extra := ""
		if code == http.StatusProxyAuthRequired {
			extra = "Proxy-Authenticate: Basic realm=\"proxytest\"\r\n"
		}
		return status(code, extra)
	}
	if ss.mis.WrongVersion {
		return status(200, "")
	}
	up, err := ss.s.dial(target)
	if err != nil {
		return status(http.StatusBadGateway, "")
	}
	rep := []byte(version + " 200 Connection established\r\n")
	if ss.mis.OversizedReply {
		rep = append(rep, "X-Padding: "...)
		rep = append(rep, strings.Repeat("a", 64<<10)...)
		rep = append(rep, "\r\n"...)
	}
	rep = append(rep, "\r\n"...)
	return ss.grant(up, rep)
}

// parseBasic decodes "Basic base64(user:pass)".
func parseBasic(h string) (user, pass string, ok bool) {
	scheme, enc, found := strings.Cut(h, " ")
	if !found || !strings.EqualFold(scheme, "Basic") {
		return "", "", false
	}
	dec, err := base64.StdEncoding.DecodeString(strings.TrimSpace(enc))
	if err != nil {
		return "", "", false
	}
	user, pass, ok = strings.Cut(string(dec), ":")
	return user, pass, ok
}

// selfSigned makes a throw-away certificate for loopback names.
func selfSigned() (*tls.Config, *x509.CertPool) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic("proxytest: " + err.Error())
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: "proxytest"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		panic("proxytest: " + err.Error())
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		panic("proxytest: " + err.Error())
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &tls.Config{
		Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key, Leaf: cert}},
		NextProtos:   []string{"http/1.1"},
	}, pool
}
