package e2e

// A stream whose creation fails after an f1_fetch component of it was
// built (Benthos builds input, processors, output in turn and closes none of
// them when a later one fails) holds no client: the components acquire
// their shared client on first use. Before, the failed stream's reference
// was never released: once every stream was deleted, the client's HTTP/2
// connection, its read loop and the memory tier's sweeper stayed for good.

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/f1fetch/f1fetch/plugin/mirror/mirrortest"
)

func TestFailedStreamCreateHoldsNoClient(t *testing.T) {
	m := mirrortest.Start(t, mirrortest.SharedConfig(t))
	port := portOf(t, m)
	dir := t.TempDir()
	d := startStreamsMode(t, dir)
	pid := d.cmd.Process.Pid
	out := func(name string) string { return filepath.Join(dir, name+".jsonl") }
	state := func() string {
		return fmt.Sprintf("mirror: %d connections accepted, %d open on its side, %d held by f1fetch\n%s",
			m.Counts().Connections, serverSideOpen(t, port), clientSideOpen(t, pid, port), d.logs())
	}

	// A stream that passes lint but fails to build: its output names a
	// resource that does not exist (a typo, or one not created yet). Its
	// f1_fetch processor (settings A) was built before the output failed.
	good := generatorStream("bad", "Qualifying", "ALO", 3, 1, m.URL, 4, out("bad"))
	bad := strings.Replace(good, "output:\n  file:\n    path: "+fmt.Sprintf("%q", out("bad"))+"\n    codec: lines\n", "output:\n  resource: nope\n", 1)
	if bad == good {
		t.Fatal("test setup: the output was not replaced")
	}
	code, body := d.call(t, "POST", "/streams/bad", bad)
	t.Logf("POST /streams/bad: %d %s", code, strings.TrimSpace(body))
	if code == 200 {
		t.Fatalf("the broken stream was created")
	}

	// A good stream with the same settings fetches, then is deleted: with
	// it, the last live user of settings A is gone.
	d.mustCall(t, "POST", "/streams/good", generatorStream("good", "Qualifying", "VER", 5, 1, m.URL, 4, out("good")))
	waitUntil(t, 15*time.Second, "good delivered its 5 documents", func() bool { return countLines(out("good")) >= 5 }, state)
	d.mustCall(t, "DELETE", "/streams/good", "")
	if _, streams := d.call(t, "GET", "/streams", ""); strings.TrimSpace(streams) != "{}" {
		t.Fatalf("streams left: %s", streams)
	}

	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) && (serverSideOpen(t, port) > 0 || clientSideOpen(t, pid, port) > 0) {
		time.Sleep(20 * time.Millisecond)
	}
	left := leftovers(d.goroutines(t))
	t.Logf("5 s after deleting every stream: mirror accepted %d connections, %d still open on its side, %d held by f1fetch; %d goroutines of a client left",
		m.Counts().Connections, serverSideOpen(t, port), clientSideOpen(t, pid, port), len(left))
	if serverSideOpen(t, port) > 0 || clientSideOpen(t, pid, port) > 0 || len(left) > 0 {
		t.Errorf("no stream is left, yet the client of settings A is alive:\n%s", strings.Join(left, "\n\n"))
	}
}
