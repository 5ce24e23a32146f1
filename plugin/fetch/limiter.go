package fetch

import (
	"context"
	"sync/atomic"
)

// limiter bounds the requests in flight, as the seed's global semaphore,
// for every component sharing one client.
type limiter struct {
	slots    chan struct{}
	inFlight atomic.Int64
}

func newLimiter(n int) *limiter {
	return &limiter{slots: make(chan struct{}, n)}
}

// acquire waits for a slot or ctx's end.
func (l *limiter) acquire(ctx context.Context) error {
	select {
	case l.slots <- struct{}{}:
		l.inFlight.Add(1)
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (l *limiter) release() {
	l.inFlight.Add(-1)
	<-l.slots
}
