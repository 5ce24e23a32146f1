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

// readFloor is the child mode `bench readfloor`: a new process that only
// reads every record under -dir (not its dot files) into fresh heap
// memory, -parallel at a time, and drops each (no Benthos, no decoding, no
// output). A warm rerun that
// reads cache_dir in a new process cannot be faster than this, so the bench
// puts it beside that rerun: the cache's own cost is the difference. It
// prints the nanoseconds from the first open to the last read.
func readFloor(args []string) error {
	fset := flag.NewFlagSet("readfloor", flag.ContinueOnError)
	dir := fset.String("dir", "", "directory whose files are read (a cache_dir)")
	parallel := fset.Int("parallel", 1, "files read at once")
	if err := fset.Parse(args); err != nil {
		return err
	}
	if *dir == "" || *parallel < 1 {
		return fmt.Errorf("-dir %q -parallel %d: want a directory and at least 1", *dir, *parallel)
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
	start := time.Now()
	work := make(chan string)
	var mu sync.Mutex
	var firstErr error
	var wg sync.WaitGroup
	for range *parallel {
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
	took := time.Since(start)
	if firstErr != nil {
		return firstErr
	}
	fmt.Println(took.Nanoseconds(), len(files))
	return nil
}
