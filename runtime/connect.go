package runtime

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"errors"
	"io"
	"net"
	"strconv"
	"sync"
)

// maxConnectHeader bounds the proxy's CONNECT response header (status line
// and fields). A reply larger than this is an error, never a hang.
const maxConnectHeader = 16 << 10

// connectRequest appends "CONNECT host:port HTTP/1.1" with a Host field and,
// when the proxy has a user or a password, Basic Proxy-Authorization (an
// empty password is sent as "user:").
func connectRequest(b []byte, t target, p *Proxy) []byte {
	hp := net.JoinHostPort(t.host, strconv.Itoa(int(t.port)))
	b = append(b, "CONNECT "...)
	b = append(b, hp...)
	b = append(b, " HTTP/1.1\r\nHost: "...)
	b = append(b, hp...)
	b = append(b, "\r\n"...)
	if p.User != "" || !p.Password.IsZero() {
		b = append(b, "Proxy-Authorization: Basic "...)
		cred := make([]byte, 0, len(p.User)+1+p.Password.Len())
		cred = append(append(append(cred, p.User...), ':'), p.Password.Reveal()...)
		b = base64.StdEncoding.AppendEncode(b, cred)
		clear(cred)
		b = append(b, "\r\n"...)
	}
	return append(b, "\r\n"...)
}

var errHeaderTooLarge = &protoError{msg: "proxy reply header too large"}

// readConnectResponse reads the proxy's response to CONNECT up to and
// including the blank line that ends its header, and returns the status.
// It reads nothing past the header: bytes after it stay in br. Interim 1xx
// responses (other than 101) are skipped, as net/http does.
func readConnectResponse(br *bufio.Reader) (int, error) {
	total := 0
	for range 8 {
		status, err := readOneResponse(br, &total)
		if err != nil {
			return 0, err
		}
		if status >= 100 && status < 200 && status != 101 {
			continue
		}
		return status, nil
	}
	return 0, protoErr("proxy sent too many interim responses")
}

func readOneResponse(br *bufio.Reader, total *int) (int, error) {
	line, err := readLine(br, total)
	if err != nil {
		return 0, err
	}
	status, err := parseStatusLine(line)
	if err != nil {
		return 0, err
	}
	for {
		line, err := readLine(br, total)
		if err != nil {
			return 0, err
		}
		if len(line) == 0 {
			return status, nil
		}
		// A field line needs a name and a colon; obsolete folding (a
		// leading space or tab) continues the previous field.
		if line[0] != ' ' && line[0] != '\t' {
			i := bytes.IndexByte(line, ':')
			if i <= 0 || bytes.ContainsAny(line[:i], " \t") {
				return 0, protoErr("malformed header field in proxy reply")
			}
		}
	}
}

// readLine returns one line without its CRLF (or bare LF). total counts the
// header bytes read so far against maxConnectHeader.
func readLine(br *bufio.Reader, total *int) ([]byte, error) {
	var acc []byte
	for {
		frag, err := br.ReadSlice('\n')
		*total += len(frag)
		if *total > maxConnectHeader {
			return nil, errHeaderTooLarge
		}
		if err == nil {
			if acc != nil {
				frag = append(acc, frag...)
			}
			frag = frag[:len(frag)-1]
			if n := len(frag); n > 0 && frag[n-1] == '\r' {
				frag = frag[:n-1]
			}
			if bytes.IndexByte(frag, 0) >= 0 || bytes.IndexByte(frag, '\r') >= 0 {
				return nil, protoErr("malformed proxy reply")
			}
			return frag, nil
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			acc = append(acc, frag...)
			continue
		}
		if isEOF(err) {
			if *total == 0 {
				return nil, errProxyClosed
			}
			return nil, &protoError{msg: "proxy closed the connection in the middle of its reply", err: errProxyClosed.err}
		}
		return nil, err
	}
}

// parseStatusLine parses "HTTP/1.x SSS reason".
func parseStatusLine(line []byte) (int, error) {
	if len(line) < 12 || string(line[:7]) != "HTTP/1." || line[7] < '0' || line[7] > '9' || line[8] != ' ' {
		if len(line) >= 5 && string(line[:5]) == "HTTP/" {
			return 0, protoErr("proxy reply has an unsupported HTTP version")
		}
		return 0, protoErr("proxy reply is not HTTP")
	}
	s := line[9:12]
	if s[0] < '1' || s[0] > '5' || s[1] < '0' || s[1] > '9' || s[2] < '0' || s[2] > '9' || (len(line) > 12 && line[12] != ' ') {
		return 0, protoErr("proxy reply has a malformed status")
	}
	return int(s[0]-'0')*100 + int(s[1]-'0')*10 + int(s[2]-'0'), nil
}

func isEOF(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
}

// bufio.Readers for CONNECT replies are pooled: bytes left over after the
// header are copied out, so no Reader outlives a dial.
var readerPool = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 4096) }}
