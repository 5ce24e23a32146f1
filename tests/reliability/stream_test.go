package reliability

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/redpanda-data/benthos/v4/public/components/io"
	_ "github.com/redpanda-data/benthos/v4/public/components/pure"
	"github.com/redpanda-data/benthos/v4/public/service"

	"github.com/f1fetch/f1fetch/internal/testkit"
	_ "github.com/f1fetch/f1fetch/plugin/components"
	"github.com/f1fetch/f1fetch/plugin/fetch"
	"github.com/f1fetch/f1fetch/plugin/mirror"
)

// streamRun is what came out of a Benthos stream with the f1_fetch processor.
type streamRun struct {
	out     []*service.Message
	metrics string // json_api metrics
	logs    string // every log line, debug level
	wall    time.Duration
}

// runStream sends batches of raw messages through a real stream (producer
// func -> f1_fetch processor -> consumer func); each input message carries
// its index in the metadata "idx".
func runStream(t *testing.T, procYAML string, batches ...[][]byte) streamRun {
	t.Helper()
	sb := service.NewStreamBuilder()
	mux := http.NewServeMux()
	sb.SetHTTPMux(mux)
	if err := sb.SetMetricsYAML("json_api: {}"); err != nil {
		t.Fatal(err)
	}
	var logs testkit.LogBuffer
	sb.SetLogger(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	produce, err := sb.AddBatchProducerFunc()
	if err != nil {
		t.Fatal(err)
	}
	if err := sb.AddProcessorYAML(procYAML); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var out []*service.Message
	if err := sb.AddBatchConsumerFunc(func(_ context.Context, b service.MessageBatch) error {
		mu.Lock()
		defer mu.Unlock()
		out = append(out, b...)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	stream, err := sb.Build()
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- stream.Run(context.Background()) }()
	ctx := ctxFor(t, time.Minute)
	start := time.Now()
	idx := 0
	for _, raw := range batches {
		var batch service.MessageBatch
		for _, b := range raw {
			m := service.NewMessage(b)
			m.MetaSetMut("idx", idx)
			idx++
			batch = append(batch, m)
		}
		if err := produce(ctx, batch); err != nil {
			t.Fatal(err)
		}
	}
	wall := time.Since(start)
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if err := stream.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	<-done
	mu.Lock()
	defer mu.Unlock()
	return streamRun{out: out, metrics: rec.Body.String(), logs: logs.String(), wall: wall}
}

// procYAML is the f1_fetch processor on base with fast retries, no cache and
// 404s kept as flagged messages, so that every input has an output.
func procYAML(caFile string, maxRetries int, bases ...string) string {
	quoted := make([]string, len(bases))
	for i, b := range bases {
		quoted[i] = strconv.Quote(b)
	}
	return fmt.Sprintf(`
f1_fetch:
  base_urls: [ %s ]
  on_not_found: error
  use_cache: false
  write_cache: false
  backoff_factor: 0.01
  jitter_max: 1ms
  max_delay: 1s
  timeout: 5s
  max_retries: %d
  breaker_failures: 100000
  tls: { root_cas_file: %q }
`, strings.Join(quoted, ", "), maxRetries, caFile)
}

// streamOutcome checks one output per input, in input order, and sums them.
type streamOutcome struct {
	docs, flagged, lost, dup, retries int
	kinds                             map[string]int
}

func checkStream(t *testing.T, n int, out []*service.Message) streamOutcome {
	t.Helper()
	o := streamOutcome{kinds: map[string]int{}}
	seen := make([]int, n)
	last := -1
	for _, m := range out {
		v, _ := m.MetaGetMut("idx")
		i, ok := v.(int)
		if !ok || i < 0 || i >= n {
			t.Fatalf("output without a valid idx: %v", v)
		}
		seen[i]++
		if i <= last {
			t.Errorf("output idx %d after %d: order lost", i, last)
		}
		last = i
		if a, ok := m.MetaGetMut("f1_attempts"); ok {
			if attempts, ok := a.(int); ok && attempts > 1 {
				o.retries += attempts - 1
			}
		}
		if err := m.GetError(); err != nil {
			o.flagged++
			kind, _ := m.MetaGet("f1_error_kind")
			o.kinds[kind]++
			continue
		}
		b, _ := m.AsBytes()
		if !json.Valid(b) || len(b) == 0 {
			t.Errorf("output %d: document is not JSON", i)
		}
		o.docs++
	}
	for _, c := range seen {
		switch {
		case c == 0:
			o.lost++
		case c > 1:
			o.dup++
		}
	}
	if o.lost != 0 || o.dup != 0 {
		t.Errorf("stream lost %d and duplicated %d of %d messages", o.lost, o.dup, n)
	}
	return o
}

func tupleJSON(path string) []byte {
	return fmt.Appendf(nil, `{"year": 2025, "gp": %q, "session": %q, "path": %q}`, gpAUS, quali, path)
}

// TestStreamFaultsKeepOrder runs the corpus through the Benthos processor in
// batches of 16 while the mirror fails 10% of requests with 500 and corrupts
// every VER file, with a missing file and a bad tuple in the mix: one
// output per message, in order, failures flagged with their kind.
func TestStreamFaultsKeepOrder(t *testing.T) {
	leakCheck(t)
	ts := corpusTuples(t)
	m := startMirror(t, true, mirror.Faults{Rules: []mirror.Rule{
		{PathPrefix: "/2025@main/Australian Grand Prix/Qualifying/VER/", CorruptRate: 1},
		{StatusRate: map[int]float64{500: 0.10}},
	}})
	var raws [][]byte
	wantKind := map[int]string{}
	for i, tp := range ts {
		raws = append(raws, tupleJSON(tp.Path))
		if tp.Driver() == "VER" {
			wantKind[i] = fetch.KindInvalid
		}
	}
	wantKind[len(raws)] = fetch.KindNotFound
	raws = append(raws, tupleJSON("XXX/laptimes.json"))
	wantKind[len(raws)] = fetch.KindBadRequest
	raws = append(raws, tupleJSON("../drivers.json"))
	wantKind[len(raws)] = fetch.KindBadRequest
	raws = append(raws, []byte(`[2025, "Australian Grand Prix"]`))
	var batches [][][]byte
	for i := 0; i < len(raws); i += 16 {
		batches = append(batches, raws[i:min(i+16, len(raws))])
	}

	r := runStream(t, procYAML(m.CAFile, 5, m.URL), batches...)
	o := checkStream(t, len(raws), r.out)
	for _, msg := range r.out {
		v, _ := msg.MetaGetMut("idx")
		i := v.(int)
		kind, _ := msg.MetaGet("f1_error_kind")
		if want := wantKind[i]; kind != want {
			t.Errorf("message %d: f1_error_kind %q, want %q (error %v)", i, kind, want, msg.GetError())
		}
	}
	wantExact(t, "documents", o.docs, len(raws)-len(wantKind))
	counts := m.Counts()
	wantExact(t, "retries (one per 500)", o.retries, int(counts.ByStatus[500]))
	if !strings.Contains(r.metrics, fmt.Sprintf(`"f1_retries{label=\"\",path=\"root.pipeline.processors.0\"}":%d`, o.retries)) && o.retries > 0 {
		t.Errorf("metric f1_retries does not say %d:\n%s", o.retries, r.metrics)
	}
	record(t, row{Scenario: "Benthos stream: 10% 500, VER files corrupt, a 404 and 2 bad tuples", Tuples: len(raws),
		Documents: o.docs, Flagged: o.flagged, Lost: o.lost, Duplicated: o.dup, Retries: o.retries, Requests: counts.Total, Wall: r.wall,
		Happened: fmt.Sprintf("one message out per message in, in order; flagged: %d invalid, %d not_found, %d bad_request; 500s retried",
			o.kinds[fetch.KindInvalid], o.kinds[fetch.KindNotFound], o.kinds[fetch.KindBadRequest])})
}

// TestStreamBreakerMetric: with every source down, each message is flagged
// network at once and the f1_breaker_state gauge reports the source open (2).
func TestStreamBreakerMetric(t *testing.T) {
	leakCheck(t)
	dead := "http://" + deadAddr(t)
	var raws [][]byte
	for _, tp := range corpusTuples(t)[:20] {
		raws = append(raws, tupleJSON(tp.Path))
	}
	yaml := strings.Replace(procYAML("", 3, dead), "breaker_failures: 100000", "breaker_failures: 5", 1)
	r := runStream(t, yaml, raws)
	o := checkStream(t, len(raws), r.out)
	wantExact(t, "flagged network", o.kinds[fetch.KindNetwork], len(raws))
	gauge := fmt.Sprintf(`"f1_breaker_state{label=\"\",path=\"root.pipeline.processors.0\",source=\"%s\"}":2`, dead)
	if !strings.Contains(r.metrics, gauge) {
		t.Errorf("breaker metric: want %s in\n%s", gauge, r.metrics)
	}
	record(t, row{Scenario: "Benthos stream: the only source down", Tuples: len(raws), Documents: o.docs, Flagged: o.flagged,
		Lost: o.lost, Duplicated: o.dup, Retries: o.retries, Requests: 0, Wall: r.wall,
		Happened: "every message flagged network; metric f1_breaker_state{source} = 2 (open)"})
}

// TestInputOutputRejects runs the f1_fetch input into an output that
// rejects every flagged message (as reject_errored does) and a seeded 20%
// of the documents, while the mirror fails 10% of requests with a 500 and
// no retries are allowed: each rejected document is sent again as fetched,
// each rejected failure fetched again, until every file is taken exactly
// once as its document, and the input then ends.
func TestInputOutputRejects(t *testing.T) {
	leakCheck(t)
	ts := corpusTuples(t)
	m := startMirror(t, true, mirror.Faults{Seed: 7, Rules: []mirror.Rule{{StatusRate: map[int]float64{500: 0.10}}}})
	var requests []string
	for _, tp := range ts {
		requests = append(requests, fmt.Sprintf("{ year: 2025, gp: %q, session: %q, path: %q }", gpAUS, quali, tp.Path))
	}
	sb := service.NewStreamBuilder()
	var logs testkit.LogBuffer
	sb.SetLogger(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo})))
	if err := sb.AddInputYAML(fmt.Sprintf(`
f1_fetch:
  base_urls: [ %q ]
  max_retries: 0
  breaker_failures: 100000
  use_cache: false
  write_cache: false
  tls: { root_cas_file: %q }
  requests: [ %s ]
`, m.URL, m.CAFile, strings.Join(requests, ", "))); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	taken := map[string]int{}
	var deliveries, rejectedDocs, rejectedFailures int
	rng := rand.New(rand.NewPCG(7, 7))
	if err := sb.AddConsumerFunc(func(_ context.Context, msg *service.Message) error {
		mu.Lock()
		defer mu.Unlock()
		deliveries++
		if err := msg.GetError(); err != nil {
			rejectedFailures++
			return err
		}
		if rng.Float64() < 0.2 {
			rejectedDocs++
			return errors.New("rejected")
		}
		p, _ := msg.MetaGet("f1_path")
		taken[p]++
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	stream, err := sb.Build()
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := stream.Run(ctxFor(t, time.Minute)); err != nil {
		t.Fatalf("run: %v\n%s", err, logs.String())
	}
	elapsed := time.Since(start)
	mu.Lock()
	defer mu.Unlock()
	lost, dup := 0, 0
	for _, tp := range ts {
		switch taken[tp.Path] {
		case 0:
			lost++
		case 1:
		default:
			dup++
		}
	}
	wantExact(t, "files taken", len(taken), len(ts))
	wantExact(t, "lost", lost, 0)
	wantExact(t, "taken twice", dup, 0)
	counts := m.Counts()
	// Every request is a first fetch or the new fetch of a rejected failure.
	wantExact(t, "mirror requests", int(counts.Total), len(ts)+rejectedFailures)
	if rejectedDocs == 0 || rejectedFailures == 0 {
		t.Fatalf("the run rejected %d documents and %d failures: it proves nothing", rejectedDocs, rejectedFailures)
	}
	record(t, row{Scenario: "f1_fetch input, output rejecting every failure and 20% of documents (seeded), 10% HTTP 500, no retries", Tuples: len(ts),
		Documents: len(taken), Flagged: 0, Lost: lost, Duplicated: dup, Retries: rejectedFailures, Requests: counts.Total, Wall: elapsed,
		Happened: fmt.Sprintf("%d deliveries: %d rejected documents sent again as fetched, %d rejected failures fetched again; every file taken once, then the input ended", deliveries, rejectedDocs, rejectedFailures)})
}
