package sinks

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redpanda-data/benthos/v4/public/service"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func TestKafkaFranzInputExampleBuilds(t *testing.T) {
	buildsWith(t, kafkaFranzInputExample+"output:\n  drop: {}\n")
}

func TestKafkaFranzInputRefusesBadConfig(t *testing.T) {
	const good = `
seed_brokers: [ "127.0.0.1:9092" ]
topics: [ requests ]
consumer_group: f1fetch
`
	cases := []struct {
		name, yaml string
		words      []string
	}{
		{"no topics", strings.Replace(good, "[ requests ]", "[ ' , ' ]", 1), []string{"topics"}},
		{"empty group", strings.Replace(good, "consumer_group: f1fetch", "consumer_group: ''", 1), []string{"consumer_group"}},
		{"checkpoint_limit 0", good + "checkpoint_limit: 0\n", []string{"checkpoint_limit", "0"}},
		{"commit_period too short", good + "commit_period: 10ms\n", []string{"commit_period", "10ms"}},
		{"bad batching", good + "batching:\n  check: 'this ==='\n", []string{"batching"}},
		{"unknown sasl mechanism", good + "sasl:\n  - mechanism: OAUTHBEARER\n", []string{"sasl[0].mechanism", "OAUTHBEARER"}},
		{"session_timeout 0", good + "session_timeout: 0s\n", []string{"session_timeout", "0s"}},
		{"rebalance_timeout too short", good + "rebalance_timeout: 50ms\n", []string{"rebalance_timeout", "50ms"}},
		{"heartbeat_interval negative", good + "heartbeat_interval: -1s\n", []string{"heartbeat_interval", "-1s"}},
		{"heartbeat_interval not below session_timeout", good + "session_timeout: 6s\nheartbeat_interval: 6s\n", []string{"heartbeat_interval", "session_timeout", "6s"}},
		// franz-go compiles the patterns only at Connect, which then failed for ever.
		{"regexp topic that is not one", strings.Replace(good, "[ requests ]", "[ 'f1-(laps' ]", 1) + "regexp_topics: true\n", []string{"topics", "f1-(laps", "regular expression"}},
		{"second regexp topic that is not one", strings.Replace(good, "[ requests ]", "[ '', ' f1-(laps ' ]", 1) + "regexp_topics: true\n", []string{`field topics[1]: value "f1-(laps"`, "regular expression"}},
		// Benthos' own error named no field.
		{"tls root_cas_file not there", good + "tls:\n  enabled: true\n  root_cas_file: /nonexistent.pem\n",
			[]string{`field tls.root_cas_file: value "/nonexistent.pem": open /nonexistent.pem: no such file`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			conf, err := kafkaFranzInputSpec().ParseYAML(c.yaml, nil)
			if err == nil {
				_, err = newFranzInput(conf, service.MockResources())
			}
			requireErrorNaming(t, err, c.words...)
		})
	}
}

// produceSpread writes n records, record i to partition i%partitions with key
// "k<partition>", value {"i":i} and a header f1_driver.
func produceSpread(t *testing.T, c *kfake.Cluster, topic string, partitions int32, n int) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var recs []*kgo.Record
	for i := range n {
		p := int32(i) % partitions
		recs = append(recs, &kgo.Record{
			Topic: topic, Partition: p, Key: []byte(fmt.Sprintf("k%d", p)),
			Value:   []byte(fmt.Sprintf(`{"i":%d}`, i)),
			Headers: []kgo.RecordHeader{{Key: "f1_driver", Value: []byte("VER")}},
		})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
}

// committed asks the group coordinator for the committed offsets of topic
// (-1 where none).
func committed(t *testing.T, c *kfake.Cluster, group, topic string, partitions int32) map[int32]int64 {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	rt := kmsg.NewOffsetFetchRequestTopic()
	rt.Topic = topic
	for p := range partitions {
		rt.Partitions = append(rt.Partitions, p)
	}
	rg := kmsg.NewOffsetFetchRequestGroup()
	rg.Group = group
	gt := kmsg.NewOffsetFetchRequestGroupTopic()
	gt.Topic, gt.Partitions = topic, rt.Partitions
	rg.Topics = []kmsg.OffsetFetchRequestGroupTopic{gt}
	req := kmsg.NewPtrOffsetFetchRequest()
	req.Group, req.Topics, req.Groups = group, []kmsg.OffsetFetchRequestTopic{rt}, []kmsg.OffsetFetchRequestGroup{rg}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		t.Fatalf("offset fetch: %v", err)
	}
	out := map[int32]int64{}
	for _, tp := range resp.Topics {
		for _, p := range tp.Partitions {
			out[p.Partition] = p.Offset
		}
	}
	for _, g := range resp.Groups {
		for _, tp := range g.Topics {
			for _, p := range tp.Partitions {
				out[p.Partition] = p.Offset
			}
		}
	}
	return out
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %v: %s", within, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// startInputStream runs a stream from inputYAML (an input component) into
// handle; the returned func stops it gracefully.
func startInputStream(t *testing.T, inputYAML string, handle service.MessageBatchHandlerFunc) (stop func()) {
	t.Helper()
	b := service.NewStreamBuilder()
	if err := b.SetLoggerYAML("level: off"); err != nil {
		t.Fatal(err)
	}
	if err := b.AddInputYAML(inputYAML); err != nil {
		t.Fatalf("input config: %v", err)
	}
	if err := b.AddBatchConsumerFunc(handle); err != nil {
		t.Fatal(err)
	}
	stream, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- stream.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			stopCtx, stopCancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer stopCancel()
			if err := stream.Stop(stopCtx); err != nil {
				t.Errorf("stopping stream: %v", err)
			}
			cancel()
			<-done
		})
	}
	t.Cleanup(stop)
	return stop
}

func inputYAML(c *kfake.Cluster, topic, group, extra string) string {
	return fmt.Sprintf(`
kafka_franz:
  seed_brokers: [ %q ]
  topics: [ %s ]
  consumer_group: %s
  commit_period: 100ms
%s`, strings.Join(c.ListenAddrs(), ","), topic, group, extra)
}

type delivery struct {
	partition int32
	offset    int64
}

func metaInt(t *testing.T, m *service.Message, key string) int64 {
	t.Helper()
	v, ok := m.MetaGetMut(key)
	if !ok {
		t.Errorf("metadata %s missing", key)
		return -1
	}
	switch n := v.(type) {
	case int:
		return int64(n)
	case int64:
		return n
	}
	t.Errorf("metadata %s = %T %v, want an integer", key, v, v)
	return -1
}

func TestKafkaFranzInputConsumesAndRetriesNacks(t *testing.T) {
	const partitions, perPartition = 3, 10
	c := newCluster(t, partitions, "requests")
	produceSpread(t, c, "requests", partitions, partitions*perPartition)

	var mu sync.Mutex
	seen := map[delivery]int{}
	var firstOrder = map[int32][]int64{}
	nacked := false
	stop := startInputStream(t, inputYAML(c, "requests", "g1", ""), func(_ context.Context, batch service.MessageBatch) error {
		mu.Lock()
		defer mu.Unlock()
		var part int32 = -1
		var fail bool
		for _, m := range batch {
			p, off := int32(metaInt(t, m, "kafka_partition")), metaInt(t, m, "kafka_offset")
			if part != -1 && p != part {
				t.Errorf("batch mixes partitions %d and %d", part, p)
			}
			part = p
			key, _ := m.MetaGet("kafka_key")
			topic, _ := m.MetaGet("kafka_topic")
			driver, _ := m.MetaGet("f1_driver")
			if key != fmt.Sprintf("k%d", p) || topic != "requests" || driver != "VER" || metaInt(t, m, "kafka_timestamp_unix") < time.Now().Add(-time.Hour).Unix() {
				t.Errorf("metadata of %d/%d: key %q topic %q f1_driver %q", p, off, key, topic, driver)
			}
			d := delivery{p, off}
			if seen[d] == 0 {
				firstOrder[p] = append(firstOrder[p], off)
			}
			seen[d]++
			if p == 1 && off == 4 && !nacked {
				fail = true
			}
		}
		if fail {
			nacked = true
			return errors.New("output unavailable")
		}
		return nil
	})

	eventually(t, 15*time.Second, "every record delivered", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(seen) == partitions*perPartition
	})
	eventually(t, 10*time.Second, "every offset committed", func() bool {
		got := committed(t, c, "g1", "requests", partitions)
		for p := range int32(partitions) {
			if got[p] != perPartition {
				return false
			}
		}
		return true
	})
	stop()

	mu.Lock()
	defer mu.Unlock()
	if !nacked || seen[delivery{1, 4}] != 2 {
		t.Fatalf("record 1/4 delivered %d times after one nack, want 2", seen[delivery{1, 4}])
	}
	for p, offs := range firstOrder {
		for i, off := range offs {
			if off != int64(i) {
				t.Fatalf("partition %d first deliveries %v, want 0..%d in order", p, offs, perPartition-1)
			}
		}
	}
}

// readerFor builds the input on its own, without a stream, so that a test
// can acknowledge batches in any order.
func readerFor(t *testing.T, c *kfake.Cluster, topic, group, extra string) *franzInput {
	t.Helper()
	y := strings.Replace(inputYAML(c, topic, group, extra), "kafka_franz:\n", "", 1)
	y = strings.ReplaceAll(y, "\n  ", "\n")
	return connectDirectly(t, kafkaFranzInputSpec(), y, newFranzInput)
}

// With regexp_topics an entry is one pattern, commas and all: split at its
// comma, f1-(laps|tel){1,2} became two patterns that matched neither topic,
// and the input joined, reported nothing and consumed nothing.
func TestKafkaFranzInputRegexpTopicTakenWhole(t *testing.T) {
	c := newCluster(t, 1, "f1-laps", "f1-tel")
	produceSpread(t, c, "f1-laps", 1, 1)
	produceSpread(t, c, "f1-tel", 1, 1)
	in := readerFor(t, c, `"^f1-(laps|tel){1,2}$"`, "g-regexp", "  regexp_topics: true\n")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	topics := map[string]bool{}
	for len(topics) < 2 {
		batch, ack, err := in.ReadBatch(ctx)
		if err != nil {
			t.Fatalf("read the records of f1-laps and f1-tel: got those of %v, then %v", topics, err)
		}
		for _, m := range batch {
			topic, _ := m.MetaGetMut("kafka_topic")
			topics[topic.(string)] = true
		}
		if err := ack(ctx, nil); err != nil {
			t.Fatal(err)
		}
	}
}

func TestKafkaFranzInputCommitsOnlyContiguousAcks(t *testing.T) {
	c := newCluster(t, 1, "laps")
	produceSpread(t, c, "laps", 1, 6)
	in := readerFor(t, c, "laps", "g2", "  checkpoint_limit: 10\n  batching:\n    count: 1\n")

	acks := make([]service.AckFunc, 6)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for i := range acks {
		batch, ack, err := in.ReadBatch(ctx)
		if err != nil {
			t.Fatalf("read %d: %v", i, err)
		}
		if len(batch) != 1 || metaInt(t, batch[0], "kafka_offset") != int64(i) {
			t.Fatalf("read %d: %d messages, first at offset %d", i, len(batch), metaInt(t, batch[0], "kafka_offset"))
		}
		acks[i] = ack
	}
	if got := committed(t, c, "g2", "laps", 1)[0]; got != -1 {
		t.Fatalf("committed %d before any ack, want none", got)
	}
	for _, i := range []int{0, 1, 3, 4, 5} {
		if err := acks[i](ctx, nil); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, 5*time.Second, "offsets 0 and 1 committed", func() bool { return committed(t, c, "g2", "laps", 1)[0] == 2 })
	time.Sleep(300 * time.Millisecond) // several commit periods
	if got := committed(t, c, "g2", "laps", 1)[0]; got != 2 {
		t.Fatalf("committed %d while offset 2 is unacknowledged, want 2", got)
	}
	if err := acks[2](ctx, nil); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "all six committed", func() bool { return committed(t, c, "g2", "laps", 1)[0] == 6 })
}

func TestKafkaFranzInputCheckpointLimit(t *testing.T) {
	c := newCluster(t, 1, "laps")
	produceSpread(t, c, "laps", 1, 5)
	in := readerFor(t, c, "laps", "g3", "  checkpoint_limit: 2\n  batching:\n    count: 1\n")

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, ack0, err := in.ReadBatch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := in.ReadBatch(ctx); err != nil {
		t.Fatal(err)
	}
	short, shortCancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer shortCancel()
	if _, _, err := in.ReadBatch(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("third read with two records in flight and checkpoint_limit 2: %v, want to block", err)
	}
	if err := ack0(ctx, nil); err != nil {
		t.Fatal(err)
	}
	batch, _, err := in.ReadBatch(ctx)
	if err != nil {
		t.Fatalf("read after an ack: %v", err)
	}
	if off := metaInt(t, batch[0], "kafka_offset"); off != 2 {
		t.Fatalf("read offset %d after the limit cleared, want 2", off)
	}
}

// A partition held by its checkpoint limit (its batches in flight not yet
// delivered, say a poison record the output keeps refusing) must not stop the
// member from fetching the others: new records of another partition are read.
func TestKafkaFranzInputBlockedPartitionDoesNotStallTheOthers(t *testing.T) {
	c := newCluster(t, 2, "laps")
	produce := func(partition int32, n int) {
		t.Helper()
		cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.RecordPartitioner(kgo.ManualPartitioner()))
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Close()
		for range n {
			if err := cl.ProduceSync(context.Background(), &kgo.Record{Topic: "laps", Partition: partition, Value: []byte("{}")}).FirstErr(); err != nil {
				t.Fatal(err)
			}
		}
	}
	produce(0, 3)
	produce(1, 1)
	in := readerFor(t, c, "laps", "g-stall", "  checkpoint_limit: 2\n  batching:\n    count: 1\n")

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	read := map[int32]int{}
	for read[0] < 2 || read[1] < 1 { // p0's records are never acked: its third waits behind the limit
		batch, ack, err := in.ReadBatch(ctx)
		if err != nil {
			t.Fatalf("reading the first records (got %v): %v", read, err)
		}
		p := int32(metaInt(t, batch[0], "kafka_partition"))
		if read[p]++; p == 1 {
			if err := ack(ctx, nil); err != nil {
				t.Fatal(err)
			}
		}
	}
	produce(1, 3)
	for want := int64(1); want <= 3; want++ {
		short, shortCancel := context.WithTimeout(ctx, 5*time.Second)
		batch, ack, err := in.ReadBatch(short)
		shortCancel()
		if err != nil {
			t.Fatalf("partition 1's new record at offset %d while partition 0 is held by its checkpoint limit: %v", want, err)
		}
		p, off := metaInt(t, batch[0], "kafka_partition"), metaInt(t, batch[0], "kafka_offset")
		if p != 1 || off != want {
			t.Fatalf("read partition %d offset %d, want partition 1 offset %d", p, off, want)
		}
		if err := ack(ctx, nil); err != nil {
			t.Fatal(err)
		}
	}
}

// A busy partition beside an idle one, each record read and acknowledged
// before the next is produced: every read must come at once, not after a
// fetch's max wait (5 s) spent asking only the idle partition, as when the
// busy one was paused whenever it had a batch waiting.
func TestKafkaFranzInputBusyPartitionBesideAnIdleOneIsNotDelayed(t *testing.T) {
	c := newCluster(t, 2, "laps")
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	produce := func() {
		t.Helper()
		if err := cl.ProduceSync(context.Background(), &kgo.Record{Topic: "laps", Partition: 0, Value: []byte("{}")}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	produce()
	in := readerFor(t, c, "laps", "g-busy", "  batching:\n    count: 1\n")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, ack, err := in.ReadBatch(ctx); err != nil || ack(ctx, nil) != nil { // joining the group: not timed
		t.Fatalf("first read: %v", err)
	}
	for i := range 5 {
		produce()
		start := time.Now()
		_, ack, err := in.ReadBatch(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if took := time.Since(start); took > 2*time.Second {
			t.Fatalf("record %d read %v after it was produced, want well under the fetch max wait of 5s", i+2, took)
		}
		if err := ack(ctx, nil); err != nil {
			t.Fatal(err)
		}
	}
}

func TestKafkaFranzInputResumesFromCommit(t *testing.T) {
	c := newCluster(t, 1, "laps")
	produceSpread(t, c, "laps", 1, 6)
	first := readerFor(t, c, "laps", "g4", "  batching:\n    count: 3\n")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	batch, ack, err := first.ReadBatch(ctx)
	if err != nil || len(batch) != 3 {
		t.Fatalf("first batch: %d messages, %v", len(batch), err)
	}
	if err := ack(ctx, nil); err != nil {
		t.Fatal(err)
	}
	// The second batch is read but never acknowledged before closing.
	if _, _, err := first.ReadBatch(ctx); err != nil {
		t.Fatal(err)
	}
	if err := first.Close(ctx); err != nil {
		t.Fatalf("close: %v", err)
	}
	if got := committed(t, c, "g4", "laps", 1)[0]; got != 3 {
		t.Fatalf("committed %d after close, want 3", got)
	}
	second := readerFor(t, c, "laps", "g4", "  batching:\n    count: 3\n")
	batch, _, err = second.ReadBatch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if off := metaInt(t, batch[0], "kafka_offset"); off != 3 {
		t.Fatalf("next member starts at offset %d, want 3 (the unacknowledged batch again)", off)
	}
}

// groupMembers returns the state and member count of a consumer group.
func groupMembers(t *testing.T, c *kfake.Cluster, group string) (string, int) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	req := kmsg.NewPtrDescribeGroupsRequest()
	req.Groups = []string{group}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err := req.RequestWith(ctx, cl)
	if err != nil || len(resp.Groups) != 1 {
		t.Fatalf("describe group: %v", err)
	}
	return resp.Groups[0].State, len(resp.Groups[0].Members)
}

func TestKafkaFranzInputGroupSplitsPartitions(t *testing.T) {
	const partitions, total = 4, 80
	c := newCluster(t, partitions, "requests")

	var mu sync.Mutex
	seenBy := [2]map[delivery]int{{}, {}}
	for i := range 2 {
		startInputStream(t, inputYAML(c, "requests", "g5", ""), func(_ context.Context, batch service.MessageBatch) error {
			mu.Lock()
			defer mu.Unlock()
			for _, m := range batch {
				seenBy[i][delivery{int32(metaInt(t, m, "kafka_partition")), metaInt(t, m, "kafka_offset")}]++
			}
			return nil
		})
	}
	eventually(t, 30*time.Second, "both members in a stable group", func() bool {
		state, n := groupMembers(t, c, "g5")
		return state == "Stable" && n == 2
	})
	time.Sleep(500 * time.Millisecond) // let the cooperative second round settle
	produceSpread(t, c, "requests", partitions, total)

	eventually(t, 30*time.Second, "every record delivered", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(seenBy[0])+len(seenBy[1]) >= total
	})
	mu.Lock()
	defer mu.Unlock()
	parts := [2]map[int32]bool{{}, {}}
	for i, seen := range seenBy {
		for d, n := range seen {
			if n != 1 {
				t.Errorf("member %d saw %d/%d %d times", i, d.partition, d.offset, n)
			}
			if _, dup := seenBy[1-i][d]; dup {
				t.Errorf("both members saw %d/%d", d.partition, d.offset)
			}
			parts[i][d.partition] = true
		}
	}
	if len(parts[0]) == 0 || len(parts[1]) == 0 {
		t.Fatalf("partitions per member %v and %v, want both to have some", parts[0], parts[1])
	}
	for p := range parts[0] {
		if parts[1][p] {
			t.Fatalf("partition %d consumed by both members", p)
		}
	}
	if n := len(seenBy[0]) + len(seenBy[1]); n != total {
		t.Fatalf("records seen %d, want %d", n, total)
	}
}

// The group timing fields reach the JoinGroup request the broker sees.
func TestKafkaFranzInputJoinsWithGroupTiming(t *testing.T) {
	c := newCluster(t, 1, "laps")
	joins := make(chan *kmsg.JoinGroupRequest, 1)
	c.ControlKey(kmsg.JoinGroup.Int16(), func(req kmsg.Request) (kmsg.Response, error, bool) {
		select {
		case joins <- req.(*kmsg.JoinGroupRequest):
		default:
		}
		return nil, nil, false // handled as usual
	})
	readerFor(t, c, "laps", "g6", "  session_timeout: 7s\n  rebalance_timeout: 9s\n  heartbeat_interval: 500ms\n")
	select {
	case j := <-joins:
		if j.SessionTimeoutMillis != 7000 || j.RebalanceTimeoutMillis != 9000 {
			t.Fatalf("JoinGroup with session timeout %dms and rebalance timeout %dms, want 7000ms and 9000ms", j.SessionTimeoutMillis, j.RebalanceTimeoutMillis)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the input never joined its group")
	}
}

// readOffsets reads one batch and returns its records' offsets.
func readOffsets(t *testing.T, ctx context.Context, in *franzInput) ([]int64, service.AckFunc) {
	t.Helper()
	batch, ack, err := in.ReadBatch(ctx)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	offsets := make([]int64, len(batch))
	for i, m := range batch {
		offsets[i] = metaInt(t, m, "kafka_offset")
	}
	return offsets, ack
}

func offsetRange(from, to int64) []int64 {
	var out []int64
	for o := from; o < to; o++ {
		out = append(out, o)
	}
	return out
}

// requireBatchesThenCommit reads two batches, offsets 0-9 and 10-14, checks
// that nothing is committed before the acks and that all fifteen are after.
func requireBatchesThenCommit(t *testing.T, ctx context.Context, c *kfake.Cluster, in *franzInput, group string, beforePartial func()) {
	t.Helper()
	full, ackFull := readOffsets(t, ctx, in)
	if !slices.Equal(full, offsetRange(0, 10)) {
		t.Fatalf("first batch %v, want offsets 0-9", full)
	}
	if beforePartial != nil {
		beforePartial()
	}
	partial, ackPartial := readOffsets(t, ctx, in)
	if !slices.Equal(partial, offsetRange(10, 15)) {
		t.Fatalf("partial batch %v, want offsets 10-14", partial)
	}
	if got := committed(t, c, group, "laps", 1)[0]; got != -1 {
		t.Fatalf("committed %d before any ack, want none", got)
	}
	if err := ackFull(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if err := ackPartial(ctx, nil); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "offsets of the partial batch committed", func() bool { return committed(t, c, group, "laps", 1)[0] == 15 })
}

// A partial batch goes out once its period has passed since its first
// record, not before, and its offsets are committed once it is acknowledged.
func TestKafkaFranzInputFlushesPartialBatchOnPeriod(t *testing.T) {
	const period = 500 * time.Millisecond
	c := newCluster(t, 1, "laps")
	produceSpread(t, c, "laps", 1, 15)
	in := readerFor(t, c, "laps", "g7", fmt.Sprintf("  batching:\n    count: 10\n    period: %v\n", period))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	requireBatchesThenCommit(t, ctx, c, in, "g7", func() {
		early, earlyCancel := context.WithTimeout(ctx, period/5)
		defer earlyCancel()
		if b, _, err := in.ReadBatch(early); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("read %d messages %v after the full batch, want the partial batch held for its period", len(b), err)
		}
	})
}

// Without a period, a partial batch goes out as soon as its fetch has been
// added: records never wait for the partition to receive more.
func TestKafkaFranzInputFlushesPartialBatchWithoutPeriod(t *testing.T) {
	c := newCluster(t, 1, "laps")
	produceSpread(t, c, "laps", 1, 15)
	in := readerFor(t, c, "laps", "g8", "  batching:\n    count: 10\n")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	requireBatchesThenCommit(t, ctx, c, in, "g8", nil)
}
