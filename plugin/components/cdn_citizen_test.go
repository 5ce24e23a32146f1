package components

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redpanda-data/benthos/v4/public/service"

	"github.com/f1fetch/f1fetch/internal/testkit"
	"github.com/f1fetch/f1fetch/plugin/fetch"
	"github.com/f1fetch/f1fetch/plugin/mirror"
	"github.com/f1fetch/f1fetch/plugin/mirror/mirrortest"
)

// run is one test stream: its builder, the info log and the metrics.
type run struct {
	t   *testing.T
	sb  *service.StreamBuilder
	mux *http.ServeMux
	log testkit.LogBuffer
	got received
}

func newRun(t *testing.T) *run {
	t.Helper()
	r := &run{t: t, sb: service.NewStreamBuilder(), mux: http.NewServeMux()}
	r.sb.SetHTTPMux(r.mux)
	if err := r.sb.SetMetricsYAML("json_api: {}"); err != nil {
		t.Fatal(err)
	}
	r.sb.SetLogger(slog.New(slog.NewTextHandler(&r.log, &slog.HandlerOptions{Level: slog.LevelInfo})))
	return r
}

func (r *run) must(err error) {
	r.t.Helper()
	if err != nil {
		r.t.Fatal(err)
	}
}

func (r *run) metrics() string {
	rec := httptest.NewRecorder()
	r.mux.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	return rec.Body.String()
}

// gauge reads one unlabelled metric of a component from the json_api text.
func (r *run) gauge(name string) int64 {
	r.t.Helper()
	m := regexp.MustCompile(regexp.QuoteMeta(name) + `\{[^}]*\}":(-?\d+)`).FindStringSubmatch(r.metrics())
	if m == nil {
		r.t.Fatalf("metric %s missing:\n%s", name, r.metrics())
	}
	n, _ := strconv.ParseInt(m[1], 10, 64)
	return n
}

// input runs the stream of the input YAML until it ends by itself.
func (r *run) input(yaml string) []*service.Message {
	r.t.Helper()
	r.must(r.sb.AddInputYAML(yaml))
	r.must(r.sb.AddBatchConsumerFunc(r.got.add))
	stream, err := r.sb.Build()
	r.must(err)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	r.must(stream.Run(ctx))
	return r.got.all()
}

// batch sends one batch through the processors YAML and returns what came out.
func (r *run) batch(procs []string, inputs []string) []*service.Message {
	r.t.Helper()
	produce, err := r.sb.AddBatchProducerFunc()
	r.must(err)
	for _, p := range procs {
		r.must(r.sb.AddProcessorYAML(p))
	}
	r.must(r.sb.AddBatchConsumerFunc(r.got.add))
	stream, err := r.sb.Build()
	r.must(err)
	done := make(chan error, 1)
	go func() { done <- stream.Run(context.Background()) }()
	var b service.MessageBatch
	for _, in := range inputs {
		b = append(b, service.NewMessage([]byte(in)))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	r.must(produce(ctx, b))
	r.must(stream.Stop(ctx))
	<-done
	return r.got.all()
}

// lapFiles are the paths of the drivers' laptimes.json of the 2025
// Australian GP Qualifying in the shared corpus.
func lapFiles(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, tj := range qualiFiles(t, 0) {
		var tp struct{ Path string }
		_ = json.Unmarshal([]byte(tj), &tp)
		if strings.HasSuffix(tp.Path, "/laptimes.json") {
			out = append(out, tp.Path)
		}
	}
	return out
}

// qualiFiles are real files of the 2025 Australian GP Qualifying in the
// shared corpus, as tuples, sorted.
func qualiFiles(t *testing.T, n int) []string {
	t.Helper()
	root := filepath.Join(mirrortest.SharedTestdata(t), "test", gpAUS, quali)
	var paths []string
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".json") {
			rel, _ := filepath.Rel(root, p)
			paths = append(paths, filepath.ToSlash(rel))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(paths)
	if len(paths) < n {
		t.Fatalf("corpus has %d Qualifying files, want %d", len(paths), n)
	}
	if n == 0 {
		n = len(paths)
	}
	out := make([]string, n)
	for i, p := range paths[:n] {
		out[i] = tupleJSON(p)
	}
	return out
}

func failures(msgs []*service.Message) int {
	n := 0
	for _, m := range msgs {
		if m.GetError() != nil {
			n++
		}
	}
	return n
}

func TestRateLimitResourceIsSharedAndPacesEveryAttempt(t *testing.T) {
	const count, interval, files = 10, 200 * time.Millisecond, 20
	m := mirrortest.Start(t, mirrortest.SharedConfig(t))
	// The first request of each path answers 503: each file costs two
	// attempts in the first processor, one in the second.
	m.SetFaults(mirror.Faults{Rules: []mirror.Rule{{FailFirstN: 1}}})
	fetchYAML := func(rateLimit string) string {
		return fmt.Sprintf(`f1_fetch: { base_urls: [ %q ], use_cache: false, backoff_factor: 0.01, jitter_max: 1ms, breaker_failures: 1000 %s }`, m.URL, rateLimit)
	}
	back := `mapping: 'root = {"year": @f1_year, "gp": @f1_gp, "session": @f1_session, "path": @f1_path}'`
	pass := func(rateLimit string) (time.Duration, []*service.Message) {
		m.Reset()
		r := newRun(t)
		r.must(r.sb.AddRateLimitYAML(fmt.Sprintf(`{ label: shared, local: { count: %d, interval: %s } }`, count, interval)))
		start := time.Now()
		var tuples []string
		for _, p := range lapFiles(t)[:files] {
			tuples = append(tuples, tupleJSON(p))
		}
		msgs := r.batch([]string{fetchYAML(rateLimit), back, fetchYAML(rateLimit)}, tuples)
		return time.Since(start), msgs
	}

	free, msgs := pass("")
	if len(msgs) != files || failures(msgs) != 0 || m.Counts().Total != 3*files {
		t.Fatalf("control: %d messages, %d failures, %d requests", len(msgs), failures(msgs), m.Counts().Total)
	}
	paced, msgs := pass(", rate_limit: shared")
	if len(msgs) != files || failures(msgs) != 0 || m.Counts().Total != 3*files {
		t.Fatalf("paced: %d messages, %d failures, %d requests", len(msgs), failures(msgs), m.Counts().Total)
	}
	// 60 attempts through one bucket of 10 per window: windows 0..5, and the
	// first may be partly gone when the stream starts. Two separate buckets
	// or a limit per tuple instead of per attempt would end by window 3.
	if floor := 4 * interval; paced < floor || free >= floor {
		t.Fatalf("60 attempts with a shared %d per %v limit took %v (want >= %v); without it %v", count, interval, paced, floor, free)
	}
	t.Logf("60 attempts (20 files x 2 attempts in processor 1, x 1 in processor 2), local rate limit %d/%v shared: %v; without: %v", count, interval, paced.Round(time.Millisecond), free.Round(time.Millisecond))
}

func TestAdaptiveConcurrencyCutsQuota429s(t *testing.T) {
	const files, rps = 250, 50
	// 250 small real files: the 20 lap time files of the Qualifying, served
	// as thirteen seasons (the quota, not decoding, must be what bounds the run).
	var mlog testkit.LogBuffer
	cfg := mirrortest.SharedConfig(t)
	cfg.Log = &mlog
	var tuples []string
	for year := 2030; len(tuples) < files; year++ {
		cfg.Aliases[strconv.Itoa(year)] = "test"
		for _, p := range lapFiles(t) {
			tuples = append(tuples, fmt.Sprintf(`{"year": %d, "gp": %q, "session": %q, "path": %q}`, year, gpAUS, quali, p))
		}
	}
	tuples = tuples[:files]
	m := mirrortest.Start(t, cfg)
	m.SetFaults(mirror.Faults{Rules: []mirror.Rule{{QuotaRPS: rps}}}) // burst = rps, Retry-After in whole seconds
	bound := time.Duration(float64(files-rps) / rps * float64(time.Second))
	// took is the span of the fetching as the mirror saw it, from the first
	// request to the last; wall is the whole stream, start-up included.
	pass := func(adaptive bool) (refused int64, took, wall time.Duration, limitSeen int64) {
		m.Reset()
		before := len(mlog.String())
		r := newRun(t)
		start := time.Now()
		msgs := r.batch([]string{fmt.Sprintf(`
f1_fetch:
  base_urls: [ %q ]
  max_concurrent_requests: 20
  adaptive: %v
  use_cache: false
  max_retries: 10
  backoff_factor: 0.01
  jitter_max: 10ms
  max_delay: 5s
  breaker_failures: 100000
`, m.URL, adaptive)}, tuples)
		wall = time.Since(start)
		took = requestSpan(t, mlog.String()[before:])
		if len(msgs) != files || failures(msgs) != 0 {
			t.Fatalf("adaptive=%v: %d messages, %d failures", adaptive, len(msgs), failures(msgs))
		}
		if adaptive && !strings.Contains(r.log.String(), "concurrency limit 20 -> ") {
			t.Errorf("the first cut is not logged:\n%s", r.log.String())
		}
		return m.Counts().ByStatus[http.StatusTooManyRequests], took, wall, r.gauge("f1_concurrency_limit")
	}
	fixed429, fixedTook, fixedWall, fixedLimit := pass(false)
	adapt429, adaptTook, adaptWall, _ := pass(true)
	t.Logf("%d files, quota %d/s (burst %d), bound %v: fixed limit 20: %d x 429, fetching %v (stream %v); adaptive: %d x 429, fetching %v (stream %v): %.1fx fewer 429s, %.2fx the bound",
		files, rps, rps, bound, fixed429, fixedTook.Round(time.Millisecond), fixedWall.Round(time.Millisecond),
		adapt429, adaptTook.Round(time.Millisecond), adaptWall.Round(time.Millisecond),
		float64(fixed429)/float64(max(adapt429, 1)), adaptTook.Seconds()/bound.Seconds())
	if fixedLimit != 20 {
		t.Errorf("fixed run: f1_concurrency_limit %d, want 20", fixedLimit)
	}
	if adapt429*5 > fixed429 {
		t.Errorf("adaptive answered %d x 429, fixed %d: want at least 5x fewer", adapt429, fixed429)
	}
	if adaptTook > bound*12/10 {
		t.Errorf("adaptive took %v, more than 1.2x the quota's bound %v", adaptTook, bound)
	}
}

// requestSpan is the time from the first to the last request of a mirror's
// request log.
func requestSpan(t *testing.T, log string) time.Duration {
	t.Helper()
	var first, last time.Time
	for _, line := range strings.Split(strings.TrimSpace(log), "\n") {
		at, err := time.Parse(time.RFC3339Nano, strings.Fields(line)[0])
		if err != nil {
			t.Fatalf("mirror log line %q: %v", line, err)
		}
		if first.IsZero() || at.Before(first) {
			first = at
		}
		if at.After(last) {
			last = at
		}
	}
	return last.Sub(first)
}

// wireBytes sums the body bytes of the mirror's request log by status.
func wireBytes(log string) map[int]int64 {
	out := map[int]int64{}
	for _, m := range regexp.MustCompile(`" (\d{3}) (\d+)B `).FindAllStringSubmatch(log, -1) {
		status, _ := strconv.Atoi(m[1])
		n, _ := strconv.ParseInt(m[2], 10, 64)
		out[status] += n
	}
	return out
}

func TestWarmRerunAfterTTLIsRevalidated(t *testing.T) {
	var mlog testkit.LogBuffer
	cfg := mirrortest.SharedConfig(t)
	cfg.Log = &mlog
	m := mirrortest.Start(t, cfg)
	dir := t.TempDir()
	rerun := func() (msgs []*service.Message, wire map[int]int64, counts mirror.Counts) {
		m.Reset()
		before := len(mlog.String())
		r := newRun(t)
		r.must(r.sb.AddCacheYAML(fmt.Sprintf(`{ label: disk, file: { directory: %q } }`, dir)))
		msgs = r.input(fmt.Sprintf(`
f1_fetch:
  base_urls: [ %q ]
  cache_resource: disk
  cache_ttl: 1ms
  sessions:
    - { year: 2025, gp: %q, session: %q, files: [ drivers.json, corners.json ], drivers: [ VER ], laps: all }
`, m.URL, gpAUS, quali))
		return msgs, wireBytes(mlog.String()[before:]), m.Counts()
	}
	cold, coldWire, coldCounts := rerun()
	time.Sleep(5 * time.Millisecond) // past cache_ttl
	warm, warmWire, warmCounts := rerun()

	if len(cold) != 20 || len(warm) != len(cold) { // drivers, corners, laptimes, laps 1..17
		t.Fatalf("%d documents cold, %d warm; want 20 each", len(cold), len(warm))
	}
	var docBytes int64
	for i, msg := range warm {
		c, _ := msg.MetaGet(metaCache)
		status, _ := msg.MetaGet(metaStatus)
		was, _ := cold[i].MetaGet(metaCache)
		if c != "hit" || status != "304" || was != "miss" || msg.GetError() != nil {
			t.Fatalf("message %d: f1_cache %q (f1_status %s) warm, %q cold (err %v); want a hit confirmed by a 304 after a miss", i, c, status, was, msg.GetError())
		}
		a, _ := msg.AsBytes()
		b, _ := cold[i].AsBytes()
		if !bytes.Equal(a, b) {
			t.Fatalf("message %d: the revalidated document differs from the fetched one", i)
		}
		docBytes += int64(len(a))
	}
	if warmCounts.ByStatus[http.StatusNotModified] != 20 || warmCounts.ByStatus[http.StatusOK] != 0 || coldCounts.ByStatus[http.StatusOK] != 20 {
		t.Fatalf("mirror statuses cold %v, warm %v; want 20 x 200 then 20 x 304", coldCounts.ByStatus, warmCounts.ByStatus)
	}
	saved := coldWire[http.StatusOK] - warmWire[http.StatusOK] - warmWire[http.StatusNotModified]
	if saved <= 0 || warmWire[http.StatusNotModified] != 0 {
		t.Fatalf("wire bytes cold %v, warm %v", coldWire, warmWire)
	}
	t.Logf("20 documents (%d document bytes): cold run %d body bytes on the wire (gzip) in 20 x 200; warm rerun after cache_ttl: 20 x 304, %d body bytes; saved %d bytes (100%%)",
		docBytes, coldWire[http.StatusOK], warmWire[http.StatusNotModified], saved)
}

func TestProgressIsLoggedAndExposed(t *testing.T) {
	m := mirrortest.Start(t, mirrortest.SharedConfig(t))
	m.SetFaults(mirror.Faults{Rules: []mirror.Rule{{LatencyMS: 20}}})
	r := newRun(t)
	msgs := r.input(fmt.Sprintf(`
f1_fetch:
  base_urls: [ %q ]
  max_concurrent_requests: 2
  progress_interval: 50ms
  sessions:
    - { year: 2025, gp: %q, session: %q, files: [ drivers.json ], drivers: [ VER ], laps: all }
`, m.URL, gpAUS, quali))
	// drivers, laptimes, laps 1..17, and lap 18 answering 404 (dropped).
	if len(msgs) != 19 {
		t.Fatalf("%d documents, want 19", len(msgs))
	}
	var bytesOut int64
	for _, msg := range msgs {
		b, _ := msg.AsBytes()
		bytesOut += int64(len(b))
	}
	if done, planned, b := r.gauge("f1_progress_done"), r.gauge("f1_progress_planned"), r.gauge("f1_progress_bytes"); done != 20 || planned != 20 || b != bytesOut {
		t.Errorf("gauges done %d, planned %d, bytes %d; want 20, 20, %d", done, planned, b, bytesOut)
	}
	var lines []string
	for _, l := range strings.Split(r.log.String(), "\n") {
		if strings.Contains(l, "f1_fetch progress:") {
			lines = append(lines, l)
		}
	}
	if len(lines) < 2 || !strings.Contains(lines[0], "files/s") || !strings.Contains(lines[0], "ETA") || !strings.Contains(lines[0], "level=INFO") {
		t.Fatalf("want at least two info progress lines with rate and ETA, got:\n%s", strings.Join(lines, "\n"))
	}
	if last := lines[len(lines)-1]; !strings.Contains(last, "20/20 files (100%)") {
		t.Fatalf("the last progress line should report the run finished: %s", last)
	}
	t.Logf("%d progress lines; first: %s", len(lines), lines[0])
}

// concurrentFinishes is a processor that plans progressFiles files and
// finishes them on as many goroutines at once, as the input's fetches do.
type concurrentFinishes struct{ p *progress }

const progressFiles = 20000

func (c concurrentFinishes) ProcessBatch(_ context.Context, b service.MessageBatch) ([]service.MessageBatch, error) {
	var wg sync.WaitGroup
	for range progressFiles {
		wg.Go(c.p.plan)
	}
	wg.Wait()
	for range progressFiles {
		wg.Go(func() { c.p.finish(fetch.Result{Bytes: 10}) })
	}
	wg.Wait()
	return []service.MessageBatch{b}, nil
}

func (concurrentFinishes) Close(context.Context) error { return nil }

func init() {
	err := service.RegisterBatchProcessor("f1fetch_test_progress", service.NewConfigSpec(),
		func(_ *service.ParsedConfig, mgr *service.Resources) (service.BatchProcessor, error) {
			return concurrentFinishes{newProgress(mgr.Metrics())}, nil
		})
	if err != nil {
		panic(err)
	}
}

// The gauges end at their counts however the fetches' goroutines finish:
// two Sets landing out of order once left f1_progress_done at 18,020 of
// 20,000 finished files.
func TestProgressGaugesEndAtTheirCounts(t *testing.T) {
	r := newRun(t)
	r.batch([]string{`f1fetch_test_progress: {}`}, []string{"x"})
	if planned, done, b := r.gauge("f1_progress_planned"), r.gauge("f1_progress_done"), r.gauge("f1_progress_bytes"); planned != progressFiles || done != progressFiles || b != 10*progressFiles {
		t.Fatalf("gauges planned %d, done %d, bytes %d; want %d, %d, %d", planned, done, b, progressFiles, progressFiles, 10*progressFiles)
	}
}

func TestCDNCitizenFieldsRefuseBadValues(t *testing.T) {
	for _, c := range []struct{ yaml, want string }{
		{`f1_fetch: { rate_limit: nope }`, `field rate_limit: value "nope"`},
		{`f1_expand: { rate_limit: nope }`, `field rate_limit: value "nope"`},
		{`f1_fetch: { adaptive: true, adaptive_min: 30 }`, "adaptive_min"},
	} {
		err := processorConfigError(c.yaml)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: want an error naming %s, got %v", c.yaml, c.want, err)
		}
	}
	conf, err := fetchInputSpec().ParseYAML(fmt.Sprintf(`{ progress_interval: -1s, requests: [ { year: 2025, gp: %q, session: %q, path: drivers.json } ] }`, gpAUS, quali), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := newFetchInput(conf, service.MockResources()); err == nil || !strings.Contains(err.Error(), "field progress_interval: value -1s") {
		t.Errorf("a negative progress_interval: got %v", err)
	}
}
