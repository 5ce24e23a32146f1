package fetch

import (
	"encoding/pem"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/f1fetch/f1fetch/config"
	"github.com/f1fetch/f1fetch/plugin/mirror/mirrortest"
	"github.com/f1fetch/f1fetch/plugin/tuple"
)

// h2Server is a real HTTP/2 TLS server on loopback that counts connections
// and requests and records the protocol of each request.
type h2Server struct {
	*httptest.Server
	caFile   string
	conns    atomic.Int64 // accepted in all
	open     atomic.Int64 // accepted and not yet closed
	requests atomic.Int64
	notH2    atomic.Int64
}

func newH2Server(t testing.TB, h http.HandlerFunc) *h2Server {
	t.Helper()
	s := &h2Server{}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.requests.Add(1)
		if r.ProtoMajor != 2 {
			s.notH2.Add(1)
		}
		h(w, r)
	}))
	srv.EnableHTTP2 = true
	srv.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		switch st {
		case http.StateNew:
			s.conns.Add(1)
			s.open.Add(1)
		case http.StateClosed, http.StateHijacked:
			s.open.Add(-1)
		}
	}
	srv.StartTLS()
	s.Server = srv
	s.caFile = writeCAFile(t, srv)
	t.Cleanup(srv.Close)
	return s
}

// writeCAFile writes the certificate of a started TLS test server as a PEM
// file for tls.root_cas_file and returns its path.
func writeCAFile(t testing.TB, srv *httptest.Server) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "ca.pem")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(path, pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// fastSettings are the defaults with millisecond backoffs so retry tests run
// quickly: factor 0.01 gives 10 ms, 0.1 ms, ... plus up to 1 ms of jitter.
func fastSettings(caFile string, bases ...string) config.Settings {
	s := config.Defaults()
	s.BaseURLs = bases
	s.TLSRootCAsFile = caFile
	s.BackoffFactor = 0.01
	s.JitterMax = time.Millisecond
	s.MaxDelay = time.Second
	s.Timeout = 2 * time.Second
	return s
}

func newClient(t testing.TB, s config.Settings) *Client {
	t.Helper()
	c, err := New(s, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func mustTuple(t testing.TB, year int, gp, session, path string) tuple.Tuple {
	t.Helper()
	tp, err := tuple.New(year, gp, session, path)
	if err != nil {
		t.Fatal(err)
	}
	return tp
}

// corpus reads a real file of ../shared/testdata.
func corpus(t testing.TB, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(mirrortest.SharedTestdata(t), rel))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// corpusHandler serves ../shared/testdata in the jsDelivr layout, year 2025
// from the folder "test" (the 2025 sample season).
func corpusHandler(t testing.TB) http.HandlerFunc {
	root := mirrortest.SharedTestdata(t)
	return func(w http.ResponseWriter, r *http.Request) {
		p := strings.TrimPrefix(r.URL.Path, "/")
		yearRef, rest, _ := strings.Cut(p, "/")
		year, _, _ := strings.Cut(yearRef, "@")
		if year == "2025" {
			year = "test"
		}
		b, err := os.ReadFile(filepath.Join(root, year, filepath.FromSlash(rest)))
		if err != nil || strings.Contains(rest, "..") {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(b)
	}
}

// waitGoroutines waits until the goroutine count falls to at most want.
func waitGoroutines(t testing.TB, want int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > want {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			n := runtime.Stack(buf, true)
			t.Fatalf("goroutines: %d > %d after Close:\n%s", runtime.NumGoroutine(), want, buf[:n])
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// observerLog is an Observer that records the concurrency limits it is
// told.
type observerLog struct {
	mu     sync.Mutex
	limits []int
}

func (l *observerLog) InFlight(int)                {}
func (l *observerLog) BreakerState(string, string) {}
func (l *observerLog) ConcurrencyLimit(n int) {
	l.mu.Lock()
	l.limits = append(l.limits, n)
	l.mu.Unlock()
}
func (l *observerLog) seen() []int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]int(nil), l.limits...)
}
