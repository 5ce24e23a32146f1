package fetch

import (
	"context"
	"sync"
	"time"

	"github.com/f1fetch/f1fetch/plugin/retry"
)

// pauses holds, per source, the time before which no new attempt starts: a
// source that answered 429 or 503 with Retry-After is left alone that long
// (capped by max_delay), the attempts going to the other sources meanwhile.
// In adaptive mode one pauses is shared by every request, which is what
// stops a burst of 429s; with a fixed limit each request has its own, and
// the others are not held (see Client.fetchNetwork).
type pauses struct {
	mu    sync.Mutex
	until []time.Time // by source index
}

func newPauses(sources int) *pauses { return &pauses{until: make([]time.Time, sources)} }

// pause keeps source i quiet until t (a later pause wins).
func (p *pauses) pause(i int, t time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if t.After(p.until[i]) {
		p.until[i] = t
	}
}

// left is how long source i stays paused from now (0: not paused).
func (p *pauses) left(i int, now time.Time) time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	return max(p.until[i].Sub(now), 0)
}

// wait returns once some source is not paused, or ctx ends.
func (p *pauses) wait(ctx context.Context) error {
	for {
		now := time.Now()
		shortest := time.Duration(-1)
		for i := range p.until {
			d := p.left(i, now)
			if d == 0 {
				return nil
			}
			if shortest < 0 || d < shortest {
				shortest = d
			}
		}
		if shortest < 0 { // no source at all
			return nil
		}
		if err := retry.Sleep(ctx, shortest); err != nil {
			return err
		}
	}
}
