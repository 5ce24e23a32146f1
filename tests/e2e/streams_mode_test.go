package e2e

import (
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/f1fetch/f1fetch/plugin/mirror"
	"github.com/f1fetch/f1fetch/plugin/mirror/mirrortest"
)

// observability is the daemons' config: the HTTP server (streams API,
// /debug/pprof) on a given loopback port, logs in logfmt on stdout.
func observability(port int) string {
	return fmt.Sprintf("http:\n  address: 127.0.0.1:%d\n  debug_endpoints: true\nlogger:\n  level: INFO\n  format: logfmt\n", port)
}

// generatorStream fetches laps 1..laps of driver (2025 Australian GP
// telemetry of session) with an f1_fetch processor, one tuple every 20 ms,
// into out; then it stays alive, emitting nothing, until it is deleted or
// replaced, so its processors hold their client as long as the stream lives.
func generatorStream(counter, session, driver string, laps, threads int, base string, maxConcurrent int, out string) string {
	return fmt.Sprintf(`input:
  generate:
    interval: 20ms
    mapping: |
      let n = count(%q)
      root = if $n <= %d { [2025, "Australian Grand Prix", %q, "%s/%%d_tel.json".format($n)] } else { deleted() }
pipeline:
  threads: %d
  processors:
    - f1_fetch:
        base_urls: [ %q ]
        max_concurrent_requests: %d
output:
  file:
    path: %q
    codec: lines
`, counter, laps, session, driver, threads, base, maxConcurrent, out)
}

// inputStream fetches laps 1..laps of driver in session with the f1_fetch
// input into out; the stream ends when every document is delivered.
func inputStream(session, driver string, laps int, base string, maxConcurrent int, out string) string {
	var reqs []string
	for lap := 1; lap <= laps; lap++ {
		reqs = append(reqs, fmt.Sprintf(`{"year": 2025, "gp": %q, "session": %q, "path": "%s/%d_tel.json"}`, gpAUS, session, driver, lap))
	}
	return fmt.Sprintf(`input:
  f1_fetch:
    base_urls: [ %q ]
    max_concurrent_requests: %d
    requests: [ %s ]
output:
  file:
    path: %q
    codec: lines
`, base, maxConcurrent, strings.Join(reqs, ", "), out)
}

// TestStreamsModeRebuildsLeaveNothingBehind runs `f1fetch streams` against
// the mirror and drives it through the streams API: streams with f1_fetch
// processors and inputs, of equal settings (one shared client) and of
// different ones, created, updated (same and changed settings) and deleted,
// one of them in the middle of its fetches. It checks the connections the
// mirror sees (one per client, closed when the client's last component
// closes, none left at the end), every document delivered once, no error in
// the logs and no goroutine of a client left in the process.
func TestStreamsModeRebuildsLeaveNothingBehind(t *testing.T) {
	start := time.Now()
	m := mirrortest.Start(t, mirrortest.SharedConfig(t))
	port := portOf(t, m)
	dir := t.TempDir()
	d := startStreamsMode(t, dir)
	pid := d.cmd.Process.Pid
	out := func(name string) string { return filepath.Join(dir, name+".jsonl") }
	state := func() string {
		code, streams := d.call(t, "GET", "/streams", "")
		return fmt.Sprintf("mirror: %d connections accepted, %d open on its side, %d held by f1fetch; streams (%d): %s\n%s",
			m.Counts().Connections, serverSideOpen(t, port), clientSideOpen(t, pid, port), code, streams, d.logs())
	}
	w := watcher{t: t, m: m, port: port, pid: pid, state: state}
	wantDocs, conns := w.wantDocs, w.conns
	base := m.URL
	docsTotal := 0

	// Settings A (max_concurrent_requests 4): two processor streams, one
	// of them on two pipeline threads. Settings B (8): a third. Two
	// clients, so two connections.
	d.mustCall(t, "POST", "/streams/alo", generatorStream("alo", "Qualifying", "ALO", 13, 1, base, 4, out("alo")))
	d.mustCall(t, "POST", "/streams/ver", generatorStream("ver", "Qualifying", "VER", 17, 2, base, 4, out("ver")))
	d.mustCall(t, "POST", "/streams/ham", generatorStream("ham", "Qualifying", "HAM", 22, 1, base, 8, out("ham")))
	wantDocs(out("alo"), telKeys("ALO", 13))
	wantDocs(out("ver"), telKeys("VER", 17))
	wantDocs(out("ham"), telKeys("HAM", 22))
	docsTotal += 13 + 17 + 22
	conns(2, 2, "alo, ver (settings A) and ham (settings B) created")
	if live := leftovers(d.goroutines(t)); len(live) == 0 {
		t.Fatalf("the goroutine dump shows no client goroutine while two clients live: the leak check below would prove nothing")
	}

	// An f1_fetch input with settings A joins the live client: 20 more
	// documents, no new connection. The stream ends by itself and its input
	// releases its reference, which must not close the client the two
	// other streams of A still hold.
	d.mustCall(t, "POST", "/streams/nor", inputStream("Qualifying", "NOR", 20, base, 4, out("nor")))
	wantDocs(out("nor"), telKeys("NOR", 20))
	docsTotal += 20
	waitUntil(t, 10*time.Second, "the nor stream has ended", func() bool {
		_, body := d.call(t, "GET", "/streams/nor", "")
		return strings.Contains(body, `"active":false`)
	}, state)
	conns(2, 2, "nor (an input of settings A) fetched and ended")

	// Update alo, keeping settings A: the stream is closed and built again;
	// ver holds the client, so the same connection serves the new stream.
	d.mustCall(t, "PUT", "/streams/alo", generatorStream("lec", "Qualifying", "LEC", 20, 1, base, 4, out("lec")))
	wantDocs(out("lec"), telKeys("LEC", 20))
	docsTotal += 20
	conns(2, 2, "alo updated with the same settings (LEC laps)")

	// Update ham to settings C (6): its old client's last reference goes,
	// the client closes its connection and the new one opens its own.
	d.mustCall(t, "PUT", "/streams/ham", generatorStream("gas", "Qualifying", "GAS", 20, 1, base, 6, out("gas")))
	wantDocs(out("gas"), telKeys("GAS", 20))
	docsTotal += 20
	conns(3, 2, "ham updated to settings C (GAS laps)")

	// A stream deleted while its fetches are in flight, and a live stream
	// of the same settings waiting on them: an f1_fetch input (settings D,
	// 2 in flight) on files the mirror answers after 3 s, then a processor
	// stream of settings D asking one of the same files, which joins the
	// fetch in flight instead of sending a request: deleting slow must
	// neither close the client nor cancel the fetch join waits on.
	race := "/2025@main/" + gpAUS + "/Race/"
	m.SetFaults(mirror.Faults{Rules: []mirror.Rule{{PathPrefix: race, LatencyMS: 3000}}})
	d.mustCall(t, "POST", "/streams/slow", inputStream("Race", "ALO", 20, base, 2, out("slow")))
	waitUntil(t, 10*time.Second, "the slow stream's 2 fetches are in flight", func() bool { return m.Counts().InFlight >= 2 }, state)
	d.mustCall(t, "POST", "/streams/join", generatorStream("join", "Race", "ALO", 1, 1, base, 2, out("join")))
	// join's processor is waiting in the client's coalescing (a FetchMany
	// goroutine in flights.do) before slow goes.
	waitUntil(t, 10*time.Second, "join's fetch of ALO/1_tel.json waits in the client", func() bool {
		for _, g := range strings.Split(d.goroutines(t), "\n\n") {
			if strings.Contains(g, "fetch.(*flights).do(") && strings.Contains(g, "fetch.(*Client).FetchMany.func") {
				return true
			}
		}
		return false
	}, state, func() string { return d.goroutines(t) })
	conns(4, 3, "slow and join (settings D) fetching, join waiting on slow's fetch")
	answered := m.Counts().ByStatus[200] - int64(docsTotal) // Race files answered before slow goes: none unless the machine stalled 3 s
	took := d.mustCall(t, "DELETE", "/streams/slow", "")
	t.Logf("slow deleted with its fetches in flight in %s", took.Round(time.Millisecond))
	if took > 2*time.Second {
		t.Errorf("deleting a stream whose fetches are in flight took %s, want it to cancel them at once", took.Round(time.Millisecond))
	}
	// The live stream's fetch goes on: one request for the file, answered.
	wantDocs(out("join"), []string{fmt.Sprintf("2025-%s-Race-ALO-1", gpAUS)})
	docsTotal++
	if n := countLines(out("slow")); n != 0 && answered == 0 {
		t.Errorf("the slow stream delivered %d documents, want none (deleted before the mirror answered)", n)
	}
	lap1 := m.Counts().ByPath[race+"ALO/1_tel.json"]
	if lap1[200] != 1 || len(lap1) != 1 {
		t.Errorf("requests of Race ALO/1_tel.json by status: %v, want one answered 200 (join joined slow's fetch, which outlived slow)", lap1)
	}
	d.mustCall(t, "DELETE", "/streams/join", "")
	conns(4, 2, "slow deleted mid-fetch, then join")

	// A processor stream deleted while its batch is in flight, with a
	// shutdown timeout shorter than the mirror's answer (settings E).
	d.mustCall(t, "POST", "/streams/stuck", generatorStream("stuck", "Race", "ALO", 1, 1, base, 3, out("stuck")))
	waitUntil(t, 10*time.Second, "stuck's fetch is in flight", func() bool { return m.Counts().InFlight >= 1 }, state)
	conns(5, 3, "stuck (settings E) fetching")
	took = d.mustCall(t, "DELETE", "/streams/stuck?timeout=500ms", "")
	t.Logf("stuck deleted with its batch in flight in %s", took.Round(time.Millisecond))
	conns(5, 2, "stuck deleted mid-batch")

	// Delete everything: every client's last component closes, so no
	// connection is left on either side and no goroutine of ours.
	for _, id := range []string{"alo", "ver", "ham", "nor"} {
		took := d.mustCall(t, "DELETE", "/streams/"+id, "")
		t.Logf("stream %s deleted in %s", id, took.Round(time.Millisecond))
	}
	if code, body := d.call(t, "GET", "/streams", ""); code != 200 || strings.TrimSpace(body) != "{}" {
		t.Fatalf("streams left after deleting all: %d %s", code, body)
	}
	conns(5, 0, "every stream deleted")
	var left []string
	waitUntil(t, 10*time.Second, "no goroutine of a client or component of ours is left", func() bool {
		left = leftovers(d.goroutines(t))
		return len(left) == 0
	}, func() string { return strings.Join(left, "\n\n") })

	// Each document was requested once, from the client's cache afterwards.
	c := m.Counts()
	qualifying := 0
	for path, byStatus := range c.ByPath {
		if strings.HasPrefix(path, "/2025@main/"+gpAUS+"/Qualifying/") {
			qualifying++
			if byStatus[200] != 1 || len(byStatus) != 1 {
				t.Errorf("%s: requests by status %v, want one answered 200", path, byStatus)
			}
		}
	}
	if qualifying != docsTotal-1 {
		t.Errorf("the mirror served %d Qualifying files, want the %d delivered", qualifying, docsTotal-1)
	}
	if bad := d.errorLogLines(); len(bad) > 0 {
		t.Errorf("error or warning lines in the log:\n%s", strings.Join(bad, "\n"))
	}
	t.Logf("documents delivered %d (alo 13, ver 17, ham 22, nor 20, lec 20, gas 20, join 1; slow %d, stuck %d); mirror: %d requests (%d answered 200, %d abandoned by the deleted streams), %d connections accepted, all closed",
		docsTotal, countLines(out("slow")), countLines(out("stuck")), c.Total, c.ByStatus[200], c.ByStatus[mirror.StatusReset], c.Connections)

	exit, err := d.stop(t, 10*time.Second)
	if err != nil {
		t.Errorf("f1fetch streams exited with %v after SIGINT:\n%s", err, d.logs())
	}
	t.Logf("f1fetch streams exited 0 %s after SIGINT; test took %s", exit.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
}

// portOf is the TCP port of the in-process mirror.
func portOf(t *testing.T, m *mirrortest.Mirror) int {
	t.Helper()
	tcp, ok := m.Addr.(*net.TCPAddr)
	if !ok {
		t.Fatalf("mirror address %v is not TCP", m.Addr)
	}
	return tcp.Port
}
