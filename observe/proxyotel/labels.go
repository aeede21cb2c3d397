package proxyotel

import (
	"context"
	"errors"
	"net"
	"strconv"
	"strings"

	"github.com/proxygen-go/proxygen/runtime"
	semconv "go.opentelemetry.io/otel/semconv/v1.22.0"
)

// errorType is the low-cardinality error.type of a failure: "" for none,
// "canceled", "timeout", the stage that failed, or "_OTHER". The error's
// text is never looked at.
func errorType(err error, stage runtime.Stage) string {
	if err == nil {
		return ""
	}
	if errors.Is(err, context.Canceled) {
		return "canceled"
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return "timeout"
	}
	if s := stageLabel(stage); s != "" {
		return s
	}
	var pe *runtime.ProxyError
	if errors.As(err, &pe) {
		if s := stageLabel(pe.Stage); s != "" {
			return s
		}
	}
	if errors.Is(err, runtime.ErrProxyAuth) {
		return string(runtime.StageAuth)
	}
	return semconv.ErrorTypeOther.Value.AsString()
}

// stageLabel returns one of the runtime's stages, or "" for anything else.
func stageLabel(s runtime.Stage) string {
	switch s {
	case runtime.StageConfig, runtime.StageResolve, runtime.StageConnect, runtime.StageTLS,
		runtime.StageGreeting, runtime.StageAuth, runtime.StageRequest, runtime.StageReply:
		return string(s)
	}
	return ""
}

// stageAttr returns one of the runtime's stages, or "_OTHER".
func stageAttr(s runtime.Stage) string {
	if l := stageLabel(s); l != "" {
		return l
	}
	return semconv.ErrorTypeOther.Value.AsString()
}

// proxyLabel returns the "scheme://host:port" part of an event's proxy
// string: user info, path, query and fragment are dropped (events never
// carry them; this makes sure an attribute cannot either).
func proxyLabel(p string) string {
	rest, scheme := p, ""
	if i := strings.Index(p, "://"); i >= 0 {
		scheme, rest = p[:i+3], p[i+3:]
	}
	// User info first: a careless password may hold a '/' or a '?'.
	if i := strings.LastIndexByte(rest, '@'); i >= 0 {
		rest = rest[i+1:]
	}
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		rest = rest[:i]
	}
	if len(scheme)+len(rest) == len(p) {
		return p
	}
	return scheme + rest
}

// hostPort strips the scheme of a proxy label.
func hostPort(label string) string {
	if i := strings.Index(label, "://"); i >= 0 {
		return label[i+3:]
	}
	return label
}

func splitHostPort(hp string) (string, int, bool) {
	host, port, err := net.SplitHostPort(hp)
	if err != nil {
		return "", 0, false
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 0 || n > 65535 {
		return "", 0, false
	}
	return host, n, true
}
