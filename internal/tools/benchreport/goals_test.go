package main

import (
	"math"
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
