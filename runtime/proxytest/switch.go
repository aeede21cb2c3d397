package proxytest

import (
	"errors"
	"io"
	"net"
	"net/netip"
	"strconv"
	"sync"

	"github.com/proxygen-go/proxygen/runtime"
)

// Mode is what a Switch does with connections.
type Mode int32

// The modes of a Switch.
const (
	// Answer serves connections as a Server with the Switch's Config does.
	Answer Mode = iota
	// Refuse closes the listening socket: connecting gets "connection
	// refused". Switching back listens again on the same address.
	Refuse
	// Blackhole accepts connections, reads and discards what they send, and
	// never answers (until the client or Close ends them).
	Blackhole
	// Reset accepts connections and resets them at once (TCP RST).
	Reset
)

// String returns "answer", "refuse", "blackhole" or "reset".
func (m Mode) String() string {
	switch m {
	case Answer:
		return "answer"
	case Refuse:
		return "refuse"
	case Blackhole:
		return "blackhole"
	case Reset:
		return "reset"
	}
	return "mode(" + strconv.Itoa(int(m)) + ")"
}

// Switch is a test proxy that can be switched at run time between
// answering, refusing, blackholing and resetting, to test failover: point a
// pool at a few Switches and flip them. It keeps one loopback address for
// its whole life and counts what it saw.
type Switch struct {
	srv  *Server // answers in Answer mode
	addr string

	mu       sync.Mutex
	mode     Mode
	ln       net.Listener // nil while refusing
	gen      int          // listener generation
	held     map[net.Conn]struct{}
	accepted [4]int // per mode the connection was accepted in
	closed   bool
	wg       sync.WaitGroup
}

// NewSwitch starts a Switch in Answer mode that serves as New(cfg) would.
// It panics if it cannot listen, as New does.
func NewSwitch(cfg Config) *Switch {
	addr := cfg.Addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		panic("proxytest: listen: " + err.Error())
	}
	inner := cfg
	inner.Addr = "127.0.0.1:0" // never reached directly
	sw := &Switch{srv: New(inner), addr: ln.Addr().String(), held: map[net.Conn]struct{}{}}
	sw.listen(ln)
	return sw
}

// listen starts accepting on ln; called with mu held or before sharing.
func (sw *Switch) listen(ln net.Listener) {
	sw.ln = ln
	sw.gen++
	sw.wg.Add(1)
	go func() {
		defer sw.wg.Done()
		sw.accept(ln)
	}()
}

func (sw *Switch) accept(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		sw.mu.Lock()
		if sw.closed {
			sw.mu.Unlock()
			_ = c.Close()
			return
		}
		mode := sw.mode
		sw.accepted[mode]++
		switch mode {
		case Answer:
			sw.mu.Unlock()
			sw.srv.serveConn(c)
		case Blackhole:
			sw.held[c] = struct{}{}
			sw.wg.Add(1)
			sw.mu.Unlock()
			go func() {
				defer sw.wg.Done()
				_, _ = io.Copy(io.Discard, c)
				sw.mu.Lock()
				delete(sw.held, c)
				sw.mu.Unlock()
				_ = c.Close()
			}()
		default: // Reset (or Refuse racing a Set)
			sw.mu.Unlock()
			if tc, ok := c.(*net.TCPConn); ok {
				_ = tc.SetLinger(0)
			}
			_ = c.Close()
		}
	}
}

// Set switches the mode for connections from now on; connections already
// accepted keep what they got. Switching to Refuse closes the listening
// socket; switching away from it listens again on the same address (it
// panics if the address was taken meanwhile).
func (sw *Switch) Set(m Mode) {
	sw.mu.Lock()
	defer sw.mu.Unlock()
	if sw.closed || m == sw.mode {
		return
	}
	if m == Refuse && sw.ln != nil {
		_ = sw.ln.Close()
		sw.ln = nil
	}
	if m != Refuse && sw.ln == nil {
		ln, err := net.Listen("tcp", sw.addr)
		if err != nil {
			panic("proxytest: listen again: " + err.Error())
		}
		sw.listen(ln)
	}
	sw.mode = m
}

// Mode returns the current mode.
func (sw *Switch) Mode() Mode {
	sw.mu.Lock()
	defer sw.mu.Unlock()
	return sw.mode
}

// Addr returns the Switch's address, host:port (the same in every mode).
func (sw *Switch) Addr() string { return sw.addr }

// Proxy returns a runtime.Proxy for the Switch, as Server.Proxy does.
func (sw *Switch) Proxy(scheme runtime.Scheme) *runtime.Proxy {
	p := sw.srv.Proxy(scheme)
	ap := netip.MustParseAddrPort(sw.addr)
	p.Host, p.Port = ap.Addr().String(), ap.Port()
	return p
}

// Server returns the Server that answers in Answer mode (its Records,
// Tunnels and SetMisbehave apply to answered connections).
func (sw *Switch) Server() *Server { return sw.srv }

// Accepted returns how many connections were accepted in mode m (always 0
// for Refuse).
func (sw *Switch) Accepted(m Mode) int {
	sw.mu.Lock()
	defer sw.mu.Unlock()
	if m < 0 || int(m) >= len(sw.accepted) {
		return 0
	}
	return sw.accepted[m]
}

// AcceptedTotal returns how many connections were accepted in any mode.
func (sw *Switch) AcceptedTotal() int {
	sw.mu.Lock()
	defer sw.mu.Unlock()
	n := 0
	for _, a := range sw.accepted {
		n += a
	}
	return n
}

// Holding returns how many blackholed connections are still open (the
// client has not closed them).
func (sw *Switch) Holding() int {
	sw.mu.Lock()
	defer sw.mu.Unlock()
	return len(sw.held)
}

// Tunnels returns how many tunnels were served (in Answer mode).
func (sw *Switch) Tunnels() int { return sw.srv.Tunnels() }

// Close stops the Switch and its Server, closes every connection and
// waits for its goroutines. It is safe to call twice.
func (sw *Switch) Close() {
	sw.mu.Lock()
	if !sw.closed {
		sw.closed = true
		if sw.ln != nil {
			_ = sw.ln.Close()
		}
		for c := range sw.held {
			_ = c.Close()
		}
	}
	sw.mu.Unlock()
	sw.wg.Wait()
	sw.srv.Close()
}
