package sinks

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/redpanda-data/benthos/v4/public/service"
)

// partitioner: murmur2_hash (the default) places a key where a Java
// producer does: murmur2 of the key, sign bit cleared, modulo the partition
// count. The expected partitions are Kafka's murmur2 of each driver's code
// over 10 partitions (a Python port of Utils.murmur2 gives the same).
func TestKafkaFranzOutputKeyPartitionsAsJava(t *testing.T) {
	c := newCluster(t, 10, "laps")
	out := fmt.Sprintf(`
kafka_franz:
  seed_brokers: [ %q ]
  topic: laps
  key: '${! json("driver") }'
`, strings.Join(c.ListenAddrs(), ","))
	want := map[string]int32{"VER": 6, "NOR": 5, "LEC": 7, "HAM": 0, "PIA": 2}
	var batch service.MessageBatch
	for _, d := range []string{"VER", "NOR", "LEC", "HAM", "PIA"} {
		batch = append(batch, service.NewMessage([]byte(fmt.Sprintf(`{"driver":%q}`, d))))
	}
	if err := writeThrough(t, out, batch); err != nil {
		t.Fatal(err)
	}
	for _, r := range readTopic(t, c, "laps", len(want)) {
		if p, ok := want[string(r.Key)]; !ok || r.Partition != p {
			t.Errorf("key %q on partition %d, want %d (Kafka's murmur2)", r.Key, r.Partition, p)
		}
	}
}

// A key that interpolates to "" is no key: the record's key is null, as a
// record sent without a key field, not an empty byte string.
func TestKafkaFranzOutputEmptyKeyIsNoKey(t *testing.T) {
	c := newCluster(t, 1, "laps")
	out := fmt.Sprintf(`
kafka_franz:
  seed_brokers: [ %q ]
  topic: laps
  key: '${! metadata("k").or("") }'
  max_in_flight: 1
`, strings.Join(c.ListenAddrs(), ","))
	keyed := service.NewMessage([]byte(`{"n":0}`))
	keyed.MetaSetMut("k", "VER")
	if err := writeThrough(t, out, service.MessageBatch{keyed, service.NewMessage([]byte(`{"n":1}`))}); err != nil {
		t.Fatal(err)
	}
	recs := readTopic(t, c, "laps", 2)
	if string(recs[0].Key) != "VER" {
		t.Errorf("record %s: key %q, want VER", recs[0].Value, recs[0].Key)
	}
	if recs[1].Key != nil {
		t.Errorf("record %s without metadata k: key %q (non-nil), want no key", recs[1].Value, recs[1].Key)
	}
}

// key, partition and timestamp_ms written empty, as `f1fetch create` writes
// them, are left out: no key, the default partitioner without a partition
// (before, the output refused to build), the time of the write (before,
// every message failed: "" is no number of milliseconds).
func TestKafkaFranzOutputEmptyOptionalFieldsAreLeftOut(t *testing.T) {
	c := newCluster(t, 1, "laps")
	out := fmt.Sprintf(`
kafka_franz:
  seed_brokers: [ %q ]
  topic: laps
  key: ""
  partition: ""
  timestamp_ms: ""
`, strings.Join(c.ListenAddrs(), ","))
	before := time.Now().Add(-time.Second)
	if err := writeThrough(t, out, jsonBatch(`{"n":0}`)); err != nil {
		t.Fatal(err)
	}
	r := readTopic(t, c, "laps", 1)[0]
	if r.Key != nil || r.Timestamp.Before(before) {
		t.Errorf("record: key %q, timestamp %v; want no key and the time of the write (after %v)", r.Key, r.Timestamp, before)
	}
}

// partitioner: manual writes each record to the partition its interpolated
// partition names.
func TestKafkaFranzOutputManualPartition(t *testing.T) {
	c := newCluster(t, 3, "laps")
	out := fmt.Sprintf(`
kafka_franz:
  seed_brokers: [ %q ]
  topic: laps
  partitioner: manual
  partition: '${! metadata("p") }'
`, strings.Join(c.ListenAddrs(), ","))
	ps := []int32{0, 1, 2, 2}
	var batch service.MessageBatch
	for i, p := range ps {
		m := service.NewMessage([]byte(fmt.Sprintf(`{"n":%d,"p":%d}`, i, p)))
		m.MetaSetMut("p", fmt.Sprint(p))
		batch = append(batch, m)
	}
	if err := writeThrough(t, out, batch); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, r := range readTopic(t, c, "laps", len(ps)) {
		var n int
		var p int32
		if _, err := fmt.Sscanf(string(r.Value), `{"n":%d,"p":%d}`, &n, &p); err != nil {
			t.Fatalf("record %s: %v", r.Value, err)
		}
		seen[string(r.Value)] = true
		if r.Partition != p {
			t.Errorf("record %s on partition %d, want %d", r.Value, r.Partition, p)
		}
	}
	if len(seen) != len(ps) {
		t.Fatalf("%d distinct records of %d", len(seen), len(ps))
	}
}
