package mirror_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/f1fetch/f1fetch/plugin/mirror"
	"github.com/f1fetch/f1fetch/plugin/mirror/mirrortest"
)

// qualiKey is qualiDrivers as counters key it: decoded.
const qualiKey = "/2025@main/Australian Grand Prix/Qualifying/drivers.json"

var raceDrivers = urlPath("2025@main", "Australian Grand Prix", "Race", "drivers.json")

// startShared serves the shared corpus with faults.
func startShared(t *testing.T, f mirror.Faults) *mirrortest.Mirror {
	t.Helper()
	cfg := mirrortest.SharedConfig(t)
	cfg.Faults = f
	return mirrortest.Start(t, cfg)
}

func rules(r ...mirror.Rule) mirror.Faults { return mirror.Faults{Seed: 42, Rules: r} }

func TestLatencyFixedAndLognormal(t *testing.T) {
	m := startShared(t, rules(mirror.Rule{LatencyMS: 100, JitterMS: 20}))
	start := time.Now()
	if resp, _ := mustGet(t, m.Client(), m.URL, qualiDrivers); resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if took := time.Since(start); took < 100*time.Millisecond || took > 600*time.Millisecond {
		t.Errorf("fixed 100 ms + jitter 20 ms took %v", took)
	}

	// median 50 ms, sigma 0.5: 90% of draws within 50*exp(±1.645*0.5) = 22..114 ms.
	m.SetFaults(rules(mirror.Rule{LognormalMedianMS: 50, LognormalSigma: 0.5}))
	const n = 40
	took := make([]time.Duration, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			start := time.Now()
			if resp, _, err := get(t, m.Client(), m.URL, qualiDrivers); err != nil || resp.StatusCode != 200 {
				t.Errorf("lognormal request: %v", err)
			}
			took[i] = time.Since(start)
		})
	}
	wg.Wait()
	slices.Sort(took)
	// The draws themselves are checked in TestLognormalDraws; here, that they
	// delay the answers, in milliseconds. No tight upper bound: 40 requests at
	// once on a loaded CI machine under -race queued 180 ms behind each other
	// (all 40 took 182-364 ms), while a unit mistake would take seconds.
	if median := took[n/2]; median < 30*time.Millisecond || median > time.Second {
		t.Errorf("lognormal median 50 ms: measured median %v (all %v)", median, took)
	}
	if took[0] == took[n-1] {
		t.Errorf("lognormal latencies do not vary: %v", took)
	}
	if got := m.Counts().Faults[mirror.FaultLatency]; got != n+1 {
		t.Errorf("latency faults counted %d, want %d", got, n+1)
	}
}

// statusSequence fetches n times and returns the statuses in order.
func statusSequence(t *testing.T, m *mirrortest.Mirror, n int) []int {
	t.Helper()
	var out []int
	for range n {
		resp, _ := mustGet(t, m.Client(), m.URL, qualiDrivers)
		out = append(out, resp.StatusCode)
	}
	return out
}

func TestStatusRatesAreSeeded(t *testing.T) {
	f := rules(mirror.Rule{StatusRate: map[int]float64{500: 0.2, 502: 0.1}, Status429Rate: 0.1})
	m := startShared(t, f)
	const n = 400
	first := statusSequence(t, m, n)
	count := map[int]int{}
	for _, s := range first {
		count[s]++
	}
	for status, want := range map[int]int{500: 80, 502: 40, 429: 40, 200: 240} {
		if got := count[status]; got < want*6/10 || got > want*14/10 {
			t.Errorf("status %d: %d of %d, want about %d", status, got, n, want)
		}
	}
	m.SetFaults(f) // same seed: the same sequence again
	if again := statusSequence(t, m, n); !slices.Equal(first, again) {
		t.Error("the same seed gave another status sequence")
	}
	m.SetFaults(mirror.Faults{Seed: 7, Rules: f.Rules})
	if other := statusSequence(t, m, n); slices.Equal(first, other) {
		t.Error("another seed gave the same status sequence")
	}
	if c := m.Counts(); c.Total != 3*n || c.Path(qualiDrivers) != 3*n || c.ByStatus[500] != c.ByPath[qualiKey][500] {
		t.Errorf("counts: total %d, by status %v, by path %v", c.Total, c.ByStatus, c.ByPath)
	}
}

func TestRetryAfterOn429And503(t *testing.T) {
	m := startShared(t, rules(mirror.Rule{Status429Rate: 1}))
	resp, _ := mustGet(t, m.Client(), m.URL, qualiDrivers)
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "1" {
		t.Errorf("status %d, Retry-After %q, want 429 and 1", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	m.SetFaults(rules(mirror.Rule{Status429Rate: 1, RetryAfterS: 7}))
	resp, _ = mustGet(t, m.Client(), m.URL, qualiDrivers)
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "7" {
		t.Errorf("status %d, Retry-After %q, want 429 and 7", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	m.SetFaults(rules(mirror.Rule{StatusRate: map[int]float64{503: 1}, RetryAfterS: 3}))
	resp, _ = mustGet(t, m.Client(), m.URL, qualiDrivers)
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") != "3" {
		t.Errorf("status %d, Retry-After %q, want 503 and 3", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
}

func TestResetsAreTransportErrors(t *testing.T) {
	for _, tc := range []struct {
		rule  mirror.Rule
		fault string
	}{
		{mirror.Rule{ResetRate: 1}, mirror.FaultReset},
		{mirror.Rule{StreamResetRate: 1}, mirror.FaultStreamReset},
	} {
		t.Run(tc.fault, func(t *testing.T) {
			m := startShared(t, rules(tc.rule))
			c := m.Client()
			if resp, _, err := get(t, c, m.URL, qualiDrivers); err == nil {
				t.Fatalf("got status %d, want a transport error", resp.StatusCode)
			}
			m.SetFaults(mirror.Faults{})
			// The same client recovers (redials after a connection reset).
			if resp, _, err := get(t, c, m.URL, qualiDrivers); err != nil || resp.StatusCode != 200 {
				t.Fatalf("after the reset: %v", err)
			}
			c2 := m.Counts()
			if c2.ByPath[qualiKey][mirror.StatusReset] != 1 || c2.Faults[tc.fault] != 1 || c2.ByStatus[200] != 1 {
				t.Errorf("counts %+v", c2)
			}
		})
	}
}

func TestStallPastClientTimeout(t *testing.T) {
	m := startShared(t, rules(mirror.Rule{StallMS: 3000, StallRate: 1}))
	c := m.Client()
	c.Timeout = 200 * time.Millisecond
	start := time.Now()
	if _, _, err := get(t, c, m.URL, qualiDrivers); err == nil {
		t.Fatal("a stalled response finished within the client timeout")
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("client timeout took %v", took)
	}
	// A short stall only slows the body down.
	m.SetFaults(rules(mirror.Rule{StallMS: 100, StallRate: 1}))
	start = time.Now()
	resp, body := mustGet(t, m.Client(), m.URL, qualiDrivers, "Accept-Encoding", "identity")
	if took := time.Since(start); took < 100*time.Millisecond || resp.StatusCode != 200 || int64(len(body)) != resp.ContentLength {
		t.Errorf("short stall: %v, status %d, %d of %d bytes", took, resp.StatusCode, len(body), resp.ContentLength)
	}
}

func TestTruncatedBodyShorterThanContentLength(t *testing.T) {
	m := startShared(t, rules(mirror.Rule{TruncateRate: 1}))
	for _, ae := range []string{"identity", "gzip"} {
		resp, body, err := get(t, m.Client(), m.URL, qualiDrivers, "Accept-Encoding", ae)
		if resp == nil {
			t.Fatalf("%s: no response: %v", ae, err)
		}
		if err == nil || resp.StatusCode != 200 || int64(len(body)) >= resp.ContentLength {
			t.Errorf("%s: status %d, read %d of Content-Length %d, error %v; want a short body and an error", ae, resp.StatusCode, len(body), resp.ContentLength, err)
		}
	}
}

func TestCorruptBodyIsInvalidJSON(t *testing.T) {
	m := startShared(t, rules(mirror.Rule{CorruptRate: 1}))
	resp, body := mustGet(t, m.Client(), m.URL, qualiDrivers, "Accept-Encoding", "identity")
	if resp.StatusCode != 200 || int64(len(body)) != resp.ContentLength || json.Valid(body) || len(body) == 0 {
		t.Errorf("status %d, %d bytes of %d, valid %v; want 200 with a complete invalid body", resp.StatusCode, len(body), resp.ContentLength, json.Valid(body))
	}
	resp, body = mustGet(t, m.Client(), m.URL, qualiDrivers, "Accept-Encoding", "gzip")
	zr, err := gzip.NewReader(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	plain, err := io.ReadAll(zr)
	if err != nil || json.Valid(plain) || resp.Header.Get("Content-Encoding") != "gzip" {
		t.Errorf("gzip corrupt: %v, valid %v", err, json.Valid(plain))
	}
	m.SetFaults(mirror.Faults{})
	if _, body := mustGet(t, m.Client(), m.URL, qualiDrivers); !json.Valid(body) {
		t.Error("without faults the body is not valid JSON")
	}
}

func TestPerPathRulesFirstMatchWins(t *testing.T) {
	m := startShared(t, rules(
		mirror.Rule{PathPrefix: "/2025@main/Australian Grand Prix/Race/", StatusRate: map[int]float64{500: 1}},
		mirror.Rule{PathPrefix: "/2025@main/Australian Grand Prix/", StatusRate: map[int]float64{502: 1}},
	))
	for p, want := range map[string]int{
		raceDrivers:  500,
		qualiDrivers: 502,
		urlPath("2025@main", "Chinese Grand Prix", "Race", "drivers.json"): 200,
		"/gh/TracingInsights" + raceDrivers:                                500, // rules see the path after the prefix
	} {
		if resp, _ := mustGet(t, m.Client(), m.URL, p); resp.StatusCode != want {
			t.Errorf("%s: status %d, want %d", p, resp.StatusCode, want)
		}
	}
}

func TestFailFirstN(t *testing.T) {
	m := startShared(t, rules(mirror.Rule{FailFirstN: 2, FailStatus: 502}))
	for _, p := range []string{qualiDrivers, raceDrivers} {
		var got []int
		for range 4 {
			resp, _ := mustGet(t, m.Client(), m.URL, p)
			got = append(got, resp.StatusCode)
		}
		if want := []int{502, 502, 200, 200}; !slices.Equal(got, want) {
			t.Errorf("%s: %v, want %v", p, got, want)
		}
	}
	m.Reset() // restarts fail_first_n
	if resp, _ := mustGet(t, m.Client(), m.URL, qualiDrivers); resp.StatusCode != 502 {
		t.Errorf("after Reset: status %d, want 502", resp.StatusCode)
	}
	m.SetFaults(rules(mirror.Rule{FailFirstN: 1}))
	if resp, _ := mustGet(t, m.Client(), m.URL, qualiDrivers); resp.StatusCode != 503 {
		t.Errorf("default fail status %d, want 503", resp.StatusCode)
	}
}

func TestQuotaTokenBucket(t *testing.T) {
	m := startShared(t, rules(mirror.Rule{QuotaRPS: 20}))
	ok, limited := 0, 0
	for range 40 {
		resp, _ := mustGet(t, m.Client(), m.URL, qualiDrivers)
		switch resp.StatusCode {
		case 200:
			ok++
		case 429:
			limited++
			if resp.Header.Get("Retry-After") != "1" {
				t.Errorf("Retry-After %q", resp.Header.Get("Retry-After"))
			}
		}
	}
	// A burst of 20, plus the tokens refilled while the 40 requests ran.
	if ok < 20 || ok > 25 || ok+limited != 40 {
		t.Errorf("%d ok, %d limited of 40 at quota 20/s", ok, limited)
	}
	time.Sleep(150 * time.Millisecond) // 3 tokens
	if resp, _ := mustGet(t, m.Client(), m.URL, raceDrivers); resp.StatusCode != 200 {
		t.Errorf("after a refill: status %d", resp.StatusCode)
	}
	if got := m.Counts().Faults[mirror.FaultQuota]; got != int64(limited) {
		t.Errorf("quota faults %d, want %d", got, limited)
	}
}

// TestMaxConcurrentStreams: over one connection, 8 concurrent requests
// run 2 at a time when the mirror allows 2 streams, all 8 at once when it
// allows the default.
//
// It uses one http.ClientConn: a pooled Transport with
// StrictMaxConcurrentRequests deadlocks once more than about twice the
// limit are waiting (each waiter's reservation counts as a stream).
func TestMaxConcurrentStreams(t *testing.T) {
	for _, tc := range []struct{ streams, want int }{{2, 2}, {0, 8}} {
		cfg := mirrortest.SharedConfig(t)
		cfg.MaxConcurrentStreams = tc.streams
		cfg.Faults = rules(mirror.Rule{LatencyMS: 60})
		m := mirrortest.Start(t, cfg)
		var protocols http.Protocols
		protocols.SetUnencryptedHTTP2(true)
		cc, err := (&http.Transport{Protocols: &protocols}).NewClientConn(context.Background(), "http", m.Addr.String())
		if err != nil {
			t.Fatal(err)
		}
		defer cc.Close()
		c := &http.Client{Transport: cc}
		mustGet(t, c, m.URL, "/_mirror/health") // the server's SETTINGS are in
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				if resp, _, err := get(t, c, m.URL, qualiDrivers); err != nil || resp.StatusCode != 200 {
					t.Errorf("streams %d: %v", tc.streams, err)
				}
			})
		}
		wg.Wait()
		if got := m.Counts().InFlightMax; got != int64(tc.want) {
			t.Errorf("max streams %d: in-flight max %d, want %d", tc.streams, got, tc.want)
		}
	}
}

func TestControlEndpoint(t *testing.T) {
	m := startShared(t, mirror.Faults{})
	c := m.Client()
	do := func(method, path, body string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, m.URL+path, strings.NewReader(body))
		resp, err := c.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := do("GET", "/_mirror/health", ""); code != 200 || !strings.Contains(body, `"ok"`) {
		t.Errorf("health: %d %s", code, body)
	}
	set := `{"seed": 1, "rules": [{"path_prefix": "/2025@main/Australian Grand Prix/Qualifying/", "status_rate": {"502": 1}}]}`
	if code, body := do("PUT", "/_mirror/faults", set); code != 200 || !strings.Contains(body, `"502": 1`) {
		t.Fatalf("PUT faults: %d %s", code, body)
	}
	if code, body := do("GET", "/_mirror/faults", ""); code != 200 || !strings.Contains(body, `"path_prefix": "/2025@main/Australian Grand Prix/Qualifying/"`) {
		t.Errorf("GET faults: %d %s", code, body)
	}
	if resp, _ := mustGet(t, c, m.URL, qualiDrivers); resp.StatusCode != 502 {
		t.Errorf("after PUT: status %d, want 502", resp.StatusCode)
	}
	for bad, field := range map[string]string{
		`{"rules": [{"reset_rate": 1.5}]}`:                                   "reset_rate",
		`{"rules": [{"status_rate": {"200": 0.5}}]}`:                         "status 200",
		`{"rules": [{"status_rate": {"500": 0.7}, "status_429_rate": 0.5}]}`: "above 1",
		`{"rules": [{"latency_ms": -1}]}`:                                    "latency_ms",
		`{"rules": [{"lognormal_sigmaa": 1}]}`:                               "lognormal_sigmaa",
		`{"rules": [`:                                                        "faults body",
	} {
		if code, body := do("POST", "/_mirror/faults", bad); code != 400 || !strings.Contains(body, field) {
			t.Errorf("POST %s: %d %q, want 400 naming %s", bad, code, body, field)
		}
	}
	if resp, _ := mustGet(t, c, m.URL, qualiDrivers); resp.StatusCode != 502 {
		t.Errorf("a refused POST changed the faults: status %d", resp.StatusCode)
	}
	var counts mirror.Counts
	code, body := do("GET", "/_mirror/counters", "")
	if err := json.Unmarshal([]byte(body), &counts); err != nil || code != 200 {
		t.Fatalf("counters: %d %v", code, err)
	}
	if counts.Total != 2 || counts.ByPath[qualiKey][502] != 2 || counts.Faults[mirror.FaultStatus] != 2 {
		t.Errorf("counters %s", body)
	}
	if code, _ := do("DELETE", "/_mirror/faults", ""); code != 200 {
		t.Errorf("DELETE faults: %d", code)
	}
	if code, _ := do("DELETE", "/_mirror/counters", ""); code != 200 || m.Counts().Total != 0 {
		t.Errorf("DELETE counters: %d, total %d", code, m.Counts().Total)
	}
	if resp, _ := mustGet(t, c, m.URL, qualiDrivers); resp.StatusCode != 200 {
		t.Errorf("after DELETE faults: status %d", resp.StatusCode)
	}
	if code, _ := do("PATCH", "/_mirror/faults", ""); code != 405 {
		t.Errorf("PATCH faults: %d", code)
	}
	if code, _ := do("GET", "/_mirror/nope", ""); code != 404 {
		t.Errorf("unknown control path: %d", code)
	}
}

func TestDisableControl(t *testing.T) {
	cfg := mirrortest.SharedConfig(t)
	cfg.DisableControl = true
	m := mirrortest.Start(t, cfg)
	if resp, _ := mustGet(t, m.Client(), m.URL, "/_mirror/health"); resp.StatusCode != 404 {
		t.Errorf("health with control off: %d", resp.StatusCode)
	}
}

// TestEachFileOnce is the kind of assertion cache tests make.
func TestEachFileOnce(t *testing.T) {
	m := mirrortest.Start(t, mirror.Config{Root: mirrortest.BundledData(t)})
	var paths []string
	for _, drv := range []string{"ALO", "DOO", "SAI", "HAD"} {
		paths = append(paths, urlPath("2025@main", "Australian Grand Prix", "Race", drv, "1_tel.json"))
	}
	var wg sync.WaitGroup
	for _, p := range paths {
		wg.Go(func() { mustGet(t, m.Client(), m.URL, p) })
	}
	wg.Wait()
	for _, p := range paths {
		if n := m.Count(p); n != 1 {
			t.Errorf("%s fetched %d times", p, n)
		}
	}
	if c := m.Counts(); c.Total != 4 || c.ByStatus[200] != 4 || m.Count("/never") != 0 {
		t.Errorf("counts %+v", c)
	}
}

// A latency wait cut short (by Close or by the client) resets the stream:
// returning normally would let net/http answer an empty 200, which a client
// takes for a complete, invalid document.
func TestCutLatencyWaitAbortsTheResponse(t *testing.T) {
	cfg := mirrortest.SharedConfig(t)
	cfg.Faults = rules(mirror.Rule{LatencyMS: 5000})
	srv, err := mirror.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	req := httptest.NewRequest(http.MethodGet, qualiDrivers, nil).WithContext(ctx)
	rec := httptest.NewRecorder()
	var recovered any
	func() {
		defer func() { recovered = recover() }()
		srv.ServeHTTP(rec, req)
	}()
	if recovered != http.ErrAbortHandler {
		t.Fatalf("handler ended with %v and status %d (%d bytes), want http.ErrAbortHandler", recovered, rec.Code, rec.Body.Len())
	}
}

// A faults document with a misspelt field is refused, from a file as from
// the control endpoint: it would otherwise be a rule that matches every
// path and injects nothing, shadowing the rules after it.
func TestDecodeFaultsRefusesUnknownFields(t *testing.T) {
	_, err := mirror.DecodeFaults(strings.NewReader(`{"rules": [{"path_prefix": "/", "fail_frist_n": 2}]}`))
	if err == nil || !strings.Contains(err.Error(), "fail_frist_n") {
		t.Fatalf("want an error naming fail_frist_n, got %v", err)
	}
	f, err := mirror.DecodeFaults(strings.NewReader(`{"seed": 3, "rules": [{"path_prefix": "/", "fail_first_n": 2}]}`))
	if err != nil || f.Seed != 3 || len(f.Rules) != 1 || f.Rules[0].FailFirstN != 2 {
		t.Fatalf("a good document: %+v, %v", f, err)
	}
	if _, err := mirror.DecodeFaults(strings.NewReader(`{"rules": [{"latency_ms": -1}]}`)); err == nil {
		t.Fatal("a negative latency was accepted")
	}
}

// Anything after the faults document is refused: two documents one after
// the other (a file edited by appending a rule set, a shell loop's PUTs
// concatenated) would otherwise apply the first alone, and say nothing.
func TestDecodeFaultsRefusesTrailingData(t *testing.T) {
	for _, body := range []string{
		`{"rules": []} {"rules": [{"status_rate": {"500": 1}}]}`,
		`{"rules": [{"latency_ms": 5}]} trailing`,
		`{"rules": []},`,
	} {
		if f, err := mirror.DecodeFaults(strings.NewReader(body)); err == nil {
			t.Errorf("%q: accepted as %+v, want an error", body, f)
		}
	}
	for _, body := range []string{`{"rules": []}`, "{\"rules\": []}\n", " {\"rules\": [{\"latency_ms\": 5}]} \r\n\t"} {
		if _, err := mirror.DecodeFaults(strings.NewReader(body)); err != nil {
			t.Errorf("%q: %v", body, err)
		}
	}
}

// The limit bounds the whole input, not the part read: a document in the
// first MiB with a second one past it was taken, the second dropped unseen.
// Up to the limit, white space around the document is taken.
func TestDecodeFaultsRefusesDataPastTheLimit(t *testing.T) {
	doc := `{"rules": []}`
	for _, body := range []string{
		doc + strings.Repeat(" ", mirror.MaxFaultsBytes) + `{"rules": [{"status_rate": {"500": 1}}]}`,
		doc + strings.Repeat("\n", mirror.MaxFaultsBytes-len(doc)+1),
	} {
		if f, err := mirror.DecodeFaults(strings.NewReader(body)); err == nil || !strings.Contains(err.Error(), "more than") {
			t.Errorf("%d bytes: accepted as %+v (%v), want more than %d bytes refused", len(body), f, err, mirror.MaxFaultsBytes)
		}
	}
	if _, err := mirror.DecodeFaults(strings.NewReader(doc + strings.Repeat("\n", mirror.MaxFaultsBytes-len(doc)))); err != nil {
		t.Errorf("%d bytes: %v", mirror.MaxFaultsBytes, err)
	}
}

// A wait of more than MaxFaultDelay is refused, naming the field and the
// value, from the control endpoint as from a --faults file: latency_ms 1e13
// overflowed time.Duration and the request was answered at once. A day is
// taken.
func TestFaultWaitsBeyondADayAreRefused(t *testing.T) {
	m := startShared(t, mirror.Faults{})
	for body, want := range map[string]string{
		`{"rules": [{"latency_ms": 1e13}]}`:              "latency_ms: 1e+13 is more than a day",
		`{"rules": [{"jitter_ms": 86400001}]}`:           "jitter_ms: 8.6400001e+07 is more than a day",
		`{"rules": [{"lognormal_median_ms": 1e15}]}`:     "lognormal_median_ms: 1e+15 is more than a day",
		`{"rules": [{"stall_ms": 10000000000000}]}`:      "stall_ms: 1e+13 is more than a day",
		`{"rules": [{"retry_after_s": 86401}]}`:          "retry_after_s: 86401 is more than a day",
		`{"rules": [{"quota_rps": 1e-12}]}`:              "quota_rps: 1e-12 is less than one request a day",
		`{"rules": [{}, {"latency_ms": 9223372036855}]}`: "rules[1]: latency_ms: 9.223372036855e+12",
	} {
		if _, err := mirror.DecodeFaults(strings.NewReader(body)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("DecodeFaults %s: %v, want an error saying %q", body, err, want)
		}
		req, _ := http.NewRequest("PUT", m.URL+"/_mirror/faults", strings.NewReader(body))
		resp, err := m.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		msg, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 400 || !strings.Contains(string(msg), want) {
			t.Errorf("PUT %s: %d %q, want 400 saying %q", body, resp.StatusCode, msg, want)
		}
	}
	day := `{"rules": [{"latency_ms": 86400000, "jitter_ms": 86400000, "lognormal_median_ms": 86400000,
		"stall_ms": 86400000, "retry_after_s": 86400, "quota_rps": 1.1574074074074073e-05}]}`
	if _, err := mirror.DecodeFaults(strings.NewReader(day)); err != nil {
		t.Errorf("waits of a day: %v", err)
	}
}
