package proxytest_test

import (
	"context"
	"errors"
	"fmt"
	"net"

	"github.com/proxygen-go/proxygen/runtime"
	"github.com/proxygen-go/proxygen/runtime/proxytest"
)

// A pool of two test proxies: the first refuses connections, so the dial
// fails over to the second; with both down the dial fails with
// ErrAllProxiesFailed and never connects direct.
func ExampleSwitch() {
	target, _ := net.Listen("tcp", "127.0.0.1:0")
	defer target.Close()
	go func() {
		for {
			c, err := target.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()

	a := proxytest.NewSwitch(proxytest.Config{Kind: proxytest.SOCKS5})
	defer a.Close()
	b := proxytest.NewSwitch(proxytest.Config{Kind: proxytest.SOCKS5})
	defer b.Close()
	pool, _ := runtime.NewPool(runtime.PoolConfig{
		Members: []*runtime.Proxy{a.Proxy(runtime.SOCKS5H), b.Proxy(runtime.SOCKS5H)},
	})

	a.Set(proxytest.Refuse)
	c, err := pool.DialContext(context.Background(), "tcp", target.Addr().String())
	if err == nil {
		c.Close()
	}
	fmt.Println("tunnels:", a.Tunnels(), b.Tunnels(), err)

	b.Set(proxytest.Reset)
	_, err = pool.DialContext(context.Background(), "tcp", target.Addr().String())
	fmt.Println(errors.Is(err, runtime.ErrAllProxiesFailed))
	// Output:
	// tunnels: 0 1 <nil>
	// true
}
