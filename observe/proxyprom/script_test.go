package proxyprom

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/proxygen-go/proxygen/runtime"
)

// The proxies of the scripted pool: dead is refused and ejected, live
// carries the tunnels, hedge is a hedge that loses its race.
const (
	dead  = "socks5://127.0.0.1:1081"
	live  = "http://127.0.0.1:3128"
	hedge = "https://127.0.0.1:8443"
)

var errRefused = errors.New("connect: connection refused")

// dial emits one dial's events: start, the attempts, done.
func dial(o *Observer, exchange string, tr runtime.Transport, proxy string, err error, failovers int, attempts ...runtime.Attempt) {
	ctx := o.DialStart(context.Background(), runtime.DialStart{
		Exchange: exchange, Transport: tr, Target: "api.example.com:443", Time: time.Now(),
	})
	for i, a := range attempts {
		a.Exchange, a.Transport, a.Target, a.N = exchange, tr, "api.example.com:443", i+1
		o.Attempt(ctx, a)
	}
	o.DialDone(ctx, runtime.DialDone{
		Exchange: exchange, Transport: tr, Target: "api.example.com:443",
		Proxy: proxy, Duration: 7 * time.Millisecond, Attempts: len(attempts),
		Failovers: failovers, Err: err,
	})
}

// phaseA: two binance/http dials; the first fails over from the dead proxy
// (which is then ejected) to the live one. Two tunnels open.
func phaseA(o *Observer) {
	o.MemberState(runtime.MemberState{Proxy: dead, State: runtime.Up})
	dial(o, "binance", runtime.TransportHTTP, live, nil, 1,
		runtime.Attempt{Proxy: dead, Stage: runtime.StageConnect, Counted: true, Err: errRefused, Handshake: time.Millisecond},
		runtime.Attempt{Proxy: live, Handshake: 3 * time.Millisecond},
	)
	o.MemberState(runtime.MemberState{Proxy: dead, State: runtime.Ejected, Until: time.Now().Add(time.Minute), Failures: 1})
	o.TunnelOpen(runtime.Tunnel{Exchange: "binance", Transport: runtime.TransportHTTP, Target: "api.example.com:443", Proxy: live})
	dial(o, "binance", runtime.TransportHTTP, live, nil, 0,
		runtime.Attempt{Proxy: live, Handshake: 2 * time.Millisecond},
	)
	o.TunnelOpen(runtime.Tunnel{Exchange: "binance", Transport: runtime.TransportHTTP, Target: "api.example.com:443", Proxy: live})
}

// phaseB: a kraken/websocket dial whose hedge loses (cancelled), one
// binance tunnel closes, and a binance dial fails at the live proxy's reply
// (a target-side refusal: not counted against the member).
func phaseB(o *Observer) {
	dial(o, "kraken", runtime.TransportWebSocket, live, nil, 0,
		runtime.Attempt{Proxy: live, Handshake: 4 * time.Millisecond},
		runtime.Attempt{Proxy: hedge, Hedge: true, Stage: runtime.StageReply, Err: fmt.Errorf("hedge lost: %w", context.Canceled)},
	)
	o.TunnelOpen(runtime.Tunnel{Exchange: "kraken", Transport: runtime.TransportWebSocket, Target: "api.example.com:443", Proxy: live})
	o.TunnelClose(runtime.Tunnel{Exchange: "binance", Transport: runtime.TransportHTTP, Target: "api.example.com:443", Proxy: live, Open: time.Second})
	dial(o, "binance", runtime.TransportHTTP, "", errors.New("proxy http://127.0.0.1:3128: reply: 502 Bad Gateway"), 0,
		runtime.Attempt{Proxy: live, Stage: runtime.StageReply, Code: 502, Err: errors.New("502 Bad Gateway")},
	)
}

// want is what the two phases leave, as PromQL series selectors and their
// values. The Prometheus server test queries them; the registry test
// checks them through the collectors.
var want = []struct {
	query string
	value float64
}{
	{`proxygen_dials_total{exchange="binance",transport="http",result="ok"}`, 2},
	{`proxygen_dials_total{exchange="binance",transport="http",result="error"}`, 1},
	{`proxygen_dials_total{exchange="kraken",transport="websocket",result="ok"}`, 1},
	{`proxygen_failovers_total{exchange="binance",transport="http"}`, 1},
	{`proxygen_failovers_total{exchange="kraken",transport="websocket"}`, 0},
	{`proxygen_proxy_attempts_total{exchange="binance",transport="http",proxy="` + dead + `",result="error"}`, 1},
	{`proxygen_proxy_attempts_total{exchange="binance",transport="http",proxy="` + live + `",result="ok"}`, 2},
	{`proxygen_proxy_attempts_total{exchange="binance",transport="http",proxy="` + live + `",result="error"}`, 1},
	{`proxygen_proxy_attempts_total{exchange="kraken",transport="websocket",proxy="` + live + `",result="ok"}`, 1},
	{`proxygen_proxy_attempts_total{exchange="kraken",transport="websocket",proxy="` + hedge + `",result="canceled"}`, 1},
	{`proxygen_proxy_failures_total{exchange="binance",transport="http",proxy="` + dead + `",stage="connect"}`, 1},
	{`proxygen_proxy_failures_total{exchange="binance",transport="http",proxy="` + live + `",stage="reply"}`, 1},
	{`proxygen_proxy_up{proxy="` + dead + `"}`, 0},
	{`proxygen_proxy_up{proxy="` + live + `"}`, 1},
	{`proxygen_proxy_up{proxy="` + hedge + `"}`, 1},
	{`proxygen_proxy_ejections_total{proxy="` + dead + `"}`, 1},
	{`proxygen_proxy_ejections_total{proxy="` + live + `"}`, 0},
	{`proxygen_proxy_ejections_total{proxy="` + hedge + `"}`, 0},
	{`proxygen_tunnels_open{exchange="binance",transport="http",proxy="` + live + `"}`, 1},
	{`proxygen_tunnels_open{exchange="kraken",transport="websocket",proxy="` + live + `"}`, 1},
	{`proxygen_dial_duration_seconds_count{exchange="binance",transport="http"}`, 3},
	{`proxygen_dial_duration_seconds_count{exchange="kraken",transport="websocket"}`, 1},
	{`proxygen_proxy_handshake_seconds_count{exchange="binance",transport="http",proxy="` + live + `"}`, 2},
	{`proxygen_proxy_handshake_seconds_count{exchange="kraken",transport="websocket",proxy="` + live + `"}`, 1},
}
