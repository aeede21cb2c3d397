package proxies

// Hand-written (not generated): issue 9 items 10 and 14. Clients taken
// before Init (package-level vars, generated and by-id) are late-bound and
// never direct for a route the spec proxies; ParseExchange folds case as
// the runtime does.

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/proxygen-go/proxygen/runtime"
)

var (
	preInitClient = HTTPClient(Binance)
	preInitByID   = runtime.HTTPClient("binance")
)

func TestSec14_PreInitClientsLateBound(t *testing.T) {
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		_, _ = io.WriteString(w, "ok")
	}))
	defer srv.Close()
	get := func(c *http.Client) error {
		resp, err := c.Get(srv.URL)
		if err != nil {
			return err
		}
		resp.Body.Close()
		return nil
	}
	notDirect := func(what string) {
		t.Helper()
		for name, c := range map[string]*http.Client{"generated": preInitClient, "by-id": preInitByID} {
			if err := get(c); err == nil || !strings.Contains(err.Error(), "LB_USER") {
				t.Errorf("%s %s client: %v, want an error naming LB_USER", what, name, err)
			}
		}
		if n := hits.Load(); n != 0 {
			t.Fatalf("%s: %d direct requests", what, n)
		}
	}
	// Before Init: the compiled routes, known to the by-id API from
	// package initialisation; the unresolved ${LB_USER} fails the dial.
	notDirect("before Init")

	// A failed Init leaves the compiled routes in force.
	t.Setenv("LATE_BINDING_ENABLED", "maybe")
	if err := Init(); err == nil {
		t.Fatal("Init accepted ENABLED=maybe")
	}
	notDirect("after a failed Init")

	// The operator's kill switch reaches clients taken before Init.
	t.Setenv("LATE_BINDING_ENABLED", "false")
	if err := Init(); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]*http.Client{"generated": preInitClient, "by-id": preInitByID} {
		if err := get(c); err != nil {
			t.Errorf("kill switch: %s client: %v", name, err)
		}
	}
	if n := hits.Load(); n != 2 {
		t.Errorf("kill switch: %d direct requests, want 2", n)
	}
	t.Cleanup(func() { runtime.Install(nil) })
}

// parseAgrees checks that ParseExchange and the runtime's by-id lookup
// agree on s: every exchange of this spec has an http override, so the
// runtime finds s exactly when its source is "override".
func parseAgrees(t *testing.T, s string) {
	in, err := runtime.NewInjector(Settings())
	if err != nil {
		t.Fatal(err)
	}
	e, ok := ParseExchange(s)
	byID := in.Source(s, runtime.TransportHTTP) == runtime.SourceOverride
	if ok != byID {
		t.Errorf("%q: ParseExchange ok=%v, runtime lookup found=%v", s, ok, byID)
	}
	if ok && e.String() != runtime.NormalizeExchangeID(s) {
		t.Errorf("%q: ParseExchange = %s, runtime folds to %q", s, e, runtime.NormalizeExchangeID(s))
	}
}

var parseInputs = []string{
	"binance", "BINANCE", "BiNaNcE", "kraken", "KRAKEN", "\u212araken", "\u212aRAKEN",
	"gate_io", "GATE_IO", "gate_\u0130o", "gate_ıo", "binance ", "", "x", "ＢＩＮＡＮＣＥ", "kraken\x00",
}

func TestSec10_ParseExchangeAgreesWithRuntime(t *testing.T) {
	for _, s := range parseInputs {
		parseAgrees(t, s)
	}
	if _, ok := ParseExchange("\u212araken"); ok {
		t.Error("ParseExchange folds the Kelvin sign to k")
	}
}

func FuzzSec10_ParseExchangeAgreesWithRuntime(f *testing.F) {
	for _, s := range parseInputs {
		f.Add(s)
	}
	f.Fuzz(parseAgrees)
}
