package fetch

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/f1fetch/f1fetch/plugin/tuple"
)

// deadAfterOpenSources starts a primary that answers 503 (which opens its
// breaker at the first failure) until dead is set, then never answers, and
// a healthy secondary. It returns a client over both, with one breaker
// failure and breaker_timeout breakerTimeout, the cache off.
func deadAfterOpenSources(t *testing.T, breakerTimeout, timeout time.Duration) (c *Client, dead *atomic.Bool, hung *atomic.Int64, secondary string) {
	dead, hung = new(atomic.Bool), new(atomic.Int64)
	primary := newH2Server(t, func(w http.ResponseWriter, r *http.Request) {
		if dead.Load() {
			hung.Add(1)
			<-r.Context().Done() // never answers
			return
		}
		w.WriteHeader(http.StatusServiceUnavailable)
	})
	sec := newH2Server(t, corpusHandler(t))
	s := fastSettings("", primary.URL, sec.URL)
	s.TLSSkipVerify = true // two servers, two CAs
	s.BreakerFailures = 1
	s.BreakerTimeout = breakerTimeout
	s.Timeout = timeout
	s.UseCache, s.WriteCache = false, false
	c = newClient(t, s)
	return c, dead, hung, sec.URL
}

// openThenHalfOpen fetches once so that the primary's 503 opens its
// breaker, marks the primary dead, and waits until the breaker is half open.
func openThenHalfOpen(t *testing.T, c *Client, dead *atomic.Bool, secondary string) {
	t.Helper()
	tp := mustTuple(t, 2025, gpAUS, quali, "VER/laptimes.json")
	if res, err := c.FetchOne(context.Background(), tp); err != nil || res.Source != secondary {
		t.Fatalf("setup: first fetch: %v from %s, want the secondary", err, res.Source)
	}
	if st := c.sources[0].state(); st != "open" {
		t.Fatalf("setup: primary breaker %s after a 503, want open", st)
	}
	dead.Store(true)
	waitBreaker(t, c, 0, "half_open", 10*time.Second)
}

// waitBreaker waits until source i's breaker is in state want.
func waitBreaker(t *testing.T, c *Client, i int, want string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for c.sources[i].state() != want {
		if time.Now().After(deadline) {
			t.Fatalf("source %d's breaker still %s after %v, want %s", i, c.sources[i].state(), within, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// A half-open breaker's probe whose caller gives up says nothing of the
// source's health. go-resiliency counts a half-open run that returns nil
// as a success, and a cancelled request is not the source's fault (nil):
// the breaker closed on a dead source, and the next breaker_failures
// requests each waited the whole attempt timeout for it.
func TestAbandonedHalfOpenProbeDoesNotCloseTheBreaker(t *testing.T) {
	// breaker_timeout is long enough that the breaker, reopened, is still
	// open for the fetch that follows, even on a loaded machine.
	const timeout = 2 * time.Second
	c, dead, hung, secondary := deadAfterOpenSources(t, time.Second, timeout)
	openThenHalfOpen(t, c, dead, secondary)

	tp := mustTuple(t, 2025, gpAUS, quali, "VER/laptimes.json")
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		for hung.Load() == 0 { // the probe reached the dead source
			time.Sleep(time.Millisecond)
		}
		cancel() // and its caller gives up
	}()
	if _, err := c.FetchOne(ctx, tp); err == nil {
		t.Fatal("the abandoned fetch succeeded")
	}
	// The caller is back at once; the probe's verdict follows as the
	// abandoned request unwinds.
	deadline := time.Now().Add(5 * time.Second)
	for c.sources[0].state() == "half_open" && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if st := c.sources[0].state(); st == "closed" {
		start := time.Now()
		res, err := c.FetchOne(context.Background(), tp)
		t.Fatalf("an abandoned probe of a dead source closed its breaker; the next fetch took %v (err %v, from %s)",
			time.Since(start).Round(time.Millisecond), err, res.Source)
	}
	// What the user sees: the next fetch goes to the secondary at once.
	start := time.Now()
	res, err := c.FetchOne(context.Background(), tp)
	if err != nil || res.Source != secondary {
		t.Fatalf("next fetch: %v from %s, want the secondary", err, res.Source)
	}
	if el := time.Since(start); el > timeout/2 {
		t.Fatalf("next fetch took %v: it waited for the dead source", el)
	}
}

// An open source "is probed again" once breaker_timeout has passed: by one
// request. go-resiliency lets every request through while half open, so a
// whole batch went to a source that may still be dead, each request
// waiting out the attempt timeout. The others skip it as if it were open.
func TestHalfOpenSourceGetsOneProbe(t *testing.T) {
	c, dead, hung, secondary := deadAfterOpenSources(t, 2*time.Second, time.Second)
	openThenHalfOpen(t, c, dead, secondary)

	var ts []tuple.Tuple
	for lap := 1; lap <= 10; lap++ {
		ts = append(ts, mustTuple(t, 2025, gpAUS, quali, fmt.Sprintf("LEC/%d_tel.json", lap)))
	}
	start := time.Now()
	for i, r := range c.FetchMany(context.Background(), ts) {
		if r.Err != nil {
			t.Fatalf("tuple %d: %v", i, r.Err)
		}
	}
	switch n := hung.Load(); {
	case n == 0:
		t.Fatal("no request probed the half-open source")
	case n > 1:
		t.Fatalf("%d requests of one batch went to the half-open source (batch took %v); want one probe",
			n, time.Since(start).Round(time.Millisecond))
	}
}

// With a single source, the requests that find its one probe in flight fail
// at once, as while it was open.
func TestHalfOpenSingleSourceFailsFastDuringTheProbe(t *testing.T) {
	var dead atomic.Bool
	probing := make(chan struct{}, 1)
	srv := newH2Server(t, func(w http.ResponseWriter, r *http.Request) {
		if dead.Load() {
			probing <- struct{}{}
			<-r.Context().Done()
			return
		}
		w.WriteHeader(http.StatusServiceUnavailable)
	})
	s := fastSettings(srv.caFile, srv.URL)
	s.MaxRetries = 0
	s.BreakerFailures = 1
	s.BreakerTimeout = 200 * time.Millisecond
	s.Timeout = 5 * time.Second
	s.UseCache, s.WriteCache = false, false
	c := newClient(t, s)
	tp := mustTuple(t, 2025, gpAUS, quali, "VER/laptimes.json")
	if _, err := c.FetchOne(context.Background(), tp); ErrorKind(err) != KindNetwork {
		t.Fatalf("setup: %v, want the 503's network error", err)
	}
	dead.Store(true)
	waitBreaker(t, c, 0, "half_open", 10*time.Second)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _, _ = c.FetchOne(ctx, tp) }()
	<-probing
	start := time.Now()
	_, err := c.FetchOne(context.Background(), mustTuple(t, 2025, gpAUS, quali, "drivers.json"))
	var ne *NetworkError
	if !errors.As(err, &ne) || ne.Attempts != 0 {
		t.Fatalf("during the probe: %v, want a breaker-open network error with no request sent", err)
	}
	if el := time.Since(start); el > s.Timeout/2 {
		t.Fatalf("during the probe the request took %v; want it to fail at once", el)
	}
}

// Only transport errors, 429 and 5xx count against a source (SPEC): a batch
// of missing laps (404), a refused file (403) and bodies that are not JSON
// leave its breaker closed, with breaker_failures: 2.
func TestOnlySourceFailuresCountAgainstTheBreaker(t *testing.T) {
	serve := corpusHandler(t)
	srv := newH2Server(t, func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.Contains(r.URL.Path, "/NF"):
			http.NotFound(w, r)
		case strings.Contains(r.URL.Path, "/FB/"):
			w.WriteHeader(http.StatusForbidden)
		case strings.Contains(r.URL.Path, "/IN"):
			_, _ = w.Write([]byte("not json"))
		default:
			serve(w, r)
		}
	})
	s := fastSettings(srv.caFile, srv.URL)
	s.BreakerFailures = 2
	s.MaxRetries = 1
	s.UseCache = false
	c := newClient(t, s)
	for _, p := range []string{"NF1/laptimes.json", "NF2/laptimes.json", "FB/laptimes.json", "IN1/laptimes.json", "IN2/laptimes.json"} {
		if _, err := c.FetchOne(context.Background(), mustTuple(t, 2025, gpAUS, quali, p)); err == nil {
			t.Fatalf("%s: no error", p)
		}
	}
	if st := c.sources[0].state(); st != "closed" {
		t.Fatalf("breaker %s after 404, 403 and invalid answers only, want closed", st)
	}
	if _, err := c.FetchOne(context.Background(), mustTuple(t, 2025, gpAUS, quali, "VER/laptimes.json")); err != nil {
		t.Fatalf("the source after those answers: %v", err)
	}
}
