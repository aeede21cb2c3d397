// dial.go is a little over 400 lines on purpose: the Dialer and the setup of one
// tunnel (check, resolve, handshake, error and log) are one job, and its protocols
// already live in socks.go and connect.go; splitting further would part setup's methods.

package runtime

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"
)

// Dialer opens connections over one route. A nil Proxy dials direct.
//
// Through a proxy, DialContext runs the whole set-up (TCP to the proxy, TLS
// to an https proxy, authentication, the CONNECT or SOCKS request) within
// the proxy's Timeout (DefaultTimeout when zero) and the caller's context,
// closes the socket as soon as the context is done, and clears every
// deadline it set before returning.
// No goroutine outlives a dial. Errors are *ProxyError.
type Dialer struct {
	Proxy     *Proxy
	Exchange  string    // for errors and logs
	Transport Transport // for errors and logs
	// Forward dials the TCP connection to the proxy (or the target when
	// direct); nil means a zero net.Dialer.
	Forward ContextDialer
	// Logger receives one DEBUG line per tunnel (and per failed set-up); nil
	// means slog.Default().
	Logger *slog.Logger
	// Resolver looks target names up locally for socks5 and socks4 proxies;
	// nil means net.DefaultResolver.
	Resolver *net.Resolver
}

// ContextDialer dials a network connection; *net.Dialer is one.
type ContextDialer interface {
	DialContext(ctx context.Context, network, addr string) (net.Conn, error)
}

// DialContext connects to addr through the route. network is "tcp", "tcp4"
// or "tcp6" (for a locally resolved name it picks the address family; "tcp"
// prefers IPv4).
//
// The returned connection is the plain *net.TCPConn (or *tls.Conn for an
// https proxy, or whatever Forward returned) unless the proxy sent bytes
// right after its reply, or the proxy is optimistic; then it is a wrapper
// with a NetConn method.
func (d *Dialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	if d.Proxy == nil {
		return d.forward().DialContext(ctx, network, addr)
	}
	return d.dialProxy(ctx, d.Proxy, network, addr)
}

func (d *Dialer) dialProxy(ctx context.Context, p *Proxy, network, addr string) (net.Conn, error) {
	start := time.Now()
	t, err := d.check(p, network, addr)
	if err != nil {
		return nil, d.configError(p, err)
	}
	timeout := p.setupTimeout()
	s := &setup{d: d, p: p, start: start, timeout: timeout, deadline: start.Add(timeout), own: true}
	if dl, ok := ctx.Deadline(); ok && dl.Before(s.deadline) {
		s.deadline, s.own = dl, false
	}
	ctx, cancel := context.WithDeadline(ctx, s.deadline)
	defer cancel()
	s.ctx = ctx

	c, err := s.run(network, t)
	if err != nil {
		pe := s.proxyError(err)
		d.logFailure(ctx, p, s, pe)
		return nil, pe
	}
	d.logTunnel(ctx, p, s)
	return c, nil
}

// check validates everything that needs no network I/O.
func (d *Dialer) check(p *Proxy, network, addr string) (target, error) {
	var t target
	if err := p.unresolved(); err != nil {
		return t, err
	}
	switch network {
	case "tcp", "tcp4", "tcp6":
	default:
		return t, protoErr("network " + strconv.Quote(network) + " cannot go through a proxy (want tcp)")
	}
	if p.Scheme < HTTP || p.Scheme > SOCKS5H {
		return t, protoErr("unsupported proxy scheme " + p.Scheme.String())
	}
	if p.Host == "" || p.Port == 0 {
		return t, protoErr("proxy needs a host and a port")
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return t, protoErr("bad target address: want host:port")
	}
	if host == "" {
		return t, protoErr("target host is empty")
	}
	if strings.IndexByte(host, '%') >= 0 {
		return t, protoErr("target with an IPv6 zone cannot go through a proxy")
	}
	if !validTargetHost(host) {
		// The host goes into the CONNECT request line and Host: field, or
		// a SOCKS request: a CR, LF, space or other byte outside a host
		// name would let it split the request (and carry the route's
		// Proxy-Authorization into an injected one). Never echoed.
		return t, protoErr("target host is neither an IP address nor a host name (letters, digits, '-', '.', '_'; at most 253 bytes)")
	}
	n, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		pn, lerr := -1, error(nil)
		if validPortName(port) {
			pn, lerr = net.LookupPort(network, port)
		}
		if lerr != nil || pn <= 0 || pn > maxPort {
			return t, protoErr("bad target port (want 1..65535 or a service name)")
		}
		n = uint64(pn)
	}
	if n == 0 {
		return t, protoErr("target port 0")
	}
	t.host, t.port = host, uint16(n)
	if ip, err := netip.ParseAddr(host); err == nil {
		t.ip = ip.Unmap()
		if network == "tcp4" && !t.ip.Is4() || network == "tcp6" && !t.ip.Is6() {
			return t, protoErr("target " + host + " does not match network " + network)
		}
	}
	switch p.Scheme {
	case SOCKS4, SOCKS4A:
		if t.ip.Is6() {
			return t, protoErr(p.Scheme.String() + " cannot reach an IPv6 target (use socks5)")
		}
		if network == "tcp6" {
			return t, protoErr(p.Scheme.String() + " cannot reach IPv6 targets (use socks5)")
		}
		if !p.Password.IsZero() {
			return t, protoErr(p.Scheme.String() + " takes a user id only, not a password")
		}
		if strings.IndexByte(p.User, 0) >= 0 {
			return t, protoErr("socks4 user id contains a NUL byte")
		}
	}
	if reason := credentialProblem(p); reason != "" {
		return t, protoErr(reason)
	}
	return t, nil
}

func (d *Dialer) configError(p *Proxy, err error) *ProxyError {
	return &ProxyError{Exchange: d.Exchange, Transport: d.Transport, Stage: StageConfig, Proxy: p.String(), Err: err}
}

var zeroDialer net.Dialer

func (d *Dialer) forward() ContextDialer {
	if d.Forward != nil {
		return d.Forward
	}
	return &zeroDialer
}

func (d *Dialer) logger() *slog.Logger {
	if d.Logger != nil {
		return d.Logger
	}
	return slog.Default()
}

func (d *Dialer) logTunnel(ctx context.Context, p *Proxy, s *setup) {
	l := d.logger()
	if !l.Enabled(ctx, slog.LevelDebug) {
		return
	}
	l.LogAttrs(ctx, slog.LevelDebug, "proxy tunnel",
		slog.String("exchange", d.Exchange),
		slog.String("transport", d.Transport.String()),
		slog.String("scheme", p.Scheme.String()),
		slog.String("proxy", p.Addr()),
		slog.Duration("setup", time.Since(s.start)),
		slog.Bool("optimistic", p.Optimistic),
	)
}

func (d *Dialer) logFailure(ctx context.Context, p *Proxy, s *setup, pe *ProxyError) {
	l := d.logger()
	if !l.Enabled(ctx, slog.LevelDebug) {
		return
	}
	l.LogAttrs(context.WithoutCancel(ctx), slog.LevelDebug, "proxy tunnel failed",
		slog.String("exchange", d.Exchange),
		slog.String("transport", d.Transport.String()),
		slog.String("scheme", p.Scheme.String()),
		slog.String("proxy", p.Addr()),
		slog.String("stage", string(pe.Stage)),
		slog.Duration("setup", time.Since(s.start)),
		slog.String("error", pe.Err.Error()),
	)
}

// validTargetHost reports whether host may be sent to a proxy: an IP
// address (IPv6 without a zone) or a host name of letters, digits, '-', '.'
// and '_', 1..253 bytes.
func validTargetHost(host string) bool {
	if ip, err := netip.ParseAddr(host); err == nil {
		return ip.Zone() == ""
	}
	return host != "" && validHostName(host)
}

// maxServiceNameLen bounds a target port given as a service name.
const maxServiceNameLen = 32

// validPortName reports whether s may be a service name ("https"): letters,
// digits and '-', at most maxServiceNameLen bytes.
func validPortName(s string) bool {
	if s == "" || len(s) > maxServiceNameLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// target is a dial's destination. ip is valid for IP literals and for
// names resolved locally; host keeps the text the caller gave.
type target struct {
	host string
	ip   netip.Addr
	port uint16
}

// setup is one dial's state.
type setup struct {
	d        *Dialer
	p        *Proxy
	ctx      context.Context
	start    time.Time
	timeout  time.Duration
	deadline time.Time // effective: the earlier of start+timeout and ctx's
	own      bool      // deadline is start+timeout, not the caller's
}

// run does the network part of the set-up and returns the tunnel.
func (s *setup) run(network string, t target) (net.Conn, error) {
	p := s.p
	if (p.Scheme == SOCKS4 || p.Scheme == SOCKS5) && !t.ip.IsValid() {
		ip, err := s.resolve(network, t.host)
		if err != nil {
			return nil, step(StageResolve, err)
		}
		t.ip = ip
	}
	conn, err := s.d.forward().DialContext(s.ctx, "tcp", p.Addr())
	if err != nil {
		return nil, step(StageConnect, err)
	}
	// The context closes the socket at once; the deadline bounds every
	// read and write even where Forward's conn ignores the context.
	closed := make(chan struct{})
	stop := context.AfterFunc(s.ctx, func() {
		_ = conn.Close()
		close(closed)
	})
	_ = conn.SetDeadline(s.deadline)

	c, err := s.handshake(conn, t)
	if !stop() {
		<-closed
		if err == nil {
			err = step(StageReply, s.ctx.Err())
		}
	}
	if err != nil {
		_ = conn.Close()
		return nil, err
	}
	if _, ok := c.(*optimisticConn); !ok {
		if err := conn.SetDeadline(time.Time{}); err != nil {
			_ = conn.Close()
			return nil, step(StageReply, err)
		}
	}
	return c, nil
}

func (s *setup) resolve(network, host string) (netip.Addr, error) {
	r := s.d.Resolver
	if r == nil {
		r = net.DefaultResolver
	}
	want := "ip"
	switch {
	case s.p.Scheme == SOCKS4, network == "tcp4":
		want = "ip4"
	case network == "tcp6":
		want = "ip6"
	}
	ips, err := r.LookupNetIP(s.ctx, want, host)
	if err != nil {
		return netip.Addr{}, err
	}
	var first netip.Addr
	for _, ip := range ips {
		ip = ip.Unmap()
		if ip.Is4() {
			return ip, nil // "tcp" prefers IPv4, as curl does for SOCKS
		}
		if !first.IsValid() {
			first = ip
		}
	}
	if first.IsValid() && want != "ip4" {
		return first, nil
	}
	return netip.Addr{}, protoErr("no IPv4 address for " + host + " (" + s.p.Scheme.String() + " needs one)")
}

func (s *setup) handshake(conn net.Conn, t target) (net.Conn, error) {
	switch s.p.Scheme {
	case HTTP, HTTPS:
		return s.connectHTTP(conn, t)
	case SOCKS5, SOCKS5H:
		return s.socks5(conn, t)
	default:
		return s.socks4(conn, t)
	}
}

// optimistic returns the tunnel whose replies check reads on first Read,
// bounded by the set-up deadline measured from the dial's start.
func (s *setup) optimistic(conn net.Conn, check func(net.Conn) ([]byte, error)) net.Conn {
	es := &setup{d: s.d, p: s.p, start: s.start, timeout: s.timeout, own: true}
	return newOptimisticConn(conn, s.start.Add(s.timeout), check, func(err error) error {
		pe := es.proxyError(err)
		// Some servers (microsocks) misread a pipelined handshake and
		// answer as if the credentials were wrong, or not at all.
		pe.Err = fmt.Errorf("%w (optimistic handshake: the proxy may not accept pipelined requests)", pe.Err)
		return pe
	})
}

// proxyError turns err into a *ProxyError, mapping a done context or a
// passed deadline to context.Canceled or a timeout error.
func (s *setup) proxyError(err error) *ProxyError {
	se, ok := err.(*stepError)
	if !ok {
		se = &stepError{stage: StageReply, err: err}
	}
	return &ProxyError{
		Exchange:  s.d.Exchange,
		Transport: s.d.Transport,
		Stage:     se.stage,
		Proxy:     s.p.String(),
		Code:      se.code,
		Status:    se.status,
		Err:       s.cause(se.err),
	}
}

// cause maps I/O errors that a done context or a deadline provoked.
// Protocol errors (a refusal, a malformed reply) are kept as they are.
func (s *setup) cause(err error) error {
	if isProtocolError(err) {
		return err
	}
	if s.ctx != nil {
		if cerr := s.ctx.Err(); cerr != nil {
			if cerr == context.DeadlineExceeded {
				return s.timeoutErr()
			}
			if c := context.Cause(s.ctx); c != nil && c != cerr {
				return fmt.Errorf("%w: %w", cerr, c)
			}
			return cerr
		}
	}
	if errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, context.DeadlineExceeded) {
		return s.timeoutErr()
	}
	return err
}

func (s *setup) timeoutErr() error {
	if s.own {
		return &timeoutError{d: s.timeout}
	}
	return &timeoutError{}
}
