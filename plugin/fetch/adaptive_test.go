package fetch

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/f1fetch/f1fetch/plugin/tuple"
)

func (l *observerLog) lowest() int { return minOf(l.seen()) }
func minOf(xs []int) int {
	m := xs[0]
	for _, x := range xs {
		m = min(m, x)
	}
	return m
}

func TestAIMDCutsOncePerRoundAndGrowsBackAdditively(t *testing.T) {
	a := newAIMD(2, 20)
	round := time.Now()
	if n, changed := a.learn(round, lessonPushback, 0); n != 10 || !changed {
		t.Fatalf("a 429 must halve 20: got %d (changed %v)", n, changed)
	}
	// The other answers of the same round were sent under the old limit.
	for range 5 {
		if n, _ := a.learn(round, lessonPushback, 0); n != 10 {
			t.Fatalf("one round cut twice: %d", n)
		}
	}
	for range 10 {
		a.learn(time.Now(), lessonPushback, 0)
	}
	if a.limit != 2 {
		t.Fatalf("limit %d went below or never reached the floor 2", a.limit)
	}
	// Additive increase: one more slot per limit-many answers.
	for want := 3; want <= 6; want++ {
		for range want - 1 {
			a.learn(time.Now(), lessonAnswer, time.Millisecond)
		}
		if n, _ := a.learn(time.Now(), lessonAnswer, time.Millisecond); n != want {
			t.Fatalf("limit %d, want %d after %d answers", n, want, want-1)
		}
	}
	a.learn(time.Now(), lessonNone, time.Hour)
	if a.limit != 6 {
		t.Fatal("a transport error must teach nothing")
	}
}

func TestAIMDCutsWhenLatencyRisesNotOnNoise(t *testing.T) {
	a := newAIMD(1, 20)
	for range 100 {
		a.learn(time.Now(), lessonAnswer, 2*time.Millisecond)
		a.learn(time.Now(), lessonAnswer, 5*time.Millisecond) // 2.5x, but only 3 ms: noise
	}
	if a.limit != 20 {
		t.Fatalf("sub-millisecond jitter cut the limit to %d", a.limit)
	}
	round := time.Now()
	for range 10 {
		a.learn(round, lessonAnswer, 80*time.Millisecond)
	}
	if a.limit != 14 {
		t.Fatalf("latency rising 20x in one round: limit %d, want 20*0.7 = 14", a.limit)
	}
	if n, _ := a.learn(time.Now(), lessonAnswer, 80*time.Millisecond); n != 9 {
		t.Fatalf("latency still high in the next round: limit %d, want 14*0.7 = 9", n)
	}
}

// lapServer answers every request with a real (small) laptimes file in
// 2 ms, until it has served calm requests; from then on it is congested:
// each request in flight beyond four adds perExtra to the latency.
func lapServer(t *testing.T, calm int64, perExtra time.Duration) (*h2Server, *atomic.Int64) {
	body := corpus(t, "test/Australian Grand Prix/Qualifying/VER/laptimes.json")
	var inFlight, peak, served atomic.Int64
	srv := newH2Server(t, func(w http.ResponseWriter, r *http.Request) {
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		latency := 2 * time.Millisecond
		if served.Add(1) > calm {
			latency += time.Duration(max(n-4, 0)) * perExtra
		}
		time.Sleep(latency)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	})
	return srv, &peak
}

func lapTuples(t *testing.T, n int) []tuple.Tuple {
	ts := make([]tuple.Tuple, n)
	for i := range ts {
		ts[i] = mustTuple(t, 2025, gpAUS, quali, fmt.Sprintf("D%d/laptimes.json", i+1))
	}
	return ts
}

func TestAdaptiveLimitFollowsServerLatency(t *testing.T) {
	srv, _ := lapServer(t, 100, 10*time.Millisecond)
	s := fastSettings(srv.caFile, srv.URL)
	s.Adaptive, s.AdaptiveMin = true, 2
	c := newClient(t, s)
	var log observerLog
	defer c.Observe(&log)()
	for i, r := range c.FetchMany(context.Background(), lapTuples(t, 300)) {
		if r.Err != nil {
			t.Fatalf("tuple %d: %v", i, r.Err)
		}
	}
	seen := log.seen()
	if seen[0] != 20 {
		t.Fatalf("the first limit told must be max_concurrent_requests, got %v", seen)
	}
	// At least one multiplicative cut (20 -> 14) on latency alone; how far it
	// goes depends on how loaded the machine is, so the bound is loose.
	if low := log.lowest(); low > 14 || low < 2 {
		t.Fatalf("latency grew 10 ms per request beyond 4 in flight; the limit went to %d, want 2..14 (seen %v)", low, seen)
	}
}

// Answers and pushbacks learnt at once leave the limiter at the
// controller's limit: applied out of order, it kept an older one until the
// next change (a server that pushed back could get the old limit's traffic).
func TestConcurrentLessonsLeaveTheLimiterAtTheControllersLimit(t *testing.T) {
	srv := newH2Server(t, corpusHandler(t))
	s := fastSettings(srv.caFile, srv.URL)
	s.Adaptive, s.MaxConcurrent, s.AdaptiveMin = true, 64, 1
	c := newClient(t, s)
	for round := range 1000 {
		var wg sync.WaitGroup
		for g := range 16 {
			wg.Go(func() {
				for i := range 50 {
					if (g+i)%7 == 0 {
						c.learn(time.Now(), lessonPushback, 0)
					} else {
						c.learn(time.Now(), lessonAnswer, time.Millisecond)
					}
				}
			})
		}
		wg.Wait()
		if got, want := c.limit.size(), c.adapt.limit; got != want {
			t.Fatalf("round %d: the limiter's limit is %d, the controller's %d", round, got, want)
		}
	}
}

func TestFixedLimitIgnoresLatencyAndPushback(t *testing.T) {
	srv, peak := lapServer(t, 0, 10*time.Millisecond)
	c := newClient(t, fastSettings(srv.caFile, srv.URL))
	var log observerLog
	defer c.Observe(&log)()
	c.FetchMany(context.Background(), lapTuples(t, 60))
	if fmt.Sprint(log.seen()) != "[20]" || peak.Load() != 20 {
		t.Fatalf("without adaptive the limit stays 20: told %v, server peak %d", log.seen(), peak.Load())
	}
}

// retryAfterServer answers the first request 429 with Retry-After: 1 and
// records when the other requests arrive.
func retryAfterServer(t *testing.T) (srv *h2Server, refused <-chan time.Time, arrivals func() []time.Time) {
	serve := corpusHandler(t)
	first := make(chan time.Time, 1)
	var mu sync.Mutex
	var seen []time.Time
	var n atomic.Int64
	srv = newH2Server(t, func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
			first <- time.Now()
			return
		}
		mu.Lock()
		seen = append(seen, time.Now())
		mu.Unlock()
		serve(w, r)
	})
	return srv, first, func() []time.Time { mu.Lock(); defer mu.Unlock(); return append([]time.Time(nil), seen...) }
}

func TestAdaptiveRetryAfterPausesEveryRequestToTheSource(t *testing.T) {
	for _, adaptive := range []bool{false, true} {
		t.Run(fmt.Sprintf("adaptive=%v", adaptive), func(t *testing.T) {
			srv, refused, arrivals := retryAfterServer(t)
			s := fastSettings(srv.caFile, srv.URL)
			s.Adaptive = adaptive
			if adaptive {
				s.BreakerFailures = 1 // a paced 429 must not open the breaker
			}
			c := newClient(t, s)
			done := make(chan Result, 1)
			go func() {
				r, _ := c.FetchOne(context.Background(), mustTuple(t, 2025, gpAUS, quali, "VER/laptimes.json"))
				done <- r
			}()
			at := <-refused
			time.Sleep(100 * time.Millisecond) // the 429 reaches the client
			other, err := c.FetchOne(context.Background(), mustTuple(t, 2025, gpAUS, quali, "drivers.json"))
			first := <-done
			if err != nil || first.Err != nil {
				t.Fatalf("%v / %v", err, first.Err)
			}
			wait := arrivals()[0].Sub(at)
			switch {
			case !adaptive && wait > 500*time.Millisecond:
				t.Fatalf("control: with a fixed limit the other request should go at once, it went after %v", wait)
			case adaptive && wait < 900*time.Millisecond:
				t.Fatalf("the next request reached the source %v after a 429 with Retry-After: 1", wait)
			}
			if other.Attempts != 1 {
				t.Fatalf("the other request was sent %d times; waiting on a pause is not an attempt", other.Attempts)
			}
		})
	}
}
