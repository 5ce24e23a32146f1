// Package scaleout runs the real f1fetch binary as Kafka workers: several
// processes of pipelines/tuples_kafka_to_kafka.yaml in one consumer group
// against an in-process kfake cluster and in-process mirrors of the shared
// corpus, and pipelines/kafka_to_postgres.yaml against a real PostgreSQL.
package scaleout

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/f1fetch/f1fetch/plugin/mirror/mirrortest"
)

// The topics and group of the pipelines' defaults, so the tests also check
// that the defaults fit together.
const (
	requestsTopic = "f1-requests"
	docsTopic     = "f1-documents"
	deadTopic     = "f1-dead-letter"
	workerGroup   = "f1fetch"
)

// binary is the f1fetch command built once by TestMain.
var binary string

func TestMain(m *testing.M) {
	os.Exit(buildAndRun(m))
}

func buildAndRun(m *testing.M) int {
	dir, err := os.MkdirTemp("", "f1fetch-scaleout-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	binary = filepath.Join(dir, "f1fetch")
	build := exec.Command("go", "build", "-o", binary, "./cmd/f1fetch")
	build.Dir = filepath.Join("..", "..")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "go build ./cmd/f1fetch: %v\n%s", err, out)
		return 1
	}
	return m.Run()
}

// sessionTimeout is the workers' F1_SESSION_TIMEOUT: how long a killed
// worker keeps its partitions, instead of the pipelines' default of 45 s. It
// must be at least kfake's group.min.session.timeout.ms (6 s) and well above
// the heartbeat interval (3 s).
const sessionTimeout = 8 * time.Second

// startKafka runs a one-broker kfake cluster on loopback with the requests
// topic of requestPartitions partitions and the documents and dead-letter
// topics, closed when t ends.
func startKafka(t *testing.T, requestPartitions int32) *kfake.Cluster {
	t.Helper()
	c, err := kfake.NewCluster(
		kfake.NumBrokers(1),
		kfake.SeedTopics(requestPartitions, requestsTopic),
		kfake.SeedTopics(3, docsTopic, deadTopic),
	)
	if err != nil {
		t.Fatalf("start kfake: %v", err)
	}
	t.Cleanup(c.Close)
	return c
}

// client is a plain franz-go client of the test itself.
func client(t *testing.T, c *kfake.Cluster, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(c.ListenAddrs()...)}, opts...)...)
	if err != nil {
		t.Fatalf("kafka client: %v", err)
	}
	t.Cleanup(cl.Close)
	return cl
}

// worker is one f1fetch process.
type worker struct {
	name string
	cmd  *exec.Cmd
	log  string        // its stdout and stderr
	done chan struct{} // closed when it has exited
	err  error         // its exit, once done
}

// startWorker runs `f1fetch run pipelines/<pipeline>` (or the config at an
// absolute path) with env added to a clean environment that sets the
// session timeout to sessionTimeout; the process is killed and reaped when t
// ends.
func startWorker(t *testing.T, name, pipeline string, env ...string) *worker {
	t.Helper()
	w := &worker{name: name, log: filepath.Join(t.TempDir(), name+".log"), done: make(chan struct{})}
	out, err := os.Create(w.log)
	if err != nil {
		t.Fatal(err)
	}
	if !filepath.IsAbs(pipeline) {
		pipeline = filepath.Join(mirrortest.RepoRoot(t), "pipelines", pipeline)
	}
	w.cmd = exec.Command(binary, "run", pipeline)
	w.cmd.Env = append(cleanEnv(), append([]string{"F1_HTTP_ADDRESS=127.0.0.1:0", "F1_LOG_LEVEL=INFO", "F1_SESSION_TIMEOUT=" + sessionTimeout.String()}, env...)...)
	w.cmd.Stdout, w.cmd.Stderr = out, out
	if err := w.cmd.Start(); err != nil {
		out.Close()
		t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		w.err = w.cmd.Wait()
		out.Close()
		close(w.done)
	}()
	t.Cleanup(func() {
		w.kill()
		if t.Failed() {
			t.Logf("log of %s:\n%s", name, tail(w.log, 40))
		}
	})
	return w
}

// cleanEnv is the test's environment without the variables the pipelines
// and the fetch engine read, so that only what a test sets applies.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "F1") && !strings.HasPrefix(kv, "KAFKA_") && !strings.HasPrefix(kv, "POSTGRES_") {
			env = append(env, kv)
		}
	}
	return env
}

// kill sends SIGKILL and waits for the process to be gone.
func (w *worker) kill() {
	if err := w.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		panic(fmt.Sprintf("kill %s: %v", w.name, err))
	}
	<-w.done
}

// alive fails t when the worker has exited on its own.
func (w *worker) alive(t *testing.T) {
	t.Helper()
	select {
	case <-w.done:
		t.Fatalf("%s exited: %v\n%s", w.name, w.err, tail(w.log, 40))
	default:
	}
}

func tail(path string, lines int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	all := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	return strings.Join(all[max(0, len(all)-lines):], "\n")
}

// eventually polls cond every 50ms until it holds, failing t with what()
// after timeout; every worker must stay alive meanwhile.
func eventually(t *testing.T, timeout time.Duration, what func() string, cond func() bool, workers ...*worker) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		for _, w := range workers {
			w.alive(t)
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %s", timeout, what())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// sessionFiles lists the corpus files of a session of the shared testdata
// (served as year 2025), as tuple paths such as "VER/3_tel.json".
func sessionFiles(t *testing.T, gp, session string) map[string][]byte {
	t.Helper()
	dir := filepath.Join(mirrortest.SharedTestdata(t), "test", gp, session)
	files := map[string][]byte{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".json") {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		body, err := os.ReadFile(path)
		files[filepath.ToSlash(rel)] = body
		return err
	})
	if err != nil {
		t.Fatalf("list %s: %v", dir, err)
	}
	if len(files) == 0 {
		t.Fatalf("no files under %s", dir)
	}
	return files
}

// groupAssignment is the partitions of topic each member of group owns, by
// client ID (F1_CLIENT_ID), once the group is stable; nil while it is not.
func groupAssignment(t *testing.T, cl *kgo.Client, group, topic string) map[string][]int32 {
	t.Helper()
	req := kmsg.NewPtrDescribeGroupsRequest()
	req.Groups = []string{group}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err := req.RequestWith(ctx, cl)
	if err != nil || len(resp.Groups) != 1 || resp.Groups[0].State != "Stable" {
		return nil
	}
	owned := map[string][]int32{}
	for _, m := range resp.Groups[0].Members {
		var a kmsg.ConsumerMemberAssignment
		if err := a.ReadFrom(m.MemberAssignment); err != nil {
			return nil
		}
		owned[m.ClientID] = nil
		for _, tp := range a.Topics {
			if tp.Topic == topic {
				owned[m.ClientID] = append(owned[m.ClientID], tp.Partitions...)
			}
		}
	}
	return owned
}

// endOffsets is the next offset of every partition of topic.
func endOffsets(t *testing.T, cl *kgo.Client, topic string) map[int32]int64 {
	t.Helper()
	meta := kmsg.NewPtrMetadataRequest()
	mt := kmsg.NewMetadataRequestTopic()
	mt.Topic = kmsg.StringPtr(topic)
	meta.Topics = append(meta.Topics, mt)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	mresp, err := meta.RequestWith(ctx, cl)
	if err != nil || len(mresp.Topics) != 1 {
		t.Fatalf("metadata of %s: %v", topic, err)
	}
	req := kmsg.NewPtrListOffsetsRequest()
	rt := kmsg.NewListOffsetsRequestTopic()
	rt.Topic = topic
	for _, p := range mresp.Topics[0].Partitions {
		rp := kmsg.NewListOffsetsRequestTopicPartition()
		rp.Partition = p.Partition
		rp.Timestamp = -1 // the end
		rt.Partitions = append(rt.Partitions, rp)
	}
	req.Topics = append(req.Topics, rt)
	// ListOffsets goes to each partition's leader; kgo splits and merges it.
	shards := cl.RequestSharded(ctx, req)
	ends := map[int32]int64{}
	for _, s := range shards {
		if s.Err != nil {
			t.Fatalf("list offsets of %s: %v", topic, s.Err)
		}
		for _, rt := range s.Resp.(*kmsg.ListOffsetsResponse).Topics {
			for _, p := range rt.Partitions {
				if p.ErrorCode != 0 {
					t.Fatalf("list offsets of %s/%d: error code %d", topic, p.Partition, p.ErrorCode)
				}
				ends[p.Partition] = p.Offset
			}
		}
	}
	return ends
}

func total(offsets map[int32]int64) int64 {
	var n int64
	for _, o := range offsets {
		n += o
	}
	return n
}

// committedAll reports whether group has committed every partition of
// topic up to its end: every record was delivered by the group's pipeline.
func committedAll(t *testing.T, cl *kgo.Client, group, topic string) bool {
	t.Helper()
	ends := endOffsets(t, cl, topic)
	req := kmsg.NewPtrOffsetFetchRequest()
	rg := kmsg.NewOffsetFetchRequestGroup()
	rg.Group = group
	rt := kmsg.NewOffsetFetchRequestGroupTopic()
	rt.Topic = topic
	for p := range ends {
		rt.Partitions = append(rt.Partitions, p)
	}
	rg.Topics = append(rg.Topics, rt)
	req.Groups = append(req.Groups, rg)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err := req.RequestWith(ctx, cl)
	if err != nil || len(resp.Groups) != 1 {
		return false
	}
	committed := map[int32]int64{}
	for _, rt := range resp.Groups[0].Topics {
		for _, p := range rt.Partitions {
			if p.ErrorCode == 0 {
				committed[p.Partition] = p.Offset
			}
		}
	}
	for p, end := range ends {
		if end > 0 && committed[p] != end {
			return false
		}
	}
	return true
}

// produce writes values to topic, value i to partition i % partitions
// (partitions 0: the client's default partitioner), and waits for the acks.
func produce(t *testing.T, c *kfake.Cluster, topic string, partitions int32, values ...[]byte) {
	t.Helper()
	cl := client(t, c, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	records := make([]*kgo.Record, len(values))
	for i, v := range values {
		records[i] = &kgo.Record{Topic: topic, Value: v, Partition: int32(i) % partitions, Key: fmt.Appendf(nil, "request-%d", i)}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := cl.ProduceSync(ctx, records...).FirstErr(); err != nil {
		t.Fatalf("produce to %s: %v", topic, err)
	}
}

// readAll returns every record of topic up to its current end.
func readAll(t *testing.T, c *kfake.Cluster, topic string) []*kgo.Record {
	t.Helper()
	ends := endOffsets(t, client(t, c), topic)
	want := total(ends)
	if want == 0 {
		return nil
	}
	cl := client(t, c, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var records []*kgo.Record
	for int64(len(records)) < want {
		fetches := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("read %s: %d of %d records after 20s", topic, len(records), want)
		}
		fetches.EachError(func(topic string, p int32, err error) { t.Fatalf("read %s/%d: %v", topic, p, err) })
		fetches.EachRecord(func(r *kgo.Record) {
			if r.Offset < ends[r.Partition] {
				records = append(records, r)
			}
		})
	}
	return records
}

func header(r *kgo.Record, key string) (string, bool) {
	for _, h := range r.Headers {
		if h.Key == key {
			return string(h.Value), true
		}
	}
	return "", false
}

// describeDeadLetters lists the dead-letter records for a failure message.
func describeDeadLetters(records []*kgo.Record) string {
	var b bytes.Buffer
	for i, r := range records {
		if i == 5 {
			fmt.Fprintf(&b, "... %d more\n", len(records)-i)
			break
		}
		kind, _ := header(r, "f1_error_kind")
		msg, _ := header(r, "f1_error")
		fmt.Fprintf(&b, "%s: %s: %s\n", kind, r.Value, msg)
	}
	return b.String()
}
