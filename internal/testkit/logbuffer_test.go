package testkit

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestLogBufferConcurrentWrites writes and reads from many goroutines: under
// -race an unguarded buffer fails, and a lost or torn write shows in the count.
func TestLogBufferConcurrentWrites(t *testing.T) {
	const writers, lines = 8, 200
	var log LogBuffer
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range lines {
				fmt.Fprintf(&log, "writer %d line %d\n", w, i)
				_ = log.String()
			}
		}()
	}
	wg.Wait()
	got := strings.Split(strings.TrimSuffix(log.String(), "\n"), "\n")
	if len(got) != writers*lines {
		t.Fatalf("%d lines, want %d", len(got), writers*lines)
	}
	for _, l := range got {
		var w, i int
		if n, err := fmt.Sscanf(l, "writer %d line %d", &w, &i); n != 2 || err != nil {
			t.Fatalf("torn line %q", l)
		}
	}
}

// errorRecorder is a testing.TB that keeps the errors, fatal errors and
// skips reported on it instead of acting on them, so that a helper's
// failures can be checked. Unlike the real ones, its Fatalf and Skipf return.
type errorRecorder struct {
	testing.TB
	errors, fatals, skips []string
}

func (r *errorRecorder) Helper() {}

func (r *errorRecorder) Errorf(format string, args ...any) {
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}

func (r *errorRecorder) Fatalf(format string, args ...any) {
	r.fatals = append(r.fatals, fmt.Sprintf(format, args...))
}

func (r *errorRecorder) Skipf(format string, args ...any) {
	r.skips = append(r.skips, fmt.Sprintf(format, args...))
}

func TestWaitForSeesALateWrite(t *testing.T) {
	var log LogBuffer
	go func() {
		time.Sleep(50 * time.Millisecond)
		log.Write([]byte(`GET "/a.json" 200` + "\n"))
	}()
	rec := &errorRecorder{TB: t}
	log.WaitFor(rec, `"/a.json" 200`, 5*time.Second)
	if len(rec.errors) != 0 {
		t.Fatalf("WaitFor reported %q for a line written after 50 ms", rec.errors)
	}
}

func TestWaitForReportsMissingText(t *testing.T) {
	var log LogBuffer
	log.Write([]byte("something else\n"))
	rec := &errorRecorder{TB: t}
	start := time.Now()
	log.WaitFor(rec, "never written", 50*time.Millisecond)
	if waited := time.Since(start); waited < 50*time.Millisecond {
		t.Errorf("WaitFor gave up after %v, want at least 50ms", waited)
	}
	if len(rec.errors) != 1 || !strings.Contains(rec.errors[0], `"never written"`) || !strings.Contains(rec.errors[0], "something else") {
		t.Fatalf("errors %q, want one naming the text wanted and showing the log", rec.errors)
	}
}
