package scaleout

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/f1fetch/f1fetch/plugin/mirror"
	"github.com/f1fetch/f1fetch/plugin/mirror/mirrortest"
	"github.com/f1fetch/f1fetch/plugin/payload"
)

const (
	gp                = "Australian Grand Prix"
	requestPartitions = 6
)

// fetcher is a worker with its own mirror, so that what the mirror served
// is what that worker fetched.
type fetcher struct {
	*worker
	mirror *mirrortest.Mirror
}

// startFetchers runs n tuples_kafka_to_kafka workers in one group, named
// worker-0.., each against its own mirror of the shared corpus with faults.
func startFetchers(t *testing.T, c *kfake.Cluster, n int, faults mirror.Faults, env ...string) []fetcher {
	t.Helper()
	fs := make([]fetcher, n)
	for i := range fs {
		cfg := mirrortest.SharedConfig(t)
		cfg.Faults = faults
		m := mirrortest.Start(t, cfg)
		name := fmt.Sprintf("worker-%d", i)
		fs[i] = fetcher{mirror: m, worker: startWorker(t, name, "tuples_kafka_to_kafka.yaml", append([]string{
			"KAFKA_BROKERS=" + strings.Join(c.ListenAddrs(), ","),
			"F1_CLIENT_ID=" + name,
			"F1FETCH_BASE_URLS=" + m.URL,
		}, env...)...)}
	}
	return fs
}

func workersOf(fs []fetcher) []*worker {
	ws := make([]*worker, len(fs))
	for i, f := range fs {
		ws[i] = f.worker
	}
	return ws
}

// waitBalanced waits until the group is stable with every fetcher owning
// partitions of the requests topic, and returns who owns which.
func waitBalanced(t *testing.T, admin *kgo.Client, fs []fetcher) map[string][]int32 {
	t.Helper()
	var owned map[string][]int32
	eventually(t, 30*time.Second,
		func() string {
			return fmt.Sprintf("group %s not balanced over %d workers: %v", workerGroup, len(fs), owned)
		},
		func() bool {
			owned = groupAssignment(t, admin, workerGroup, requestsTopic)
			n := 0
			for _, f := range fs {
				if len(owned[f.name]) == 0 {
					return false
				}
				n += len(owned[f.name])
			}
			return len(owned) == len(fs) && n == requestPartitions
		}, workersOf(fs)...)
	return owned
}

// tuplesOf is one request tuple per file, in path order.
func tuplesOf(t *testing.T, session string, files map[string][]byte) [][]byte {
	t.Helper()
	var out [][]byte
	for _, path := range slices.Sorted(maps.Keys(files)) {
		b, err := json.Marshal(map[string]any{"year": 2025, "gp": gp, "session": session, "path": path})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

// checkDocuments reads the documents topic and checks that it holds the
// document of every file and nothing else: keyed year/gp/session/path, with
// the f1_* headers, the body being the corpus file as f1_fetch normalises it.
// Copies (at least once) must be identical; it returns how many there are.
func checkDocuments(t *testing.T, c *kfake.Cluster, session string, files map[string][]byte) (duplicates int) {
	t.Helper()
	seen := map[string][]byte{}
	for _, r := range readAll(t, c, docsTopic) {
		path, _ := header(r, "f1_path")
		wantKey := fmt.Sprintf("2025/%s/%s/%s", gp, session, path)
		if string(r.Key) != wantKey {
			t.Errorf("document at %s/%d@%d: key %q, want %q", r.Topic, r.Partition, r.Offset, r.Key, wantKey)
		}
		for k, want := range map[string]string{"f1_year": "2025", "f1_gp": gp, "f1_session": session, "f1_kind": string(payload.KindOf(path)), "f1_status": "200"} {
			if got, _ := header(r, k); got != want {
				t.Errorf("document %s: header %s = %q, want %q", path, k, got, want)
			}
		}
		if prev, ok := seen[path]; ok {
			duplicates++
			if !bytes.Equal(prev, r.Value) {
				t.Errorf("document %s written twice with different bodies (%d and %d bytes)", path, len(prev), len(r.Value))
			}
			continue
		}
		seen[path] = r.Value
	}
	var missing []string
	for _, path := range slices.Sorted(maps.Keys(files)) {
		doc, ok := seen[path]
		if !ok {
			missing = append(missing, path)
			continue
		}
		want, err := payload.Decode(path, files[path], payload.Options{Validate: true, NormalizeMissing: true})
		if err != nil {
			t.Fatalf("decode corpus file %s: %v", path, err)
		}
		if !bytes.Equal(doc, want) {
			t.Errorf("document %s: %d bytes differ from the normalised corpus file (%d bytes)", path, len(doc), len(want))
		}
	}
	if len(missing) > 0 {
		t.Errorf("%d of %d documents missing, e.g. %q", len(missing), len(files), missing[:min(5, len(missing))])
	}
	for path := range seen {
		if _, ok := files[path]; !ok {
			t.Errorf("document %s is not a file of the session", path)
		}
	}
	return duplicates
}

// progress says how far the workers got, for a failure message.
func progress(t *testing.T, admin *kgo.Client, fs []fetcher) func() string {
	return func() string {
		var fetched []int64
		for _, f := range fs {
			fetched = append(fetched, f.mirror.Counts().Total)
		}
		return fmt.Sprintf("the group never committed every request: fetched %v, records: requests %d, documents %d, dead letters %d; assignment %v",
			fetched, total(endOffsets(t, admin, requestsTopic)), total(endOffsets(t, admin, docsTopic)), total(endOffsets(t, admin, deadTopic)),
			groupAssignment(t, admin, workerGroup, requestsTopic))
	}
}

func checkNoDeadLetters(t *testing.T, c *kfake.Cluster) {
	t.Helper()
	if dead := readAll(t, c, deadTopic); len(dead) > 0 {
		t.Errorf("%d dead letters:\n%s", len(dead), describeDeadLetters(dead))
	}
}

// Three workers in one group over a six-partition requests topic split the
// requests of a whole session and write every document once.
func TestWorkersShareTheWork(t *testing.T) {
	start := time.Now()
	files := sessionFiles(t, gp, "Qualifying")
	c := startKafka(t, requestPartitions)
	admin := client(t, c)
	fs := startFetchers(t, c, 3, mirror.Faults{})
	owned := waitBalanced(t, admin, fs)
	ready := time.Now()

	produce(t, c, requestsTopic, requestPartitions, tuplesOf(t, "Qualifying", files)...)
	eventually(t, 40*time.Second, progress(t, admin, fs),
		func() bool { return committedAll(t, admin, workerGroup, requestsTopic) }, workersOf(fs)...)
	done := time.Now()

	dups := checkDocuments(t, c, "Qualifying", files)
	checkNoDeadLetters(t, c)
	var fetched int64
	for _, f := range fs {
		n := f.mirror.Counts().Total
		fetched += n
		t.Logf("%s: partitions %v, fetched %d files", f.name, owned[f.name], n)
		if n == 0 {
			t.Errorf("%s fetched nothing", f.name)
		}
	}
	// No fault, no worker lost, the group balanced before the first request:
	// at-least-once has nothing to send twice, so every file is fetched and
	// written exactly once (the README's figures).
	if fetched != int64(len(files)) || dups != 0 {
		t.Errorf("the workers fetched %d files and wrote %d duplicate documents, want the %d requested once each", fetched, dups, len(files))
	}
	t.Logf("%d files, %d duplicate documents, %d fetches; group ready in %v, all delivered %v after producing",
		len(files), dups, fetched, ready.Sub(start).Round(time.Millisecond), done.Sub(ready).Round(time.Millisecond))
}

// A worker killed with SIGKILL halfway through its share loses nothing: the
// survivors take over its partitions once its session times out, fetch what
// it had not delivered, and the documents topic holds every file.
func TestKilledWorkerLosesNothing(t *testing.T) {
	files := sessionFiles(t, gp, "Qualifying")
	c := startKafka(t, requestPartitions)
	admin := client(t, c)
	// Two requests at a time and 20 ms a file, so that each share takes
	// seconds and the kill lands in the middle of one.
	slow := mirror.Faults{Rules: []mirror.Rule{{LatencyMS: 20}}}
	const concurrent = 2
	fs := startFetchers(t, c, 3, slow, fmt.Sprintf("F1FETCH_MAX_CONCURRENT=%d", concurrent), "F1_BATCH=8")
	owned := waitBalanced(t, admin, fs)

	tuples := tuplesOf(t, "Qualifying", files)
	produce(t, c, requestsTopic, requestPartitions, tuples...)
	victim, survivors := fs[0], fs[1:]
	share := 0 // requests on the victim's partitions
	for _, p := range owned[victim.name] {
		for i := range tuples {
			if int32(i)%requestPartitions == p {
				share++
			}
		}
	}
	eventually(t, 20*time.Second,
		func() string { return victim.name + " fetched fewer than 20 files" },
		func() bool { return victim.mirror.Counts().Total >= 20 }, workersOf(fs)...)
	victim.kill()
	killed := time.Now()
	served := victim.mirror.Counts().Total
	// What it sent before it died: the requests its mirror serves until the
	// counts settle. A request can still be in the socket's buffer, read by
	// the mirror after the process is gone (counted after the kill once, in
	// a CI run), so the counts are taken when nothing has moved for 100 ms.
	// Those are requests the process had out when it died, at most its
	// concurrency: any more were sent by something that outlived the kill,
	// which settling would otherwise take as the victim's.
	atKill := settledCount(t, victim.mirror)
	if late := atKill - served; late > concurrent {
		t.Fatalf("the victim's mirror served %d files after %s was gone, more than the %d it could have had out", late, victim.name, concurrent)
	}
	if atKill >= int64(share) {
		t.Fatalf("%s had fetched %d files, all of its share of %d, before the kill: nothing left to take over", victim.name, atKill, share)
	}

	var takeover time.Duration
	eventually(t, 40*time.Second,
		func() string { return "the survivors never took over the victim's partitions" },
		func() bool {
			owned := groupAssignment(t, admin, workerGroup, requestsTopic)
			if len(owned) != len(survivors) || len(owned[survivors[0].name])+len(owned[survivors[1].name]) != requestPartitions {
				return false
			}
			takeover = time.Since(killed)
			return true
		}, workersOf(survivors)...)
	eventually(t, 40*time.Second, progress(t, admin, fs),
		func() bool { return committedAll(t, admin, workerGroup, requestsTopic) }, workersOf(survivors)...)
	delivered := time.Since(killed)

	dups := checkDocuments(t, c, "Qualifying", files)
	checkNoDeadLetters(t, c)
	var bySurvivors int64
	for _, f := range survivors {
		bySurvivors += f.mirror.Counts().Total
	}
	if got := victim.mirror.Counts().Total; got > atKill {
		t.Errorf("the victim's mirror served %d files after the kill", got-atKill)
	}
	if own := int64(len(tuples) - share); bySurvivors <= own {
		t.Errorf("the survivors fetched %d files, no more than their own %d: they did not take over", bySurvivors, own)
	}
	t.Logf("%s killed after fetching %d of its %d requests (partitions %v); survivors fetched %d; takeover after %v, all delivered %v after the kill; %d duplicate documents",
		victim.name, atKill, share, owned[victim.name], bySurvivors, takeover.Round(time.Millisecond), delivered.Round(time.Millisecond), dups)
}

// settledCount is m's count of requests served once none is in flight and
// the count has not moved for 100 ms (within 5 s).
func settledCount(t *testing.T, m *mirrortest.Mirror) int64 {
	t.Helper()
	last, still := int64(-1), 0
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		c := m.Counts()
		if c.InFlight == 0 && c.Total == last {
			if still++; still == 5 {
				return c.Total
			}
			continue
		}
		last, still = c.Total, 0
	}
	t.Fatalf("the mirror's counts did not settle within 5s: %+v", m.Counts())
	return 0
}
