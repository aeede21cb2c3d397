package runtime

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
)

// Stage names the step of a tunnel's set-up that failed.
type Stage string

// The stages of a tunnel's set-up, in order.
const (
	StageConfig   Stage = "config"   // before any network I/O: unresolved ${VAR}, bad target, bad network
	StageResolve  Stage = "resolve"  // local DNS for socks5 and socks4 targets
	StageConnect  Stage = "connect"  // TCP to the proxy
	StageTLS      Stage = "tls"      // TLS to an https proxy
	StageGreeting Stage = "greeting" // SOCKS5 method negotiation
	StageAuth     Stage = "auth"     // proxy authentication (SOCKS5 user/pass, HTTP 407)
	StageRequest  Stage = "request"  // sending the CONNECT or SOCKS request
	StageReply    Stage = "reply"    // reading and checking the proxy's reply
)

// ErrProxyAuth matches, with errors.Is, every error that says the proxy
// refused or required authentication: HTTP 407, a SOCKS5 user/pass failure
// or a SOCKS5 proxy that accepts none of the offered methods.
var ErrProxyAuth = errors.New("proxy authentication failed")

// ProxyError is the error of a dial through a proxy. Its text names the
// exchange, the transport, the stage and the redacted proxy; it never
// contains a credential.
//
// errors.Is(err, context.DeadlineExceeded) and os.ErrDeadlineExceeded hold
// when the set-up timed out (Proxy.Timeout or the caller's deadline),
// errors.Is(err, context.Canceled) when the caller cancelled, and
// errors.Is(err, ErrProxyAuth) when authentication failed.
type ProxyError struct {
	Exchange  string    // exchange id, "" when the dialer has none
	Transport Transport // meaningful when Exchange is set
	Stage     Stage
	Proxy     string // redacted proxy URL (Proxy.String)
	Code      int    // SOCKS reply code (SOCKS5 0x01..0xff, SOCKS4 0x5b..), 0 if none
	Status    int    // HTTP status of a refused CONNECT, 0 if none
	Err       error
}

func (e *ProxyError) Error() string {
	var b strings.Builder
	b.WriteString("proxy ")
	b.WriteString(e.Proxy)
	if e.Exchange != "" {
		b.WriteString(" (")
		b.WriteString(e.Exchange)
		b.WriteByte(' ')
		b.WriteString(e.Transport.String())
		b.WriteByte(')')
	}
	b.WriteString(": ")
	b.WriteString(string(e.Stage))
	b.WriteString(": ")
	if e.Err != nil {
		b.WriteString(e.Err.Error())
	} else {
		b.WriteString("failed")
	}
	return b.String()
}

// Unwrap returns the underlying error.
func (e *ProxyError) Unwrap() error { return e.Err }

// Timeout reports whether the set-up timed out (net.Error).
func (e *ProxyError) Timeout() bool {
	return errors.Is(e.Err, os.ErrDeadlineExceeded) || errors.Is(e.Err, context.DeadlineExceeded)
}

// Temporary is part of net.Error; it equals Timeout.
//
// Deprecated: as net.Error.Temporary.
func (e *ProxyError) Temporary() bool { return e.Timeout() }

// AuthFailed reports whether the proxy refused or required authentication;
// it equals errors.Is(e, ErrProxyAuth).
func (e *ProxyError) AuthFailed() bool { return errors.Is(e.Err, ErrProxyAuth) }

// protoError is a short protocol-level failure text. auth marks the ones
// that match ErrProxyAuth.
type protoError struct {
	msg  string
	auth bool
	err  error // optional wrapped error
}

func (e *protoError) Error() string { return e.msg }
func (e *protoError) Unwrap() error { return e.err }
func (e *protoError) Is(target error) bool {
	return e.auth && target == ErrProxyAuth
}

func protoErr(format string, args ...any) error {
	return &protoError{msg: fmt.Sprintf(format, args...)}
}

// errProxyClosed is a handshake read that hit EOF.
var errProxyClosed = &protoError{msg: "proxy closed the connection during the handshake", err: io.ErrUnexpectedEOF}

// timeoutError is a set-up that ran past its deadline: Proxy.Timeout or the
// caller's context deadline. It matches both context.DeadlineExceeded and
// os.ErrDeadlineExceeded.
type timeoutError struct{ d time.Duration }

func (e *timeoutError) Error() string {
	if e.d > 0 {
		return "set-up timed out after " + e.d.String()
	}
	return "set-up deadline exceeded"
}
func (e *timeoutError) Timeout() bool   { return true }
func (e *timeoutError) Temporary() bool { return true }
func (e *timeoutError) Is(target error) bool {
	return target == context.DeadlineExceeded || target == os.ErrDeadlineExceeded
}

// socks5ReplyText maps a SOCKS5 reply code (RFC 1928) to text.
func socks5ReplyText(code byte) string {
	switch code {
	case 0x00:
		return "succeeded"
	case 0x01:
		return "general socks server failure"
	case 0x02:
		return "connection not allowed by ruleset"
	case 0x03:
		return "network unreachable"
	case 0x04:
		return "host unreachable"
	case 0x05:
		return "connection refused"
	case 0x06:
		return "ttl expired"
	case 0x07:
		return "command not supported"
	case 0x08:
		return "address type not supported"
	}
	return "unknown reply code"
}

// socks4ReplyText maps a SOCKS4 reply code to text.
func socks4ReplyText(code byte) string {
	switch code {
	case 0x5a:
		return "request granted"
	case 0x5b:
		return "request rejected or failed"
	case 0x5c:
		return "request rejected: proxy cannot reach the client's identd"
	case 0x5d:
		return "request rejected: identd reports a different user id"
	}
	return "unknown reply code"
}

func socks5ReplyError(code byte) error {
	return &protoError{msg: socks5ReplyText(code) + " (socks5 reply 0x" + hex2(code) + ")"}
}

func socks4ReplyError(code byte) error {
	return &protoError{msg: socks4ReplyText(code) + " (socks4 reply 0x" + hex2(code) + ")", auth: code == 0x5d}
}

func hex2(b byte) string {
	const digits = "0123456789abcdef"
	return string([]byte{digits[b>>4], digits[b&15]})
}

// httpStatusError maps a refused CONNECT to text. sentCreds tells a failed
// authentication from a missing one. The proxy's reason phrase is not
// echoed: it is the proxy's text, not ours.
func httpStatusError(status int, sentCreds bool) error {
	var msg string
	auth := false
	switch {
	case status == 407 && sentCreds:
		msg, auth = "proxy authentication failed", true
	case status == 407:
		msg, auth = "proxy authentication required", true
	case status == 401 && sentCreds:
		// tinyproxy answers wrong Basic credentials with 401, not 407.
		msg, auth = "proxy authentication failed", true
	case status == 400:
		msg = "proxy rejected the request as malformed"
	case status == 401:
		msg = "proxy answered 401 (it may be an origin server, not a proxy)"
	case status == 403:
		msg = "proxy forbids this tunnel"
	case status == 404:
		msg = "proxy does not know the target"
	case status == 405:
		msg = "proxy does not allow CONNECT"
	case status == 429:
		msg = "proxy rate-limited the request"
	case status == 500:
		msg = "proxy internal error"
	case status == 502:
		msg = "proxy could not connect to the target"
	case status == 503:
		msg = "proxy service unavailable"
	case status == 504:
		msg = "proxy timed out connecting to the target"
	case status >= 300 && status < 400:
		msg = "proxy answered with a redirect, not a tunnel"
	case status >= 100 && status < 200:
		msg = "proxy answered with an unexpected informational status"
	case status >= 400 && status < 500:
		msg = "proxy refused the tunnel"
	default:
		msg = "proxy failed to open the tunnel"
	}
	return &protoError{msg: msg + " (http " + strconv.Itoa(status) + ")", auth: auth}
}
