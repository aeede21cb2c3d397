package runtime

import (
	"context"
	"errors"
	"io"
	"os"
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

// stepError is a set-up failure at a stage, before it becomes a *ProxyError.
type stepError struct {
	stage  Stage
	code   int
	status int
	err    error
}

func (e *stepError) Error() string { return string(e.stage) + ": " + e.err.Error() }

func step(stage Stage, err error) error { return &stepError{stage: stage, err: err} }

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

func protoErr(msg string) error { return &protoError{msg: msg} }

// isProtocolError reports whether err is the proxy's answer (a refusal, a
// malformed reply) rather than an I/O failure that a done context or a
// deadline may have provoked.
func isProtocolError(err error) bool {
	var (
		pe *protoError
		se *socksReplyError
		ce *connectStatusError
	)
	switch {
	case errors.As(err, &pe):
		return pe != errProxyClosed
	case errors.As(err, &se), errors.As(err, &ce):
		return true
	}
	return false
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
