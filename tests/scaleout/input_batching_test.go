package scaleout

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The kafka_franz input must flush a partial batch of a partition once the
// batching period has passed, or the records after the last full batch wait
// for ever (their offsets are never committed either). Fifteen records with
// count 10, period 100ms: all fifteen must come out.
func TestInputFlushesPartialBatchOnPeriod(t *testing.T) {
	c := startKafka(t, 1)
	values := make([][]byte, 15)
	for i := range values {
		values[i] = fmt.Appendf(nil, `{"n": %d}`, i)
	}
	produce(t, c, requestsTopic, 1, values...)

	dir := t.TempDir()
	out := filepath.Join(dir, "out.jsonl")
	config := filepath.Join(dir, "batching.yaml")
	if err := os.WriteFile(config, fmt.Appendf(nil, `
http: { enabled: false }
input:
  kafka_franz:
    seed_brokers: [ %q ]
    topics: [ %s ]
    consumer_group: batching
    batching: { count: 10, period: 100ms }
output:
  file: { path: %q, codec: lines }
`, strings.Join(c.ListenAddrs(), ","), requestsTopic, out), 0o644); err != nil {
		t.Fatal(err)
	}
	w := startWorker(t, "batching", config)
	lines := func() int {
		b, _ := os.ReadFile(out)
		return strings.Count(string(b), "\n")
	}
	eventually(t, 5*time.Second,
		func() string {
			return fmt.Sprintf("%d of 15 records came out: the partial batch of 5 was never flushed on its period "+
				"(see flushDueLocked in plugin/sinks/kafka_franz_input.go)", lines())
		},
		func() bool { return lines() == 15 }, w)
}
