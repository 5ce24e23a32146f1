package reliability

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/f1fetch/f1fetch/config"
	"github.com/f1fetch/f1fetch/plugin/fetch"
	"github.com/f1fetch/f1fetch/plugin/mirror"
)

// TestTLSVerificationOnByDefault: a self-signed mirror without its CA file
// is refused with a certificate error, and no request reaches a handler.
func TestTLSVerificationOnByDefault(t *testing.T) {
	leakCheck(t)
	m := startMirror(t, true, mirror.Faults{})
	s := settings("", m.URL)
	s.MaxRetries = 0
	c := newClient(t, s)
	start := time.Now()
	r, err := c.FetchOne(ctxFor(t, 30*time.Second), mustTuple(t, "drivers.json"))
	wall := time.Since(start)
	var ne *fetch.NetworkError
	if !errors.As(err, &ne) {
		t.Fatalf("error %T %v, want *fetch.NetworkError", err, err)
	}
	if msg := err.Error(); !strings.Contains(msg, "x509") && !strings.Contains(msg, "certificate") {
		t.Errorf("error does not name the TLS problem: %q", msg)
	}
	wantExact(t, "requests served", int(m.Counts().Total), 0)
	closeClient(t, c, port(t, m))

	// The same mirror with its CA file is fine: verification, not breakage.
	s.TLSRootCAsFile = m.CAFile
	c = newClient(t, s)
	if _, err := c.FetchOne(ctxFor(t, 30*time.Second), mustTuple(t, "drivers.json")); err != nil {
		t.Fatalf("with the CA file: %v", err)
	}
	closeClient(t, c, port(t, m))
	record(t, row{Scenario: "self-signed TLS mirror, no CA file", Tuples: 1, Flagged: 1, Retries: max(r.Attempts-1, 0), Wall: wall,
		Happened: "refused: " + errTail(err)})
}

func errTail(err error) string {
	msg := err.Error()
	if i := strings.LastIndex(msg, "tls: "); i >= 0 {
		return msg[i:]
	}
	if i := strings.LastIndex(msg, "x509: "); i >= 0 {
		return msg[i:]
	}
	return msg
}

// TestRemoteSourcesMustBeHTTPS: plain http is refused for any host that is
// not loopback, unless allow_insecure_http says otherwise.
func TestRemoteSourcesMustBeHTTPS(t *testing.T) {
	for _, base := range []string{
		"http://cdn.jsdelivr.net/gh/TracingInsights",
		"http://10.0.0.7:8080",
		"http://[2001:db8::1]/{year}/{ref}/{gp}/{session}/{path}",
		"ftp://127.0.0.1/x",
		"file:///etc",
	} {
		s := config.Defaults()
		s.BaseURLs = []string{base}
		_, err := fetch.New(s, nil)
		if err == nil {
			t.Errorf("base %q accepted", base)
			continue
		}
		if !strings.Contains(err.Error(), "base_urls") {
			t.Errorf("base %q: error does not name the field: %v", base, err)
		}
	}
	s := config.Defaults()
	s.BaseURLs = []string{"http://10.0.0.7:8080"}
	s.AllowInsecureHTTP = true
	c, err := fetch.New(s, nil)
	if err != nil {
		t.Fatalf("allow_insecure_http: %v", err)
	}
	c.Close()
}

// TestNoSecretsInOutputs: a source with credentials in its URL fails; its
// user and password are in no log line, error, metadata value or metric (a
// user is often a token).
func TestNoSecretsInOutputs(t *testing.T) {
	leakCheck(t)
	const user, secret = "f1user", "s3cr3t-Pa55"
	m := startMirror(t, true, mirror.Faults{Rules: []mirror.Rule{{StatusRate: map[int]float64{500: 1}}}})
	base := strings.Replace(m.URL, "https://", "https://"+user+":"+secret+"@", 1)
	r := runStream(t, procYAML(m.CAFile, 1, base), [][]byte{tupleJSON("drivers.json"), tupleJSON("VER/laptimes.json")})
	o := checkStream(t, 2, r.out)
	wantExact(t, "flagged", o.flagged, 2)
	var seen []string
	for _, msg := range r.out {
		seen = append(seen, msg.GetError().Error())
		_ = msg.MetaWalkMut(func(k string, v any) error {
			seen = append(seen, fmt.Sprintf("%s=%v", k, v))
			return nil
		})
	}
	seen = append(seen, r.logs, r.metrics)
	for _, s := range seen {
		if strings.Contains(s, secret) || strings.Contains(s, user) {
			t.Errorf("the source's credentials leaked: %.300s", s)
		}
	}
	if int(m.Counts().Total) != 4 {
		t.Errorf("mirror saw %d requests, want 4 (2 tuples x 2 attempts)", m.Counts().Total)
	}
	record(t, row{Scenario: "source URL with user:password, source failing", Tuples: 2, Documents: o.docs, Flagged: o.flagged,
		Retries: o.retries, Requests: m.Counts().Total, Wall: r.wall,
		Happened: "user and password absent from errors, metadata (f1_url, f1_source), logs and metrics"})
}
