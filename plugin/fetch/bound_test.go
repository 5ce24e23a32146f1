//go:build !race

package fetch

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/f1fetch/f1fetch/plugin/tuple"
)

// The performance target of the engine: 1000 requests of a 150 KB file with
// 50 ms of server latency and max_concurrent_requests 20, against the bound
// ceil(1000/20) * 50 ms. The issue asks for 1.10x; on this project's 2-core
// machines, with the TLS server in the same process, the engine measures
// 1.09x to 1.13x, and the harness alone (1 KB bodies: the server's sleep
// overshoot, the round trip, scheduling) 1.03x to 1.06x. The test reports
// these, and the ratios against the bound of the latency the server really
// waited, and fails only past maxBoundRatio, a guard against regressions.
// The target itself is measured by the benchmark, with the server in a
// process of its own (bench/run.sh -modes 0,50 -requests-near 150 -only
// f1fetch-lib,h2load,h2load-identity); README.md gives both. Run without
// -race (the race detector slows parsing tenfold); .ci/run runs it so.

const (
	// A regression guard, not the target (see above). The host is shared:
	// in a noisy hour the best of three reached 1.28 with the harness floor
	// at 1.065, and the same build 1.10 minutes later. A regression of the
	// kind this guards against (requests no longer overlapping, parsing
	// serialised) costs far more than that.
	maxBoundRatio = 1.40
	boundRequests = 1000
	boundLatency  = 50 * time.Millisecond
	boundC        = 20
)

func boundFile(t testing.TB) []byte {
	// The median telemetry file of the corpus (152,318 bytes).
	return corpus(t, filepath.Join("test", gpAUS, quali, "VER", "17_tel.json"))
}

// boundRun is one run of the bound harness: the wall time, and the mean
// latency the server really waited (time.Sleep overshoots by about a
// millisecond: Go's timers wake through epoll with millisecond resolution).
type boundRun struct {
	wall, latency time.Duration
}

// runBound fetches boundRequests distinct tuples from a server answering
// body after boundLatency.
func runBound(t testing.TB, body []byte) boundRun {
	var slept atomic.Int64
	srv := newH2Server(t, func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		time.Sleep(boundLatency)
		slept.Add(int64(time.Since(start)))
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		_, _ = w.Write(body)
	})
	s := fastSettings(srv.caFile, srv.URL)
	s.MaxConcurrent = boundC
	s.UseCache, s.WriteCache = false, false
	c, err := New(s, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ts := make([]tuple.Tuple, boundRequests)
	for i := range ts {
		ts[i] = mustTuple(t, 2025, gpAUS, quali, fmt.Sprintf("VER/%d_tel.json", i+1))
	}
	start := time.Now()
	res := c.FetchMany(context.Background(), ts)
	el := time.Since(start)
	for _, r := range res {
		if r.Err != nil {
			t.Fatal(r.Err)
		}
	}
	if srv.requests.Load() != boundRequests {
		t.Fatalf("server saw %d requests", srv.requests.Load())
	}
	return boundRun{wall: el, latency: time.Duration(slept.Load() / boundRequests)}
}

// boundOf is ceil(N/C) rounds of the given latency.
func boundOf(latency time.Duration) time.Duration {
	return time.Duration((boundRequests+boundC-1)/boundC) * latency
}

func TestThroughputNearTheBound(t *testing.T) {
	body := boundFile(t)
	if len(body) < 150_000 {
		t.Fatalf("bound file is %d bytes, want about 150 KB", len(body))
	}
	best := func(b []byte) (boundRun, []time.Duration) {
		// Best of three: the machine is shared and noisy, and the bound is a floor.
		var runs []boundRun
		for range 3 {
			runs = append(runs, runBound(t, b))
		}
		sort.Slice(runs, func(i, j int) bool { return runs[i].wall < runs[j].wall })
		walls := make([]time.Duration, len(runs))
		for i, r := range runs {
			walls[i] = r.wall
		}
		return runs[0], walls
	}
	floor, _ := best(tinyJSON)
	run, walls := best(body)
	ratio := float64(run.wall) / float64(boundOf(boundLatency))
	t.Logf("1000 x %d B, 50 ms latency, C=20: best %v of %v, bound %v: ratio %.3f (harness floor with %d B bodies: %.3f)",
		len(body), run.wall, walls, boundOf(boundLatency), ratio, len(tinyJSON), float64(floor.wall)/float64(boundOf(boundLatency)))
	t.Logf("the server's realised latency was %v: against ceil(1000/20) x that, ratio %.3f (harness floor %.3f)",
		run.latency.Round(time.Microsecond), float64(run.wall)/float64(boundOf(run.latency)), float64(floor.wall)/float64(boundOf(floor.latency)))
	if ratio > maxBoundRatio {
		t.Fatalf("ratio to the bound %.3f > %.2f: a regression", ratio, maxBoundRatio)
	}
}

// tinyJSON is a valid telemetry document of about 1 KB, for the harness floor.
var tinyJSON = []byte(`{"tel": {"time": [0.0, 0.1, 0.2], "speed": [100.5, 101.25, 102.0], "distance": [0.0, 2.8, 5.6], "note": "` +
	strings.Repeat("x", 900) + `"}}`)

func BenchmarkBound1000x150KB(b *testing.B) {
	body := boundFile(b)
	for b.Loop() {
		run := runBound(b, body)
		b.ReportMetric(float64(run.wall)/float64(boundOf(boundLatency)), "x-bound")
	}
}

func BenchmarkFetchOneCacheHit(b *testing.B) {
	srv := newH2Server(b, corpusHandler(b))
	c := newClient(b, fastSettings(srv.caFile, srv.URL))
	tp := mustTuple(b, 2025, gpAUS, quali, "VER/2_tel.json")
	if _, err := c.FetchOne(context.Background(), tp); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		res, _ := c.FetchOne(context.Background(), tp)
		if res.Cache != CacheHit {
			b.Fatal("not a hit")
		}
	}
}
