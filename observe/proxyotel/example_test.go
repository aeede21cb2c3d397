package proxyotel_test

import (
	"context"
	"fmt"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/proxygen-go/proxygen/observe/proxyotel"
	"github.com/proxygen-go/proxygen/runtime"
)

func ExampleNewObserver() {
	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	defer func() { _ = tp.Shutdown(context.Background()) }()

	// Without options the observer uses the global providers.
	obs, err := proxyotel.NewObserver(proxyotel.WithTracerProvider(tp))
	if err != nil {
		panic(err)
	}
	// The program installs obs on its injector (runtime.WithObserver); the
	// runtime then reports each dial:
	ctx := obs.DialStart(context.Background(), runtime.DialStart{Exchange: "binance", Target: "api.binance.com:443"})
	obs.Attempt(ctx, runtime.Attempt{Exchange: "binance", Proxy: "socks5h://127.0.0.1:1080", N: 1, Handshake: 3 * time.Millisecond})
	obs.DialDone(ctx, runtime.DialDone{Exchange: "binance", Proxy: "socks5h://127.0.0.1:1080", Attempts: 1, Duration: 4 * time.Millisecond})

	s := spans.Ended()[0]
	fmt.Println(s.Name(), len(s.Events()), s.Events()[0].Name)
	// Output: proxygen.dial 1 proxygen.attempt
}
