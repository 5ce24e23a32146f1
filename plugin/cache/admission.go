package cache

import (
	"hash/maphash"
	"sync"
)

// admission decides which tier hits enter the memory tier: a key read from
// the tier a second time. A one-pass rerun over a persistent tier (a
// season's telemetry is gigabytes) then does not churn the bounded memory
// tier nor keep every document it read alive for the garbage collector,
// while a key asked again is served from memory from then on. It remembers
// hashes, not keys, so it stays small; a collision only promotes early.
type admission struct {
	mu   sync.Mutex
	seed maphash.Seed
	seen map[uint64]struct{}
	max  int // forgotten all at once when full, so its memory is bounded
}

// admissionKeys bounds the keys read once that are remembered: about 1 MB.
const admissionKeys = 1 << 16

func newAdmission(max int) *admission {
	return &admission{seed: maphash.MakeSeed(), seen: map[uint64]struct{}{}, max: max}
}

// admit reports whether the tier hit of key should enter memory: true when
// the key was read from the tier before since it was last forgotten.
func (a *admission) admit(key string) bool {
	h := maphash.String(a.seed, key)
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, ok := a.seen[h]; ok {
		delete(a.seen, h)
		return true
	}
	if len(a.seen) >= a.max {
		clear(a.seen)
	}
	a.seen[h] = struct{}{}
	return false
}
