//go:generate go run ../../cmd/proxygen generate -spec spec.yaml -out proxies/proxies.go

// Command feed is a small market-data feed handler routed by proxygen. For
// every exchange of spec.yaml it fetches a REST ticker and streams trades
// over a WebSocket, each through the route the spec compiled in.
//
// It runs offline: it starts an exchange simulator (HTTPS REST, ws:// and
// wss://) and in-process proxies (runtime/proxytest) on the loopback ports
// the spec names, then prints each exchange's routes and what arrived, and
// ends with the injector's own per-proxy table (Injector.Stats).
//
// With -metrics host:port it also serves Prometheus metrics (observe/
// proxyprom) on http://host:port/metrics, and keeps serving them after the
// run until interrupted.
//
// It must not reach beyond loopback or print a credential: the demo's
// passwords are set in its own environment and appear nowhere in its output.
//
//	go generate ./examples/feed/... && go run ./examples/feed
//	go run ./examples/feed -metrics 127.0.0.1:9464
package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/proxygen-go/proxygen/examples/feed/proxies"
	"github.com/proxygen-go/proxygen/observe/proxyprom"
	"github.com/proxygen-go/proxygen/runtime"
)

func main() {
	messages := flag.Int("messages", 5, "trades to stream per exchange")
	verbose := flag.Bool("v", false, "log the route table and one line per tunnel on stderr")
	metrics := flag.String("metrics", "", "serve Prometheus metrics on `host:port`/metrics (e.g. 127.0.0.1:9464) until interrupted")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	logger := slog.New(slog.DiscardHandler)
	if *verbose {
		logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	var reg *prometheus.Registry
	if *metrics != "" {
		reg = prometheus.NewRegistry()
		addr, err := serveMetrics(*metrics, reg)
		if err != nil {
			fmt.Fprintln(os.Stderr, "feed:", err)
			os.Exit(1)
		}
		fmt.Printf("serving Prometheus metrics on http://%s/metrics\n\n", addr)
	}
	if err := run(ctx, os.Stdout, *messages, logger, reg); err != nil {
		fmt.Fprintln(os.Stderr, "feed:", err)
		os.Exit(1)
	}
	if reg != nil {
		fmt.Println("\nstill serving /metrics; interrupt (Ctrl-C) to stop")
		<-ctx.Done()
	}
}

// serveMetrics serves reg on addr/metrics in the background and returns the
// address it listens on.
func serveMetrics(addr string, reg *prometheus.Registry) (string, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", fmt.Errorf("metrics: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return ln.Addr().String(), nil
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
// runs the feed once for every exchange. With reg, the Prometheus metrics
// of proxyprom are registered on it.
func run(ctx context.Context, out io.Writer, messages int, logger *slog.Logger, reg *prometheus.Registry) error {
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

	// The observer: it makes Stats count open tunnels, and forwards to
	// Prometheus when asked to.
	watch := &tunnelWatch{}
	if reg != nil {
		prom, err := proxyprom.NewObserver(reg)
		if err != nil {
			return err
		}
		watch.next = prom
	}

	// Init applies the environment overlay, resolves ${VAR} credentials and
	// installs the routes. The demo's TLS roots trust its own CA: the
	// simulator's certificate and the HTTPS proxy's.
	err = proxies.InitWith(
		runtime.WithLogger(logger),
		runtime.WithObserver(watch),
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
		report.row(e, runtime.TransportHTTP, proxies.HTTPRoute(e), body, err)
		if err != nil {
			failed = append(failed, fmt.Errorf("%s rest: %w", e, err))
		}
		got, err := streamTrades(ctx, e, sim, messages)
		report.row(e, runtime.TransportWebSocket, proxies.WebSocketRoute(e), got, err)
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

	// The injector's own view: Stats is kept with or without an observer;
	// the TUNNELS columns count open tunnels because an observer watches
	// them (the REST clients keep their idle connections open).
	fmt.Fprintf(out, "\nthe injector's view (Injector.Stats): %d tunnels opened, %d closed, per proxy then per route:\n",
		watch.opened.Load(), watch.closed.Load())
	if err := proxies.Injector().Stats().WriteTable(out); err != nil {
		return err
	}
	return errors.Join(failed...)
}
