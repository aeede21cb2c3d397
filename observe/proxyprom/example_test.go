package proxyprom_test

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/proxygen-go/proxygen/observe/proxyprom"
	"github.com/proxygen-go/proxygen/runtime"
)

func ExampleNewObserver() {
	reg := prometheus.NewRegistry()
	obs, err := proxyprom.NewObserver(reg)
	if err != nil {
		panic(err)
	}
	// The program installs obs on its injector (runtime.WithObserver) and
	// serves the registry.
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	_ = mux // http.ListenAndServe(addr, mux)

	// What the runtime reports when a pool ejects a proxy:
	obs.MemberState(runtime.MemberState{Proxy: "socks5://127.0.0.1:1080", State: runtime.Ejected})
	err = testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP proxygen_proxy_up Whether a proxy is usable (1) or ejected or half-open (0).
# TYPE proxygen_proxy_up gauge
proxygen_proxy_up{proxy="socks5://127.0.0.1:1080"} 0
`), "proxygen_proxy_up")
	fmt.Println(err)
	// Output: <nil>
}
