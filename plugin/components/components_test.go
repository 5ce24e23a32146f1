package components

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redpanda-data/benthos/v4/public/bloblang"
	_ "github.com/redpanda-data/benthos/v4/public/components/io"
	_ "github.com/redpanda-data/benthos/v4/public/components/pure"
	"github.com/redpanda-data/benthos/v4/public/service"

	"github.com/f1fetch/f1fetch/internal/testkit"
	"github.com/f1fetch/f1fetch/plugin/fetch"
	"github.com/f1fetch/f1fetch/plugin/mirror"
	"github.com/f1fetch/f1fetch/plugin/mirror/mirrortest"
)

const (
	gpAUS = "Australian Grand Prix"
	quali = "Qualifying"
)

// received is what a test stream's output got.
type received struct {
	mu   sync.Mutex
	msgs []*service.Message
}

func (r *received) add(_ context.Context, b service.MessageBatch) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.msgs = append(r.msgs, b...)
	return nil
}

func (r *received) all() []*service.Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*service.Message(nil), r.msgs...)
}

func (r *received) paths(t *testing.T) []string {
	var out []string
	for _, m := range r.all() {
		p, _ := m.MetaGet(metaPath)
		out = append(out, p)
	}
	return out
}

// runProcessor sends one batch of raw messages through the processor YAML
// and returns the messages that came out, with the metrics text.
func runProcessor(t *testing.T, procYAML string, inputs ...string) ([]*service.Message, string) {
	t.Helper()
	r := newRun(t)
	msgs := r.batch([]string{procYAML}, inputs)
	return msgs, r.metrics()
}

// runInput runs a stream whose input is inYAML until the input ends.
func runInput(t *testing.T, inYAML string) *received {
	t.Helper()
	r := newRun(t)
	r.input(inYAML)
	return &r.got
}

func tupleJSON(path string) string {
	return fmt.Sprintf(`{"year": 2025, "gp": %q, "session": %q, "path": %q}`, gpAUS, quali, path)
}

func TestFetchProcessorKeepsOrderFlagsFailuresAndSetsMetadata(t *testing.T) {
	m := mirrortest.Start(t, mirrortest.SharedConfig(t))
	msgs, metrics := runProcessor(t, fmt.Sprintf(`
f1_fetch:
  base_urls: [ %q ]
  on_not_found: error
`, m.URL),
		tupleJSON("VER/laptimes.json"),
		`[2025, "Australian Grand Prix", "Qualifying", "VER/2_tel.json"]`,
		`{"year": "2025", "gp": "Australian Grand Prix", "session": "Qualifying", "path": "XXX/laptimes.json"}`,
		`{"year": 2025, "gp": "Australian Grand Prix", "session": "Qualifying", "path": "../../etc/passwd"}`,
		`not json at all`,
		tupleJSON("drivers.json"),
	)
	if len(msgs) != 6 {
		t.Fatalf("%d messages out of 6", len(msgs))
	}
	wantKinds := []string{"", "", "not_found", "bad_request", "bad_request", ""}
	for i, msg := range msgs {
		kind, _ := msg.MetaGet(metaErrorKind)
		if kind != wantKinds[i] || (kind == "") != (msg.GetError() == nil) {
			t.Errorf("message %d: error kind %q (err %v), want %q", i, kind, msg.GetError(), wantKinds[i])
		}
	}
	body, _ := msgs[1].AsBytes()
	var tel struct {
		Tel struct{ Speed []any } `json:"tel"`
	}
	if err := json.Unmarshal(body, &tel); err != nil || len(tel.Tel.Speed) == 0 {
		t.Fatalf("telemetry document: %v", err)
	}
	for _, key := range []string{metaYear, metaGP, metaSession, metaPath, metaKind, metaDriver, metaLap, metaURL, metaSource, metaStatus, metaCache, metaAttempts, metaDuration, metaBytes} {
		if _, ok := msgs[1].MetaGet(key); !ok {
			t.Errorf("metadata %s missing", key)
		}
	}
	if lap, _ := msgs[1].MetaGet(metaLap); lap != "2" {
		t.Errorf("f1_lap %q", lap)
	}
	if kept, _ := msgs[4].AsBytes(); string(kept) != "not json at all" {
		t.Errorf("a failed message must keep its content, got %q", kept)
	}
	if n := m.Counts().Total; n != 4 {
		t.Errorf("mirror saw %d requests; bad tuples must send none", n)
	}
	for _, want := range []string{`f1_requests{`, `bad_request`, `not_found`, `f1_cache{`, `f1_request_latency_ns`, `f1_in_flight`, `f1_breaker_state`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	// One outcome a message: 3 documents, 1 not found, 2 refused.
	for outcome, n := range map[string]int{"ok": 3, "not_found": 1, "bad_request": 2} {
		if got := counter(metrics, "f1_requests", "outcome", outcome); got != n {
			t.Errorf("f1_requests{outcome=%q} = %d, want %d", outcome, got, n)
		}
	}
}

// counter reads one labelled counter of the json_api metrics text (-1 when
// it is absent).
func counter(metrics, name, label, value string) int {
	m := regexp.MustCompile(`"` + regexp.QuoteMeta(name) + `\{[^}]*` + regexp.QuoteMeta(label+`=\"`+value+`\"`) + `[^}]*\}":(\d+)`).FindStringSubmatch(metrics)
	if m == nil {
		return -1
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// A message fetched again (in a catch, after a 500) carries its new
// result's metadata only: no f1_error_kind left from the failure.
func TestRefetchedMessageCarriesOnlyItsNewResult(t *testing.T) {
	m := mirrortest.Start(t, mirrortest.SharedConfig(t))
	m.SetFaults(mirror.Faults{Rules: []mirror.Rule{{FailFirstN: 1, FailStatus: 500}}})
	fetchYAML := fmt.Sprintf(`f1_fetch: { base_urls: [ %q ], max_retries: 0 }`, m.URL)
	msgs := newRun(t).batch([]string{fetchYAML, "catch:\n  - " + fetchYAML}, []string{tupleJSON("VER/laptimes.json")})
	if len(msgs) != 1 || msgs[0].GetError() != nil {
		t.Fatalf("%d messages, error %v; want one, fetched", len(msgs), msgs[0].GetError())
	}
	kind, stale := msgs[0].MetaGet(metaErrorKind)
	status, _ := msgs[0].MetaGet(metaStatus)
	if stale || status != "200" {
		t.Fatalf("fetched again: f1_error_kind %q (present %v), f1_status %q; want no kind, 200", kind, stale, status)
	}
}

// Identical tuples of a batch share one fetch, retried once here: the
// retries metric counts that retry once, as the mirror saw it.
func TestCoalescedRetriesAreCountedOnce(t *testing.T) {
	m := mirrortest.Start(t, mirrortest.SharedConfig(t))
	m.SetFaults(mirror.Faults{Rules: []mirror.Rule{{FailFirstN: 1, FailStatus: 500}}})
	msgs, metrics := runProcessor(t, fmt.Sprintf(`
f1_fetch:
  base_urls: [ %q ]
  backoff_factor: 0.05
  jitter_max: 1ms
`, m.URL), tupleJSON("VER/laptimes.json"), tupleJSON("VER/laptimes.json"))
	if len(msgs) != 2 || firstErr(msgs) != nil {
		t.Fatalf("%d messages, first error %v", len(msgs), firstErr(msgs))
	}
	retries := regexp.MustCompile(`"f1_retries\{[^}]*\}":(\d+)`).FindStringSubmatch(metrics)
	if total := m.Counts().Total; retries == nil || retries[1] != strconv.FormatInt(total-1, 10) {
		t.Fatalf("f1_retries %v for the %d requests the mirror saw, want %d", retries, total, total-1)
	}
}

func TestFetchProcessorDropsNotFoundByDefaultAndCountsIt(t *testing.T) {
	m := mirrortest.Start(t, mirrortest.SharedConfig(t))
	msgs, metrics := runProcessor(t, fmt.Sprintf(`f1_fetch: { base_urls: [ %q ] }`, m.URL),
		tupleJSON("ZZZ/laptimes.json"), tupleJSON("NOR/laptimes.json"))
	if len(msgs) != 1 {
		t.Fatalf("%d messages, want the 404 dropped", len(msgs))
	}
	if p, _ := msgs[0].MetaGet(metaPath); p != "NOR/laptimes.json" {
		t.Fatalf("kept %s", p)
	}
	if !strings.Contains(metrics, `f1_not_found_dropped{label=\"\",path=\"root.pipeline.processors.0\"}":1`) {
		t.Fatalf("dropped 404 not counted:\n%s", metrics)
	}
}

// The component settings have F1FETCH_* variables too (SPEC: every setting):
// F1FETCH_ON_NOT_FOUND=error keeps the 404 flagged, the field wins over it,
// and a bad value is named.
func TestOnNotFoundFromTheEnvironment(t *testing.T) {
	m := mirrortest.Start(t, mirrortest.SharedConfig(t))
	t.Setenv("F1FETCH_ON_NOT_FOUND", "error")
	msgs, _ := runProcessor(t, fmt.Sprintf(`f1_fetch: { base_urls: [ %q ] }`, m.URL),
		tupleJSON("ZZZ/laptimes.json"), tupleJSON("NOR/laptimes.json"))
	if len(msgs) != 2 {
		t.Fatalf("%d messages, want the 404 kept (F1FETCH_ON_NOT_FOUND=error)", len(msgs))
	}
	if kind, _ := msgs[0].MetaGet(metaErrorKind); kind != fetch.KindNotFound {
		t.Fatalf("the 404's f1_error_kind %q, want %s", kind, fetch.KindNotFound)
	}
	msgs, _ = runProcessor(t, fmt.Sprintf(`f1_fetch: { base_urls: [ %q ], on_not_found: drop }`, m.URL),
		tupleJSON("ZZZ/laptimes.json"), tupleJSON("NOR/laptimes.json"))
	if len(msgs) != 1 {
		t.Fatalf("%d messages, want the field's drop to win over the environment", len(msgs))
	}
	t.Setenv("F1FETCH_ON_NOT_FOUND", "skip")
	if err := processorConfigError(fmt.Sprintf(`f1_fetch: { base_urls: [ %q ] }`, m.URL)); err == nil ||
		!strings.Contains(err.Error(), "on_not_found (from F1FETCH_ON_NOT_FOUND)") || !strings.Contains(err.Error(), `"skip"`) {
		t.Fatalf("F1FETCH_ON_NOT_FOUND=skip: want an error naming on_not_found, the variable and the value, got %v", err)
	}
	t.Setenv("F1FETCH_ON_NOT_FOUND", "")
	// A component without the field (f1_expand has no prefetch) names the
	// variable its bad value came from; so does a resource label.
	t.Setenv("F1FETCH_PREFETCH", "-1")
	if err := processorConfigError(fmt.Sprintf(`f1_expand: { base_urls: [ %q ] }`, m.URL)); err == nil ||
		!strings.Contains(err.Error(), "prefetch (from F1FETCH_PREFETCH)") || !strings.Contains(err.Error(), "-1") {
		t.Fatalf("F1FETCH_PREFETCH=-1: want an error naming the variable, got %v", err)
	}
	t.Setenv("F1FETCH_PREFETCH", "")
	t.Setenv("F1FETCH_RATE_LIMIT", "nope")
	if err := processorConfigError(fmt.Sprintf(`f1_fetch: { base_urls: [ %q ] }`, m.URL)); err == nil ||
		!strings.Contains(err.Error(), "rate_limit (from F1FETCH_RATE_LIMIT)") || !strings.Contains(err.Error(), `"nope"`) {
		t.Fatalf("F1FETCH_RATE_LIMIT=nope: want an error naming the variable and the label, got %v", err)
	}
	if err := processorConfigError(fmt.Sprintf(`f1_fetch: { base_urls: [ %q ], rate_limit: nada }`, m.URL)); err == nil ||
		!strings.Contains(err.Error(), "field rate_limit: value \"nada\"") {
		t.Fatalf("rate_limit set in the config: want the field named alone, got %v", err)
	}
	t.Setenv("F1FETCH_RATE_LIMIT", "")
	// A cache_dir that cannot be a directory (a file holds its name) is
	// refused when the client opens it, named as the other settings.
	notDir := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(notDir, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("F1FETCH_CACHE_DIR", notDir)
	if err := processorConfigError(fmt.Sprintf(`f1_fetch: { base_urls: [ %q ] }`, m.URL)); err == nil ||
		!strings.Contains(err.Error(), "field cache_dir (from F1FETCH_CACHE_DIR): value "+strconv.Quote(notDir)) {
		t.Fatalf("F1FETCH_CACHE_DIR on a file: want an error naming the variable and the value, got %v", err)
	}
	t.Setenv("F1FETCH_CACHE_DIR", "")
	if err := processorConfigError(fmt.Sprintf(`f1_fetch: { base_urls: [ %q ], cache_dir: %q }`, m.URL, notDir)); err == nil ||
		!strings.Contains(err.Error(), "field cache_dir: value "+strconv.Quote(notDir)) {
		t.Fatalf("cache_dir on a file: want the field and the value named, got %v", err)
	}
}

func TestFetchInputStreamsSessionsInOrderAndEnds(t *testing.T) {
	m := mirrortest.Start(t, mirrortest.SharedConfig(t))
	got := runInput(t, fmt.Sprintf(`
f1_fetch:
  base_urls: [ %q ]
  prefetch: 8
  requests:
    - { year: 2025, gp: %q, session: Race, path: ALO/33_tel.json }
  sessions:
    - year: 2025
      gp: %q
      session: %q
      files: [ drivers.json, corners.json, weather.json ]
      drivers: [ VER, NOR ]
      laps: fastest
`, m.URL, gpAUS, gpAUS, quali))
	want := "[ALO/33_tel.json drivers.json corners.json VER/laptimes.json NOR/laptimes.json VER/16_tel.json NOR/19_tel.json]"
	if p := fmt.Sprint(got.paths(t)); p != want {
		t.Fatalf("emitted %s\nwant    %s (weather.json answers 404 and is dropped)", p, want)
	}
}

func TestFetchInputAllLapsOfTheBundledRace(t *testing.T) {
	m := mirrortest.Start(t, mirrortest.SharedConfig(t))
	got := runInput(t, fmt.Sprintf(`
f1_fetch:
  base_urls: [ %q ]
  sessions:
    - { year: 2025, gp: %q, session: Race, files: [ drivers.json ], drivers: [ ALO, HAD ], laps: all }
`, m.URL, gpAUS))
	tel := 0
	for _, p := range got.paths(t) {
		if strings.HasSuffix(p, "_tel.json") {
			tel++
		}
	}
	// ALO: laps 1-33; HAD crashed on the formation lap: one file. No errors.
	if tel != 34 {
		t.Fatalf("%d telemetry documents, want 34", tel)
	}
	for _, msg := range got.all() {
		if msg.GetError() != nil {
			t.Fatalf("unexpected failure: %v", msg.GetError())
		}
	}
}

func TestExpandTurnsSessionRequestsIntoTuples(t *testing.T) {
	m := mirrortest.Start(t, mirrortest.SharedConfig(t))
	msgs, _ := runProcessor(t, fmt.Sprintf(`f1_expand: { base_urls: [ %q ] }`, m.URL),
		fmt.Sprintf(`{"year": 2025, "gp": %q, "session": %q, "files": ["drivers.json"], "laps": [1], "drivers": ["VER"]}`, gpAUS, quali),
		`{"year": "twenty", "gp": "x", "session": "y"}`,
		// A misspelt key would silently plan the whole session's telemetry.
		fmt.Sprintf(`{"year": 2025, "gp": %q, "session": %q, "telemtry": false}`, gpAUS, quali),
		fmt.Sprintf(`{"year": 2025, "gp": %q, "session": %q}}`, gpAUS, quali))
	var paths []string
	for _, msg := range msgs {
		if msg.GetError() != nil {
			paths = append(paths, "error")
			continue
		}
		b, _ := msg.AsBytes()
		var tp struct{ Path string }
		_ = json.Unmarshal(b, &tp)
		paths = append(paths, tp.Path)
	}
	if fmt.Sprint(paths) != "[drivers.json VER/laptimes.json VER/1_tel.json error error error]" {
		t.Fatalf("expanded to %v", paths)
	}
	if err := msgs[4].GetError(); !strings.Contains(err.Error(), "telemtry") {
		t.Fatalf("the misspelt key's error does not name it: %v", err)
	}
	if kind, _ := msgs[4].MetaGet(metaErrorKind); kind != fetch.KindBadRequest {
		t.Fatalf("misspelt key: f1_error_kind %q, want %s", kind, fetch.KindBadRequest)
	}
}

// The probe of laps: all that answers 404 is the end of the driver's laps:
// f1_expand sends out no tuple for it (before, one a driver, each costing a
// request downstream and a dead letter under on_not_found: error).
func TestExpandLeavesOutTheProbeThatEnded(t *testing.T) {
	m := mirrortest.Start(t, mirrortest.SharedConfig(t))
	msgs, _ := runProcessor(t, fmt.Sprintf(`f1_expand: { base_urls: [ %q ] }`, m.URL),
		fmt.Sprintf(`{"year": 2025, "gp": %q, "session": %q, "files": ["drivers.json"], "drivers": ["HAD"], "laptimes": false, "laps": "all"}`, gpAUS, quali))
	want := []string{"drivers.json"}
	for lap := 1; lap <= telemetryFiles(t, "HAD"); lap++ {
		want = append(want, fmt.Sprintf("HAD/%d_tel.json", lap))
	}
	var got []string
	for _, msg := range msgs {
		got = append(got, outcome(msg))
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("expanded to %v\nwant %v", got, want)
	}
}

// A request an earlier step flagged passes f1_expand unchanged, its cause
// kept: before, it was expanded, every tuple carrying the old error.
func TestExpandPassesAnEarlierFailureThrough(t *testing.T) {
	m := mirrortest.Start(t, mirrortest.SharedConfig(t))
	msgs := newRun(t).batch([]string{
		`mapping: 'root = if this.gp != "" { throw("upstream step failed") }'`,
		fmt.Sprintf(`f1_expand: { base_urls: [ %q ] }`, m.URL),
	}, []string{fmt.Sprintf(`{"year": 2025, "gp": %q, "session": %q, "files": ["drivers.json"], "drivers": ["VER"], "laps": [1]}`, gpAUS, quali)})
	if len(msgs) != 1 || msgs[0].GetError() == nil || !strings.Contains(msgs[0].GetError().Error(), "upstream step failed") {
		t.Fatalf("%d messages out (first error %v); want the flagged request alone, its error kept", len(msgs), firstErr(msgs))
	}
}

// A request f1_expand could not plan (its drivers.json answered 500) is
// planned again by an f1_expand inside a catch, whose processors still see
// the flag: the tuples come out unflagged. Passing every flagged message
// through would make the catch a silent no-op that then clears the flag.
func TestExpandPlansItsOwnFailureAgainInACatch(t *testing.T) {
	m := mirrortest.Start(t, mirrortest.SharedConfig(t))
	m.SetFaults(mirror.Faults{Rules: []mirror.Rule{{PathPrefix: "/2025@main/" + gpAUS + "/" + quali + "/drivers.json", FailFirstN: 1, FailStatus: 500}}})
	expand := fmt.Sprintf(`f1_expand: { base_urls: [ %q ], max_retries: 0 }`, m.URL)
	msgs := newRun(t).batch([]string{expand, "catch: [ " + expand + " ]"},
		[]string{fmt.Sprintf(`{"year": 2025, "gp": %q, "session": %q, "files": ["corners.json"], "telemetry": false}`, gpAUS, quali)})
	if len(msgs) != 21 {
		t.Fatalf("%d messages (first error %v), want corners.json and 20 laptimes.json", len(msgs), firstErr(msgs))
	}
	for _, msg := range msgs {
		if msg.GetError() != nil {
			t.Fatalf("%s is flagged: %v", outcome(msg), msg.GetError())
		}
		if kind, ok := msg.MetaGet(metaErrorKind); ok {
			t.Fatalf("%s keeps f1_error_kind %q from the failed plan", outcome(msg), kind)
		}
	}
}

// outcome is a message as a test reads it: its path (from the metadata, or
// the tuple it carries), then "(error kind)" when flagged.
func outcome(m *service.Message) string {
	p, _ := m.MetaGet(metaPath)
	if p == "" {
		b, _ := m.AsBytes()
		var tp struct{ Path string }
		_ = json.Unmarshal(b, &tp)
		p = tp.Path
	}
	if m.GetError() != nil {
		kind, _ := m.MetaGet(metaErrorKind)
		p += "(" + kind + ")"
	}
	return p
}

// A document a session plan needs and cannot read (a 500, no retries) is
// never a silent gap: the input flags a message in its place when no
// emitted message carries the failure, and f1_expand flags the request.
func TestPlanFailuresAreFlagged(t *testing.T) {
	m := mirrortest.Start(t, mirrortest.SharedConfig(t))
	fail := func(file string) {
		m.SetFaults(mirror.Faults{Rules: []mirror.Rule{{PathPrefix: "/2025@main/" + gpAUS + "/" + quali + "/" + file, StatusRate: map[int]float64{500: 1}}}})
	}
	for _, c := range []struct {
		name, failing, session, want string
	}{
		{"input, laptimes only read", "VER/laptimes.json", `{ files: [ drivers.json ], drivers: [ VER, NOR ], laptimes: false, laps: fastest }`,
			"[drivers.json VER/laptimes.json(network) NOR/19_tel.json]"},
		{"input, drivers.json only read", "drivers.json", `{ files: [ corners.json ], laps: none }`,
			"[corners.json drivers.json(network)]"},
		{"input, laptimes emitted", "VER/laptimes.json", `{ files: [ corners.json ], drivers: [ VER, NOR ], laps: fastest }`,
			"[corners.json VER/laptimes.json(network) NOR/laptimes.json NOR/19_tel.json]"},
	} {
		t.Run(c.name, func(t *testing.T) {
			fail(c.failing)
			r := newRun(t)
			var got []string
			msgs := r.input(fmt.Sprintf(`
f1_fetch:
  base_urls: [ %q ]
  max_retries: 0
  sessions:
    - { year: 2025, gp: %q, session: %q, %s
`, m.URL, gpAUS, quali, strings.TrimPrefix(c.session, "{ ")))
			for _, msg := range msgs {
				got = append(got, outcome(msg))
			}
			if fmt.Sprint(got) != c.want {
				t.Fatalf("emitted %v, want %s", got, c.want)
			}
			// The message in the document's place tells of the read that failed.
			for _, msg := range msgs {
				if p, _ := msg.MetaGet(metaPath); p == c.failing && msg.GetError() != nil {
					if a, _ := msg.MetaGet(metaAttempts); a != "1" {
						t.Errorf("%s flagged with f1_attempts %q, want the read's 1", p, a)
					}
					if st, _ := msg.MetaGet(metaStatus); st != "500" {
						t.Errorf("%s flagged with f1_status %q, want the read's 500", p, st)
					}
				}
			}
		})
	}
	t.Run("input, a session that does not exist", func(t *testing.T) {
		// A misspelt gp: drivers.json answers 404, dropped by default as every
		// other file; the session is not planned, and the log says why.
		m.SetFaults(mirror.Faults{})
		r := newRun(t)
		msgs := r.input(fmt.Sprintf(`
f1_fetch:
  base_urls: [ %q ]
  sessions:
    - { year: 2025, gp: Australia Grand Prix, session: %q, laps: fastest }
`, m.URL, quali))
		if len(msgs) != 0 || !strings.Contains(r.log.String(), "read drivers.json") {
			t.Fatalf("%d messages; log:\n%s\nwant none and the plan's failure logged", len(msgs), r.log.String())
		}
	})
	t.Run("expand", func(t *testing.T) {
		fail("VER/laptimes.json")
		msgs, _ := runProcessor(t, fmt.Sprintf(`f1_expand: { base_urls: [ %q ], max_retries: 0 }`, m.URL),
			fmt.Sprintf(`{"year": 2025, "gp": %q, "session": %q, "files": ["drivers.json"], "drivers": ["VER", "NOR"], "laps": "fastest"}`, gpAUS, quali))
		if len(msgs) != 1 || msgs[0].GetError() == nil || !strings.Contains(msgs[0].GetError().Error(), "VER/laptimes.json") {
			var got []string
			for _, msg := range msgs {
				got = append(got, outcome(msg))
			}
			t.Fatalf("expanded to %v, want the request alone, flagged for VER/laptimes.json", got)
		}
		if kind, _ := msgs[0].MetaGet(metaErrorKind); kind != fetch.KindNetwork {
			t.Fatalf("f1_error_kind %q, want %s", kind, fetch.KindNetwork)
		}
	})
}

// An empty drivers (or files) list means in f1_expand what it means in the
// input, the default: every driver, not none.
func TestExpandEmptyListsMeanTheDefaultAsInTheInput(t *testing.T) {
	m := mirrortest.Start(t, mirrortest.SharedConfig(t))
	msgs, _ := runProcessor(t, fmt.Sprintf(`f1_expand: { base_urls: [ %q ] }`, m.URL),
		fmt.Sprintf(`{"year": 2025, "gp": %q, "session": %q, "files": ["drivers.json"], "drivers": [], "telemetry": false}`, gpAUS, quali))
	var expanded []string
	for _, msg := range msgs {
		expanded = append(expanded, outcome(msg))
	}
	in := runInput(t, fmt.Sprintf(`
f1_fetch:
  base_urls: [ %q ]
  sessions:
    - { year: 2025, gp: %q, session: %q, files: [ drivers.json ], drivers: [], telemetry: false }
`, m.URL, gpAUS, quali))
	if fmt.Sprint(expanded) != fmt.Sprint(in.paths(t)) || len(expanded) != 21 {
		t.Fatalf("expand planned %v, the input fetched %v; want the same 21 files", expanded, in.paths(t))
	}
}

// f1_rows takes the tuple metadata a mapping sets, not only f1_fetch's: a
// year from JSON (a json.Number) or written 2025.0 (a float) was refused as
// missing metadata. A year that is no whole number is refused by name.
func TestRowsTakeTupleMetadataFromAMapping(t *testing.T) {
	for year, want := range map[string]string{"this.year": "", "2025.0": "", `"2025"`: "", "2025.5": `metadata f1_year value "2025.5"`} {
		exe, err := bloblang.Parse(`meta f1_year = ` + year + `
meta f1_gp = "Australian Grand Prix"
meta f1_session = "Race"
meta f1_path = "VER/laptimes.json"
root = this.doc`)
		if err != nil {
			t.Fatal(err)
		}
		in, err := service.NewMessage([]byte(`{"year": 2025, "doc": {"time": [84.1], "lap": [1.0]}}`)).BloblangQuery(exe)
		if err != nil {
			t.Fatal(err)
		}
		p := &rowsProcessor{rows: service.MockResources().Metrics().NewCounter("rows")}
		out, err := p.ProcessBatch(context.Background(), service.MessageBatch{in})
		if err != nil || len(out) != 1 || len(out[0]) != 1 {
			t.Fatalf("f1_year = %s: %v, %v", year, out, err)
		}
		got := out[0][0].GetError()
		switch {
		case want == "" && got != nil:
			t.Errorf("f1_year = %s: %v, want one row", year, got)
		case want != "" && (got == nil || !strings.Contains(got.Error(), want)):
			t.Errorf("f1_year = %s: %v, want an error saying %s", year, got, want)
		}
	}
}

func TestRowsExplodesDocumentsFromFetch(t *testing.T) {
	m := mirrortest.Start(t, mirrortest.SharedConfig(t))
	msgs, _ := runProcessor(t, fmt.Sprintf(`
f1_fetch: { base_urls: [ %q ] }
`, m.URL)+"\n", tupleJSON("VER/laptimes.json"))
	if len(msgs) != 1 {
		t.Fatal("fetch failed")
	}
	// Feed the fetched document, with its metadata, to f1_rows.
	sb := service.NewStreamBuilder()
	_ = sb.SetLoggerYAML("level: none")
	produce, _ := sb.AddBatchProducerFunc()
	_ = sb.AddProcessorYAML(`f1_rows: {}`)
	var got received
	_ = sb.AddBatchConsumerFunc(got.add)
	stream, err := sb.Build()
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = stream.Run(context.Background()) }()
	noMeta := service.NewMessage([]byte(`{"time": [1], "lap": [1]}`))
	if err := produce(context.Background(), service.MessageBatch{msgs[0], noMeta}); err != nil {
		t.Fatal(err)
	}
	_ = stream.Stop(context.Background())
	out := got.all()
	if len(out) != 12 { // VER has 11 timed laps, plus the flagged message
		t.Fatalf("%d rows", len(out))
	}
	var row map[string]any
	b, _ := out[10].AsBytes()
	if err := json.Unmarshal(b, &row); err != nil || row["driver"] != "VER" || row["lap"] != float64(16) || row["year"] != float64(2025) {
		t.Fatalf("last lap row: %s", b)
	}
	if out[11].GetError() == nil || !strings.Contains(out[11].GetError().Error(), "f1_year") {
		t.Fatalf("a document without metadata should be flagged naming it: %v", out[11].GetError())
	}
}

func TestEnvironmentFallbackAndFieldPrecedence(t *testing.T) {
	m := mirrortest.Start(t, mirrortest.SharedConfig(t))
	t.Setenv("F1FETCH_BASE_URLS", m.URL)
	t.Setenv("F1FETCH_MAX_CONCURRENT", "3")
	spec := fetchProcessorSpec()
	conf, err := spec.ParseYAML(`max_retries: 1`, nil)
	if err != nil {
		t.Fatal(err)
	}
	s, err := settingsFrom(conf)
	if err != nil {
		t.Fatal(err)
	}
	if s.BaseURLs[0] != m.URL || s.MaxConcurrent != 3 || s.MaxRetries != 1 {
		t.Fatalf("env fallback or field precedence broken: %+v", s)
	}
	conf, _ = spec.ParseYAML(`max_concurrent_requests: 9`, nil)
	if s, _ = settingsFrom(conf); s.MaxConcurrent != 9 {
		t.Fatalf("a set field must win over the environment: %d", s.MaxConcurrent)
	}
}

func TestBadConfigNamesTheField(t *testing.T) {
	for _, c := range []struct{ yaml, want string }{
		{`f1_fetch: { max_concurrent_requests: -4 }`, "max_concurrent_requests"},
		{`f1_fetch: { base_urls: [ "http://cdn.example.com" ] }`, "base_urls"},
		{`f1_fetch: { max_concurrency: 4 }`, "max_concurrency"},
		{`f1_fetch: { cache_resource: nope }`, "cache_resource"},
		{`f1_fetch: { timeout: 0s }`, "timeout"},
	} {
		err := processorConfigError(c.yaml)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: want an error naming %s, got %v", c.yaml, c.want, err)
		}
	}
}

func TestCacheResourceIsThePersistentTier(t *testing.T) {
	m := mirrortest.Start(t, mirrortest.SharedConfig(t))
	dir := t.TempDir()
	run := func() {
		r := newRun(t)
		r.must(r.sb.AddCacheYAML(fmt.Sprintf(`{ label: disk, file: { directory: %q } }`, dir)))
		r.input(fmt.Sprintf(`
f1_fetch:
  base_urls: [ %q ]
  cache_resource: disk
  requests: [ { year: 2025, gp: %q, session: %q, path: VER/5_tel.json } ]
`, m.URL, gpAUS, quali))
	}
	run()
	run() // a new stream: new client, empty memory tier; the file cache answers
	if n := m.Count("/2025@main/" + gpAUS + "/" + quali + "/VER/5_tel.json"); n != 1 {
		t.Fatalf("file fetched %d times across two runs sharing a file cache", n)
	}
}

// brokenCache is a cache resource whose backend is down: every call fails.
type brokenCache struct{}

var errCacheDown = errors.New("backend down")

func (brokenCache) Get(context.Context, string) ([]byte, error) { return nil, errCacheDown }
func (brokenCache) Set(context.Context, string, []byte, *time.Duration) error {
	return errCacheDown
}
func (brokenCache) Add(context.Context, string, []byte, *time.Duration) error {
	return errCacheDown
}
func (brokenCache) Delete(context.Context, string) error { return errCacheDown }
func (brokenCache) Close(context.Context) error          { return nil }

// slowCache is a cache resource whose Get takes half a second whatever its
// context says: a persistent tier slow to answer. slowGets counts the Gets
// under way.
type slowCache struct{ brokenCache }

var slowGets atomic.Int64

func (slowCache) Get(context.Context, string) ([]byte, error) {
	slowGets.Add(1)
	defer slowGets.Add(-1)
	time.Sleep(500 * time.Millisecond)
	return nil, service.ErrKeyNotFound
}

func init() {
	for name, c := range map[string]service.Cache{"f1fetch_test_broken": brokenCache{}, "f1fetch_test_slow": slowCache{}} {
		err := service.RegisterCache(name, service.NewConfigSpec(),
			func(*service.ParsedConfig, *service.Resources) (service.Cache, error) { return c, nil })
		if err != nil {
			panic(err)
		}
	}
}

// A cache_dir that stops taking writes (here a file took its name, as
// after an unmount or rm -rf) is logged, and the document still comes
// from the network.
func TestBrokenCacheDirIsLoggedAndTheNetworkAnswers(t *testing.T) {
	m := mirrortest.Start(t, mirrortest.SharedConfig(t))
	dir := filepath.Join(t.TempDir(), "cache")
	var log testkit.LogBuffer
	rb := service.NewResourceBuilder()
	rb.SetLogger(slog.New(slog.NewTextHandler(&log, &slog.HandlerOptions{Level: slog.LevelInfo})))
	// The answer comes 300 ms after the request, long after the directory
	// is gone: the read of the cache found nothing, the write fails.
	m.SetFaults(mirror.Faults{Rules: []mirror.Rule{{LatencyMS: 300}}})
	in := directInput(t, rb, fmt.Sprintf(`
base_urls: [ %q ]
cache_dir: %q
requests: [ { year: 2025, gp: %q, session: %q, path: VER/laptimes.json } ]
`, m.URL, dir, gpAUS, quali))
	defer in.Close(context.Background())
	if err := in.Connect(context.Background()); err != nil { // opens the directory, starts the fetch
		t.Fatal(err)
	}
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dir, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	msg, ack, err := in.Read(context.Background())
	if err != nil || msg.GetError() != nil {
		t.Fatalf("read: %v, message error %v; want the document from the network", err, msg.GetError())
	}
	_ = ack(context.Background(), nil)
	if !strings.Contains(log.String(), "write key") || !strings.Contains(log.String(), "cache dir") {
		t.Fatalf("the failed cache_dir write is not in the log:\n%s", log.String())
	}
}

func TestBrokenCacheResourceIsLoggedAndTheNetworkAnswers(t *testing.T) {
	m := mirrortest.Start(t, mirrortest.SharedConfig(t))
	r := newRun(t)
	r.must(r.sb.AddCacheYAML(`{ label: remote, f1fetch_test_broken: {} }`))
	msgs := r.input(fmt.Sprintf(`
f1_fetch:
  base_urls: [ %q ]
  cache_resource: remote
  requests: [ { year: 2025, gp: %q, session: %q, path: VER/5_tel.json } ]
`, m.URL, gpAUS, quali))
	if len(msgs) != 1 || msgs[0].GetError() != nil {
		t.Fatalf("got %d messages (first error %v), want the document from the network", len(msgs), firstErr(msgs))
	}
	log := r.log.String()
	for _, want := range []string{`cache resource \"remote\": get `, `cache resource \"remote\": set `, errCacheDown.Error()} {
		if !strings.Contains(log, want) {
			t.Fatalf("log lacks %q:\n%s", want, log)
		}
	}
	if got := r.gauge("f1_cache_tier_errors"); got != 2 {
		t.Fatalf("f1_cache_tier_errors = %d, want 2 (the read and the write)", got)
	}
}

func firstErr(msgs []*service.Message) error {
	if len(msgs) == 0 {
		return nil
	}
	return msgs[0].GetError()
}

// processorConfigError is what a stream with the processor yaml answers: a
// lint or build error, or the error of its first run.
func processorConfigError(yaml string) error {
	sb := service.NewStreamBuilder()
	if err := sb.AddProcessorYAML(yaml); err != nil {
		return err
	}
	_, _ = sb.AddBatchProducerFunc()
	_ = sb.AddBatchConsumerFunc(func(context.Context, service.MessageBatch) error { return nil })
	s, err := sb.Build()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return s.Run(ctx)
}

// A tier failure counts once, in the component whose fetch met it, however
// many components share the client: two processors of equal settings over
// a cache resource that fails every read and write, two batches of one
// tuple each (the first processor looks up and writes each tuple; the
// second finds it in memory). Before, every component sharing the client
// counted and logged each failure (6 here).
func TestTierErrorsCountOncePerFailure(t *testing.T) {
	m := mirrortest.Start(t, mirrortest.SharedConfig(t))
	r, tl := tallyRun(t)
	r.must(r.sb.AddCacheYAML(`{ label: remote, f1fetch_test_broken: {} }`))
	produce, err := r.sb.AddBatchProducerFunc()
	r.must(err)
	proc := fmt.Sprintf(`f1_fetch: { base_urls: [ %q ], cache_resource: remote }`, m.URL)
	r.must(r.sb.AddProcessorYAML(proc))
	r.must(r.sb.AddProcessorYAML(`mapping: 'root = {"year": @f1_year, "gp": @f1_gp, "session": @f1_session, "path": @f1_path}'`))
	r.must(r.sb.AddProcessorYAML(proc))
	r.must(r.sb.AddBatchConsumerFunc(r.got.add))
	stream, err := r.sb.Build()
	r.must(err)
	done := make(chan error, 1)
	go func() { done <- stream.Run(context.Background()) }()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, p := range []string{"VER/3_tel.json", "VER/4_tel.json"} {
		r.must(produce(ctx, service.MessageBatch{service.NewMessage([]byte(tupleJSON(p)))}))
	}
	r.must(stream.Stop(ctx))
	<-done
	if msgs := r.got.all(); len(msgs) != 2 || firstErr(msgs) != nil {
		t.Fatalf("%d messages (first error %v)", len(msgs), firstErr(msgs))
	}
	if got := tl().count("f1_cache_tier_errors"); got != 4 {
		t.Fatalf("f1_cache_tier_errors summed over the stream = %d, want 4 (2 fetches, a lookup and a write each)", got)
	}
}

// f1_expand reads a session's year as the input and every tuple do
// (tuple.YearOf): 2025.0 and "2025" are taken, "20x5" and 1950 refused by
// name. Before, it had its own rule and refused 2025.0.
func TestExpandReadsTheYearAsTuplesDo(t *testing.T) {
	for year, want := range map[string]string{`2025.0`: "", `"2025"`: "", `"20x5"`: `field "year" value "20x5"`, `1950`: `field "year" value "1950": outside`} {
		r, err := parseSessionMessage([]byte(`{"year": ` + year + `, "gp": "Australian Grand Prix", "session": "Qualifying"}`))
		switch {
		case want == "" && (err != nil || r.Year != 2025):
			t.Errorf("year %s: %v (year %d), want 2025", year, err, r.Year)
		case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
			t.Errorf("year %s: error %v, want it to contain %q", year, err, want)
		}
	}
}

// f1_expand refuses a bad session request naming the field, its value and
// what the field takes, in the request's terms, not Go's.
func TestExpandNamesTheFieldAndValueOfABadRequest(t *testing.T) {
	const head = `"year": 2025, "gp": "Australian Grand Prix", "session": "Qualifying"`
	for msg, want := range map[string]string{
		`{` + head + `, "laptimes": "no"}`:                              `field laptimes: value "no": want true or false`,
		`{` + head + `, "drivers": "VER"}`:                              `field drivers: value "VER": want a list of strings`,
		`{` + head + `, "files": [1]}`:                                  `field files: value [1]: want a list of strings`,
		`{"year": 2025, "gp": 7, "session": "Q"}`:                       `field gp: value 7: want a string`,
		`{` + head + `, "telemtry": false}`:                             `field "telemtry" not recognised`,
		`[2025, "Australian Grand Prix", "Qualifying", "drivers.json"]`: `want a JSON object of year, gp, session, files, drivers, laptimes, telemetry and laps, got a JSON array`,
	} {
		_, err := parseSessionMessage([]byte(msg))
		if err == nil || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "Go ") || strings.Contains(err.Error(), "components.") {
			t.Errorf("%s: error %v, want it to say %q and no Go type", msg, err, want)
		}
	}
}
