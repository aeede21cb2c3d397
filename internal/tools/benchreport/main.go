// Command benchreport runs proxygen's benchmarks and writes BENCHMARKS.md:
// the environment, the exact commands, benchstat's tables and a goal table
// whose every number is computed from this run. Nothing in the report is
// typed by hand. It is a developer tool, not a test: it must not be run by
// `go test` or CI (it takes minutes and rewrites a committed file), and it
// must not write anything but its temporary directory and the -out file.
//
//	go run ./internal/tools/benchreport -out BENCHMARKS.md   (make bench)
//
// Every comparison is side by side in the same run: the test binaries are
// built once, then each round runs every benchmark group once (-count 1),
// so the variants being compared are interleaved across -rounds rounds
// (default 6) instead of running one variant six times in a row.
package main

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// benchstat is pinned: the report's tables must not change with its version.
const benchstat = "golang.org/x/perf/cmd/benchstat@v0.0.0-20260908200009-22c9c6c9d4da"

type group struct {
	key       string // file name of its results
	title     string
	pkg       string // ./internal/bench, ./runtime or ./gen
	bench     string // -test.bench regexp
	benchtime string
	stat      []string // benchstat projection flags
	about     string
}

var groups = []group{
	{"lookup", "Route lookup", "./internal/bench", "^BenchmarkRouteLookup$", "1s",
		[]string{"-col", "/lookup"},
		"Finding an exchange's route in the committed generated package `examples/feed/proxies`: the typed accessor `proxies.HTTPProxy(e)`, `Injector.Proxy(id, t)` and the global `runtime.ProxyFor(id, t)` by string id, and a plain `map[string]*runtime.Proxy` as the floor. Every variant cycles over the same 8 keys with the same indexing."},
	{"connect", "Connect latency (dial to first WebSocket echo, 20 ms RTT)", "./internal/bench", "^BenchmarkConnect$", "12x",
		[]string{"-row", "/proxy", "-col", "/client", "-filter", ".unit:p50-ms OR .unit:RTTs"},
		"Time from dial to the first WebSocket echo over `wss://` (TCP, tunnel, TLS 1.3, HTTP upgrade, one message) with `internal/testenv/target.Relay` adding 10 ms each way between client and proxy (for `direct`: between client and target), i.e. a 20 ms round trip. `p50-ms` is the median of each run's iterations; `RTTs` is that median divided by 20 ms. Clients: proxygen's `runtime.Dialer` standard and optimistic (as gorilla's `NetDialContext`), `golang.org/x/net/proxy` SOCKS5 with gorilla, gorilla's own `Dialer.Proxy`, `net/http` `Transport.Proxy` with coder/websocket. x/net/proxy has no HTTP CONNECT client, so it is absent from the HTTP rows. danted has no authentication here; proxytest SOCKS5, proxytest HTTP and squid require it."},
	{"throughput", "Throughput through an established tunnel", "./internal/bench", "^Benchmark(Bulk|WebSocketMessages)$", "1s",
		[]string{"-col", "/path"},
		"`Bulk`: 64 KiB writes through an already open tunnel to a sink that reads everything and acknowledges the total (B/s). `WebSocketMessages`: 256-byte binary messages over `wss://`, pipelined (one goroutine writes b.N messages while the other reads the b.N echoes), reported as `msgs/s`. Paths: `direct`; `relay`, a plain TCP forwarder (no proxy protocol, `io.Copy` both ways) showing what one extra forwarding hop costs on this machine; proxygen standard/optimistic and x/net/proxy through the in-process proxytest SOCKS5 (with auth) and through danted; `proxytest-pool-std`, a pool route of four proxytest SOCKS5 members (failover, built with `runtime.NewInjector`), against the single-proxy `proxytest-proxygen-std`. The tunnel is opened before the timer starts. After set-up, proxygen's standard tunnel is the plain `*net.TCPConn` (no wrapper, kernel copy paths intact), so the client adds nothing per byte; what a proxy path loses against `direct` is the proxy's own forwarding (a user-space copy in another process or goroutine, on the same 2 CPUs as client and sink), which the `relay` column isolates."},
	{"idle", "Heap per idle tunnel (1,000 tunnels)", "./internal/bench", "^BenchmarkIdleTunnels$", "1x",
		[]string{"-col", "/path", "-filter", ".unit:heap-B/tunnel"},
		"1,000 tunnels opened at once to an in-process server that accepts and holds them; heap bytes (runtime.ReadMemStats HeapAlloc after two GCs) after minus before, divided by 1,000. The holder's share is the same in every variant. Each variant warms up with one untimed round of 1,000 dials."},
	{"dialrate", "Dial rate (1,000 concurrent dials)", "./internal/bench", "^BenchmarkDialRate$", "10x",
		[]string{"-col", "/path@(danted-xnet danted-proxygen-std direct)", "-filter", ".unit:tunnels/s"},
		"1,000 dials started at once through danted (direct as a reference); one op is the 1,000 dials, reported as tunnels/s; each sample averages 10 bursts. x/net/proxy is the base column, so `vs base` is proxygen against it. A burst larger than danted's accept backlog loses SYNs to retransmission, which makes single bursts bimodal whatever the client."},
	{"poolselect", "Pool member selection (4 members)", "./runtime", "^BenchmarkPoolSelect$", "1s",
		[]string{},
		"Ordering a 4-member pool's members for one dial (`Pool.order`, what every dial through a pool does before its first attempt), for each strategy: `failover`, `round_robin`, `random`, `sticky` (rendezvous hashing of the target `host:port`), `fastest` (moving averages). No member ejected. `runtime` is its own module: its test binary is built in `./runtime`."},
	{"pool", "Pool routes: failover, ejection and hedging (dial to first WebSocket echo, 20 ms RTT)", "./internal/bench", "^BenchmarkPoolConnect$", "12x",
		[]string{"-col", "/route", "-filter", ".unit:p50-ms OR .unit:dial-ms OR .unit:dead-rtt-ms"},
		"Time from dial to the first WebSocket echo over `wss://` (as in Connect latency; `dial-ms` is the dial alone, the tunnel before TLS) through routes built with `runtime.NewInjector` and dialled with its `WebSocketDialContext`. Every healthy member is an in-process SOCKS5 proxy with authentication behind its own relay adding 10 ms each way (20 ms RTT). `single`: a route of one proxy. `pool-healthy`: four healthy members, strategy failover (the first carries every tunnel, so the difference with `single` is the pool's own cost). `first-refusing`: a member whose port refuses connections (on loopback, no relay) before the healthy one, never ejected (`after_failures: 100`); `dead-rtt-ms` is a refused TCP connect to it, the round trip the failover costs. `first-ejected`: the same pool once one failure has ejected the refusing member (for an hour). `first-blackholed-hedge200`: a member that accepts and never answers before the healthy one, `hedge_after_ms: 200`. `first-blackholed-nohedge`: the same without hedging, `attempt_timeout_seconds: 1`."},
	{"observe", "Dial cost with each observer", "./internal/bench", "^BenchmarkObservedDial$", "1s",
		[]string{"-row", "/route", "-col", "/observer"},
		"A tunnel's set-up and close through `runtime.NewInjector` over in-process proxytest SOCKS5 servers on loopback (a single-proxy route, and a two-member pool with both healthy), with no observer (the injector's Stats only), `observe/proxyprom`, `observe/proxyotel` with the OpenTelemetry SDK (every span sampled, recorded and handed to a discarding exporter; metrics to a manual reader) and `observe/proxyotel` on the global providers with no SDK installed. An observer that watches tunnels makes each tunnel one small wrapper (one allocation); the rest of each column's difference is the adapter's own work."},
	{"gen", "Generator scale", "./gen", "^Benchmark(Generate|GoBuild)$", "3x",
		[]string{},
		"`Generate`: `schema.Load` (YAML with positions, JSON Schema and semantic validation) plus `gen.Generate` for 1,000 exchanges and for 4,096, `schema.MaxExchanges`, the most a spec may declare. `GoBuild`: `go build ./...` of the generated 1,000-exchange package in a module that uses this repository's runtime; a constant in a second file changes every op so the package is really compiled (the runtime package stays cached, as in a user's build)."},
}

func main() {
	out := flag.String("out", "BENCHMARKS.md", "report to write")
	rounds := flag.Int("rounds", 6, "interleaved rounds (samples per benchmark)")
	only := flag.String("only", "", "comma-separated groups to run (default all; for trying things out)")
	keep := flag.String("keep", "", "directory for the raw results (default a temp dir, removed)")
	flag.Parse()
	if err := run(*out, *rounds, *only, *keep); err != nil {
		fmt.Fprintln(os.Stderr, "benchreport:", err)
		os.Exit(1)
	}
}

func run(out string, rounds int, only, keep string) error {
	if rounds < 1 {
		return fmt.Errorf("-rounds must be >= 1")
	}
	sel := groups
	if only != "" {
		sel = nil
		for _, g := range groups {
			if slices.Contains(strings.Split(only, ","), g.key) {
				sel = append(sel, g)
			}
		}
	}
	dir := keep
	if dir == "" {
		d, err := os.MkdirTemp("", "benchreport")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		dir = d
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	dir, _ = filepath.Abs(dir)
	began := time.Now()
	env := environment()

	// Build each package's test binary once.
	bins := map[string]string{}
	var cmds []string
	for _, g := range sel {
		if _, ok := bins[g.pkg]; ok {
			continue
		}
		// Built from inside the package's directory, so a package of
		// another module of the repository (./runtime) builds too.
		bin := filepath.Join(dir, strings.ReplaceAll(strings.Trim(g.pkg, "./"), "/", "_")+".test")
		args := []string{"test", "-c", "-o", bin, "."}
		cmds = append(cmds, fmt.Sprintf("(cd %s && go %s)", g.pkg, strings.Join(args, " ")))
		logf("building %s", g.pkg)
		build := exec.Command("go", args...)
		build.Dir = g.pkg
		if o, err := build.CombinedOutput(); err != nil {
			return fmt.Errorf("go %s (in %s): %v\n%s", strings.Join(args, " "), g.pkg, err, o)
		}
		bins[g.pkg] = bin
	}
	for _, g := range sel {
		cmds = append(cmds, fmt.Sprintf("(cd %s && %s.test -test.run '^$' -test.bench '%s' -test.benchtime %s -test.count 1 -test.benchmem)   # %s, once per round",
			g.pkg, strings.ReplaceAll(strings.Trim(g.pkg, "./"), "/", "_"), g.bench, g.benchtime, g.key))
	}

	// Rounds: every group once per round, so variants interleave.
	for r := 1; r <= rounds; r++ {
		for _, g := range sel {
			logf("round %d/%d: %s", r, rounds, g.key)
			if err := runGroup(g, bins[g.pkg], filepath.Join(dir, g.key+".txt"), r == 1); err != nil {
				return err
			}
		}
	}

	// Tables and goals.
	var body strings.Builder
	results := map[string]*samples{}
	for _, g := range sel {
		file := filepath.Join(dir, g.key+".txt")
		s, err := parseFile(file)
		if err != nil {
			return err
		}
		results[g.key] = s
		args := append([]string{"run", benchstat}, g.stat...)
		args = append(args, g.key+".txt")
		logf("benchstat %s", g.key)
		cmd := exec.Command("go", args...)
		cmd.Dir = dir
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		table, err := cmd.Output()
		if err != nil {
			return fmt.Errorf("benchstat %s: %v\n%s", g.key, err, stderr.String())
		}
		fmt.Fprintf(&body, "## %s\n\n%s\n\n", g.title, g.about)
		fmt.Fprintf(&body, "`benchstat %s %s.txt`\n\n```\n%s```\n\n", strings.Join(quoteArgs(g.stat), " "), g.key, stripHeader(string(table)))
		if skips := s.skips; len(skips) > 0 {
			fmt.Fprintf(&body, "Skipped: %s\n\n", strings.Join(skips, "; "))
		}
	}
	goals := goalTable(results)
	elapsed := time.Since(began).Round(time.Second)

	var md strings.Builder
	md.WriteString("# proxygen benchmarks\n\n")
	md.WriteString("Generated by `go run ./internal/tools/benchreport -out BENCHMARKS.md` (`make bench`); do not edit by hand.\n")
	md.WriteString("Every number below comes from the run described here. Ratios compare variants measured side by side in the same run: the test binaries are built once, then each of the " + strconv.Itoa(rounds) + " rounds runs every group once with `-test.count 1`, so the variants interleave and every benchmark has " + strconv.Itoa(rounds) + " samples. Tables: benchstat medians with 95% confidence intervals; `vs base` compares each column with the first one (`~`: no significant difference, p >= 0.05).\n\n")
	md.WriteString("## Environment\n\n")
	for _, kv := range env {
		fmt.Fprintf(&md, "- %s: %s\n", kv[0], kv[1])
	}
	fmt.Fprintf(&md, "- date: %s\n- rounds: %d\n- wall time of the run: %s\n\n", began.UTC().Format(time.RFC3339), rounds, elapsed)
	md.WriteString("## Commands\n\n```sh\n")
	for _, c := range cmds {
		md.WriteString(c + "\n")
	}
	fmt.Fprintf(&md, "go run %s <flags below> <group>.txt\n```\n\n", benchstat)
	md.WriteString("## Goals\n\n")
	md.WriteString(goals)
	md.WriteString("\n")
	md.WriteString(body.String())
	if err := os.WriteFile(out, []byte(md.String()), 0o644); err != nil {
		return err
	}
	logf("wrote %s in %s", out, elapsed)
	return nil
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s benchreport: %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}

func quoteArgs(a []string) []string {
	q := make([]string, len(a))
	for i, s := range a {
		if strings.ContainsAny(s, " :*") {
			s = "'" + s + "'"
		}
		q[i] = s
	}
	return q
}

// runGroup runs one group's benchmarks once and appends the benchmark lines
// (with the header lines of the first round) to file.
func runGroup(g group, bin, file string, first bool) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "-test.run", "^$", "-test.bench", g.bench,
		"-test.benchtime", g.benchtime, "-test.count", "1", "-test.benchmem", "-test.timeout", "10m")
	cmd.Dir = g.pkg
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stdout
	err := cmd.Run()
	f, ferr := os.OpenFile(file, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if ferr != nil {
		return ferr
	}
	defer f.Close()
	sc := bufio.NewScanner(&stdout)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		keepLine := strings.HasPrefix(line, "Benchmark") && strings.Contains(line, "\t")
		if first && (strings.HasPrefix(line, "goos:") || strings.HasPrefix(line, "goarch:") || strings.HasPrefix(line, "pkg:") || strings.HasPrefix(line, "cpu:")) {
			keepLine = true
		}
		if strings.Contains(line, "--- SKIP") || (strings.HasPrefix(line, "    ") && strings.Contains(line, "not installed")) {
			keepLine = first
		}
		if keepLine {
			fmt.Fprintln(f, line)
		}
	}
	if err != nil {
		os.Stderr.Write(stdout.Bytes())
		return fmt.Errorf("%s: %v", g.key, err)
	}
	return nil
}

// samples holds every value by benchmark name (GOMAXPROCS suffix removed)
// and unit.
type samples struct {
	v     map[string]map[string][]float64
	skips []string
}

var procSuffix = regexp.MustCompile(`-\d+$`)

func parseFile(file string) (*samples, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	s := &samples{v: map[string]map[string][]float64{}}
	sc := bufio.NewScanner(f)
	var lastSkip string
	for sc.Scan() {
		line := sc.Text()
		if strings.Contains(line, "--- SKIP") {
			lastSkip = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(line), "--- SKIP:"))
			continue
		}
		if lastSkip != "" && strings.HasPrefix(line, "    ") {
			s.skips = append(s.skips, lastSkip+": "+strings.TrimSpace(line))
			lastSkip = ""
			continue
		}
		fields := strings.Fields(line)
		if len(fields) < 4 || !strings.HasPrefix(fields[0], "Benchmark") {
			continue
		}
		name := procSuffix.ReplaceAllString(fields[0], "")
		if s.v[name] == nil {
			s.v[name] = map[string][]float64{}
		}
		for i := 2; i+1 < len(fields); i += 2 {
			x, err := strconv.ParseFloat(fields[i], 64)
			if err != nil {
				continue
			}
			s.v[name][fields[i+1]] = append(s.v[name][fields[i+1]], x)
		}
	}
	return s, sc.Err()
}

// med returns the median of name's unit and whether there is one.
func (s *samples) med(name, unit string) (float64, bool) {
	if s == nil {
		return 0, false
	}
	xs := slices.Clone(s.v[name][unit])
	if len(xs) == 0 {
		return 0, false
	}
	sort.Float64s(xs)
	n := len(xs)
	if n%2 == 1 {
		return xs[n/2], true
	}
	return (xs[n/2-1] + xs[n/2]) / 2, true
}

func stripHeader(t string) string {
	var b strings.Builder
	for _, l := range strings.SplitAfter(t, "\n") {
		if strings.HasPrefix(l, "goos:") || strings.HasPrefix(l, "goarch:") || strings.HasPrefix(l, "pkg:") || strings.HasPrefix(l, "cpu:") {
			continue
		}
		b.WriteString(l)
	}
	return strings.TrimLeft(b.String(), "\n")
}

func environment() [][2]string {
	var env [][2]string
	add := func(k, v string) { env = append(env, [2]string{k, strings.TrimSpace(v)}) }
	if o, err := exec.Command("go", "version").Output(); err == nil {
		add("go", string(o))
	}
	add("GOOS/GOARCH", runtime.GOOS+"/"+runtime.GOARCH)
	cpu := "unknown"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "model name") {
				if i := strings.IndexByte(l, ':'); i >= 0 {
					cpu = strings.TrimSpace(l[i+1:])
				}
				break
			}
		}
	}
	add("CPU", fmt.Sprintf("%s, %d logical CPUs (GOMAXPROCS %d)", cpu, runtime.NumCPU(), runtime.GOMAXPROCS(0)))
	if o, err := exec.Command("uname", "-sr").Output(); err == nil {
		add("kernel", string(o))
	}
	if rev, err := exec.Command("git", "rev-parse", "--short", "HEAD").Output(); err == nil {
		add("commit", string(rev))
	}
	for _, p := range []struct{ name, bin string }{{"danted", "danted"}, {"squid", "squid"}} {
		path, err := exec.LookPath(p.bin)
		if err != nil {
			if _, err2 := os.Stat("/usr/sbin/" + p.bin); err2 == nil {
				path = "/usr/sbin/" + p.bin
			}
		}
		if path == "" {
			add(p.name, "not installed: its benchmarks are skipped")
			continue
		}
		v := versionOf(path)
		add(p.name, v)
	}
	return env
}

func versionOf(path string) string {
	for _, flag := range []string{"-v", "-V"} {
		o, _ := exec.Command(path, flag).CombinedOutput()
		for _, l := range strings.Split(string(o), "\n") {
			l = strings.TrimSpace(l)
			if l != "" && strings.ContainsAny(l, "0123456789") && !strings.Contains(strings.ToLower(l), "usage") {
				return path + " (" + l + ")"
			}
		}
	}
	return path
}
