package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

// report collects the measurements, prints benchmark lines as they come and
// writes the files at the end.
type report struct {
	opts     options
	start    time.Time
	out      io.Writer
	base     string
	loads    []workload
	rows     []measurement
	transfer map[string]time.Duration // workload -> h2load wall time at 0 ms
	extra    []measurement            // warm cache, slow output, startup
	rounds   []measurement            // rounds 2.. of the CPU-bound comparison (cpuRounds)
}

func (r *report) header(base string, loads []workload) {
	r.base, r.loads, r.transfer = base, loads, map[string]time.Duration{}
	fmt.Fprintf(r.out, "goos: %s\ngoarch: %s\npkg: github.com/f1fetch/f1fetch/bench\ncpu: %s\n", runtime.GOOS, runtime.GOARCH, cpuModel())
}

func (r *report) add(md mode, j job, contender string, m measurement) {
	m.Mode, m.Workload, m.Contender, m.N, m.Bytes = md.name, j.w.Name, contender, len(j.w.Tuples), j.w.Bytes
	if contender == "h2load" && md.mean() == 0 {
		r.transfer[j.w.Name] = m.wall()
	}
	if t, ok := r.transfer[j.w.Name]; ok {
		m.BoundNS = int64(bound(m.N, r.opts.concurrency, md.mean(), t))
	}
	r.rows = append(r.rows, m)
	r.benchLine(m)
}

// benchLine prints m in `go test -bench` format: benchstat compares two
// runs' files by name and unit.
func (r *report) benchLine(m measurement) {
	name := fmt.Sprintf("BenchmarkFetch/mode=%s/workload=%s/contender=%s", m.Mode, m.Workload, m.Contender)
	fmt.Fprintf(r.out, "%s\t1\t%d ns/op\t%.1f req/s\t%.2f MB/s\t%.3f cpu-s\t%.3f mirror-cpu-s\t%d peak-RSS-kB", name, m.WallNS,
		float64(m.N)/m.wall().Seconds(), float64(m.Bytes)/1e6/m.wall().Seconds(), m.CPUS, m.MirrorCPUS, m.RSSKB)
	if m.BoundNS > 0 {
		fmt.Fprintf(r.out, "\t%.3f x-bound", float64(m.WallNS)/float64(m.BoundNS))
	}
	if m.SpanNS > 0 {
		fmt.Fprintf(r.out, "\t%d from-start-ns", m.SpanNS)
	}
	if m.Allocs > 0 {
		fmt.Fprintf(r.out, "\t%.0f allocs/req", m.Allocs)
	}
	fmt.Fprintf(r.out, "\t%.1f host-steal-%%", m.StealPct)
	fmt.Fprintln(r.out)
	if m.OK != m.N {
		fmt.Fprintf(os.Stderr, "warning: %s: %d of %d documents ok\n", name, m.OK, m.N)
	}
}

// extras: warm cache (binary with cache_dir: in two processes, and in one
// with the input rebuilt or with one long-lived processor; the library's
// in-process rerun is in its note), and in the first mode
// the slow-output memory run and the binary's start-up time.
func (r *report) extras(ctx context.Context, md mode, jobs []job) error {
	for _, contender := range slices.Sorted(maps.Keys(oneThreadBatches)) {
		if len(r.opts.only) > 0 && !r.opts.only[contender] {
			continue
		}
		for _, parse := range []bool{true, false} {
			name := batchFloorRow(jobs[3], oneThreadBatches[contender], parse)
			m, err := runBatchFloor(ctx, jobs[3], oneThreadBatches[contender], parse)
			if err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			r.addExtra(md, jobs[3], name, m)
		}
	}
	if len(r.opts.only) > 0 && !r.opts.only["f1fetch-input"] {
		return nil
	}
	j := jobs[2] // the whole session's telemetry
	dir, err := os.MkdirTemp(j.dir, "cache")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	cold, err := runInput(ctx, j, "cache", dir, 0)
	if err != nil {
		return fmt.Errorf("f1fetch-input+cache_dir (cold): %w", err)
	}
	r.addExtra(md, j, "f1fetch-input+cache_dir (cold)", cold)
	// A warm process takes 40-70 ms here, as much apart between two runs in
	// a row as the changes measured against it: the median of warmPasses,
	// each beside a read floor taken at the same moment of the host.
	var warms, floors []measurement
	for range warmPasses {
		warm, err := runInput(ctx, j, "cache", dir, 0)
		if err != nil {
			return fmt.Errorf("f1fetch-input+cache_dir (warm): %w", err)
		}
		floor, err := runReadFloor(ctx, j, dir, 1)
		if err != nil {
			return fmt.Errorf("cache_dir read floor: %w", err)
		}
		warms, floors = append(warms, warm), append(floors, floor)
	}
	r.addMedianExtra(md, j, "f1fetch-input+cache_dir (warm)", warms, "warm processes, each followed by a read floor")
	r.addMedianExtra(md, j, readFloorRow, floors, "read floors, each after a warm process")
	for _, rr := range []struct{ shape, name string }{
		{rerunInputs, "f1fetch-input, one process, cache_dir"},
		{rerunProcessor, "f1fetch-processor, one process, cache_dir"},
	} {
		dir, err := os.MkdirTemp(j.dir, "cache")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		cold, warm, err := rerunPasses(ctx, j, rr.shape, dir)
		if err != nil {
			return fmt.Errorf("one-process rerun, %s: %w", rr.shape, err)
		}
		r.addExtra(md, j, rr.name+" (cold pass)", cold)
		r.addExtra(md, j, rr.name+" (warm pass)", warm)
		if rr.shape == rerunInputs {
			// Its warm passes read cache_dir into a heap that held the
			// files before: so does this floor's.
			floor, err := runReadFloor(ctx, j, dir, 1+warmPasses)
			if err != nil {
				return fmt.Errorf("cache_dir read floor, one process: %w", err)
			}
			r.addExtra(md, j, readFloorOneProcessRow, floor)
		}
	}
	if md.mean() != 0 {
		return nil
	}
	for _, delay := range []time.Duration{0, r.opts.slowOutput} {
		m, err := runSession(ctx, j, delay)
		if err != nil {
			return fmt.Errorf("session run, output delay %s: %w", delay, err)
		}
		m.Note = fmt.Sprintf("whole session telemetry, default memory cache on, output delay %s per message", delay)
		r.addExtra(md, j, fmt.Sprintf("f1fetch-input, output delay %s", delay), m)
	}
	_, m, err := timed(ctx, nil, j.bin, "run", writeStartupConfig(j))
	if err != nil {
		return fmt.Errorf("start-up run: %w", err)
	}
	m.OK, m.N, m.Note = 1, 1, "generate 1 message -> drop: process start and stop"
	m.Mode, m.Workload, m.Contender = md.name, "startup", "f1fetch run (empty pipeline)"
	r.extra = append(r.extra, m)
	r.benchLine(m)
	return nil
}

// readFloorRow is the new process that only reads the warm rerun's
// cache_dir into fresh memory (bench readfloor).
const readFloorRow = "cache_dir read floor (a new process reading the files, no Benthos)"

// readFloorOneProcessRow is a process that only reads cache_dir again after
// reading it once (bench readfloor -passes), as the warm passes of the
// one-process rerun of inputs do.
const readFloorOneProcessRow = "cache_dir read floor, one process (the files read again by the process that read them, no Benthos)"

// runReadFloor times `bench readfloor` over dir with the input's prefetch
// window (2C files at once), reading it passes times: its SpanNS is the
// reading alone, of the one pass or the median of those after the first.
func runReadFloor(ctx context.Context, j job, dir string, passes int) (measurement, error) {
	stdout, m, err := timed(ctx, nil, j.self, "readfloor", "-dir", dir, "-parallel", strconv.Itoa(2*j.concurrency), "-passes", strconv.Itoa(passes))
	if err != nil {
		return m, err
	}
	var files int
	if _, err := fmt.Sscan(string(stdout), &m.SpanNS, &files); err != nil {
		return m, fmt.Errorf("readfloor printed %q: %w", stdout, err)
	}
	m.OK = files
	if passes == 1 {
		m.Note = fmt.Sprintf("%d files read %d at a time into fresh memory and dropped: the least a new process needs to take them from cache_dir", files, 2*j.concurrency)
	} else {
		m.Note = fmt.Sprintf("%d files read %d at a time and dropped, %d times in one process; the median of the passes after the first: the least a process that read them before needs to take them from cache_dir again", files, 2*j.concurrency, passes)
	}
	return m, nil
}

// batchShape names batches of batchC x C with C in flight.
func batchShape(concurrency, batchC int) string {
	if batchC == 1 {
		return fmt.Sprintf("batches of %d", concurrency)
	}
	return fmt.Sprintf("batches of %d, %d in flight", batchC*concurrency, concurrency)
}

// batchFloorRow names the bare client in batches of batchC x C with C in
// flight (bench batchfloor), with or without its parsing.
func batchFloorRow(j job, batchC int, parse bool) string {
	if parse {
		return fmt.Sprintf("batch floor: a bare x/net client in %s, reading and parsing", batchShape(j.concurrency, batchC))
	}
	return fmt.Sprintf("batch floor: a bare x/net client in %s, reading only", batchShape(j.concurrency, batchC))
}

// runBatchFloor times `bench batchfloor` over j's tuples in batches of
// batchC x C, C in flight: its SpanNS is the fetching alone.
func runBatchFloor(ctx context.Context, j job, batchC int, parse bool) (measurement, error) {
	stdout, m, err := timed(ctx, nil, j.self, "batchfloor", "-base", j.base, "-tuples", j.tuplesFile,
		"-c", strconv.Itoa(batchC*j.concurrency), "-window", strconv.Itoa(j.concurrency), "-parse="+strconv.FormatBool(parse))
	if err != nil {
		return m, err
	}
	if _, err := fmt.Sscan(string(stdout), &m.SpanNS, &m.OK); err != nil {
		return m, fmt.Errorf("batchfloor printed %q: %w", stdout, err)
	}
	m.Note = fmt.Sprintf("the least a processor with batches of %d on one thread, %d requests in flight, needs: each body read into one buffer", batchC*j.concurrency, j.concurrency)
	if parse {
		m.Note += " and normalised and validated as f1fetch does"
	}
	m.Note += "; no limiter, retries, cache or Benthos"
	return m, nil
}

func (r *report) addExtra(md mode, j job, name string, m measurement) {
	m = extraNamed(md, j, name, m)
	r.extra = append(r.extra, m)
	r.benchLine(m)
}

func extraNamed(md mode, j job, name string, m measurement) measurement {
	m.Mode, m.Workload, m.Contender, m.Bytes = md.name, j.w.Name, name, j.w.Bytes
	if m.N == 0 {
		m.N = len(j.w.Tuples)
	}
	return m
}

// addMedianExtra keeps, of runs of one contender, the one whose time from
// start is the median, its note listing every run's in run order (what
// says what they are); each run is a benchmark line, a sample to benchstat.
func (r *report) addMedianExtra(md mode, j job, name string, runs []measurement, what string) {
	shown := make([]string, len(runs))
	for i := range runs {
		runs[i] = extraNamed(md, j, name, runs[i])
		r.benchLine(runs[i])
		shown[i] = round(runs[i].fetching()).String()
	}
	m := middle(runs, measurement.fetching)
	m.Note = strings.TrimPrefix(fmt.Sprintf("%s; median of %d %s: %s", m.Note, len(runs), what, strings.Join(shown, " ")), "; ")
	r.extra = append(r.extra, m)
}

// runSession fetches the whole session's telemetry with the default
// cache on (the memory tier keeps every document), the output delayed per
// message: memory must stay bounded by the prefetch window plus the cache.
func runSession(ctx context.Context, j job, delay time.Duration) (measurement, error) {
	in := engineFields(j, "")
	delete(in, "use_cache")
	delete(in, "write_cache")
	in["requests"] = j.w.Tuples
	procs, out := tally(j, "session", delay)
	m, _, err := runPipeline(ctx, j, "session", map[string]any{
		"input":    map[string]any{"f1_fetch": in},
		"pipeline": map[string]any{"threads": 1, "processors": procs},
		"output":   out,
	}, false)
	return m, err
}

func writeStartupConfig(j job) string {
	path := filepath.Join(j.dir, "startup.yaml")
	os.WriteFile(path, []byte("http: {enabled: false}\nlogger: {level: WARN}\ninput: {generate: {count: 1, interval: \"\", mapping: 'root = \"x\"'}}\noutput: {drop: {}}\n"), 0o644)
	return path
}

func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return runtime.GOARCH
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return runtime.GOARCH
}

func kernel() string {
	out, err := exec.Command("uname", "-sr").Output()
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(out))
}

func (r *report) finish() error {
	all := append(append(append([]measurement(nil), r.rows...), r.extra...), r.rounds...)
	raw, _ := json.MarshalIndent(all, "", "  ")
	if err := os.WriteFile(filepath.Join(r.opts.outDir, "results.json"), raw, 0o644); err != nil {
		return err
	}
	for _, w := range []string{r.loads[3].Name, r.loads[2].Name} {
		if err := writeChart(filepath.Join(filepath.Dir(r.opts.results), "wall_"+w+".png"), w, r.opts.concurrency, r.rows); err != nil {
			return err
		}
	}
	return os.WriteFile(r.opts.results, []byte(r.markdown()), 0o644)
}
