package main

import (
	"math"
	"strings"
	"testing"
)

func TestUTest(t *testing.T) {
	tests := []struct {
		a, b []float64
		want float64
	}{
		// Fully separated samples of 6 and 6: 2 of the 924 splits are as extreme.
		{[]float64{1, 2, 3, 4, 5, 6}, []float64{7, 8, 9, 10, 11, 12}, 2.0 / 924},
		{[]float64{7, 8, 9, 10, 11, 12}, []float64{1, 2, 3, 4, 5, 6}, 2.0 / 924},
		// Interleaved samples: no evidence of a difference.
		{[]float64{1, 3, 5, 7, 9, 11}, []float64{2, 4, 6, 8, 10, 12}, 1},
		{[]float64{1, 2, 3}, []float64{1, 2, 3}, 1},
	}
	for _, tt := range tests {
		got := uTest(tt.a, tt.b)
		if tt.want == 1 && got < 0.5 || tt.want != 1 && math.Abs(got-tt.want) > 1e-12 {
			t.Errorf("uTest(%v, %v) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestPoolGoals(t *testing.T) {
	six := func(x float64) []float64 { return []float64{x, x * 1.001, x * 0.999, x * 1.002, x * 0.998, x} }
	s := &samples{v: map[string]map[string][]float64{}}
	set := func(name, unit string, xs []float64) {
		if s.v[name] == nil {
			s.v[name] = map[string][]float64{}
		}
		s.v[name][unit] = xs
	}
	for _, st := range []string{"failover", "round_robin", "random", "sticky", "fastest"} {
		set("BenchmarkPoolSelect/"+st, "ns/op", six(10))
		set("BenchmarkPoolSelect/"+st, "allocs/op", six(0)[:6])
	}
	set("BenchmarkPoolSelect/sticky", "ns/op", six(40))
	r := "BenchmarkPoolConnect/route="
	set(r+"single", "dial-ms", six(60))
	set(r+"single", "p50-ms", six(120))
	set(r+"pool-healthy", "dial-ms", six(60.5)) // within 1.02x
	set(r+"pool-healthy", "p50-ms", six(120))
	set(r+"first-refusing", "dial-ms", six(70)) // far above single + 0.1 ms
	set(r+"first-refusing", "dead-rtt-ms", six(0.1))
	set(r+"first-ejected", "dial-ms", six(60))
	set(r+"first-blackholed-hedge200", "p50-ms", six(330))
	set(r+"first-blackholed-nohedge", "p50-ms", six(1125))
	table := goalTable(map[string]*samples{"poolselect": s, "pool": s})
	for _, want := range []string{
		"| 12 | member selection, strategy failover, 4 members <= 25 ns/op, 0 allocs/op | 10.00 ns/op, 0 allocs/op | met |",
		"| 12 | member selection, strategy sticky, 4 members <= 25 ns/op, 0 allocs/op | 40.00 ns/op, 0 allocs/op | **missed** by 15.00 ns (60% over) |",
		"dial <= 1.02x a single-proxy route | pool 60.50 ms, single 60.00 ms: 1.008x",
		"1 RTT to the dead member | 70.00 ms; healthy single-proxy dial 60.00 ms + refused connect to the dead member 0.100 ms = 60.10 ms (1.167x the healthy dial) | **missed** by 9.90 ms",
		"`hedge_after_ms: 200`: first WebSocket echo <= 200 ms + 1.1x healthy | 330.0 ms; healthy (single) 120.0 ms, bound 200 + 1.1 x 120.0 = 332.0 ms | met |",
		"| 12 | pool throughput | not measured | group not run |",
	} {
		if !strings.Contains(table, want) {
			t.Errorf("goal table lacks %q:\n%s", want, table)
		}
	}
}
