package fetch

import (
	"context"
	"sync"
)

// flights coalesces identical in-flight requests: the first caller runs the
// fetch, later callers with the same key wait for its result. The fetch runs
// on its own context, cancelled only when every waiter has gone, so one
// impatient caller never fails the others.
type flights struct {
	mu sync.Mutex
	m  map[string]*flight
}

type flight struct {
	done    chan struct{}
	res     Result
	waiters int
	left    bool // the caller that started it left before the end
	taken   bool // a caller has received res as its own (see do)
	cancel  context.CancelFunc
}

// do returns fn's result for key, running fn at most once among concurrent
// callers. shared is false for the one caller that receives the result as
// its own: the caller that started the flight, or, when it left before the
// end, the first joiner to receive it; true for the others, who must not
// count again what the fetch did (its attempts, its cache writes). joined,
// when not nil, is called as a caller joins, before it waits.
func (g *flights) do(ctx, base context.Context, key string, joined func(), fn func(ctx context.Context) Result) (res Result, shared bool) {
	g.mu.Lock()
	if g.m == nil {
		g.m = make(map[string]*flight)
	}
	f, ok := g.m[key]
	if ok {
		f.waiters++
	} else {
		fctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		stop := context.AfterFunc(base, cancel)
		f = &flight{done: make(chan struct{}), waiters: 1, cancel: cancel}
		g.m[key] = f
		go func() {
			defer stop()
			defer cancel()
			f.res = fn(fctx)
			g.mu.Lock()
			if g.m[key] == f { // not when abandoned and replaced by a newer flight
				delete(g.m, key)
			}
			g.mu.Unlock()
			close(f.done)
		}()
	}
	g.mu.Unlock()
	if ok && joined != nil {
		joined()
	}

	select {
	case <-f.done:
		g.mu.Lock()
		shared = ok && !(f.left && !f.taken)
		f.taken = f.taken || !shared
		g.mu.Unlock()
		return f.res, shared
	case <-ctx.Done():
		g.mu.Lock()
		f.waiters--
		f.left = f.left || !ok
		if f.waiters == 0 {
			// Abandoned: cancel it, and let a caller arriving while it
			// unwinds start a flight of its own rather than join this one
			// and get the cancellation of callers that have gone.
			f.cancel()
			if g.m[key] == f { // its fetch may have ended and a newer one taken the key
				delete(g.m, key)
			}
		}
		g.mu.Unlock()
		return Result{Err: ctx.Err()}, ok
	}
}
