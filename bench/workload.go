package main

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/f1fetch/f1fetch/plugin/tuple"
)

// The session every workload reads: the complete 2025 Australian GP
// Qualifying of shared/testdata/test, served as year 2025.
const (
	year       = 2025
	gp         = "Australian Grand Prix"
	sessionDir = "Qualifying"
)

// workload is a named list of tuples fetched in order.
type workload struct {
	Name   string
	Tuples []tuple.Tuple
	Bytes  int64 // sum of the file sizes on disk
}

// sessionFiles lists the session's files: telemetry (sorted by driver, then
// lap) and laptimes, with their sizes.
type sessionFiles struct {
	tel, laptimes []string
	size          map[string]int64
}

func readSession(testdata string) (sessionFiles, error) {
	root := filepath.Join(testdata, "test", gp, sessionDir)
	sf := sessionFiles{size: map[string]int64{}}
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		sf.size[rel] = info.Size()
		switch {
		case strings.HasSuffix(rel, "_tel.json"):
			sf.tel = append(sf.tel, rel)
		case strings.HasSuffix(rel, "/laptimes.json"):
			sf.laptimes = append(sf.laptimes, rel)
		}
		return nil
	})
	if err != nil {
		return sf, fmt.Errorf("session folder %s: %w", root, err)
	}
	sort.Slice(sf.tel, func(i, j int) bool { return telLess(sf.tel[i], sf.tel[j]) })
	sort.Strings(sf.laptimes)
	if len(sf.tel) == 0 || len(sf.laptimes) == 0 {
		return sf, fmt.Errorf("session folder %s: no telemetry or laptimes files", root)
	}
	return sf, nil
}

// telLess orders "VER/3_tel.json" by driver, then by lap number.
func telLess(a, b string) bool {
	da, la, _ := strings.Cut(a, "/")
	db, lb, _ := strings.Cut(b, "/")
	if da != db {
		return da < db
	}
	na, _ := strconv.Atoi(strings.TrimSuffix(la, "_tel.json"))
	nb, _ := strconv.Atoi(strings.TrimSuffix(lb, "_tel.json"))
	return na < nb
}

// workloads are the issue's: one file, 20 laptimes files, the whole
// session's telemetry and requests cycling over the telemetry. With
// nearKB > 0 the requests cycle over the telemetry files within 20% of that
// size only (the engine's target is stated for a 150 KB file).
func (sf sessionFiles) workloads(requests, nearKB, concurrency int) ([]workload, error) {
	median := append([]string(nil), sf.tel...)
	sort.Slice(median, func(i, j int) bool { return sf.size[median[i]] < sf.size[median[j]] })
	pool, name := sf.tel, fmt.Sprintf("requests_%d", requests)
	if nearKB > 0 {
		pool, name = nil, fmt.Sprintf("requests_%d_near%dKB", requests, nearKB)
		for _, p := range sf.tel {
			if kb := float64(sf.size[p]) / 1000; kb >= 0.8*float64(nearKB) && kb <= 1.2*float64(nearKB) {
				pool = append(pool, p)
			}
		}
		// FetchMany has about 4C tuples in progress (C in flight, 2C
		// waiting for a slot, up to C parsing): a cycle not well above that
		// puts one file in progress twice, and the engine coalesces the two
		// requests (measured: 72 files at C=20 saved 40% of them).
		if len(pool) <= 5*concurrency {
			return nil, fmt.Errorf("-requests-near %d: %d telemetry files within 20%%, want more than %d", nearKB, len(pool), 5*concurrency)
		}
	}
	cycle := make([]string, requests)
	for i := range cycle {
		cycle[i] = pool[i%len(pool)]
	}
	lists := []struct {
		name  string
		paths []string
	}{
		{"one_file", median[len(median)/2 : len(median)/2+1]},
		{"laptimes_20", sf.laptimes},
		{fmt.Sprintf("session_tel_%d", len(sf.tel)), sf.tel},
		{name, cycle},
	}
	var out []workload
	for _, l := range lists {
		w := workload{Name: l.name}
		for _, p := range l.paths {
			t, err := tuple.New(year, gp, sessionDir, p)
			if err != nil {
				return nil, fmt.Errorf("workload %s: %w", l.name, err)
			}
			w.Tuples = append(w.Tuples, t)
			w.Bytes += sf.size[p]
		}
		out = append(out, w)
	}
	return out, nil
}

// urls builds the mirror URL of every tuple through the engine's own URL
// builder, so every contender asks for exactly the same resources.
func (w workload) urls(base string) ([]string, error) {
	src, err := tuple.ParseSource(base)
	if err != nil {
		return nil, fmt.Errorf("base %q: %w", base, err)
	}
	out := make([]string, len(w.Tuples))
	for i, t := range w.Tuples {
		out[i] = src.URL(t, "main")
	}
	return out, nil
}
