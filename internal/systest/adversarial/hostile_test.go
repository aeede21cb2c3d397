// Hostile proxies: raw TCP servers that misbehave on purpose. See doc.go.

package adversarial_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"text/tabwriter"
	"time"

	"go.uber.org/goleak"

	"github.com/proxygen-go/proxygen/internal/testenv"
	"github.com/proxygen-go/proxygen/internal/testenv/target"
	"github.com/proxygen-go/proxygen/runtime"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const (
	// rowSlack is what a row may take beyond its proxy's timeout.
	rowSlack = 750 * time.Millisecond
	// shortTimeout is the set-up timeout of rows that end by timing out;
	// longTimeout is the timeout of the others, which must end well before.
	shortTimeout = 1 * time.Second
	longTimeout  = 3 * time.Second
	// fastLimit: rows that are not timeouts must end within this.
	fastLimit = 1500 * time.Millisecond
)

// Rows with credentials send testenv.Canary as the password; no error may
// carry it.

// row is one misbehaviour.
type row struct {
	name   string
	scheme runtime.Scheme
	addr   string // target; default depends on the scheme
	// timeout marks rows that must end by the set-up timeout.
	timeout bool
	creds   bool
	// optimistic rows dial at once; the failure comes on the first Read,
	// which check does (the row's time includes it).
	optimistic bool
	handler    func(f *fixture) func(c net.Conn)
	// check inspects the outcome. For a success, conn is the tunnel and
	// check must exercise it; the harness closes it afterwards.
	check func(t *testing.T, pe *runtime.ProxyError, conn net.Conn)
}

// fixture holds what TLS rows need.
type fixture struct {
	ca, otherCA *target.CA
	good        tls.Certificate // for 127.0.0.1 from ca
	wrongName   tls.Certificate // for other.test from ca
	untrusted   tls.Certificate // for 127.0.0.1 from otherCA
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ca, err := target.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	other, err := target.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{ca: ca, otherCA: other}
	if f.good, err = ca.Issue("127.0.0.1"); err != nil {
		t.Fatal(err)
	}
	if f.wrongName, err = ca.Issue("other.test"); err != nil {
		t.Fatal(err)
	}
	if f.untrusted, err = other.Issue("127.0.0.1"); err != nil {
		t.Fatal(err)
	}
	return f
}

// result is one printed line of the matrix.
type result struct {
	name, scheme, outcome, closed string
	took                          time.Duration
	failed                        bool
}

func wantErr(stage runtime.Stage, substr string, more ...func(t *testing.T, pe *runtime.ProxyError)) func(*testing.T, *runtime.ProxyError, net.Conn) {
	return func(t *testing.T, pe *runtime.ProxyError, conn net.Conn) {
		t.Helper()
		if pe == nil {
			t.Fatalf("dial succeeded, want a %s error containing %q", stage, substr)
		}
		if pe.Stage != stage {
			t.Errorf("stage %s, want %s (%v)", pe.Stage, stage, pe)
		}
		if !strings.Contains(pe.Error(), substr) {
			t.Errorf("error %q does not contain %q", pe.Error(), substr)
		}
		for _, m := range more {
			m(t, pe)
		}
	}
}

func isTimeout(t *testing.T, pe *runtime.ProxyError) {
	t.Helper()
	if !pe.Timeout() || !errors.Is(pe, context.DeadlineExceeded) || !errors.Is(pe, os.ErrDeadlineExceeded) {
		t.Errorf("not a timeout: %v", pe)
	}
	var ne net.Error
	if !errors.As(pe, &ne) || !ne.Timeout() {
		t.Errorf("not a net.Error timeout: %v", pe)
	}
}

func notTimeout(t *testing.T, pe *runtime.ProxyError) {
	t.Helper()
	if pe.Timeout() {
		t.Errorf("a timeout, want a protocol error: %v", pe)
	}
}

func isReset(t *testing.T, pe *runtime.ProxyError) {
	t.Helper()
	if !errors.Is(pe, syscall.ECONNRESET) {
		t.Errorf("want ECONNRESET: %v", pe)
	}
}

func isResetOrClosed(t *testing.T, pe *runtime.ProxyError) {
	t.Helper()
	if !errors.Is(pe, syscall.ECONNRESET) && !strings.Contains(pe.Error(), "proxy closed the connection") {
		t.Errorf("want a reset or a closed connection: %v", pe)
	}
}

func isAuth(status int) func(t *testing.T, pe *runtime.ProxyError) {
	return func(t *testing.T, pe *runtime.ProxyError) {
		t.Helper()
		if !errors.Is(pe, runtime.ErrProxyAuth) || !pe.AuthFailed() || pe.Status != status {
			t.Errorf("want an auth failure with status %d: %+v", status, pe)
		}
	}
}

func code(c int) func(t *testing.T, pe *runtime.ProxyError) {
	return func(t *testing.T, pe *runtime.ProxyError) {
		t.Helper()
		if pe.Code != c {
			t.Errorf("code %#x, want %#x", pe.Code, c)
		}
	}
}

// lastReadErr is the first-read error of the optimistic row running now.
var lastReadErr *runtime.ProxyError

// wantReadErr is the check of an optimistic row: the dial succeeds at once
// and the first Read returns the *runtime.ProxyError want checks.
func wantReadErr(want func(*testing.T, *runtime.ProxyError, net.Conn)) func(*testing.T, *runtime.ProxyError, net.Conn) {
	return func(t *testing.T, pe *runtime.ProxyError, conn net.Conn) {
		t.Helper()
		if pe != nil {
			t.Fatalf("optimistic dial failed: %v", pe)
		}
		// The caller's first bytes go out before any reply is read. A proxy
		// that already reset the connection may fail this write; the first
		// Read must still report the typed error.
		_, _ = conn.Write([]byte("GET / HTTP/1.1\r\n\r\n"))
		n, err := conn.Read(make([]byte, 64))
		var rpe *runtime.ProxyError
		lastReadErr = rpe
		if !errors.As(err, &rpe) {
			t.Fatalf("first read: %d bytes, %T %v; want a *runtime.ProxyError", n, err, err)
		}
		lastReadErr = rpe
		want(t, rpe, nil)
		if _, err := conn.Write([]byte("x")); err == nil {
			t.Error("write after a failed handshake succeeded")
		}
	}
}

// wantTunnel checks a working tunnel: prefix arrives first (bytes the proxy
// sent after its reply), then an echo round trip.
func wantTunnel(prefix string) func(*testing.T, *runtime.ProxyError, net.Conn) {
	return func(t *testing.T, pe *runtime.ProxyError, conn net.Conn) {
		t.Helper()
		if pe != nil {
			t.Fatalf("want a tunnel: %v", pe)
		}
		_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
		if prefix != "" {
			got := make([]byte, len(prefix))
			if _, err := io.ReadFull(conn, got); err != nil || string(got) != prefix {
				t.Fatalf("first bytes %q, %v; want %q", got, err, prefix)
			}
		}
		msg := []byte("ping through a hostile proxy")
		if _, err := conn.Write(msg); err != nil {
			t.Fatal(err)
		}
		got := make([]byte, len(msg))
		if _, err := io.ReadFull(conn, got); err != nil || !bytes.Equal(got, msg) {
			t.Fatalf("echo %q, %v", got, err)
		}
	}
}

func granted(atyp byte, addr []byte) []byte {
	b := []byte{5, 0, 0, atyp}
	if atyp == 3 {
		b = append(b, byte(len(addr)))
	}
	return append(append(b, addr...), 0x1f, 0x90)
}

const httpOK = "HTTP/1.1 200 Connection established\r\n\r\n"

// serveTLS wraps c in a TLS server with cert and returns it after the
// handshake (nil if it failed).
func serveTLS(c net.Conn, cert tls.Certificate) *tls.Conn {
	tc := tls.Server(c, &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"http/1.1"}})
	_ = tc.SetDeadline(time.Now().Add(5 * time.Second))
	if err := tc.Handshake(); err != nil {
		return nil
	}
	_ = tc.SetDeadline(time.Time{})
	return tc
}

func rows() []row {
	stallAfter := func(first func(c net.Conn) error) func(*fixture) func(net.Conn) {
		return func(*fixture) func(net.Conn) {
			return func(c net.Conn) { _ = first(c) } // then the harness drains: never answers
		}
	}
	h := func(fn func(c net.Conn)) func(*fixture) func(net.Conn) {
		return func(*fixture) func(net.Conn) { return fn }
	}
	httpReply := func(reply string, then func(c net.Conn)) func(*fixture) func(net.Conn) {
		return h(func(c net.Conn) {
			if _, err := readHTTPHead(c); err != nil {
				return
			}
			if _, err := io.WriteString(c, reply); err != nil {
				return
			}
			if then != nil {
				then(c)
			}
		})
	}
	socks5Reply := func(reply []byte, then func(c net.Conn)) func(*fixture) func(net.Conn) {
		return h(func(c net.Conn) {
			if socks5Handshake(c) != nil {
				return
			}
			if _, err := c.Write(reply); err != nil {
				return
			}
			if then != nil {
				then(c)
			}
		})
	}
	pad := strings.Repeat("a", 60)
	var oversized strings.Builder
	oversized.WriteString("HTTP/1.1 200 OK\r\n")
	for i := 0; oversized.Len() < 64<<10; i++ {
		fmt.Fprintf(&oversized, "X-Pad-%d: %s\r\n", i, pad)
	}
	oversized.WriteString("\r\n")

	return []row{
		{name: "never answers", scheme: runtime.SOCKS5, timeout: true,
			handler: stallAfter(readGreeting),
			check:   wantErr(runtime.StageGreeting, "timed out", isTimeout)},
		{name: "never answers CONNECT", scheme: runtime.HTTP, timeout: true,
			handler: stallAfter(func(c net.Conn) error { _, err := readHTTPHead(c); return err }),
			check:   wantErr(runtime.StageReply, "timed out", isTimeout)},
		{name: "one byte at a time forever (status line, then an endless field)", scheme: runtime.HTTP, timeout: true,
			handler: h(func(c net.Conn) {
				if _, err := readHTTPHead(c); err == nil {
					trickle(c, []byte("HTTP/1.1 200 OK\r\nX-Slow: "), 'z', 10*time.Millisecond, nil)
				}
			}),
			check: wantErr(runtime.StageReply, "timed out", isTimeout)},
		{name: "one byte at a time forever (255-byte bound name)", scheme: runtime.SOCKS5, timeout: true,
			handler: h(func(c net.Conn) {
				if socks5Handshake(c) == nil {
					trickle(c, []byte{5, 0, 0, 3, 255}, 'z', 10*time.Millisecond, nil)
				}
			}),
			check: wantErr(runtime.StageReply, "timed out", isTimeout)},
		{name: "truncated TLS ServerHello, then silence", scheme: runtime.HTTPS, timeout: true,
			handler: h(func(c net.Conn) {
				_, _ = c.Read(make([]byte, 4096)) // the ClientHello
				_, _ = c.Write([]byte{0x16, 0x03, 0x03, 0x00, 0x7a, 0x02, 0x00})
			}),
			check: wantErr(runtime.StageTLS, "timed out", isTimeout)},
		{name: "accepts, then closes at once", scheme: runtime.SOCKS5,
			handler: h(func(c net.Conn) { _ = c.Close() }),
			// The greeting may reach the closed socket, which then answers
			// with a reset: either is a clean, typed failure.
			check: wantErr(runtime.StageGreeting, "", notTimeout, func(t *testing.T, pe *runtime.ProxyError) {
				if !errors.Is(pe, io.ErrUnexpectedEOF) && !errors.Is(pe, syscall.ECONNRESET) {
					t.Errorf("want io.ErrUnexpectedEOF or a reset: %v", pe)
				}
			})},
		{name: "closes mid-handshake (after the method reply)", scheme: runtime.SOCKS5,
			handler: h(func(c net.Conn) {
				if socks5Handshake(c) == nil {
					_ = c.Close()
				}
			}),
			// The request may reach the closed socket (a reset) or not (EOF).
			check: wantErr(runtime.StageReply, "", notTimeout, isResetOrClosed)},
		{name: "half a reply, then FIN", scheme: runtime.SOCKS4,
			handler: h(func(c net.Conn) {
				if readSOCKS4Request(c) == nil {
					_, _ = c.Write([]byte{0, 0x5a, 0, 80})
					_ = c.Close()
				}
			}),
			check: wantErr(runtime.StageReply, "closed the connection", notTimeout)},
		{name: "RST after the CONNECT request", scheme: runtime.HTTP,
			handler: h(func(c net.Conn) {
				if _, err := readHTTPHead(c); err == nil {
					rst(c)
				}
			}),
			check: wantErr(runtime.StageReply, "reset", notTimeout, isReset)},
		{name: "RST after the greeting", scheme: runtime.SOCKS5,
			handler: h(func(c net.Conn) {
				if readGreeting(c) == nil {
					rst(c)
				}
			}),
			check: wantErr(runtime.StageGreeting, "reset", notTimeout, isReset)},
		{name: "wrong SOCKS version (SOCKS4 reply to a SOCKS5 greeting)", scheme: runtime.SOCKS5,
			handler: h(func(c net.Conn) {
				if readGreeting(c) == nil {
					_, _ = c.Write([]byte{0, 0x5b, 0, 0, 0, 0, 0, 0})
				}
			}),
			check: wantErr(runtime.StageGreeting, "not a socks5 proxy", notTimeout)},
		{name: "chooses a method that was not offered (GSSAPI)", scheme: runtime.SOCKS5,
			handler: h(func(c net.Conn) {
				if readGreeting(c) == nil {
					_, _ = c.Write([]byte{5, 1})
				}
			}),
			check: wantErr(runtime.StageGreeting, "not offered", notTimeout)},
		{name: "unknown SOCKS5 reply code 0x2a", scheme: runtime.SOCKS5,
			handler: socks5Reply([]byte{5, 0x2a, 0, 1, 0, 0, 0, 0, 0, 0}, nil),
			check:   wantErr(runtime.StageReply, "unknown reply code (socks5 reply 0x2a)", notTimeout, code(0x2a))},
		{name: "unknown SOCKS4 reply code 0x99", scheme: runtime.SOCKS4,
			handler: h(func(c net.Conn) {
				if readSOCKS4Request(c) == nil {
					_, _ = c.Write([]byte{0, 0x99, 0, 0, 0, 0, 0, 0})
				}
			}),
			check: wantErr(runtime.StageReply, "socks4 reply 0x99", notTimeout, code(0x99))},
		{name: "unknown bound address type 0x07", scheme: runtime.SOCKS5,
			handler: socks5Reply([]byte{5, 0, 0, 7, 1, 2, 3, 4, 0, 80}, nil),
			check:   wantErr(runtime.StageReply, "address type", notTimeout)},
		{name: "bound address is a domain name", scheme: runtime.SOCKS5H, addr: "exchange.test:443",
			handler: socks5Reply(granted(3, []byte("bound.proxy.example")), target.EchoConn),
			check:   wantTunnel("")},
		{name: "bound address is IPv6", scheme: runtime.SOCKS5,
			handler: socks5Reply(granted(4, net.ParseIP("2001:db8::1").To16()), target.EchoConn),
			check:   wantTunnel("")},
		{name: "data right after the reply (same write)", scheme: runtime.SOCKS5,
			handler: socks5Reply(append(granted(1, []byte{127, 0, 0, 1}), "BANNER"...), target.EchoConn),
			check:   wantTunnel("BANNER")},
		{name: "data right after the reply (CONNECT)", scheme: runtime.HTTP,
			handler: httpReply(httpOK+"220 hello\r\n", target.EchoConn),
			check:   wantTunnel("220 hello\r\n")},
		{name: "200 with a body (bytes are tunnel data)", scheme: runtime.HTTP,
			handler: httpReply("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", target.EchoConn),
			check:   wantTunnel("hello")},
		{name: "interim 100 Continue, then 200", scheme: runtime.HTTP,
			handler: httpReply("HTTP/1.1 100 Continue\r\n\r\n"+httpOK, target.EchoConn),
			check:   wantTunnel("")},
		{name: "endless 1xx interim responses", scheme: runtime.HTTP,
			handler: httpReply(strings.Repeat("HTTP/1.1 102 Processing\r\n\r\n", 64), nil),
			check:   wantErr(runtime.StageReply, "too many interim", notTimeout)},
		{name: "oversized headers (64 KiB of fields)", scheme: runtime.HTTP,
			handler: httpReply(oversized.String(), nil),
			check:   wantErr(runtime.StageReply, "too large", notTimeout)},
		{name: "one header line of 32 KiB", scheme: runtime.HTTP,
			handler: httpReply("HTTP/1.1 200 OK\r\nX-Long: "+strings.Repeat("b", 32<<10), nil),
			check:   wantErr(runtime.StageReply, "too large", notTimeout)},
		{name: "HTTP/0.9 garbage (bare HTML, then FIN)", scheme: runtime.HTTP,
			handler: httpReply("<html><body>It works!</body></html>\n", func(c net.Conn) { _ = c.Close() }),
			check:   wantErr(runtime.StageReply, "not HTTP", notTimeout)},
		{name: "NUL byte inside a header field", scheme: runtime.HTTP,
			handler: httpReply("HTTP/1.1 200 OK\r\nX-Evil: a\x00b\r\n\r\n", nil),
			check:   wantErr(runtime.StageReply, "malformed", notTimeout)},
		{name: "407 without a challenge", scheme: runtime.HTTP,
			handler: httpReply("HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n", nil),
			check:   wantErr(runtime.StageAuth, "proxy authentication required (http 407)", notTimeout, isAuth(407))},
		{name: "407 with a Basic challenge, credentials sent", scheme: runtime.HTTP, creds: true,
			handler: httpReply("HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"hostile\"\r\nContent-Length: 13\r\n\r\naccess denied", nil),
			check:   wantErr(runtime.StageAuth, "proxy authentication failed (http 407)", notTimeout, isAuth(407))},
		{name: "truncated TLS record, then FIN", scheme: runtime.HTTPS,
			handler: h(func(c net.Conn) {
				_, _ = c.Read(make([]byte, 4096))
				_, _ = c.Write([]byte{0x16, 0x03})
				_ = c.Close()
			}),
			check: wantErr(runtime.StageTLS, "EOF", notTimeout)},
		{name: "plain HTTP behind an https:// proxy URL", scheme: runtime.HTTPS,
			handler: h(func(c net.Conn) {
				_, _ = c.Read(make([]byte, 4096))
				_, _ = io.WriteString(c, "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
			}),
			check: wantErr(runtime.StageTLS, "", notTimeout, func(t *testing.T, pe *runtime.ProxyError) {
				var rh tls.RecordHeaderError
				if !errors.As(pe, &rh) {
					t.Errorf("want tls.RecordHeaderError: %v", pe)
				}
			})},
		{name: "TLS certificate from an unknown CA", scheme: runtime.HTTPS,
			handler: func(f *fixture) func(net.Conn) {
				return func(c net.Conn) { _ = serveTLS(c, f.untrusted) }
			},
			check: wantErr(runtime.StageTLS, "certificate", notTimeout, func(t *testing.T, pe *runtime.ProxyError) {
				var ua x509.UnknownAuthorityError
				var cv *tls.CertificateVerificationError
				if !errors.As(pe, &ua) || !errors.As(pe, &cv) {
					t.Errorf("want x509.UnknownAuthorityError: %v", pe)
				}
			})},
		{name: "TLS certificate for another host", scheme: runtime.HTTPS,
			handler: func(f *fixture) func(net.Conn) {
				return func(c net.Conn) { _ = serveTLS(c, f.wrongName) }
			},
			check: wantErr(runtime.StageTLS, "certificate", notTimeout, func(t *testing.T, pe *runtime.ProxyError) {
				var he x509.HostnameError
				if !errors.As(pe, &he) {
					t.Errorf("want x509.HostnameError: %v", pe)
				}
			})},
		{name: "optimistic: never answers", scheme: runtime.SOCKS5, timeout: true, optimistic: true,
			handler: stallAfter(readGreeting),
			check:   wantReadErr(wantErr(runtime.StageGreeting, "timed out", isTimeout))},
		{name: "optimistic: RST after the CONNECT request", scheme: runtime.HTTP, optimistic: true,
			handler: h(func(c net.Conn) {
				if _, err := readHTTPHead(c); err == nil {
					rst(c)
				}
			}),
			// The reset reaches either the caller's first write or the
			// first read; a read after a write consumed it sees EOF.
			check: wantReadErr(wantErr(runtime.StageReply, "", notTimeout, isResetOrClosed))},
		{name: "optimistic: 407 while the first bytes are in flight", scheme: runtime.HTTP, optimistic: true, creds: true,
			handler: httpReply("HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"x\"\r\n\r\n", nil),
			check:   wantReadErr(wantErr(runtime.StageAuth, "(http 407)", notTimeout, isAuth(407)))},
		{name: "optimistic: SOCKS5 refusal 0x05", scheme: runtime.SOCKS5H, addr: "exchange.test:443", optimistic: true,
			handler: h(func(c net.Conn) {
				if readGreeting(c) == nil {
					_, _ = c.Write([]byte{5, 0})
					if readSOCKS5Request(c) == nil {
						_, _ = c.Write([]byte{5, 5, 0, 1, 0, 0, 0, 0, 0, 0})
					}
				}
			}),
			check: wantReadErr(wantErr(runtime.StageReply, "connection refused (socks5 reply 0x05)", notTimeout, code(5)))},
		{name: "valid TLS, then a slow 200 (within the timeout)", scheme: runtime.HTTPS,
			handler: func(f *fixture) func(net.Conn) {
				return func(c net.Conn) {
					tc := serveTLS(c, f.good)
					if tc == nil {
						return
					}
					if _, err := readHTTPHead(tc); err != nil {
						return
					}
					time.Sleep(longTimeout / 4)
					if _, err := io.WriteString(tc, httpOK); err == nil {
						target.EchoConn(tc)
					}
					_ = tc.CloseWrite()
				}
			},
			check: wantTunnel("")},
	}
}

// TestHostileMatrix runs every row sequentially (so goroutine and fd counts
// belong to one row) and prints the matrix.
func TestHostileMatrix(t *testing.T) {
	f := newFixture(t)
	warmUp(t, f)

	var mu sync.Mutex
	var results []result
	distinct := map[string]bool{}
	for _, r := range rows() {
		distinct[r.name] = true
		t.Run(r.name, func(t *testing.T) {
			res := runRow(t, f, r)
			res.failed = t.Failed()
			mu.Lock()
			results = append(results, res)
			mu.Unlock()
		})
	}
	if len(distinct) < 15 {
		t.Errorf("only %d distinct misbehaviours", len(distinct))
	}

	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "BEHAVIOUR\tSCHEME\tRESULT\tTIME\tCLIENT SOCKET\tVERDICT")
	for _, r := range results {
		v := "pass"
		if r.failed {
			v = "FAIL"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.name, r.scheme, r.outcome, r.took.Round(time.Millisecond), r.closed, v)
	}
	_ = tw.Flush()
	t.Logf("hostile matrix (%d rows, fds and goroutines checked per row):\n%s", len(results), b.String())
}

// warmUp opens what the Go runtime opens once (netpoller, TLS roots) so the
// first row's fd count is not skewed.
func warmUp(t *testing.T, f *fixture) {
	p := startRaw(t, func(c net.Conn) {
		if tc := serveTLS(c, f.good); tc != nil {
			if _, err := readHTTPHead(tc); err == nil {
				_, _ = io.WriteString(tc, httpOK)
			}
		}
	})
	defer p.Close()
	d := &runtime.Dialer{Proxy: &runtime.Proxy{Scheme: runtime.HTTPS, Host: "127.0.0.1", Port: p.Port(), Timeout: longTimeout,
		TLSConfig: f.ca.ClientConfig("")}, Logger: discard}
	c, err := d.DialContext(context.Background(), "tcp", "exchange.test:443")
	if err != nil {
		t.Fatalf("warm-up: %v", err)
	}
	_ = c.Close()
}

var discard = slog.New(slog.DiscardHandler)

func runRow(t *testing.T, f *fixture, r row) result {
	res := result{name: r.name, scheme: r.scheme.String()}
	fdsBefore := openFDs(t)

	p := startRaw(t, r.handler(f))
	timeout := longTimeout
	if r.timeout {
		timeout = shortTimeout
	}
	px := &runtime.Proxy{Scheme: r.scheme, Host: "127.0.0.1", Port: p.Port(), Timeout: timeout, Optimistic: r.optimistic}
	if r.creds {
		px.User, px.Password = "feeder", runtime.NewSecret(testenv.Canary)
	}
	if r.scheme == runtime.HTTPS {
		px.TLSConfig = f.ca.ClientConfig("")
	}
	addr := r.addr
	if addr == "" {
		addr = "127.0.0.1:443"
		if r.scheme == runtime.HTTP || r.scheme == runtime.HTTPS {
			addr = "exchange.test:443"
		}
	}
	d := &runtime.Dialer{Proxy: px, Exchange: "hostile", Transport: runtime.TransportWebSocket, Logger: discard}

	start := time.Now()
	conn, err := d.DialContext(context.Background(), "tcp", addr)
	res.took = time.Since(start)
	ended := time.Now()
	if conn != nil {
		// A check that stops the row must not leak the socket into the
		// next rows' fd and goroutine counts.
		defer conn.Close()
	}

	var pe *runtime.ProxyError
	if err != nil {
		if !errors.As(err, &pe) {
			t.Fatalf("untyped error %T: %v", err, err)
		}
		if conn != nil {
			t.Errorf("a conn and an error")
		}
		testenv.NoCanary(t, "the error", err)
		res.outcome = "error: " + string(pe.Stage) + ": " + shorten(pe.Err.Error())
	} else if !r.optimistic {
		res.outcome = fmt.Sprintf("tunnel (%T), echo ok", conn)
	}
	r.check(t, pe, conn)
	if r.optimistic {
		res.took = time.Since(start)
		res.outcome = "dial ok, first read: no error"
		if lastReadErr != nil {
			res.outcome = "dial ok, read: " + string(lastReadErr.Stage) + ": " + shorten(lastReadErr.Err.Error())
		}
		ended = time.Now()
	}
	if conn != nil {
		_ = conn.Close()
		ended = time.Now()
	}

	// Time: within the timeout plus rowSlack; non-timeout rows well before.
	if res.took > timeout+rowSlack {
		t.Errorf("took %v, want <= %v + %v", res.took, timeout, rowSlack)
	}
	if !r.timeout && res.took > fastLimit {
		t.Errorf("took %v, want < %v (it must not wait for the timeout)", res.took, fastLimit)
	}

	// The client's socket: the proxy sees it closed promptly, unless the
	// proxy closed first (then the fd count below proves it).
	select {
	case end := <-p.done:
		switch {
		case end.closedByClient:
			lag := end.at.Sub(ended)
			res.closed = fmt.Sprintf("closed (+%v)", lag.Round(time.Millisecond))
			if lag > rowSlack {
				t.Errorf("the proxy saw the client's close %v after the dial ended", lag)
			}
		case end.selfClosed:
			res.closed = "proxy closed first"
		default:
			res.closed = "LEFT OPEN"
			t.Errorf("the client did not close its socket within %v", drainLimit)
		}
	case <-time.After(drainLimit + time.Second):
		res.closed = "NO CONN"
		t.Errorf("the proxy never got a connection")
	}
	p.Close()

	// No fd left: poll briefly, closes complete asynchronously.
	var fdsAfter int
	for i := 0; i < 40; i++ {
		if fdsAfter = openFDs(t); fdsAfter <= fdsBefore {
			break
		}
		time.Sleep(25 * time.Millisecond)
	}
	if fdsAfter > fdsBefore {
		t.Errorf("file descriptors: %d before, %d after: %s", fdsBefore, fdsAfter, dumpFDs())
	}
	goleak.VerifyNone(t)
	return res
}

func shorten(s string) string {
	if len(s) > 70 {
		return s[:67] + "..."
	}
	return s
}
