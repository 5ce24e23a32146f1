package fetch

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"sync/atomic"
	"testing"
	"time"
)

// write_cache: false stores nothing, a 404 included: with use_cache on and a
// long not_found_ttl, the same missing file is asked of the server again.
func TestNotFoundIsNotCachedWithoutWriteCache(t *testing.T) {
	srv := newH2Server(t, func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) })
	s := fastSettings(srv.caFile, srv.URL)
	s.UseCache, s.WriteCache = true, false
	s.NotFoundTTL = time.Hour
	c := newClient(t, s)
	tp := mustTuple(t, 2025, gpAUS, quali, "ZZZ/laptimes.json")
	var results []Result
	for i := 0; i < 2; i++ {
		res, err := c.FetchOne(context.Background(), tp)
		var nf *NotFoundError
		if !errors.As(err, &nf) {
			t.Fatalf("fetch %d: want NotFoundError, got %v", i, err)
		}
		results = append(results, res)
	}
	if n := srv.requests.Load(); n != 2 {
		t.Fatalf("%d requests for two fetches of a 404 with write_cache false, want 2 (nothing written to the cache)", n)
	}
	if results[1].Cache != CacheMiss {
		t.Fatalf("second fetch of the 404: cache %s, want %s", results[1].Cache, CacheMiss)
	}
}

// A stale entry with a Last-Modified and no ETag is revalidated with
// If-Modified-Since: a 304 serves the document kept.
func TestRevalidationWithLastModified(t *testing.T) {
	file := corpus(t, "test/"+gpAUS+"/"+quali+"/VER/3_tel.json")
	modtime := time.Date(2025, 3, 15, 6, 0, 0, 0, time.UTC)
	var conditional, notModified atomic.Int64
	srv := newH2Server(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("If-None-Match") != "" {
			t.Errorf("If-None-Match %q sent: the server gave no ETag", r.Header.Get("If-None-Match"))
		}
		if r.Header.Get("If-Modified-Since") != "" {
			conditional.Add(1)
		}
		rec := &statusRecorder{ResponseWriter: w}
		w.Header().Set("Content-Type", "application/json")
		http.ServeContent(rec, r, "3_tel.json", modtime, bytes.NewReader(file))
		if rec.status == http.StatusNotModified {
			notModified.Add(1)
		}
	})
	s := fastSettings(srv.caFile, srv.URL)
	s.CacheTTL = 100 * time.Millisecond
	c := newClient(t, s)
	tp := mustTuple(t, 2025, gpAUS, quali, "VER/3_tel.json")
	first, err := c.FetchOne(context.Background(), tp)
	if err != nil || first.Cache != CacheMiss {
		t.Fatalf("first fetch: %v, cache %s", err, first.Cache)
	}
	time.Sleep(150 * time.Millisecond)
	second, err := c.FetchOne(context.Background(), tp)
	if err != nil || second.Cache != CacheRevalidated || !bytes.Equal(first.Doc, second.Doc) {
		t.Fatalf("past the TTL: %v, cache %s (same document %v); want %s", err, second.Cache, bytes.Equal(first.Doc, second.Doc), CacheRevalidated)
	}
	if conditional.Load() != 1 || notModified.Load() != 1 || srv.requests.Load() != 2 {
		t.Fatalf("server saw %d requests, %d with If-Modified-Since, answered %d with 304; want 2, 1, 1",
			srv.requests.Load(), conditional.Load(), notModified.Load())
	}
}

// statusRecorder remembers the status a handler wrote.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}
