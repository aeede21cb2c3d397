package runtime

import (
	"bytes"
	"strings"
	"testing"
)

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
}

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
