package runtime

import (
	"context"
	"errors"
	"log/slog"
	"net"
)

// Dialer opens connections over one route. A nil Proxy dials direct.
// PLACEHOLDER: the tunnelling implementation replaces this file.
type Dialer struct {
	Proxy     *Proxy
	Exchange  string    // for errors and logs
	Transport Transport // for errors and logs
	// Forward dials the TCP connection to the proxy (or the target when
	// direct); nil means a zero net.Dialer.
	Forward interface {
		DialContext(ctx context.Context, network, addr string) (net.Conn, error)
	}
	// Logger receives one line per tunnel; nil means slog.Default().
	Logger *slog.Logger
}

// DialContext connects to addr through the route.
func (d *Dialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	if d.Proxy == nil {
		var nd net.Dialer
		return nd.DialContext(ctx, network, addr)
	}
	return nil, errors.New("tunnelling not implemented yet")
}
