// Package mirror is a CDN for TracingInsights data that you control: it
// serves a directory in the jsDelivr layout {year}@{ref}/{gp}/{session}/{path}
// and the raw GitHub layout {year}/{ref}/..., over HTTP/2 (TLS or h2c), with
// fault injection and counters for tests, benchmarks and air-gapped sites.
//
// Control endpoints (JSON): /_mirror/faults (GET shows, PUT/POST sets,
// DELETE clears the Faults), /_mirror/counters (GET shows Counts, DELETE
// resets them), /_mirror/health. For example:
//
//	curl -X PUT localhost:8080/_mirror/faults -d '{"seed": 1, "rules": [
//	  {"path_prefix": "/2025@main/Australian Grand Prix/Race/", "fail_first_n": 2},
//	  {"lognormal_median_ms": 50, "lognormal_sigma": 0.5, "status_rate": {"503": 0.05}}]}'
package mirror

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Config of a mirror. The zero value plus Root serves Root over h2c on a
// random loopback port (with Start) and caches file bytes in memory.
type Config struct {
	Root string // directory holding {year}/ and {year}@{ref}/ folders

	// Aliases maps a year of the URL to the folder serving it,
	// for example {"2025": "test"} for shared/testdata.
	Aliases map[string]string
	// Prefixes are optional URL prefixes removed before the layout is read;
	// nil means DefaultPrefixes.
	Prefixes []string

	Addr                 string // listen address of Start; default 127.0.0.1:0
	TLS                  bool   // serve https with ALPN h2; otherwise h2c and HTTP/1.1 on http
	CertFile, KeyFile    string // PEM pair for TLS; empty: a generated self-signed ECDSA certificate
	MaxConcurrentStreams int    // HTTP/2 streams per connection, at most 2^32-1; 0: net/http's default (at least 100)

	NoCache        bool      // read files on every request instead of keeping bytes in memory
	DisableControl bool      // no /_mirror/ endpoints
	Log            io.Writer // one line per request; nil: no request log
	Seed           uint64    // fault RNG seed; 0: from the clock
	Faults         Faults    // initial fault rules
}

// DefaultPrefixes let a base such as https://host/gh/TracingInsights (the
// jsDelivr form) or http://host/TracingInsights (the raw GitHub form) work.
var DefaultPrefixes = []string{"/gh/TracingInsights", "/TracingInsights"}

// Server is the mirror's http.Handler.
type Server struct {
	cfg       Config
	prefixes  [][]string
	store     *store
	faults    *faultSet
	counts    *counters
	logMu     sync.Mutex
	closing   chan struct{} // closed by Close: pending sleeps end
	closeOnce sync.Once
}

// New checks cfg and opens its root.
func New(cfg Config) (*Server, error) {
	if cfg.Root == "" {
		return nil, errors.New("mirror root: empty")
	}
	for year, folder := range cfg.Aliases {
		if year == "" || folder == "" || strings.ContainsAny(year+folder, `/\@%`) || folder == "." || folder == ".." {
			return nil, fmt.Errorf("alias %q=%q: year and folder must be plain names", year, folder)
		}
	}
	if err := CheckMaxStreams(cfg.MaxConcurrentStreams); err != nil {
		return nil, fmt.Errorf("max concurrent streams %d: %w", cfg.MaxConcurrentStreams, err)
	}
	if cfg.Prefixes == nil {
		cfg.Prefixes = DefaultPrefixes
	}
	s := &Server{cfg: cfg, counts: newCounters(), faults: newFaultSet(cfg.Seed), closing: make(chan struct{})}
	for _, p := range cfg.Prefixes {
		segs, err := splitPath("/" + strings.Trim(p, "/"))
		if err != nil {
			return nil, fmt.Errorf("prefix %q: %w", p, err)
		}
		s.prefixes = append(s.prefixes, segs)
	}
	if err := s.faults.set(cfg.Faults); err != nil {
		return nil, fmt.Errorf("faults: %w", err)
	}
	st, err := openStore(cfg.Root, !cfg.NoCache)
	if err != nil {
		return nil, err
	}
	s.store = st
	return s, nil
}

// CheckMaxStreams reports a Config.MaxConcurrentStreams out of range.
// HTTP/2 sends the setting in 32 bits, and net/http cuts a larger value to
// them rather than refuse it: 2^32 became 0, its default, and 2^32+1 one
// stream. The mirror command checks its --max-streams with it.
func CheckMaxStreams(n int) error {
	if n < 0 || uint64(n) > math.MaxUint32 {
		return fmt.Errorf("not in 0..%d", uint32(math.MaxUint32))
	}
	return nil
}

// Close ends pending stalls and latencies and releases the root.
func (s *Server) Close() error {
	s.stopWaits()
	return s.store.close()
}

func (s *Server) stopWaits() { s.closeOnce.Do(func() { close(s.closing) }) }

// SetFaults replaces the fault rules and their state (quota, fail_first_n).
func (s *Server) SetFaults(f Faults) error { return s.faults.set(f) }

// Faults returns the installed fault rules.
func (s *Server) Faults() Faults { return s.faults.get() }

// Counts returns a snapshot of the counters.
func (s *Server) Counts() Counts { return s.counts.snapshot() }

// Count is the number of requests of path (after any URL prefix, decoded
// or escaped), whatever their status.
func (s *Server) Count(path string) int64 { return s.counts.path(path) }

// Reset zeroes the counters and restarts the rules' quota and fail_first_n
// state, keeping the rules.
func (s *Server) Reset() {
	s.counts.reset()
	s.faults.reset()
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !s.cfg.DisableControl && strings.HasPrefix(r.URL.Path, "/_mirror/") {
		s.control(w, r)
		return
	}
	start := time.Now()
	o := &outcome{key: pathKey(r.URL.Path)}
	s.counts.begin()
	defer func() { // also when a fault aborts the handler with a panic
		s.commit(o, StatusReset) // a client that left during a delay
		s.counts.done()
		s.logRequest(r, o, start)
	}()
	s.serveFile(w, r, o)
}

// outcome is what happened to one request, for counters and the log.
type outcome struct {
	key       string
	status    int
	bytes     int
	faults    []string
	committed bool
}

func (o *outcome) fault(kind string) { o.faults = append(o.faults, kind) }

// commit counts the request before its answer leaves, so a client that
// has its response also sees it counted.
func (s *Server) commit(o *outcome, status int) {
	if o.committed {
		return
	}
	o.committed, o.status = true, status
	s.counts.record(o.key, status, o.faults)
}

func (s *Server) serveFile(w http.ResponseWriter, r *http.Request, o *outcome) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		s.plain(w, o, http.StatusMethodNotAllowed)
		return
	}
	req, parseErr := s.parse(r)
	if parseErr == nil {
		o.key = pathKey(req.key)
	}
	var d draw
	if rule := s.faults.match(o.key); rule != nil {
		if ok, wait := rule.quotaTake(time.Now()); !ok {
			o.fault(FaultQuota)
			w.Header().Set("Retry-After", quotaRetryAfter(rule, wait))
			s.plain(w, o, http.StatusTooManyRequests)
			return
		}
		if rule.failFirst(o.key) {
			o.fault(FaultFailFirst)
			s.fail(w, o, rule, rule.failStatus())
			return
		}
		d = s.faults.decide(rule)
		if d.delay > 0 {
			o.fault(FaultLatency)
			if !s.sleep(r.Context(), d.delay) {
				// Cut short by the client or by Close: reset the stream rather
				// than let net/http answer an empty 200.
				s.commit(o, StatusReset)
				panic(http.ErrAbortHandler)
			}
		}
		switch {
		case d.reset:
			o.fault(FaultReset)
			s.commit(o, StatusReset)
			resetConn(r.Context())
			panic(http.ErrAbortHandler)
		case d.streamReset:
			o.fault(FaultStreamReset)
			s.commit(o, StatusReset)
			panic(http.ErrAbortHandler)
		case d.status != 0:
			o.fault(FaultStatus)
			s.fail(w, o, rule, d.status)
			return
		}
	}
	if parseErr != nil {
		s.plain(w, o, http.StatusNotFound)
		return
	}
	f, err := s.store.lookup(req)
	if errors.Is(err, errNotFound) {
		s.plain(w, o, http.StatusNotFound)
		return
	}
	if err != nil {
		s.plain(w, o, http.StatusInternalServerError)
		return
	}
	s.writeFile(w, r, f, d, o)
}

func (s *Server) parse(r *http.Request) (request, error) {
	segs, err := splitPath(r.URL.EscapedPath())
	if err != nil {
		return request{}, err
	}
	return parseRequest(segs, s.prefixes, s.cfg.Aliases)
}

// writeFile answers with f, honouring conditional requests and gzip, and
// applies the body faults of d: corrupt, stall, truncate.
func (s *Server) writeFile(w http.ResponseWriter, r *http.Request, f *file, d draw, o *outcome) {
	h := w.Header()
	body, etag := f.body, f.etag
	gzipped := acceptsGzip(r.Header.Get("Accept-Encoding"))
	if gzipped {
		body, etag = f.gzipped(), f.gzipETag()
	}
	h.Set("Vary", "Accept-Encoding")
	h.Set("ETag", etag)
	h.Set("Last-Modified", f.modTime.UTC().Format(http.TimeFormat))
	h.Set("Cache-Control", "public, max-age=604800")
	if notModified(r, f, etag) {
		s.commit(o, http.StatusNotModified)
		w.WriteHeader(http.StatusNotModified)
		return
	}
	if d.corrupt {
		o.fault(FaultCorrupt)
		body = corrupt(f.body)
		if gzipped {
			body = gzipBytes(body)
		}
	}
	if gzipped {
		h.Set("Content-Encoding", "gzip")
	}
	h.Set("Content-Type", f.contentType)
	h.Set("Content-Length", fmt.Sprint(len(body)))
	if d.stall {
		o.fault(FaultStall)
	}
	if d.truncate {
		o.fault(FaultTruncate)
	}
	s.commit(o, http.StatusOK)
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return
	}
	if d.stall || d.truncate {
		half := len(body) / 2
		n, _ := w.Write(body[:half])
		o.bytes += n
		body = body[half:]
		http.NewResponseController(w).Flush()
	}
	if d.stall && !s.sleep(r.Context(), d.stallFor) {
		panic(http.ErrAbortHandler) // the body must not look complete
	}
	if d.truncate {
		panic(http.ErrAbortHandler)
	}
	n, _ := w.Write(body)
	o.bytes += n
}

// corrupt returns half of body followed by a NUL byte, which no JSON
// document may contain, so the result is never valid JSON.
func corrupt(body []byte) []byte {
	out := make([]byte, 0, len(body)/2+1)
	return append(append(out, body[:len(body)/2]...), 0)
}

func acceptsGzip(header string) bool {
	for _, part := range strings.Split(header, ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(coding), "gzip") {
			q, ok := strings.CutPrefix(strings.ReplaceAll(params, " ", ""), "q=")
			weight, err := strconv.ParseFloat(q, 64)
			return !ok || err != nil || weight > 0
		}
	}
	return false
}

// notModified applies RFC 9110: If-None-Match wins over If-Modified-Since,
// and matches only etag, the tag of the representation this request
// selects (identity or gzip), not the other one's.
func notModified(r *http.Request, f *file, etag string) bool {
	if inm := r.Header.Get("If-None-Match"); inm != "" {
		for _, tag := range strings.Split(inm, ",") {
			tag = strings.TrimPrefix(strings.TrimSpace(tag), "W/")
			if tag == "*" || tag == etag {
				return true
			}
		}
		return false
	}
	if ims := r.Header.Get("If-Modified-Since"); ims != "" {
		t, err := http.ParseTime(ims)
		return err == nil && !f.modTime.Truncate(time.Second).After(t)
	}
	return false
}

func (s *Server) fail(w http.ResponseWriter, o *outcome, rule *activeRule, status int) {
	if ra := rule.retryAfter(status); ra != "" {
		w.Header().Set("Retry-After", ra)
	}
	s.plain(w, o, status)
}

func quotaRetryAfter(rule *activeRule, wait time.Duration) string {
	if rule.RetryAfterS > 0 {
		return fmt.Sprint(rule.RetryAfterS)
	}
	return fmt.Sprint(max(1, int((wait+time.Second-1)/time.Second)))
}

// plain counts and writes a short text answer for status.
func (s *Server) plain(w http.ResponseWriter, o *outcome, status int) {
	s.commit(o, status)
	http.Error(w, http.StatusText(status), status)
}

// sleep waits d unless the client leaves or the server closes first.
func (s *Server) sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
	case <-s.closing:
	}
	return false
}

func (s *Server) logRequest(r *http.Request, o *outcome, start time.Time) {
	if s.cfg.Log == nil {
		return
	}
	s.logMu.Lock()
	defer s.logMu.Unlock()
	fmt.Fprintf(s.cfg.Log, "%s %s %s %q %d %dB %s %s faults=%s\n",
		start.UTC().Format(time.RFC3339Nano), r.RemoteAddr, r.Method, r.URL.EscapedPath(),
		o.status, o.bytes, time.Since(start).Round(time.Microsecond), r.Proto, strings.Join(o.faults, ","))
}

type connKey struct{}

// withConn remembers the connection of a request, for the reset fault.
func withConn(ctx context.Context, c net.Conn) context.Context {
	return context.WithValue(ctx, connKey{}, c)
}

// resetConn closes the request's TCP connection with a reset (linger 0).
// Without a known connection, the caller's stream abort is all that happens.
func resetConn(ctx context.Context) {
	c, _ := ctx.Value(connKey{}).(net.Conn)
	if nc, ok := c.(interface{ NetConn() net.Conn }); ok { // TLS
		c = nc.NetConn()
	}
	if tcp, ok := c.(*net.TCPConn); ok {
		tcp.SetLinger(0)
	}
	if c != nil {
		c.Close()
	}
}

// control serves the /_mirror/ endpoints.
func (s *Server) control(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/_mirror/health":
		writeJSON(w, map[string]string{"status": "ok"})
	case "/_mirror/faults":
		switch r.Method {
		case http.MethodGet:
			writeJSON(w, s.Faults())
		case http.MethodPut, http.MethodPost:
			f, err := DecodeFaults(r.Body)
			if err != nil {
				http.Error(w, fmt.Sprintf("faults body: %v", err), http.StatusBadRequest)
				return
			}
			if err := s.SetFaults(f); err != nil {
				http.Error(w, fmt.Sprintf("faults: %v", err), http.StatusBadRequest)
				return
			}
			writeJSON(w, s.Faults())
		case http.MethodDelete:
			s.SetFaults(Faults{}) // the empty set is always valid
			writeJSON(w, s.Faults())
		default:
			w.Header().Set("Allow", "GET, PUT, POST, DELETE")
			http.Error(w, "Method Not Allowed", http.StatusMethodNotAllowed)
		}
	case "/_mirror/counters":
		switch r.Method {
		case http.MethodGet:
			writeJSON(w, s.Counts())
		case http.MethodDelete:
			s.Reset()
			writeJSON(w, s.Counts())
		default:
			w.Header().Set("Allow", "GET, DELETE")
			http.Error(w, "Method Not Allowed", http.StatusMethodNotAllowed)
		}
	default:
		http.NotFound(w, r)
	}
}

func writeJSON(w http.ResponseWriter, v any) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		http.Error(w, fmt.Sprintf("encode: %v", err), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(append(b, '\n'))
}
