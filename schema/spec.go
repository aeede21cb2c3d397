// Package schema is proxygen's spec: the Go model of spec version 1, the JSON
// Schema derived from it, loading YAML with positions, and validation.
package schema

import (
	"sort"
	"time"

	"github.com/proxygen-go/proxygen/runtime"
)

// Spec is a proxygen spec, version 1. The JSON Schema is derived from these
// types; tags carry the constraints the schema enforces.
type Spec struct {
	Version   int                    `json:"version" jsonschema:"enum=1,description=Spec format version; must be 1."`
	Package   string                 `json:"package,omitempty" jsonschema:"pattern=^[a-z_][a-z0-9_]*$,description=Go package name of the generated file: not a Go keyword nor _ nor main (the -package flag overrides it and follows the same rule)."`
	Enabled   *bool                  `json:"enabled" jsonschema:"description=false sends every exchange direct: a compiled-in kill switch."`
	EnvPrefix string                 `json:"env_prefix,omitempty" jsonschema:"minLength=3,pattern=^[A-Za-z][A-Za-z0-9_]*_$,description=Prefix of the run-time environment overlay (letters, digits and _; starts with a letter, ends in _, at least 3 characters, so it cannot claim PATH or PWD); default CRYPTOFEED_PROXY_."`
	Lock      bool                   `json:"lock,omitempty" jsonschema:"description=true ignores the environment overlay entirely (locked-down builds)."`
	Default   *Transports            `json:"default,omitempty" jsonschema:"description=Routes for every exchange without an override."`
	Exchanges map[string]*Transports `json:"exchanges,omitempty" jsonschema:"description=Per-exchange overrides keyed by exchange id: words of letters and digits joined by single _ (case-insensitive; normalised to lower case; no trailing _ and no __ as the environment overlay splits on __)."`
}

// Transports holds one route per transport.
type Transports struct {
	HTTP      *ProxyConfig `json:"http,omitempty" jsonschema:"description=Route for REST/HTTP clients."`
	WebSocket *ProxyConfig `json:"websocket,omitempty" jsonschema:"description=Route for WebSocket connections."`
}

// ProxyConfig is one route: exactly one of url or direct: true.
type ProxyConfig struct {
	URL            string `json:"url,omitempty" jsonschema:"minLength=1,description=Proxy URL: scheme://[${USER_VAR}[:${PASS_VAR}]@]host:port with scheme http https socks4 socks4a socks5 or socks5h."`
	Direct         bool   `json:"direct,omitempty" jsonschema:"description=true bypasses every proxy for this transport."`
	TimeoutSeconds *int   `json:"timeout_seconds,omitempty" jsonschema:"minimum=1,maximum=300,default=30,description=Bounds the whole tunnel set-up in seconds."`
	Optimistic     bool   `json:"optimistic,omitempty" jsonschema:"default=false,description=Send the handshake and first bytes without waiting for the proxy's replies."`
}

// DefaultTimeoutSeconds applies when timeout_seconds is absent.
const DefaultTimeoutSeconds = 30

// IsEnabled reports the spec's enabled flag (false when absent).
func (s *Spec) IsEnabled() bool { return s.Enabled != nil && *s.Enabled }

// ExchangeIDs returns the exchange ids in sorted order. After Load, ids are
// already normalised to lower case.
func (s *Spec) ExchangeIDs() []string {
	ids := make([]string, 0, len(s.Exchanges))
	for id := range s.Exchanges {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// Settings converts a valid spec into the runtime's Settings. allowInline
// accepts literal credentials (generate -allow-inline-credentials).
func (s *Spec) Settings(allowInline bool) (runtime.Settings, error) {
	out := runtime.Settings{
		Enabled:   s.IsEnabled(),
		EnvPrefix: s.EnvPrefix,
		Lock:      s.Lock,
	}
	var err error
	if s.Default != nil {
		if out.Default, err = s.Default.routes(allowInline); err != nil {
			return out, err
		}
	}
	if len(s.Exchanges) > 0 {
		out.Exchanges = make(map[string]runtime.Routes, len(s.Exchanges))
		for id, t := range s.Exchanges {
			var r runtime.Routes
			if t != nil {
				if r, err = t.routes(allowInline); err != nil {
					return out, err
				}
			}
			out.Exchanges[id] = r
		}
	}
	return out, nil
}

func (t *Transports) routes(allowInline bool) (runtime.Routes, error) {
	var r runtime.Routes
	var err error
	if r.HTTP, err = t.HTTP.route(allowInline); err != nil {
		return r, err
	}
	r.WebSocket, err = t.WebSocket.route(allowInline)
	return r, err
}

func (c *ProxyConfig) route(allowInline bool) (*runtime.Route, error) {
	if c == nil {
		return nil, nil
	}
	if c.Direct {
		return &runtime.Route{Direct: true}, nil
	}
	p, err := runtime.ParseURL(c.URL, runtime.ParseURLOptions{AllowInlineCredentials: allowInline})
	if err != nil {
		return nil, err
	}
	secs := DefaultTimeoutSeconds
	if c.TimeoutSeconds != nil {
		secs = *c.TimeoutSeconds
	}
	p.Timeout = time.Duration(secs) * time.Second
	p.Optimistic = c.Optimistic
	return &runtime.Route{Proxy: p}, nil
}
