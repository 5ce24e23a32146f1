package reliability

import (
	"fmt"
	"testing"
	"time"

	"github.com/f1fetch/f1fetch/config"
	"github.com/f1fetch/f1fetch/plugin/fetch"
	"github.com/f1fetch/f1fetch/plugin/mirror"
	"github.com/f1fetch/f1fetch/plugin/tuple"
)

// faultCase is one fault injected by the mirror into a FetchMany of the
// corpus tuples through the engine.
type faultCase struct {
	name   string
	tls    bool
	faults mirror.Faults
	tune   func(s *config.Settings)
	// lostConnections: a TCP reset also fails requests that never reached a
	// handler, so attempts may exceed the requests the mirror counted.
	lostConnections bool
	expect          func(t *testing.T, r run) string // exact checks; returns what happened
}

// run is what one scenario measured.
type run struct {
	ts     []tuple.Tuple
	rs     []fetch.Result
	o      outcome
	counts mirror.Counts
	set    config.Settings
	wall   time.Duration
}

// highBreaker keeps the breaker closed so that retries alone are measured;
// the breaker has its own scenarios.
func highBreaker(s *config.Settings) { s.BreakerFailures = 100000 }

func TestFaults(t *testing.T) {
	cases := []faultCase{
		{
			name: "no fault (baseline, TLS)", tls: true,
			expect: func(t *testing.T, r run) string {
				wantExact(t, "documents", r.o.docs, len(r.ts))
				wantExact(t, "requests", int(r.counts.Total), len(r.ts))
				wantExact(t, "connections the mirror accepted", int(r.counts.Connections), 1)
				return "every file fetched once over one HTTP/2 connection"
			},
		},
		{
			name:   "10% HTTP 500 (seeded), h2c",
			faults: mirror.Faults{Rules: []mirror.Rule{{StatusRate: map[int]float64{500: 0.10}}}},
			tune:   func(s *config.Settings) { highBreaker(s); s.MaxRetries = 5 },
			expect: func(t *testing.T, r run) string {
				wantExact(t, "documents", r.o.docs, len(r.ts))
				wantExact(t, "retries (one per 500 answered)", r.o.retries, int(r.counts.ByStatus[500]))
				return fmt.Sprintf("%d answers were 500; each retried once after backoff, all documents delivered", r.counts.ByStatus[500])
			},
		},
		{
			name: "HTTP 503 on the first 2 tries of every file, TLS", tls: true,
			faults: mirror.Faults{Rules: []mirror.Rule{{FailFirstN: 2}}},
			tune:   highBreaker,
			expect: func(t *testing.T, r run) string {
				wantExact(t, "documents", r.o.docs, len(r.ts))
				wantExact(t, "requests", int(r.counts.Total), 3*len(r.ts))
				wantExact(t, "retries", r.o.retries, 2*len(r.ts))
				return "exactly 3 attempts per file (max_retries 3), all documents delivered"
			},
		},
		{
			name:   "429 storm with Retry-After: 1 (capped by max_delay 250 ms)",
			faults: mirror.Faults{Rules: []mirror.Rule{{FailFirstN: 2, FailStatus: 429}}},
			tune:   func(s *config.Settings) { highBreaker(s); s.MaxDelay = 250 * time.Millisecond },
			expect: func(t *testing.T, r run) string {
				wantExact(t, "documents", r.o.docs, len(r.ts))
				wantExact(t, "requests", int(r.counts.Total), 3*len(r.ts))
				// Backoff alone would wait ~10 ms; two Retry-After waits capped at
				// 250 ms take 500 ms, uncapped (1 s each) 2 s.
				if r.wall < 500*time.Millisecond || r.wall > 1500*time.Millisecond {
					t.Errorf("wall %s: want two Retry-After waits capped at max_delay, 500 ms and more but well under the 2 s of uncapped ones", r.wall)
				}
				return "Retry-After honoured (capped at max_delay) before each retry, 3 attempts per file, all delivered"
			},
		},
		{
			name: "TCP connection resets 5% (seeded), TLS", tls: true, lostConnections: true,
			faults: mirror.Faults{Rules: []mirror.Rule{{ResetRate: 0.05}}},
			tune:   func(s *config.Settings) { highBreaker(s); s.MaxRetries = 8 },
			expect: func(t *testing.T, r run) string {
				wantExact(t, "documents", r.o.docs, len(r.ts))
				return fmt.Sprintf("%d resets killed their connection and the streams on it; the client redialled and retried, all delivered",
					r.counts.Faults[mirror.FaultReset])
			},
		},
		{
			name:   "HTTP/2 stream resets 10% (seeded), h2c",
			faults: mirror.Faults{Rules: []mirror.Rule{{StreamResetRate: 0.10}}},
			tune:   func(s *config.Settings) { highBreaker(s); s.MaxRetries = 5 },
			expect: func(t *testing.T, r run) string {
				wantExact(t, "documents", r.o.docs, len(r.ts))
				wantExact(t, "retries (one per reset stream)", r.o.retries, int(r.counts.Faults[mirror.FaultStreamReset]))
				return "each reset stream retried once on the same connection, all delivered"
			},
		},
		{
			name:   "stalls past the timeout: 10% stall 10 s, timeout 2 s",
			faults: mirror.Faults{Rules: []mirror.Rule{{StallRate: 0.10, StallMS: 10000}}},
			tune: func(s *config.Settings) {
				highBreaker(s)
				s.MaxRetries = 5
				s.Timeout = 2 * time.Second
			},
			expect: func(t *testing.T, r run) string {
				wantExact(t, "documents", r.o.docs, len(r.ts))
				if stalls := int(r.counts.Faults[mirror.FaultStall]); r.o.retries < stalls {
					t.Errorf("retries %d < stalls %d", r.o.retries, stalls)
				}
				if r.wall > 8*time.Second {
					t.Errorf("wall %s: a stall was waited out instead of timed out", r.wall)
				}
				return fmt.Sprintf("%d stalled bodies cut by the 2 s attempt timeout and retried, all delivered", r.counts.Faults[mirror.FaultStall])
			},
		},
		{
			name: "one file always stalls (timeout 2 s, max_retries 1)",
			faults: mirror.Faults{Rules: []mirror.Rule{
				{PathPrefix: "/2025@main/Australian Grand Prix/Qualifying/VER/laptimes.json", StallRate: 1, StallMS: 10000},
			}},
			tune: func(s *config.Settings) {
				highBreaker(s)
				s.MaxRetries = 1
				s.Timeout = 2 * time.Second
			},
			expect: func(t *testing.T, r run) string {
				wantExact(t, "documents", r.o.docs, len(r.ts)-1)
				wantExact(t, "flagged network", r.o.kinds[fetch.KindNetwork], 1)
				wantExact(t, "attempts of the stalled file", int(r.counts.Path("/2025@main/Australian Grand Prix/Qualifying/VER/laptimes.json")), 2)
				return "the stalled file flagged network after exactly 2 attempts of 2 s; every other file delivered"
			},
		},
		{
			name: "truncated bodies 10% (seeded), TLS", tls: true,
			faults: mirror.Faults{Rules: []mirror.Rule{{TruncateRate: 0.10}}},
			tune:   func(s *config.Settings) { highBreaker(s); s.MaxRetries = 5 },
			expect: func(t *testing.T, r run) string {
				wantExact(t, "documents", r.o.docs, len(r.ts))
				wantExact(t, "retries (one per truncated body)", r.o.retries, int(r.counts.Faults[mirror.FaultTruncate]))
				return "each body cut short is a transport error (short read), retried, all delivered"
			},
		},
		{
			name:   "corrupt bodies 10% (seeded): 200 with invalid JSON",
			faults: mirror.Faults{Rules: []mirror.Rule{{CorruptRate: 0.10}}},
			tune:   highBreaker,
			expect: func(t *testing.T, r run) string {
				corrupt := int(r.counts.Faults[mirror.FaultCorrupt])
				if corrupt == 0 {
					t.Error("the seed drew no corrupt body; the scenario proves nothing")
				}
				wantExact(t, "flagged invalid", r.o.kinds[fetch.KindInvalid], corrupt)
				wantExact(t, "documents", r.o.docs, len(r.ts)-corrupt)
				wantExact(t, "requests (invalid data is never retried)", int(r.counts.Total), len(r.ts))
				return "each corrupt body flagged invalid (never retried, as the spec says), never emitted as a document"
			},
		},
	}
	for _, fc := range cases {
		t.Run(fc.name, func(t *testing.T) { runFault(t, fc) })
	}
}

func runFault(t *testing.T, fc faultCase) {
	leakCheck(t)
	ts := corpusTuples(t)
	m := startMirror(t, fc.tls, fc.faults)
	s := settings(m.CAFile, m.URL)
	if fc.tune != nil {
		fc.tune(&s)
	}
	c := newClient(t, s)

	stopHeap := heapWatch()
	start := time.Now()
	rs := c.FetchMany(ctxFor(t, time.Minute), ts)
	wall := time.Since(start)
	peak := stopHeap()

	o := check(t, ts, rs)
	if o.maxAttempts > s.MaxRetries+1 {
		t.Errorf("a tuple took %d attempts; max_retries %d allows %d", o.maxAttempts, s.MaxRetries, s.MaxRetries+1)
	}
	if n := establishedTo(t, port(t, m)); n > 1 {
		t.Errorf("%d connections established to the mirror; one multiplexed connection is expected", n)
	}
	closeClient(t, c, port(t, m))
	counts := m.Counts()
	attempts := o.retries + len(ts) - attemptless(rs)
	if fc.lostConnections {
		if int64(attempts) < counts.Total {
			t.Errorf("mirror saw %d requests, the client made %d attempts", counts.Total, attempts)
		}
	} else if int64(attempts) != counts.Total {
		t.Errorf("mirror saw %d requests, the client made %d attempts", counts.Total, attempts)
	}
	// Memory: the documents held plus the bodies in flight and the
	// transport's buffers, not the run's history nor a buffer of
	// max_body_bytes per request. Measured: 3.0-5.5 MiB of growth for 1 MiB
	// of documents, 4.8-7.2 MiB under -race; the peak is sampled without a
	// collection, so garbage counts and the slack leaves GC timing room.
	if limit := uint64(4*docBytes(rs)) + 16<<20; peak > limit {
		t.Errorf("heap grew by %d bytes during the run, bound %d", peak, limit)
	}
	happened := fc.expect(t, run{ts: ts, rs: rs, o: o, counts: counts, set: s, wall: wall})
	record(t, row{Scenario: fc.name, Happened: happened, Tuples: len(ts), Documents: o.docs, Flagged: o.flagged,
		Lost: o.lost, Duplicated: o.dup, Retries: o.retries, Requests: counts.Total, Wall: wall})
}

// attemptless counts results that made no attempt at all.
func attemptless(rs []fetch.Result) int {
	n := 0
	for _, r := range rs {
		if r.Attempts == 0 {
			n++
		}
	}
	return n
}

func wantExact(t *testing.T, what string, got, want int) {
	t.Helper()
	if got != want {
		t.Errorf("%s: got %d, want %d", what, got, want)
	}
}
