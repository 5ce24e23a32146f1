package fetch

import (
	"context"
	"sync"
)

// limiter bounds the requests in flight, as the seed's global semaphore,
// for every component sharing one client. Its limit can move (the adaptive
// mode sets it); waiters are served first come, first served.
type limiter struct {
	mu       sync.Mutex
	limit    int
	inFlight int
	waiters  []chan struct{} // closed when granted a slot
}

func newLimiter(n int) *limiter {
	return &limiter{limit: n}
}

// acquire waits for a slot or ctx's end.
func (l *limiter) acquire(ctx context.Context) error {
	l.mu.Lock()
	if l.inFlight < l.limit && len(l.waiters) == 0 {
		l.inFlight++
		l.mu.Unlock()
		return nil
	}
	ch := make(chan struct{})
	l.waiters = append(l.waiters, ch)
	l.mu.Unlock()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		l.mu.Lock()
		for i, w := range l.waiters {
			if w == ch {
				l.waiters = append(l.waiters[:i], l.waiters[i+1:]...)
				l.mu.Unlock()
				return ctx.Err()
			}
		}
		l.mu.Unlock()
		l.release() // granted while giving up: hand the slot on
		return ctx.Err()
	}
}

func (l *limiter) release() {
	l.mu.Lock()
	l.inFlight--
	l.grant()
	l.mu.Unlock()
}

// setLimit moves the limit; slots above a lowered limit drain as their
// requests end.
func (l *limiter) setLimit(n int) {
	l.mu.Lock()
	l.limit = n
	l.grant()
	l.mu.Unlock()
}

// grant hands free slots to the oldest waiters; l.mu is held.
func (l *limiter) grant() {
	for l.inFlight < l.limit && len(l.waiters) > 0 {
		ch := l.waiters[0]
		l.waiters[0] = nil
		l.waiters = l.waiters[1:]
		l.inFlight++
		close(ch)
	}
}

// current is the number of requests in flight.
func (l *limiter) current() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.inFlight
}

// size is the current limit.
func (l *limiter) size() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.limit
}
