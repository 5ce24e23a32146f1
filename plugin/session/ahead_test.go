package session

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/f1fetch/f1fetch/config"
	"github.com/f1fetch/f1fetch/plugin/fetch"
	"github.com/f1fetch/f1fetch/plugin/mirror"
	"github.com/f1fetch/f1fetch/plugin/mirror/mirrortest"
	"github.com/f1fetch/f1fetch/plugin/tuple"
)

// slowClient is a client of a mirror answering every file after latency,
// with no cache (every plan makes its round trips), no retries, and a
// breaker that the failures of rules never open.
func slowClient(t *testing.T, latency time.Duration, rules ...mirror.Rule) *fetch.Client {
	m := mirrortest.Start(t, mirrortest.SharedConfig(t))
	m.SetFaults(mirror.Faults{Rules: append(rules, mirror.Rule{LatencyMS: float64(latency.Milliseconds())})})
	s := config.Defaults()
	s.BaseURLs, s.MaxRetries, s.UseCache, s.WriteCache = []string{m.URL}, 0, false, false
	s.BreakerFailures = 1 << 20
	c, err := fetch.New(s, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// expandLike plans r as f1_expand does: emit only records the tuple, and
// its wait is a synchronous fetch through the client (as is read). With
// oneAtATime the fetches take turns, as when the planner read the laptimes
// one by one: the reference the plan read ahead must equal, and be faster
// than. It returns the plan's wall time, its tuples in order and the
// failures.
func expandLike(t *testing.T, c *fetch.Client, r Request, oneAtATime bool) (time.Duration, []string, []string) {
	var mu, turn sync.Mutex
	var paths, fails []string
	fetchOne := func(ctx context.Context, tp tuple.Tuple) fetch.Result {
		if oneAtATime {
			turn.Lock()
			defer turn.Unlock()
		}
		res, _ := c.FetchOne(ctx, tp)
		return res
	}
	emit := func(tp tuple.Tuple, probe bool) (func() fetch.Result, error) {
		mu.Lock()
		paths = append(paths, tp.Path)
		mu.Unlock()
		return func() fetch.Result { return fetchOne(context.Background(), tp) }, nil
	}
	read := fetchOne
	fail := func(res fetch.Result, carried bool) error {
		fails = append(fails, fmt.Sprintf("%s carried=%v attempts=%d: %v", res.Tuple.Path, carried, res.Attempts, res.Err))
		return nil
	}
	began := time.Now()
	if err := Plan(context.Background(), r, emit, read, fail); err != nil {
		t.Fatal(err)
	}
	return time.Since(began), paths, fails
}

// The laptimes of 20 drivers are read at once: with 50 ms a round trip, a
// laps: fastest plan (drivers.json, then 20 laptimes.json) takes about two
// round trips rather than 21. Run with -v for the figures.
func TestPlanReadsLaptimesAhead(t *testing.T) {
	const latency = 50 * time.Millisecond
	c := slowClient(t, latency)
	// Sequential reads take at least 21 round trips (the mirror sleeps
	// latency before each answer: 1.05 s); read ahead, about 2 (110 to 340
	// ms measured under -race with both cores of a 2-core machine busy).
	// The bound, 14, leaves a one-by-one planner no way through and an
	// overlapping one twice the worst seen.
	const bound = 14 * latency
	for _, laptimes := range []bool{true, false} {
		r := Request{Year: 2025, GP: gp, Session: quali, Laptimes: laptimes, Telemetry: true, Laps: Laps{Mode: "fastest"}}
		before, seqPaths, _ := expandLike(t, c, r, true)
		after, paths, _ := expandLike(t, c, r, false)
		t.Logf("laps: fastest, laptimes: %v, 20 drivers, %v a round trip: sequential %v, read ahead %v, %.1fx faster",
			laptimes, latency, before.Round(time.Millisecond), after.Round(time.Millisecond), float64(before)/float64(after))
		if !slices.Equal(paths, seqPaths) {
			t.Fatalf("laptimes %v: the plan read ahead differs:\n%v\nsequential:\n%v", laptimes, paths, seqPaths)
		}
		if after >= bound {
			t.Errorf("laptimes %v: the plan took %v, want under %v: are the laptimes read one by one again?", laptimes, after, bound)
		}
	}
}

// Reading ahead changes neither the plan nor its failures: the same
// tuples in the same order, the same failures in the same order (a 500, a
// 404, a document that is not JSON, a probe's 503).
func TestPlanAheadPlansAsSequential(t *testing.T) {
	pfx := "/2025@main/" + gp + "/" + quali + "/"
	hamProbe := fmt.Sprintf("HAM/%d_tel.json", telemetryOnDisk(t, "HAM")+1) // a probe under laps: all
	c := slowClient(t, time.Millisecond,
		mirror.Rule{PathPrefix: pfx + "VER/laptimes.json", StatusRate: map[int]float64{500: 1}},
		mirror.Rule{PathPrefix: pfx + "NOR/laptimes.json", StatusRate: map[int]float64{404: 1}},
		mirror.Rule{PathPrefix: pfx + "LEC/laptimes.json", CorruptRate: 1},
		mirror.Rule{PathPrefix: pfx + hamProbe, StatusRate: map[int]float64{503: 1}},
	)
	for _, mode := range []string{"all", "fastest"} {
		for _, laptimes := range []bool{true, false} {
			r := Request{Year: 2025, GP: gp, Session: quali, Files: []string{"corners.json"}, Laptimes: laptimes, Telemetry: true, Laps: Laps{Mode: mode}}
			_, seqPaths, seqFails := expandLike(t, c, r, true)
			_, paths, fails := expandLike(t, c, r, false)
			if !slices.Equal(paths, seqPaths) {
				t.Errorf("laps %s, laptimes %v: plan\n%v\nsequential\n%v", mode, laptimes, paths, seqPaths)
			}
			if !slices.Equal(fails, seqFails) || len(fails) < 2 {
				t.Errorf("laps %s, laptimes %v: failures\n%q\nsequential\n%q", mode, laptimes, fails, seqFails)
			}
		}
	}
}

var twenty = strings.Fields("ALB ALO ANT BEA BOR DOO GAS HAD HAM HUL LAW LEC NOR OCO PIA RUS SAI STR TSU VER")

// eventually waits up to 10 s for cond.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("after 10 s: %s", what)
		}
	}
}

// A plan that ends early leaves no read it started behind: the read-only
// ones are ended with the plan's return, the emitted ones end with their
// fetch, and Plan waits for neither.
func TestPlanEndedEarlyLeavesNoReadBehind(t *testing.T) {
	failed := errors.New("500")
	first := func(tp tuple.Tuple) bool { return tp.Path == twenty[0]+"/laptimes.json" }
	r := Request{Year: 2025, GP: gp, Session: quali, Files: []string{}, Drivers: twenty, Telemetry: true, Laps: Laps{Mode: "fastest"}}

	t.Run("read only, fail ends the plan", func(t *testing.T) {
		var ended atomic.Int32
		read := func(ctx context.Context, tp tuple.Tuple) fetch.Result {
			defer ended.Add(1)
			if first(tp) {
				return fetch.Result{Tuple: tp, Err: failed}
			}
			<-ctx.Done() // a fetch that only its context ends
			return fetch.Result{Tuple: tp, Err: ctx.Err()}
		}
		emit := func(tuple.Tuple, bool) (func() fetch.Result, error) { return nil, errors.New("nothing to emit") }
		fail := func(res fetch.Result, _ bool) error { return res.Err }
		if err := Plan(context.Background(), r, emit, read, fail); !errors.Is(err, failed) {
			t.Fatalf("plan ended with %v, want fail's error", err)
		}
		eventually(t, "every laptimes read started and ended", func() bool { return ended.Load() == int32(len(twenty)) })
	})

	t.Run("read only, ctx cancelled", func(t *testing.T) {
		var started, ended atomic.Int32
		read := func(ctx context.Context, tp tuple.Tuple) fetch.Result {
			started.Add(1)
			defer ended.Add(1)
			<-ctx.Done()
			return fetch.Result{Tuple: tp, Err: ctx.Err()}
		}
		ctx, cancel := context.WithCancel(context.Background())
		go func() {
			// Every laptimes read is started before the first is waited for.
			for deadline := time.Now().Add(10 * time.Second); started.Load() < int32(len(twenty)) && time.Now().Before(deadline); {
				time.Sleep(time.Millisecond)
			}
			cancel()
		}()
		fail := func(res fetch.Result, _ bool) error { return res.Err }
		if err := Plan(ctx, r, nil, read, fail); !errors.Is(err, context.Canceled) {
			t.Fatalf("plan ended with %v, want the context's error", err)
		}
		if s := started.Load(); s != int32(len(twenty)) {
			t.Fatalf("%d laptimes read at once, want %d", s, len(twenty))
		}
		eventually(t, "every laptimes read ended", func() bool { return ended.Load() == int32(len(twenty)) })
	})

	emitted := r
	emitted.Laptimes = true
	for _, c := range []struct {
		name    string
		emitErr int // the emit that fails, -1 none
	}{{"emitted, fail ends the plan", -1}, {"emitted, an emit's error ends the plan", 10}} {
		t.Run(c.name, func(t *testing.T) {
			release := make(chan struct{})
			var emits, waits, ended atomic.Int32
			emit := func(tp tuple.Tuple, _ bool) (func() fetch.Result, error) {
				if int(emits.Add(1))-1 == c.emitErr {
					return nil, failed
				}
				return func() fetch.Result {
					waits.Add(1)
					defer ended.Add(1)
					if first(tp) {
						return fetch.Result{Tuple: tp, Err: failed}
					}
					<-release // a fetch the planner cannot end
					return fetch.Result{Tuple: tp}
				}, nil
			}
			fail := func(res fetch.Result, _ bool) error { return res.Err }
			want := c.emitErr
			if want < 0 {
				want = len(twenty)
			}
			done := make(chan error, 1)
			go func() { done <- Plan(context.Background(), emitted, emit, nil, fail) }()
			select {
			case err := <-done:
				if !errors.Is(err, failed) {
					t.Fatalf("plan ended with %v", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("Plan waits for the laptimes it no longer needs")
			}
			eventually(t, "the emitted laptimes waited for at once", func() bool { return waits.Load() == int32(want) })
			if e := ended.Load(); e != 1 {
				t.Fatalf("%d waits ended before their fetch", e)
			}
			close(release)
			eventually(t, "every wait ended with its fetch", func() bool { return ended.Load() == int32(want) })
		})
	}
}
