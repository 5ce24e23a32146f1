package main

import (
	"context"
	"fmt"
)

// rerunPasses is the warm-cache rerun inside one f1fetch process, what a
// long-running pipeline sees when the same files are asked for again: a
// sequence of a marker message and two f1_fetch inputs with the same tuples
// and one cache_dir. The cold pass runs from the marker to the first pass's
// last document, the warm pass from there to the second pass's last one (so
// it includes closing the first input and opening the second). Process
// start and stop are in neither.
func rerunPasses(ctx context.Context, j job, cacheDir string) (cold, warm measurement, err error) {
	name := "rerun"
	in := engineFields(j, cacheDir)
	in["requests"] = j.w.Tuples
	outFile := outPath(j, name)
	m, stamps, err := runPipeline(ctx, j, name, map[string]any{
		"input": map[string]any{"sequence": map[string]any{"inputs": []any{
			map[string]any{"f1_fetch": in},
			map[string]any{"f1_fetch": in},
		}}},
		"pipeline": map[string]any{"threads": 1, "processors": []any{map[string]any{"mapping": stampMapping}}},
		"output":   map[string]any{"file": map[string]any{"path": outFile, "codec": "lines"}},
	}, true)
	if err != nil {
		return cold, warm, err
	}
	n := len(j.w.Tuples)
	if len(stamps) != 1+2*n || stamps[0].state != "start" {
		return cold, warm, fmt.Errorf("rerun output %s: %d lines, want the marker and 2 x %d documents", outFile, len(stamps), n)
	}
	for i, s := range stamps[1:] {
		if s.state == "ok" && (i < n && s.cache == "hit" || i >= n && s.cache != "hit") {
			return cold, warm, fmt.Errorf("rerun document %d of %d: f1_cache %q (the first pass must miss, the second hit)", i+1, 2*n, s.cache)
		}
	}
	cold, warm = m, m
	cold.SpanNS, warm.SpanNS = 0, 0 // their wall times are the passes
	cold.WallNS = stamps[n].at - stamps[0].at
	warm.WallNS = stamps[2*n].at - stamps[n].at
	cold.OK, warm.OK = countState(stamps[1:n+1], "ok"), countState(stamps[n+1:], "ok")
	note := fmt.Sprintf("one process, passes timed inside it; CPU and RSS of the whole process (%.2f s, %d MB)", m.CPUS, m.RSSKB/1024)
	cold.Note, warm.Note = note, note
	return cold, warm, nil
}
