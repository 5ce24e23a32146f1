package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// measurement is one contender on one workload under one latency mode.
type measurement struct {
	Mode      string  `json:"mode"`
	Workload  string  `json:"workload"`
	Contender string  `json:"contender"`
	N         int     `json:"n"`
	Bytes     int64   `json:"bytes"`       // payload bytes on disk for the workload
	WallNS    int64   `json:"wall_ns"`     // process start to exit
	CPUS      float64 `json:"cpu_s"`       // user + system of the contender process
	RSSKB     int64   `json:"peak_rss_kb"` // maximum resident set size
	OK        int     `json:"ok"`          // documents fetched (and parsed where the contender parses)
	// MirrorCPUS is the bench process's own user + system time during the
	// run: the in-process mirror serving the contender (the bench only waits
	// meanwhile). Both share the machine's cores, so at 0 ms the contender's
	// CPU plus the mirror's, over cores x wall, says how busy the machine was.
	MirrorCPUS float64 `json:"mirror_cpu_s"`
	// StealPct is the share of the host's CPU time the hypervisor gave to
	// other guests while the contender ran (/proc/stat): a run that needed
	// CPU it could not have is slower for a reason outside it.
	StealPct float64 `json:"steal_pct"`
	Allocs   float64 `json:"allocs_per_req,omitempty"`
	BoundNS  int64   `json:"bound_ns,omitempty"`
	// SpanNS is an f1fetch pipeline's time inside the process, from a marker
	// message just before its input to its last document (runPipeline).
	SpanNS int64 `json:"span_ns,omitempty"`
	// The library child times its cold and warm FetchMany inside the process.
	InnerColdNS int64  `json:"inner_cold_ns,omitempty"`
	InnerWarmNS int64  `json:"inner_warm_ns,omitempty"`
	Round       int    `json:"round,omitempty"` // of the alternating rounds at 0 ms (cpuRounds); 0 in the main table
	Note        string `json:"note,omitempty"`
}

func (m measurement) wall() time.Duration { return time.Duration(m.WallNS) }

// fetching is the time the contender spent fetching: SpanNS where measured,
// else the wall time (for the library, already its FetchMany alone).
func (m measurement) fetching() time.Duration {
	if m.SpanNS > 0 {
		return time.Duration(m.SpanNS)
	}
	return m.wall()
}

// job is what a contender needs to run one workload.
type job struct {
	dir         string // scratch directory of this run
	bin         string // the f1fetch binary
	self        string // this program, for the in-process library child
	python      string
	base        string // mirror URL
	concurrency int
	w           workload
	urlsFile    string // one URL per line
	tuplesFile  string // one JSON tuple per line
}

// contender runs a job and fills OK, Note and (for the library) Allocs;
// wall time, CPU and RSS come from timed.
type contender struct {
	name   string
	parses bool // parses and validates every document
	run    func(ctx context.Context, j job) (measurement, error)
}

var timeRE = map[string]*regexp.Regexp{
	"user": regexp.MustCompile(`User time \(seconds\): ([0-9.]+)`),
	"sys":  regexp.MustCompile(`System time \(seconds\): ([0-9.]+)`),
	"rss":  regexp.MustCompile(`Maximum resident set size \(kbytes\): ([0-9]+)`),
}

// timed runs argv under /usr/bin/time -v and returns its stdout with wall
// time, CPU seconds and peak RSS.
func timed(ctx context.Context, env []string, argv ...string) (stdout []byte, m measurement, err error) {
	cmd := exec.CommandContext(ctx, "/usr/bin/time", append([]string{"-v"}, argv...)...)
	cmd.Env = append(os.Environ(), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	stealBefore, totalBefore := cpuJiffies()
	mirrorBefore := selfCPU()
	start := time.Now()
	err = cmd.Run()
	m.WallNS = int64(time.Since(start))
	m.MirrorCPUS = selfCPU() - mirrorBefore
	if steal, total := cpuJiffies(); total > totalBefore {
		m.StealPct = 100 * float64(steal-stealBefore) / float64(total-totalBefore)
	}
	if err != nil {
		tail := errb.String()
		if len(tail) > 2000 {
			tail = tail[len(tail)-2000:]
		}
		return out.Bytes(), m, fmt.Errorf("%s: %w\n%s", filepath.Base(argv[0]), err, tail)
	}
	s := errb.String()
	for key, re := range timeRE {
		match := re.FindStringSubmatch(s)
		if match == nil {
			return out.Bytes(), m, fmt.Errorf("%s: /usr/bin/time -v printed no %s", filepath.Base(argv[0]), key)
		}
		v, _ := strconv.ParseFloat(match[1], 64)
		switch key {
		case "rss":
			m.RSSKB = int64(v)
		default:
			m.CPUS += v
		}
	}
	return out.Bytes(), m, nil
}

// selfCPU is this process's user + system time so far, in seconds (0 if
// getrusage fails).
func selfCPU() float64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// cpuJiffies returns the host's steal time and all its CPU time so far, in
// clock ticks, from the first line of /proc/stat (zeros if unreadable).
func cpuJiffies() (steal, total uint64) {
	raw, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0
	}
	line, _, _ := strings.Cut(string(raw), "\n")
	fields := strings.Fields(line) // cpu user nice system idle iowait irq softirq steal guest guest_nice
	if len(fields) < 9 || fields[0] != "cpu" {
		return 0, 0
	}
	for i, f := range fields[1:9] {
		v, _ := strconv.ParseUint(f, 10, 64)
		total += v
		if i == 7 {
			steal = v
		}
	}
	return steal, total
}

func contenders() []contender {
	return []contender{
		{name: "f1fetch-input", parses: true, run: runF1FetchInput},
		{name: "f1fetch-processor", parses: true, run: func(ctx context.Context, j job) (measurement, error) { return runF1FetchProcessor(ctx, j, 1, 1) }},
		{name: "f1fetch-processor-threads4", parses: true, run: func(ctx context.Context, j job) (measurement, error) { return runF1FetchProcessor(ctx, j, 4, 1) }},
		{name: batchedProcessor, parses: true, run: func(ctx context.Context, j job) (measurement, error) {
			return runF1FetchProcessor(ctx, j, 1, processorBatchC)
		}},
		{name: "f1fetch-lib", parses: true, run: runLibrary},
		{name: "benthos-http-parallel", run: func(ctx context.Context, j job) (measurement, error) { return runStockHTTP(ctx, j, true) }},
		{name: "benthos-http-sequential", run: func(ctx context.Context, j job) (measurement, error) { return runStockHTTP(ctx, j, false) }},
		{name: "python-httpx", parses: true, run: runPython},
		{name: "h2load", run: func(ctx context.Context, j job) (measurement, error) { return runH2Load(ctx, j, true) }},
		{name: "h2load-identity", run: func(ctx context.Context, j job) (measurement, error) { return runH2Load(ctx, j, false) }},
	}
}

// engineFields are the f1_fetch settings every f1fetch contender uses: the
// mirror, the concurrency, and no cache (every run is cold) unless asked.
func engineFields(j job, cacheDir string) map[string]any {
	f := map[string]any{
		"base_urls":               []string{j.base},
		"max_concurrent_requests": j.concurrency,
		"use_cache":               cacheDir != "",
		"write_cache":             cacheDir != "",
	}
	if cacheDir != "" {
		f["cache_dir"] = cacheDir
	}
	return f
}

// stampMapping is what every message of a contender's pipeline becomes, so
// that the run is checked and timed without writing the documents: its
// state ("start" for a marker, then "ok" or "error"), its f1_cache metadata
// and the Unix nanosecond at which it left the pipeline.
const stampMapping = `root = "%s %s %d".format(if @pass == "start" { "start" } else if errored() { "error" } else { "ok" }, @f1_cache | "-", now().ts_unix_nano())`

// marker is the input of one message that a sequence sends before the
// contender's own input, stamped "start": the time the input began.
var marker = map[string]any{"generate": map[string]any{"count": 1, "interval": "", "mapping": `meta pass = "start"`}}

// tally turns every message into one stamped line (stampMapping); delay
// slows the output down.
func tally(j job, name string, delay time.Duration) ([]any, map[string]any) {
	procs := []any{}
	if delay > 0 {
		procs = append(procs, map[string]any{"sleep": map[string]any{"duration": delay.String()}})
	}
	procs = append(procs, map[string]any{"mapping": stampMapping})
	out := map[string]any{"file": map[string]any{"path": outPath(j, name), "codec": "lines"}}
	return procs, out
}

// runPipeline writes cfg as the pipeline file, runs `f1fetch run`, counts
// the "ok" lines of its output and returns its stamps. With fromStart the
// input runs after a marker message (a sequence), and SpanNS is the time
// from the marker to the last document: the work inside the process, like
// the library's FetchMany figure, without Benthos's start-up, which grows
// with the config (1000 inline requests are 157 KB of YAML), and its exit.
func runPipeline(ctx context.Context, j job, name string, cfg map[string]any, fromStart bool) (measurement, []stamp, error) {
	if fromStart {
		cfg["input"] = map[string]any{"sequence": map[string]any{"inputs": []any{marker, cfg["input"]}}}
	}
	cfg["logger"] = map[string]any{"level": "WARN"}
	cfg["http"] = map[string]any{"enabled": false}
	raw, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return measurement{}, nil, err
	}
	path := filepath.Join(j.dir, name+".yaml")
	if err := os.WriteFile(path, raw, 0o644); err != nil {
		return measurement{}, nil, err
	}
	outFile := outPath(j, name)
	os.Remove(outFile)
	_, m, err := timed(ctx, nil, j.bin, "run", path)
	if err != nil {
		return m, nil, err
	}
	stamps, err := readStamps(outFile)
	if err != nil {
		return m, nil, err
	}
	m.OK = countState(stamps, "ok")
	if fromStart {
		if len(stamps) < 2 || stamps[0].state != "start" {
			return m, nil, fmt.Errorf("%s output: %d lines, want the marker first and the documents", name, len(stamps))
		}
		m.SpanNS = stamps[len(stamps)-1].at - stamps[0].at
	}
	return m, stamps, nil
}

// outPath is the file a pipeline named name writes its lines to.
func outPath(j job, name string) string { return filepath.Join(j.dir, name+".out") }

// runF1FetchInput: the f1_fetch input with the tuples as `requests`, a
// sliding window of prefetch (2 x concurrency) files in order.
func runF1FetchInput(ctx context.Context, j job) (measurement, error) {
	return runInput(ctx, j, "f1fetch-input", "", 0)
}

func runInput(ctx context.Context, j job, name, cacheDir string, delay time.Duration) (measurement, error) {
	m, _, err := runPipeline(ctx, j, name, inputPipeline(j, name, cacheDir, delay), true)
	return m, err
}

// inputPipeline is the config of the f1_fetch input contender named name:
// the tuples as requests, one pipeline thread, the stamping output.
func inputPipeline(j job, name, cacheDir string, delay time.Duration) map[string]any {
	in := engineFields(j, cacheDir)
	in["requests"] = j.w.Tuples
	procs, out := tally(j, name, delay)
	return map[string]any{
		"input":    map[string]any{"f1_fetch": in},
		"pipeline": map[string]any{"threads": 1, "processors": procs},
		"output":   out,
	}
}

// batchedLines is an input reading a file of one item per line and cutting
// it into batches of the concurrency, the last one partial: the whole file
// is one message, split into lines (blank ones dropped) and then into
// batches by the input's own processors, so each batch reaches the pipeline
// as a transaction of its own (several pipeline threads take several).
// Input-level batching with a period was tried first: a period that ends
// while the pipeline is busy sends whatever has been read, here one line (at
// 50 ms, 34 of 83 batches held one tuple, each costing a whole round trip),
// and without a period the last partial batch never leaves.
func batchedLines(j job, file string, size int) map[string]any {
	return map[string]any{"file": map[string]any{
		"paths":   []string{file},
		"scanner": map[string]any{"to_the_end": map[string]any{}},
	}, "processors": []any{
		map[string]any{"unarchive": map[string]any{"format": "lines"}},
		map[string]any{"mutation": `root = if content().string().trim() == "" { deleted() }`},
		map[string]any{"split": map[string]any{"size": size}},
	}}
}

// batchedProcessor is the f1_fetch processor on one thread given batches of
// processorBatchC times the concurrency. Its concurrency is its own setting,
// not the batch size as for the stock processor, so at the same C requests
// in flight and with the order kept it waits for a batch's slowest request
// once per processorBatchC x C requests instead of once per C.
const (
	batchedProcessor = "f1fetch-processor-batch5c"
	processorBatchC  = 5
)

// oneThreadBatches are the processor contenders on one thread, by their
// batches in multiples of C: each has a bare client's floor in its shape
// (bench batchfloor).
var oneThreadBatches = map[string]int{"f1fetch-processor": 1, batchedProcessor: processorBatchC}

// runF1FetchProcessor: tuples read from a file in batches of batchC x C,
// each batch fetched by the f1_fetch processor on threads pipeline threads.
// The process-wide limiter keeps C requests in flight whatever the threads
// and the batch size, so several threads overlap batches (no waiting for a
// batch's slowest request) at the same concurrency, and give up the order
// across batches.
func runF1FetchProcessor(ctx context.Context, j job, threads, batchC int) (measurement, error) {
	name := "f1fetch-processor"
	switch {
	case threads > 1:
		name += "-threads" + strconv.Itoa(threads)
	case batchC > 1:
		name = batchedProcessor
	}
	// The marker becomes an f1_fetch error at once, stamped "start".
	m, _, err := runPipeline(ctx, j, name, processorPipeline(j, name, "", threads, batchC), true)
	return m, err
}

// processorPipeline is the config of the f1_fetch processor contender named
// name: the tuples file in batches of batchC x C, the processor on threads
// pipeline threads, the stamping output.
func processorPipeline(j job, name, cacheDir string, threads, batchC int) map[string]any {
	tail, out := tally(j, name, 0)
	return map[string]any{
		"input":    batchedLines(j, j.tuplesFile, batchC*j.concurrency),
		"pipeline": map[string]any{"threads": threads, "processors": append([]any{map[string]any{"f1_fetch": engineFields(j, cacheDir)}}, tail...)},
		"output":   out,
	}
}

// runStockHTTP: URLs read from a file in batches of C, each batch fetched by
// the stock Benthos http processor (parallel or one after the other), no
// parsing. Its client is net/http's default transport: HTTP/1.1 on http://.
func runStockHTTP(ctx context.Context, j job, parallel bool) (measurement, error) {
	name := "benthos-http-sequential"
	if parallel {
		name = "benthos-http-parallel"
	}
	in := batchedLines(j, j.urlsFile, j.concurrency)
	tail, out := tally(j, name, 0)
	procs := append([]any{
		map[string]any{"mapping": "meta url = content().string()\nroot = \"\""},
		map[string]any{"http": map[string]any{"url": "${! @url }", "verb": "GET", "parallel": parallel, "timeout": "30s"}},
	}, tail...)
	m, _, err := runPipeline(ctx, j, name, map[string]any{
		"input":    in,
		"pipeline": map[string]any{"threads": 1, "processors": procs},
		"output":   out,
	}, false) // a marker would be a request to an empty URL
	return m, err
}

// runLibrary runs this program's fetchlib child: fetch.Client.FetchMany in
// a process of its own, so its CPU and RSS exclude the mirror.
func runLibrary(ctx context.Context, j job) (measurement, error) {
	stdout, m, err := timed(ctx, nil, j.self, "fetchlib", "-base", j.base, "-tuples", j.tuplesFile, "-c", strconv.Itoa(j.concurrency))
	if err != nil {
		return m, err
	}
	var r libReport
	if err := json.Unmarshal(lastLine(stdout), &r); err != nil {
		return m, fmt.Errorf("fetchlib report %q: %w", stdout, err)
	}
	m.OK, m.Allocs, m.InnerColdNS, m.InnerWarmNS = r.OK, r.AllocsPerReq, r.ColdNS, r.WarmNS
	// The child also fills and rereads a cached client: its wall time is the
	// cold FetchMany alone; CPU and RSS cover the whole child.
	m.WallNS = r.ColdNS
	m.Note = fmt.Sprintf("in-process cold %s, warm %s (%.0fx)", time.Duration(r.ColdNS).Round(time.Microsecond),
		time.Duration(r.WarmNS).Round(time.Microsecond), float64(r.ColdNS)/float64(max(r.WarmNS, 1)))
	return m, nil
}

func runPython(ctx context.Context, j job) (measurement, error) {
	script := filepath.Join(filepath.Dir(j.self), "python", "fetch_multiple.py")
	if _, err := os.Stat(script); err != nil {
		script = filepath.Join("bench", "python", "fetch_multiple.py")
	}
	stdout, m, err := timed(ctx, nil, j.python, script, j.urlsFile, strconv.Itoa(j.concurrency))
	if err != nil {
		return m, err
	}
	var r struct {
		OK   int    `json:"ok"`
		JSON string `json:"json"`
	}
	if err := json.Unmarshal(lastLine(stdout), &r); err != nil {
		return m, fmt.Errorf("python report %q: %w", stdout, err)
	}
	m.OK, m.Note = r.OK, "parser: "+r.JSON
	return m, nil
}

var h2loadOK = regexp.MustCompile(`requests: \d+ total, \d+ started, \d+ done, (\d+) succeeded`)

// runH2Load: nghttp2's load generator over one h2c connection with C
// streams, the raw HTTP/2 ceiling (reads bodies, parses nothing).
func runH2Load(ctx context.Context, j job, gzip bool) (measurement, error) {
	stdout, m, err := timed(ctx, nil, append([]string{"h2load"}, h2loadArgs(j, gzip)...)...)
	if err != nil {
		return m, err
	}
	match := h2loadOK.FindSubmatch(stdout)
	if match == nil {
		return m, errors.New("h2load printed no request summary")
	}
	m.OK, _ = strconv.Atoi(string(match[1]))
	return m, nil
}

// h2loadArgs: N requests over one connection with C streams. With gzip it
// asks for what the stock http processor and the Python script ask for;
// without, for what f1fetch asks a loopback mirror for (identity: inflating
// is pure CPU there, see plugin/fetch/source.go), the same bytes f1fetch reads.
func h2loadArgs(j job, gzip bool) []string {
	args := []string{"-n", strconv.Itoa(len(j.w.Tuples)), "-c", "1", "-m", strconv.Itoa(j.concurrency), "-i", j.urlsFile}
	if gzip {
		args = append(args, "-H", "accept-encoding: gzip")
	}
	return args
}

func lastLine(b []byte) []byte {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return []byte(lines[len(lines)-1])
}

type stamp struct {
	state, cache string
	at           int64
}

func readStamps(path string) ([]stamp, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("pipeline output: %w", err)
	}
	defer f.Close()
	var out []stamp
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) != 3 {
			return nil, fmt.Errorf("pipeline output %s line %d: %q, want state, cache and time", path, len(out)+1, sc.Text())
		}
		at, err := strconv.ParseInt(fields[2], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("pipeline output %s line %d: time: %w", path, len(out)+1, err)
		}
		out = append(out, stamp{fields[0], fields[1], at})
	}
	return out, sc.Err()
}

func countState(ss []stamp, state string) int {
	n := 0
	for _, s := range ss {
		if s.state == state {
			n++
		}
	}
	return n
}
