package runtime

import (
	"math/rand/v2"
)

// order writes the indexes of the members to try, in order, into ord and
// returns how many there are and how many of them are usable (the usable
// ones come first, in strategy order; then, with TryEjected, the ejected
// ones, the soonest to return first). It does not allocate.
func (p *Pool) order(ord *[MaxPoolMembers]uint8, target string) (n, usable int) {
	ms := p.members
	// Fast path: nobody ejected, no clock read.
	var mask uint64 // bit i: member i usable
	all := true
	for i := range ms {
		if ms[i].h.until.Load() != 0 {
			all = false
			break
		}
	}
	if all {
		mask = 1<<uint(len(ms)) - 1
		if len(ms) == 64 {
			mask = ^uint64(0)
		}
	} else {
		now := p.health.now().UnixNano()
		for i := range ms {
			if ms[i].h.usable(now) {
				mask |= 1 << uint(i)
			}
		}
	}
	switch p.policy.Strategy {
	case StrategyRoundRobin:
		usable = rotate(ord, len(ms), int((p.rr.Add(1)-1)%uint64(len(ms))), mask)
	case StrategyRandom:
		usable = rotate(ord, len(ms), rand.IntN(len(ms)), mask)
	case StrategySticky:
		usable = p.sticky(ord, target, mask)
	case StrategyFastest:
		usable = p.fastest(ord, mask)
	default:
		usable = rotate(ord, len(ms), 0, mask)
	}
	n = usable
	if n < len(ms) && p.policy.WhenAllDown == TryEjected {
		// The ejected ones, soonest to return first (insertion sort).
		start := n
		for i := range ms {
			if mask&(1<<uint(i)) != 0 {
				continue
			}
			u := ms[i].h.until.Load()
			j := n
			for j > start && ms[ord[j-1]].h.until.Load() > u {
				ord[j] = ord[j-1]
				j--
			}
			ord[j] = uint8(i)
			n++
		}
	}
	return n, usable
}

// rotate lists the usable members starting at start, wrapping.
func rotate(ord *[MaxPoolMembers]uint8, n, start int, mask uint64) int {
	if mask == 1<<uint(n)-1 || n == 64 && mask == ^uint64(0) {
		// All usable (the common case): no test per member.
		for k := range n {
			ord[k] = uint8(start)
			start++
			if start == n {
				start = 0
			}
		}
		return n
	}
	k := 0
	i := start
	for range n {
		if mask&(1<<uint(i)) != 0 {
			ord[k] = uint8(i)
			k++
		}
		i++
		if i == n {
			i = 0
		}
	}
	return k
}

// sticky orders the usable members by their rendezvous score for target,
// highest first. The score of a member depends only on its name and the
// target, so every process built from the same spec agrees, and removing a
// member moves only the targets it had.
func (p *Pool) sticky(ord *[MaxPoolMembers]uint8, target string, mask uint64) int {
	th := hashString(target)
	if len(p.members) <= 8 { // a small scratch array is cheaper to clear
		var score [8]uint64
		return p.stickyInto(ord, th, mask, score[:])
	}
	var score [MaxPoolMembers]uint64
	return p.stickyInto(ord, th, mask, score[:])
}

func (p *Pool) stickyInto(ord *[MaxPoolMembers]uint8, th, mask uint64, score []uint64) int {
	k := 0
	for i := range p.members {
		if mask&(1<<uint(i)) == 0 {
			continue
		}
		s := mix64(p.members[i].hash ^ th)
		j := k
		for j > 0 && score[j-1] < s {
			score[j], ord[j] = score[j-1], ord[j-1]
			j--
		}
		score[j], ord[j] = s, uint8(i)
		k++
	}
	return k
}

// fastest lists the usable members not yet measured (spec order), then the
// current favourite, then the other measured ones by moving average. The
// favourite changes only when another member's average is below
// (1-FastestTolerance) of its own, or when it is no longer usable.
func (p *Pool) fastest(ord *[MaxPoolMembers]uint8, mask uint64) int {
	ms := p.members
	k := 0
	best, bestV := -1, int64(0)
	for i := range ms {
		if mask&(1<<uint(i)) == 0 {
			continue
		}
		v := ms[i].h.ewma.Load()
		if v == 0 {
			ord[k] = uint8(i)
			k++
			continue
		}
		if best < 0 || v < bestV {
			best, bestV = i, v
		}
	}
	if best < 0 {
		return k
	}
	fav := int(p.fav.Load())
	if fav >= 0 && fav < len(ms) && mask&(1<<uint(fav)) != 0 {
		if fv := ms[fav].h.ewma.Load(); fv != 0 && fav != best {
			// Stay unless best is clearly faster.
			if float64(bestV) < float64(fv)*(1-FastestTolerance) {
				p.fav.Store(int32(best))
				fav = best
			}
		} else if fv == 0 {
			fav = best
			p.fav.Store(int32(best))
		}
	} else {
		fav = best
		p.fav.Store(int32(best))
	}
	ord[k] = uint8(fav)
	k++
	if len(ms) <= 8 {
		var val [8]int64
		return p.byAverage(ord, k, fav, mask, val[:])
	}
	var val [MaxPoolMembers]int64
	return p.byAverage(ord, k, fav, mask, val[:])
}

// byAverage appends the measured usable members but fav to ord[k:], by
// moving average, fastest first.
func (p *Pool) byAverage(ord *[MaxPoolMembers]uint8, k, fav int, mask uint64, val []int64) int {
	ms := p.members
	start := k
	for i := range ms {
		if i == fav || mask&(1<<uint(i)) == 0 {
			continue
		}
		v := ms[i].h.ewma.Load()
		if v == 0 {
			continue
		}
		j := k
		for j > start && val[j-1] > v {
			val[j], ord[j] = val[j-1], ord[j-1]
			j--
		}
		val[j], ord[j] = v, uint8(i)
		k++
	}
	return k
}

// hashString is a fixed 64-bit hash (FNV-1a's constants over 8-byte
// little-endian words, then a splitmix64 finalizer). It has no seed: sticky
// must map a target to the same member in every process.
func hashString(s string) uint64 {
	const (
		offset = 14695981039346656037
		prime  = 1099511628211
	)
	h := uint64(offset)
	for len(s) >= 8 {
		w := uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
			uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
		h = (h ^ w) * prime
		s = s[8:]
	}
	for i := 0; i < len(s); i++ {
		h = (h ^ uint64(s[i])) * prime
	}
	return mix64(h)
}

// mix64 is splitmix64's finalizer.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}
