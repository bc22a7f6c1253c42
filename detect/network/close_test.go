package network

import (
	"math"
	"testing"
)

func TestSampledFloor(t *testing.T) {
	tests := []struct {
		floor float64
		rate  uint32
		want  float64
	}{
		{500, 0, 500},  // unknown rate: the fallback rate applies elsewhere
		{500, 1, 500},  // unsampled counts are exact
		{500, 10, 576}, // n ≥ 57.6 sampled SYNs: 57.6 − √57.6 ≈ 50
		{500, 100, 779},
		{300, 1000, 1542}, // a sampled opening segment or two is not enough at 1 in 1000
	}
	for _, tt := range tests {
		got := sampledFloor(tt.floor, tt.rate)
		if math.Abs(got-tt.want) > 1 {
			t.Errorf("sampledFloor(%v, %d) = %.1f, want about %v", tt.floor, tt.rate, got, tt.want)
		}
		// At the returned estimate the one-sigma lower bound meets the floor.
		if r := float64(tt.rate); r > 1 {
			n := got / r
			if lb := r * (n - math.Sqrt(n)); math.Abs(lb-tt.floor) > 1e-6*tt.floor {
				t.Errorf("rate %d: lower bound at the returned estimate is %.3f, want %v", tt.rate, lb, tt.floor)
			}
		}
	}
}
