// Package reliability proves with figures that f1fetch loses nothing under
// faults: a flaky CDN, a restarting server, hostile input, a SIGTERM. Each
// scenario checks that every tuple ends as exactly one output, in order, and
// that no goroutine or connection outlives the client; it records its figures
// in a table, written to RESULTS.md when F1FETCH_WRITE_RESULTS=1.
package reliability

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/f1fetch/f1fetch/config"
	"github.com/f1fetch/f1fetch/plugin/fetch"
	"github.com/f1fetch/f1fetch/plugin/mirror"
	"github.com/f1fetch/f1fetch/plugin/mirror/mirrortest"
	"github.com/f1fetch/f1fetch/plugin/tuple"
)

// soak is how long TestSoak runs; the default keeps CI fast.
var soak = flag.Duration("soak", 0, "run TestSoak for this long (for example -soak=10m); 0 runs soakMinRounds short rounds")

// TestSoak runs at least soakMinRounds rounds and fails when the heap after
// GC grows by more than soakHeapGrowth from the first round to the last:
// keeping each round's documents (1 MiB a round) would pass that by round 10.
const (
	soakMinRounds  = 30
	soakHeapGrowth = 8 << 20
)

const (
	gpAUS = "Australian Grand Prix"
	quali = "Qualifying"
)

func TestMain(m *testing.M) {
	flag.Parse()
	code := m.Run()
	if os.Getenv("F1FETCH_WRITE_RESULTS") == "1" {
		if err := results.write("RESULTS.md"); err != nil {
			fmt.Fprintln(os.Stderr, "write RESULTS.md:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// row is one line of the results table: one fault or bad input tried.
type row struct {
	Scenario   string
	Happened   string // what the suite saw, in words
	Tuples     int
	Documents  int
	Flagged    int // outputs flagged with an error
	Lost       int // tuples without an output
	Duplicated int // tuples with more than one output
	Retries    int // attempts beyond the first, summed
	Requests   int64
	Wall       time.Duration
}

type table struct {
	mu   sync.Mutex
	rows []row
}

var results table

// record adds r to the table and logs it, so that `go test -v` shows the figures.
func record(t *testing.T, r row) {
	t.Helper()
	t.Logf("figures: tuples=%d documents=%d flagged=%d lost=%d duplicated=%d retries=%d requests=%d wall=%s: %s",
		r.Tuples, r.Documents, r.Flagged, r.Lost, r.Duplicated, r.Retries, r.Requests, r.Wall.Round(time.Millisecond), r.Happened)
	results.mu.Lock()
	defer results.mu.Unlock()
	results.rows = append(results.rows, r)
}

func (tb *table) write(path string) error {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	rows := tb.rows // in run order
	var b strings.Builder
	b.WriteString("# Reliability results\n\n")
	b.WriteString("Measured by `F1FETCH_WRITE_RESULTS=1 go test -race ./tests/reliability/` " +
		"against the in-process mirror serving ../shared/testdata (HTTP/2 over TLS and h2c). " +
		"Lost = tuples with no output; duplicated = tuples with more than one; " +
		"retries = attempts beyond the first; requests = file requests the mirror(s) saw.\n\n")
	b.WriteString("| fault or bad input | what happened | tuples | documents | flagged errors | lost | duplicated | retries | mirror requests | wall time |\n")
	b.WriteString("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "| %s | %s | %d | %d | %d | %d | %d | %d | %d | %s |\n",
			r.Scenario, strings.ReplaceAll(r.Happened, "|", `\|`), r.Tuples, r.Documents, r.Flagged, r.Lost, r.Duplicated,
			r.Retries, r.Requests, wall(r.Wall))
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}

func wall(d time.Duration) string {
	if d < time.Second {
		return fmt.Sprintf("%d ms", d.Milliseconds())
	}
	return fmt.Sprintf("%.2f s", d.Seconds())
}

// corpusTuples are real files of the 2025 Australian GP Qualifying (served
// from shared/testdata/test): the session files, every driver's laptimes
// and the smallest telemetry file of every other driver (about 1 MB in all,
// so that the race-enabled suite stays fast on a shared CI machine).
func corpusTuples(t testing.TB) []tuple.Tuple {
	t.Helper()
	dir := filepath.Join(mirrortest.SharedTestdata(t), "test", gpAUS, quali)
	out := []tuple.Tuple{mustTuple(t, "drivers.json"), mustTuple(t, "corners.json")}
	drivers, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for i, d := range drivers {
		if !d.IsDir() {
			continue
		}
		out = append(out, mustTuple(t, d.Name()+"/laptimes.json"))
		if i%2 == 1 {
			continue
		}
		files, err := os.ReadDir(filepath.Join(dir, d.Name()))
		if err != nil {
			t.Fatal(err)
		}
		type sized struct {
			name string
			size int64
		}
		var tel []sized
		for _, f := range files {
			if strings.HasSuffix(f.Name(), "_tel.json") {
				info, err := f.Info()
				if err != nil {
					t.Fatal(err)
				}
				tel = append(tel, sized{f.Name(), info.Size()})
			}
		}
		sort.Slice(tel, func(i, j int) bool {
			return tel[i].size < tel[j].size || tel[i].size == tel[j].size && tel[i].name < tel[j].name
		})
		for _, f := range tel[:min(1, len(tel))] {
			out = append(out, mustTuple(t, d.Name()+"/"+f.name))
		}
	}
	if len(out) < 30 {
		t.Fatalf("corpus: only %d tuples found under %s", len(out), dir)
	}
	return out
}

func mustTuple(t testing.TB, path string) tuple.Tuple {
	t.Helper()
	tp, err := tuple.New(2025, gpAUS, quali, path)
	if err != nil {
		t.Fatal(err)
	}
	return tp
}

// settings are the defaults pointed at bases with millisecond backoffs and
// the cache off, so that every attempt is a request the mirror counts.
func settings(caFile string, bases ...string) config.Settings {
	s := config.Defaults()
	s.BaseURLs = bases
	s.TLSRootCAsFile = caFile
	s.BackoffFactor = 0.01 // 10 ms, then 0.1 ms, ...
	s.JitterMax = time.Millisecond
	s.MaxDelay = time.Second
	s.Timeout = 15 * time.Second // generous: CI machines are slow under -race
	s.UseCache, s.WriteCache = false, false
	return s
}

// startMirror serves the shared corpus; tls picks HTTP/2 over TLS, else h2c.
func startMirror(t testing.TB, tls bool, faults mirror.Faults) *mirrortest.Mirror {
	t.Helper()
	cfg := mirrortest.SharedConfig(t)
	cfg.TLS = tls
	cfg.Seed = 20250316
	cfg.Faults = faults
	return mirrortest.Start(t, cfg)
}

// outcome sums FetchMany results against the tuples asked for.
type outcome struct {
	docs, flagged, lost, dup, retries, maxAttempts int
	kinds                                          map[string]int
}

// check asserts one result per tuple, in order, each a document or a typed
// error, and returns the figures.
func check(t *testing.T, ts []tuple.Tuple, rs []fetch.Result) outcome {
	t.Helper()
	o := outcome{kinds: map[string]int{}}
	if len(rs) != len(ts) {
		t.Errorf("%d results for %d tuples", len(rs), len(ts))
	}
	seen := map[tuple.Tuple]int{}
	for i, r := range rs {
		seen[r.Tuple]++
		if i < len(ts) && r.Tuple != ts[i] {
			t.Errorf("result %d is %s, want %s (order lost)", i, r.Tuple, ts[i])
		}
		o.retries += max(r.Attempts-1, 0)
		o.maxAttempts = max(o.maxAttempts, r.Attempts)
		switch {
		case r.Err == nil && len(r.Doc) > 0:
			o.docs++
		case r.Err != nil && r.Doc == nil:
			o.flagged++
			o.kinds[fetch.ErrorKind(r.Err)]++
		default:
			t.Errorf("result %d (%s): doc %d bytes with err %v", i, r.Tuple, len(r.Doc), r.Err)
		}
	}
	for _, tp := range ts {
		switch seen[tp] {
		case 0:
			o.lost++
		case 1:
		default:
			o.dup++
		}
	}
	if o.lost != 0 || o.dup != 0 {
		t.Errorf("lost %d, duplicated %d", o.lost, o.dup)
	}
	return o
}

// fetchAndCheck fetches ts with a minute's deadline and checks the results
// (see check); wall is how long the fetch took.
func fetchAndCheck(t *testing.T, c *fetch.Client, ts []tuple.Tuple) (rs []fetch.Result, o outcome, wall time.Duration) {
	t.Helper()
	start := time.Now()
	rs = c.FetchMany(ctxFor(t, time.Minute), ts)
	wall = time.Since(start)
	return rs, check(t, ts, rs), wall
}

// leakCheck remembers the goroutine count now and, at cleanup (after the
// mirrors and clients registered later are closed), waits for it to come back.
//
// Two kinds are not counted: go-resiliency's breaker sleeps breaker_timeout
// in a goroutine after it opens and has no way to stop it (it ends by
// itself), and go-metrics (under Benthos) starts one process-wide meter
// ticker on first use that lives as long as the process.
func leakCheck(t *testing.T) {
	t.Helper()
	before, _ := goroutines()
	t.Cleanup(func() {
		deadline := time.Now().Add(5 * time.Second)
		for {
			n, stacks := goroutines()
			if n <= before {
				return
			}
			if time.Now().After(deadline) {
				t.Errorf("goroutine leak: %d goroutines, %d before the scenario\n%s", n, before, stacks)
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
}

// goroutines counts the live goroutines but the breakers' timers.
func goroutines() (int, string) {
	buf := make([]byte, 4<<20)
	buf = buf[:runtime.Stack(buf, true)]
	n := 0
	var kept []string
	for g := range strings.SplitSeq(string(buf), "\n\n") {
		if strings.Contains(g, "go-resiliency/breaker.(*Breaker).timer") || strings.Contains(g, "go-metrics.(*meterArbiter).tick") {
			continue
		}
		n++
		kept = append(kept, g)
	}
	return n, strings.Join(kept, "\n\n")
}

// closeClient closes c while the mirrors still run and waits until no
// connection to their ports is left established.
func closeClient(t *testing.T, c *fetch.Client, ports ...int) {
	t.Helper()
	_ = c.Close()
	deadline := time.Now().Add(5 * time.Second)
	for {
		n := establishedTo(t, ports...)
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("connection leak: %d connections to ports %v still established after Close", n, ports)
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// establishedTo counts the client sockets of this machine established to
// any of ports (Linux /proc/net/tcp{,6}).
func establishedTo(t testing.TB, ports ...int) int {
	t.Helper()
	want := map[int]bool{}
	for _, p := range ports {
		want[p] = true
	}
	n := 0
	for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		file, err := os.Open(f)
		if errors.Is(err, os.ErrNotExist) && f == "/proc/net/tcp6" {
			continue
		}
		if err != nil {
			t.Fatalf("count connections: %v (the connection leak check reads /proc/net/tcp)", err)
		}
		sc := bufio.NewScanner(file)
		sc.Scan() // header
		for sc.Scan() {
			fields := strings.Fields(sc.Text())
			if len(fields) < 4 || fields[3] != "01" { // 01: ESTABLISHED
				continue
			}
			_, port, _ := strings.Cut(fields[2], ":") // rem_address
			if p, err := strconv.ParseInt(port, 16, 32); err == nil && want[int(p)] {
				n++
			}
		}
		file.Close()
	}
	return n
}

// port is the TCP port of a running mirror.
func port(t testing.TB, m *mirrortest.Mirror) int {
	t.Helper()
	_, p, ok := strings.Cut(m.Addr.String(), "127.0.0.1:")
	n, err := strconv.Atoi(p)
	if !ok || err != nil {
		t.Fatalf("mirror address %s", m.Addr)
	}
	return n
}

// heapWatch samples the live heap while a run lasts and returns the peak
// growth over the start.
func heapWatch() (stop func() uint64) {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapAlloc
	var peak uint64
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			if ms.HeapAlloc > base {
				peak = max(peak, ms.HeapAlloc-base)
			}
			select {
			case <-tick.C:
			case <-done:
				return
			}
		}
	}()
	return func() uint64 { close(done); <-finished; return peak }
}

func newClient(t testing.TB, s config.Settings) *fetch.Client {
	t.Helper()
	c, err := fetch.New(s, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func ctxFor(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func docBytes(rs []fetch.Result) int {
	n := 0
	for _, r := range rs {
		n += len(r.Doc)
	}
	return n
}
