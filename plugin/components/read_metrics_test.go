package components

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"testing"

	"github.com/f1fetch/f1fetch/plugin/mirror"
	"github.com/f1fetch/f1fetch/plugin/mirror/mirrortest"
	"github.com/redpanda-data/benthos/v4/public/service"
)

// tally is a metrics exporter for tests that keeps every counter by its
// labels and the number of samples of every timer (json_api shows only a
// timer's percentiles).
type tally struct {
	mu      sync.Mutex
	series  []*series
	samples map[string]int64
}

type series struct {
	name   string
	labels map[string]string
	value  int64
}

var tallies sync.Map // id -> *tally

func init() {
	spec := service.NewConfigSpec().Field(service.NewStringField("id"))
	err := service.RegisterMetricsExporter("f1fetch_test_tally", spec, func(conf *service.ParsedConfig, _ *service.Logger) (service.MetricsExporter, error) {
		id, err := conf.FieldString("id")
		if err != nil {
			return nil, err
		}
		tl := &tally{samples: map[string]int64{}}
		tallies.Store(id, tl)
		return tl, nil
	})
	if err != nil {
		panic(err)
	}
}

// tallyRun is a test stream whose metrics go to a tally.
func tallyRun(t *testing.T) (*run, func() *tally) {
	r := newRun(t)
	r.must(r.sb.SetMetricsYAML(fmt.Sprintf("f1fetch_test_tally: { id: %q }", t.Name())))
	t.Cleanup(func() { tallies.Delete(t.Name()) })
	return r, func() *tally {
		tl, ok := tallies.Load(t.Name())
		if !ok {
			t.Fatal("no metrics")
		}
		return tl.(*tally)
	}
}

// count sums the counters called name whose labels include the pairs of
// kv (key, value, ...).
func (tl *tally) count(name string, kv ...string) int64 {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	var n int64
next:
	for _, s := range tl.series {
		if s.name != name {
			continue
		}
		for i := 0; i+1 < len(kv); i += 2 {
			if s.labels[kv[i]] != kv[i+1] {
				continue next
			}
		}
		n += s.value
	}
	return n
}

func (tl *tally) timings(name string) int64 {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	return tl.samples[name]
}

type tallyCounter struct {
	tl *tally
	s  *series
}

func (c tallyCounter) Incr(n int64) { c.tl.mu.Lock(); c.s.value += n; c.tl.mu.Unlock() }

type tallyTimer struct {
	tl   *tally
	name string
}

func (tm tallyTimer) Timing(int64) { tm.tl.mu.Lock(); tm.tl.samples[tm.name]++; tm.tl.mu.Unlock() }

type tallyGauge struct{}

func (tallyGauge) Set(int64) {}

func (tl *tally) NewCounterCtor(name string, keys ...string) service.MetricsExporterCounterCtor {
	return func(values ...string) service.MetricsExporterCounter {
		labels := map[string]string{}
		for i, k := range keys {
			labels[k] = values[i]
		}
		s := &series{name: name, labels: labels}
		tl.mu.Lock()
		tl.series = append(tl.series, s)
		tl.mu.Unlock()
		return tallyCounter{tl, s}
	}
}

func (tl *tally) NewTimerCtor(name string, _ ...string) service.MetricsExporterTimerCtor {
	return func(...string) service.MetricsExporterTimer { return tallyTimer{tl, name} }
}

func (tl *tally) NewGaugeCtor(string, ...string) service.MetricsExporterGaugeCtor {
	return func(...string) service.MetricsExporterGauge { return tallyGauge{} }
}

func (tl *tally) Close(context.Context) error { return nil }

// f1_expand reads every driver's laptimes.json and probes laps over the
// network; each read counts once, as a fetch of the processor does: every
// tuple read in f1_requests by outcome, in f1_cache (a new client: all
// misses) and in f1_request_latency_ns, every try after the first in
// f1_retries; together exactly what the mirror answered. Nothing is
// emitted as a document: f1_bytes and f1_not_found_dropped stay 0.
func TestExpandReadsAreCountedOnce(t *testing.T) {
	m := mirrortest.Start(t, mirrortest.SharedConfig(t))
	m.SetFaults(mirror.Faults{Rules: []mirror.Rule{{PathPrefix: "/2025@main/" + gpAUS + "/Race/HAD/laptimes.json", FailFirstN: 1, FailStatus: 500}}})
	r, metrics := tallyRun(t)
	msgs := r.batch([]string{fmt.Sprintf(`f1_expand: { base_urls: [ %q ], backoff_factor: 0.01, jitter_max: 1ms }`, m.URL)},
		[]string{fmt.Sprintf(`{"year": 2025, "gp": %q, "session": "Race", "files": ["corners.json"], "drivers": ["HAD", "DOO"], "laps": "all"}`, gpAUS)})
	if len(msgs) == 0 || firstErr(msgs) != nil {
		t.Fatalf("%d messages, %v", len(msgs), firstErr(msgs))
	}
	c := m.Counts()
	if c.Total != 5 || c.ByStatus[500] != 1 || c.ByStatus[404] != 2 {
		t.Fatalf("the mirror answered %v; want the two laptimes.json (HAD's after a 500) and the 404 ending each driver's probes", c.ByStatus)
	}
	tl := metrics()
	ok, notFound, retries := tl.count("f1_requests", "outcome", "ok"), tl.count("f1_requests", "outcome", "not_found"), tl.count("f1_retries")
	if all := tl.count("f1_requests"); ok != 2 || notFound != 2 || all != 4 || retries != 1 || all+retries != c.Total {
		t.Fatalf("f1_requests %d (ok %d, not_found %d), f1_retries %d; the mirror answered %d requests for 4 reads: want 2, 2 and 1 retry", all, ok, notFound, retries, c.Total)
	}
	if miss, samples := tl.count("f1_cache", "result", "miss"), tl.timings("f1_request_latency_ns"); miss != 4 || samples != 4 {
		t.Fatalf("f1_cache{result=miss} %d, f1_request_latency_ns %d samples; want 4, one a read", miss, samples)
	}
	if b, dropped := tl.count("f1_bytes"), tl.count("f1_not_found_dropped"); b != 0 || dropped != 0 {
		t.Fatalf("f1_bytes %d, f1_not_found_dropped %d: f1_expand emits tuples, not documents", b, dropped)
	}
}

// The input reads the laptimes.json it does not emit (laptimes: false) to
// plan the laps: those reads count once, as the documents it emits do (in
// its Read, the probes' 404 included). f1_bytes is the bytes of the
// documents emitted, not of the reads.
func TestInputReadsAreCountedOnce(t *testing.T) {
	m := mirrortest.Start(t, mirrortest.SharedConfig(t))
	r, metrics := tallyRun(t)
	got := r.input(fmt.Sprintf(`
f1_fetch:
  base_urls: [ %q ]
  sessions:
    - { year: 2025, gp: %q, session: Race, files: [ corners.json ], drivers: [ HAD, DOO ], laptimes: false, laps: all }
`, m.URL, gpAUS))
	c := m.Counts()
	if c.Path("/2025@main/"+gpAUS+"/Race/HAD/laptimes.json") != 1 || c.ByStatus[404] != 2 || c.ByStatus[200]+c.ByStatus[404] != c.Total {
		t.Fatalf("the mirror answered %v; want HAD's laptimes.json read and each driver's probes ended by a 404", c.ByStatus)
	}
	tl := metrics()
	ok, notFound := tl.count("f1_requests", "outcome", "ok"), tl.count("f1_requests", "outcome", "not_found")
	if ok != c.ByStatus[200] || notFound != c.ByStatus[404] || tl.count("f1_requests") != c.Total {
		t.Fatalf("f1_requests ok %d, not_found %d, all %d; the mirror answered %d with 200 and %d with 404", ok, notFound, tl.count("f1_requests"), c.ByStatus[200], c.ByStatus[404])
	}
	if n := tl.timings("f1_request_latency_ns"); n != c.Total {
		t.Fatalf("f1_request_latency_ns has %d samples for %d requests", n, c.Total)
	}
	var emitted int64
	for _, msg := range got {
		n, _ := msg.MetaGet(metaBytes)
		b, _ := strconv.ParseInt(n, 10, 64)
		emitted += b
	}
	if b := tl.count("f1_bytes"); b != emitted || emitted == 0 {
		t.Fatalf("f1_bytes %d; want %d, the bytes of the %d documents emitted", b, emitted, len(got))
	}
}
