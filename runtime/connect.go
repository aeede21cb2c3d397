package runtime

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
)

const (
	// maxConnectHeader bounds the proxy's CONNECT response header (status
	// line and fields). A reply larger than this is an error, never a hang.
	maxConnectHeader = 16 << 10
	// maxInterimResponses bounds the 1xx responses skipped before the
	// final one.
	maxInterimResponses = 8
	// connectRequestBufBytes holds a typical CONNECT request without
	// allocating.
	connectRequestBufBytes = 512
	// connectReaderBytes is the size of a pooled reply reader.
	connectReaderBytes = 4096
)

// connectHTTP opens the tunnel with HTTP CONNECT, over TLS for an https
// proxy. An optimistic proxy's reply is read on the tunnel's first Read.
func (s *setup) connectHTTP(conn net.Conn, t target) (net.Conn, error) {
	p := s.p
	if p.Scheme == HTTPS {
		tc := tls.Client(conn, proxyTLSConfig(p))
		if err := tc.Handshake(); err != nil {
			return nil, step(StageTLS, err)
		}
		conn = tc
	}
	var buf [connectRequestBufBytes]byte
	req := connectRequest(buf[:0], t, p)
	_, err := conn.Write(req)
	clear(req)
	if err != nil {
		return nil, step(StageRequest, err)
	}
	sentCreds := p.sendsCredentials()
	check := func(c net.Conn) ([]byte, error) { return checkConnectReply(c, sentCreds) }
	if p.Optimistic {
		return s.optimistic(conn, check), nil
	}
	rest, err := check(conn)
	if err != nil {
		return nil, err
	}
	return withRest(conn, rest), nil
}

// checkConnectReply reads the proxy's reply to CONNECT and returns the
// bytes it sent after the header. sentCreds tells a failed authentication
// from a missing one.
func checkConnectReply(c net.Conn, sentCreds bool) ([]byte, error) {
	br := readerPool.Get().(*bufio.Reader)
	br.Reset(c)
	defer func() { br.Reset(nil); readerPool.Put(br) }()
	status, err := readConnectResponse(br)
	if err != nil {
		return nil, step(StageReply, err)
	}
	if status/100 != 2 {
		herr := &connectStatusError{status: status, sentCreds: sentCreds}
		stage := StageReply
		if herr.authFailure() {
			stage = StageAuth
		}
		return nil, &stepError{stage: stage, status: status, err: herr}
	}
	return takeRest(br), nil
}

// proxyTLSConfig is the config of TLS to an https proxy: a clone of
// p.TLSConfig with ServerName defaulting to the proxy host and ALPN
// http/1.1.
func proxyTLSConfig(p *Proxy) *tls.Config {
	var cfg *tls.Config
	if p.TLSConfig != nil {
		cfg = p.TLSConfig.Clone()
	} else {
		cfg = &tls.Config{}
	}
	if cfg.ServerName == "" {
		cfg.ServerName = p.Host
	}
	cfg.NextProtos = []string{"http/1.1"}
	return cfg
}

// connectRequest appends "CONNECT host:port HTTP/1.1" with a Host field and,
// when the proxy has a user or a password, Basic Proxy-Authorization (an
// empty password is sent as "user:").
func connectRequest(b []byte, t target, p *Proxy) []byte {
	hp := net.JoinHostPort(t.host, strconv.Itoa(int(t.port)))
	b = append(b, "CONNECT "...)
	b = append(b, hp...)
	b = append(b, " HTTP/1.1\r\nHost: "...)
	b = append(b, hp...)
	b = append(b, "\r\n"...)
	if p.sendsCredentials() {
		b = append(b, "Proxy-Authorization: Basic "...)
		cred := make([]byte, 0, len(p.User)+1+p.Password.Len())
		cred = append(append(append(cred, p.User...), ':'), p.Password.Reveal()...)
		b = base64.StdEncoding.AppendEncode(b, cred)
		clear(cred)
		b = append(b, "\r\n"...)
	}
	return append(b, "\r\n"...)
}

var errHeaderTooLarge = &protoError{msg: "proxy reply header too large"}

// readConnectResponse reads the proxy's response to CONNECT up to and
// including the blank line that ends its header, and returns the status.
// It reads nothing past the header: bytes after it stay in br. Interim 1xx
// responses (other than 101) are skipped, as net/http does.
func readConnectResponse(br *bufio.Reader) (int, error) {
	total := 0
	for range maxInterimResponses {
		status, err := readOneResponse(br, &total)
		if err != nil {
			return 0, err
		}
		if status >= http.StatusContinue && status < http.StatusOK && status != http.StatusSwitchingProtocols {
			continue
		}
		return status, nil
	}
	return 0, protoErr("proxy sent too many interim responses")
}

func readOneResponse(br *bufio.Reader, total *int) (int, error) {
	line, err := readLine(br, total)
	if err != nil {
		return 0, err
	}
	status, err := parseStatusLine(line)
	if err != nil {
		return 0, err
	}
	for {
		line, err := readLine(br, total)
		if err != nil {
			return 0, err
		}
		if len(line) == 0 {
			return status, nil
		}
		// A field line needs a name and a colon; obsolete folding (a
		// leading space or tab) continues the previous field.
		if line[0] != ' ' && line[0] != '\t' {
			i := bytes.IndexByte(line, ':')
			if i <= 0 || bytes.ContainsAny(line[:i], " \t") {
				return 0, protoErr("malformed header field in proxy reply")
			}
		}
	}
}

// readLine returns one line without its CRLF (or bare LF). total counts the
// header bytes read so far against maxConnectHeader.
func readLine(br *bufio.Reader, total *int) ([]byte, error) {
	var acc []byte
	for {
		frag, err := br.ReadSlice('\n')
		*total += len(frag)
		if *total > maxConnectHeader {
			return nil, errHeaderTooLarge
		}
		if err == nil {
			if acc != nil {
				frag = append(acc, frag...)
			}
			frag = frag[:len(frag)-1]
			if n := len(frag); n > 0 && frag[n-1] == '\r' {
				frag = frag[:n-1]
			}
			if bytes.IndexByte(frag, 0) >= 0 || bytes.IndexByte(frag, '\r') >= 0 {
				return nil, protoErr("malformed proxy reply")
			}
			return frag, nil
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			acc = append(acc, frag...)
			continue
		}
		if isEOF(err) {
			if *total == 0 {
				return nil, errProxyClosed
			}
			return nil, &protoError{msg: "proxy closed the connection in the middle of its reply", err: errProxyClosed.err}
		}
		return nil, err
	}
}

// parseStatusLine parses "HTTP/1.x SSS reason".
func parseStatusLine(line []byte) (int, error) {
	if len(line) < 12 || string(line[:7]) != "HTTP/1." || line[7] < '0' || line[7] > '9' || line[8] != ' ' {
		if len(line) >= 5 && string(line[:5]) == "HTTP/" {
			return 0, protoErr("proxy reply has an unsupported HTTP version")
		}
		return 0, protoErr("proxy reply is not HTTP")
	}
	s := line[9:12]
	if s[0] < '1' || s[0] > '5' || s[1] < '0' || s[1] > '9' || s[2] < '0' || s[2] > '9' || (len(line) > 12 && line[12] != ' ') {
		return 0, protoErr("proxy reply has a malformed status")
	}
	return int(s[0]-'0')*100 + int(s[1]-'0')*10 + int(s[2]-'0'), nil
}

func isEOF(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
}

// bufio.Readers for CONNECT replies are pooled: bytes left over after the
// header are copied out, so no Reader outlives a dial.
var readerPool = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, connectReaderBytes) }}

// httpStatusError is the error of a refused CONNECT. sentCreds tells a
// failed authentication from a missing one.
func httpStatusError(status int, sentCreds bool) error {
	return &connectStatusError{status: status, sentCreds: sentCreds}
}

// connectStatusError is a CONNECT the proxy answered with a status other
// than 2xx. Its text never echoes the proxy's reason phrase: that is the
// proxy's text, not ours.
type connectStatusError struct {
	status    int
	sentCreds bool // the request carried Proxy-Authorization
}

func (e *connectStatusError) Error() string {
	return e.text() + " (http " + strconv.Itoa(e.status) + ")"
}

// Is matches ErrProxyAuth for 407 and for a 401 to a request that carried
// credentials (tinyproxy answers wrong Basic credentials with 401, not 407).
func (e *connectStatusError) Is(target error) bool {
	return target == ErrProxyAuth && e.authFailure()
}

func (e *connectStatusError) authFailure() bool {
	return e.status == http.StatusProxyAuthRequired || e.status == http.StatusUnauthorized && e.sentCreds
}

func (e *connectStatusError) text() string {
	switch s := e.status; {
	case s == http.StatusProxyAuthRequired && !e.sentCreds:
		return "proxy authentication required"
	case e.authFailure():
		return "proxy authentication failed"
	case s == http.StatusBadRequest:
		return "proxy rejected the request as malformed"
	case s == http.StatusUnauthorized:
		return "proxy answered 401 (it may be an origin server, not a proxy)"
	case s == http.StatusForbidden:
		return "proxy forbids this tunnel"
	case s == http.StatusNotFound:
		return "proxy does not know the target"
	case s == http.StatusMethodNotAllowed:
		return "proxy does not allow CONNECT"
	case s == http.StatusTooManyRequests:
		return "proxy rate-limited the request"
	case s == http.StatusInternalServerError:
		return "proxy internal error"
	case s == http.StatusBadGateway:
		return "proxy could not connect to the target"
	case s == http.StatusServiceUnavailable:
		return "proxy service unavailable"
	case s == http.StatusGatewayTimeout:
		return "proxy timed out connecting to the target"
	case s/100 == 3:
		return "proxy answered with a redirect, not a tunnel"
	case s/100 == 1:
		return "proxy answered with an unexpected informational status"
	case s/100 == 4:
		return "proxy refused the tunnel"
	}
	return "proxy failed to open the tunnel"
}
