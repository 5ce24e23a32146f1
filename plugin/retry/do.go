package retry

import (
	"context"
	"fmt"
	"time"

	"github.com/eapache/go-resiliency/retrier"
)

// Do runs fn until success, a non-retryable error, MaxRetries retries, or ctx
// done. Before retry n it waits p.Delay(n), or the server's Retry-After
// (429/503 StatusError) when longer, capped by MaxDelay; ctx cancels every
// wait at once. attempt is 1 for the first try. It returns the number of
// times fn ran and the last error; when ctx ends the run, the error wraps both
// ctx.Err() and fn's last error.
func Do(ctx context.Context, p Policy, c retrier.Classifier, fn func(ctx context.Context, attempt int) error) (attempts int, err error) {
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("retry: not started: %w", err)
	}
	if c == nil {
		c = Classifier{}
	}
	// The first attempt runs before the retrier exists: most succeed, and a
	// retrier seeds a math/rand source of its own (about 10 us, 4% of the
	// engine's CPU at 0 ms latency). The retrier is handed its result as
	// its own first attempt, so what it decides is unchanged.
	attempts = 1
	last := fn(ctx, attempts)
	if last == nil {
		return attempts, nil
	}
	backoff := p.backoff()
	err = retrier.New(backoff, stopWhenDone{ctx: ctx, next: c}).RunFn(ctx, func(ctx context.Context, retries int) error {
		if retries == 0 {
			return last
		}
		// The retrier has slept backoff[retries-1]; a longer Retry-After is made up here.
		if err := Sleep(ctx, p.RetryAfter(last)-backoff[retries-1]); err != nil {
			return err
		}
		attempts++
		last = fn(ctx, attempts)
		return last
	})
	if ctxErr := ctx.Err(); ctxErr != nil && err != nil {
		if last == nil || last == ctxErr {
			return attempts, fmt.Errorf("retry: stopped after %d attempts: %w", attempts, ctxErr)
		}
		return attempts, fmt.Errorf("retry: stopped after %d attempts: %w (last error: %w)", attempts, ctxErr, last)
	}
	return attempts, err
}

// stopWhenDone never retries once the caller's context is done: a per-attempt
// deadline is worth another try, the caller giving up is not.
type stopWhenDone struct {
	ctx  context.Context
	next retrier.Classifier
}

func (s stopWhenDone) Classify(err error) retrier.Action {
	action := s.next.Classify(err)
	if action == retrier.Retry && s.ctx.Err() != nil {
		return retrier.Fail
	}
	return action
}

// Sleep waits d (nothing when d <= 0) unless ctx ends first; every wait of
// the engine goes through it so that cancellation is prompt everywhere.
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
