package runtime

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

func TestReadConnectResponse(t *testing.T) {
	for _, tc := range []struct {
		in     string
		status int
		rest   string
		err    string
	}{
		{in: "HTTP/1.1 200 Connection established\r\n\r\n", status: 200},
		{in: "HTTP/1.0 200 OK\r\nProxy-Agent: x\r\n\r\nHELLO", status: 200, rest: "HELLO"},
		{in: "HTTP/1.1 200\r\n\r\n", status: 200},
		{in: "HTTP/1.1 200 OK\n\n", status: 200},
		{in: "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n\r\nX", status: 200, rest: "X"},
		{in: "HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"x\"\r\n\r\n", status: 407},
		{in: "HTTP/1.1 200 OK\r\nX: " + strings.Repeat("a", 5000) + "\r\n\r\n", status: 200},
		{in: "", err: "proxy closed the connection during the handshake"},
		{in: "HTTP/1.1 200 OK\r\n", err: "in the middle of its reply"},
		{in: "SSH-2.0-OpenSSH\r\n\r\n", err: "not HTTP"},
		{in: "HTTP/2.0 200 OK\r\n\r\n", err: "unsupported HTTP version"},
		{in: "HTTP/1.1 2x0 OK\r\n\r\n", err: "malformed status"},
		{in: "HTTP/1.1 200 OK\r\nbad header\r\n\r\n", err: "malformed header"},
		{in: "HTTP/1.1 200 OK\r\nX: " + strings.Repeat("a", 20000) + "\r\n\r\n", err: "too large"},
	} {
		br := bufio.NewReaderSize(strings.NewReader(tc.in), 64)
		status, err := readConnectResponse(br)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: err = %v, want %q", trunc(tc.in), err, tc.err)
			}
			continue
		}
		if err != nil || status != tc.status {
			t.Errorf("%q: = %d, %v; want %d", trunc(tc.in), status, err, tc.status)
			continue
		}
		rest, _ := io.ReadAll(br)
		if string(rest) != tc.rest {
			t.Errorf("%q: rest %q, want %q", trunc(tc.in), rest, tc.rest)
		}
	}
}

func trunc(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}

// TestHTTPStatusErrors: a refused CONNECT's text names the status, and
// only an authentication refusal matches ErrProxyAuth.
func TestHTTPStatusErrors(t *testing.T) {
	if err := httpStatusError(407, true); !errors.Is(err, ErrProxyAuth) || err.Error() != "proxy authentication failed (http 407)" {
		t.Errorf("407: %v", err)
	}
	if err := httpStatusError(407, false); !errors.Is(err, ErrProxyAuth) || !strings.Contains(err.Error(), "required") {
		t.Errorf("407 without creds: %v", err)
	}
	if err := httpStatusError(401, true); !errors.Is(err, ErrProxyAuth) || err.Error() != "proxy authentication failed (http 401)" {
		t.Errorf("401 after sending credentials (tinyproxy's answer): %v", err)
	}
	if errors.Is(httpStatusError(401, false), ErrProxyAuth) {
		t.Errorf("401 without credentials is not a proxy auth failure")
	}
	for _, s := range []int{403, 502, 503} {
		if errors.Is(httpStatusError(s, true), ErrProxyAuth) {
			t.Errorf("%d is not an auth error", s)
		}
	}
}

// FuzzConnectResponse: the CONNECT response reader never panics, never
// reads past the header's blank line, and bounds what it reads.
func FuzzConnectResponse(f *testing.F) {
	f.Add([]byte("HTTP/1.1 200 Connection established\r\n\r\n"))
	f.Add([]byte("HTTP/1.0 200 OK\r\nProxy-Agent: x\r\n\r\nDATA"))
	f.Add([]byte("HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"x\"\r\nContent-Length: 0\r\n\r\n"))
	f.Add([]byte("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n\r\n"))
	f.Add([]byte("HTTP/1.1 200 OK\n \tfolded\n\n"))
	f.Add([]byte("\x05\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		br := bufio.NewReaderSize(bytes.NewReader(data), 16)
		status, err := readConnectResponse(br)
		rest := br.Buffered()
		n, _ := br.Discard(len(data))
		consumed := len(data) - n
		_ = rest
		if err != nil {
			if status != 0 {
				t.Fatalf("status %d with error", status)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("multi-line error %q", err)
			}
			return
		}
		if status < 100 || status > 599 {
			t.Fatalf("status %d", status)
		}
		head := data[:consumed]
		if !bytes.HasSuffix(head, []byte("\n\n")) && !bytes.HasSuffix(head, []byte("\n\r\n")) {
			t.Fatalf("stopped at %q, not after a blank line", head)
		}
		if consumed > maxConnectHeader {
			t.Fatalf("read %d header bytes", consumed)
		}
	})
}
