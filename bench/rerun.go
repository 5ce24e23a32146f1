package main

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"
)

// warmPasses is how many warm passes a one-process rerun makes, and how
// many warm processes a rerun in new processes runs; the median is
// reported, as a warm pass of 10-70 ms varies with the shared host's load
// by more than the cold pass of 0.2-1 s does.
const warmPasses = 3

// middle is the element of xs (not empty) whose key is the median: the
// upper middle one of an even count. The bench's medians are all this one.
func middle[T any, K cmp.Ordered](xs []T, key func(T) K) T {
	return slices.SortedFunc(slices.Values(xs), func(a, b T) int { return cmp.Compare(key(a), key(b)) })[len(xs)/2]
}

// The two shapes of a warm-cache rerun inside one f1fetch process, each a
// sequence of a marker message and 1+warmPasses passes over the same tuples
// with one cache_dir. Process start and stop are in no pass.
const (
	// rerunInputs: each pass is an f1_fetch input of its own, as when a
	// job's input is rebuilt: its client is new (the one before released the
	// shared client and its memory tier), so warm passes read cache_dir.
	rerunInputs = "rerun-inputs"
	// rerunProcessor: the passes are lines of tuples fed to one f1_fetch
	// processor (batches of processorBatchC x C), as in a long-running
	// pipeline asked for the same files again: warm passes hit its memory tier.
	rerunProcessor = "rerun-processor"
)

// rerunPasses runs a one-process rerun of the given shape. The cold pass runs
// from the marker to the first pass's last document, each warm pass from the
// last document of the pass before to its own last one (for rerunInputs it
// includes closing one input and opening the next).
func rerunPasses(ctx context.Context, j job, shape, cacheDir string) (cold, warm measurement, err error) {
	passes := 1 + warmPasses
	var cfg map[string]any
	switch shape {
	case rerunInputs:
		cfg = inputPipeline(j, shape, cacheDir, 0)
	case rerunProcessor:
		cfg = processorPipeline(j, shape, cacheDir, 1, processorBatchC)
	default:
		return cold, warm, fmt.Errorf("rerun shape %q: want %s or %s", shape, rerunInputs, rerunProcessor)
	}
	inputs := make([]any, passes)
	for p := range inputs {
		inputs[p] = cfg["input"]
	}
	cfg["input"] = map[string]any{"sequence": map[string]any{"inputs": inputs}}
	m, stamps, err := runPipeline(ctx, j, shape, cfg, true)
	if err != nil {
		return cold, warm, err
	}
	n := len(j.w.Tuples)
	if len(stamps) != 1+passes*n || stamps[0].state != "start" {
		return cold, warm, fmt.Errorf("%s output: %d lines, want the marker and %d x %d documents", shape, len(stamps), passes, n)
	}
	for i, s := range stamps[1:] {
		if s.state != "ok" {
			return cold, warm, fmt.Errorf("%s document %d of %d: %s, want every document fetched", shape, i+1, passes*n, s.state)
		}
		if i < n && s.cache == "hit" || i >= n && s.cache != "hit" {
			return cold, warm, fmt.Errorf("%s document %d of %d: f1_cache %q (the first pass must miss, the others hit)", shape, i+1, passes*n, s.cache)
		}
	}
	cold, warm = m, m
	cold.SpanNS, warm.SpanNS = 0, 0 // their wall times are the passes
	cold.WallNS = stamps[n].at - stamps[0].at
	cold.OK = countState(stamps[1:n+1], "ok")
	var walls []time.Duration
	shown := ""
	for p := 1; p < passes; p++ {
		walls = append(walls, time.Duration(stamps[(p+1)*n].at-stamps[p*n].at))
		shown += fmt.Sprintf(" %s", round(walls[p-1]))
	}
	warm.WallNS = int64(middle(walls, func(d time.Duration) time.Duration { return d }))
	warm.OK = countState(stamps[n+1:2*n+1], "ok")
	note := fmt.Sprintf("one process, passes timed inside it; CPU and RSS of the whole process (%.2f s, %d MB)", m.CPUS, m.RSSKB/1024)
	cold.Note, warm.Note = note, note+"; median of the warm passes"+shown
	return cold, warm, nil
}
