package mirror

import (
	"slices"
	"testing"
	"time"
)

// TestLognormalDraws: median 50 ms, sigma 0.5 has its median at 50 ms and
// its 84th percentile at 50*e^0.5 = 82 ms.
func TestLognormalDraws(t *testing.T) {
	r := newActiveRule(Rule{LognormalMedianMS: 50, LognormalSigma: 0.5})
	rng := newRNG(1)
	const n = 20001
	d := make([]time.Duration, n)
	for i := range d {
		d[i] = r.decide(rng).delay
	}
	slices.Sort(d)
	if median := d[n/2]; median < 48*time.Millisecond || median > 52*time.Millisecond {
		t.Errorf("median %v, want 50ms", median)
	}
	if p84 := d[n*841/1000]; p84 < 78*time.Millisecond || p84 > 86*time.Millisecond {
		t.Errorf("84th percentile %v, want 82ms", p84)
	}
}

func TestTokenBucket(t *testing.T) {
	now := time.Now()
	b := newTokenBucket(10, 2)
	b.last = now
	for i, want := range []bool{true, true, false} {
		if ok, _ := b.take(now); ok != want {
			t.Fatalf("take %d: %v, want %v", i, ok, want)
		}
	}
	if ok, wait := b.take(now); ok || wait != 100*time.Millisecond {
		t.Errorf("empty bucket: ok %v, wait %v, want 100ms", ok, wait)
	}
	if ok, _ := b.take(now.Add(100 * time.Millisecond)); !ok {
		t.Error("no token after 100 ms at 10/s")
	}
}

// A lognormal draw is unbounded (exp(sigma*N) overflows to +Inf for a wide
// sigma): the delay is cut at MaxFaultDelay, where converting it to a
// Duration gave a negative one, that is no wait at all.
func TestLognormalDrawIsCutAtMaxFaultDelay(t *testing.T) {
	r := newActiveRule(Rule{LognormalMedianMS: 1000, LognormalSigma: 1000})
	rng := newRNG(1)
	long := 0
	for range 100 {
		d := r.decide(rng).delay
		if d < 0 || d > MaxFaultDelay {
			t.Fatalf("delay %v, want 0..%v", d, MaxFaultDelay)
		}
		if d == MaxFaultDelay {
			long++
		}
	}
	if long < 30 {
		t.Errorf("%d of 100 draws at MaxFaultDelay, want about half", long)
	}
}
