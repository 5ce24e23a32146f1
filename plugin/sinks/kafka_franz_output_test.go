package sinks

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redpanda-data/benthos/v4/public/service"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

func TestKafkaFranzOutputExampleBuilds(t *testing.T) {
	buildsWith(t, "input:\n  generate:\n    count: 1\n    mapping: 'root = {}'\n"+kafkaFranzOutputExample)
}

func TestKafkaFranzOutputRefusesBadConfig(t *testing.T) {
	const good = `
seed_brokers: [ "127.0.0.1:9092" ]
topic: laps
`
	certFile, keyFile := clientCertFiles(t)
	cases := []struct {
		name, yaml string
		words      []string
	}{
		// Every record failed with it, in WriteBatch, for ever.
		{"empty topic", strings.Replace(good, "topic: laps", "topic: ''", 1), []string{"field topic", "empty"}},
		{"unknown partitioner", good + "partitioner: fnv\n", []string{"partitioner", "fnv"}},
		{"manual without partition", good + "partitioner: manual\n", []string{"partition", "manual"}},
		{"partition without manual", good + "partition: '1'\n", []string{"partition", "murmur2_hash"}},
		{"unknown compression", good + "compression: brotli\n", []string{"compression", "brotli"}},
		{"bad max_message_bytes", good + "max_message_bytes: lots\n", []string{"max_message_bytes", "lots"}},
		{"max_message_bytes below franz-go's 512B", good + "max_message_bytes: 100B\n", []string{"max_message_bytes", "100B"}},
		{"max_message_bytes above broker_write_max_bytes", good + "max_message_bytes: 200MB\n", []string{"max_message_bytes", "200000000", "broker_write_max_bytes"}},
		{"broker_write_max_bytes above 1GiB", good + "broker_write_max_bytes: 2GiB\n", []string{"broker_write_max_bytes", "2GiB"}},
		{"no seed brokers", strings.Replace(good, `[ "127.0.0.1:9092" ]`, `[ " , " ]`, 1), []string{"seed_brokers"}},
		{"unknown sasl mechanism", good + "sasl:\n  - mechanism: GSSAPI\n    username: u\n", []string{"sasl[0].mechanism", "GSSAPI"}},
		// Every write would have expired before it began.
		{"timeout 0", good + "timeout: 0s\n", []string{"timeout", "0s"}},
		// Benthos' own errors named no field.
		{"metadata pattern that is not one", good + "metadata:\n  include_patterns: [ f1_, '(' ]\n", []string{`field metadata.include_patterns[1]: value "("`, "regular expression"}},
		{"tls root_cas_file not there", good + "tls:\n  enabled: true\n  root_cas_file: /nonexistent.pem\n",
			[]string{`field tls.root_cas_file: value "/nonexistent.pem": open /nonexistent.pem: no such file`}},
		{"tls cert_file not there", good + "tls:\n  enabled: true\n  client_certs:\n    - cert_file: /nonexistent/c.pem\n      key_file: /nonexistent/c.key\n",
			[]string{`field tls.client_certs[0].cert_file: value "/nonexistent/c.pem"`, "no such file"}},
		{"tls key_file of a second cert not there", good + "tls:\n  enabled: true\n  client_certs:\n    - cert_file: " + certFile + "\n      key_file: " + keyFile +
			"\n    - cert_file: " + certFile + "\n      key_file: /nonexistent/c.key\n",
			[]string{`field tls.client_certs[1].key_file: value "/nonexistent/c.key"`, "no such file"}},
		{"tls cert_file that is not a certificate", good + "tls:\n  enabled: true\n  client_certs:\n    - cert_file: " + keyFile + "\n      key_file: " + keyFile + "\n",
			[]string{"field tls: ", "certificate"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			conf, err := kafkaFranzOutputSpec().ParseYAML(c.yaml, nil)
			if err == nil {
				_, err = newFranzOutput(conf, service.MockResources())
			}
			requireErrorNaming(t, err, c.words...)
		})
	}

	// The stream refuses max_in_flight below 1 naming the field: its lint,
	// as the output is added (building it would too).
	b := service.NewStreamBuilder()
	if _, err := b.AddProducerFunc(); err != nil {
		t.Fatal(err)
	}
	err := b.AddOutputYAML("kafka_franz:\n  seed_brokers: [ x:1 ]\n  topic: t\n  max_in_flight: 0\n")
	if err == nil {
		var stream *service.Stream
		if stream, err = b.Build(); err == nil {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			err = stream.Run(ctx)
		}
	}
	requireErrorNaming(t, err, "max_in_flight")
}

// newCluster starts an in-process Kafka with the given topics.
func newCluster(t *testing.T, partitions int32, topics ...string) *kfake.Cluster {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(partitions, topics...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// readTopic consumes n records of topic from the start, without a group.
func readTopic(t *testing.T, c *kfake.Cluster, topic string, n int) []*kgo.Record {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var recs []*kgo.Record
	for len(recs) < n {
		fetches := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("read %d of %d records from %s before the deadline", len(recs), n, topic)
		}
		fetches.EachError(func(topic string, p int32, err error) { t.Fatalf("fetching %s/%d: %v", topic, p, err) })
		recs = append(recs, fetches.Records()...)
	}
	if len(recs) != n {
		t.Fatalf("read %d records from %s, want %d", len(recs), topic, n)
	}
	return recs
}

// countProduceRequests counts the produce requests the cluster receives.
func countProduceRequests(c *kfake.Cluster) *atomic.Int64 {
	var n atomic.Int64
	c.ControlKey(int16(kmsg.Produce), func(kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		n.Add(1)
		return nil, nil, false
	})
	return &n
}

// One message of a batch cannot be produced (over max_message_bytes): the
// batch error names that message, so it is retried and the others are
// acknowledged. franz-go lists the results in the order the records
// completed, and the failure completes first: taken by position, the error
// blamed message 0, and the failed one was acknowledged and lost while
// message 0 was written twice.
func TestKafkaFranzOutputBlamesTheMessageThatFailed(t *testing.T) {
	c := newCluster(t, 1, "laps")
	out := connectDirectly(t, kafkaFranzOutputSpec(), fmt.Sprintf("seed_brokers: [ %q ]\ntopic: laps\nmax_message_bytes: 1KiB\n", c.ListenAddrs()[0]), newFranzOutput)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	big := `{"x":"` + strings.Repeat("a", 4000) + `"}`
	err := out.WriteBatch(ctx, jsonBatch(`{"i":0}`, `{"i":1}`, big))
	var be *service.BatchError
	if !errors.As(err, &be) {
		t.Fatalf("want a batch error, got %v", err)
	}
	var failed []int
	be.WalkMessages(func(i int, _ *service.Message, err error) bool {
		if err != nil {
			failed = append(failed, i)
		}
		return true
	})
	if fmt.Sprint(failed) != "[2]" {
		t.Fatalf("failed messages %v, want [2], the one over max_message_bytes", failed)
	}
	if recs := readTopic(t, c, "laps", 2); len(recs) != 2 || string(recs[0].Value) != `{"i":0}` || string(recs[1].Value) != `{"i":1}` {
		t.Fatalf("topic holds %d records, want messages 0 and 1 once each", len(recs))
	}
}

func TestKafkaFranzOutputKeysHeadersAndOrder(t *testing.T) {
	c := newCluster(t, 3, "laps")
	out := fmt.Sprintf(`
kafka_franz:
  seed_brokers: [ %q ]
  topic: '${! metadata("topic") }'
  key: '${! json("driver") }'
  max_in_flight: 1
  metadata:
    include_prefixes: [ "f1_" ]
`, strings.Join(c.ListenAddrs(), ","))

	drivers := []string{"VER", "NOR", "LEC", "HAM"}
	var batches []service.MessageBatch
	for lapN := 1; lapN <= 5; lapN++ {
		var batch service.MessageBatch
		for _, d := range drivers {
			m := service.NewMessage([]byte(fmt.Sprintf(`{"driver":%q,"lap":%d}`, d, lapN)))
			m.MetaSetMut("topic", "laps")
			m.MetaSetMut("f1_driver", d)
			m.MetaSetMut("f1_lap", lapN)
			m.MetaSetMut("internal", "not a header")
			batch = append(batch, m)
		}
		batches = append(batches, batch)
	}
	if err := writeThrough(t, out, batches...); err != nil {
		t.Fatal(err)
	}

	recs := readTopic(t, c, "laps", len(drivers)*5)
	lastLap := map[string]int{}
	partitionOf := map[string]int32{}
	for _, r := range recs {
		key := string(r.Key)
		headers := map[string]string{}
		for _, h := range r.Headers {
			headers[h.Key] = string(h.Value)
		}
		if headers["f1_driver"] != key || headers["f1_lap"] == "" || len(headers) != 2 {
			t.Fatalf("record %s has headers %v, want exactly f1_driver=%s and f1_lap", r.Value, headers, key)
		}
		var lapN int
		fmt.Sscanf(headers["f1_lap"], "%d", &lapN)
		if lapN != lastLap[key]+1 {
			t.Fatalf("key %s: lap %d after lap %d, want order kept", key, lapN, lastLap[key])
		}
		lastLap[key] = lapN
		if p, seen := partitionOf[key]; seen && p != r.Partition {
			t.Fatalf("key %s on partitions %d and %d, want one", key, p, r.Partition)
		}
		partitionOf[key] = r.Partition
		if !strings.Contains(string(r.Value), `"driver":"`+key+`"`) {
			t.Fatalf("record %s has key %s", r.Value, key)
		}
	}
}

func TestKafkaFranzOutputBatching(t *testing.T) {
	c := newCluster(t, 1, "laps")
	produces := countProduceRequests(c)
	out := fmt.Sprintf(`
kafka_franz:
  seed_brokers: [ %q ]
  topic: laps
  max_in_flight: 1
  batching:
    count: 5
`, c.ListenAddrs()[0])
	// One message per send would make ten produce requests; batching
	// groups them into two.
	var batches []service.MessageBatch
	for i := range 10 {
		batches = append(batches, jsonBatch(fmt.Sprintf(`{"n":%d}`, i)))
	}
	err := sendConcurrently(t, out, batches)
	if err != nil {
		t.Fatal(err)
	}
	readTopic(t, c, "laps", 10)
	if got := produces.Load(); got != 2 {
		t.Fatalf("produce requests = %d, want 2 batches of 5", got)
	}
}

// sendConcurrently runs a stream like writeThrough but sends every batch at
// once, as a busy input would, so that the output can batch them.
func sendConcurrently(t *testing.T, outputYAML string, batches []service.MessageBatch) error {
	t.Helper()
	stream, send := outputStream(t, outputYAML)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	go func() { _ = stream.Run(ctx) }()

	var wg sync.WaitGroup
	errs := make(chan error, len(batches))
	for _, batch := range batches {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- send(ctx, batch)
		}()
	}
	wg.Wait()
	close(errs)
	if err := stream.Stop(ctx); err != nil {
		t.Fatalf("stopping stream: %v", err)
	}
	for err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func TestKafkaFranzOutputCloseFlushes(t *testing.T) {
	c := newCluster(t, 1, "laps")
	// The input ends after seven messages, well short of a full batch: the
	// stream ends once they are delivered, and all of them must be there.
	const n = 7
	b := service.NewStreamBuilder()
	err := b.SetYAML(fmt.Sprintf(`
input:
  generate:
    count: %d
    interval: ""
    mapping: 'root.n = counter()'
output:
  kafka_franz:
    seed_brokers: [ %q ]
    topic: laps
    batching:
      count: 100
      period: 200ms
logger:
  level: off
`, n, c.ListenAddrs()[0]))
	if err != nil {
		t.Fatal(err)
	}
	stream, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := stream.Run(ctx); err != nil {
		t.Fatalf("stream run: %v", err)
	}
	recs := readTopic(t, c, "laps", n)
	for i, r := range recs {
		if want := fmt.Sprintf(`{"n":%d}`, i+1); string(r.Value) != want {
			t.Fatalf("record %d = %s, want %s", i, r.Value, want)
		}
	}
}

func TestKafkaFranzOutputCompression(t *testing.T) {
	want := map[string]kgo.CompressionCodecType{
		"none": kgo.CodecNone, "gzip": kgo.CodecGzip, "snappy": kgo.CodecSnappy, "lz4": kgo.CodecLz4, "zstd": kgo.CodecZstd,
	}
	value := strings.Repeat(`{"driver":"VER","time":[81.2,81.3,81.4]}`, 50)
	for name, codec := range want {
		t.Run(name, func(t *testing.T) {
			c := newCluster(t, 1, "tel")
			var mu sync.Mutex
			var seen []int8
			c.ControlKey(int16(kmsg.Produce), func(req kmsg.Request) (kmsg.Response, error, bool) {
				c.KeepControl()
				for _, topic := range req.(*kmsg.ProduceRequest).Topics {
					for _, p := range topic.Partitions {
						var rb kmsg.RecordBatch
						if err := rb.ReadFrom(p.Records); err != nil {
							t.Errorf("reading produced batch: %v", err)
						}
						mu.Lock()
						seen = append(seen, int8(rb.Attributes&0x07))
						mu.Unlock()
					}
				}
				return nil, nil, false
			})
			out := fmt.Sprintf("kafka_franz:\n  seed_brokers: [ %q ]\n  topic: tel\n  compression: %s\n", c.ListenAddrs()[0], name)
			if err := writeThrough(t, out, jsonBatch(value, value, value)); err != nil {
				t.Fatal(err)
			}
			recs := readTopic(t, c, "tel", 3)
			for _, r := range recs {
				if string(r.Value) != value {
					t.Fatalf("value changed through %s: %d bytes", name, len(r.Value))
				}
			}
			mu.Lock()
			defer mu.Unlock()
			if len(seen) == 0 {
				t.Fatal("no produce request seen")
			}
			for _, got := range seen {
				if got != int8(codec) {
					t.Fatalf("record batch codec = %d, want %d (%s)", got, codec, name)
				}
			}
		})
	}
}

func TestKafkaFranzOutputSASL(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "laps"),
		kfake.EnableSASL(), kfake.Superuser("SCRAM-SHA-512", "f1", "pit-wall"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	connect := func(pass string) error {
		conf, err := kafkaFranzOutputSpec().ParseYAML(fmt.Sprintf(`
seed_brokers: [ %q ]
topic: laps
sasl:
  - mechanism: SCRAM-SHA-512
    username: f1
    password: %s
`, c.ListenAddrs()[0], pass), nil)
		if err != nil {
			t.Fatal(err)
		}
		out, err := newFranzOutput(conf, service.MockResources())
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		defer out.Close(ctx)
		if err := out.Connect(ctx); err != nil {
			return err
		}
		return out.WriteBatch(ctx, jsonBatch(`{"lap":1}`))
	}
	if err := connect("pit-wall"); err != nil {
		t.Fatalf("with the right password: %v", err)
	}
	if err := connect("wrong"); err == nil {
		t.Fatal("with a wrong password: connected")
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.ConsumeTopics("laps"),
		kgo.SASL(scram.Auth{User: "f1", Pass: "pit-wall"}.AsSha512Mechanism()),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if recs := cl.PollFetches(ctx).Records(); len(recs) != 1 {
		t.Fatalf("records = %d, want the 1 written with the right password", len(recs))
	}
}

func TestKafkaFranzOutputCloseWaitsForWrites(t *testing.T) {
	c := newCluster(t, 2, "laps")
	out := connectDirectly(t, kafkaFranzOutputSpec(), fmt.Sprintf("seed_brokers: [ %q ]\ntopic: laps\n", c.ListenAddrs()[0]), newFranzOutput)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// Writers race with Close: every write that reported success must be
	// in Kafka, and none that failed.
	var wg sync.WaitGroup
	var acked atomic.Int64
	for w := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			batch := jsonBatch(`{"w":`+fmt.Sprint(w)+`,"i":1}`, `{"w":`+fmt.Sprint(w)+`,"i":2}`, `{"w":`+fmt.Sprint(w)+`,"i":3}`)
			if err := out.WriteBatch(ctx, batch); err == nil {
				acked.Add(int64(len(batch)))
			} else if err != service.ErrNotConnected {
				t.Errorf("write: %v", err)
			}
		}()
	}
	time.Sleep(5 * time.Millisecond)
	if err := out.Close(ctx); err != nil {
		t.Fatalf("close: %v", err)
	}
	wg.Wait()
	if acked.Load() == 0 {
		t.Fatal("no write finished before close; the test proves nothing")
	}
	readTopic(t, c, "laps", int(acked.Load()))
}

// clientCertFiles writes a self-signed client certificate and its key as PEM
// files, for configs whose TLS fields must name readable files.
func clientCertFiles(t *testing.T) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "f1fetch"}, NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "c.pem"), filepath.Join(dir, "c.key")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}
