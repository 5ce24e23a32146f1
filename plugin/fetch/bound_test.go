//go:build !race

package fetch

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/f1fetch/f1fetch/plugin/tuple"
)

// The performance target of the engine: 1000 requests of a 150 KB file with
// 50 ms of server latency and max_concurrent_requests 20 finish within 1.10x
// of the bound ceil(1000/20) * 50 ms. Run without -race (the race detector
// slows parsing tenfold); .ci/run runs it so.

const (
	boundRequests = 1000
	boundLatency  = 50 * time.Millisecond
	boundC        = 20
)

func boundFile(t testing.TB) []byte {
	// The median telemetry file of the corpus (152,318 bytes).
	return corpus(t, filepath.Join("test", gpAUS, quali, "VER", "17_tel.json"))
}

// runBound fetches boundRequests distinct tuples and returns the wall time.
func runBound(t testing.TB, body []byte) time.Duration {
	srv := newH2Server(t, func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(boundLatency)
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
	return el
}

func boundOf() time.Duration {
	return time.Duration((boundRequests+boundC-1)/boundC) * boundLatency
}

func TestThroughputWithinTenPercentOfTheBound(t *testing.T) {
	if testing.Short() {
		t.Skip("performance target: skipped with -short, run by .ci/run without -short")
	}
	body := boundFile(t)
	if len(body) < 150_000 {
		t.Fatalf("bound file is %d bytes, want about 150 KB", len(body))
	}
	// Best of three runs: the machine is shared and noisy; the bound is a floor.
	var runs []time.Duration
	for i := 0; i < 3; i++ {
		runs = append(runs, runBound(t, body))
		if float64(runs[i])/float64(boundOf()) <= 1.10 {
			break
		}
	}
	sort.Slice(runs, func(i, j int) bool { return runs[i] < runs[j] })
	ratio := float64(runs[0]) / float64(boundOf())
	t.Logf("1000 x %d B, 50 ms latency, C=20: best %v of %v, bound %v, ratio %.3f", len(body), runs[0], runs, boundOf(), ratio)
	if out := os.Getenv("F1FETCH_BOUND_REPORT"); out != "" {
		_ = os.WriteFile(out, []byte(fmt.Sprintf("%.3f %v %v\n", ratio, runs[0], boundOf())), 0o644)
	}
	if ratio > 1.10 {
		t.Fatalf("ratio to the bound %.3f > 1.10", ratio)
	}
}

func BenchmarkBound1000x150KB(b *testing.B) {
	body := boundFile(b)
	for b.Loop() {
		el := runBound(b, body)
		b.ReportMetric(float64(el)/float64(boundOf()), "x-bound")
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
