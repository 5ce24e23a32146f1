package e2e

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestDemo runs `f1fetch demo`, the offline main job, as `make demo` does.
func TestDemo(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "demo.db")
	r := ok(t, cmd{args: []string{"demo", "--db", db}, timeout: 60 * time.Second})
	if r.elapsed >= time.Minute {
		t.Fatalf("demo took %s, want under a minute", r.elapsed)
	}

	want := sessionRows(t, bundledRace(t))
	for table, n := range want {
		if !strings.Contains(r.stdout, fmt.Sprintf("\n%-14s %8d\n", table, n)) {
			t.Errorf("summary does not show %d rows for %s", n, table)
		}
	}
	// The fastest driver of the race tops the fastest-lap table.
	best, bestDriver, bestLap := math.Inf(1), "", 0
	for _, d := range driverCodes(t, filepath.Join(bundledRace(t), "drivers.json")) {
		if lap, s := fastestLap(t, filepath.Join(bundledRace(t), d, "laptimes.json")); lap > 0 && s < best {
			best, bestDriver, bestLap = s, d, lap
		}
	}
	ms := int(math.Round(best * 1000))
	first := regexp.MustCompile(fmt.Sprintf(`(?m)^1\s+%s\s+%d\s+%d:%02d\.%03d$`, bestDriver, bestLap, ms/60000, ms/1000%60, ms%1000))
	if !strings.Contains(r.stdout, "fastest lap per driver") || !first.MatchString(r.stdout) {
		t.Errorf("summary does not rank %s first (lap %d, %.3f s): want a line matching %s", bestDriver, bestLap, best, first)
	}
	if !strings.Contains(r.stdout, "wall time") {
		t.Errorf("summary has no wall time")
	}
	if _, err := os.Stat(db); err != nil {
		t.Errorf("the SQLite file: %v", err)
	}
	if _, err := os.Stat(db + ".errors.jsonl"); err == nil {
		t.Errorf("the demo rejected messages: see %s.errors.jsonl", db)
	}
	if t.Failed() {
		t.Log(r)
	}
	if left := processesOf(t, binary); len(left) > 0 {
		t.Fatalf("processes of %s still running after the demo: %v", binary, left)
	}
}

// processesOf lists the running processes whose executable is path.
func processesOf(t *testing.T, path string) []string {
	t.Helper()
	procs, err := filepath.Glob("/proc/[0-9]*/exe")
	if err != nil || len(procs) == 0 {
		t.Fatalf("cannot list processes from /proc: %v", err)
	}
	var found []string
	for _, exe := range procs {
		if target, err := os.Readlink(exe); err == nil && target == path {
			found = append(found, filepath.Base(filepath.Dir(exe)))
		}
	}
	return found
}
