package components

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/redpanda-data/benthos/v4/public/service"

	"github.com/f1fetch/f1fetch/plugin/mirror/mirrortest"
	"github.com/f1fetch/f1fetch/plugin/tuple"
)

// The requests list is read as plain values (requestTuples): every bad
// element must still be refused with its index, field and value.
func TestFetchInputRequestsReadAndRefusedByName(t *testing.T) {
	const gp = `gp: Australian Grand Prix, session: Qualifying`
	conf := func(t *testing.T, requests string) (*fetchInput, error) {
		t.Helper()
		c, err := fetchInputSpec().ParseYAML("base_urls: [ http://127.0.0.1:1 ]\nrequests: "+requests, nil)
		if err != nil {
			return nil, err
		}
		in, err := newFetchInput(c, service.MockResources())
		if err == nil {
			t.Cleanup(func() { _ = in.Close(context.Background()) })
		}
		return in, err
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
