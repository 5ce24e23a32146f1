package fetch

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

// A caller arriving just after every waiter of a flight has gone, while the
// abandoned fetch still unwinds, gets a fetch of its own: not the
// cancellation of the callers that left.
func TestAbandonedFlightIsNotJoined(t *testing.T) {
	var g flights
	started := make(chan struct{})
	unwinding := func(ctx context.Context) Result {
		close(started)
		<-ctx.Done()
		time.Sleep(50 * time.Millisecond) // closing a stream, a retry returning
		return Result{Err: fmt.Errorf("fetch: %w", ctx.Err())}
	}
	gone, cancel := context.WithCancel(context.Background())
	go func() { <-started; cancel() }()
	if res, _ := g.do(gone, context.Background(), "k", unwinding); !errors.Is(res.Err, context.Canceled) {
		t.Fatalf("the caller that gave up: %v, want its cancellation", res.Err)
	}
	res, shared := g.do(context.Background(), context.Background(), "k", func(context.Context) Result {
		return Result{Status: 200}
	})
	if res.Err != nil || shared || res.Status != 200 {
		t.Fatalf("the next caller: err %v, shared %v, status %d; want its own fetch's 200", res.Err, shared, res.Status)
	}
	// The abandoned flight, finishing after the new one, leaves the map alone.
	time.Sleep(80 * time.Millisecond)
	g.mu.Lock()
	n := len(g.m)
	g.mu.Unlock()
	if n != 0 {
		t.Fatalf("%d flights left in the map, want 0", n)
	}
}
