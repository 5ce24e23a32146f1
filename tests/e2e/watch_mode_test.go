package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/f1fetch/f1fetch/plugin/mirror/mirrortest"
)

// TestWatchModeRebuildClosesTheOldClient runs `f1fetch run -w` against the
// mirror and rewrites its config file twice: first with another
// max_concurrent_requests (a new client), then with an f1_fetch input that
// ends by itself while the process lives on. Each rebuild must close the
// replaced stream's client and its connection, the new stream must deliver
// every document, the logs must hold no error and, at the end, no goroutine
// of a client may be left.
func TestWatchModeRebuildClosesTheOldClient(t *testing.T) {
	start := time.Now()
	m := mirrortest.Start(t, mirrortest.SharedConfig(t))
	port := portOf(t, m)
	dir := t.TempDir()
	apiPort := freePort(t)
	cfg := filepath.Join(dir, "pipeline.yaml")
	out := func(name string) string { return filepath.Join(dir, name+".jsonl") }
	write := func(stream string) {
		t.Helper()
		if err := os.WriteFile(cfg, []byte(observability(apiPort)+stream), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(generatorStream("w1", "Qualifying", "ALO", 13, 1, m.URL, 4, out("w1")))
	d := startDaemon(t, apiPort, "run", "-w", cfg)
	pid := d.cmd.Process.Pid
	state := func() string {
		return fmt.Sprintf("mirror: %d connections accepted, %d open on its side, %d held by f1fetch\n%s",
			m.Counts().Connections, serverSideOpen(t, port), clientSideOpen(t, pid, port), d.logs())
	}
	w := watcher{t: t, m: m, port: port, pid: pid, state: state}
	wantDocs, conns := w.wantDocs, w.conns

	wantDocs(out("w1"), telKeys("ALO", 13))
	conns(1, 1, "v1 (processor, max_concurrent_requests 4) fetched")

	// v2: another max_concurrent_requests. The watcher stops v1 (its
	// client's only reference goes: the connection closes) and builds v2.
	rewrite := time.Now()
	write(generatorStream("w2", "Qualifying", "VER", 17, 1, m.URL, 8, out("w2")))
	wantDocs(out("w2"), telKeys("VER", 17))
	t.Logf("v2 delivered its 17 documents %s after the rewrite", time.Since(rewrite).Round(time.Millisecond))
	conns(2, 1, "v2 (processor, max_concurrent_requests 8) replaced v1")

	// v3: an f1_fetch input, which ends by itself; in watch mode the process
	// lives on, and the ended stream's client must close all the same.
	rewrite = time.Now()
	write(inputStream("Qualifying", "NOR", 20, m.URL, 4, out("w3")))
	wantDocs(out("w3"), telKeys("NOR", 20))
	t.Logf("v3 delivered its 20 documents %s after the rewrite", time.Since(rewrite).Round(time.Millisecond))
	conns(3, 0, "v3 (input, max_concurrent_requests 4) replaced v2 and ended")
	var left []string
	waitUntil(t, 10*time.Second, "no goroutine of a client or component of ours is left", func() bool {
		left = leftovers(d.goroutines(t))
		return len(left) == 0
	}, func() string { return strings.Join(left, "\n\n") })

	// Nothing delivered twice by a stream that should have stopped.
	for name, n := range map[string]int{"w1": 13, "w2": 17, "w3": 20} {
		if got := countLines(out(name)); got != n {
			t.Errorf("%s.jsonl: %d documents, want %d", name, got, n)
		}
	}
	if n := strings.Count(d.stdout.String(), "Main config updated"); n != 2 {
		t.Errorf("the log shows %d config updates, want 2:\n%s", n, d.logs())
	}
	c := m.Counts()
	if c.Total != 50 || c.ByStatus[200] != 50 {
		t.Errorf("the mirror answered %d requests (%v), want the 50 documents once each", c.Total, c.ByStatus)
	}
	if bad := d.errorLogLines(); len(bad) > 0 {
		t.Errorf("error or warning lines in the log:\n%s", strings.Join(bad, "\n"))
	}
	exit, err := d.stop(t, 10*time.Second)
	if err != nil {
		t.Errorf("f1fetch run -w exited with %v after SIGINT:\n%s", err, d.logs())
	}
	t.Logf("documents delivered 50 (v1 13, v2 17, v3 20); mirror: %d requests, %d connections accepted, all closed; exited 0 %s after SIGINT; test took %s",
		c.Total, c.Connections, exit.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
}
