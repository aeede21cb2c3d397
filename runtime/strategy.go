package runtime

import (
	"encoding/binary"
	"math/rand/v2"
)

// rotations returns, for a pool of n <= 8 members, each rotation of the
// member indexes as 8 bytes (rot[s] lists s, s+1, ..., wrapping).
func rotations(n int) (rot [8]uint64) {
	for s := range n {
		var b [8]byte
		for k := range n {
			b[k] = uint8((s + k) % n)
		}
		rot[s] = binary.LittleEndian.Uint64(b[:])
	}
	return rot
}

// order writes the indexes of the members to try, in order, into ord and
// returns how many there are and how many of them are usable (the usable
// ones come first, in strategy order; then, with TryEjected, the ejected
// ones, the soonest to return first). It does not allocate.
func (p *Pool) order(ord *[MaxPoolMembers]uint8, target string) (n, usable int) {
	ms := p.members
	// Fast path: nobody in the registry is ejected, no clock read.
	var mask uint64 // bit i: member i usable
	if p.health.ejected.Load() == 0 {
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
		usable = p.rotate(ord, int((p.rr.Add(1)-1)%uint64(len(ms))), mask)
	case StrategyRandom:
		usable = p.rotate(ord, rand.IntN(len(ms)), mask)
	case StrategySticky:
		if len(ms) <= 8 {
			usable = p.stickySmall(ord, hashString(target), mask)
		} else {
			usable = p.stickyLarge(ord, target, mask)
		}
	case StrategyFastest:
		if len(ms) <= 8 {
			var keys [8]uint64
			usable = p.fastestInto(ord, mask, keys[:])
		} else {
			usable = p.fastestLarge(ord, mask)
		}
	default:
		usable = p.rotate(ord, 0, mask)
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
func (p *Pool) rotate(ord *[MaxPoolMembers]uint8, start int, mask uint64) int {
	n := len(p.members)
	if n <= 8 && mask == 1<<uint(n)-1 {
		// All usable (the common case) in a small pool: one store.
		binary.LittleEndian.PutUint64(ord[:8], p.rot[start])
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

// stickyLarge is stickyInto for pools of more than 8 members.
func (p *Pool) stickyLarge(ord *[MaxPoolMembers]uint8, target string, mask uint64) int {
	var keys [MaxPoolMembers]uint64
	return p.stickyInto(ord, hashString(target), mask, keys[:])
}

// stickyInto orders the usable members by their rendezvous score for the
// target hash th, highest first. The score of a member depends only on its
// name and the target, so every process built from the same spec agrees,
// and removing a member moves only the targets it had. keys (the score's
// high 56 bits, the member index in the low 8) is scratch space of at
// least len(p.members): one array to move, ties broken by index.
func (p *Pool) stickyInto(ord *[MaxPoolMembers]uint8, th, mask uint64, keys []uint64) int {
	k := 0
	for i := range p.members {
		if mask&(1<<uint(i)) == 0 {
			continue
		}
		key := score(p.members[i].hash, th)&^0xff | uint64(i)
		j := k
		for j > 0 && keys[j-1] < key {
			keys[j] = keys[j-1]
			j--
		}
		keys[j] = key
		k++
	}
	for j := range k {
		ord[j] = uint8(keys[j])
	}
	return k
}

// stickySmall is stickyInto for pools of at most 8 members, on a fixed
// array (index j&7: no bounds checks), about 15% faster than the general
// form in BenchmarkPoolSelect.
func (p *Pool) stickySmall(ord *[MaxPoolMembers]uint8, th, mask uint64) int {
	var keys [8]uint64
	ms := p.members
	k := 0
	for i := range ms {
		if mask&(1<<uint(i)) == 0 {
			continue
		}
		key := score(ms[i].hash, th)&^0xff | uint64(i)
		j := k
		for j > 0 && keys[(j-1)&7] < key {
			keys[j&7] = keys[(j-1)&7]
			j--
		}
		keys[j&7] = key
		k++
	}
	for j := 0; j < k; j++ {
		ord[j] = uint8(keys[j&7])
	}
	return k
}

// fastestLarge is fastestInto for pools of more than 8 members.
func (p *Pool) fastestLarge(ord *[MaxPoolMembers]uint8, mask uint64) int {
	var keys [MaxPoolMembers]uint64
	return p.fastestInto(ord, mask, keys[:])
}

// fastestInto lists the usable members not yet measured (spec order), then
// the current favourite, then the other measured ones by moving average.
// The favourite changes only when another member's average is below
// (1-1/fastestToleranceDiv) of its own, or when it is no longer usable. keys
// (the average in the high 56 bits, the index in the low 8) is scratch
// space of at least len(p.members).
func (p *Pool) fastestInto(ord *[MaxPoolMembers]uint8, mask uint64, keys []uint64) int {
	ms := p.members
	old := int(p.fav.Load())
	fav, favV := old, int64(0)
	k, m := 0, 0
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
		v = min(v, 1<<56-1)
		if i == fav {
			favV = v
		}
		key := uint64(v)<<8 | uint64(i)
		j := m
		for j > 0 && keys[j-1] > key {
			keys[j] = keys[j-1]
			j--
		}
		keys[j] = key
		m++
	}
	if m == 0 {
		return k
	}
	best, bestV := int(uint8(keys[0])), int64(keys[0]>>8)
	// Stay on the favourite unless it is gone or best is clearly faster.
	if favV == 0 || best != fav && bestV < favV-favV/fastestToleranceDiv {
		fav = best
	}
	if fav != old {
		p.fav.Store(int32(fav))
	}
	ord[k] = uint8(fav)
	k++
	for j := range m {
		if i := uint8(keys[j]); int(i) != fav {
			ord[k] = i
			k++
		}
	}
	return k
}

// hashString is a fixed 64-bit hash: FNV-1a's constants over 8-byte
// little-endian words (the last word overlapping the one before it when
// the length is not a multiple of 8), seeded with the length, the high
// half folded down. It has no random seed: sticky must map a target to
// the same member in every process.
func hashString(s string) uint64 {
	const (
		offset = 14695981039346656037
		prime  = 1099511628211
	)
	n := len(s)
	h := uint64(offset) ^ uint64(n)
	if n < 8 {
		var w uint64
		for i := 0; i < n; i++ {
			w |= uint64(s[i]) << (8 * uint(i))
		}
		h = (h ^ w) * prime
		return h ^ h>>32
	}
	last := le64(s[n-8:])
	for len(s) > 8 {
		h = (h ^ le64(s)) * prime
		s = s[8:]
	}
	h = (h ^ last) * prime
	return h ^ h>>32 // score multiplies again
}

func le64(s string) uint64 {
	_ = s[7]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

// score is a member's rendezvous score for a target: one multiply of the
// two hashes; its high bits, which decide the comparison, depend on every
// input bit.
func score(member, target uint64) uint64 {
	return (member ^ target) * 0x9e3779b97f4a7c15
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
