package main

import (
	"context"
	"fmt"
	"sort"
	"time"
)

// warmPasses is how many warm passes the one-process rerun makes; the
// median is reported, as a pass of 30-50 ms varies with the shared host's
// load by more than the cold pass of 0.2-1 s does.
const warmPasses = 3

// rerunPasses is the warm-cache rerun inside one f1fetch process, what a
// long-running pipeline sees when the same files are asked for again: a
// sequence of a marker message and 1+warmPasses f1_fetch inputs with the same
// tuples and one cache_dir, each input with a client of its own (the one
// before released the shared client). The cold pass runs from the marker to
// the first input's last document, each warm pass from the last document of
// the input before to its own last one (so it includes closing one input
// and opening the next). Process start and stop are in none of them.
func rerunPasses(ctx context.Context, j job, cacheDir string) (cold, warm measurement, err error) {
	name := "rerun"
	in := engineFields(j, cacheDir)
	in["requests"] = j.w.Tuples
	inputs := []any{}
	for range 1 + warmPasses {
		inputs = append(inputs, map[string]any{"f1_fetch": in})
	}
	outFile := outPath(j, name)
	m, stamps, err := runPipeline(ctx, j, name, map[string]any{
		"input":    map[string]any{"sequence": map[string]any{"inputs": inputs}},
		"pipeline": map[string]any{"threads": 1, "processors": []any{map[string]any{"mapping": stampMapping}}},
		"output":   map[string]any{"file": map[string]any{"path": outFile, "codec": "lines"}},
	}, true)
	if err != nil {
		return cold, warm, err
	}
	n, passes := len(j.w.Tuples), 1+warmPasses
	if len(stamps) != 1+passes*n || stamps[0].state != "start" {
		return cold, warm, fmt.Errorf("rerun output %s: %d lines, want the marker and %d x %d documents", outFile, len(stamps), passes, n)
	}
	for i, s := range stamps[1:] {
		if s.state == "ok" && (i < n && s.cache == "hit" || i >= n && s.cache != "hit") {
			return cold, warm, fmt.Errorf("rerun document %d of %d: f1_cache %q (the first pass must miss, the others hit)", i+1, passes*n, s.cache)
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
	sort.Slice(walls, func(a, b int) bool { return walls[a] < walls[b] })
	warm.WallNS = int64(walls[len(walls)/2])
	warm.OK = countState(stamps[n+1:2*n+1], "ok")
	note := fmt.Sprintf("one process, passes timed inside it; CPU and RSS of the whole process (%.2f s, %d MB)", m.CPUS, m.RSSKB/1024)
	cold.Note, warm.Note = note, note+"; median of the warm passes"+shown
	return cold, warm, nil
}
