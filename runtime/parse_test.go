package runtime

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
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

func TestReadSOCKS5Reply(t *testing.T) {
	for _, tc := range []struct {
		in   []byte
		code byte
		err  string
	}{
		{in: []byte{5, 0, 0, 1, 127, 0, 0, 1, 0, 80}},
		{in: append([]byte{5, 0, 0, 4}, make([]byte, 18)...)},
		{in: append([]byte{5, 0, 0, 3, 9}, "localhost\x00\x50"...)},
		{in: []byte{5, 5, 0, 1, 0, 0, 0, 0, 0, 0}, code: 5, err: "connection refused (socks5 reply 0x05)"},
		{in: []byte{5, 0x2a, 0, 1}, code: 0x2a, err: "unknown reply code (socks5 reply 0x2a)"},
		{in: []byte{4, 0, 0, 1, 0, 0, 0, 0, 0, 0}, err: "bad socks5 reply version 0x04"},
		{in: []byte{5, 0, 0, 9}, err: "address type"},
		{in: []byte{5, 0, 0, 1, 1}, err: "closed"},
	} {
		r := bytes.NewReader(tc.in)
		var b [socks5MaxReplyBytes]byte
		code, err := readSOCKS5Reply(r, b[:])
		if code != tc.code {
			t.Errorf("%x: code %#x, want %#x", tc.in, code, tc.code)
		}
		if tc.err == "" {
			if err != nil || r.Len() != 0 {
				t.Errorf("%x: err %v, %d unread", tc.in, err, r.Len())
			}
		} else if err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%x: err %v, want %q", tc.in, err, tc.err)
		}
	}
}

func TestReplyTexts(t *testing.T) {
	for c := 0; c < 256; c++ {
		if s := socks5ReplyText(byte(c)); s == "" || strings.ToLower(s) != s {
			t.Errorf("socks5 %#x: %q", c, s)
		}
	}
	for c := 0x5b; c <= 0x5d; c++ {
		if s := socks4ReplyText(byte(c)); s == "unknown reply code" {
			t.Errorf("socks4 %#x unknown", c)
		}
	}
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

// TestWrappersKeepCopyFastPaths: the wrappers the dialer may return pass
// io.Copy through to the underlying connection both ways.
func TestWrappersKeepCopyFastPaths(t *testing.T) {
	for _, c := range []net.Conn{&bufferedConn{}, &optimisticConn{}} {
		if _, ok := c.(io.ReaderFrom); !ok {
			t.Errorf("%T has no ReadFrom", c)
		}
		if _, ok := c.(io.WriterTo); !ok {
			t.Errorf("%T has no WriteTo", c)
		}
	}
}
