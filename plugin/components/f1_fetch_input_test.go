package components

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redpanda-data/benthos/v4/public/service"

	"github.com/f1fetch/f1fetch/plugin/mirror"
	"github.com/f1fetch/f1fetch/plugin/mirror/mirrortest"
	"github.com/f1fetch/f1fetch/plugin/tuple"
)

// configuredInput builds an f1_fetch input from fields (YAML) and a base
// nothing listens on, closed when the test ends: its config's checks.
func configuredInput(t *testing.T, fields string) (*fetchInput, error) {
	t.Helper()
	c, err := fetchInputSpec().ParseYAML("base_urls: [ http://127.0.0.1:1 ]\n"+fields, nil)
	if err != nil {
		return nil, err
	}
	in, err := newFetchInput(c, service.MockResources())
	if err == nil {
		t.Cleanup(func() { _ = in.Close(context.Background()) })
	}
	return in, err
}

// The requests list is read as plain values (requestTuples): every bad
// element must still be refused with its index, field and value.
func TestFetchInputRequestsReadAndRefusedByName(t *testing.T) {
	const gp = `gp: Australian Grand Prix, session: Qualifying`
	conf := func(t *testing.T, requests string) (*fetchInput, error) {
		return configuredInput(t, "requests: "+requests)
	}

	in, err := conf(t, `[ {year: 2025, `+gp+`, path: VER/3_tel.json}, {year: "2024", `+gp+`, path: drivers.json}, {year: 2023.0, `+gp+`, path: x.json} ]`)
	if err != nil {
		t.Fatal(err)
	}
	want := []tuple.Tuple{
		{Year: 2025, GP: "Australian Grand Prix", Session: "Qualifying", Path: "VER/3_tel.json"},
		{Year: 2024, GP: "Australian Grand Prix", Session: "Qualifying", Path: "drivers.json"},
		{Year: 2023, GP: "Australian Grand Prix", Session: "Qualifying", Path: "x.json"},
	}
	if len(in.tuples) != len(want) {
		t.Fatalf("tuples %+v, want %+v", in.tuples, want)
	}
	for i := range want {
		if in.tuples[i] != want[i] {
			t.Errorf("tuple %d: %+v, want %+v", i, in.tuples[i], want[i])
		}
	}

	for _, c := range []struct{ requests, want string }{
		// Shapes are refused by the spec's parse, naming the field.
		{`[ {year: 2025, ` + gp + `, path: a.json}, 7 ]`, "field 'requests'"},
		{`[ {` + gp + `, path: a.json} ]`, "field 'year' is required"},
		{`[ {year: 2025, gp: [x], session: Qualifying, path: a.json} ]`, "field 'gp'"},
		{`[ {year: 2025, ` + gp + `} ]`, "field 'path' is required"},
		// Values, by requestTuples and the tuple's rules.
		{`[ {year: [2025], ` + gp + `, path: a.json} ]`, `field requests[0]: invalid tuple: field "year" value "[2025]": must be a number or a string of digits, got array`},
		{`[ {year: 2025, ` + gp + `, path: a.json}, {year: 20x5, ` + gp + `, path: a.json} ]`, `field requests[1]: invalid tuple: field "year" value "20x5"`},
		{`[ {year: 1950, ` + gp + `, path: a.json} ]`, `field requests[0]: invalid tuple: field "year" value "1950": outside 2018..2100`},
		{`[ {year: 2025, ` + gp + `, path: ../../etc/passwd} ]`, `field requests[0]: invalid tuple: field "path" value "../../etc/passwd"`},
	} {
		_, err := conf(t, c.requests)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("requests %s: error %v, want it to contain %q", c.requests, err, c.want)
		}
	}
}

// BenchmarkNewFetchInput builds the input with 297 inline requests, the
// session's telemetry count: its cost is paid between the input's start and
// its first document.
func BenchmarkNewFetchInput(b *testing.B) {
	var y strings.Builder
	y.WriteString("base_urls: [ http://127.0.0.1:1 ]\nrequests:\n")
	for i := range 297 {
		fmt.Fprintf(&y, "  - { year: 2025, gp: Australian Grand Prix, session: Qualifying, path: D%02d/%d_tel.json }\n", i%20, i/20+1)
	}
	conf, err := fetchInputSpec().ParseYAML(y.String(), nil)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		in, err := newFetchInput(conf, service.MockResources())
		if err != nil {
			b.Fatal(err)
		}
		_ = in.Close(context.Background())
	}
}

// A session's year is read as a request's (a number or a string of
// digits; before, "2025" was refused with YAML's cannot unmarshal !!str),
// and an empty laps list, which would mean no telemetry while the empty
// files and drivers lists mean the default, is refused by name.
func TestFetchInputSessionYearAndEmptyLaps(t *testing.T) {
	conf := func(session string) (*fetchInput, error) {
		return configuredInput(t, "sessions: [ "+session+" ]")
	}
	in, err := conf(`{ year: "2025", gp: Australian Grand Prix, session: Qualifying }`)
	if err != nil || in.sessions[0].Year != 2025 {
		t.Fatalf("a year as a string: %v", err)
	}
	for session, want := range map[string]string{
		`{ year: "20x5", gp: Australian Grand Prix, session: Qualifying }`:         `field sessions[0]: invalid tuple: field "year" value "20x5"`,
		`{ year: "1950", gp: Australian Grand Prix, session: Qualifying }`:         `field "year" value "1950": outside 2018..2100`,
		`{ year: 2025, gp: Australian Grand Prix, session: Qualifying, laps: [] }`: `field sessions[0]: field laps: value []: an empty list names no lap`,
	} {
		if _, err := conf(session); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want it to contain %q", session, err, want)
		}
	}
}

// A message the output rejects is sent again as it was fetched: the
// pipeline's in-place changes to the first delivery (a mutation) are not
// applied twice.
func TestFetchInputSendsAgainTheDocumentAsFetched(t *testing.T) {
	m := mirrortest.Start(t, mirrortest.SharedConfig(t))
	sb := service.NewStreamBuilder()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(sb.SetLoggerYAML("level: none"))
	must(sb.AddInputYAML(fmt.Sprintf(`
f1_fetch:
  base_urls: [ %q ]
  requests: [ { year: 2025, gp: %q, session: %q, path: drivers.json } ]
`, m.URL, gpAUS, quali)))
	must(sb.AddProcessorYAML(`mutation: 'root.seen = (this.seen | 0) + 1'`))
	var seen []any
	must(sb.AddConsumerFunc(func(_ context.Context, msg *service.Message) error {
		v, err := msg.AsStructured()
		if err != nil {
			return err
		}
		seen = append(seen, v.(map[string]any)["seen"])
		if len(seen) == 1 {
			return errors.New("rejected once")
		}
		return nil
	}))
	s, err := sb.Build()
	must(err)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	must(s.Run(ctx))
	if fmt.Sprint(seen) != "[1 1]" {
		t.Fatalf("the mutation saw %v over the deliveries, want [1 1]: the document sent again once, as fetched", seen)
	}
}

// directInput builds an f1_fetch input from its YAML over the resources rb
// builds, outside any stream, for a test to drive Connect, Read and Close.
func directInput(t *testing.T, rb *service.ResourceBuilder, yaml string) *fetchInput {
	t.Helper()
	res, stop, err := rb.Build()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = stop(context.Background()) })
	conf, err := fetchInputSpec().ParseYAML(yaml, nil)
	if err != nil {
		t.Fatal(err)
	}
	in, err := newFetchInput(conf, res)
	if err != nil {
		t.Fatal(err)
	}
	return in
}

// Close returns once the fetches the input started have ended, not while
// one still runs against the client it releases.
func TestFetchInputCloseWaitsForItsFetches(t *testing.T) {
	m := mirrortest.Start(t, mirrortest.SharedConfig(t))
	rb := service.NewResourceBuilder()
	if err := rb.AddCacheYAML(`{ label: slow, f1fetch_test_slow: {} }`); err != nil {
		t.Fatal(err)
	}
	in := directInput(t, rb, fmt.Sprintf(`
base_urls: [ %q ]
cache_resource: slow
requests: [ { year: 2025, gp: %q, session: %q, path: drivers.json } ]
`, m.URL, gpAUS, quali))
	if err := in.Connect(context.Background()); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for slowGets.Load() == 0 { // the fetch is in the cache's Get
		if time.Now().After(deadline) {
			t.Fatal("the input's fetch never reached the cache")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := in.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := slowGets.Load(); n != 0 {
		t.Fatalf("Close returned while %d fetch(es) the input started still ran", n)
	}
}

// rejectingStream is a stream of the f1_fetch input inYAML whose output
// calls reject with each message: a non-nil answer is a nack.
func rejectingStream(t *testing.T, inYAML string, reject func(*service.Message) error) *service.Stream {
	t.Helper()
	sb := service.NewStreamBuilder()
	if err := sb.SetLoggerYAML("level: none"); err != nil {
		t.Fatal(err)
	}
	if err := sb.AddInputYAML(inYAML); err != nil {
		t.Fatal(err)
	}
	if err := sb.AddConsumerFunc(func(_ context.Context, msg *service.Message) error { return reject(msg) }); err != nil {
		t.Fatal(err)
	}
	s, err := sb.Build()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// deliveries runs the f1_fetch input inYAML to its end (30 s at most) into
// an output that calls reject with each message's outcome, and returns the
// outcomes in delivery order with the run's error.
func deliveries(t *testing.T, inYAML string, reject func(outcome string, msg *service.Message) error) ([]string, error) {
	t.Helper()
	var mu sync.Mutex
	var seen []string
	s := rejectingStream(t, inYAML, func(msg *service.Message) error {
		mu.Lock()
		defer mu.Unlock()
		o := outcome(msg)
		seen = append(seen, o)
		return reject(o, msg)
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := s.Run(ctx)
	mu.Lock() // a run cut short leaves the output running
	defer mu.Unlock()
	return append([]string(nil), seen...), err
}

// A document the output always rejects is never lost: the input keeps
// sending it and does not end. Before, a nack landing between drain's look
// at the queue and its look at the outstanding count ended the input (Run
// returned nil, the document undelivered), usually in the first of five
// runs.
func TestFetchInputNeverEndsWithARejectedMessage(t *testing.T) {
	m := mirrortest.Start(t, mirrortest.SharedConfig(t))
	yaml := fmt.Sprintf(`
f1_fetch:
  base_urls: [ %q ]
  requests: [ { year: 2025, gp: %q, session: %q, path: drivers.json } ]
`, m.URL, gpAUS, quali)
	for i := range 5 {
		s := rejectingStream(t, yaml, func(*service.Message) error { return errors.New("rejected") })
		ctx, cancel := context.WithTimeout(context.Background(), 700*time.Millisecond)
		err := s.Run(ctx)
		cancel()
		if err == nil {
			t.Fatalf("run %d: the input ended though its only document was rejected every time", i)
		}
		stop, cancelStop := context.WithTimeout(context.Background(), 5*time.Second)
		_ = s.Stop(stop)
		cancelStop()
	}
}

// An output that rejects at once does not make the input spin: from the
// third rejection on, a message waits 1 ms, doubling, before it goes again.
// Before, one message went 1,800 to 14,000 times in half a second.
func TestFetchInputBacksOffARejectedMessage(t *testing.T) {
	m := mirrortest.Start(t, mirrortest.SharedConfig(t))
	var deliveries atomic.Int64
	s := rejectingStream(t, fmt.Sprintf(`
f1_fetch:
  base_urls: [ %q ]
  requests: [ { year: 2025, gp: %q, session: %q, path: drivers.json } ]
`, m.URL, gpAUS, quali), func(*service.Message) error {
		deliveries.Add(1)
		return errors.New("rejected")
	})
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = s.Run(ctx)
	stop, cancelStop := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancelStop()
	_ = s.Stop(stop)
	// 2 at once, then waits of 1, 2, 4, ... 512 ms: 12 within 1023 ms; at
	// least 3 however late the stream starts within the second.
	if n := deliveries.Load(); n < 3 || n > 13 {
		t.Fatalf("one message rejected every time was delivered %d times in a second, want 3 to 13 (backing off)", n)
	}
}

func TestResendBackoff(t *testing.T) {
	for attempts, want := range map[int]time.Duration{1: 0, 2: 0, 3: time.Millisecond, 4: 2 * time.Millisecond, 13: 1024 * time.Millisecond, 1000: 1024 * time.Millisecond} {
		if got := resendBackoff(attempts); got != want {
			t.Errorf("resendBackoff(%d) = %v, want %v", attempts, got, want)
		}
	}
}

// A failure the output rejects (as reject_errored does, to have it
// retried) is fetched again, not replayed: once the source answers, the
// document goes out. Before, the same failure came back for ever.
func TestFetchInputFetchesARejectedFailureAgain(t *testing.T) {
	m := mirrortest.Start(t, mirrortest.SharedConfig(t))
	m.SetFaults(mirror.Faults{Rules: []mirror.Rule{{PathPrefix: "/2025@main/" + gpAUS + "/" + quali + "/drivers.json", FailFirstN: 1, FailStatus: 500}}})
	seen, err := deliveries(t, fmt.Sprintf(`
f1_fetch:
  base_urls: [ %q ]
  max_retries: 0
  requests: [ { year: 2025, gp: %q, session: %q, path: drivers.json } ]
`, m.URL, gpAUS, quali), func(_ string, msg *service.Message) error { return msg.GetError() })
	if err != nil || fmt.Sprint(seen) != "[drivers.json(network) drivers.json]" {
		t.Fatalf("run: %v; %d deliveries, the first %v; want the failure, then the document fetched again", err, len(seen), seen[:min(len(seen), 3)])
	}
}

// The 404 that ends a driver's laps under laps: all is the plan's answer,
// not a missing file: with on_not_found: error nothing is flagged for it
// (before, every driver of a session had a not_found message for the lap
// after its last), and it counts in f1_requests as not_found, not in
// f1_not_found_dropped.
func TestFetchInputDoesNotEmitTheProbeThatEndsTheLaps(t *testing.T) {
	m := mirrortest.Start(t, mirrortest.SharedConfig(t))
	r := newRun(t)
	r.input(fmt.Sprintf(`
f1_fetch:
  base_urls: [ %q ]
  on_not_found: error
  sessions:
    - { year: 2025, gp: %q, session: %q, files: [ drivers.json ], drivers: [ HAD, DOO ], laps: all }
`, m.URL, gpAUS, quali))
	var out []string
	for _, msg := range r.got.all() {
		out = append(out, outcome(msg))
	}
	want := []string{"drivers.json", "HAD/laptimes.json", "DOO/laptimes.json"}
	for _, d := range []string{"HAD", "DOO"} {
		for lap := 1; lap <= telemetryFiles(t, d); lap++ {
			want = append(want, fmt.Sprintf("%s/%d_tel.json", d, lap))
		}
	}
	if fmt.Sprint(out) != fmt.Sprint(want) {
		t.Fatalf("emitted %v\nwant %v", out, want)
	}
	metrics := r.metrics()
	if got := counter(metrics, "f1_requests", "outcome", "not_found"); got != 2 {
		t.Errorf("f1_requests{outcome=not_found} = %d, want the 2 probes that ended the laps", got)
	}
}

// telemetryFiles is how many telemetry files driver has in the corpus's
// 2025 Australian GP Qualifying (numbered 1..n).
func telemetryFiles(t *testing.T, driver string) int {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(mirrortest.SharedTestdata(t), "test", gpAUS, quali, driver, "*_tel.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("telemetry of %s in the corpus: %d files, %v", driver, len(files), err)
	}
	return len(files)
}

// A failure the plan reported in a document's place (drivers.json, left
// out of files, failed once) is sent again as it is when rejected: fetching
// it again delivered a drivers.json nobody asked for, and the laps it stood
// for stayed unplanned with no message left to say so.
func TestFetchInputReplaysARejectedPlanFailure(t *testing.T) {
	m := mirrortest.Start(t, mirrortest.SharedConfig(t))
	m.SetFaults(mirror.Faults{Rules: []mirror.Rule{{PathPrefix: "/2025@main/" + gpAUS + "/" + quali + "/drivers.json", FailFirstN: 1, FailStatus: 500}}})
	rejections := 0
	seen, err := deliveries(t, fmt.Sprintf(`
f1_fetch:
  base_urls: [ %q ]
  max_retries: 0
  sessions: [ { year: 2025, gp: %q, session: %q, files: [ corners.json ], laps: fastest } ]
`, m.URL, gpAUS, quali), func(_ string, msg *service.Message) error {
		if msg.GetError() != nil && rejections < 2 { // the failure is rejected twice, then taken
			rejections++
			return msg.GetError()
		}
		return nil
	})
	if err != nil || fmt.Sprint(seen) != "[corners.json drivers.json(network) drivers.json(network) drivers.json(network)]" {
		t.Fatalf("run: %v; deliveries %v, want corners.json, then the plan's failure three times as it was", err, seen)
	}
}

// A probed lap that failed (a 500), rejected, is fetched again; if it now
// answers the 404 that ends the driver's laps, nothing is emitted for it,
// as for a probe's first 404.
func TestFetchInputResentProbeEndsTheLaps(t *testing.T) {
	m := mirrortest.Start(t, mirrortest.SharedConfig(t))
	probe := fmt.Sprintf("HAD/%d_tel.json", telemetryFiles(t, "HAD")+1)
	m.SetFaults(mirror.Faults{Rules: []mirror.Rule{{PathPrefix: "/2025@main/" + gpAUS + "/" + quali + "/" + probe, FailFirstN: 1, FailStatus: 500}}})
	seen, err := deliveries(t, fmt.Sprintf(`
f1_fetch:
  base_urls: [ %q ]
  max_retries: 0
  on_not_found: error
  sessions: [ { year: 2025, gp: %q, session: %q, files: [ corners.json ], drivers: [ HAD ], laptimes: false, laps: all } ]
`, m.URL, gpAUS, quali), func(o string, msg *service.Message) error {
		if o == probe+"(network)" {
			return msg.GetError()
		}
		return nil
	})
	if err != nil || len(seen) != telemetryFiles(t, "HAD")+2 || seen[len(seen)-1] != probe+"(network)" {
		t.Fatalf("run: %v; deliveries end with %v; want corners.json, the laps, then the probe's failure once, and nothing for its 404", err, seen[max(0, len(seen)-3):])
	}
}
