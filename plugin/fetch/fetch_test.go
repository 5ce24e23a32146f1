package fetch

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/f1fetch/f1fetch/config"
	"github.com/f1fetch/f1fetch/plugin/payload"
	"github.com/f1fetch/f1fetch/plugin/tuple"
)

const (
	gpAUS = "Australian Grand Prix"
	quali = "Qualifying"
)

func TestHTTP2OneConnectionSharedByConcurrentRequests(t *testing.T) {
	srv := newH2Server(t, corpusHandler(t))
	c := newClient(t, fastSettings(srv.caFile, srv.URL))
	var ts []tuple.Tuple
	for lap := 1; lap <= 15; lap++ {
		ts = append(ts, mustTuple(t, 2025, gpAUS, quali, fmt.Sprintf("VER/%d_tel.json", lap)))
	}
	for _, d := range []string{"NOR", "PIA", "LEC", "HAM", "RUS"} {
		ts = append(ts, mustTuple(t, 2025, gpAUS, quali, d+"/laptimes.json"))
	}
	res := c.FetchMany(context.Background(), ts)
	for i, r := range res {
		if r.Err != nil {
			t.Fatalf("%s: %v", ts[i], r.Err)
		}
		if r.Tuple != ts[i] {
			t.Fatalf("result %d is for %s, want %s: order lost", i, r.Tuple, ts[i])
		}
		want, err := payload.Decode(ts[i].Path, corpus(t, "test/"+gpAUS+"/"+quali+"/"+ts[i].Path), payload.Options{Validate: true, NormalizeMissing: true})
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(r.Doc, want) {
			t.Fatalf("%s: document differs from the decoded corpus file", ts[i])
		}
		if r.Status != 200 || r.Cache != CacheMiss || r.Attempts != 1 || r.Source != srv.URL {
			t.Fatalf("%s: facts %+v", ts[i], r)
		}
	}
	if n := srv.notH2.Load(); n != 0 {
		t.Fatalf("%d requests were not HTTP/2", n)
	}
	if n := srv.conns.Load(); n != 1 {
		t.Fatalf("%d concurrent requests used %d connections, want 1", len(ts), n)
	}
}

func TestFetchManyKeepsOrderAndIsolatesFailures(t *testing.T) {
	srv := newH2Server(t, func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasSuffix(r.URL.Path, "/BAD/laptimes.json"):
			_, _ = w.Write([]byte(`{"time": [1, 2], "lap": [1]}`))
		case strings.HasSuffix(r.URL.Path, "/VER/laptimes.json"):
			_, _ = w.Write([]byte(`{"time": [NaN, 80.1], "lap": [1.0, 2.0], "compound": ["None", "SOFT"]}`))
		default:
			http.NotFound(w, r)
		}
	})
	c := newClient(t, fastSettings(srv.caFile, srv.URL))
	ts := []tuple.Tuple{
		mustTuple(t, 2025, gpAUS, quali, "VER/laptimes.json"),
		mustTuple(t, 2025, gpAUS, quali, "XXX/laptimes.json"),
		{Year: 2025, GP: gpAUS, Session: quali, Path: "../etc/passwd.json"},
		mustTuple(t, 2025, gpAUS, quali, "BAD/laptimes.json"),
		mustTuple(t, 2025, gpAUS, quali, "VER/laptimes.json"),
	}
	res := c.FetchMany(context.Background(), ts)
	kinds := []string{}
	for _, r := range res {
		kinds = append(kinds, ErrorKind(r.Err))
	}
	want := []string{KindOK, KindNotFound, KindBadRequest, KindInvalid, KindOK}
	if fmt.Sprint(kinds) != fmt.Sprint(want) {
		t.Fatalf("kinds %v, want %v", kinds, want)
	}
	if string(res[0].Doc) != `{"time": [null, 80.1], "lap": [1.0, 2.0], "compound": [null, "SOFT"]}` {
		t.Fatalf("normalised document: %s", res[0].Doc)
	}
	var inv *InvalidDataError
	if !errors.As(res[3].Err, &inv) || !strings.Contains(inv.Reason, "lap") {
		t.Fatalf("invalid data error should name the column: %v", res[3].Err)
	}
	var br *BadRequestError
	var te *tuple.Error
	if !errors.As(res[2].Err, &br) || !errors.As(res[2].Err, &te) || te.Field != "path" {
		t.Fatalf("bad request should wrap a tuple error on path: %v", res[2].Err)
	}
	if n := srv.requests.Load(); n != 3 { // VER (coalesced or cached once), XXX, BAD; never the bad tuple
		t.Fatalf("server saw %d requests, want 3", n)
	}
}

// failFirst answers status for the first n requests of each path, then
// serves the corpus.
func failFirst(t testing.TB, n int, status int, header map[string]string) http.HandlerFunc {
	serve := corpusHandler(t)
	var mu sync.Mutex
	seen := map[string]int{}
	return func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen[r.URL.Path]++
		k := seen[r.URL.Path]
		mu.Unlock()
		if k <= n {
			for h, v := range header {
				w.Header().Set(h, v)
			}
			if status == 0 { // reset the stream: a transport error for the client
				panic(http.ErrAbortHandler)
			}
			w.WriteHeader(status)
			return
		}
		serve(w, r)
	}
}

func TestRetryClasses(t *testing.T) {
	cases := []struct {
		name         string
		status       int // 0 = stream reset
		failures     int
		wantKind     string
		wantAttempts int
	}{
		{"transport error retried", 0, 2, KindOK, 3},
		{"500 retried", 500, 2, KindOK, 3},
		{"502 retried", 502, 3, KindOK, 4},
		{"503 retried", 503, 1, KindOK, 2},
		{"429 retried", 429, 2, KindOK, 3},
		{"400 retried", 400, 1, KindOK, 2},
		{"403 retried", 403, 1, KindOK, 2},
		{"500 exhausts retries", 500, 10, KindNetwork, 4},
		{"404 never retried", 404, 10, KindNotFound, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := newH2Server(t, failFirst(t, tc.failures, tc.status, nil))
			s := fastSettings(srv.caFile, srv.URL)
			s.BreakerFailures = 100
			c := newClient(t, s)
			res, err := c.FetchOne(context.Background(), mustTuple(t, 2025, gpAUS, quali, "VER/laptimes.json"))
			if got := ErrorKind(err); got != tc.wantKind {
				t.Fatalf("kind %s (%v), want %s", got, err, tc.wantKind)
			}
			attempts := res.Attempts
			var ne *NetworkError
			if errors.As(err, &ne) {
				attempts = ne.Attempts
				if ne.LastStatus != tc.status || ne.URL == "" {
					t.Fatalf("network error lost its facts: %+v", ne)
				}
			}
			if attempts != tc.wantAttempts || int(srv.requests.Load()) != tc.wantAttempts {
				t.Fatalf("attempts %d, server saw %d, want %d", attempts, srv.requests.Load(), tc.wantAttempts)
			}
		})
	}
}

func TestInvalidDataIsNeverRetried(t *testing.T) {
	srv := newH2Server(t, func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte(`{"tel": {"time": [0.0`)) })
	c := newClient(t, fastSettings(srv.caFile, srv.URL))
	_, err := c.FetchOne(context.Background(), mustTuple(t, 2025, gpAUS, quali, "VER/1_tel.json"))
	if ErrorKind(err) != KindInvalid || srv.requests.Load() != 1 {
		t.Fatalf("kind %s after %d requests: %v", ErrorKind(err), srv.requests.Load(), err)
	}
}

func TestRetryAfterIsHonouredAndCapped(t *testing.T) {
	srv := newH2Server(t, failFirst(t, 1, 429, map[string]string{"Retry-After": "1"}))
	c := newClient(t, fastSettings(srv.caFile, srv.URL))
	start := time.Now()
	res, err := c.FetchOne(context.Background(), mustTuple(t, 2025, gpAUS, quali, "VER/laptimes.json"))
	if err != nil || res.Attempts != 2 {
		t.Fatalf("%v after %d attempts", err, res.Attempts)
	}
	if el := time.Since(start); el < 950*time.Millisecond {
		t.Fatalf("retried after %v, before the server's Retry-After of 1s", el)
	}

	capped := newH2Server(t, failFirst(t, 1, 503, map[string]string{"Retry-After": "120"}))
	s := fastSettings(capped.caFile, capped.URL)
	s.MaxDelay = 200 * time.Millisecond
	c2 := newClient(t, s)
	start = time.Now()
	if _, err := c2.FetchOne(context.Background(), mustTuple(t, 2025, gpAUS, quali, "VER/laptimes.json")); err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el < 190*time.Millisecond || el > 2*time.Second {
		t.Fatalf("Retry-After 120 with max_delay 200ms waited %v", el)
	}
}

// A source's Retry-After holds for the request it refused even when the
// attempt then fell over to another source that failed otherwise. Outside
// adaptive mode the wait came from the attempt's last error only: the
// retry went back to the refusing source after the plain backoff.
func TestRetryAfterOfASourceFallenOverFromIsHonoured(t *testing.T) {
	var mu sync.Mutex
	var arrivals []time.Time
	primary := newH2Server(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		arrivals = append(arrivals, time.Now())
		mu.Unlock()
		w.Header().Set("Retry-After", "1")
		w.WriteHeader(http.StatusTooManyRequests)
	})
	secondary := newH2Server(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusInternalServerError)
	})
	s := fastSettings("", primary.URL, secondary.URL)
	s.TLSSkipVerify = true // two servers, two CAs
	s.MaxRetries = 1
	s.MaxDelay = 5 * time.Second
	s.BreakerFailures = 100
	s.UseCache, s.WriteCache = false, false
	c := newClient(t, s)
	res, err := c.FetchOne(context.Background(), mustTuple(t, 2025, gpAUS, quali, "VER/laptimes.json"))
	if ErrorKind(err) != KindNetwork || res.Attempts != 2 {
		t.Fatalf("%v after %d attempts; want a network error after 2", err, res.Attempts)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(arrivals) > 1 {
		if gap := arrivals[1].Sub(arrivals[0]); gap < 950*time.Millisecond {
			t.Fatalf("the primary asked for Retry-After: 1 and was asked again %v later", gap.Round(time.Millisecond))
		}
	}
	// The retry did not wait for the primary: the secondary was free.
	if n := secondary.requests.Load(); n != 2 {
		t.Fatalf("the secondary was asked %d times, want 2 (once per attempt)", n)
	}
}

func TestPerAttemptTimeout(t *testing.T) {
	var n atomic.Int64
	serve := corpusHandler(t)
	srv := newH2Server(t, func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			select {
			case <-r.Context().Done():
			case <-time.After(3 * time.Second):
			}
			return
		}
		serve(w, r)
	})
	s := fastSettings(srv.caFile, srv.URL)
	s.Timeout = 150 * time.Millisecond
	c := newClient(t, s)
	start := time.Now()
	res, err := c.FetchOne(context.Background(), mustTuple(t, 2025, gpAUS, quali, "VER/laptimes.json"))
	if err != nil || res.Attempts != 2 {
		t.Fatalf("%v after %d attempts", err, res.Attempts)
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Fatalf("timed-out attempt not abandoned: %v", el)
	}
}

// Source 0 answers 503 and source 1's breaker is open: the failure names
// source 0 with its own URL, not the URL of the source that was skipped.
func TestFailureNamesTheURLItAsked(t *testing.T) {
	primary := newH2Server(t, func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) })
	secondary := newH2Server(t, corpusHandler(t))
	s := fastSettings("", primary.URL, secondary.URL)
	s.TLSSkipVerify = true
	s.MaxRetries = 0
	s.BreakerFailures = 100
	s.BreakerTimeout = time.Minute
	c := newClient(t, s)
	for range s.BreakerFailures {
		_ = c.sources[1].breaker.Run(func() error { return errors.New("down") })
	}
	if st := c.sources[1].state(); st != "open" {
		t.Fatalf("setup: source 1's breaker is %s, want open", st)
	}
	res, err := c.FetchOne(context.Background(), mustTuple(t, 2025, gpAUS, quali, "drivers.json"))
	var ne *NetworkError
	if !errors.As(err, &ne) {
		t.Fatalf("want a network error, got %v", err)
	}
	if res.Status != http.StatusServiceUnavailable || !strings.HasPrefix(res.URL, primary.URL) || !strings.HasPrefix(ne.URL, primary.URL) {
		t.Fatalf("status %d from %s reported with URL %s (error's %s), want %s...", res.Status, res.Source, res.URL, ne.URL, primary.URL)
	}
	if secondary.requests.Load() != 0 {
		t.Fatalf("the source with an open breaker was asked %d times", secondary.requests.Load())
	}
}

// A run with a smaller max_body_bytes over a cache_dir that a run with the
// default filled is not served a document it would refuse.
func TestCacheHitHeldToMaxBodyBytes(t *testing.T) {
	srv := newH2Server(t, corpusHandler(t))
	s := fastSettings(srv.caFile, srv.URL)
	s.CacheDir = t.TempDir()
	tp := mustTuple(t, 2025, gpAUS, quali, "VER/5_tel.json") // 596,470 bytes
	if _, err := newClient(t, s).FetchOne(context.Background(), tp); err != nil {
		t.Fatal(err)
	}
	small := s
	small.MaxBodyBytes = 1 << 10
	res, err := newClient(t, small).FetchOne(context.Background(), tp)
	var inv *InvalidDataError
	if !errors.As(err, &inv) || res.Cache == CacheHit {
		t.Fatalf("max_body_bytes %d: %v, cache %s, %d bytes; want the body refused as too large", small.MaxBodyBytes, err, res.Cache, res.Bytes)
	}
}

// The limit holds the body as the source sent it: a document that
// normalising lengthens (NaN becomes null) is served from the cache at a
// max_body_bytes equal to its size, not fetched again on every read.
func TestCacheHitOfANormalisedDocumentAtTheLimit(t *testing.T) {
	body := []byte(`{"time": [NaN, 80.5], "lap": [1, 2]}`)
	srv := newH2Server(t, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	})
	s := fastSettings(srv.caFile, srv.URL)
	s.MaxBodyBytes = int64(len(body))
	c := newClient(t, s)
	tp := mustTuple(t, 2025, gpAUS, quali, "VER/laptimes.json")
	first, err := c.FetchOne(context.Background(), tp)
	if err != nil || first.Bytes <= len(body) {
		t.Fatalf("first fetch: %v, %d bytes from %d; want a longer normalised document", err, first.Bytes, len(body))
	}
	second, err := c.FetchOne(context.Background(), tp)
	if err != nil || second.Cache != CacheHit || srv.requests.Load() != 1 {
		t.Fatalf("second fetch: %v, cache %s, %d requests; want a hit", err, second.Cache, srv.requests.Load())
	}
}

// A document revalidated (304) on its first read from cache_dir does not
// enter the memory tier: as a plain tier hit, it waits for its second read.
func TestRevalidatedFirstTierReadStaysOutOfMemory(t *testing.T) {
	serve := corpusHandler(t)
	srv := newH2Server(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ETag", `"v1"`)
		if r.Header.Get("If-None-Match") == `"v1"` {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		serve(w, r)
	})
	s := fastSettings(srv.caFile, srv.URL)
	s.CacheDir, s.CacheTTL = t.TempDir(), 50*time.Millisecond
	tp := mustTuple(t, 2025, gpAUS, quali, "VER/3_tel.json")
	if _, err := newClient(t, s).FetchOne(context.Background(), tp); err != nil {
		t.Fatal(err)
	}
	time.Sleep(80 * time.Millisecond)
	rerun := newClient(t, s) // a new process over the same directory
	res, err := rerun.FetchOne(context.Background(), tp)
	if err != nil || res.Cache != CacheRevalidated {
		t.Fatalf("rerun: %v, cache %s; want revalidated", err, res.Cache)
	}
	if n := rerun.mem.Len(); n != 0 {
		t.Fatalf("the first tier read, revalidated, entered memory: %d entries", n)
	}
}

func TestBreakerOpensFallsBackAndRecovers(t *testing.T) {
	var healthy atomic.Bool
	serve := corpusHandler(t)
	primary := newH2Server(t, func(w http.ResponseWriter, r *http.Request) {
		if !healthy.Load() {
			w.WriteHeader(503)
			return
		}
		serve(w, r)
	})
	secondary := newH2Server(t, serve)
	s := fastSettings(primary.caFile, primary.URL, secondary.URL)
	s.TLSRootCAsFile = "" // two servers, two CAs: trust both via skip-verify in this test only
	s.TLSSkipVerify = true
	s.BreakerFailures = 3
	s.BreakerTimeout = 300 * time.Millisecond
	s.UseCache = false
	c := newClient(t, s)
	get := func() Result {
		res, err := c.FetchOne(context.Background(), mustTuple(t, 2025, gpAUS, quali, "VER/laptimes.json"))
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	for i := 0; i < 6; i++ {
		if r := get(); r.Source != secondary.URL {
			t.Fatalf("fetch %d answered by %s, want the fallback", i, r.Source)
		}
	}
	if n := primary.requests.Load(); n != 3 {
		t.Fatalf("primary saw %d requests; its breaker should open after 3 failures", n)
	}
	healthy.Store(true)
	time.Sleep(350 * time.Millisecond)
	if r := get(); r.Source != primary.URL {
		t.Fatalf("recovered primary not used again: answered by %s", r.Source)
	}
	if r := get(); r.Source != primary.URL {
		t.Fatalf("primary not kept after recovery: %s", r.Source)
	}
}

func TestAllSourcesDownFailFastOnceBreakersOpen(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "https://" + l.Addr().String()
	_ = l.Close() // connection refused from now on
	s := fastSettings("", dead)
	s.BreakerFailures = 2
	s.BreakerTimeout = time.Minute
	c := newClient(t, s)
	tp := mustTuple(t, 2025, gpAUS, quali, "VER/laptimes.json")
	if _, err := c.FetchOne(context.Background(), tp); ErrorKind(err) != KindNetwork {
		t.Fatalf("want network error, got %v", err)
	}
	start := time.Now()
	_, err = c.FetchOne(context.Background(), tp)
	var ne *NetworkError
	if !errors.As(err, &ne) || !strings.Contains(err.Error(), "circuit breaker open") || ne.Attempts != 0 ||
		!strings.Contains(err.Error(), "before a request was sent") {
		t.Fatalf("want a breaker-open network error with no request sent (f1_attempts 0), got %v", err)
	}
	if el := time.Since(start); el > 50*time.Millisecond {
		t.Fatalf("all sources open should fail at once, took %v", el)
	}
}

func TestIdenticalInFlightRequestsAreCoalesced(t *testing.T) {
	serve := corpusHandler(t)
	srv := newH2Server(t, func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(150 * time.Millisecond)
		serve(w, r)
	})
	s := fastSettings(srv.caFile, srv.URL)
	s.UseCache, s.WriteCache = false, false
	c := newClient(t, s)
	ts := make([]tuple.Tuple, 12)
	for i := range ts {
		ts[i] = mustTuple(t, 2025, gpAUS, quali, "VER/2_tel.json")
	}
	for i, r := range c.FetchMany(context.Background(), ts) {
		if r.Err != nil || len(r.Doc) == 0 {
			t.Fatalf("result %d: %v", i, r.Err)
		}
	}
	if n := srv.requests.Load(); n != 1 {
		t.Fatalf("12 identical concurrent requests made %d server requests, want 1", n)
	}
}

// Identical tuples in flight share one fetch, and its tries are counted
// once: the caller that joined it sent no request (f1_attempts 0), so the
// attempts of the results add up to the requests the server saw. The
// joiner once reported the fetch's attempts too, and the retries metric
// counted them twice.
func TestCoalescedFetchCountsItsTriesOnce(t *testing.T) {
	serve := corpusHandler(t)
	var n atomic.Int64
	srv := newH2Server(t, func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			time.Sleep(200 * time.Millisecond) // the second caller joins meanwhile
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		serve(w, r)
	})
	s := fastSettings(srv.caFile, srv.URL)
	s.UseCache, s.WriteCache = false, false
	c := newClient(t, s)
	tp := mustTuple(t, 2025, gpAUS, quali, "VER/laptimes.json")
	rs := c.FetchMany(context.Background(), []tuple.Tuple{tp, tp})
	attempts := 0
	for i, r := range rs {
		if r.Err != nil {
			t.Fatalf("result %d: %v", i, r.Err)
		}
		attempts += r.Attempts
	}
	// (Were the second caller too late to join, it would send a request of
	// its own, and the attempts would still add up.)
	if attempts != int(srv.requests.Load()) {
		t.Fatalf("attempts %d and %d for %d requests; want them to add up to the requests sent", rs[0].Attempts, rs[1].Attempts, srv.requests.Load())
	}
}

// A tuple of FetchMany that joined an identical fetch in flight sends
// nothing, as idle as one waiting out a backoff, yet it kept its place
// among the 2*max_concurrent_requests tuples waiting for a first slot until
// that fetch ended, Retry-After waits included: a few duplicates of a slow
// tuple stalled the rest of the batch.
func TestJoinersDoNotHoldBackTheBatch(t *testing.T) {
	serve := corpusHandler(t)
	var refused atomic.Bool
	var otherAt atomic.Int64 // unix ns
	srv := newH2Server(t, func(w http.ResponseWriter, r *http.Request) {
		if !strings.Contains(r.URL.Path, "/VER/") {
			otherAt.CompareAndSwap(0, time.Now().UnixNano())
		} else if refused.CompareAndSwap(false, true) {
			w.Header().Set("Retry-After", "2")
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		serve(w, r)
	})
	s := fastSettings(srv.caFile, srv.URL)
	s.MaxConcurrent = 2 // 4 tuples may wait for a first slot
	s.MaxDelay = 5 * time.Second
	s.UseCache, s.WriteCache = false, false
	c := newClient(t, s)
	slow := mustTuple(t, 2025, gpAUS, quali, "VER/laptimes.json")
	ts := []tuple.Tuple{slow, slow, slow, slow, slow, mustTuple(t, 2025, gpAUS, quali, "NOR/laptimes.json")}
	start := time.Now()
	for i, r := range c.FetchMany(context.Background(), ts) {
		if r.Err != nil {
			t.Fatalf("result %d: %v", i, r.Err)
		}
	}
	if el := time.Since(start); el < 1900*time.Millisecond {
		t.Fatalf("setup: the batch took %v; the slow tuple should wait out its Retry-After of 2s", el)
	}
	if at := time.Unix(0, otherAt.Load()).Sub(start); at > time.Second {
		t.Fatalf("the other tuple's request went out after %v: held back by the joiners of a fetch waiting out its Retry-After", at.Round(time.Millisecond))
	}
}

func TestCacheHitMissAndExpiry(t *testing.T) {
	srv := newH2Server(t, corpusHandler(t))
	s := fastSettings(srv.caFile, srv.URL)
	// The second fetch must come within the TTL of the first's store: 1 s
	// leaves room for a slow -race run on busy cores.
	s.CacheTTL = time.Second
	c := newClient(t, s)
	tp := mustTuple(t, 2025, gpAUS, quali, "VER/1_tel.json")
	first, _ := c.FetchOne(context.Background(), tp)
	second, _ := c.FetchOne(context.Background(), tp)
	if first.Cache != CacheMiss || second.Cache != CacheHit || second.Attempts != 0 || !bytes.Equal(first.Doc, second.Doc) {
		t.Fatalf("first %s, second %s (attempts %d)", first.Cache, second.Cache, second.Attempts)
	}
	// SPEC: f1_url on every emitted message, hits included.
	if first.URL == "" || second.URL != first.URL || second.Source != first.Source {
		t.Fatalf("hit's URL %q from %q, the miss's %q from %q: want the same", second.URL, second.Source, first.URL, first.Source)
	}
	if srv.requests.Load() != 1 {
		t.Fatalf("cache hit went to the server: %d requests", srv.requests.Load())
	}
	time.Sleep(s.CacheTTL + 100*time.Millisecond)
	third, _ := c.FetchOne(context.Background(), tp)
	if third.Cache != CacheMiss || srv.requests.Load() != 2 {
		t.Fatalf("expired entry: cache %s, %d requests", third.Cache, srv.requests.Load())
	}
}

// A later run that shortens cache_ttl, or sets not_found_ttl 0, over the
// same cache_dir is not served entries the earlier run's longer TTLs kept
// fresh; with the same TTLs it is.
func TestALaterRunsShorterTTLsDecideFreshness(t *testing.T) {
	srv := newH2Server(t, corpusHandler(t))
	s := fastSettings(srv.caFile, srv.URL)
	s.CacheDir, s.CacheTTL, s.NotFoundTTL = t.TempDir(), time.Hour, time.Hour
	doc, missing := mustTuple(t, 2025, gpAUS, quali, "VER/laptimes.json"), mustTuple(t, 2025, gpAUS, quali, "ZZZ/laptimes.json")
	first := newClient(t, s)
	for _, tp := range []tuple.Tuple{doc, missing} {
		_, _ = first.FetchOne(context.Background(), tp)
	}
	time.Sleep(50 * time.Millisecond)
	same := newClient(t, s) // a new process: an empty memory tier over the same directory
	for _, tp := range []tuple.Tuple{doc, missing} {
		if res, _ := same.FetchOne(context.Background(), tp); res.Cache != CacheHit {
			t.Fatalf("%s with the writer's TTLs: cache %s, want a hit from cache_dir", tp.Path, res.Cache)
		}
	}
	before := srv.requests.Load()
	shorter := s
	shorter.CacheTTL, shorter.NotFoundTTL = 20*time.Millisecond, 0
	later := newClient(t, shorter)
	for _, tp := range []tuple.Tuple{doc, missing} {
		if res, _ := later.FetchOne(context.Background(), tp); res.Cache == CacheHit {
			t.Fatalf("%s: served from the cache 50 ms after it was stored, with cache_ttl 20ms and not_found_ttl 0", tp.Path)
		}
	}
	if n := srv.requests.Load() - before; n != 2 {
		t.Fatalf("the later run sent %d requests, want 2 (a revalidation or fetch for each)", n)
	}
}

func TestUseCacheAndWriteCacheFlags(t *testing.T) {
	srv := newH2Server(t, corpusHandler(t))
	tp := mustTuple(t, 2025, gpAUS, quali, "VER/laptimes.json")
	for _, tc := range []struct {
		use, write bool
		requests   int64
	}{{true, false, 2}, {false, true, 2}, {true, true, 1}} {
		srv.requests.Store(0)
		s := fastSettings(srv.caFile, srv.URL)
		s.UseCache, s.WriteCache = tc.use, tc.write
		c := newClient(t, s)
		for i := 0; i < 2; i++ {
			if _, err := c.FetchOne(context.Background(), tp); err != nil {
				t.Fatal(err)
			}
		}
		if got := srv.requests.Load(); got != tc.requests {
			t.Fatalf("use_cache=%v write_cache=%v: %d requests, want %d", tc.use, tc.write, got, tc.requests)
		}
	}
}

func TestCacheStaysWithinItsByteBound(t *testing.T) {
	srv := newH2Server(t, corpusHandler(t))
	s := fastSettings(srv.caFile, srv.URL)
	s.CacheMaxBytes = 400 << 10
	c := newClient(t, s)
	var ts []tuple.Tuple
	for lap := 1; lap <= 10; lap++ {
		ts = append(ts, mustTuple(t, 2025, gpAUS, quali, fmt.Sprintf("VER/%d_tel.json", lap)))
	}
	total := 0
	for _, r := range c.FetchMany(context.Background(), ts) {
		if r.Err != nil {
			t.Fatal(r.Err)
		}
		total += r.Bytes
	}
	if total <= int(s.CacheMaxBytes) {
		t.Fatalf("test needs more than %d bytes of documents, has %d", s.CacheMaxBytes, total)
	}
	if b := c.CacheBytes(); b > s.CacheMaxBytes || b == 0 {
		t.Fatalf("cache holds %d bytes, bound %d", b, s.CacheMaxBytes)
	}
}

func TestNotFoundIsCachedBriefly(t *testing.T) {
	srv := newH2Server(t, func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) })
	s := fastSettings(srv.caFile, srv.URL)
	// The three fetches must come within the TTL of the first's store: 1 s
	// leaves room for a slow -race run on busy cores.
	s.NotFoundTTL = time.Second
	c := newClient(t, s)
	tp := mustTuple(t, 2025, gpAUS, quali, "ZZZ/laptimes.json")
	for i := 0; i < 3; i++ {
		res, err := c.FetchOne(context.Background(), tp)
		var nf *NotFoundError
		if !errors.As(err, &nf) {
			t.Fatalf("want NotFoundError, got %v", err)
		}
		if i > 0 && res.Cache != CacheHit {
			t.Fatalf("404 not served from the negative cache: %s", res.Cache)
		}
		if res.URL == "" || nf.URL != res.URL {
			t.Fatalf("404 %d: result URL %q, error URL %q: want the URL in both, hits included", i, res.URL, nf.URL)
		}
	}
	if srv.requests.Load() != 1 {
		t.Fatalf("%d requests for a cached 404", srv.requests.Load())
	}
	time.Sleep(s.NotFoundTTL + 100*time.Millisecond)
	_, _ = c.FetchOne(context.Background(), tp)
	if srv.requests.Load() != 2 {
		t.Fatal("negative entry outlived not_found_ttl")
	}
}

func TestBodyLimitAndGzip(t *testing.T) {
	file := corpus(t, "test/"+gpAUS+"/"+quali+"/VER/2_tel.json")
	bomb := func() []byte {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		_, _ = zw.Write([]byte(`{"tel": {"time": [`))
		_, _ = zw.Write(bytes.Repeat([]byte("0,"), 20<<20))
		_ = zw.Close()
		return buf.Bytes()
	}()
	srv := newH2Server(t, func(w http.ResponseWriter, r *http.Request) {
		// /BOMB/ and /GZ/ answer in gzip whatever the request asked (RFC
		// 9110 lets a server choose when it did not), /BR/ in brotli; other
		// paths in gzip when asked.
		body, coding := file, ""
		switch {
		case strings.Contains(r.URL.Path, "/BOMB/"):
			body, coding = bomb, "gzip"
		case strings.Contains(r.URL.Path, "/BR/"):
			coding = "br"
		case strings.Contains(r.URL.Path, "/BADGZ/"): // labelled gzip, not gzip
			coding = "gzip"
		case strings.Contains(r.URL.Path, "/GZ/") || strings.Contains(r.Header.Get("Accept-Encoding"), "gzip"):
			var buf bytes.Buffer
			zw := gzip.NewWriter(&buf)
			_, _ = zw.Write(file)
			_ = zw.Close()
			body, coding = buf.Bytes(), "gzip"
		}
		if coding != "" {
			w.Header().Set("Content-Encoding", coding)
		}
		_, _ = w.Write(body)
	})
	s := fastSettings(srv.caFile, srv.URL)
	s.MaxBodyBytes = 1 << 20
	c := newClient(t, s)
	// Loopback sources skip compression; ask for gzip as a remote source does.
	c.sources[0].transport.DisableCompression = false
	res, err := c.FetchOne(context.Background(), mustTuple(t, 2025, gpAUS, quali, "VER/2_tel.json"))
	if err != nil || res.Bytes < len(file)-100 {
		t.Fatalf("gzip body: %v, %d bytes", err, res.Bytes)
	}
	start := time.Now()
	_, err = c.FetchOne(context.Background(), mustTuple(t, 2025, gpAUS, quali, "BOMB/1_tel.json"))
	var inv *InvalidDataError
	if !errors.As(err, &inv) || !strings.Contains(err.Error(), "max_body_bytes") {
		t.Fatalf("decompression bomb: want invalid data naming max_body_bytes, got %v", err)
	}
	if time.Since(start) > 3*time.Second {
		t.Fatal("bomb read too long")
	}
	s.MaxBodyBytes = 1000
	c2 := newClient(t, s)
	c2.sources[0].transport.DisableCompression = false
	if _, err := c2.FetchOne(context.Background(), mustTuple(t, 2025, gpAUS, quali, "VER/2_tel.json")); ErrorKind(err) != KindInvalid {
		t.Fatalf("oversized body: %v", err)
	}
	// The largest limit, which Validate accepts, means no limit (limit+1
	// once wrapped to a negative and every body read as empty).
	s.MaxBodyBytes = math.MaxInt64
	c3 := newClient(t, s)
	if res, err := c3.FetchOne(context.Background(), mustTuple(t, 2025, gpAUS, quali, "VER/2_tel.json")); err != nil || res.Bytes != len(file) {
		t.Fatalf("max_body_bytes %d: %d bytes, %v", s.MaxBodyBytes, res.Bytes, err)
	}
	// A loopback source, not asked for gzip, answers in gzip anyway: the
	// body is decoded, under the same limit; a coding nobody decodes is
	// invalid data, not retried.
	s.MaxBodyBytes = 1 << 20
	c4 := newClient(t, s)
	if res, err := c4.FetchOne(context.Background(), mustTuple(t, 2025, gpAUS, quali, "GZ/2_tel.json")); err != nil || res.Bytes != len(file) {
		t.Fatalf("gzip a loopback source sent unasked: %d bytes, %v; want the %d decoded", res.Bytes, err, len(file))
	}
	if _, err := c4.FetchOne(context.Background(), mustTuple(t, 2025, gpAUS, quali, "BOMB/2_tel.json")); ErrorKind(err) != KindInvalid || !strings.Contains(err.Error(), "max_body_bytes") {
		t.Fatalf("a bomb sent unasked: %v, want invalid data naming max_body_bytes", err)
	}
	res, err = c4.FetchOne(context.Background(), mustTuple(t, 2025, gpAUS, quali, "BR/2_tel.json"))
	if ErrorKind(err) != KindInvalid || !strings.Contains(err.Error(), `Content-Encoding "br"`) || res.Attempts != 1 {
		t.Fatalf("brotli: %v after %d attempts, want invalid data naming the coding, at once", err, res.Attempts)
	}
	// A body labelled gzip that is not: what was sent is broken, so it is
	// invalid data at once, whoever decodes it, and the source stays in
	// use (it answered).
	for name, client := range map[string]*Client{"decoded by the transport": c, "decoded by readBody": c4} {
		res, err := client.FetchOne(context.Background(), mustTuple(t, 2025, gpAUS, quali, "BADGZ/2_tel.json"))
		if ErrorKind(err) != KindInvalid || !strings.Contains(err.Error(), "gzip") || res.Attempts != 1 || client.sources[0].state() != "closed" {
			t.Fatalf("bad gzip %s: %v after %d attempts, breaker %s; want invalid data naming gzip, at once, the breaker closed", name, err, res.Attempts, client.sources[0].state())
		}
	}
}

func TestCancellationMidBackoffReturnsPromptly(t *testing.T) {
	srv := newH2Server(t, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(503) })
	s := fastSettings(srv.caFile, srv.URL)
	s.BackoffFactor = 5 // the first backoff is 5 s
	s.MaxDelay = time.Minute
	c := newClient(t, s)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(200*time.Millisecond, cancel)
	start := time.Now()
	_, err := c.FetchOne(ctx, mustTuple(t, 2025, gpAUS, quali, "VER/laptimes.json"))
	if err == nil || !errors.Is(err, context.Canceled) {
		t.Fatalf("want context.Canceled, got %v", err)
	}
	if el := time.Since(start); el > time.Second {
		t.Fatalf("cancel during a 5 s backoff took %v", el)
	}
}

func TestRedirectToAnotherHostIsRefused(t *testing.T) {
	other := newH2Server(t, corpusHandler(t))
	srv := newH2Server(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, strings.Replace(other.URL, "127.0.0.1", "localhost", 1)+r.URL.Path, http.StatusFound)
	})
	s := fastSettings(srv.caFile, srv.URL)
	s.TLSRootCAsFile, s.TLSSkipVerify = "", true
	c := newClient(t, s)
	_, err := c.FetchOne(context.Background(), mustTuple(t, 2025, gpAUS, quali, "VER/laptimes.json"))
	if err == nil || !strings.Contains(err.Error(), "redirect") || other.requests.Load() != 0 {
		t.Fatalf("redirect off host followed or not reported: %v (other saw %d)", err, other.requests.Load())
	}
	if srv.requests.Load() != 1 {
		t.Fatalf("a refused redirect should not be retried: %d requests", srv.requests.Load())
	}
}

// TestUserAgentIsTheSettings: every request carries the configured
// User-Agent, the default one when none is set.
func TestUserAgentIsTheSettings(t *testing.T) {
	var got sync.Map // user agent -> seen
	srv := newH2Server(t, func(w http.ResponseWriter, r *http.Request) {
		got.Store(r.UserAgent(), true)
		_, _ = w.Write([]byte(`{"time": [1], "lap": [1]}`))
	})
	for _, ua := range []string{"", "lap-loader/2 (data-team@example.com)"} {
		s := fastSettings(srv.caFile, srv.URL)
		if ua != "" {
			s.UserAgent = ua
		}
		if _, err := newClient(t, s).FetchOne(context.Background(), mustTuple(t, 2025, gpAUS, quali, "VER/laptimes.json")); err != nil {
			t.Fatal(err)
		}
		if _, ok := got.Load(s.UserAgent); !ok {
			t.Errorf("no request carried User-Agent %q", s.UserAgent)
		}
	}
}

// TestValidateAndNormalizeOffReachTheDocument: with validate and
// normalize_missing off, a document the rules refuse is delivered with its
// "None" kept (its bare NaN still becomes null: JSON has no NaN); with
// validate on, the same answer is invalid data.
func TestValidateAndNormalizeOffReachTheDocument(t *testing.T) {
	srv := newH2Server(t, func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"time": [1, 2], "lap": [1], "c": ["None", NaN]}`))
	})
	s := fastSettings(srv.caFile, srv.URL)
	s.ValidatePayload, s.NormalizeMissing = false, false
	tp := mustTuple(t, 2025, gpAUS, quali, "VER/laptimes.json")
	res, err := newClient(t, s).FetchOne(context.Background(), tp)
	if err != nil || string(res.Doc) != `{"time": [1, 2], "lap": [1], "c": ["None", null]}` {
		t.Fatalf("validate and normalize_missing off: %v, %s", err, res.Doc)
	}
	s.ValidatePayload = true
	if _, err := newClient(t, s).FetchOne(context.Background(), tp); ErrorKind(err) != KindInvalid {
		t.Fatalf("validate on, arrays of unequal length: want invalid data, got %v", err)
	}
}

// TestRedirectRuleComparesHostAndPort: a redirect is followed when it stays
// on the base's host and port, however the port is spelt, and refused when
// it changes either (a scheme change moves the default port). No request is
// made: the rule is the client's CheckRedirect.
func TestRedirectRuleComparesHostAndPort(t *testing.T) {
	src, err := newSource("https://m.example/data", config.Defaults(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer src.transport.CloseIdleConnections()
	for target, follow := range map[string]bool{
		"https://m.example/other.json":      true,
		"https://m.example:443/other.json":  true,
		"https://M.example:8443/other.json": false,
		"http://m.example/other.json":       false,
		"https://n.example/other.json":      false,
	} {
		req, err := http.NewRequest(http.MethodGet, target, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := src.client.CheckRedirect(req, nil); (err == nil) != follow {
			t.Errorf("redirect to %s: %v, want followed %v", target, err, follow)
		}
	}
}

func TestRevalidationWithETag(t *testing.T) {
	serve := corpusHandler(t)
	var notModified atomic.Int64
	srv := newH2Server(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ETag", `"v1"`)
		if r.Header.Get("If-None-Match") == `"v1"` {
			notModified.Add(1)
			w.WriteHeader(http.StatusNotModified)
			return
		}
		serve(w, r)
	})
	s := fastSettings(srv.caFile, srv.URL)
	s.CacheTTL = 100 * time.Millisecond
	c := newClient(t, s)
	tp := mustTuple(t, 2025, gpAUS, quali, "VER/3_tel.json")
	first, _ := c.FetchOne(context.Background(), tp)
	time.Sleep(150 * time.Millisecond)
	second, err := c.FetchOne(context.Background(), tp)
	if err != nil || second.Cache != CacheRevalidated || !bytes.Equal(first.Doc, second.Doc) || notModified.Load() != 1 {
		t.Fatalf("revalidation: %v, cache %s, 304s %d", err, second.Cache, notModified.Load())
	}
	third, _ := c.FetchOne(context.Background(), tp)
	if third.Cache != CacheHit {
		t.Fatalf("a 304 should refresh the entry: %s", third.Cache)
	}
}

func TestSharedClientsAreReferenceCounted(t *testing.T) {
	srv := newH2Server(t, corpusHandler(t))
	s := fastSettings(srv.caFile, srv.URL)
	a, err := Acquire(s, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Acquire(s, nil)
	other := s
	other.MaxConcurrent = 3
	o, _ := Acquire(other, nil)
	if a.Client != b.Client || a.Client == o.Client {
		t.Fatal("equal settings must share a client, different ones must not")
	}
	a.Release()
	a.Release() // idempotent
	if _, err := b.FetchOne(context.Background(), mustTuple(t, 2025, gpAUS, quali, "VER/laptimes.json")); err != nil {
		t.Fatalf("client closed while still referenced: %v", err)
	}
	b.Release()
	o.Release()
	if _, err := b.FetchOne(context.Background(), mustTuple(t, 2025, gpAUS, quali, "NOR/laptimes.json")); err == nil {
		t.Fatal("client still usable after the last release")
	}
}

func TestNoGoroutineLeftAfterClose(t *testing.T) {
	srv := newH2Server(t, corpusHandler(t))
	runtime.GC()
	before := runtime.NumGoroutine()
	c, err := New(fastSettings(srv.caFile, srv.URL), nil)
	if err != nil {
		t.Fatal(err)
	}
	var ts []tuple.Tuple
	for lap := 1; lap <= 10; lap++ {
		ts = append(ts, mustTuple(t, 2025, gpAUS, quali, fmt.Sprintf("LEC/%d_tel.json", lap)))
	}
	c.FetchMany(context.Background(), ts)
	_ = c.Close()
	waitGoroutines(t, before+1)
}

// A breaker that opened leaves go-resiliency's timer sleeping out
// breaker_timeout after Close (the library cannot stop it); nothing else
// stays, and the timer ends then.
func TestBreakerTimerIsAllThatOutlivesClose(t *testing.T) {
	srv := newH2Server(t, func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) })
	s := fastSettings(srv.caFile, srv.URL)
	s.MaxRetries, s.BreakerFailures, s.BreakerTimeout = 0, 1, time.Second
	runtime.GC()
	before := runtime.NumGoroutine()
	c, err := New(s, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = c.FetchOne(context.Background(), mustTuple(t, 2025, gpAUS, quali, "drivers.json"))
	if st := c.sources[0].state(); st != "open" {
		t.Fatalf("setup: breaker %s, want open", st)
	}
	// This breaker's timer (the stack shows its receiver), not those other
	// tests' clients left running.
	mine := fmt.Sprintf("breaker.(*Breaker).timer(%p", c.sources[0].breaker)
	timer := func() bool {
		buf := make([]byte, 1<<20)
		return strings.Contains(string(buf[:runtime.Stack(buf, true)]), mine)
	}
	closed := time.Now()
	_ = c.Close()
	waitGoroutines(t, before+1) // the timer
	if !timer() {
		t.Fatal("no breaker timer after Close: the documented exception is gone, update the docs")
	}
	for timer() {
		if time.Since(closed) > s.BreakerTimeout+3*time.Second {
			t.Fatalf("the breaker's timer still runs %v after Close, breaker_timeout %v", time.Since(closed), s.BreakerTimeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestCloseLeavesNoConnection: Close closes every connection itself, the
// server's help not needed, even the one whose last stream is still being
// torn down when the last FetchOne returns (the transport forgets a stream
// cancelled after its body was read asynchronously, and CloseIdleConnections
// skips a connection until then). Many rounds, because that window is short.
func TestCloseLeavesNoConnection(t *testing.T) {
	srv := newH2Server(t, corpusHandler(t))
	runtime.GC()
	before := runtime.NumGoroutine()
	for round := range 100 {
		c, err := New(fastSettings(srv.caFile, srv.URL), nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.FetchOne(context.Background(), mustTuple(t, 2025, gpAUS, quali, "LEC/laptimes.json")); err != nil {
			t.Fatal(err)
		}
		_ = c.Close()
		deadline := time.Now().Add(2 * time.Second)
		for srv.open.Load() > 0 {
			if time.Now().After(deadline) {
				t.Fatalf("round %d: %d connections still open 2 s after Close (IdleConnTimeout would keep them 90 s)", round, srv.open.Load())
			}
			time.Sleep(time.Millisecond)
		}
	}
	waitGoroutines(t, before+1)
}

// TestTLSServerWithoutHTTP2IsRefused: a TLS server that does not negotiate
// h2 by ALPN (here one that speaks HTTP/1.1 and offers no ALPN at all) is
// refused at the handshake with an error saying so, not sent an HTTP/2
// preface it cannot read.
func TestTLSServerWithoutHTTP2IsRefused(t *testing.T) {
	h1 := httptest.NewUnstartedServer(corpusHandler(t))
	h1.StartTLS()
	t.Cleanup(h1.Close)
	// Serve HTTP/1.1 on a listener of our own whose TLS config has no NextProtos.
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: h1.TLS.Certificates})
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: corpusHandler(t), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	s := fastSettings(writeCAFile(t, h1), "https://"+ln.Addr().String())
	s.MaxRetries = 0
	c := newClient(t, s)
	_, err = c.FetchOne(context.Background(), mustTuple(t, 2025, gpAUS, quali, "VER/laptimes.json"))
	if err == nil || ErrorKind(err) != KindNetwork || !strings.Contains(err.Error(), `did not negotiate HTTP/2 (ALPN "", want "h2")`) {
		t.Fatalf("want a network error naming the missing ALPN h2, got %v", err)
	}
}

func TestClosedClientRefusesWork(t *testing.T) {
	c := newClient(t, fastSettings("", "http://127.0.0.1:9"))
	_ = c.Close()
	if _, err := c.FetchOne(context.Background(), mustTuple(t, 2025, gpAUS, quali, "VER/laptimes.json")); err == nil || ErrorKind(err) != KindNetwork {
		t.Fatalf("closed client: %v", err)
	}
}

func TestNewRefusesBadSettings(t *testing.T) {
	s := config.Defaults()
	s.MaxConcurrent = -1
	if _, err := New(s, nil); err == nil || !strings.Contains(err.Error(), "max_concurrent_requests") {
		t.Fatalf("want error naming max_concurrent_requests, got %v", err)
	}
}

func TestSourcePasswordNeverShown(t *testing.T) {
	srv := newH2Server(t, func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != "mirror" || p != "s3cret" {
			w.WriteHeader(401)
			return
		}
		w.WriteHeader(503)
	})
	base := strings.Replace(srv.URL, "https://", "https://mirror:s3cret@", 1)
	s := fastSettings(srv.caFile, base)
	s.MaxRetries = 0
	c := newClient(t, s)
	res, err := c.FetchOne(context.Background(), mustTuple(t, 2025, gpAUS, quali, "VER/laptimes.json"))
	if err == nil || res.Status != 503 {
		t.Fatalf("credentials not sent or wrong outcome: %v (status %d)", err, res.Status)
	}
	for _, shown := range []string{err.Error(), res.URL, res.Source} {
		if strings.Contains(shown, "s3cret") {
			t.Fatalf("password leaked: %s", shown)
		}
	}
}

// A token passed as the user of a base is a credential too: it must not
// reach an error from the transport (net/http's url.Error keeps the user).
func TestSourceTokenUserNeverShown(t *testing.T) {
	srv := newH2Server(t, func(w http.ResponseWriter, r *http.Request) {
		panic(http.ErrAbortHandler) // the stream is reset: a transport error
	})
	base := strings.Replace(srv.URL, "https://", "https://ghp_T0KEN@", 1)
	s := fastSettings(srv.caFile, base)
	s.MaxRetries = 0
	c := newClient(t, s)
	res, err := c.FetchOne(context.Background(), mustTuple(t, 2025, gpAUS, quali, "VER/laptimes.json"))
	if err == nil || ErrorKind(err) != KindNetwork {
		t.Fatalf("want a network error, got %v", err)
	}
	for _, shown := range []string{err.Error(), res.URL, res.Source} {
		if strings.Contains(shown, "T0KEN") {
			t.Fatalf("token leaked: %s", shown)
		}
	}
}

func TestLoopbackSourcesDoNotAskForGzip(t *testing.T) {
	var asked atomic.Int64
	serve := corpusHandler(t)
	srv := newH2Server(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Accept-Encoding") != "" {
			asked.Add(1)
		}
		serve(w, r)
	})
	c := newClient(t, fastSettings(srv.caFile, srv.URL))
	if _, err := c.FetchOne(context.Background(), mustTuple(t, 2025, gpAUS, quali, "VER/laptimes.json")); err != nil {
		t.Fatal(err)
	}
	if asked.Load() != 0 {
		t.Fatal("a loopback source was asked for gzip: inflating it only costs CPU")
	}
}
