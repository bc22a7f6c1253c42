package sim

import (
	"math"
	"math/rand/v2"
	"net/netip"
)

// rng wraps one seeded generator. The simulator draws from it in a fixed
// order, so the output is a pure function of the seed.
type rng struct{ *rand.Rand }

func newRNG(seed int64, stream uint64) rng {
	return rng{rand.New(rand.NewPCG(uint64(seed), stream^0x9e3779b97f4a7c15))}
}

// between returns an integer in [lo, hi].
func (r rng) between(lo, hi int) int {
	if hi <= lo {
		return lo
	}
	return lo + r.IntN(hi-lo+1)
}

// poisson draws a Poisson variate: Knuth's method for small means, a
// rounded normal approximation above 30 where it is close enough.
func (r rng) poisson(mean float64) int {
	if mean <= 0 {
		return 0
	}
	if mean > 30 {
		v := int(math.Round(mean + math.Sqrt(mean)*r.NormFloat64()))
		if v < 0 {
			return 0
		}
		return v
	}
	l, k, p := math.Exp(-mean), 0, 1.0
	for {
		p *= r.Float64()
		if p <= l {
			return k
		}
		k++
	}
}

// binomial draws the number of successes in n trials of probability p.
func (r rng) binomial(n int, p float64) int {
	if n <= 64 {
		k := 0
		for range n {
			if r.Float64() < p {
				k++
			}
		}
		return k
	}
	mean := float64(n) * p
	v := int(math.Round(mean + math.Sqrt(mean*(1-p))*r.NormFloat64()))
	return max(0, min(n, v))
}

func (r rng) hex(n int) string {
	const digits = "0123456789abcdef"
	b := make([]byte, n)
	for i := range b {
		b[i] = digits[r.IntN(16)]
	}
	return string(b)
}

// guid returns a random version-4 style GUID.
func (r rng) guid() string {
	h := r.hex(32)
	return h[0:8] + "-" + h[8:12] + "-4" + h[13:16] + "-a" + h[17:20] + "-" + h[20:32]
}

func pick[T any](r rng, s []T) T { return s[r.IntN(len(s))] }

// isPublic reports whether a is a routable unicast IPv4 address outside
// the special-purpose ranges (RFC 6890), so simulated internet hosts never
// collide with private, documentation or multicast space.
func isPublic(a netip.Addr) bool {
	b := a.As4()
	switch {
	case b[0] == 0 || b[0] == 10 || b[0] == 127 || b[0] >= 224:
		return false
	case b[0] == 100 && b[1]&0xc0 == 64:
		return false
	case b[0] == 169 && b[1] == 254, b[0] == 172 && b[1]&0xf0 == 16, b[0] == 192 && b[1] == 168:
		return false
	case b[0] == 192 && b[1] == 0 && (b[2] == 0 || b[2] == 2):
		return false
	case b[0] == 198 && (b[1]&0xfe == 18 || b[1] == 51 && b[2] == 100):
		return false
	case b[0] == 203 && b[1] == 0 && b[2] == 113:
		return false
	}
	return true
}
