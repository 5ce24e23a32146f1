// Package retry decides how long to wait between attempts (Policy) apart from
// which failures are worth another attempt (Retryable, Classifier), and runs
// work with both on go-resiliency's retrier (Do).
package retry

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/eapache/go-resiliency/retrier"
)

// Policy is the seed's backoff: the delay before retry n is
// min(BackoffFactor^n seconds + U(0, JitterMax), MaxDelay).
// Fields are taken literally (0 retries means one attempt only); config
// supplies the defaults, DefaultPolicy returns them. Negative values count as 0.
type Policy struct {
	MaxRetries    int            // retries after the first try (default 3)
	BackoffFactor float64        // default 2.0
	JitterMax     time.Duration  // default 1s
	MaxDelay      time.Duration  // default 60s; also caps Retry-After
	Rand          func() float64 // [0,1); nil = math/rand/v2
}

// DefaultPolicy returns the seed's defaults: 3 retries, factor 2.0, jitter up to 1s, delays capped at 60s.
func DefaultPolicy() Policy {
	return Policy{MaxRetries: 3, BackoffFactor: 2.0, JitterMax: time.Second, MaxDelay: 60 * time.Second}
}

// Delay is the wait before retry n (n >= 1); 0 for n < 1.
func (p Policy) Delay(retry int) time.Duration {
	maxDelay := max(p.MaxDelay, 0)
	if retry < 1 {
		return 0
	}
	random := rand.Float64
	if p.Rand != nil {
		random = p.Rand
	}
	secs := math.Pow(max(p.BackoffFactor, 0), float64(retry)) + random()*max(p.JitterMax, 0).Seconds()
	// Compare in seconds first: BackoffFactor^n overflows a Duration long before it overflows a float.
	if math.IsNaN(secs) || secs >= maxDelay.Seconds() {
		return maxDelay
	}
	return time.Duration(secs * float64(time.Second))
}

// RetryAfter is the wait a 429 or 503 asked for with Retry-After, capped by
// MaxDelay; 0 for any other error. Do waits it before retrying after err; a
// caller that asks several sources within one attempt keeps each source
// that asked for it away from its next attempts that long, whichever source
// failed last.
func (p Policy) RetryAfter(err error) time.Duration {
	var se *StatusError
	if !errors.As(err, &se) || (se.Status != http.StatusTooManyRequests && se.Status != http.StatusServiceUnavailable) {
		return 0
	}
	return min(se.RetryAfter, max(p.MaxDelay, 0))
}

// backoff is the retrier's fixed schedule for one call, computed fresh so each call gets its own jitter.
func (p Policy) backoff() []time.Duration {
	b := make([]time.Duration, max(p.MaxRetries, 0))
	for i := range b {
		b[i] = p.Delay(i + 1)
	}
	return b
}

// StatusError is a non-2xx HTTP answer: the classifier and the breaker read it.
// RetryAfter is the server's Retry-After (0 when absent), honoured for 429 and 503.
type StatusError struct {
	URL        string
	Status     int
	RetryAfter time.Duration
}

func (e *StatusError) Error() string {
	msg := fmt.Sprintf("GET %s: HTTP %d %s", e.URL, e.Status, http.StatusText(e.Status))
	if e.RetryAfter > 0 {
		msg += fmt.Sprintf(" (retry after %s)", e.RetryAfter)
	}
	return msg
}

// ParseRetryAfter reads a Retry-After header: delta-seconds or an HTTP-date
// (a date in the past gives 0). ok is false when h is empty or malformed.
func ParseRetryAfter(h string, now time.Time) (time.Duration, bool) {
	h = strings.TrimSpace(h)
	if h == "" {
		return 0, false
	}
	if h[0] >= '0' && h[0] <= '9' {
		secs, err := strconv.ParseUint(h, 10, 64)
		if errors.Is(err, strconv.ErrRange) || secs > uint64(math.MaxInt64/int64(time.Second)) {
			return time.Duration(math.MaxInt64), true // absurdly far: the caller's MaxDelay caps it
		}
		if err != nil {
			return 0, false
		}
		return time.Duration(secs) * time.Second, true
	}
	at, err := http.ParseTime(h)
	if err != nil {
		return 0, false
	}
	return max(at.Sub(now), 0), true
}

type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// Permanent marks an error as never retryable (404, invalid data, all breakers
// open, bad request). Permanent(nil) is nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err: err}
}

// IsPermanent reports whether err, or an error it wraps, was marked Permanent.
func IsPermanent(err error) bool {
	var p *permanentError
	return errors.As(err, &p)
}

// Retryable: transport errors, timeouts (context.DeadlineExceeded of the
// attempt, net.Error timeouts), 429, 5xx and other non-2xx answers except 404.
// Not retryable: nil, Permanent, 404, context.Canceled (the caller gave up).
// An error it does not recognise is taken for a transport error.
func Retryable(err error) bool {
	if err == nil || IsPermanent(err) || errors.Is(err, context.Canceled) {
		return false
	}
	var se *StatusError
	if errors.As(err, &se) {
		return se.Status != http.StatusNotFound
	}
	// A certificate that does not verify will not verify on the next try.
	var cert *tls.CertificateVerificationError
	return !errors.As(err, &cert)
}

// Classifier adapts Retryable to go-resiliency's retrier.Classifier.
type Classifier struct{}

// Classify implements retrier.Classifier.
func (Classifier) Classify(err error) retrier.Action {
	switch {
	case err == nil:
		return retrier.Succeed
	case Retryable(err):
		return retrier.Retry
	default:
		return retrier.Fail
	}
}

// CountsAgainstSource: only transport errors, timeouts, 429 and 5xx say a
// source is unhealthy and trip its breaker; a 404 or another 4xx is the
// source answering correctly about a file.
func CountsAgainstSource(err error) bool {
	if err == nil || IsPermanent(err) || errors.Is(err, context.Canceled) {
		return false
	}
	var se *StatusError
	if errors.As(err, &se) {
		return se.Status == http.StatusTooManyRequests || se.Status >= 500
	}
	return true // transport error or timeout
}
