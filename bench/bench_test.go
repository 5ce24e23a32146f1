package main

import (
	"context"
	"fmt"
	"image/png"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/f1fetch/f1fetch/plugin/mirror"
	"github.com/f1fetch/f1fetch/plugin/mirror/mirrortest"
	"github.com/f1fetch/f1fetch/plugin/tuple"
)

func testdata(tb testing.TB) string {
	tb.Helper()
	dir, err := os.Getwd()
	if err != nil {
		tb.Fatal(err)
	}
	for ; ; dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, "..", "shared", "testdata")
		}
		if dir == filepath.Dir(dir) {
			tb.Fatal("no go.mod above the working directory")
		}
	}
}

// defaultWorkloads reads the real session and builds the bench's default
// workloads (1000 requests over every telemetry file, C = 20).
func defaultWorkloads(tb testing.TB) (sessionFiles, []workload) {
	tb.Helper()
	sf, err := readSession(testdata(tb))
	if err != nil {
		tb.Fatal(err)
	}
	loads, err := sf.workloads(1000, 0, 20)
	if err != nil {
		tb.Fatal(err)
	}
	return sf, loads
}

func TestModesAndBound(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"0": 0, "50": 50 * time.Millisecond, "20j10": 25 * time.Millisecond,
		"ln50s0.5": 56657422, // 50 ms x exp(0.125)
	} {
		md, err := parseMode(in)
		if err != nil {
			t.Fatalf("parseMode(%q): %v", in, err)
		}
		if got := md.mean(); got < want-time.Microsecond || got > want+time.Microsecond {
			t.Errorf("parseMode(%q).mean() = %v, want %v", in, got, want)
		}
	}
	for _, bad := range []string{"", "fast", "-5", "ln50"} {
		if _, err := parseMode(bad); err == nil {
			t.Errorf("parseMode(%q): no error", bad)
		}
	}
	if got := bound(1000, 20, 50*time.Millisecond, 100*time.Millisecond); got != 2600*time.Millisecond {
		t.Errorf("bound(1000, 20, 50ms, 100ms) = %v, want 2.6s", got)
	}
	if got := bound(21, 20, 10*time.Millisecond, 0); got != 20*time.Millisecond {
		t.Errorf("bound(21, 20, 10ms, 0) = %v, want 20ms", got)
	}
}

// TestSlowestOf checks the expected slowest of k delays: the mean for one
// request, the closed form for uniform jitter, and for the lognormal mode
// the average over many simulated batches of the mirror's draws.
func TestSlowestOf(t *testing.T) {
	within := func(got, want time.Duration, rel float64) bool {
		return math.Abs(float64(got-want)) <= rel*float64(want)+float64(10*time.Microsecond)
	}
	for _, in := range []string{"0", "50", "20j10", "ln50s0.5"} {
		md, _ := parseMode(in)
		if got := md.slowestOf(1); !within(got, md.mean(), 1e-4) {
			t.Errorf("%s: slowest of 1 = %v, want the mean %v", in, got, md.mean())
		}
	}
	jit, _ := parseMode("20j10")
	want := 29523809 * time.Nanosecond // 20 ms + 10 ms x 20/21
	if got := jit.slowestOf(20); !within(got, want, 1e-6) {
		t.Errorf("20j10: slowest of 20 = %v, want %v", got, want)
	}
	ln, _ := parseMode("ln50s0.5")
	rng := rand.New(rand.NewPCG(1, 2))
	const batches = 100000
	sum := 0.0
	for range batches {
		slowest := 0.0
		for range 20 {
			slowest = max(slowest, ln.lnMedianMS*math.Exp(ln.lnSigma*rng.NormFloat64()))
		}
		sum += slowest
	}
	simulated := time.Duration(sum / batches * float64(time.Millisecond))
	if got := ln.slowestOf(20); !within(got, simulated, 0.005) {
		t.Errorf("ln50s0.5: slowest of 20 = %v, simulated %v", got, simulated)
	}
}

func TestWorkloadsAreTheRealSession(t *testing.T) {
	sf, loads := defaultWorkloads(t)
	want := map[string]int{"one_file": 1, "laptimes_20": 20, "session_tel_297": 297, "requests_1000": 1000}
	for _, w := range loads {
		if want[w.Name] != len(w.Tuples) {
			t.Errorf("workload %s: %d tuples, want %d", w.Name, len(w.Tuples), want[w.Name])
		}
	}
	if first := loads[2].Tuples[0].Path; first != "ALB/1_tel.json" {
		t.Errorf("session telemetry starts with %s, want ALB/1_tel.json", first)
	}

	// -requests-near 150: files of 120-180 KB only, enough distinct ones
	// that no file is in progress twice (which the engine would coalesce).
	near, err := sf.workloads(1000, 150, 20)
	if err != nil {
		t.Fatal(err)
	}
	w := near[3]
	distinct := map[string]bool{}
	for _, tp := range w.Tuples {
		if kb := sf.size[tp.Path] / 1000; kb < 120 || kb > 180 {
			t.Errorf("%s is %d KB, outside 150 KB +-20%%", tp.Path, kb)
		}
		distinct[tp.Path] = true
	}
	if w.Name != "requests_1000_near150KB" || len(w.Tuples) != 1000 || len(distinct) <= 100 {
		t.Errorf("near-150 KB workload %s: %d tuples over %d files, want 1000 over more than 100", w.Name, len(w.Tuples), len(distinct))
	}
	if _, err := sf.workloads(1000, 5000, 20); err == nil || !strings.Contains(err.Error(), "-requests-near 5000") {
		t.Errorf("no telemetry file near 5 MB: error %v, want one naming -requests-near", err)
	}
}

func TestChartIsAPNG(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.png")
	rows := []measurement{
		{Mode: "0ms", Workload: "w", Contender: "f1fetch-input", WallNS: int64(time.Second)},
		{Mode: "0ms", Workload: "w", Contender: "h2load", WallNS: int64(time.Second / 4)},
	}
	if err := writeChart(path, "w", 20, rows); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() < 400 || b.Dy() < 100 {
		t.Errorf("chart is %v, too small to read", b)
	}
}

// BenchmarkFetchMany is the engine as a library on an in-process mirror,
// cold (no cache), for benchstat between commits:
//
//	go test -run '^$' -bench FetchMany -benchmem -count 6 ./bench > new.txt
func BenchmarkFetchMany(b *testing.B) {
	_, loads := defaultWorkloads(b)
	for _, lat := range []string{"0", "20"} {
		md, _ := parseMode(lat)
		m := mirrortest.Start(b, mirror.Config{Root: testdata(b), Aliases: map[string]string{"2025": "test"}, Faults: md.faults()})
		for _, w := range loads[1:3] {
			b.Run("mode="+md.name+"/workload="+w.Name, func(b *testing.B) {
				c, err := libClient(m.URL, 20, false)
				if err != nil {
					b.Fatal(err)
				}
				defer c.Close()
				b.SetBytes(w.Bytes)
				b.ReportAllocs()
				for b.Loop() {
					for i, r := range c.FetchMany(context.Background(), w.Tuples) {
						if r.Err != nil {
							b.Fatalf("%s: %v", w.Tuples[i], r.Err)
						}
					}
				}
				b.ReportMetric(float64(len(w.Tuples))*float64(b.N)/b.Elapsed().Seconds(), "req/s")
			})
		}
	}
}

// TestRerunPassesInOneProcess runs both one-process warm-cache reruns with
// the real binary on an in-process mirror: the first pass must miss and the
// others hit (rerunPasses checks each document's f1_cache), and each pass is
// timed from the stamps.
func TestRerunPassesInOneProcess(t *testing.T) {
	if _, err := os.Stat("/usr/bin/time"); err != nil {
		t.Fatal("the bench measures with /usr/bin/time -v (Debian package time): ", err)
	}
	bin := filepath.Join(t.TempDir(), "f1fetch")
	build := exec.Command("go", "build", "-o", bin, "../cmd/f1fetch")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	_, loads := defaultWorkloads(t)
	m := mirrortest.Start(t, mirror.Config{Root: testdata(t), Aliases: map[string]string{"2025": "test"}})
	scratch := t.TempDir()
	j, err := newJob(options{bin: bin, concurrency: 20}, "", scratch, m.URL, loads[1]) // laptimes_20
	if err != nil {
		t.Fatal(err)
	}
	for _, shape := range []string{rerunInputs, rerunProcessor} {
		cold, warm, err := rerunPasses(context.Background(), j, shape, filepath.Join(scratch, "cache-"+shape))
		if err != nil {
			t.Fatal(err)
		}
		if cold.OK != 20 || warm.OK != 20 {
			t.Errorf("%s ok documents: cold %d, warm %d, want 20 each", shape, cold.OK, warm.OK)
		}
		if cold.WallNS <= 0 || warm.WallNS <= 0 {
			t.Errorf("%s pass times: cold %v, warm %v, want both positive", shape, cold.wall(), warm.wall())
		}
		t.Logf("%s, laptimes_20 at 0 ms: cold pass %v, warm pass %v", shape, cold.wall(), warm.wall())
	}
	if _, _, err := rerunPasses(context.Background(), j, "rerun-twice", filepath.Join(scratch, "cache-x")); err == nil {
		t.Error("rerunPasses accepted an unknown shape")
	}
}

// TestH2loadShareTakesTheMedianOfPairedRounds: each round's h2load-identity
// run is paired with the same round's contender (round 1 from the main
// table, the input by its time from start), and the median is the target's.
func TestH2loadShareTakesTheMedianOfPairedRounds(t *testing.T) {
	ms := int64(time.Millisecond)
	r := &report{rows: []measurement{
		{Mode: "0ms", Workload: "w", Contender: "h2load-identity", WallNS: 300 * ms},
		{Mode: "0ms", Workload: "w", Contender: "f1fetch-input", WallNS: 900 * ms, SpanNS: 600 * ms},
	}}
	for k, walls := range map[int][2]int64{2: {270, 600}, 3: {400, 500}, 4: {360, 600}} { // h2load, from start
		r.rounds = append(r.rounds,
			measurement{Mode: "0ms", Workload: "w", Contender: "h2load-identity", WallNS: walls[0] * ms, Round: k},
			measurement{Mode: "0ms", Workload: "w", Contender: "f1fetch-input", WallNS: 2 * walls[1] * ms, SpanNS: walls[1] * ms, Round: k})
	}
	median, shares := r.h2loadShare("0ms", "w", "f1fetch-input")
	want := []float64{0.5, 0.45, 0.8, 0.6}
	if len(shares) != len(want) {
		t.Fatalf("shares %v, want %v", shares, want)
	}
	for i := range want {
		if d := shares[i] - want[i]; d > 1e-9 || d < -1e-9 {
			t.Errorf("round %d share %.3f, want %.3f", i+1, shares[i], want[i])
		}
	}
	if median != 0.6 || percents(shares) != "50%, 45%, 80%, 60%" {
		t.Errorf("median %.2f (%s), want 0.60 (50%%, 45%%, 80%%, 60%%)", median, percents(shares))
	}
	if _, none := r.h2loadShare("0ms", "w", "f1fetch-lib"); none != nil {
		t.Errorf("a contender with no rounds has shares %v", none)
	}
}

// TestMedianExtraKeepsTheMiddleRunAndPrintsEvery: of the warm processes the
// one with the median time from start stands in the tables, its note lists
// them all in run order, and each is a benchmark line (a benchstat sample).
func TestMedianExtraKeepsTheMiddleRunAndPrintsEvery(t *testing.T) {
	ms := int64(time.Millisecond)
	var out strings.Builder
	r := &report{out: &out}
	runs := []measurement{{SpanNS: 61 * ms, WallNS: 150 * ms}, {SpanNS: 44 * ms, WallNS: 140 * ms}, {SpanNS: 52 * ms, WallNS: 170 * ms, Note: "n"}}
	j := job{w: workload{Name: "w", Tuples: make([]tuple.Tuple, 3), Bytes: 9}}
	r.addMedianExtra(mode{name: "50ms"}, j, "warm", runs, "warm processes")
	if len(r.extra) != 1 {
		t.Fatalf("%d extras, want the median run alone", len(r.extra))
	}
	m := r.extra[0]
	if m.SpanNS != 52*ms || m.WallNS != 170*ms || m.Contender != "warm" || m.N != 3 || m.Bytes != 9 {
		t.Errorf("kept %+v, want the 52 ms run named warm, 3 documents of 9 bytes", m)
	}
	if want := "n; median of 3 warm processes: 61ms 44ms 52ms"; m.Note != want {
		t.Errorf("note %q, want %q", m.Note, want)
	}
	if n := strings.Count(out.String(), "BenchmarkFetch/mode=50ms/workload=w/contender=warm\t"); n != 3 {
		t.Errorf("%d benchmark lines of the runs, want 3:\n%s", n, out.String())
	}
}

// benchBinary builds this program once for the tests that run its child
// modes as the bench does.
var benchBinary = func() func(t *testing.T) string {
	var once sync.Once
	var path string
	var err error
	return func(t *testing.T) string {
		t.Helper()
		once.Do(func() {
			dir, mkErr := os.MkdirTemp("", "bench-test-")
			if mkErr != nil {
				err = mkErr
				return
			}
			path = filepath.Join(dir, "bench")
			if out, buildErr := exec.Command("go", "build", "-o", path, ".").CombinedOutput(); buildErr != nil {
				err = fmt.Errorf("go build: %w\n%s", buildErr, out)
			}
		})
		if err != nil {
			t.Fatal(err)
		}
		return path
	}
}()

// TestReadFloorReadsEveryFile runs `bench readfloor` as the bench does, a
// child process over a directory, and checks it read every record (not the
// directory's dot files); a directory
// it cannot read is an error, not a figure.
func TestReadFloorReadsEveryFile(t *testing.T) {
	self := benchBinary(t)
	dir := t.TempDir()
	for i := range 7 {
		if err := os.WriteFile(filepath.Join(dir, strings.Repeat("k", i+1)), make([]byte, 300<<10), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// cache_dir's sweep stamp and a write's temporary file are no records.
	for _, dot := range []string{".swept", ".tmp-123"} {
		if err := os.WriteFile(filepath.Join(dir, dot), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, passes := range []int{1, 4} {
		m, err := runReadFloor(context.Background(), job{self: self, concurrency: 2}, dir, passes)
		if err != nil {
			t.Fatal(err)
		}
		// Of several passes, the one reported is the median of those after the
		// first: it and a longer one both fit in the process's time.
		if m.OK != 7 || m.SpanNS <= 0 || m.SpanNS > m.WallNS || passes > 1 && 2*m.SpanNS > m.WallNS {
			t.Errorf("readfloor, %d passes: %d files in %v (process %v), want 7 in a positive time within the process's", passes, m.OK, time.Duration(m.SpanNS), m.wall())
		}
	}
	if _, err := runReadFloor(context.Background(), job{self: self, concurrency: 2}, filepath.Join(dir, "absent"), 1); err == nil {
		t.Error("readfloor over a missing directory reported no error")
	}
	if _, err := runReadFloor(context.Background(), job{self: self, concurrency: 2}, dir, 0); err == nil {
		t.Error("readfloor of no pass reported no error")
	}
}

// TestBatchFloorReadsEveryDocument runs `bench batchfloor` as the bench
// does, against the mirror of the real session, with and without parsing:
// every document is read; a document that fails validation, or a source
// that is not there, is an error, not a figure.
func TestBatchFloorReadsEveryDocument(t *testing.T) {
	self := benchBinary(t)
	_, loads := defaultWorkloads(t)
	m := mirrortest.Start(t, mirror.Config{Root: testdata(t), Aliases: map[string]string{"2025": "test"}})
	j, err := newJob(options{concurrency: 20}, self, t.TempDir(), m.URL, loads[1]) // the 20 laptimes files
	if err != nil {
		t.Fatal(err)
	}
	for _, batchC := range []int{1, processorBatchC} {
		for _, parse := range []bool{true, false} {
			meas, err := runBatchFloor(context.Background(), j, batchC, parse)
			if err != nil {
				t.Fatalf("batches of %d x C, parse %v: %v", batchC, parse, err)
			}
			if meas.OK != 20 || meas.SpanNS <= 0 || meas.SpanNS > meas.WallNS {
				t.Errorf("batches of %d x C, parse %v: %d documents in %v (process %v), want 20 in a positive time within the process's", batchC, parse, meas.OK, time.Duration(meas.SpanNS), meas.wall())
			}
		}
	}
	m.SetFaults(mirror.Faults{Rules: []mirror.Rule{{CorruptRate: 1}}})
	if _, err := runBatchFloor(context.Background(), j, 1, true); err == nil {
		t.Error("batchfloor parsing corrupt documents reported no error")
	}
	j.base = "http://127.0.0.1:1"
	if _, err := runBatchFloor(context.Background(), j, 1, false); err == nil {
		t.Error("batchfloor against no server reported no error")
	}
}

// `bench batchfloor -c 100 -window 20` keeps at most 20 requests in flight,
// and 20 at once while a batch has that many left, and sends no request of
// a batch before the last body of the batch before is in.
func TestBatchFloorWindow(t *testing.T) {
	self := benchBinary(t)
	doc, err := os.ReadFile(filepath.Join(testdata(t), "test", "Australian Grand Prix", "Qualifying", "HAM", "laptimes.json"))
	if err != nil {
		t.Fatal(err)
	}
	const batch, window, n = 10, 4, 25
	var mu sync.Mutex
	var inFlight, most, served int
	var batchOf []int // the batch of each request, in the order they arrived
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var lap int
		fmt.Sscanf(path.Base(r.URL.Path), "%d_tel.json", &lap)
		mu.Lock()
		inFlight++
		most = max(most, inFlight)
		batchOf = append(batchOf, (lap-1)/batch)
		mu.Unlock()
		time.Sleep(20 * time.Millisecond) // long enough for the window to fill
		mu.Lock()
		inFlight--
		served++
		mu.Unlock()
		w.Header().Set("Content-Length", strconv.Itoa(len(doc)))
		w.Write(doc)
	}))
	srv.Config.Protocols = new(http.Protocols)
	srv.Config.Protocols.SetUnencryptedHTTP2(true)
	srv.Start()
	defer srv.Close()
	var lines []string
	for lap := 1; lap <= n; lap++ {
		lines = append(lines, fmt.Sprintf(`{"year":2025,"gp":"Australian Grand Prix","session":"Qualifying","path":"HAM/%d_tel.json"}`, lap))
	}
	tuples := filepath.Join(t.TempDir(), "tuples")
	if err := os.WriteFile(tuples, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(self, "batchfloor", "-base", srv.URL, "-tuples", tuples,
		"-c", strconv.Itoa(batch), "-window", strconv.Itoa(window), "-parse=false").CombinedOutput()
	if err != nil {
		t.Fatalf("batchfloor: %v: %s", err, out)
	}
	if !strings.HasSuffix(strings.TrimSpace(string(out)), " "+strconv.Itoa(n)) || served != n {
		t.Errorf("batchfloor printed %q, server served %d; want %d documents", out, served, n)
	}
	if most != window {
		t.Errorf("at most %d requests in flight, want %d", most, window)
	}
	for i := 1; i < len(batchOf); i++ {
		if batchOf[i] < batchOf[i-1] {
			t.Fatalf("requests arrived by batch %v: a batch began before the one before it ended", batchOf)
		}
	}
}

// A warm rerun's miss of 20x is out of reach only when reading the files
// alone, in the same shape (a new process, or a process that read them
// before), takes more than a twentieth of the cold run; the memory tier's
// rerun has no such floor.
func TestReadFloorMarksTheRerunsMiss(t *testing.T) {
	_, loads := defaultWorkloads(t)
	md0, _ := parseMode("0")
	sess := loads[2].Name
	cold := int64(200 * time.Millisecond)
	for _, c := range []struct {
		cold, warm, floorRow, otherRow, goal string
	}{
		{"f1fetch-input+cache_dir (cold)", "f1fetch-input+cache_dir (warm)", readFloorRow, readFloorOneProcessRow, "a process per run"},
		{"f1fetch-input, one process, cache_dir (cold pass)", "f1fetch-input, one process, cache_dir (warm pass)", readFloorOneProcessRow, readFloorRow, "one process (f1_fetch inputs"},
	} {
		for _, f := range []struct {
			floorNS    int64
			outOfReach bool
			most       string // as printed: rounded down, as the target reads it
		}{{cold / 15, true, "15.0x"}, {cold / 25, false, "25.0x"}, {cold * 100 / 1997, true, "19.9x"}} {
			r := &report{opts: options{modes: []mode{md0}, concurrency: 20}, loads: loads}
			r.extra = []measurement{
				{Mode: md0.name, Workload: sess, Contender: c.cold, WallNS: cold},
				{Mode: md0.name, Workload: sess, Contender: c.warm, WallNS: cold / 10},
				{Mode: md0.name, Workload: sess, Contender: c.floorRow, WallNS: cold, SpanNS: f.floorNS},
				// The other shape's floor, far out of reach, must not be read for this one.
				{Mode: md0.name, Workload: sess, Contender: c.otherRow, WallNS: cold, SpanNS: cold / 2},
			}
			var found bool
			for _, tg := range r.targets() {
				if !strings.Contains(tg.goal, "warm cache at least 20x faster than cold: f1fetch binary, "+c.goal) {
					continue
				}
				found = true
				if tg.met || tg.outOfReach != f.outOfReach || !strings.Contains(tg.measured, "bench readfloor") || !strings.Contains(tg.measured, "so "+f.most+" is the most") {
					t.Errorf("%s, floor %v of a %v cold run: met %v, out of reach %v (want %v): %s", c.warm, time.Duration(f.floorNS), time.Duration(cold), tg.met, tg.outOfReach, f.outOfReach, tg.measured)
				}
			}
			if !found {
				t.Fatalf("no warm cache target for %s", c.warm)
			}
		}
	}
}

// The processor's miss of the bound is out of reach only when the bare
// client in the same batches, reading only, is past 1.10x itself.
func TestBatchFloorMarksTheProcessorsMiss(t *testing.T) {
	_, loads := defaultWorkloads(t)
	md0, _ := parseMode("0")
	md50, _ := parseMode("50")
	reqs := loads[3].Name
	j := job{concurrency: 20}
	for contender, batchC := range oneThreadBatches {
		p := struct {
			contender     string
			batchC, other int
		}{contender: contender, batchC: batchC}
		for _, b := range oneThreadBatches {
			if b != batchC {
				p.other = b
			}
		}
		for _, c := range []struct {
			floorX     float64
			outOfReach bool
		}{{1.12, true}, {1.05, false}} {
			bound := int64(2700 * time.Millisecond)
			r := &report{opts: options{modes: []mode{md0, md50}, concurrency: 20}, loads: loads}
			r.rows = []measurement{{Mode: md50.name, Workload: reqs, Contender: p.contender, N: 1000, WallNS: bound * 12 / 10, BoundNS: bound}}
			r.extra = []measurement{
				{Mode: md50.name, Workload: reqs, Contender: batchFloorRow(j, p.batchC, true), WallNS: bound * 2, SpanNS: bound * 13 / 10},
				{Mode: md50.name, Workload: reqs, Contender: batchFloorRow(j, p.batchC, false), WallNS: bound * 2, SpanNS: int64(float64(bound) * c.floorX)},
				// The other shape's floor, far out of reach, must not be read for this one.
				{Mode: md50.name, Workload: reqs, Contender: batchFloorRow(j, p.other, false), WallNS: bound * 2, SpanNS: bound * 2},
			}
			var found bool
			for _, tg := range r.targets() {
				if !strings.HasPrefix(tg.goal, p.contender+" within 1.10x of the bound") {
					continue
				}
				found = true
				if tg.met || tg.outOfReach != c.outOfReach || !strings.Contains(tg.measured, "bench batchfloor") {
					t.Errorf("%s, floor at %.2fx: met %v, out of reach %v (want %v): %s", p.contender, c.floorX, tg.met, tg.outOfReach, c.outOfReach, tg.measured)
				}
			}
			if !found {
				t.Fatalf("no bound target for %s", p.contender)
			}
		}
	}
}

// The results page names the JSON parser the Python script reported, not
// one assumed.
func TestPythonParserIsTheReportedOne(t *testing.T) {
	r := &report{}
	if got := r.pythonParsers(); got != "not run" {
		t.Errorf("no Python rows: %q, want not run", got)
	}
	r.rows = []measurement{
		{Contender: "python-httpx", Note: "parser: orjson"},
		{Contender: "python-httpx", Note: "parser: orjson"},
		{Contender: "f1fetch-input", Note: "parser: other"},
	}
	if got := r.pythonParsers(); got != "`orjson`" {
		t.Errorf("pythonParsers() = %q, want `orjson`", got)
	}
}
