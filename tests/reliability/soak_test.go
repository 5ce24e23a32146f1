package reliability

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/f1fetch/f1fetch/plugin/mirror"
)

// TestSoak repeats FetchMany of the corpus over one client while the mirror
// mixes 5xx, stream resets, truncation and jitter. Every round must deliver
// every document; the heap and goroutines must not grow from round to
// round. -soak=10m runs it for ten minutes; by default soakMinRounds run.
func TestSoak(t *testing.T) {
	leakCheck(t)
	ts := corpusTuples(t)
	m := startMirror(t, true, mirror.Faults{Rules: []mirror.Rule{{
		StatusRate: map[int]float64{500: 0.05, 503: 0.02}, StreamResetRate: 0.05, TruncateRate: 0.05, JitterMS: 20,
	}}})
	s := settings(m.CAFile, m.URL)
	highBreaker(&s)
	s.MaxRetries = 6
	c := newClient(t, s)

	var total outcome
	var heaps []uint64
	goroutinesAt := 0
	start := time.Now()
	rounds := 0
	// At least soakMinRounds, so that keeping one round's documents (1 MiB)
	// would grow the heap past the bound below.
	for rounds < soakMinRounds || time.Since(start) < *soak {
		rs := c.FetchMany(ctxFor(t, time.Minute), ts)
		o := check(t, ts, rs)
		wantExact(t, fmt.Sprintf("round %d documents", rounds), o.docs, len(ts))
		total.docs += o.docs
		total.flagged += o.flagged
		total.retries += o.retries
		rs = nil
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		heaps = append(heaps, ms.HeapAlloc)
		if rounds == 0 {
			goroutinesAt, _ = goroutines()
		}
		rounds++
		if t.Failed() {
			break
		}
	}
	wall := time.Since(start)
	if grown := int64(heaps[len(heaps)-1]) - int64(heaps[0]); grown > soakHeapGrowth {
		t.Errorf("heap grew by %d MiB over %d rounds", grown>>20, rounds)
	}
	if n, _ := goroutines(); n > goroutinesAt+5 {
		t.Errorf("goroutines grew from %d to %d over %d rounds", goroutinesAt, n, rounds)
	}
	closeClient(t, c, port(t, m))
	counts := m.Counts()
	record(t, row{Scenario: fmt.Sprintf("soak: %d rounds, 7%% 5xx + 5%% stream resets + 5%% truncation + jitter", rounds),
		Tuples: rounds * len(ts), Documents: total.docs, Flagged: total.flagged, Retries: total.retries, Requests: counts.Total, Wall: wall,
		Happened: fmt.Sprintf("every round complete; heap after GC %d -> %d KiB, goroutines flat", heaps[0]>>10, heaps[len(heaps)-1]>>10)})
}
