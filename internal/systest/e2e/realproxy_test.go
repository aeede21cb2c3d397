package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/proxygen-go/proxygen/gen"
	"github.com/proxygen-go/proxygen/internal/testenv"
	"github.com/proxygen-go/proxygen/internal/testenv/realproxy"
	"github.com/proxygen-go/proxygen/internal/testenv/target"
	"github.com/proxygen-go/proxygen/schema"
)

// canary is the password of every authenticating proxy (microsocks,
// tinyproxy, squid) and of the literal URL the env overlay variant sets. It
// must never appear in anything the driver prints: rows, errors, log lines.
// tinyproxy's BasicAuth takes [-A-Za-z0-9._] only, which testenv.Canary fits.
const (
	canary    = testenv.Canary
	proxyUser = testenv.CanaryUser
)

// driverTimeout bounds one run of the driver, up to its READY line.
const driverTimeout = 60 * time.Second

// want is the route the spec gives one exchange and transport: the server
// that must carry the traffic (nil: direct) and the scheme.
type want struct {
	server     *realproxy.Server
	scheme     string
	optimistic bool // optimistic: true in the spec
}

func (w want) String() string {
	if w.server == nil {
		return "direct"
	}
	if w.optimistic {
		return w.scheme + " (optimistic) via " + w.server.Name
	}
	return w.scheme + " via " + w.server.Name
}

// row is one ROW line of the driver.
type row struct {
	Exchange, Transport, Client, URL, Route, Result, Peer string
	Line                                                  string
}

var rowRE = regexp.MustCompile(`^ROW exchange=(\S+) transport=(\S+) client=(\S+) url=(\S+) route=(\S+) result=(\S+) peer=(\S+)`)

func parseRow(line string) (row, bool) {
	m := rowRE.FindStringSubmatch(line)
	if m == nil {
		return row{}, false
	}
	return row{m[1], m[2], m[3], m[4], m[5], m[6], m[7], line}, true
}

// fixture is the servers, the target and the compiled drivers of the test.
type fixture struct {
	tgt                            *target.Server
	caFile                         string
	dante, micro, ssh, tiny, squid *realproxy.Server
	servers                        []*realproxy.Server
	routes                         map[string][2]want // exchange -> [http, websocket]
	libRoutes                      map[string][2]want // "lib:<Id>" rows of the shared-library path
	bin, lockedBin                 string
	mu                             sync.Mutex
	outputs                        []string // every stdout and stderr of every driver run (canary)
	matrixLines                    []string
}

// TestEndToEnd compiles a spec whose exchanges point at the real proxy
// servers into a generated package, builds a feed-handler driver on it
// (once unlocked, once with -lock) and runs it: every exchange, transport
// and client (net/http, gorilla, coder, gobwas; ws:// and wss://) must work
// and be carried by exactly the process the spec names (proxy-side
// evidence: the socket the target saw belongs to that server), direct
// routes by the driver itself; the env overlay moves a route at run time;
// the locked build ignores the same env; the canary password appears
// nowhere; the runtime logs one line per tunnel.
func TestEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real proxy servers and builds a driver with the go command")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("the end-to-end test needs the go command on PATH: %v", err)
		}
		t.Skipf("the end-to-end test needs the go command on PATH: %v", err)
	}
	start := time.Now()
	f := &fixture{}
	ca, err := target.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	f.tgt = target.Start(t, ca)
	dir := t.TempDir()
	if f.caFile, err = ca.WriteCertFile(dir); err != nil {
		t.Fatal(err)
	}
	certPEM, keyPEM, err := ca.IssuePEM("127.0.0.1", "localhost")
	if err != nil {
		t.Fatal(err)
	}
	f.dante = realproxy.Dante(t)
	f.micro = realproxy.Microsocks(t, proxyUser, canary)
	f.ssh = realproxy.SSHDynamic(t)
	f.tiny = realproxy.Tinyproxy(t, proxyUser, canary)
	f.squid = realproxy.Squid(t, proxyUser, canary, certPEM, keyPEM)
	f.servers = []*realproxy.Server{f.dante, f.micro, f.ssh, f.tiny, f.squid}
	t.Logf("servers up after %v", time.Since(start).Round(time.Millisecond))

	spec := f.spec()
	mod := filepath.Join(dir, "driver")
	f.bin = buildDriver(t, goTool, mod, spec, false, "driver")
	f.lockedBin = buildDriver(t, goTool, mod, spec, true, "driver-locked")
	t.Logf("driver built (unlocked and locked) after %v", time.Since(start).Round(time.Millisecond))

	t.Run("matrix", f.testMatrix)
	t.Run("env-overlay", func(t *testing.T) { f.testEnv(t, false) })
	t.Run("locked-ignores-env", func(t *testing.T) { f.testEnv(t, true) })
	t.Run("env-error", f.testEnvError)
	t.Run("canary", f.testCanary)

	w := &strings.Builder{}
	fmt.Fprintln(w, "END-TO-END MATRIX (exchange, transport, client, url -> spec route; proxy-side owner of the target's peer socket)")
	for _, l := range f.matrixLines {
		fmt.Fprintln(w, l)
	}
	t.Log("\n" + w.String())
	t.Logf("end-to-end total %v", time.Since(start).Round(time.Millisecond))
}

// spec writes the spec: each route names one server and scheme; kraken is
// direct, bybit follows the defaults, okx overrides one transport only.
func (f *fixture) spec() []byte {
	cred := "${E2E_USER}:${E2E_PASS}@"
	u := func(scheme string, s *realproxy.Server, auth bool) string {
		addr := s.Addr
		if scheme == "https" {
			addr = s.TLSAddr
		}
		if auth {
			return scheme + "://" + cred + addr
		}
		return scheme + "://" + addr
	}
	f.routes = map[string][2]want{
		"binance":  {{f.dante, "socks5", false}, {f.dante, "socks5h", false}},
		"bitfinex": {{f.dante, "socks4", false}, {f.dante, "socks4", false}},
		"bitstamp": {{f.dante, "socks5h", true}, {f.tiny, "http", true}}, // pipelined handshakes
		"coinbase": {{f.micro, "socks5", false}, {f.micro, "socks5h", false}},
		"deribit":  {{f.ssh, "socks4a", false}, {f.ssh, "socks4a", false}},
		"gemini":   {{f.tiny, "http", false}, {f.tiny, "http", false}},
		"huobi":    {{f.squid, "http", false}, {f.squid, "https", false}},
		"kraken":   {{}, {}},
		"bybit":    {{f.ssh, "socks5h", false}, {f.squid, "https", false}}, // defaults
		"okx":      {{}, {f.squid, "https", false}},                        // http direct, websocket default
	}
	f.libRoutes = map[string][2]want{
		"lib:Unlisted": f.routes["bybit"],
		"lib:BINANCE":  f.routes["binance"],
	}
	auth := map[*realproxy.Server]bool{f.micro: true, f.tiny: true, f.squid: true}
	var b strings.Builder
	b.WriteString("# proxygen end-to-end spec: every route points at a real proxy server.\n")
	b.WriteString("version: 1\npackage: proxies\nenabled: true\n")
	fmt.Fprintf(&b, "default:\n  http: { url: %q, timeout_seconds: 20 }\n  websocket: { url: %q, timeout_seconds: 20 }\n",
		u("socks5h", f.ssh, false), u("https", f.squid, true))
	b.WriteString("exchanges:\n")
	ids := make([]string, 0, len(f.routes))
	for id := range f.routes {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		switch id {
		case "bybit":
			b.WriteString("  bybit: {}\n")
			continue
		case "kraken":
			b.WriteString("  kraken:\n    http: { direct: true }\n    websocket: { direct: true }\n")
			continue
		case "okx":
			b.WriteString("  okx:\n    http: { direct: true }\n")
			continue
		}
		fmt.Fprintf(&b, "  %s:\n", id)
		for i, tr := range []string{"http", "websocket"} {
			w := f.routes[id][i]
			opt := ""
			if w.optimistic {
				opt = ", optimistic: true"
			}
			fmt.Fprintf(&b, "    %s: { url: %q, timeout_seconds: 20%s }\n", tr, u(w.scheme, w.server, auth[w.server]), opt)
		}
	}
	return []byte(b.String())
}

// buildDriver generates the spec's package (locked or not) into the
// throw-away module mod and builds the driver binary there.
func buildDriver(t *testing.T, goTool, mod string, spec []byte, lock bool, name string) string {
	t.Helper()
	root := testenv.RepoRoot(t)
	s, err := schema.Load("spec.yaml", spec, schema.Options{})
	if err != nil {
		t.Fatalf("spec rejected: %v\n%s", err, spec)
	}
	files, err := gen.Generate(s, gen.Options{Source: "spec.yaml", Lock: lock})
	if err != nil {
		t.Fatalf("generate: %v", err)
	}
	driverSrc, err := os.ReadFile(filepath.Join("testdata", "driver", "main.go"))
	if err != nil {
		t.Fatal(err)
	}
	sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	// The driver's go.mod is complete, so the build runs under CI's
	// -mod=readonly as it is: the root module's requirements (a superset of
	// what the driver imports: net/http, gorilla, coder, gobwas, the runtime)
	// at the root's versions, whose go.sum is copied beside it.
	gomod := "module e2edriver\n\ngo 1.26.0\n\n" + testenv.RootRequires(t) + "\nreplace github.com/proxygen-go/proxygen/runtime => " + filepath.Join(root, "runtime") + "\n"
	write := func(rel string, data []byte) {
		p := filepath.Join(mod, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("go.mod", []byte(gomod))
	write("go.sum", sum)
	write("spec.yaml", spec)
	write("main.go", driverSrc)
	write(filepath.Join("proxies", gen.FileName), files[gen.FileName])
	bin := filepath.Join(mod, "bin", name)
	cmd := exec.Command(goTool, "build", "-o", bin, ".")
	cmd.Dir = mod
	cmd.Env = append(os.Environ(), "GOWORK=off")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build of the driver (lock=%v): %v\n%s", lock, err, out)
	}
	return bin
}

// run is one run of the driver.
type run struct {
	rows           []row
	stdout, stderr string
	pid            int
	owners         map[string]string // row line -> owner name ("driver" for direct)
}

// runDriver runs bin with env added to a clean environment, collects its
// rows until READY, finds the owner of every peer socket while the driver
// still holds its connections, then lets it finish.
func (f *fixture) runDriver(t *testing.T, bin string, env ...string) *run {
	t.Helper()
	var base []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(strings.ToUpper(kv), "CRYPTOFEED_PROXY_") {
			base = append(base, kv)
		}
	}
	base = append(base,
		"SSL_CERT_FILE="+f.caFile,
		"E2E_USER="+proxyUser,
		"E2E_PASS="+canary,
		"E2E_TARGET_HTTPS=localhost:"+strconv.Itoa(f.tgt.HTTPSPort),
		"E2E_TARGET_HTTP=localhost:"+strconv.Itoa(f.tgt.HTTPPort),
	)
	cmd := exec.Command(bin)
	cmd.Env = append(base, env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdoutPipe, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r := &run{pid: cmd.Process.Pid, owners: map[string]string{}}
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdoutPipe)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	var out strings.Builder
	timer := time.NewTimer(driverTimeout)
	defer timer.Stop()
	ready, exited := false, false
	for !ready && !exited {
		select {
		case l, ok := <-lines:
			if !ok {
				exited = true
				break
			}
			out.WriteString(l + "\n")
			if l == "READY" {
				ready = true
			}
			if rw, ok := parseRow(l); ok {
				r.rows = append(r.rows, rw)
			}
		case <-timer.C:
			cmd.Process.Kill()
			t.Errorf("driver not READY within %v", driverTimeout)
			exited = true
		}
	}
	if ready {
		// The connections are open now: who holds the target's peers?
		for _, rw := range r.rows {
			if rw.Result != "ok" {
				continue
			}
			// Both ends of the target's connection: the peer it saw and
			// its own listener (https and wss: the TLS one; ws: the plain
			// one), so a local port shared toward another target cannot
			// mislead the lookup.
			port := f.tgt.HTTPSPort
			if rw.URL == "ws" {
				port = f.tgt.HTTPPort
			}
			remote := rw.Peer
			if ap, err := netip.ParseAddrPort(rw.Peer); err == nil {
				remote = netip.AddrPortFrom(ap.Addr(), uint16(port)).String()
			}
			owner, heldBy, err := realproxy.OwnerOf(rw.Peer, remote, f.servers...)
			switch {
			case err != nil:
				r.owners[rw.Line] = "error: " + err.Error()
			case owner != nil:
				r.owners[rw.Line] = owner.Name
			case heldBy(r.pid):
				r.owners[rw.Line] = "driver"
			default:
				pids, err := realproxy.SocketOwners(rw.Peer)
				r.owners[rw.Line] = fmt.Sprintf("unknown (pids %v, %v)", pids, err)
			}
		}
	}
	stdin.Close()
	for l := range lines {
		out.WriteString(l + "\n")
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err = <-done:
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		err = <-done
	}
	r.stdout, r.stderr = out.String(), stderr.String()
	f.mu.Lock()
	f.outputs = append(f.outputs, r.stdout, r.stderr)
	f.mu.Unlock()
	if err != nil && !strings.Contains(r.stdout, "INIT error") {
		t.Errorf("driver: %v\nstdout:\n%s\nstderr:\n%s", err, r.stdout, r.stderr)
	}
	return r
}

// check asserts every row against routes: the result, the route printed,
// and that the expected process carried the connection. It returns the
// matrix lines and the expected number of tunnels per (proxy addr,
// transport).
func (f *fixture) check(t *testing.T, r *run, routes map[string][2]want, label string) map[string]int {
	t.Helper()
	tunnels := map[string]int{}
	seen := map[string]int{}
	for _, rw := range r.rows {
		ws, ok := routes[rw.Exchange]
		if !ok {
			ws, ok = f.libRoutes[rw.Exchange]
		}
		if !ok {
			t.Errorf("row of an unexpected exchange: %s", rw.Line)
			continue
		}
		w := ws[0]
		if rw.Transport == "websocket" {
			w = ws[1]
		}
		seen[rw.Exchange+"/"+rw.Transport]++
		owner := r.owners[rw.Line]
		wantOwner := "driver"
		if w.server != nil {
			wantOwner = w.server.Name
		}
		status := "PASS"
		switch {
		case rw.Result != "ok":
			status = "FAIL"
			t.Errorf("%s: %s", label, rw.Line)
		case owner != wantOwner:
			status = "FAIL"
			t.Errorf("%s: %s/%s/%s/%s: the target's peer %s belongs to %q, want %q (%s)",
				label, rw.Exchange, rw.Transport, rw.Client, rw.URL, rw.Peer, owner, wantOwner, w)
		}
		wantRoute := "direct"
		if w.server != nil {
			wantRoute = w.scheme + "://"
			addr := w.server.Addr
			if w.scheme == "https" {
				addr = w.server.TLSAddr
			}
			if w.server == f.micro || w.server == f.tiny || w.server == f.squid {
				wantRoute += "***@"
			}
			wantRoute += addr
			tunnels[addr+" "+rw.Transport]++
			if w.optimistic {
				tunnels["optimistic "+rw.Transport]++
			}
		}
		if rw.Route != wantRoute {
			status = "FAIL"
			t.Errorf("%s: %s/%s: route printed %q, want %q", label, rw.Exchange, rw.Transport, rw.Route, wantRoute)
		}
		if rw.Transport == "http" && !strings.Contains(rw.Line, "reused=true") {
			status = "FAIL"
			t.Errorf("%s: second REST GET did not reuse the connection: %s", label, rw.Line)
		}
		f.matrixLines = append(f.matrixLines, fmt.Sprintf("%-18s %-12s %-10s %-8s %-4s %-44s carried-by=%-10s %s",
			label, rw.Exchange, rw.Transport, rw.Client, rw.URL, rw.Route+map[bool]string{true: " (optimistic)"}[w.optimistic], owner, status))
	}
	for ex := range routes {
		for _, tr := range []string{"http", "websocket"} {
			n, want := seen[ex+"/"+tr], 1
			if tr == "websocket" {
				want = 6 // gorilla, coder, gobwas × ws, wss
			}
			if n != want {
				t.Errorf("%s: %d rows for %s/%s, want %d", label, n, ex, tr, want)
			}
		}
	}
	return tunnels
}

// checkLogs asserts that stderr is slog JSON only: Init's "proxy route"
// lines at INFO, and one "proxy tunnel" line at DEBUG per proxied connection (per proxy address and transport), each with
// the fields docs/DESIGN.md names.
func checkLogs(t *testing.T, label, stderr string, tunnels map[string]int) {
	t.Helper()
	got := map[string]int{}
	for _, l := range strings.Split(strings.TrimSpace(stderr), "\n") {
		if l == "" {
			continue
		}
		var rec map[string]any
		if err := json.Unmarshal([]byte(l), &rec); err != nil {
			t.Errorf("%s: stderr line is not slog JSON: %q", label, l)
			continue
		}
		if strings.Contains(l, "@") {
			t.Errorf("%s: log line with user information: %s", label, l)
		}
		if rec["msg"] == "proxy route" { // Init's route table, at INFO
			for _, k := range []string{"exchange", "transport", "scheme", "proxy", "source"} {
				if _, ok := rec[k]; !ok || rec["level"] != "INFO" {
					t.Errorf("%s: route log line lacks %q or is not INFO: %s", label, k, l)
				}
			}
			continue
		}
		if rec["msg"] != "proxy tunnel" || rec["level"] != "DEBUG" {
			t.Errorf("%s: unexpected log line: %s", label, l)
			continue
		}
		for _, k := range []string{"exchange", "transport", "scheme", "proxy", "setup"} {
			if _, ok := rec[k]; !ok {
				t.Errorf("%s: log line lacks %q: %s", label, k, l)
			}
		}
		got[fmt.Sprint(rec["proxy"])+" "+fmt.Sprint(rec["transport"])]++
		if rec["optimistic"] == true {
			got["optimistic "+fmt.Sprint(rec["transport"])]++
		}
	}
	for k, n := range tunnels {
		if got[k] != n {
			t.Errorf("%s: %d log lines for tunnels to %s, want %d (one per tunnel)", label, got[k], k, n)
		}
	}
	for k, n := range got {
		if _, ok := tunnels[k]; !ok {
			t.Errorf("%s: %d log lines for %s, where no tunnel was expected", label, n, k)
		}
	}
}

func (f *fixture) testMatrix(t *testing.T) {
	before := f.tgt.Conns()
	squidLog := len(f.squid.ReadFile("access.log"))
	r := f.runDriver(t, f.bin)
	tunnels := f.check(t, r, f.routes, "spec")
	checkLogs(t, "spec", r.stderr, tunnels)
	checkSquidLog(t, f.squid, squidLog, tunnels)
	// One target connection per row (the second REST GET reuses the first):
	// no extra, direct attempt was made anywhere.
	if got, want := f.tgt.Conns()-before, int64(len(r.rows)); got != want {
		t.Errorf("the target accepted %d connections for %d rows", got, want)
	}
	if want := len(f.routes)*7 + 3; len(r.rows) != want {
		t.Errorf("%d rows, want %d:\n%s", len(r.rows), want, r.stdout)
	}
}

// checkSquidLog asserts squid's side of the run: every WebSocket (ws:// and
// wss://) and REST connection through squid was a CONNECT tunnel to the
// host name, authenticated as proxyUser, never a forwarded request, one
// access.log line per tunnel the driver opened through it.
func checkSquidLog(t *testing.T, squid *realproxy.Server, offset int, tunnels map[string]int) {
	t.Helper()
	want := 0
	for k, n := range tunnels {
		if addr, _, _ := strings.Cut(k, " "); addr == squid.Addr || addr == squid.TLSAddr {
			want += n
		}
	}
	var lines []string
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		lines = strings.Split(strings.TrimSpace(squid.ReadFile("access.log")[offset:]), "\n")
		if len(lines) >= want || time.Now().After(deadline) {
			break
		}
	}
	if len(lines) != want {
		t.Errorf("squid logged %d transactions, want %d (one per tunnel):\n%s", len(lines), want, strings.Join(lines, "\n"))
	}
	for _, l := range lines {
		fs := strings.Fields(l)
		if len(fs) < 8 || fs[3] != "TCP_TUNNEL/200" || fs[5] != "CONNECT" || !strings.HasPrefix(fs[6], "localhost:") || fs[7] != proxyUser {
			t.Errorf("squid access.log: want only authenticated CONNECT tunnels to localhost, got %q", l)
		}
	}
}

// testEnv sets the overlay: kraken's WebSocket route (direct: true in the
// spec) to danted, gemini's (tinyproxy) to squid with literal credentials
// (the canary). The unlocked build must follow it; the locked build must
// ignore it.
func (f *fixture) testEnv(t *testing.T, locked bool) {
	env := []string{
		"E2E_ONLY=kraken,gemini",
		"CRYPTOFEED_PROXY_EXCHANGES__KRAKEN__WEBSOCKET__URL=socks5h://" + f.dante.Addr,
		"cryptofeed_proxy_exchanges__gemini__websocket__url=http://" + proxyUser + ":" + canary + "@" + f.squid.Addr,
	}
	routes := map[string][2]want{
		"kraken": {{}, {f.dante, "socks5h", false}},
		"gemini": {{f.tiny, "http", false}, {f.squid, "http", false}},
	}
	bin, label := f.bin, "env"
	if locked {
		bin, label = f.lockedBin, "locked+env"
		routes = map[string][2]want{"kraken": f.routes["kraken"], "gemini": f.routes["gemini"]}
	}
	r := f.runDriver(t, bin, env...)
	if !strings.Contains(r.stdout, "INIT ok") {
		t.Fatalf("%s: Init failed:\n%s", label, r.stdout)
	}
	tunnels := f.check(t, r, routes, label)
	checkLogs(t, label, r.stderr, tunnels)
}

// testEnvError: an invalid overlay variable makes Init fail, naming the
// variable, never its value (which holds the canary).
func (f *fixture) testEnvError(t *testing.T) {
	const v = "CRYPTOFEED_PROXY_EXCHANGES__GEMINI__WEBSOCKET__URL"
	r := f.runDriver(t, f.bin, v+"=http://"+proxyUser+":"+canary+"@127.0.0.1") // no port
	if !strings.Contains(r.stdout, "INIT error") || !strings.Contains(r.stdout, v) {
		t.Errorf("Init with a bad %s: want an error naming it, got:\n%s", v, r.stdout)
	}
	if len(r.rows) != 0 {
		t.Errorf("the driver ran after a failed Init")
	}
	f.matrixLines = append(f.matrixLines, "env-error          "+strings.TrimSpace(r.stdout))
	// The locked build never reads it.
	r = f.runDriver(t, f.lockedBin, "E2E_ONLY=kraken", v+"=http://"+proxyUser+":"+canary+"@127.0.0.1")
	if !strings.Contains(r.stdout, "INIT ok") {
		t.Errorf("locked build: Init read the environment:\n%s", r.stdout)
	}
}

// testCanary: the canary password is in no line any driver run printed
// (rows, errors, slog lines).
func (f *fixture) testCanary(t *testing.T) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.outputs) == 0 {
		t.Fatal("no driver output recorded")
	}
	lines := 0
	for _, o := range f.outputs {
		lines += strings.Count(o, "\n") + 1
		testenv.NoCanary(t, "a driver run's output", o)
	}
	t.Logf("canary checked in %d lines of %d driver outputs", lines, len(f.outputs))
}
