package main

import (
	"fmt"
	"strings"
)

// sameRTTTolerance: the standard path "matches" a peer that needs the same
// number of round trips when its median is within this fraction. The relay
// adds timer jitter of about 1 ms per run; 2% of a 100 ms connect is well
// under a tenth of one 20 ms round trip.
const sameRTTTolerance = 0.02

// goalTable renders issue 5's goals, then issue 12's pool goals, with the
// values of this run.
func goalTable(r map[string]*samples) string {
	var b strings.Builder
	b.WriteString("| # | goal | measured (medians of this run) | verdict |\n| --- | --- | --- | --- |\n")
	row := func(n, goal, measured, verdict string) {
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", n, goal, measured, verdict)
	}
	na := func(n, goal, why string) { row(n, goal, "not measured", why) }

	// 2. Route lookup.
	if s := r["lookup"]; s != nil {
		for _, c := range []struct {
			name, label string
			limit       float64
		}{
			{"typed", "typed `HTTPProxy(e)`", 2},
			{"injector-string", "string id `Injector.Proxy(id, t)`", 25},
			{"global-ProxyFor", "string id `runtime.ProxyFor(id, t)`", 25},
		} {
			name := "BenchmarkRouteLookup/lookup=" + c.name
			ns, ok1 := s.med(name, "ns/op")
			allocs, ok2 := s.med(name, "allocs/op")
			base, _ := s.med("BenchmarkRouteLookup/lookup=map-baseline", "ns/op")
			goal := fmt.Sprintf("%s <= %g ns/op, 0 allocs/op", c.label, c.limit)
			if !ok1 || !ok2 {
				na("2", goal, "no result")
				continue
			}
			m := fmt.Sprintf("%.2f ns/op, %g allocs/op (map[string] baseline %.2f ns/op: %.2fx)", ns, allocs, base, ns/base)
			v := "met"
			switch {
			case ns > c.limit && allocs > 0:
				v = fmt.Sprintf("**missed**: %.0f%% over, and allocates", 100*(ns/c.limit-1))
			case ns > c.limit:
				v = fmt.Sprintf("**missed** by %.2f ns (%.0f%% over)", ns-c.limit, 100*(ns/c.limit-1))
			case allocs > 0:
				v = "**missed**: allocates"
			}
			row("2", goal, m, v)
		}
	} else {
		na("2", "route lookup", "group not run")
	}

	// 4. Connect latency.
	if s := r["connect"]; s != nil {
		key := func(proxy, client string) string {
			return "BenchmarkConnect/proxy=" + proxy + "/client=" + client
		}
		for _, proxy := range []string{"proxytest-socks5-auth", "proxytest-http-auth", "danted-socks5", "squid-http-auth"} {
			std, ok := s.med(key(proxy, "proxygen-std"), "p50-ms")
			if !ok {
				na("4", "standard <= every peer on "+proxy, "skipped (server not installed) or failed")
				continue
			}
			stdRTT, _ := s.med(key(proxy, "proxygen-std"), "RTTs")
			var parts []string
			worst := 0.0
			var worstPeer string
			for _, peer := range []string{"xnet-socks5-gorilla", "gorilla-proxy", "nethttp-coder"} {
				p, ok := s.med(key(proxy, peer), "p50-ms")
				if !ok {
					continue
				}
				pr, _ := s.med(key(proxy, peer), "RTTs")
				ratio := std / p
				parts = append(parts, fmt.Sprintf("%s %.1f ms (%.2f RTT): %.3fx", peer, p, pr, ratio))
				if ratio > worst {
					worst, worstPeer = ratio, peer
				}
			}
			m := fmt.Sprintf("standard %.1f ms (%.2f RTT); vs %s", std, stdRTT, strings.Join(parts, "; "))
			var v string
			switch {
			case worst <= 1:
				v = "met"
			case worst <= 1+sameRTTTolerance:
				v = fmt.Sprintf("met within noise: same round trips, %.1f%% slower than %s (tolerance %.0f%%, < 0.1 RTT)", 100*(worst-1), worstPeer, 100*sameRTTTolerance)
			default:
				v = fmt.Sprintf("**missed**: %.1f%% slower than %s", 100*(worst-1), worstPeer)
			}
			row("4", "standard <= every peer on "+proxy, m, v)
		}
		opt, ok1 := s.med(key("proxytest-socks5-auth", "proxygen-optimistic"), "p50-ms")
		xn, ok2 := s.med(key("proxytest-socks5-auth", "xnet-socks5-gorilla"), "p50-ms")
		goal := "optimistic <= 0.6x x/net/proxy SOCKS5 with auth (proxytest SOCKS5 + auth)"
		if ok1 && ok2 {
			ratio := opt / xn
			optR, _ := s.med(key("proxytest-socks5-auth", "proxygen-optimistic"), "RTTs")
			xnR, _ := s.med(key("proxytest-socks5-auth", "xnet-socks5-gorilla"), "RTTs")
			v := "met"
			if ratio > 0.6 {
				v = fmt.Sprintf("**missed** by %.3f (%.0f%% over)", ratio-0.6, 100*(ratio/0.6-1))
			}
			row("4", goal, fmt.Sprintf("optimistic %.1f ms (%.2f RTT) / x/net/proxy %.1f ms (%.2f RTT) = %.3fx", opt, optR, xn, xnR, ratio), v)
		} else {
			na("4", goal, "no result")
		}
		for _, proxy := range []string{"danted-socks5", "squid-http-auth", "proxytest-http-auth"} {
			opt, ok1 := s.med(key(proxy, "proxygen-optimistic"), "p50-ms")
			std, ok2 := s.med(key(proxy, "proxygen-std"), "p50-ms")
			dir, ok3 := s.med(key(proxy, "direct"), "p50-ms")
			if ok1 && ok2 && ok3 {
				row("4", "(context) optimistic on "+proxy, fmt.Sprintf("optimistic %.1f ms = %.3fx standard, %.3fx direct", opt, opt/std, opt/dir), "no goal")
			}
		}
	} else {
		na("4", "connect latency", "group not run")
	}

	// 5. Throughput.
	if s := r["throughput"]; s != nil {
		for _, t := range []struct{ bench, unit, label string }{
			{"BenchmarkBulk", "MB/s", "bulk bytes/s"},
			{"BenchmarkWebSocketMessages", "msgs/s", "WebSocket messages/s"},
		} {
			dir, ok := s.med(t.bench+"/path=direct", t.unit)
			if !ok {
				na("5", t.label, "no direct result")
				continue
			}
			relay, _ := s.med(t.bench+"/path=relay", t.unit)
			for _, via := range []string{"proxytest", "danted"} {
				pg, ok := s.med(t.bench+"/path="+via+"-proxygen-std", t.unit)
				if !ok {
					na("5", t.label+" via "+via, "skipped (server not installed) or failed")
					continue
				}
				opt, _ := s.med(t.bench+"/path="+via+"-proxygen-optimistic", t.unit)
				xn, _ := s.med(t.bench+"/path="+via+"-xnet", t.unit)
				m := fmt.Sprintf("proxygen %s, direct %s: **%.2fx direct**; optimistic %.2fx direct; x/net/proxy %.2fx direct (proxygen %.2fx x/net); plain relay hop %.2fx direct (proxygen %.2fx relay)",
					human(pg, t.unit), human(dir, t.unit), pg/dir, opt/dir, xn/dir, pg/xn, relay/dir, pg/relay)
				v := "met"
				if pg/dir < 0.97 {
					v = fmt.Sprintf("**missed** by %.0f%% (%.2fx < 0.97x). Why: the proxy's extra forwarding hop, not the tunnel: a plain TCP relay hop alone gets %.2fx direct; proxygen's tunnel is %.2fx x/net/proxy's through the same proxy", 100*(0.97-pg/dir), pg/dir, relay/dir, pg/xn)
				}
				row("5", t.label+" via "+via+" >= 0.97x direct", m, v)
			}
		}
	} else {
		na("5", "throughput", "group not run")
	}

	// 6. Memory.
	if s := r["idle"]; s != nil {
		dir, ok1 := s.med("BenchmarkIdleTunnels/path=direct", "heap-B/tunnel")
		pg, ok2 := s.med("BenchmarkIdleTunnels/path=danted-proxygen-std", "heap-B/tunnel")
		xn, _ := s.med("BenchmarkIdleTunnels/path=danted-xnet", "heap-B/tunnel")
		goal := "heap per idle tunnel <= direct + 1 KiB (1,000 tunnels via danted)"
		if ok1 && ok2 {
			v := "met"
			if pg-dir > 1024 {
				v = fmt.Sprintf("**missed** by %.0f B", pg-dir-1024)
			}
			row("6", goal, fmt.Sprintf("proxygen %.0f B, direct %.0f B: %+.0f B per tunnel (x/net/proxy %+.0f B)", pg, dir, pg-dir, xn-dir), v)
		} else {
			na("6", goal, "skipped (danted not installed) or failed")
		}
	} else {
		na("6", "memory", "group not run")
	}

	// 7. Dial rate.
	if s := r["dialrate"]; s != nil {
		pg, ok1 := s.med("BenchmarkDialRate/path=danted-proxygen-std", "tunnels/s")
		xn, ok2 := s.med("BenchmarkDialRate/path=danted-xnet", "tunnels/s")
		dir, _ := s.med("BenchmarkDialRate/path=direct", "tunnels/s")
		goal := "tunnels/s with 1,000 concurrent dials via danted: proxygen >= 1.0x x/net/proxy"
		if ok1 && ok2 {
			v := "met"
			if pg/xn < 1 {
				p := uTest(s.v["BenchmarkDialRate/path=danted-proxygen-std"]["tunnels/s"], s.v["BenchmarkDialRate/path=danted-xnet"]["tunnels/s"])
				if p < 0.05 {
					v = fmt.Sprintf("**missed** by %.0f%% (%.2fx, significant: Mann-Whitney p=%.3f)", 100*(1-pg/xn), pg/xn, p)
				} else {
					v = fmt.Sprintf("**not shown**: median %.2fx, but the difference is not significant (Mann-Whitney p=%.3f); the spread is danted's accept backlog", pg/xn, p)
				}
			}
			row("7", goal, fmt.Sprintf("proxygen %.0f/s, x/net/proxy %.0f/s: %.2fx (direct %.0f/s)", pg, xn, pg/xn, dir), v)
		} else {
			na("7", goal, "skipped (danted not installed) or failed")
		}
	} else {
		na("7", "dial rate", "group not run")
	}

	// 8. Generator.
	if s := r["gen"]; s != nil {
		for _, c := range []struct{ name, label string }{
			{"BenchmarkGenerate/exchanges=1000", "validate + generate, 1,000 exchanges"},
			{"BenchmarkGenerate/exchanges=4096", "validate + generate, 4,096 exchanges (schema.MaxExchanges, the most a spec may declare)"},
			{"BenchmarkGoBuild/exchanges=1000", "`go build` of the generated 1,000-exchange package"},
		} {
			ns, ok := s.med(c.name, "ns/op")
			if !ok {
				na("8", c.label, "no result")
				continue
			}
			row("8", c.label, fmt.Sprintf("%.0f ms", ns/1e6), "no numeric goal (reported)")
		}
		a, ok1 := s.med("BenchmarkGenerate/exchanges=1000", "ns/op")
		z, ok2 := s.med("BenchmarkGenerate/exchanges=4096", "ns/op")
		if ok1 && ok2 {
			row("8", "scaling 1,000 -> 4,096 exchanges", fmt.Sprintf("%.1fx the time for 4.1x the exchanges", z/a), "linear would be 4.1x")
		}
	} else {
		na("8", "generator", "group not run")
	}

	poolGoals(r, row, na)
	return b.String()
}

// poolGoals renders issue 12's pool goals (item 7).
func poolGoals(r map[string]*samples, row func(n, goal, measured, verdict string), na func(n, goal, why string)) {
	const n = "12"
	// Member selection.
	if s := r["poolselect"]; s != nil {
		for _, st := range []string{"failover", "round_robin", "random", "sticky", "fastest"} {
			name := "BenchmarkPoolSelect/" + st
			goal := fmt.Sprintf("member selection, strategy %s, 4 members <= 25 ns/op, 0 allocs/op", st)
			ns, ok1 := s.med(name, "ns/op")
			allocs, ok2 := s.med(name, "allocs/op")
			if !ok1 || !ok2 {
				na(n, goal, "no result")
				continue
			}
			v := "met"
			switch {
			case ns > 25 && allocs > 0:
				v = fmt.Sprintf("**missed**: %.0f%% over, and allocates", 100*(ns/25-1))
			case ns > 25:
				v = fmt.Sprintf("**missed** by %.2f ns (%.0f%% over)", ns-25, 100*(ns/25-1))
			case allocs > 0:
				v = "**missed**: allocates"
			}
			row(n, goal, fmt.Sprintf("%.2f ns/op, %g allocs/op", ns, allocs), v)
		}
	} else {
		na(n, "pool member selection", "group not run")
	}

	// Dial latency through pool routes.
	if s := r["pool"]; s != nil {
		key := func(route string) string { return "BenchmarkPoolConnect/route=" + route }
		get := func(route, unit string) (float64, []float64, bool) {
			m, ok := s.med(key(route), unit)
			return m, s.v[key(route)][unit], ok
		}
		single, singleS, ok := get("single", "dial-ms")
		singleEcho, singleEchoS, _ := get("single", "p50-ms")
		if !ok {
			na(n, "pool dial latency", "no single-proxy result")
		} else {
			if x, xs, ok := get("pool-healthy", "dial-ms"); ok {
				echo, _, _ := get("pool-healthy", "p50-ms")
				row(n, "pool route, every member healthy (4, failover): dial <= 1.02x a single-proxy route",
					fmt.Sprintf("pool %.2f ms, single %.2f ms: %.3fx (to first echo: %.1f ms vs %.1f ms, %.3fx)", x, single, x/single, echo, singleEcho, echo/singleEcho),
					leVerdict(x, xs, 1.02*single, scale(singleS, 1.02, 0), "1.02x single"))
			} else {
				na(n, "pool route, every member healthy", "no result")
			}
			if x, xs, ok := get("first-refusing", "dial-ms"); ok {
				dead, _, _ := get("first-refusing", "dead-rtt-ms")
				bound := single + dead
				row(n, "first member refusing (connection refused): dial <= healthy dial + 1 RTT to the dead member",
					fmt.Sprintf("%.2f ms; healthy single-proxy dial %.2f ms + refused connect to the dead member %.3f ms = %.2f ms (%.3fx the healthy dial)", x, single, dead, bound, x/single),
					leVerdict(x, xs, bound, scale(singleS, 1, dead), "healthy + 1 RTT"))
			} else {
				na(n, "first member refusing", "no result")
			}
			if x, xs, ok := get("first-ejected", "dial-ms"); ok {
				row(n, "first member refusing, once ejected: dial <= 1.02x a healthy single-proxy dial",
					fmt.Sprintf("%.2f ms vs single %.2f ms: %.3fx", x, single, x/single),
					leVerdict(x, xs, 1.02*single, scale(singleS, 1.02, 0), "1.02x single"))
			} else {
				na(n, "first member ejected", "no result")
			}
			if x, xs, ok := get("first-blackholed-hedge200", "p50-ms"); ok {
				bound := 200 + 1.1*singleEcho
				row(n, "first member blackholed, `hedge_after_ms: 200`: first WebSocket echo <= 200 ms + 1.1x healthy",
					fmt.Sprintf("%.1f ms; healthy (single) %.1f ms, bound 200 + 1.1 x %.1f = %.1f ms", x, singleEcho, singleEcho, bound),
					leVerdict(x, xs, bound, scale(singleEchoS, 1.1, 200), "200 ms + 1.1x healthy"))
			} else {
				na(n, "first member blackholed, hedging", "no result")
			}
			if x, xs, ok := get("first-blackholed-nohedge", "p50-ms"); ok {
				bound := 1000 + 1.1*singleEcho
				v := leVerdict(x, xs, bound, scale(singleEchoS, 1.1, 1000), "attempt timeout + 1.1x healthy")
				row(n, "(shown with the above) first member blackholed, no hedging, `attempt_timeout_seconds: 1`: first echo bounded by 1 s + 1.1x healthy",
					fmt.Sprintf("%.1f ms = the 1 s attempt timeout + %.1f ms (healthy %.1f ms); bound %.1f ms", x, x-1000, singleEcho, bound), v)
			} else {
				na(n, "first member blackholed, no hedging", "no result")
			}
		}
	} else {
		na(n, "pool dial latency", "group not run")
	}

	// Throughput: a pool's tunnel against a single proxy's.
	if s := r["throughput"]; s != nil {
		for _, t := range []struct{ bench, unit, label string }{
			{"BenchmarkBulk", "MB/s", "bulk bytes/s"},
			{"BenchmarkWebSocketMessages", "msgs/s", "WebSocket messages/s"},
		} {
			goal := "pool route (4 healthy members) costs nothing on " + t.label + " (vs a single-proxy route, proxytest)"
			pool, ok1 := s.med(t.bench+"/path=proxytest-pool-std", t.unit)
			single, ok2 := s.med(t.bench+"/path=proxytest-proxygen-std", t.unit)
			if !ok1 || !ok2 {
				na(n, goal, "no result")
				continue
			}
			v := "met"
			if pool < single {
				p := uTest(s.v[t.bench+"/path=proxytest-pool-std"][t.unit], s.v[t.bench+"/path=proxytest-proxygen-std"][t.unit])
				if p < 0.05 {
					v = fmt.Sprintf("**missed** by %.1f%% (significant: Mann-Whitney p=%.3f)", 100*(1-pool/single), p)
				} else {
					v = fmt.Sprintf("met within noise: median %.1f%% lower, not a significant difference (Mann-Whitney p=%.3f)", 100*(1-pool/single), p)
				}
			}
			row(n, goal, fmt.Sprintf("pool %s, single %s: %.3fx", human(pool, t.unit), human(single, t.unit), pool/single), v)
		}
	} else {
		na(n, "pool throughput", "group not run")
	}
}

// scale returns a*x+c for every x: the per-sample bound a goal compares
// with.
func scale(xs []float64, a, c float64) []float64 {
	out := make([]float64, len(xs))
	for i, x := range xs {
		out[i] = a*x + c
	}
	return out
}

// leVerdict judges "x <= bound" (lower is better): met when the median is
// within the bound; above it, a Mann-Whitney test of the samples against
// the bound's samples (the same rounds, interleaved) tells a significant
// miss from noise.
func leVerdict(x float64, xs []float64, bound float64, boundS []float64, what string) string {
	if x <= bound {
		return "met"
	}
	p := uTest(xs, boundS)
	if p < 0.05 {
		return fmt.Sprintf("**missed** by %.2f ms (%.1f%% over %s; significant: Mann-Whitney p=%.3f)", x-bound, 100*(x/bound-1), what, p)
	}
	return fmt.Sprintf("**not shown**: median %.2f ms (%.1f%%) over %s, but not significantly (Mann-Whitney p=%.3f)", x-bound, 100*(x/bound-1), what, p)
}

func human(v float64, unit string) string {
	switch unit {
	case "MB/s":
		return fmt.Sprintf("%.0f MB/s", v)
	case "msgs/s":
		return fmt.Sprintf("%.0f msgs/s", v)
	}
	return fmt.Sprintf("%g %s", v, unit)
}

// uTest returns the two-sided p-value of the Mann-Whitney U test of a and b,
// exact by enumerating every split of the pooled samples (benchmark sample
// counts are small). Ties count half.
func uTest(a, b []float64) float64 {
	n, m := len(a), len(b)
	if n == 0 || m == 0 || n+m > 20 {
		return 1
	}
	pooled := append(append([]float64(nil), a...), b...)
	u := func(in []bool) float64 { // U of the samples marked in, against the rest
		var s float64
		for i, x := range pooled {
			if !in[i] {
				continue
			}
			for j, y := range pooled {
				switch {
				case in[j]:
				case x > y:
					s++
				case x == y:
					s += 0.5
				}
			}
		}
		return s
	}
	mid := float64(n*m) / 2
	in := make([]bool, n+m)
	for i := range n {
		in[i] = true
	}
	observed := abs(u(in) - mid)
	var total, extreme int
	var walk func(i, left int)
	walk = func(i, left int) {
		if left == 0 {
			total++
			if abs(u(in)-mid) >= observed-1e-9 {
				extreme++
			}
			return
		}
		if len(pooled)-i < left {
			return
		}
		in[i] = true
		walk(i+1, left-1)
		in[i] = false
		walk(i+1, left)
	}
	clear(in)
	walk(0, n)
	return float64(extreme) / float64(total)
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}
