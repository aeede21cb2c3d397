package proxyprom

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"

	"github.com/proxygen-go/proxygen/runtime"
)

// seriesKey is name{k="v",...} with the labels sorted.
func seriesKey(name string, labels map[string]string) string {
	ks := make([]string, 0, len(labels))
	for k, v := range labels {
		ks = append(ks, k+`="`+v+`"`)
	}
	sort.Strings(ks)
	return name + "{" + strings.Join(ks, ",") + "}"
}

// parseSelector parses the simple selectors of want (no commas or quotes
// in values).
func parseSelector(t *testing.T, s string) string {
	t.Helper()
	name, rest, ok := strings.Cut(s, "{")
	if !ok || !strings.HasSuffix(rest, "}") {
		t.Fatalf("bad selector %q", s)
	}
	labels := map[string]string{}
	for _, kv := range strings.Split(strings.TrimSuffix(rest, "}"), ",") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			t.Fatalf("bad selector %q", s)
		}
		labels[k] = strings.Trim(v, `"`)
	}
	return seriesKey(name, labels)
}

// gather returns every series of reg by key, histograms as their _count.
func gather(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	got := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, lp := range m.GetLabel() {
				labels[lp.GetName()] = lp.GetValue()
			}
			switch mf.GetType() {
			case dto.MetricType_COUNTER:
				got[seriesKey(mf.GetName(), labels)] = m.GetCounter().GetValue()
			case dto.MetricType_GAUGE:
				got[seriesKey(mf.GetName(), labels)] = m.GetGauge().GetValue()
			case dto.MetricType_HISTOGRAM:
				got[seriesKey(mf.GetName()+"_count", labels)] = float64(m.GetHistogram().GetSampleCount())
			default:
				t.Fatalf("unexpected metric type %v of %s", mf.GetType(), mf.GetName())
			}
		}
	}
	return got
}

func newObserver(t *testing.T) (*Observer, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	o, err := NewObserver(reg)
	if err != nil {
		t.Fatalf("NewObserver: %v", err)
	}
	return o, reg
}

// TestScriptedEventsExactCounts drives the scripted dials through the
// Observer and checks every series of the registry: the expected ones have
// exactly the expected values and there is no other series.
func TestScriptedEventsExactCounts(t *testing.T) {
	o, reg := newObserver(t)
	phaseA(o)
	phaseB(o)
	got := gather(t, reg)
	wantKeys := map[string]bool{}
	for _, w := range want {
		k := parseSelector(t, w.query)
		wantKeys[k] = true
		v, ok := got[k]
		if !ok {
			t.Errorf("%s: missing", w.query)
			continue
		}
		if v != w.value {
			t.Errorf("%s = %v, want %v", w.query, v, w.value)
		}
	}
	for k, v := range got {
		if !wantKeys[k] {
			t.Errorf("unexpected series %s = %v", k, v)
		}
	}
	// A cancelled hedge is no failure: only the two real failures exist.
	if n := testutil.CollectAndCount(o.failures); n != 2 {
		t.Errorf("failure series = %d, want 2", n)
	}
	const wantUp = `
# HELP proxygen_proxy_up Whether a proxy is usable (1) or ejected or half-open (0).
# TYPE proxygen_proxy_up gauge
proxygen_proxy_up{proxy="http://127.0.0.1:3128"} 1
proxygen_proxy_up{proxy="https://127.0.0.1:8443"} 1
proxygen_proxy_up{proxy="socks5://127.0.0.1:1081"} 0
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(wantUp), "proxygen_proxy_up"); err != nil {
		t.Error(err)
	}
}

// TestDialDurationBuckets checks the histogram records seconds.
func TestDialDurationBuckets(t *testing.T) {
	o, _ := newObserver(t)
	o.DialDone(context.Background(), runtime.DialDone{Exchange: "x", Transport: runtime.TransportHTTP, Duration: 30 * time.Millisecond})
	o.Attempt(context.Background(), runtime.Attempt{Exchange: "x", Transport: runtime.TransportHTTP, Proxy: live, Handshake: 2 * time.Second})
	m := &dto.Metric{}
	if err := o.dialDuration.WithLabelValues("x", "http").(prometheus.Histogram).Write(m); err != nil {
		t.Fatal(err)
	}
	if s := m.GetHistogram().GetSampleSum(); s < 0.0299 || s > 0.0301 {
		t.Errorf("dial duration sum = %v s, want 0.03", s)
	}
	m = &dto.Metric{}
	if err := o.handshake.WithLabelValues("x", "http", live).(prometheus.Histogram).Write(m); err != nil {
		t.Fatal(err)
	}
	if s := m.GetHistogram().GetSampleSum(); s != 2 {
		t.Errorf("handshake sum = %v s, want 2", s)
	}
}

// TestMemberStates checks the up gauge through ejected, half-open and back,
// and that an ejection after a half-open trial counts again.
func TestMemberStates(t *testing.T) {
	o, _ := newObserver(t)
	steps := []struct {
		state     runtime.Health
		up, ejcts float64
	}{
		{runtime.Ejected, 0, 1},
		{runtime.HalfOpen, 0, 1},
		{runtime.Ejected, 0, 2},
		{runtime.HalfOpen, 0, 2},
		{runtime.Up, 1, 2},
	}
	for i, s := range steps {
		o.MemberState(runtime.MemberState{Proxy: dead, State: s.state})
		if v := testutil.ToFloat64(o.up.WithLabelValues(dead)); v != s.up {
			t.Errorf("step %d (%v): up = %v, want %v", i, s.state, v, s.up)
		}
		if v := testutil.ToFloat64(o.ejections.WithLabelValues(dead)); v != s.ejcts {
			t.Errorf("step %d (%v): ejections = %v, want %v", i, s.state, v, s.ejcts)
		}
	}
	// An attempt after the state is known does not reset it to 1.
	o.MemberState(runtime.MemberState{Proxy: hedge, State: runtime.Ejected})
	o.Attempt(context.Background(), runtime.Attempt{Exchange: "x", Proxy: hedge, Stage: runtime.StageConnect, Err: errRefused})
	if v := testutil.ToFloat64(o.up.WithLabelValues(hedge)); v != 0 {
		t.Errorf("ejected proxy after an attempt: up = %v, want 0", v)
	}
}

// TestTwoRegistries: two observers on two registries live side by side and
// count independently (no global registry).
func TestTwoRegistries(t *testing.T) {
	o1, reg1 := newObserver(t)
	o2, reg2 := newObserver(t)
	phaseA(o1)
	phaseA(o2)
	phaseB(o2)
	k := parseSelector(t, `proxygen_dials_total{exchange="binance",transport="http",result="ok"}`)
	if v := gather(t, reg1)[k]; v != 2 {
		t.Errorf("registry 1: %s = %v, want 2", k, v)
	}
	ke := parseSelector(t, `proxygen_dials_total{exchange="binance",transport="http",result="error"}`)
	if v, ok := gather(t, reg1)[ke]; ok {
		t.Errorf("registry 1 has %s = %v from registry 2's observer", ke, v)
	}
	if v := gather(t, reg2)[ke]; v != 1 {
		t.Errorf("registry 2: %s = %v, want 1", ke, v)
	}
}

// TestRegisterTwice: a second observer on the same registry is an error,
// not a panic, and leaves the registry as it was.
func TestRegisterTwice(t *testing.T) {
	o, reg := newObserver(t)
	o2, err := NewObserver(reg)
	if err == nil || o2 != nil {
		t.Fatalf("second NewObserver on one registry: %v, %v; want an error", o2, err)
	}
	var are prometheus.AlreadyRegisteredError
	if !errors.As(err, &are) {
		t.Errorf("error %v is not an AlreadyRegisteredError", err)
	}
	phaseA(o)
	if _, ok := gather(t, reg)[parseSelector(t, `proxygen_proxy_up{proxy="`+dead+`"}`)]; !ok {
		t.Error("first observer's metrics are gone after the failed second registration")
	}

	// A clash on the last metric unregisters the ones registered before it.
	reg = prometheus.NewRegistry()
	clash := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "proxygen_tunnels_open", Help: "Tunnels open now."},
		[]string{"exchange", "transport", "proxy"})
	reg.MustRegister(clash)
	if _, err := NewObserver(reg); err == nil {
		t.Fatal("NewObserver with a clashing proxygen_tunnels_open: no error")
	}
	reg.Unregister(clash)
	if _, err := NewObserver(reg); err != nil {
		t.Errorf("NewObserver after the clash is gone: %v (the failed one left metrics registered)", err)
	}

	if _, err := NewObserver(nil); err == nil {
		t.Error("NewObserver(nil): no error")
	}
}

func TestProxyLabel(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"socks5://127.0.0.1:1080", "socks5://127.0.0.1:1080"},
		{"http://[::1]:3128", "http://[::1]:3128"},
		{"http://user:pw@127.0.0.1:3128", "http://127.0.0.1:3128"},
		{"http://user:p/w?#@127.0.0.1:3128", "http://127.0.0.1:3128"},
		{"https://127.0.0.1:443/path?q=1#f", "https://127.0.0.1:443"},
		{"user:pw@127.0.0.1:1", "127.0.0.1:1"},
		{"", ""},
	} {
		if got := proxyLabel(c.in); got != c.want {
			t.Errorf("proxyLabel(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	if n := testing.AllocsPerRun(100, func() { proxyLabel("socks5://127.0.0.1:1080") }); n != 0 {
		t.Errorf("proxyLabel of a clean proxy allocates %v times", n)
	}
}

func TestStageLabel(t *testing.T) {
	for in, want := range map[runtime.Stage]string{
		runtime.StageConnect: "connect", runtime.StageAuth: "auth", runtime.StageReply: "reply",
		"": "unknown", "user:secret": "other",
	} {
		if got := stageLabel(in); got != want {
			t.Errorf("stageLabel(%q) = %q, want %q", in, got, want)
		}
	}
}

const canary = "CanaryPw-7f3e9"

// TestCanaryNeverInExposition feeds events whose errors, stages and proxy
// strings hold a credential and checks the exposition never shows it.
func TestCanaryNeverInExposition(t *testing.T) {
	o, reg := newObserver(t)
	leaky := "socks5h://alice:" + canary + "@127.0.0.1:1080/" + canary
	ctx := o.DialStart(context.Background(), runtime.DialStart{Exchange: "binance", Transport: runtime.TransportHTTP, Target: "h:1"})
	o.Attempt(ctx, runtime.Attempt{Exchange: "binance", Proxy: leaky, Stage: runtime.Stage(canary), Err: errors.New("auth as alice:" + canary)})
	o.Attempt(ctx, runtime.Attempt{Exchange: "binance", Proxy: leaky})
	o.DialDone(ctx, runtime.DialDone{Exchange: "binance", Proxy: leaky, Err: fmt.Errorf("password %s: %w", canary, runtime.ErrProxyAuth)})
	o.MemberState(runtime.MemberState{Proxy: leaky, State: runtime.Ejected})
	o.TunnelOpen(runtime.Tunnel{Exchange: "binance", Proxy: leaky})
	body := scrape(t, reg)
	if strings.Contains(body, canary) || strings.Contains(body, "alice") {
		t.Fatalf("credential in the exposition:\n%s", body)
	}
	if !strings.Contains(body, `proxy="socks5h://127.0.0.1:1080"`) {
		t.Errorf("exposition lacks the redacted proxy label:\n%s", body)
	}
}

// scrape returns reg's text exposition as promhttp serves it.
func scrape(t *testing.T, reg *prometheus.Registry) string {
	t.Helper()
	srv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %s\n%s", resp.Status, b)
	}
	return string(b)
}

// needTool returns a tool's path. Without it the test fails under CI=true
// (CI installs it: .ci/install-obs.sh) and is skipped elsewhere.
func needTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s not found (CI installs it with .ci/install-obs.sh): %v", name, err)
		}
		t.Skipf("%s not found; install the Debian package prometheus (.ci/install-obs.sh): %v", name, err)
	}
	return p
}

// TestPromtoolCheckMetrics lints the exposition of the scripted dials with
// promtool check metrics: no problem may be reported.
func TestPromtoolCheckMetrics(t *testing.T) {
	promtool := needTool(t, "promtool")
	o, reg := newObserver(t)
	phaseA(o)
	phaseB(o)
	body := scrape(t, reg)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, promtool, "check", "metrics")
	cmd.Stdin = strings.NewReader(body)
	out, err := cmd.CombinedOutput()
	t.Logf("promtool check metrics (exit %v) on %d lines of exposition: %q", cmd.ProcessState.ExitCode(), strings.Count(body, "\n"), out)
	if err != nil || len(strings.TrimSpace(string(out))) != 0 {
		t.Fatalf("promtool check metrics: %v\n%s\nexposition:\n%s", err, out, body)
	}
}
