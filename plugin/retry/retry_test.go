package retry

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"testing"
	"time"

	"github.com/eapache/go-resiliency/retrier"
)

func TestDelayBoundsWithDefaults(t *testing.T) {
	p := DefaultPolicy()
	for n := 1; n <= 8; n++ {
		lo := min(time.Duration(math.Pow(2, float64(n))*float64(time.Second)), 60*time.Second)
		hi := min(lo+time.Second, 60*time.Second)
		for range 200 {
			d := p.Delay(n)
			if d < lo || d > hi || (d == hi && hi < 60*time.Second) {
				t.Fatalf("Delay(%d) = %s, want in [%s, %s)", n, d, lo, hi)
			}
		}
	}
}

func TestDelayWithFixedRand(t *testing.T) {
	for _, tc := range []struct {
		r    float64
		want []time.Duration // n = 1..8
	}{
		{0, []time.Duration{2 * time.Second, 4 * time.Second, 8 * time.Second, 16 * time.Second, 32 * time.Second, time.Minute, time.Minute, time.Minute}},
		{0.999, []time.Duration{2999 * time.Millisecond, 4999 * time.Millisecond, 8999 * time.Millisecond, 16999 * time.Millisecond, 32999 * time.Millisecond, time.Minute, time.Minute, time.Minute}},
	} {
		p := DefaultPolicy()
		p.Rand = func() float64 { return tc.r }
		for i, want := range tc.want {
			n := i + 1
			if got := p.Delay(n); (got - want).Abs() > time.Microsecond {
				t.Errorf("Rand=%v: Delay(%d) = %s, want %s", tc.r, n, got, want)
			}
		}
	}
}

func TestDelayEdges(t *testing.T) {
	p := DefaultPolicy()
	if d := p.Delay(0); d != 0 {
		t.Errorf("Delay(0) = %s, want 0", d)
	}
	if d := p.Delay(5000); d != time.Minute {
		t.Errorf("Delay(5000) = %s, want the 1m cap (no overflow)", d)
	}
	if d := (Policy{MaxRetries: 3, BackoffFactor: 2, MaxDelay: -time.Second}).Delay(1); d != 0 {
		t.Errorf("negative MaxDelay: Delay(1) = %s, want 0", d)
	}
	if d := (Policy{BackoffFactor: 2, JitterMax: -time.Second, MaxDelay: time.Minute}).Delay(1); d != 2*time.Second {
		t.Errorf("negative JitterMax: Delay(1) = %s, want 2s", d)
	}
}

// TestJitterSpansRange draws many delays with factor 0 (so the delay is the
// jitter alone) and checks they cover [0, JitterMax) evenly.
func TestJitterSpansRange(t *testing.T) {
	const samples, buckets = 20000, 10
	jitter := time.Second
	p := Policy{BackoffFactor: 0, JitterMax: jitter, MaxDelay: time.Minute}
	var count [buckets]int
	var sum float64
	lo, hi := jitter, time.Duration(0)
	for range samples {
		d := p.Delay(1)
		if d < 0 || d >= jitter {
			t.Fatalf("jitter %s outside [0, %s)", d, jitter)
		}
		lo, hi = min(lo, d), max(hi, d)
		sum += d.Seconds()
		count[int(d*buckets/jitter)]++
	}
	if lo > jitter/100 || hi < jitter*99/100 {
		t.Errorf("jitter spans [%s, %s], want close to [0, %s)", lo, hi, jitter)
	}
	if mean := sum / samples; math.Abs(mean-0.5) > 0.02 {
		t.Errorf("mean jitter %.3fs, want about 0.5s", mean)
	}
	for i, c := range count {
		if c < samples/buckets*8/10 || c > samples/buckets*12/10 {
			t.Errorf("bucket %d holds %d of %d samples, want about %d", i, c, samples, samples/buckets)
		}
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2025, 3, 16, 5, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		h    string
		want time.Duration
		ok   bool
	}{
		{"120", 2 * time.Minute, true},
		{" 0 ", 0, true},
		{"Sun, 16 Mar 2025 05:00:30 GMT", 30 * time.Second, true},
		{"Sunday, 16-Mar-25 05:01:00 GMT", time.Minute, true}, // RFC 850
		{"Sun Mar 16 05:00:05 2025", 5 * time.Second, true},   // ANSI C
		{"Sun, 16 Mar 2025 04:00:00 GMT", 0, true},            // in the past
		{"99999999999999999999", time.Duration(math.MaxInt64), true},
		{"", 0, false},
		{"-5", 0, false},
		{"1.5", 0, false},
		{"soon", 0, false},
	} {
		got, ok := ParseRetryAfter(tc.h, now)
		if got != tc.want || ok != tc.ok {
			t.Errorf("ParseRetryAfter(%q) = %s, %v; want %s, %v", tc.h, got, ok, tc.want, tc.ok)
		}
	}
}

// Only a 429 or 503 asks for a wait; MaxDelay caps it, and a StatusError
// wrapped by the caller is still read.
func TestPolicyRetryAfter(t *testing.T) {
	p := Policy{MaxDelay: 5 * time.Second}
	for _, tc := range []struct {
		name string
		p    Policy
		err  error
		want time.Duration
	}{
		{"429", p, &StatusError{Status: 429, RetryAfter: 2 * time.Second}, 2 * time.Second},
		{"503 wrapped", p, fmt.Errorf("source: %w", &StatusError{Status: 503, RetryAfter: time.Second}), time.Second},
		{"capped", p, &StatusError{Status: 429, RetryAfter: time.Hour}, 5 * time.Second},
		{"no max_delay", Policy{MaxDelay: -1}, &StatusError{Status: 429, RetryAfter: time.Second}, 0},
		{"500 with Retry-After", p, &StatusError{Status: 500, RetryAfter: time.Second}, 0},
		{"429 without", p, &StatusError{Status: 429}, 0},
		{"transport", p, io.ErrUnexpectedEOF, 0},
		{"nil", p, nil, 0},
	} {
		if got := tc.p.RetryAfter(tc.err); got != tc.want {
			t.Errorf("%s: RetryAfter = %s, want %s", tc.name, got, tc.want)
		}
	}
}

func TestStatusErrorMessage(t *testing.T) {
	err := &StatusError{URL: "https://cdn.example/x.json", Status: 503, RetryAfter: 2 * time.Second}
	want := "GET https://cdn.example/x.json: HTTP 503 Service Unavailable (retry after 2s)"
	if err.Error() != want {
		t.Errorf("Error() = %q, want %q", err.Error(), want)
	}
}

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

var _ net.Error = timeoutErr{}

func TestClassification(t *testing.T) {
	status := func(code int) error { return fmt.Errorf("source 1: %w", &StatusError{URL: "u", Status: code}) }
	for _, tc := range []struct {
		name             string
		err              error
		retryable, trips bool
	}{
		{"nil", nil, false, false},
		{"transport", &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}, true, true},
		{"unexpected EOF", io.ErrUnexpectedEOF, true, true},
		{"attempt deadline", fmt.Errorf("get: %w", context.DeadlineExceeded), true, true},
		{"net timeout", timeoutErr{}, true, true},
		{"parent canceled", fmt.Errorf("get: %w", context.Canceled), false, false},
		{"429", status(429), true, true},
		{"500", status(500), true, true},
		{"502", status(502), true, true},
		{"503", status(503), true, true},
		{"400", status(400), true, false},
		{"403", status(403), true, false},
		{"404", status(404), false, false},
		{"permanent", Permanent(errors.New("invalid data")), false, false},
		{"permanent 503", Permanent(status(503)), false, false},
		{"bad certificate", fmt.Errorf("GET u: %w", &tls.CertificateVerificationError{Err: errors.New("x509: unknown authority")}), false, true},
	} {
		if got := Retryable(tc.err); got != tc.retryable {
			t.Errorf("%s: Retryable = %v, want %v", tc.name, got, tc.retryable)
		}
		if got := CountsAgainstSource(tc.err); got != tc.trips {
			t.Errorf("%s: CountsAgainstSource = %v, want %v", tc.name, got, tc.trips)
		}
		want := retrier.Fail
		switch {
		case tc.err == nil:
			want = retrier.Succeed
		case tc.retryable:
			want = retrier.Retry
		}
		if got := (Classifier{}).Classify(tc.err); got != want {
			t.Errorf("%s: Classify = %v, want %v", tc.name, got, want)
		}
	}
}

func TestPermanent(t *testing.T) {
	if Permanent(nil) != nil {
		t.Error("Permanent(nil) != nil")
	}
	base := &StatusError{URL: "u", Status: 404}
	err := fmt.Errorf("fetch: %w", Permanent(base))
	if !IsPermanent(err) {
		t.Error("IsPermanent lost through wrapping")
	}
	var se *StatusError
	if !errors.As(err, &se) || se != base {
		t.Error("Permanent hides the wrapped error from errors.As")
	}
	if err.Error() != "fetch: "+base.Error() {
		t.Errorf("message %q changed by Permanent", err.Error())
	}
	if IsPermanent(base) {
		t.Error("IsPermanent true for an unmarked error")
	}
}
