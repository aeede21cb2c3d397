//go:generate go run ../../cmd/proxygen generate -spec spec.yaml -out proxies/proxies.go

// Command feed is a small market-data feed handler routed by proxygen. For
// every exchange of spec.yaml it fetches a REST ticker and streams trades
// over a WebSocket, each through the route the spec compiled in.
//
// It runs offline: it starts an exchange simulator (HTTPS REST, ws:// and
// wss://) and in-process proxies (runtime/proxytest) on the loopback ports
// the spec names, then prints each exchange's routes and what arrived.
//
//	go generate ./examples/feed/... && go run ./examples/feed
package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/proxygen-go/proxygen/examples/feed/proxies"
	"github.com/proxygen-go/proxygen/runtime"
)

func main() {
	messages := flag.Int("messages", 5, "trades to stream per exchange")
	verbose := flag.Bool("v", false, "log the route table and one line per tunnel on stderr")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	logger := slog.New(slog.DiscardHandler)
	if *verbose {
		logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	if err := run(ctx, os.Stdout, *messages, logger); err != nil {
		fmt.Fprintln(os.Stderr, "feed:", err)
		os.Exit(1)
	}
}

// demoSecrets are the credentials the in-process proxies expect. A real
// deployment sets these variables in its environment; the spec only names
// them.
var demoSecrets = map[string]string{
	"FEED_PROXY_USER": "feed",
	"FEED_PROXY_PASS": "demo-only-password",
	"CB_USER":         "coinbase-feed",
	"CB_PASS":         "demo-only-password-2",
	"DERIBIT_ID":      "deribit-feed",
}

// run starts the simulator and proxies, initialises the generated routes and
// runs the feed once for every exchange.
func run(ctx context.Context, out io.Writer, messages int, logger *slog.Logger) error {
	for k, v := range demoSecrets {
		if _, ok := os.LookupEnv(k); !ok {
			os.Setenv(k, v)
		}
	}
	sim, err := startSimulator()
	if err != nil {
		return fmt.Errorf("start simulator: %w", err)
	}
	defer sim.close()
	px, err := startProxies()
	if err != nil {
		return err
	}
	defer px.close()

	// Init applies the environment overlay, resolves ${VAR} credentials and
	// installs the routes. The demo's TLS roots trust its own CA: the
	// simulator's certificate and the HTTPS proxy's.
	err = proxies.InitWith(
		runtime.WithLogger(logger),
		runtime.WithClientTLSConfig(&tls.Config{RootCAs: sim.roots}),
		runtime.WithProxyTLSConfig(&tls.Config{RootCAs: px.https.srv.RootCAs()}),
	)
	if err != nil {
		return err
	}

	fmt.Fprintf(out, "proxygen demo: %d exchanges, simulator on %s (REST, wss) and %s (ws), %d in-process proxies\n\n",
		len(proxies.Exchanges()), sim.tlsLn.Addr(), sim.plainLn.Addr(), len(px.all()))
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var failed []error
	report := newReport(out)
	for _, e := range proxies.Exchanges() {
		body, err := fetchTicker(ctx, e, sim.restURL(e.String()))
		report.row(e, runtime.TransportHTTP, proxies.HTTPProxy(e), body, err)
		if err != nil {
			failed = append(failed, fmt.Errorf("%s rest: %w", e, err))
		}
		got, err := streamTrades(ctx, e, sim, messages)
		report.row(e, runtime.TransportWebSocket, proxies.WebSocketProxy(e), got, err)
		if err != nil {
			failed = append(failed, fmt.Errorf("%s websocket: %w", e, err))
		}
	}
	if err := report.flush(); err != nil {
		return err
	}

	fmt.Fprintln(out, "\nwhat each proxy saw (tunnels opened, targets as the client sent them):")
	tunnels := 0
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	for _, p := range px.all() {
		n, targets := p.seen()
		tunnels += n
		fmt.Fprintf(tw, "  %s\t%s\t%d tunnels\t%s\n", p.label, p.srv.Addr(), n, strings.Join(targets, " "))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	direct := int(sim.conns.Load()) - tunnels
	fmt.Fprintf(out, "connections the simulator accepted: %d (%d through proxies, %d direct)\n", sim.conns.Load(), tunnels, direct)
	return errors.Join(failed...)
}
