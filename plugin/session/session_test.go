package session

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/f1fetch/f1fetch/config"
	"github.com/f1fetch/f1fetch/plugin/fetch"
	"github.com/f1fetch/f1fetch/plugin/mirror"
	"github.com/f1fetch/f1fetch/plugin/mirror/mirrortest"
	"github.com/f1fetch/f1fetch/plugin/tuple"
)

const (
	gp    = "Australian Grand Prix"
	quali = "Qualifying"
)

func client(t *testing.T) (*fetch.Client, *mirrortest.Mirror) {
	m := mirrortest.Start(t, mirrortest.SharedConfig(t))
	s := config.Defaults()
	s.BaseURLs = []string{m.URL}
	c, err := fetch.New(s, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c, m
}

// collect runs Plan and returns the tuples in order and their results.
func collect(t *testing.T, c *fetch.Client, r Request) ([]tuple.Tuple, map[string]fetch.Result) {
	var mu sync.Mutex
	var order []tuple.Tuple
	results := map[string]fetch.Result{}
	emit := func(tp tuple.Tuple, _ bool) (func() fetch.Result, error) {
		order = append(order, tp)
		return func() fetch.Result {
			res, _ := c.FetchOne(context.Background(), tp)
			mu.Lock()
			results[tp.Path] = res
			mu.Unlock()
			return res
		}, nil
	}
	read := func(ctx context.Context, tp tuple.Tuple) fetch.Result { res, _ := c.FetchOne(ctx, tp); return res }
	fail := func(res fetch.Result, carried bool) error {
		t.Errorf("plan failure %s (carried %v): %v", res.Tuple.Path, carried, res.Err)
		return nil
	}
	if err := Plan(context.Background(), r, emit, read, fail); err != nil {
		t.Fatal(err)
	}
	return order, results
}

// failure is one call of Plan's fail.
type failure struct {
	path     string
	carried  bool
	err      error
	attempts int // of the read, kept for the message in its place
}

// planFailing runs Plan against the mirror with a rule answering 500 to
// the paths under prefix (no retries), going on after every failure, and
// returns the paths it emitted and the failures it reported.
func planFailing(t *testing.T, prefix string, r Request) ([]string, []failure) {
	m := mirrortest.Start(t, mirrortest.SharedConfig(t))
	m.SetFaults(mirror.Faults{Rules: []mirror.Rule{{PathPrefix: "/2025@main/" + gp + "/" + quali + "/" + prefix, StatusRate: map[int]float64{500: 1}}}})
	s := config.Defaults()
	s.BaseURLs, s.MaxRetries = []string{m.URL}, 0
	c, err := fetch.New(s, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	var paths []string
	var fails []failure
	emit := func(tp tuple.Tuple, _ bool) (func() fetch.Result, error) {
		paths = append(paths, tp.Path)
		return func() fetch.Result { res, _ := c.FetchOne(context.Background(), tp); return res }, nil
	}
	read := func(ctx context.Context, tp tuple.Tuple) fetch.Result { res, _ := c.FetchOne(ctx, tp); return res }
	fail := func(res fetch.Result, carried bool) error {
		fails = append(fails, failure{res.Tuple.Path, carried, res.Err, res.Attempts})
		return nil
	}
	if err := Plan(context.Background(), r, emit, read, fail); err != nil && !strings.Contains(err.Error(), "read drivers.json") {
		t.Fatal(err) // an unreadable drivers.json also ends the plan with its error
	}
	return paths, fails
}

// A document the plan needs that fails (not a 404) is reported with its
// tuple, and whether an emitted message carries the failure; the plan goes
// on with the other drivers. Before, a failed laptimes.json or probe left
// the driver's telemetry out in silence.
func TestPlanReportsWhatItCouldNotRead(t *testing.T) {
	for _, c := range []struct {
		name, prefix string
		r            Request
		wantFail     string
		carried      bool
		mustPlan     string // another driver's telemetry, planned all the same
	}{
		{"laptimes emitted", "VER/laptimes.json", Request{Files: []string{}, Drivers: []string{"VER", "NOR"}, Laptimes: true, Telemetry: true, Laps: Laps{Mode: "fastest"}},
			"VER/laptimes.json", true, "NOR/"},
		{"laptimes only read", "VER/laptimes.json", Request{Files: []string{}, Drivers: []string{"VER", "NOR"}, Laptimes: false, Telemetry: true, Laps: Laps{Mode: "fastest"}},
			"VER/laptimes.json", false, "NOR/"},
		{"drivers.json only read", "drivers.json", Request{Files: []string{"corners.json"}, Laptimes: true, Telemetry: false, Laps: Laps{Mode: "all"}},
			"drivers.json", false, ""},
		{"a probed lap", "VER/17_tel.json", Request{Files: []string{}, Drivers: []string{"VER", "NOR"}, Laptimes: false, Telemetry: true, Laps: Laps{Mode: "all"}},
			"VER/17_tel.json", true, "NOR/"},
	} {
		t.Run(c.name, func(t *testing.T) {
			c.r.Year, c.r.GP, c.r.Session = 2025, gp, quali
			paths, fails := planFailing(t, c.prefix, c.r)
			if len(fails) != 1 || fails[0].path != c.wantFail || fails[0].carried != c.carried || !strings.Contains(fails[0].err.Error(), "500") || fails[0].attempts != 1 {
				t.Fatalf("failures %+v, want one for %s (carried %v)", fails, c.wantFail, c.carried)
			}
			if c.mustPlan != "" && !slices.ContainsFunc(paths, func(p string) bool { return strings.HasPrefix(p, c.mustPlan) && strings.HasSuffix(p, "_tel.json") }) {
				t.Fatalf("the other driver's telemetry was not planned: %v", paths)
			}
		})
	}
}

// A laptimes.json that is not found means no laps: nothing to report.
func TestPlanLaptimesNotFoundIsNoLaps(t *testing.T) {
	c, m := client(t)
	m.SetFaults(mirror.Faults{Rules: []mirror.Rule{{PathPrefix: "/2025@main/" + gp + "/" + quali + "/VER/laptimes.json", StatusRate: map[int]float64{404: 1}}}})
	order, _ := collect(t, c, Request{Year: 2025, GP: gp, Session: quali, Files: []string{}, Drivers: []string{"VER", "NOR"},
		Laptimes: false, Telemetry: true, Laps: Laps{Mode: "fastest"}})
	var tel []string
	for _, tp := range order {
		if strings.HasSuffix(tp.Path, "_tel.json") {
			tel = append(tel, tp.Path)
		}
	}
	if len(tel) != 1 || tel[0] != "NOR/19_tel.json" { // NOR's fastest: lap 19
		t.Fatalf("telemetry planned %v, want NOR's fastest lap only", tel)
	}
}

// telemetryOnDisk counts the N_tel.json files of a driver in the corpus.
func telemetryOnDisk(t *testing.T, driver string) int {
	dir := filepath.Join(mirrortest.SharedTestdata(t), "test", gp, quali, driver)
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), "_tel.json") {
			n++
		}
	}
	return n
}

func TestPlanAllLapsFindsEveryTelemetryFile(t *testing.T) {
	c, _ := client(t)
	order, results := collect(t, c, Request{Year: 2025, GP: gp, Session: quali, Files: []string{"drivers.json", "corners.json"},
		Laptimes: true, Telemetry: true, Laps: Laps{Mode: "all"}})
	if order[0].Path != "drivers.json" || order[1].Path != "corners.json" {
		t.Fatalf("session files first: %v", order[:2])
	}
	perDriver := map[string]int{}
	laptimes := 0
	for _, tp := range order {
		if strings.HasSuffix(tp.Path, "/laptimes.json") {
			laptimes++
		}
		if strings.HasSuffix(tp.Path, "_tel.json") {
			if res, ok := results[tp.Path]; !ok || res.Err == nil {
				perDriver[tp.Driver()]++ // planned from laptimes, or a probe that was found
			}
		}
	}
	if laptimes != 20 || len(perDriver) != 20 {
		t.Fatalf("%d laptimes, %d drivers with telemetry", laptimes, len(perDriver))
	}
	total := 0
	for d, n := range perDriver {
		if want := telemetryOnDisk(t, d); n != want {
			t.Errorf("%s: planned %d telemetry files, the corpus has %d", d, n, want)
		}
		total += n
	}
	if total != 297 {
		t.Fatalf("planned %d telemetry files, the session has 297", total)
	}
}

// Only the laps after the timed ones are emitted as probes, and in a
// complete session the one 404 of each driver is a probe's: the caller can
// leave it out without leaving out a file that is missing.
func TestPlanMarksTheProbes(t *testing.T) {
	c, _ := client(t)
	drivers := []string{"VER", "HAD"}
	var mu sync.Mutex // the laptimes are waited for on goroutines of their own
	var notFound, probeNotFound []string
	probes := map[string]bool{}
	emit := func(tp tuple.Tuple, probe bool) (func() fetch.Result, error) {
		probes[tp.Path] = probe
		return func() fetch.Result {
			res, _ := c.FetchOne(context.Background(), tp)
			mu.Lock()
			defer mu.Unlock()
			if fetch.ErrorKind(res.Err) == fetch.KindNotFound {
				if probe {
					probeNotFound = append(probeNotFound, tp.Path)
				} else {
					notFound = append(notFound, tp.Path)
				}
			}
			return res
		}, nil
	}
	read := func(ctx context.Context, tp tuple.Tuple) fetch.Result { res, _ := c.FetchOne(ctx, tp); return res }
	fail := func(res fetch.Result, _ bool) error { return res.Err }
	r := Request{Year: 2025, GP: gp, Session: quali, Files: []string{}, Drivers: drivers, Laptimes: true, Telemetry: true, Laps: Laps{Mode: "all"}}
	if err := Plan(context.Background(), r, emit, read, fail); err != nil {
		t.Fatal(err)
	}
	for _, d := range drivers {
		end := fmt.Sprintf("%s/%d_tel.json", d, telemetryOnDisk(t, d)+1)
		if !probes[end] {
			t.Errorf("%s, the lap after %s's last, was not emitted as a probe", end, d)
		}
	}
	if len(notFound) != 0 || len(probeNotFound) != len(drivers) {
		t.Fatalf("404s of tuples not marked as probes %v, of probes %v; want none and one a driver", notFound, probeNotFound)
	}
	if probes["VER/1_tel.json"] || probes["VER/laptimes.json"] {
		t.Fatal("a timed lap or a laptimes.json was marked as a probe")
	}
}

func TestPlanFastestLap(t *testing.T) {
	c, _ := client(t)
	order, _ := collect(t, c, Request{Year: 2025, GP: gp, Session: quali, Files: []string{"drivers.json"},
		Laptimes: false, Telemetry: true, Laps: Laps{Mode: "fastest"}})
	var tel []string
	for _, tp := range order {
		if strings.HasSuffix(tp.Path, "_tel.json") {
			tel = append(tel, tp.Path)
		}
	}
	// BEA's laptimes are empty: 19 fastest laps. VER's fastest is lap 16 (75.481 s).
	if len(tel) != 19 || !slices.Contains(tel, "VER/16_tel.json") {
		t.Fatalf("fastest laps: %v", tel)
	}
}

func TestPlanListAndDrivers(t *testing.T) {
	c, m := client(t)
	order, _ := collect(t, c, Request{Year: 2025, GP: gp, Session: quali, Files: []string{},
		Drivers: []string{"VER", "NOR"}, Laptimes: true, Telemetry: true, Laps: Laps{Mode: "list", List: []int{1, 2}}})
	got := []string{}
	for _, tp := range order {
		got = append(got, tp.Path)
	}
	want := "[VER/laptimes.json NOR/laptimes.json VER/1_tel.json VER/2_tel.json NOR/1_tel.json NOR/2_tel.json]"
	if fmt.Sprint(got) != want {
		t.Fatalf("plan %v, want %s", got, want)
	}
	if n := m.Count("/2025@main/" + gp + "/" + quali + "/drivers.json"); n != 0 {
		t.Fatalf("named drivers should not read drivers.json (%d requests)", n)
	}
}

func TestRequestValidation(t *testing.T) {
	for _, r := range []Request{
		{Year: 1950, GP: gp, Session: quali, Laps: Laps{Mode: "all"}},
		{Year: 2025, GP: "../x", Session: quali, Laps: Laps{Mode: "all"}},
		{Year: 2025, GP: gp, Session: quali, Drivers: []string{"ver"}, Laps: Laps{Mode: "all"}},
		{Year: 2025, GP: gp, Session: quali, Laps: Laps{Mode: "slowest"}},
	} {
		if err := r.Validate(); err == nil {
			t.Errorf("accepted %+v", r)
		}
	}
	for _, v := range []any{"every", []any{0}, []any{1.5}, 3} {
		if _, err := ParseLaps(v); err == nil || !strings.Contains(err.Error(), "laps") {
			t.Errorf("laps %v: %v", v, err)
		}
	}
}
