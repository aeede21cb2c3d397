package observe

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// needTool returns the path of a binary of Debian's prometheus package, or
// skips the test (fails it under CI=true, where .ci/run installs it).
func needTool(t *testing.T, name string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	msg := fmt.Sprintf("%s not found (Debian package prometheus)", name)
	if os.Getenv("CI") == "true" {
		t.Fatal(msg + " [CI=true: a missing tool fails the run]")
	}
	t.Skip(msg)
	return ""
}

// promServer is a real Prometheus server started by a test.
type promServer struct {
	base string // http://127.0.0.1:port
	log  string // its log file
}

// startPrometheus starts the prometheus binary scraping target's /metrics
// every second and waits until it is ready. The process is stopped by its
// pid when the test ends.
func startPrometheus(t *testing.T, bin, target string) *promServer {
	t.Helper()
	dir := t.TempDir()
	conf := filepath.Join(dir, "prometheus.yml")
	cfg := fmt.Sprintf(`global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: proxygen
    metrics_path: /metrics
    static_configs:
      - targets: [%q]
`, target)
	if err := os.WriteFile(conf, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	var lastErr error
	for try := 0; try < 3; try++ {
		port := freePort(t)
		ps := &promServer{
			base: "http://127.0.0.1:" + strconv.Itoa(port),
			log:  filepath.Join(dir, fmt.Sprintf("prometheus-%d.log", try)),
		}
		if lastErr = ps.start(t, bin, conf, filepath.Join(dir, fmt.Sprintf("tsdb-%d", try)), port); lastErr == nil {
			return ps
		}
		t.Logf("prometheus start %d: %v", try, lastErr)
	}
	t.Fatalf("prometheus did not start: %v", lastErr)
	return nil
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func (ps *promServer) start(t *testing.T, bin, conf, tsdb string, port int) error {
	logf, err := os.Create(ps.log)
	if err != nil {
		return err
	}
	cmd := exec.Command(bin,
		"--config.file="+conf,
		"--storage.tsdb.path="+tsdb,
		"--web.listen-address=127.0.0.1:"+strconv.Itoa(port),
		"--log.level=warn",
	)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return err
	}
	pid := cmd.Process.Pid
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait(); logf.Close() }()
	stop := func() {
		// Stop it by its pid: SIGTERM, then SIGKILL if it lingers.
		_ = syscall.Kill(pid, syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(15 * time.Second):
			_ = syscall.Kill(pid, syscall.SIGKILL)
			<-exited
		}
	}
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			b, _ := os.ReadFile(ps.log)
			return fmt.Errorf("prometheus exited: %v\n%s", err, b)
		default:
		}
		resp, err := http.Get(ps.base + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				t.Cleanup(func() {
					stop()
					if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
						t.Errorf("prometheus pid %d still exists after stop (kill 0: %v)", pid, err)
					}
					if t.Failed() {
						b, _ := os.ReadFile(ps.log)
						t.Logf("prometheus log:\n%s", b)
					}
				})
				t.Logf("prometheus pid %d ready at %s", pid, ps.base)
				return nil
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	stop()
	return errors.New("prometheus not ready after 60s")
}

// queryResult is the part of /api/v1/query's answer the test reads.
type queryResult struct {
	Status string `json:"status"`
	Data   struct {
		Result []struct {
			Metric map[string]string `json:"metric"`
			Value  [2]any            `json:"value"`
		} `json:"result"`
	} `json:"data"`
	Error string `json:"error"`
}

// query runs an instant query and returns the raw answer and its parsed
// form.
func (ps *promServer) query(q string) (string, queryResult, error) {
	var r queryResult
	resp, err := http.Get(ps.base + "/api/v1/query?query=" + url.QueryEscape(q))
	if err != nil {
		return "", r, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", r, err
	}
	raw := strings.TrimSpace(string(b))
	if err := json.Unmarshal(b, &r); err != nil {
		return raw, r, fmt.Errorf("decode %s: %w", b, err)
	}
	if r.Status != "success" {
		return raw, r, fmt.Errorf("query %s: %s %s", q, r.Status, r.Error)
	}
	return raw, r, nil
}

// value returns the single sample value of an instant query, or an error
// when there is not exactly one series.
func (ps *promServer) value(q string) (string, float64, error) {
	raw, r, err := ps.query(q)
	if err != nil {
		return raw, 0, err
	}
	if len(r.Data.Result) != 1 {
		return raw, 0, fmt.Errorf("%d series", len(r.Data.Result))
	}
	s, ok := r.Data.Result[0].Value[1].(string)
	if !ok {
		return raw, 0, fmt.Errorf("value %v is not a string", r.Data.Result[0].Value[1])
	}
	v, err := strconv.ParseFloat(s, 64)
	return raw, v, err
}

// waitValue polls q until it equals want or ctx ends; it returns the last
// raw answer.
func (ps *promServer) waitValue(ctx context.Context, q string, want float64) (string, error) {
	for {
		raw, v, err := ps.value(q)
		if err == nil && v == want {
			return raw, nil
		}
		select {
		case <-ctx.Done():
			if err == nil {
				err = fmt.Errorf("value %v, want %v", v, want)
			}
			return raw, fmt.Errorf("%s: %w (last answer %s)", q, err, raw)
		case <-time.After(250 * time.Millisecond):
		}
	}
}
