package main

import (
	"cmp"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// readFloor is the child mode `bench readfloor`: a process that only
// reads every record under -dir (not its dot files) into heap memory,
// -parallel at a time, and drops each (no Benthos, no decoding, no output),
// -passes times. A warm rerun that reads cache_dir cannot be faster than
// this, so the bench puts it beside that rerun: the cache's own cost is the
// difference. With one pass, the memory is fresh, as for a new process's
// rerun; with more, the passes after the first read into a heap that has
// held the files before, as a rerun inside a process that read them does.
// It prints the nanoseconds from the first open to the last read of the
// only pass, or the median of the passes after the first.
func readFloor(args []string) error {
	fset := flag.NewFlagSet("readfloor", flag.ContinueOnError)
	dir := fset.String("dir", "", "directory whose files are read (a cache_dir)")
	parallel := fset.Int("parallel", 1, "files read at once")
	passes := fset.Int("passes", 1, "times every file is read")
	if err := fset.Parse(args); err != nil {
		return err
	}
	if *dir == "" || *parallel < 1 || *passes < 1 {
		return fmt.Errorf("-dir %q -parallel %d -passes %d: want a directory and at least 1 of each", *dir, *parallel, *passes)
	}
	var files []string
	err := filepath.WalkDir(*dir, func(p string, d fs.DirEntry, err error) error {
		// The records only: cache_dir's dot files (the sweep's stamp,
		// a write's temporary file) are no documents of the rerun.
		if err == nil && d.Type().IsRegular() && !strings.HasPrefix(d.Name(), ".") {
			files = append(files, p)
		}
		return err
	})
	if err != nil {
		return err
	}
	var took []time.Duration
	for range *passes {
		d, err := readEvery(files, *parallel)
		if err != nil {
			return err
		}
		took = append(took, d)
	}
	if len(took) > 1 {
		took = took[1:]
	}
	fmt.Println(middle(took, func(d time.Duration) time.Duration { return d }).Nanoseconds(), len(files))
	return nil
}

// readEvery reads files, parallel at a time, and drops what it read: the
// time from the first open to the last read, or the first failure.
func readEvery(files []string, parallel int) (time.Duration, error) {
	start := time.Now()
	work := make(chan string)
	var mu sync.Mutex
	var firstErr error
	var wg sync.WaitGroup
	for range parallel {
		wg.Go(func() {
			for f := range work {
				if _, err := os.ReadFile(f); err != nil {
					mu.Lock()
					firstErr = cmp.Or(firstErr, err)
					mu.Unlock()
				}
			}
		})
	}
	for _, f := range files {
		work <- f
	}
	close(work)
	wg.Wait()
	return time.Since(start), firstErr
}
