package fetch

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"
)

// holdGate blocks its first Wait until released and counts every Wait.
type holdGate struct {
	calls    atomic.Int64
	entered  chan struct{}
	released chan struct{}
}

func (g *holdGate) Wait(ctx context.Context) error {
	if g.calls.Add(1) == 1 {
		close(g.entered)
		select {
		case <-g.released:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

func TestGateIsPassedPerAttemptWithoutHoldingASlot(t *testing.T) {
	srv := newH2Server(t, failFirst(t, 1, 503, nil)) // every file needs two attempts
	s := fastSettings(srv.caFile, srv.URL)
	s.MaxConcurrent = 1
	c := newClient(t, s)
	g := &holdGate{entered: make(chan struct{}), released: make(chan struct{})}
	done := make(chan Result, 1)
	go func() {
		r, _ := c.FetchOne(WithGate(context.Background(), g), mustTuple(t, 2025, gpAUS, quali, "VER/laptimes.json"))
		done <- r
	}()
	<-g.entered
	// The only slot must be free while the gate holds the other fetch.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if r, err := c.FetchOne(ctx, mustTuple(t, 2025, gpAUS, quali, "drivers.json")); err != nil || r.Attempts != 2 {
		t.Fatalf("a fetch without the gate was held up: %v (attempts %d)", err, r.Attempts)
	}
	close(g.released)
	r := <-done
	if r.Err != nil || r.Attempts != 2 || g.calls.Load() != 2 {
		t.Fatalf("gated fetch: err %v, %d attempts, gate passed %d times; want 2 and 2 (once per attempt)", r.Err, r.Attempts, g.calls.Load())
	}
	if srv.requests.Load() != 4 {
		t.Fatalf("server saw %d requests, want 4", srv.requests.Load())
	}
}

type refuseGate struct{ err error }

func (g refuseGate) Wait(context.Context) error { return g.err }

func TestGateRefusalFailsTheFetchBeforeAnyTraffic(t *testing.T) {
	srv := newH2Server(t, corpusHandler(t))
	c := newClient(t, fastSettings(srv.caFile, srv.URL))
	broken := errors.New("rate limit resource gone")
	_, err := c.FetchOne(WithGate(context.Background(), refuseGate{broken}), mustTuple(t, 2025, gpAUS, quali, "drivers.json"))
	var ne *NetworkError
	if !errors.As(err, &ne) || !errors.Is(err, broken) || ne.Attempts != 0 {
		t.Fatalf("want a network error wrapping the gate's error, no request sent (0 attempts), got %v", err)
	}
	if srv.requests.Load() != 0 {
		t.Fatalf("server saw %d requests", srv.requests.Load())
	}
	if WithGate(context.Background(), nil) != context.Background() {
		t.Fatal("a nil gate must leave the context alone")
	}
}
