package proxies

// Hand-written (not generated): the behaviour of a generated package.

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/proxygen-go/proxygen/runtime"
)

func TestCompiledRoutes(t *testing.T) {
	tests := []struct {
		name string
		got  *runtime.Proxy
		want string
	}{
		{"binance http override", HTTPProxy(Binance), "https://eu-egress.internal:8443"},
		{"binance websocket inherits the default", WebSocketProxy(Binance), "http://proxy.internal:3128"},
		{"kraken http inherits the default", HTTPProxy(Kraken), "socks5h://proxy.internal:1080"},
		{"kraken websocket override", WebSocketProxy(Kraken), "socks4a://***@10.0.0.9:1080"},
		{"unknown exchange gets the default", HTTPProxy(Exchange(99)), "socks5h://proxy.internal:1080"},
	}
	for _, tt := range tests {
		if tt.got == nil || tt.got.String() != tt.want {
			t.Errorf("%s: got %v, want %s", tt.name, tt.got, tt.want)
		}
	}
	if p := HTTPProxy(Binance); p.Timeout != 10*time.Second {
		t.Errorf("binance timeout %v, want 10s", p.Timeout)
	}
	if p := WebSocketProxy(Kraken); p.UserVar != "KRAKEN_ID" || p.User != "" {
		t.Errorf("kraken user id: UserVar %q User %q", p.UserVar, p.User)
	}
}

func TestExchangeNames(t *testing.T) {
	if e, ok := ParseExchange("BINANCE"); !ok || e != Binance {
		t.Errorf("ParseExchange(BINANCE) = %v, %v", e, ok)
	}
	if _, ok := ParseExchange("bitmex"); ok {
		t.Error("ParseExchange accepted an exchange the spec does not name")
	}
	if got := Exchanges(); len(got) != 2 || got[0] != Binance || got[1] != Kraken {
		t.Errorf("Exchanges() = %v", got)
	}
	if Kraken.String() != "kraken" || Exchange(7).String() != "Exchange(7)" {
		t.Errorf("String: %q %q", Kraken.String(), Exchange(7).String())
	}
}

// Before Init, a ${VAR} credential is unresolved: the dial fails naming the
// variable, before any network I/O (the address is unroutable on purpose).
func TestUnresolvedCredentialBeforeInit(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := WebSocketDialContext(Kraken)(ctx, "tcp", "exchange.test:443")
	var ue *runtime.UnresolvedError
	if !errors.As(err, &ue) || ue.Var != "KRAKEN_ID" {
		t.Fatalf("dial before Init: %v, want an UnresolvedError naming KRAKEN_ID", err)
	}
}

func TestInitOverlayAndSecrets(t *testing.T) {
	t.Cleanup(func() { runtime.Install(nil) })
	t.Setenv("KRAKEN_ID", "")
	t.Setenv("CRYPTOFEED_PROXY_EXCHANGES__BINANCE__HTTP__URL", "socks5://127.0.0.1:1081")
	if err := Init(); err != nil {
		t.Fatal(err)
	}
	p := HTTPProxy(Binance)
	if p.String() != "socks5://127.0.0.1:1081" || p.Timeout != 10*time.Second {
		t.Errorf("after Init: %v timeout %v; want the env URL with the spec's 10s timeout", p, p.Timeout)
	}
	if HTTPClient(Binance) != HTTPClient(Binance) {
		t.Error("HTTPClient is not reused")
	}
	if runtime.ProxyFor("Binance", runtime.TransportHTTP) != p {
		t.Error("Init did not install the routes into the global injector")
	}
	if err := Init(); err != nil { // safe to call twice
		t.Fatal(err)
	}

	t.Setenv("CRYPTOFEED_PROXY_EXCHANGES__BINANCE__HTTP__TIMEOUT_SECONDS", "0")
	err := Init()
	if err == nil || !strings.Contains(err.Error(), "CRYPTOFEED_PROXY_EXCHANGES__BINANCE__HTTP__TIMEOUT_SECONDS") {
		t.Errorf("invalid env: %v", err)
	}
}

func TestInitMissingSecret(t *testing.T) {
	t.Cleanup(func() { runtime.Install(nil) })
	err := Init() // KRAKEN_ID is not set in the test environment
	if err == nil || !strings.Contains(err.Error(), "KRAKEN_ID") {
		t.Fatalf("Init without KRAKEN_ID: %v", err)
	}
}
