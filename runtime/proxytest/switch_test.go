package proxytest_test

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/proxygen-go/proxygen/runtime"
	"github.com/proxygen-go/proxygen/runtime/proxytest"
)

// TestSwitchModes flips one Switch through every mode and checks what a
// client sees and what the Switch counted.
func TestSwitchModes(t *testing.T) {
	target, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := target.Accept()
			if err != nil {
				return
			}
			_, _ = c.Write([]byte("hi"))
			c.Close()
		}
	}()
	defer func() { target.Close(); <-done }()

	sw := proxytest.NewSwitch(proxytest.Config{Kind: proxytest.SOCKS5, User: "u", Password: "p"})
	defer sw.Close()
	d := &runtime.Dialer{Proxy: sw.Proxy(runtime.SOCKS5H)}
	d.Proxy.Timeout = 300 * time.Millisecond
	tunnel := func() error {
		c, err := d.DialContext(context.Background(), "tcp", target.Addr().String())
		if err != nil {
			return err
		}
		defer c.Close()
		b, err := io.ReadAll(c)
		if err != nil || string(b) != "hi" {
			t.Fatalf("tunnel read %q, %v", b, err)
		}
		return nil
	}
	if err := tunnel(); err != nil {
		t.Fatalf("answer: %v", err)
	}

	sw.Set(proxytest.Refuse)
	if err := tunnel(); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("refuse: %v, want connection refused", err)
	}

	sw.Set(proxytest.Blackhole)
	start := time.Now()
	if err := tunnel(); !errors.Is(err, context.DeadlineExceeded) || time.Since(start) < 300*time.Millisecond {
		t.Fatalf("blackhole: %v after %v, want a timeout", err, time.Since(start))
	}

	sw.Set(proxytest.Reset)
	if err := tunnel(); err == nil {
		t.Fatal("reset: tunnel opened")
	}

	sw.Set(proxytest.Answer)
	if err := tunnel(); err != nil {
		t.Fatalf("answer again on the same address: %v", err)
	}
	if got := [4]int{sw.Accepted(proxytest.Answer), sw.Accepted(proxytest.Refuse), sw.Accepted(proxytest.Blackhole), sw.Accepted(proxytest.Reset)}; got != [4]int{2, 0, 1, 1} {
		t.Fatalf("accepted per mode %v, want [2 0 1 1]", got)
	}
	if sw.AcceptedTotal() != 4 || sw.Tunnels() != 2 || sw.Server().Tunnels() != 2 {
		t.Fatalf("total %d tunnels %d", sw.AcceptedTotal(), sw.Tunnels())
	}
	if sw.Mode() != proxytest.Answer || sw.Mode().String() != "answer" {
		t.Fatalf("mode %v", sw.Mode())
	}
	for deadline := time.Now().Add(2 * time.Second); sw.Holding() != 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("holding %d blackholed connections after the client closed", sw.Holding())
		}
	}
}

// TestSwitchCloseWhileHolding closes a Switch with a blackholed client
// still connected: Close ends it and returns (goleak checks the rest).
func TestSwitchCloseWhileHolding(t *testing.T) {
	sw := proxytest.NewSwitch(proxytest.Config{Kind: proxytest.HTTP})
	sw.Set(proxytest.Blackhole)
	c, err := net.Dial("tcp", sw.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for sw.Holding() == 0 {
		time.Sleep(time.Millisecond)
	}
	sw.Close()
	_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read after Close: %v, want the connection closed", err)
	}
	sw.Close()
}
