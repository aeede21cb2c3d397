package runtime

import (
	"bufio"
	"bytes"
	"errors"
	"strings"
	"testing"
)

// FuzzSOCKSReply feeds arbitrary bytes to the SOCKS5 and SOCKS4 reply
// readers: they must never panic, never read past a well-formed reply, and
// never accept a reply that is not one.
func FuzzSOCKSReply(f *testing.F) {
	f.Add([]byte{5, 0, 0, 1, 127, 0, 0, 1, 0, 80})
	f.Add([]byte{5, 0, 0, 3, 3, 'a', 'b', 'c', 0, 80, 'x'})
	f.Add(append([]byte{5, 0, 0, 4}, make([]byte, 18)...))
	f.Add([]byte{5, 1, 0, 1})
	f.Add([]byte{0, 0x5a, 0, 80, 127, 0, 0, 1})
	f.Add([]byte{0, 0x5b, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		var b [socks5MaxReplyBytes]byte
		r := bytes.NewReader(data)
		code, err := readSOCKS5Reply(r, b[:])
		consumed := len(data) - r.Len()
		if err == nil {
			if code != 0 || data[0] != 5 || data[1] != 0 {
				t.Fatalf("accepted %x", data)
			}
			want := 4 + 2
			switch data[3] {
			case 1:
				want += 4
			case 4:
				want += 16
			case 3:
				want += 1 + int(data[4])
			default:
				t.Fatalf("accepted address type %#x", data[3])
			}
			if consumed != want {
				t.Fatalf("consumed %d of %x, want %d", consumed, data, want)
			}
		} else if code != 0 && (len(data) < 2 || data[1] != code) {
			t.Fatalf("code %#x for %x", code, data)
		}
		if consumed > socks5MaxReplyBytes {
			t.Fatalf("read %d bytes", consumed)
		}
		r = bytes.NewReader(data)
		code, err = readSOCKS4Reply(r, b[:])
		if err == nil && (code != 0 || data[1] != 0x5a || len(data)-r.Len() != 8) {
			t.Fatalf("socks4 accepted %x", data)
		}
		// Method selection and auth replies read exactly two bytes.
		for _, method := range []byte{socks5AuthNone, socks5AuthPassword} {
			r = bytes.NewReader(data)
			if _, err := readSOCKS5Method(r, b[:], method); len(data)-r.Len() > 2 || err == nil && data[0] != 5 {
				t.Fatalf("method reply %x", data)
			}
		}
		r = bytes.NewReader(data)
		if err := readSOCKS5AuthReply(r, b[:]); err == nil && data[1] != 0 || len(data)-r.Len() > 2 {
			t.Fatalf("auth reply %x", data)
		}
	})
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

// FuzzParseURL: the parser never panics; what it accepts round-trips
// through String; an error never echoes the URL's user information.
func FuzzParseURL(f *testing.F) {
	for _, s := range []string{
		"socks5h://proxy.internal:1080", "http://${U}:${P}@[::1]:3128/", "https://u:p@h:443",
		"SOCKS4A://${ID}@10.0.0.1:1080", "socks5://h:0", "http://h", "ftp://h:1", "http://u:p@h:1?q#f",
		"http://[fe80::1%25eth0]:1", "http://u:pa/ss@h:1", "socks4://u:p@h:1", "http://:1",
	} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, raw string, inline bool) {
		p, err := ParseURL(raw, ParseURLOptions{AllowInlineCredentials: inline})
		if err != nil {
			var ue *URLError
			if !errors.As(err, &ue) {
				t.Fatalf("error type %T", err)
			}
			if i := strings.Index(raw, "://"); i >= 0 {
				rest := raw[i+3:]
				if at := strings.LastIndexByte(rest, '@'); at >= 0 {
					info, after := rest[:at], rest[at+1:]
					if len(info) >= 6 && strings.Contains(err.Error(), info) && !strings.Contains(after, info) && !strings.Contains(raw[:i], info) {
						t.Fatalf("error %q echoes the userinfo %q", err, info)
					}
				}
			}
			return
		}
		if p.Port == 0 || p.Host == "" || p.Scheme < HTTP || p.Scheme > SOCKS5H {
			t.Fatalf("accepted %q as %#v", raw, p)
		}
		if !inline && (p.User != "" || p.Password.Reveal() != "") {
			t.Fatalf("inline credentials accepted from %q", raw)
		}
		want := p.Scheme.String() + "://" + p.Addr()
		if p.HasCredentials() {
			want = p.Scheme.String() + "://***@" + p.Addr()
		}
		if p.String() != want {
			t.Fatalf("String %q, want %q", p.String(), want)
		}
		q, err := ParseURL(p.String(), ParseURLOptions{AllowInlineCredentials: true})
		if err != nil && !p.HasCredentials() {
			t.Fatalf("String %q of %q does not parse: %v", p.String(), raw, err)
		}
		if err == nil && (q.Scheme != p.Scheme || q.Host != p.Host || q.Port != p.Port) {
			t.Fatalf("round trip %q -> %q", raw, p.String())
		}
	})
}
