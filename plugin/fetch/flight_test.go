package fetch

import (
	"context"
	"errors"
	"fmt"
	"testing"
)

// A caller arriving just after every waiter of a flight has gone, while the
// abandoned fetch still unwinds, gets a fetch of its own: not the
// cancellation of the callers that left.
func TestAbandonedFlightIsNotJoined(t *testing.T) {
	var g flights
	started, unwind := make(chan struct{}), make(chan struct{})
	unwinding := func(ctx context.Context) Result {
		close(started)
		<-ctx.Done()
		<-unwind // closing a stream, a retry returning
		return Result{Err: fmt.Errorf("fetch: %w", ctx.Err())}
	}
	gone, cancel := context.WithCancel(context.Background())
	var abandoned *flight
	go func() {
		<-started
		g.mu.Lock()
		abandoned = g.m["k"]
		g.mu.Unlock()
		cancel()
	}()
	if res, _ := g.do(gone, context.Background(), "k", nil, unwinding); !errors.Is(res.Err, context.Canceled) {
		t.Fatalf("the caller that gave up: %v, want its cancellation", res.Err)
	}
	if abandoned == nil {
		t.Fatal("setup: no flight under the key while its fetch ran")
	}
	// The next caller's fetch is still running when the abandoned one ends:
	// that end must leave the newer flight in the map, for others to join.
	newStarted, joined, release := make(chan struct{}), make(chan struct{}), make(chan struct{})
	done := make(chan Result, 1)
	go func() {
		res, shared := g.do(context.Background(), context.Background(), "k", func() { close(joined) }, func(context.Context) Result {
			close(newStarted)
			<-release
			return Result{Status: 200}
		})
		if shared {
			res.Err = fmt.Errorf("joined the abandoned flight")
		}
		done <- res
	}()
	select {
	case <-newStarted:
	case <-joined:
		close(unwind)
		t.Fatalf("the next caller joined the abandoned flight: %v", (<-done).Err)
	}
	close(unwind)
	<-abandoned.done // the abandoned fetch has unwound and left the map as it found it
	g.mu.Lock()
	newer := g.m["k"]
	g.mu.Unlock()
	if newer == nil || newer == abandoned {
		t.Fatal("the abandoned flight, ending, removed the newer flight from the map")
	}
	close(release)
	if res := <-done; res.Err != nil || res.Status != 200 {
		t.Fatalf("the next caller: err %v, status %d; want its own fetch's 200", res.Err, res.Status)
	}
}
