package retry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// fast is a Policy on the millisecond scale: delays of 1ms, 0.01ms, ... plus up to 1ms jitter.
var fast = Policy{MaxRetries: 3, BackoffFactor: 0.001, JitterMax: time.Millisecond, MaxDelay: 50 * time.Millisecond}

// server is a real HTTP/2 server on loopback whose answer to each request comes from answer;
// it records when each request arrived.
type server struct {
	*httptest.Server
	mu       sync.Mutex
	arrivals []time.Time
}

func newServer(t *testing.T, answer func(w http.ResponseWriter, r *http.Request, n int)) *server {
	t.Helper()
	s := &server{}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.arrivals = append(s.arrivals, time.Now())
		n := len(s.arrivals)
		s.mu.Unlock()
		answer(w, r, n)
	}))
	s.EnableHTTP2 = true
	s.StartTLS()
	t.Cleanup(s.Close)
	return s
}

func (s *server) hits() []time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Time(nil), s.arrivals...)
}

// get is what the fetch layer does per attempt: a GET whose non-2xx answer becomes a *StatusError.
func get(ctx context.Context, client *http.Client, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return Permanent(err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		ra, _ := ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
		return &StatusError{URL: url, Status: resp.StatusCode, RetryAfter: ra}
	}
	if resp.ProtoMajor != 2 {
		return Permanent(fmt.Errorf("want HTTP/2, got %s", resp.Proto))
	}
	return nil
}

func statusServer(t *testing.T, code int) *server {
	return newServer(t, func(w http.ResponseWriter, _ *http.Request, _ int) { w.WriteHeader(code) })
}

func TestDoClasses(t *testing.T) {
	closed := statusServer(t, 200)
	closedURL, closedClient := closed.URL, closed.Client()
	closed.Close() // connection refused from now on

	slow := newServer(t, func(_ http.ResponseWriter, r *http.Request, _ int) {
		select {
		case <-r.Context().Done():
		case <-time.After(2 * time.Second):
		}
	})
	clientTimeout := slow.Client()
	clientTimeout.Timeout = 20 * time.Millisecond

	type attemptFn = func(ctx context.Context, attempt int) error
	viaStatus := func(code int) (*server, attemptFn) {
		s := statusServer(t, code)
		return s, func(ctx context.Context, _ int) error { return get(ctx, s.Client(), s.URL) }
	}

	for _, tc := range []struct {
		name         string
		fn           func() (*server, attemptFn)
		wantAttempts int
		wantStatus   int // of the returned *StatusError, 0 = none
	}{
		{"transport error", func() (*server, attemptFn) {
			return nil, func(ctx context.Context, _ int) error { return get(ctx, closedClient, closedURL) }
		}, 4, 0},
		{"attempt timeout (context deadline)", func() (*server, attemptFn) {
			return slow, func(ctx context.Context, _ int) error {
				ctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
				defer cancel()
				err := get(ctx, slow.Client(), slow.URL)
				if !errors.Is(err, context.DeadlineExceeded) {
					return Permanent(fmt.Errorf("want a deadline error, got %w", err))
				}
				return err
			}
		}, 4, 0},
		{"attempt timeout (client timeout, net.Error)", func() (*server, attemptFn) {
			return slow, func(ctx context.Context, _ int) error {
				err := get(ctx, clientTimeout, slow.URL)
				var ne interface{ Timeout() bool }
				if !errors.As(err, &ne) || !ne.Timeout() {
					return Permanent(fmt.Errorf("want a net timeout, got %w", err))
				}
				return err
			}
		}, 4, 0},
		{"429", func() (*server, attemptFn) { return viaStatus(429) }, 4, 429},
		{"500", func() (*server, attemptFn) { return viaStatus(500) }, 4, 500},
		{"502", func() (*server, attemptFn) { return viaStatus(502) }, 4, 502},
		{"503", func() (*server, attemptFn) { return viaStatus(503) }, 4, 503},
		{"400", func() (*server, attemptFn) { return viaStatus(400) }, 4, 400},
		{"403", func() (*server, attemptFn) { return viaStatus(403) }, 4, 403},
		{"404", func() (*server, attemptFn) { return viaStatus(404) }, 1, 404},
		{"permanent (invalid body)", func() (*server, attemptFn) {
			s, fn := viaStatus(200)
			return s, func(ctx context.Context, n int) error {
				if err := fn(ctx, n); err != nil {
					return err
				}
				return Permanent(errors.New("invalid data: not JSON"))
			}
		}, 1, 0},
		{"success after two 503", func() (*server, attemptFn) {
			s := newServer(t, func(w http.ResponseWriter, _ *http.Request, n int) {
				if n <= 2 {
					w.WriteHeader(503)
				}
			})
			return s, func(ctx context.Context, _ int) error { return get(ctx, s.Client(), s.URL) }
		}, 3, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, fn := tc.fn()
			var seen []int
			attempts, err := Do(context.Background(), fast, Classifier{}, func(ctx context.Context, attempt int) error {
				seen = append(seen, attempt)
				return fn(ctx, attempt)
			})
			if attempts != tc.wantAttempts || len(seen) != tc.wantAttempts {
				t.Fatalf("attempts = %d (fn ran %d times), want %d; err = %v", attempts, len(seen), tc.wantAttempts, err)
			}
			for i, a := range seen {
				if a != i+1 {
					t.Fatalf("attempt numbers %v, want 1..%d", seen, tc.wantAttempts)
				}
			}
			if s != nil && s != slow {
				if got := len(s.hits()); got != tc.wantAttempts {
					t.Errorf("server saw %d requests, want %d", got, tc.wantAttempts)
				}
			}
			var se *StatusError
			switch {
			case tc.name == "success after two 503":
				if err != nil {
					t.Fatalf("err = %v, want nil", err)
				}
			case tc.wantStatus != 0:
				if !errors.As(err, &se) || se.Status != tc.wantStatus {
					t.Fatalf("err = %v, want *StatusError %d", err, tc.wantStatus)
				}
			case tc.name == "permanent (invalid body)":
				if !IsPermanent(err) {
					t.Fatalf("err = %v, want the Permanent error", err)
				}
			default:
				if err == nil || IsPermanent(err) {
					t.Fatalf("err = %v, want the last transport/timeout error", err)
				}
			}
		})
	}
}

func TestDoParentCancelDuringAttempt(t *testing.T) {
	s := newServer(t, func(w http.ResponseWriter, r *http.Request, n int) {
		if n == 1 {
			w.WriteHeader(503)
			return
		}
		<-r.Context().Done() // attempt 2 hangs until the caller gives up
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var canceledAt time.Time
	attempts, err := Do(ctx, fast, Classifier{}, func(ctx context.Context, attempt int) error {
		if attempt == 2 {
			time.AfterFunc(20*time.Millisecond, func() { canceledAt = time.Now(); cancel() })
		}
		return get(ctx, s.Client(), s.URL)
	})
	if took := time.Since(canceledAt); took > 20*time.Millisecond {
		t.Errorf("Do returned %s after the cancel, want promptly", took)
	}
	if attempts != 2 || !errors.Is(err, context.Canceled) {
		t.Fatalf("attempts = %d, err = %v; want 2 and context.Canceled", attempts, err)
	}
	if Retryable(err) {
		t.Errorf("the returned error %v is classed retryable", err)
	}
}

func TestDoParentDeadlineIsNotRetried(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	p := fast
	p.MaxRetries = 100
	attempts, err := Do(ctx, p, Classifier{}, func(ctx context.Context, _ int) error {
		<-ctx.Done()
		return fmt.Errorf("get: %w", ctx.Err()) // looks like an attempt timeout, but the parent is done
	})
	if attempts != 1 || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("attempts = %d, err = %v; want 1 and the parent's deadline", attempts, err)
	}
}

func TestDoCancelMidBackoff(t *testing.T) {
	for _, tc := range []struct {
		name string
		p    Policy
		err  error
	}{
		{"backoff", Policy{MaxRetries: 3, BackoffFactor: 10, MaxDelay: time.Minute}, &StatusError{Status: 500}},
		{"retry-after", Policy{MaxRetries: 3, BackoffFactor: 0.001, MaxDelay: time.Minute}, &StatusError{Status: 429, RetryAfter: 30 * time.Second}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			var canceledAt time.Time
			time.AfterFunc(20*time.Millisecond, func() { canceledAt = time.Now(); cancel() })
			attempts, err := Do(ctx, tc.p, Classifier{}, func(context.Context, int) error { return tc.err })
			// The waits cancelled are 10 s and 30 s: well under them is prompt,
			// with room for a busy 2-core host under -race.
			if took := time.Since(canceledAt); took > 250*time.Millisecond {
				t.Errorf("Do returned %s after the cancel, want it promptly, not after the wait", took)
			}
			var se *StatusError
			if attempts != 1 || !errors.Is(err, context.Canceled) || !errors.As(err, &se) {
				t.Fatalf("attempts = %d, err = %v; want 1, context.Canceled and the last *StatusError", attempts, err)
			}
		})
	}
}

func TestDoNotStartedWhenDone(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	attempts, err := Do(ctx, fast, Classifier{}, func(context.Context, int) error { t.Fatal("fn ran"); return nil })
	if attempts != 0 || !errors.Is(err, context.Canceled) {
		t.Fatalf("attempts = %d, err = %v", attempts, err)
	}
}

const retryAfterSlack = 250 * time.Millisecond

// TestDoRetryAfter measures the gap between attempt 1 and 2 when the first answer carries Retry-After.
// The backoff is fixed at 10ms (Rand 0, factor 0.01). The lower bounds are the
// point; the upper ones (the lower plus a slack for a busy host) rule out the
// hour-long Retry-After being honoured where it must not be, or a cap
// well above MaxDelay.
func TestDoRetryAfter(t *testing.T) {
	p := Policy{MaxRetries: 1, BackoffFactor: 0.01, MaxDelay: 80 * time.Millisecond, Rand: func() float64 { return 0 }}
	for _, tc := range []struct {
		name string
		err  error
		min  time.Duration
	}{
		{"429 longer than backoff", &StatusError{Status: 429, RetryAfter: 50 * time.Millisecond}, 50 * time.Millisecond},
		{"503 longer than backoff", &StatusError{Status: 503, RetryAfter: 50 * time.Millisecond}, 50 * time.Millisecond},
		{"capped by MaxDelay", &StatusError{Status: 429, RetryAfter: time.Hour}, 80 * time.Millisecond},
		{"shorter than backoff", &StatusError{Status: 429, RetryAfter: time.Millisecond}, 10 * time.Millisecond},
		{"ignored on 500", &StatusError{Status: 500, RetryAfter: time.Hour}, 10 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var at []time.Time
			attempts, _ := Do(context.Background(), p, Classifier{}, func(context.Context, int) error {
				at = append(at, time.Now())
				return tc.err
			})
			if attempts != 2 {
				t.Fatalf("attempts = %d, want 2", attempts)
			}
			if gap := at[1].Sub(at[0]); gap < tc.min || gap > tc.min+retryAfterSlack {
				t.Errorf("gap %s, want in [%s, %s]", gap, tc.min, tc.min+retryAfterSlack)
			}
		})
	}
}

// TestDoRetryAfterHeader runs the header through a real server: delta-seconds and HTTP-date,
// honoured in full when under MaxDelay and capped when over.
func TestDoRetryAfterHeader(t *testing.T) {
	for _, tc := range []struct {
		name     string
		header   func() string
		maxDelay time.Duration
		min, max time.Duration
	}{
		{"delta seconds", func() string { return "1" }, 5 * time.Second, time.Second, 1300 * time.Millisecond},
		{"delta seconds capped", func() string { return "120" }, 60 * time.Millisecond, 60 * time.Millisecond, 300 * time.Millisecond},
		// An HTTP-date has whole seconds: two seconds ahead is 1..2s away.
		{"HTTP-date", func() string { return time.Now().Add(2 * time.Second).UTC().Format(http.TimeFormat) }, 5 * time.Second, time.Second, 2300 * time.Millisecond},
		{"HTTP-date capped", func() string { return time.Now().Add(time.Hour).UTC().Format(http.TimeFormat) }, 60 * time.Millisecond, 60 * time.Millisecond, 300 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newServer(t, func(w http.ResponseWriter, _ *http.Request, n int) {
				if n == 1 {
					w.Header().Set("Retry-After", tc.header())
					w.WriteHeader(http.StatusTooManyRequests)
				}
			})
			p := Policy{MaxRetries: 1, BackoffFactor: 0.001, MaxDelay: tc.maxDelay}
			attempts, err := Do(context.Background(), p, Classifier{}, func(ctx context.Context, _ int) error {
				return get(ctx, s.Client(), s.URL)
			})
			if attempts != 2 || err != nil {
				t.Fatalf("attempts = %d, err = %v; want 2, nil", attempts, err)
			}
			hits := s.hits()
			if gap := hits[1].Sub(hits[0]); gap < tc.min || gap > tc.max {
				t.Errorf("server saw retry after %s, want in [%s, %s]", gap, tc.min, tc.max)
			}
		})
	}
}

func TestDoZeroRetries(t *testing.T) {
	attempts, err := Do(context.Background(), Policy{}, Classifier{}, func(context.Context, int) error {
		return &StatusError{Status: 503}
	})
	if attempts != 1 || err == nil {
		t.Fatalf("attempts = %d, err = %v; want 1 attempt and the error", attempts, err)
	}
}

func TestDoDelaysFollowPolicy(t *testing.T) {
	// factor 0.02, no jitter: 20ms, 0.4ms, ~0ms between the 4 attempts
	p := Policy{MaxRetries: 3, BackoffFactor: 0.02, MaxDelay: time.Second}
	var at []time.Time
	Do(context.Background(), p, Classifier{}, func(context.Context, int) error {
		at = append(at, time.Now())
		return errors.New("connection reset")
	})
	if len(at) != 4 {
		t.Fatalf("%d attempts, want 4", len(at))
	}
	// At least the policy's 20 ms; the upper bound leaves a busy host room
	// and still rules out the next delays of a larger factor (0.2 s and up).
	if gap := at[1].Sub(at[0]); gap < 20*time.Millisecond || gap > 150*time.Millisecond {
		t.Errorf("gap before retry 1 = %s, want about 20ms", gap)
	}
}

// A first attempt that succeeds builds no retrier: Do must cost next to
// nothing on the path nearly every request takes (a retrier seeds a
// math/rand source of about 5 KB).
func TestDoFirstSuccessAllocatesLittle(t *testing.T) {
	ok := func(context.Context, int) error { return nil }
	allocs := testing.AllocsPerRun(200, func() {
		if n, err := Do(context.Background(), DefaultPolicy(), Classifier{}, ok); n != 1 || err != nil {
			t.Fatalf("Do = %d, %v; want 1 attempt, no error", n, err)
		}
	})
	if allocs > 1 { // 5 when every call built a retrier
		t.Errorf("Do allocated %.0f times on a first success, want at most 1", allocs)
	}
}
