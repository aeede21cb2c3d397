package realproxy_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/proxy"

	"github.com/proxygen-go/proxygen/internal/testenv/realproxy"
	"github.com/proxygen-go/proxygen/internal/testenv/target"
)

func TestMain(m *testing.M) { os.Exit(realproxy.Main(m)) }

func roundTrip(t *testing.T, c net.Conn) {
	t.Helper()
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(20 * time.Second))
	msg := "hello through " + c.RemoteAddr().String()
	if _, err := io.WriteString(c, msg); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, len(msg))
	if _, err := io.ReadFull(c, buf); err != nil {
		t.Fatal(err)
	}
	if string(buf) != msg {
		t.Fatalf("echo: got %q want %q", buf, msg)
	}
}

func socks5(t *testing.T, s *realproxy.Server, user, pass, addr string) (net.Conn, error) {
	t.Helper()
	var auth *proxy.Auth
	if user != "" {
		auth = &proxy.Auth{User: user, Password: pass}
	}
	d, err := proxy.SOCKS5("tcp", s.Addr, auth, &net.Dialer{Timeout: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	return d.(proxy.ContextDialer).DialContext(ctx, "tcp", addr)
}

// connect opens an HTTP CONNECT tunnel over c.
func connect(c net.Conn, user, pass, addr string) (net.Conn, int, error) {
	_ = c.SetDeadline(time.Now().Add(20 * time.Second))
	req := "CONNECT " + addr + " HTTP/1.1\r\nHost: " + addr + "\r\n"
	if user != "" {
		req += "Proxy-Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass)) + "\r\n"
	}
	if _, err := io.WriteString(c, req+"\r\n"); err != nil {
		c.Close()
		return nil, 0, err
	}
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodConnect})
	if err != nil {
		c.Close()
		return nil, 0, err
	}
	if resp.StatusCode != 200 {
		c.Close()
		return nil, resp.StatusCode, errors.New(resp.Status)
	}
	if br.Buffered() > 0 {
		c.Close()
		return nil, 200, errors.New("proxy sent bytes after its reply")
	}
	_ = c.SetDeadline(time.Time{})
	return c, 200, nil
}

func TestMicrosocks(t *testing.T) {
	e := target.Echo(t)
	s := realproxy.Microsocks(t, "alice", "s3cret")
	c, err := socks5(t, s, "alice", "s3cret", e)
	if err != nil {
		t.Fatal(err)
	}
	roundTrip(t, c)
	if _, err := socks5(t, s, "alice", "wrong", e); err == nil {
		t.Fatal("wrong password accepted")
	} else {
		t.Logf("wrong password: %v", err)
	}
}

func TestDante(t *testing.T) {
	e := target.Echo(t)
	s := realproxy.Dante(t)
	c, err := socks5(t, s, "", "", e)
	if err != nil {
		t.Fatal(err)
	}
	roundTrip(t, c)
}

// TestOwner: the far end of a tunnelled connection belongs to the proxy, the
// far end of a direct one to this process.
func TestOwner(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	m := realproxy.Microsocks(t, "", "")
	d := realproxy.Dante(t)
	for _, via := range []*realproxy.Server{m, d, nil} {
		var c net.Conn
		if via == nil {
			c, err = net.Dial("tcp", l.Addr().String())
		} else {
			c, err = socks5(t, via, "", "", l.Addr().String())
		}
		if err != nil {
			t.Fatal(err)
		}
		sc, err := l.Accept()
		if err != nil {
			t.Fatal(err)
		}
		peer := sc.RemoteAddr().String()
		owner, err := realproxy.Owner(peer, m, d)
		if err != nil {
			t.Fatal(err)
		}
		if owner != via {
			t.Errorf("peer %s: owner %v, want %v", peer, owner, via)
		}
		if via == nil {
			pids, err := realproxy.SocketOwners(peer)
			if err != nil || !slices.Contains(pids, os.Getpid()) {
				t.Errorf("direct peer %s owners %v (%v), want this process %d", peer, pids, err, os.Getpid())
			}
		}
		c.Close()
		sc.Close()
	}
}

func TestSSHDynamic(t *testing.T) {
	e := target.Echo(t)
	s := realproxy.SSHDynamic(t)
	for i := 0; i < 2; i++ {
		c, err := socks5(t, s, "", "", strings.Replace(e, "127.0.0.1", "localhost", 1))
		if err != nil {
			t.Fatal(err)
		}
		roundTrip(t, c)
	}
}

func TestTinyproxy(t *testing.T) {
	e := target.Echo(t)
	s := realproxy.Tinyproxy(t, "bob", "pw")
	c, err := net.Dial("tcp", s.Addr)
	if err != nil {
		t.Fatal(err)
	}
	tc, _, err := connect(c, "bob", "pw", e)
	if err != nil {
		t.Fatal(err)
	}
	roundTrip(t, tc)
	c, err = net.Dial("tcp", s.Addr)
	if err != nil {
		t.Fatal(err)
	}
	// tinyproxy 1.11 answers wrong credentials with 401 (and
	// WWW-Authenticate), missing ones with 407.
	if _, code, err := connect(c, "bob", "bad", e); code != 401 && code != 407 {
		t.Fatalf("wrong password: code %d err %v, want 401 or 407", code, err)
	} else {
		t.Logf("tinyproxy wrong password: %d", code)
	}
	c, err = net.Dial("tcp", s.Addr)
	if err != nil {
		t.Fatal(err)
	}
	if _, code, err := connect(c, "", "", e); code != 407 {
		t.Fatalf("no credentials: code %d err %v, want 407", code, err)
	}
}

func TestSquid(t *testing.T) {
	e := target.Echo(t)
	ca, err := target.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	certPEM, keyPEM, err := ca.IssuePEM("127.0.0.1", "localhost", "proxy.test")
	if err != nil {
		t.Fatal(err)
	}
	s := realproxy.Squid(t, "carol", "pw:with:colons", certPEM, keyPEM)
	c, err := net.Dial("tcp", s.Addr)
	if err != nil {
		t.Fatal(err)
	}
	tc, _, err := connect(c, "carol", "pw:with:colons", e)
	if err != nil {
		t.Fatal(err)
	}
	roundTrip(t, tc)

	tlsc, err := tls.Dial("tcp", s.TLSAddr, &tls.Config{RootCAs: ca.Pool, ServerName: "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	tc, _, err = connect(tlsc, "carol", "pw:with:colons", e)
	if err != nil {
		t.Fatal(err)
	}
	roundTrip(t, tc)

	c, err = net.Dial("tcp", s.Addr)
	if err != nil {
		t.Fatal(err)
	}
	if _, code, err := connect(c, "carol", "bad", e); code != 407 {
		t.Fatalf("wrong password: code %d err %v, want 407", code, err)
	}
	if log := s.ReadFile("access.log"); !strings.Contains(log, "CONNECT "+e) {
		t.Errorf("access.log has no CONNECT %s:\n%s", e, log)
	}
}

// TestNoLeakedProcesses starts every server in a subtest and checks, after
// the subtest's cleanups ran, that no process of their sessions is left.
func TestNoLeakedProcesses(t *testing.T) {
	var groups []int
	t.Run("start", func(t *testing.T) {
		ca, err := target.NewCA()
		if err != nil {
			t.Fatal(err)
		}
		certPEM, keyPEM, err := ca.IssuePEM("127.0.0.1")
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range []*realproxy.Server{
			realproxy.Microsocks(t, "", ""),
			realproxy.Dante(t),
			realproxy.SSHDynamic(t),
			realproxy.Tinyproxy(t, "", ""),
			realproxy.Squid(t, "u", "p", certPEM, keyPEM),
		} {
			all := s.AllPids()
			if len(all) == 0 {
				t.Errorf("%s: no live process", s.Name)
			}
			t.Logf("%s: sessions %v, processes %v", s.Name, s.Pids(), all)
			groups = append(groups, s.Pids()...)
		}
	})
	for _, g := range groups {
		if left := realproxy.GroupPids(g); len(left) > 0 {
			t.Errorf("session %d: processes left after cleanup: %v", g, left)
		}
	}
}

// TestPauseKillRestart: a paused server accepts TCP but never answers, a
// resumed one answers again, a killed one refuses, and a restarted one
// serves on the same address.
func TestPauseKillRestart(t *testing.T) {
	e := target.Echo(t)
	for _, start := range []func(t *testing.T) *realproxy.Server{
		func(t *testing.T) *realproxy.Server { return realproxy.Microsocks(t, "", "") },
		func(t *testing.T) *realproxy.Server { return realproxy.Dante(t) },
	} {
		s := start(t)
		t.Run(s.Name, func(t *testing.T) {
			addr := s.Addr
			s.Pause(t)
			c, err := net.DialTimeout("tcp", addr, 2*time.Second)
			if err != nil {
				t.Fatalf("paused: the kernel should still accept: %v", err)
			}
			_ = c.SetDeadline(time.Now().Add(300 * time.Millisecond))
			_, _ = c.Write([]byte{5, 1, 0})
			if _, err := c.Read(make([]byte, 2)); !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Errorf("paused server answered: %v", err)
			}
			c.Close()
			s.Resume(t)
			if c, err := socks5(t, s, "", "", e); err != nil {
				t.Fatalf("resumed: %v", err)
			} else {
				roundTrip(t, c)
			}
			pids := s.AllPids()
			s.Kill(t)
			if _, err := net.DialTimeout("tcp", addr, 2*time.Second); err == nil {
				t.Error("killed server still accepts")
			}
			s.Restart(t)
			if s.Addr != addr {
				t.Fatalf("restarted on %s, want %s", s.Addr, addr)
			}
			if slices.Equal(s.AllPids(), pids) {
				t.Errorf("same pids %v after a restart", pids)
			}
			c, err = socks5(t, s, "", "", e)
			if err != nil {
				t.Fatalf("restarted: %v", err)
			}
			roundTrip(t, c)
		})
	}
}
