// Package testkit holds the few helpers that tests of several f1fetch
// packages need alike. It imports no f1fetch package, so the tests of any
// package can use it without an import cycle.
package testkit

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"
)

// LogBuffer is a log sink that loggers and servers write from their own
// goroutines while the test reads it; a bare bytes.Buffer would race.
// The zero value is ready to use.
type LogBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *LogBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns everything written so far.
func (b *LogBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// WaitFor waits up to within for the log to contain want, because a server
// may log a request only after the client has its answer. If want never
// appears, it reports an error on t, with the whole log, and the test goes on.
func (b *LogBuffer) WaitFor(t testing.TB, want string, within time.Duration) {
	t.Helper()
	for deadline := time.Now().Add(within); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if strings.Contains(b.String(), want) {
			return
		}
	}
	t.Errorf("log lacks %q after %v:\n%s", want, within, b.String())
}
