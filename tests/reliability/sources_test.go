package reliability

import (
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/f1fetch/f1fetch/config"
	"github.com/f1fetch/f1fetch/plugin/fetch"
	"github.com/f1fetch/f1fetch/plugin/mirror"
	"github.com/f1fetch/f1fetch/plugin/mirror/mirrortest"
)

// breakerLog is a fetch.Observer that keeps every breaker state change.
type breakerLog struct {
	mu     sync.Mutex
	states map[string][]string
}

func (b *breakerLog) InFlight(int) {}

func (b *breakerLog) ConcurrencyLimit(int) {}

func (b *breakerLog) BreakerState(source, state string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.states == nil {
		b.states = map[string][]string{}
	}
	b.states[source] = append(b.states[source], state)
}

func (b *breakerLog) of(source string) []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.states[source]...)
}

// rawTemplate is the raw.githubusercontent layout on a mirror, the form of
// the default fallback source.
func rawTemplate(m *mirrortest.Mirror) string {
	return m.URL + "/{year}/{ref}/{gp}/{session}/{path}"
}

// TestPrimaryDownThenRecovers: the primary (TLS) answers 503 to everything;
// the fallback (h2c, raw layout) serves every file in the same attempt; once
// the primary is healthy and its breaker timeout has passed, it is used again.
func TestPrimaryDownThenRecovers(t *testing.T) {
	leakCheck(t)
	ts := corpusTuples(t)
	primary := startMirror(t, true, mirror.Faults{Rules: []mirror.Rule{{StatusRate: map[int]float64{503: 1}}}})
	fallback := startMirror(t, false, mirror.Faults{})
	s := settings(primary.CAFile, primary.URL, rawTemplate(fallback))
	s.BreakerTimeout = 300 * time.Millisecond
	c := newClient(t, s)
	var log breakerLog
	c.Observe(&log)

	rs, o, wall := fetchAndCheck(t, c, ts)
	wantExact(t, "documents while the primary is down", o.docs, len(ts))
	wantExact(t, "retries (the fallback answers in the same attempt)", o.retries, 0)
	for _, r := range rs {
		if r.Source != rawTemplate(fallback) {
			t.Errorf("%s served by %q, want the fallback", r.Tuple, r.Source)
			break
		}
	}
	down := primary.Counts().Total
	// Open, the breaker lets through only the requests already in flight and,
	// every breaker_timeout, the probes of the half-open state.
	probes := int64(wall/s.BreakerTimeout) + 1
	if limit := int64(s.BreakerFailures) + probes*int64(s.MaxConcurrent); down > limit {
		t.Errorf("primary got %d requests while failing; its breaker should stop them after %d (+%d in flight per probe window)", down, s.BreakerFailures, s.MaxConcurrent)
	}
	if !slices.Contains(log.of(primary.URL), "open") {
		t.Errorf("primary breaker states %v: never open", log.of(primary.URL))
	}
	record(t, row{Scenario: "primary source down (all 503), fallback up", Tuples: len(ts), Documents: o.docs, Flagged: o.flagged,
		Lost: o.lost, Duplicated: o.dup, Retries: o.retries, Requests: down + fallback.Counts().Total, Wall: wall,
		Happened: fmt.Sprintf("primary breaker opened after %d failed requests; every file served by the fallback in the same attempt", down)})

	// Recovery: once breaker_timeout has passed, one request probes the
	// primary; the requests arriving while the probe is in flight skip it,
	// as while it was open, and go to the fallback; the probe closes the
	// breaker and the primary serves the rest, then a second run alone.
	primary.SetFaults(mirror.Faults{})
	primary.Reset()
	fallback.Reset()
	time.Sleep(s.BreakerTimeout + 100*time.Millisecond)
	rs, o, wall = fetchAndCheck(t, c, ts)
	wantExact(t, "documents after recovery", o.docs, len(ts))
	served := map[string]int{}
	for _, r := range rs {
		served[r.Source]++
	}
	if served[primary.URL] == 0 || served[primary.URL]+served[rawTemplate(fallback)] != len(ts) {
		t.Errorf("after recovery files served by %v; want the primary (its probe at least) and, during the probe, the fallback", served)
	}
	duringProbe := fallback.Counts().Total
	requests := primary.Counts().Total + duringProbe
	wantExact(t, "requests after recovery (one a file)", int(requests), len(ts))
	if st := log.of(primary.URL); st[len(st)-1] != "closed" {
		t.Errorf("primary breaker states %v: not closed after recovery", st)
	}
	fallback.Reset()
	rs, _, _ = fetchAndCheck(t, c, ts)
	for _, r := range rs {
		if r.Source != primary.URL {
			t.Errorf("once the primary's breaker closed, %s served by %q, want the primary", r.Tuple, r.Source)
			break
		}
	}
	wantExact(t, "fallback requests once the primary's breaker closed", int(fallback.Counts().Total), 0)
	closeClient(t, c, port(t, primary), port(t, fallback))
	record(t, row{Scenario: "primary source recovers (breaker timeout 300 ms)", Tuples: len(ts), Documents: o.docs, Flagged: o.flagged,
		Lost: o.lost, Duplicated: o.dup, Retries: o.retries, Requests: requests, Wall: wall,
		Happened: fmt.Sprintf("after the breaker timeout one request probed the primary and closed its breaker; the %d requests made during the probe went to the fallback, the others and the next run to the primary", duringProbe)})
}

// deadAddr is a loopback address where nothing listens.
func deadAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// TestAllSourcesDown: with the seed's defaults (backoff 2 s, breaker 5
// failures), two dead sources give every tuple a clear network error within
// one backoff, and the breaker states say why.
func TestAllSourcesDown(t *testing.T) {
	leakCheck(t)
	ts := corpusTuples(t)
	s := config.Defaults()
	a, b := "http://"+deadAddr(t), "http://"+deadAddr(t)+"/{year}/{ref}/{gp}/{session}/{path}"
	s.BaseURLs = []string{a, b}
	s.UseCache, s.WriteCache = false, false
	c := newClient(t, s)
	var log breakerLog
	c.Observe(&log)

	rs, o, wall := fetchAndCheck(t, c, ts)
	wantExact(t, "flagged network", o.kinds[fetch.KindNetwork], len(ts))
	open, atOnce := 0, 0
	for _, r := range rs {
		if r.Attempts == 0 { // failed by the open breakers, no request sent, no wait
			atOnce++
		}
		var ne *fetch.NetworkError
		if !errors.As(r.Err, &ne) {
			t.Fatalf("%s: error %T %v, want *fetch.NetworkError", r.Tuple, r.Err, r.Err)
		}
		msg := r.Err.Error()
		switch {
		case strings.Contains(msg, "circuit breaker open"):
			open++
		case strings.Contains(msg, "connection refused"):
		default:
			t.Errorf("%s: unclear error %q", r.Tuple, msg)
		}
	}
	if open == 0 {
		t.Error("no tuple was failed at once by the open breakers")
	}
	// The first tuples wait one backoff (2 s + up to 1 s jitter) before the
	// breakers, open by then, fail them; nobody waits the full 2+4+8 s.
	if wall > 4*time.Second {
		t.Errorf("all sources down took %s; want one backoff at most", wall)
	}
	if o.maxAttempts > 2 {
		t.Errorf("a tuple made %d attempts: the open breakers should end it at its first retry", o.maxAttempts)
	}
	for _, src := range []string{a, b} {
		if !slices.Contains(log.of(src), "open") {
			t.Errorf("breaker of %s: states %v, never open", src, log.of(src))
		}
	}
	closeClient(t, c)
	record(t, row{Scenario: "all sources down (connection refused), seed defaults", Tuples: len(ts), Documents: o.docs, Flagged: o.flagged,
		Lost: o.lost, Duplicated: o.dup, Retries: o.retries, Requests: 0, Wall: wall,
		Happened: fmt.Sprintf("both breakers opened (observer: open); %d tuples failed without a retry wait, the rest after one backoff; %d errors say \"circuit breaker open\", the others \"connection refused\"", atOnce, open)})
}

// TestServerRestartMidRun stops the mirror (Close: connections cut at once)
// once it has answered a third of the files, in the middle of a FetchMany,
// and starts a new one on the same port: the requests cut are retried and
// land on the new server. (No latency fault here: a mirror closed while a
// handler sleeps answers that request 200 with an empty body, a mirror
// artefact rather than a restart.)
func TestServerRestartMidRun(t *testing.T) {
	leakCheck(t)
	ts := corpusTuples(t)
	cfg := mirrortest.SharedConfig(t)
	first, err := mirror.Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s := settings("", first.URL)
	highBreaker(&s)
	s.MaxConcurrent = 2
	s.MaxRetries = 5
	c := newClient(t, s)

	var second *mirror.Running
	restarted := make(chan error, 1)
	go func() {
		for first.Counts().Total < int64(len(ts)/3) {
			time.Sleep(time.Millisecond)
		}
		first.Close()
		cfg.Addr = first.Addr.String()
		var err error
		second, err = mirror.Start(cfg)
		restarted <- err
	}()
	start := time.Now()
	rs := c.FetchMany(ctxFor(t, time.Minute), ts)
	wall := time.Since(start)
	if err := <-restarted; err != nil {
		t.Fatalf("restart on %s: %v", cfg.Addr, err)
	}
	defer second.Close()
	o := check(t, ts, rs)
	wantExact(t, "documents", o.docs, len(ts))
	for _, r := range rs {
		if r.Err != nil {
			t.Errorf("%s after %d attempt(s): %v", r.Tuple.Path, r.Attempts, r.Err)
		}
	}
	before, after := first.Counts().Total, second.Counts().Total
	if before == 0 || after == 0 {
		t.Errorf("requests: %d before the restart, %d after; the restart did not fall mid-run", before, after)
	}
	if o.maxAttempts > s.MaxRetries+1 {
		t.Errorf("%d attempts > max_retries+1", o.maxAttempts)
	}
	closeClient(t, c, first.Addr.(*net.TCPAddr).Port)
	record(t, row{Scenario: "server restart mid-run (same port)", Tuples: len(ts), Documents: o.docs, Flagged: o.flagged,
		Lost: o.lost, Duplicated: o.dup, Retries: o.retries, Requests: before + after, Wall: wall,
		Happened: fmt.Sprintf("%d requests before the stop, %d after; the requests cut by the stop were retried on a new connection, all delivered", before, after)})
}
