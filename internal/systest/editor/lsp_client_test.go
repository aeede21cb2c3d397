package editor

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// lspClient speaks just enough of the Language Server Protocol over a
// server's stdin and stdout: requests with responses, notifications, the
// server's own requests (answered), and publishDiagnostics.
type lspClient struct {
	t      *testing.T
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stderr *syncBuffer

	wmu    sync.Mutex // serialises writes
	mu     sync.Mutex
	nextID int
	calls  map[int]chan rpcMessage
	diags  chan publishDiagnostics
	closed chan struct{} // closed when the reader stops
}

type rpcMessage struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id,omitempty"`
	Method  string          `json:"method,omitempty"`
	Params  json.RawMessage `json:"params,omitempty"`
	Result  json.RawMessage `json:"result,omitempty"`
	Error   *rpcError       `json:"error,omitempty"`
}

type rpcError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

type publishDiagnostics struct {
	URI         string       `json:"uri"`
	Diagnostics []diagnostic `json:"diagnostics"`
}

type diagnostic struct {
	Range struct {
		Start struct{ Line, Character int } `json:"start"`
		End   struct{ Line, Character int } `json:"end"`
	} `json:"range"`
	Severity int    `json:"severity"`
	Source   string `json:"source"`
	Message  string `json:"message"`
}

// String prints a diagnostic with a 1-based line and column, like
// proxygen's own errors.
func (d diagnostic) String() string {
	return fmt.Sprintf("%d:%d: %s (severity %d, source %q)",
		d.Range.Start.Line+1, d.Range.Start.Character+1, d.Message, d.Severity, d.Source)
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startLSP starts bin with args and reads its messages until it exits.
func startLSP(t *testing.T, bin string, args ...string) *lspClient {
	t.Helper()
	c := &lspClient{
		t:      t,
		cmd:    exec.Command(bin, args...),
		stderr: &syncBuffer{},
		calls:  make(map[int]chan rpcMessage),
		diags:  make(chan publishDiagnostics, 1024),
		closed: make(chan struct{}),
	}
	c.cmd.Stderr = c.stderr
	var err error
	if c.stdin, err = c.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	stdout, err := c.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	go c.read(bufio.NewReader(stdout))
	t.Cleanup(c.shutdown)
	return c
}

// shutdown asks the server to exit and kills it if it does not.
func (c *lspClient) shutdown() {
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = c.callTimeout("shutdown", nil, 5*time.Second)
		_ = c.notify("exit", nil)
		_ = c.stdin.Close()
	}()
	select {
	case <-done:
	case <-time.After(6 * time.Second):
	}
	exited := make(chan struct{})
	go func() { _ = c.cmd.Wait(); close(exited) }()
	select {
	case <-exited:
	case <-time.After(5 * time.Second):
		_ = c.cmd.Process.Kill()
		<-exited
	}
	if c.t.Failed() {
		c.t.Logf("language server stderr:\n%s", c.stderr.String())
	}
}

func (c *lspClient) read(r *bufio.Reader) {
	defer close(c.closed)
	for {
		body, err := readFrame(r)
		if err != nil {
			return
		}
		var m rpcMessage
		if err := json.Unmarshal(body, &m); err != nil {
			continue
		}
		switch {
		case m.Method != "" && len(m.ID) > 0:
			c.answer(m)
		case m.Method == "textDocument/publishDiagnostics":
			var p publishDiagnostics
			if json.Unmarshal(m.Params, &p) == nil {
				select {
				case c.diags <- p:
				default: // nobody is waiting for so many; never block the reader
				}
			}
		case m.Method == "" && len(m.ID) > 0:
			id, err := strconv.Atoi(string(m.ID))
			if err != nil {
				continue
			}
			c.mu.Lock()
			ch := c.calls[id]
			delete(c.calls, id)
			c.mu.Unlock()
			if ch != nil {
				ch <- m
			}
		}
	}
}

// readFrame reads one "Content-Length: N\r\n\r\n" framed message.
func readFrame(r *bufio.Reader) ([]byte, error) {
	n := -1
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return nil, err
		}
		line = strings.TrimRight(line, "\r\n")
		if line == "" {
			break
		}
		if v, ok := strings.CutPrefix(line, "Content-Length: "); ok {
			if n, err = strconv.Atoi(v); err != nil {
				return nil, fmt.Errorf("bad header %q", line)
			}
		}
	}
	if n < 0 {
		return nil, fmt.Errorf("frame without Content-Length")
	}
	body := make([]byte, n)
	_, err := io.ReadFull(r, body)
	return body, err
}

// answer replies to a request from the server: workspace/configuration
// gets the client's settings, anything else an empty result.
func (c *lspClient) answer(m rpcMessage) {
	var result any
	if m.Method == "workspace/configuration" {
		var p struct {
			Items []struct {
				Section string `json:"section"`
			} `json:"items"`
		}
		_ = json.Unmarshal(m.Params, &p)
		out := make([]any, len(p.Items))
		for i, it := range p.Items {
			if it.Section == "yaml" {
				out[i] = yamlSettings()
			}
		}
		result = out
	}
	_ = c.write(map[string]any{"jsonrpc": "2.0", "id": m.ID, "result": result})
}

// yamlSettings turns validation on and every network fetch off (no
// SchemaStore catalogue: the schema comes from the modeline's local file).
func yamlSettings() map[string]any {
	return map[string]any{
		"validate":    true,
		"hover":       true,
		"completion":  true,
		"format":      map[string]any{"enable": false},
		"schemaStore": map[string]any{"enable": false},
		"schemas":     map[string]any{},
	}
}

func (c *lspClient) write(msg any) error {
	body, err := json.Marshal(msg)
	if err != nil {
		return err
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_, err = fmt.Fprintf(c.stdin, "Content-Length: %d\r\n\r\n%s", len(body), body)
	return err
}

func (c *lspClient) notify(method string, params any) error {
	return c.write(map[string]any{"jsonrpc": "2.0", "method": method, "params": params})
}

func (c *lspClient) callTimeout(method string, params any, d time.Duration) (json.RawMessage, error) {
	c.mu.Lock()
	c.nextID++
	id := c.nextID
	ch := make(chan rpcMessage, 1)
	c.calls[id] = ch
	c.mu.Unlock()
	if err := c.write(map[string]any{"jsonrpc": "2.0", "id": id, "method": method, "params": params}); err != nil {
		return nil, err
	}
	select {
	case m := <-ch:
		if m.Error != nil {
			return nil, fmt.Errorf("%s: %d %s", method, m.Error.Code, m.Error.Message)
		}
		return m.Result, nil
	case <-c.closed:
		return nil, fmt.Errorf("%s: the server exited", method)
	case <-time.After(d):
		return nil, fmt.Errorf("%s: no response in %v", method, d)
	}
}

// diagnosticsFor waits for the server's diagnostics of uri, then keeps the
// last set published within settle of the previous one (the server may
// publish more than once while it loads the schema).
func (c *lspClient) diagnosticsFor(uri string, wait, settle time.Duration) []diagnostic {
	c.t.Helper()
	deadline := time.After(wait)
	var last []diagnostic
	got := false
	for {
		var quiet <-chan time.Time
		if got {
			quiet = time.After(settle)
		}
		select {
		case p := <-c.diags:
			if p.URI == uri {
				last, got = p.Diagnostics, true
			}
		case <-quiet:
			return last
		case <-c.closed:
			c.t.Fatalf("the language server exited; stderr:\n%s", c.stderr.String())
		case <-deadline:
			c.t.Fatalf("no diagnostics for %s within %v", uri, wait)
		}
	}
}
