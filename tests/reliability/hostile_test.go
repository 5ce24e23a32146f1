package reliability

import (
	"bytes"
	"compress/gzip"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/f1fetch/f1fetch/plugin/fetch"
	"github.com/f1fetch/f1fetch/plugin/mirror"
	"github.com/f1fetch/f1fetch/plugin/tuple"
)

// hostileTuples are messages an attacker or a broken producer may send,
// grouped as the issue names them. Each must be refused before any request.
var hostileTuples = []struct {
	group string
	msgs  []string
}{
	{"path traversal", []string{
		tupleText(2025, gpAUS, quali, "../../../etc/passwd.json"),
		tupleText(2025, "..", quali, "drivers.json"),
		tupleText(2025, gpAUS, "..", "drivers.json"),
		tupleText(2025, gpAUS, quali, "VER/../../x.json"),
		tupleText(2025, gpAUS, quali, `..\..\x.json`),
		tupleText(2025, gpAUS, quali, "./drivers.json"),
	}},
	{"encoded traversal", []string{
		tupleText(2025, gpAUS, quali, "%2e%2e/%2e%2e/etc/passwd.json"),
		tupleText(2025, "%2E%2E", quali, "drivers.json"),
		tupleText(2025, gpAUS, quali, "VER%2F%2e%2e%2F%2e%2e%2Fx.json"),
		tupleText(2025, gpAUS, quali, "%252e%252e/x.json"),
	}},
	{"absolute URLs and paths", []string{
		tupleText(2025, gpAUS, quali, "https://evil.example/x.json"),
		tupleText(2025, "https://evil.example", quali, "x.json"),
		tupleText(2025, gpAUS, quali, "//evil.example/x.json"),
		tupleText(2025, gpAUS, quali, "/etc/passwd.json"),
		tupleText(2025, gpAUS, quali, "drivers.json?x=1.json"),
		tupleText(2025, gpAUS, quali, "drivers.json#.json"),
	}},
	{"huge and odd years", []string{
		`{"year": 99999999999999999999999999, "gp": "a", "session": "b", "path": "c.json"}`,
		`{"year": "20250", "gp": "a", "session": "b", "path": "c.json"}`,
		`{"year": 1e308, "gp": "a", "session": "b", "path": "c.json"}`,
		`{"year": -2025, "gp": "a", "session": "b", "path": "c.json"}`,
		`{"year": 2025.5, "gp": "a", "session": "b", "path": "c.json"}`,
		`{"year": 1950, "gp": "a", "session": "b", "path": "c.json"}`,
		`{"year": "2025 ", "gp": "a", "session": "b", "path": "c.json"}`,
	}},
	{"control characters", []string{
		tupleText(2025, gpAUS, quali, "VER/\x00.json"),
		tupleText(2025, "Australian\nGrand Prix", quali, "drivers.json"),
		tupleText(2025, gpAUS, "Quali\rfying", "drivers.json"),
		tupleText(2025, gpAUS, quali, "VER/\x7f.json"),
		tupleText(2025, gpAUS, "\u0085", "drivers.json"),
	}},
	{"1 MB strings", []string{
		tupleText(2025, strings.Repeat("A", 1<<20), quali, "drivers.json"),
		tupleText(2025, gpAUS, quali, strings.Repeat("A", 1<<20)+".json"),
		tupleText(2025, gpAUS, quali, strings.Repeat("A/", 1<<19)+"x.json"),
	}},
	{"wrong types and shapes", []string{
		`{"year": true, "gp": "a", "session": "b", "path": "c.json"}`,
		`{"year": null, "gp": "a", "session": "b", "path": "c.json"}`,
		`{"year": 2025, "gp": 123, "session": "b", "path": "c.json"}`,
		`{"year": 2025, "gp": "a", "session": {}, "path": "c.json"}`,
		`{"year": 2025, "gp": "a", "session": "b", "path": ["c.json"]}`,
		`{"year": 2025, "gp": "a", "session": "b"}`,
		`[2025, "a", "b"]`,
		`[2025, "a", "b", "c.json", "extra"]`,
		`{"year": 2025, "gp": "a", "session": "b", "path": "c.txt"}`,
		`{"year": 2025, "gp": "", "session": "b", "path": "c.json"}`,
		`"2025/a/b/c.json"`,
		``,
		"\xff\xfe\x00garbage",
	}},
	{"nested junk", []string{
		strings.Repeat("[", 100000) + strings.Repeat("]", 100000),
		`{"year": {"$gt": 0}, "gp": "a", "session": "b", "path": "c.json"}`,
		`{"year": 2025, "gp": [[[["a"]]]], "session": "b", "path": "c.json"}`,
		`{"year": 2025, "gp": "a", "session": "b", "path": {"a": {"b": {"c": "d.json"}}}}`,
		`{"year": 2025, "gp": "a", "session": "b", "path": "c.json", "x": ` + strings.Repeat(`{"a":`, 50000) + `1` + strings.Repeat(`}`, 50000) + `}`,
		`{"year": 2025, "gp": "a", "session": "b", "path": "c.json"`,
	}},
}

func tupleText(year int, gp, session, path string) string {
	return fmt.Sprintf(`{"year": %d, "gp": %q, "session": %q, "path": %q}`, year, gp, session, path)
}

// TestHostileTuples sends each group through the Benthos processor, with one
// good tuple at the end: every hostile message comes out flagged
// bad_request with a short, clear error, and the mirror sees only the good one.
func TestHostileTuples(t *testing.T) {
	for _, g := range hostileTuples {
		t.Run(g.group, func(t *testing.T) {
			leakCheck(t)
			m := startMirror(t, false, mirror.Faults{})
			var raws [][]byte
			for _, s := range g.msgs {
				raws = append(raws, []byte(s))
			}
			raws = append(raws, tupleJSON("drivers.json"))
			r := runStream(t, procYAML("", 3, m.URL), raws)
			o := checkStream(t, len(raws), r.out)
			var bugs []string
			for _, msg := range r.out {
				v, _ := msg.MetaGetMut("idx")
				i := v.(int)
				if i == len(g.msgs) {
					if msg.GetError() != nil {
						t.Errorf("the good tuple failed: %v", msg.GetError())
					}
					continue
				}
				kind, _ := msg.MetaGet("f1_error_kind")
				err := msg.GetError()
				if kind != fetch.KindBadRequest || err == nil {
					bugs = append(bugs, fmt.Sprintf("message %d %.100q: outcome %q after %v attempt(s): %.200v", i, g.msgs[i], kind, meta(msg, "f1_attempts"), err))
					continue
				}
				if msg := err.Error(); len(msg) > 400 || !strings.Contains(msg, "invalid tuple") {
					t.Errorf("hostile message %d: error unclear or too long (%d bytes): %.200q", i, len(msg), msg)
				}
			}
			counts := m.Counts()
			happened := fmt.Sprintf("%d of %d refused as bad_request with no request sent", o.kinds[fetch.KindBadRequest], len(g.msgs))
			if len(bugs) > 0 {
				happened = fmt.Sprintf("BUG: %d of %d not refused; %d reached the mirror as requests (%s)", len(bugs), len(g.msgs), counts.Total-1, outcomes(o.kinds))
			}
			record(t, row{Scenario: "hostile tuples: " + g.group, Tuples: len(g.msgs), Documents: o.docs - 1, Flagged: o.flagged,
				Lost: o.lost, Duplicated: o.dup, Retries: o.retries, Requests: counts.Total - 1, Wall: r.wall, Happened: happened})
			if len(bugs) > 0 || counts.Total != 1 {
				t.Fatalf("BUG: hostile tuples were not refused before the network (tuple.Validate in plugin/tuple/tuple.go accepts them); "+
					"the mirror saw %d requests for them:\n%s", counts.Total-1, strings.Join(bugs, "\n"))
			}
		})
	}
}

func meta(msg interface{ MetaGetMut(string) (any, bool) }, key string) any {
	v, _ := msg.MetaGetMut(key)
	return v
}

func outcomes(kinds map[string]int) string {
	var parts []string
	for _, k := range []string{fetch.KindBadRequest, fetch.KindNotFound, fetch.KindNetwork, fetch.KindInvalid} {
		if kinds[k] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", kinds[k], k))
		}
	}
	return strings.Join(parts, ", ")
}

// h2Server is an HTTP/2 TLS server on loopback counting requests and
// finished handlers, with a CA file for the client.
type h2Server struct {
	*httptest.Server
	caFile   string
	requests atomic.Int64
	finished atomic.Int64
}

func newH2Server(t *testing.T, h http.HandlerFunc) *h2Server {
	t.Helper()
	s := &h2Server{}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.requests.Add(1)
		defer s.finished.Add(1)
		h(w, r)
	}))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	t.Cleanup(srv.Close)
	s.Server = srv
	s.caFile = filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(s.caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	return s
}

// gzipBomb is size MiB of zeros as a chain of gzip members of 1 MiB each
// (a reader decodes them as one stream): about 1 KiB per MiB, built fast.
func gzipBomb(size int) []byte {
	var member bytes.Buffer
	w, _ := gzip.NewWriterLevel(&member, gzip.BestCompression)
	w.Write(make([]byte, 1<<20))
	w.Close()
	return bytes.Repeat(member.Bytes(), size)
}

// TestHostileBodies: answers a hostile or broken server may send. Each is
// refused with a clear error, within the limits, without retrying what a
// retry cannot fix.
func TestHostileBodies(t *testing.T) {
	const limit = 1 << 20
	bomb := gzipBomb(256)
	other := newH2Server(t, func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(`{"drivers": []}`)) })
	doc := []byte(`{"any": "document"}`)
	cases := []struct {
		name     string
		path     string
		handler  http.HandlerFunc
		wantKind string
		wantText string
		attempts int // exact attempts expected
		happened string
	}{
		{
			name: "oversized body (Content-Length 2 MiB, limit 1 MiB)", path: "x.json",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.Write(bytes.Repeat([]byte(" "), 2<<20))
			},
			wantKind: fetch.KindInvalid, wantText: "max_body_bytes", attempts: 1,
			happened: "refused from the Content-Length before reading, invalid, not retried",
		},
		{
			name: "oversized chunked body without length", path: "x.json",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				for range 3 {
					w.Write(bytes.Repeat([]byte(" "), 1<<20))
					http.NewResponseController(w).Flush()
				}
			},
			wantKind: fetch.KindInvalid, wantText: "max_body_bytes", attempts: 1,
			happened: "reading stopped at max_body_bytes+1, invalid, not retried",
		},
		{
			name: fmt.Sprintf("gzip decompression bomb (%d KiB -> 256 MiB)", len(bomb)>>10), path: "x.json",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.Header().Set("Content-Encoding", "gzip")
				w.Write(bomb)
			},
			wantKind: fetch.KindInvalid, wantText: "max_body_bytes", attempts: 1,
			happened: "decoded (a loopback source not asked for gzip sent it anyway), decoded bytes counted: stopped at max_body_bytes+1, invalid, not retried",
		},
		{
			name: "endless body", path: "x.json",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				chunk := bytes.Repeat([]byte(" "), 32<<10)
				for {
					if _, err := w.Write(chunk); err != nil {
						return
					}
				}
			},
			wantKind: fetch.KindInvalid, wantText: "max_body_bytes", attempts: 1,
			happened: "stopped at max_body_bytes, stream cancelled (server handler ended), not retried",
		},
		{
			name: "redirect to another host", path: "x.json",
			handler: func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, strings.Replace(other.URL, "127.0.0.1", "localhost", 1)+"/x.json", http.StatusFound)
			},
			wantKind: fetch.KindNetwork, wantText: "redirect", attempts: 1,
			happened: "redirect refused, the other host got no request, not retried",
		},
		{
			name: "HTML content type (captive portal)", path: "x.json",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/html; charset=utf-8")
				w.Write(doc)
			},
			wantKind: fetch.KindInvalid, wantText: "content type", attempts: 1,
			happened: "refused on its content type, invalid, not retried",
		},
		{
			name: "XML content and type", path: "x.json",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/xml")
				w.Write([]byte(`<?xml version="1.0"?><drivers/>`))
			},
			wantKind: fetch.KindInvalid, wantText: "invalid data", attempts: 1,
			happened: "not JSON: invalid, not retried",
		},
		{
			name: "response headers over 64 KiB", path: "x.json",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("X-Junk", strings.Repeat("a", 256<<10))
				w.Write(doc)
			},
			wantKind: fetch.KindNetwork, wantText: "error", attempts: 4,
			happened: "refused by the client's 64 KiB header limit; seen as a transport error (HTTP/2 COMPRESSION_ERROR), so retried",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			leakCheck(t)
			srv := newH2Server(t, tc.handler)
			otherBefore := other.requests.Load()
			s := settings(srv.caFile, srv.URL)
			s.MaxBodyBytes = limit
			highBreaker(&s)
			c := newClient(t, s)
			ts := []tuple.Tuple{mustTuple(t, tc.path)}
			stopHeap := heapWatch()
			start := time.Now()
			rs := c.FetchMany(ctxFor(t, 30*time.Second), ts)
			wall := time.Since(start)
			peak := stopHeap()
			o := check(t, ts, rs)
			r := rs[0]
			if kind := fetch.ErrorKind(r.Err); kind != tc.wantKind {
				t.Fatalf("outcome %s (%.300v), want %s", kind, r.Err, tc.wantKind)
			}
			if !strings.Contains(strings.ToLower(r.Err.Error()), tc.wantText) {
				t.Errorf("error %.300q does not say %q", r.Err, tc.wantText)
			}
			wantExact(t, "attempts", r.Attempts, tc.attempts)
			if peak > 32<<20 {
				t.Errorf("heap grew by %d MiB for a 1 MiB limit", peak>>20)
			}
			if n := other.requests.Load() - otherBefore; n != 0 {
				t.Errorf("the other host got %d requests", n)
			}
			closeClient(t, c)
			deadline := time.Now().Add(3 * time.Second)
			for srv.finished.Load() != srv.requests.Load() && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
			}
			if f, n := srv.finished.Load(), srv.requests.Load(); f != n {
				t.Errorf("%d of %d server handlers still running: the client did not end the stream", n-f, n)
			}
			record(t, row{Scenario: "hostile answer: " + tc.name, Tuples: 1, Documents: o.docs, Flagged: o.flagged, Lost: o.lost,
				Duplicated: o.dup, Retries: o.retries, Requests: srv.requests.Load(), Wall: wall, Happened: tc.happened})
		})
	}
}

// TestRedirectOnSameHostFollowed is the other side of the redirect rule: a
// move within the source's host is followed.
func TestRedirectOnSameHostFollowed(t *testing.T) {
	leakCheck(t)
	var srv *h2Server
	srv = newH2Server(t, func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/old.json") {
			http.Redirect(w, r, srv.URL+"/2025@main/x/y/new.json", http.StatusMovedPermanently)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"moved": true}`))
	})
	c := newClient(t, settings(srv.caFile, srv.URL))
	r, err := c.FetchOne(ctxFor(t, 10*time.Second), mustTuple(t, "old.json"))
	if err != nil || !bytes.Contains(r.Doc, []byte("moved")) {
		t.Fatalf("same-host redirect: %v, %s", err, r.Doc)
	}
	var ne *fetch.NetworkError
	if errors.As(err, &ne) {
		t.Fatal(err)
	}
	closeClient(t, c)
}
