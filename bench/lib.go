package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"runtime"
	"time"

	"github.com/f1fetch/f1fetch/config"
	"github.com/f1fetch/f1fetch/plugin/fetch"
	"github.com/f1fetch/f1fetch/plugin/tuple"
)

// libReport is what the fetchlib child prints: the cold FetchMany (network,
// parse, validate; no cache) and the warm one (memory cache hits).
type libReport struct {
	OK           int     `json:"ok"`
	ColdNS       int64   `json:"cold_ns"`
	WarmNS       int64   `json:"warm_ns"`
	AllocsPerReq float64 `json:"allocs_per_req"`
	BytesPerReq  float64 `json:"alloc_bytes_per_req"`
}

// fetchLib is the child mode `bench fetchlib`: the engine used as a Go
// library, one Client, FetchMany of every tuple twice.
func fetchLib(args []string) error {
	fs := flag.NewFlagSet("fetchlib", flag.ContinueOnError)
	base := fs.String("base", "", "mirror URL")
	file := fs.String("tuples", "", "file of JSON tuples, one per line")
	conc := fs.Int("c", 20, "max_concurrent_requests")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ts, err := readTuples(*file)
	if err != nil {
		return err
	}
	// Cold: no cache at all, as the other contenders. Warm: a cached
	// client's second pass.
	c, err := libClient(*base, *conc, false)
	if err != nil {
		return err
	}
	defer c.Close()
	cached, err := libClient(*base, *conc, true)
	if err != nil {
		return err
	}
	defer cached.Close()
	var r libReport
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	cold := c.FetchMany(context.Background(), ts)
	r.ColdNS = int64(time.Since(start))
	runtime.ReadMemStats(&after)
	r.AllocsPerReq = float64(after.Mallocs-before.Mallocs) / float64(len(ts))
	r.BytesPerReq = float64(after.TotalAlloc-before.TotalAlloc) / float64(len(ts))
	for _, res := range cold {
		if res.Err == nil {
			r.OK++
		}
	}
	cached.FetchMany(context.Background(), ts)
	start = time.Now()
	warm := cached.FetchMany(context.Background(), ts)
	r.WarmNS = int64(time.Since(start))
	for i, res := range warm {
		if res.Err != nil || res.Cache != fetch.CacheHit && cold[i].Err == nil {
			return fmt.Errorf("warm fetch of %s: cache %q, error %v", ts[i], res.Cache, res.Err)
		}
	}
	return json.NewEncoder(os.Stdout).Encode(r)
}

// libClient is a client with the defaults, pointed at base, with the
// memory cache on or off.
func libClient(base string, concurrency int, cache bool) (*fetch.Client, error) {
	s := config.Defaults()
	s.BaseURLs = []string{base}
	s.MaxConcurrent = concurrency
	s.UseCache, s.WriteCache = cache, cache
	return fetch.New(s, nil)
}

func readTuples(path string) ([]tuple.Tuple, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("tuples file: %w", err)
	}
	defer f.Close()
	var ts []tuple.Tuple
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		t, err := tuple.Parse(sc.Bytes())
		if err != nil {
			return nil, fmt.Errorf("tuples file %s line %d: %w", path, len(ts)+1, err)
		}
		ts = append(ts, t)
	}
	return ts, sc.Err()
}
