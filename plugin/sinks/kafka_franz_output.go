package sinks

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/dustin/go-humanize"
	"github.com/redpanda-data/benthos/v4/public/service"

	"github.com/f1fetch/f1fetch/plugin/lint"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Field names of the kafka_franz output, as in Redpanda Connect.
const (
	kfoFieldTopic           = "topic"
	kfoFieldKey             = "key"
	kfoFieldPartitioner     = "partitioner"
	kfoFieldPartition       = "partition"
	kfoFieldMetadata        = "metadata"
	kfoFieldIncludePatterns = "include_patterns" // of metadata, Benthos' field
	kfoFieldTimestampMs     = "timestamp_ms"
	kfoFieldMaxInFlight     = "max_in_flight"
	kfoFieldBatching        = "batching"
	kfoFieldIdempotentWrite = "idempotent_write"
	kfoFieldCompression     = "compression"
	kfoFieldTimeout         = "timeout"
	kfoFieldMaxMessageBytes = "max_message_bytes"
	kfoFieldBrokerWriteMax  = "broker_write_max_bytes"
)

// kafkaFranzOutputExample is the documented example, parsed by the tests.
const kafkaFranzOutputExample = `
output:
  kafka_franz:
    seed_brokers: [ "localhost:9092" ]
    topic: 'f1-laps-${! metadata("f1_year") }'
    key: '${! metadata("f1_driver") }'
    max_in_flight: 1
    compression: zstd
    metadata:
      include_prefixes: [ "f1_" ]
    batching:
      count: 500
      period: 1s
`

func kafkaFranzOutputSpec() *service.ConfigSpec {
	return service.NewConfigSpec().
		Categories("Services").
		LintRule(lint.Rule(kafkaFranzOutputLintMethod)).
		Summary("Writes a batch of messages to Kafka brokers and waits for acknowledgement before propagating it back to the input.").
		Description(`
Each batch is produced with franz-go and acknowledged only after every broker that leads
a partition of it has stored its records, so that a failed write is retried by the
pipeline and nothing acknowledged is lost. Closing the output flushes what is buffered.

Records with the same key go to the same partition (murmur2_hash, as the Java client).
They keep their order as long as `+"`max_in_flight`"+` is 1; with more batches in flight,
batches may overtake each other.

Field names follow Redpanda Connect's kafka_franz output.`+service.OutputPerformanceDocs(true, true)).
		Fields(kafkaConnectionFields()...).
		Fields(
			service.NewInterpolatedStringField(kfoFieldTopic).
				Description("A topic to write messages to."),
			service.NewInterpolatedStringField(kfoFieldKey).
				Description("An optional key to populate for each message. An empty key means no key.").
				Optional(),
			service.NewStringEnumField(kfoFieldPartitioner, "murmur2_hash", "round_robin", "least_backup", "manual").
				Description("How records are spread over the partitions of a topic: `murmur2_hash` hashes the key as the Java client does (records without a key stick to a partition per batch), `round_robin` cycles through partitions, `least_backup` picks the partition with the fewest buffered records, `manual` uses the `partition` field.").
				Default("murmur2_hash").
				Advanced(),
			service.NewInterpolatedStringField(kfoFieldPartition).
				Description("The partition of each message, an integer, with `partitioner: manual` only.").
				Optional().
				Advanced(),
			service.NewMetadataFilterField(kfoFieldMetadata).
				Description("Which metadata of a message becomes record headers.").
				Optional(),
			service.NewInterpolatedStringField(kfoFieldTimestampMs).
				Description("An optional record timestamp, in milliseconds since the Unix epoch, such as `${! metadata(\"kafka_timestamp_ms\") }` (a consumed record's). When left empty the current time is used.").
				Optional().
				Advanced(),
			service.NewOutputMaxInFlightField().Default(10),
			service.NewBatchPolicyField(kfoFieldBatching),
			service.NewBoolField(kfoFieldIdempotentWrite).
				Description("Enable the idempotent producer, so that broker retries never duplicate a record.").
				Default(true).
				Advanced(),
			// snappy is franz-go's own default (its preference [snappy,
			// none] falls back only from zstd), so naming it changes
			// nothing; named, `f1fetch create` writes it rather than "",
			// which this enum refuses.
			service.NewStringEnumField(kfoFieldCompression, "none", "gzip", "snappy", "lz4", "zstd").
				Description("The compression codec of record batches.").
				Default("snappy").
				Advanced(),
			service.NewDurationField(kfoFieldTimeout).
				Description("The maximum time to wait for a batch to be acknowledged by the brokers.").
				Default("10s").
				Advanced(),
			service.NewStringField(kfoFieldMaxMessageBytes).
				Description("The largest record batch the client sends, for example `1MB`, between 512B and 1GiB and at most `broker_write_max_bytes`. It must not exceed the broker's `message.max.bytes`.").
				Default("1MB").
				Example("50MB").
				Advanced(),
			service.NewStringField(kfoFieldBrokerWriteMax).
				Description("The largest single write to a broker connection, between 1KiB and 1GiB; it matches the broker's `socket.request.max.bytes`. Raise it with it to send record batches above 100MiB.").
				Default("100MiB").
				Advanced(),
		).
		Example("Laps into a topic, keyed by driver", `
Every row of an f1_rows processor goes to the topic of its season, keyed by driver so
that a driver's laps stay in order on one partition.`, kafkaFranzOutputExample)
}

func init() {
	service.MustRegisterBatchOutput("kafka_franz", kafkaFranzOutputSpec(), buildFranzOutput)
}

// buildFranzOutput is the output's constructor, which its lint rule runs too.
var buildFranzOutput = batchedOutput(newFranzOutput, kfoFieldBatching, kfoFieldMaxInFlight)

// franzOutput produces each batch synchronously, so that the pipeline only
// acknowledges messages the brokers hold.
type franzOutput struct {
	opts      []kgo.Opt
	topic     *service.InterpolatedString
	key       *service.InterpolatedString // nil: no key
	partition *service.InterpolatedString // non-nil only with the manual partitioner
	timestamp *service.InterpolatedString // nil: produce time
	metadata  *service.MetadataFilter     // nil: no headers
	timeout   time.Duration
	log       *service.Logger

	mu     sync.RWMutex
	client *kgo.Client
}

func newFranzOutput(conf *service.ParsedConfig, mgr *service.Resources) (*franzOutput, error) {
	o := &franzOutput{log: mgr.Logger()}
	var err error
	if o.opts, err = kafkaClientOpts(conf); err != nil {
		return nil, err
	}
	if o.topic, err = conf.FieldInterpolatedString(kfoFieldTopic); err != nil {
		return nil, err
	}
	// Every record would fail with it, for ever (see record).
	if topic, static := o.topic.Static(); static && topic == "" {
		return nil, fmt.Errorf("field %s: must not be empty", kfoFieldTopic)
	}
	if o.key, err = optionalInterpolated(conf, kfoFieldKey); err != nil {
		return nil, err
	}
	if o.timestamp, err = optionalInterpolated(conf, kfoFieldTimestampMs); err != nil {
		return nil, err
	}
	if conf.Contains(kfoFieldMetadata) {
		patterns, err := conf.FieldStringList(kfoFieldMetadata, kfoFieldIncludePatterns)
		if err != nil {
			return nil, err
		}
		if err := regexpsError(kfoFieldMetadata+"."+kfoFieldIncludePatterns, patterns); err != nil {
			return nil, err
		}
		if o.metadata, err = conf.FieldMetadataFilter(kfoFieldMetadata); err != nil {
			return nil, fmt.Errorf("field %s: %w", kfoFieldMetadata, err)
		}
	}
	if o.timeout, err = conf.FieldDuration(kfoFieldTimeout); err != nil {
		return nil, err
	}
	if o.timeout <= 0 { // every write would have expired before it began
		return nil, fmt.Errorf("field %s: value %v: must be positive", kfoFieldTimeout, o.timeout)
	}

	partitioner, err := conf.FieldString(kfoFieldPartitioner)
	if err != nil {
		return nil, err
	}
	partition, err := optionalInterpolated(conf, kfoFieldPartition)
	if err != nil {
		return nil, err
	}
	switch partitioner {
	case "murmur2_hash":
		o.opts = append(o.opts, kgo.RecordPartitioner(kgo.StickyKeyPartitioner(nil)))
	case "round_robin":
		o.opts = append(o.opts, kgo.RecordPartitioner(kgo.RoundRobinPartitioner()))
	case "least_backup":
		o.opts = append(o.opts, kgo.RecordPartitioner(kgo.LeastBackupPartitioner()))
	case "manual":
		if partition == nil {
			return nil, fmt.Errorf("field %s: required with %s %q", kfoFieldPartition, kfoFieldPartitioner, partitioner)
		}
		o.partition = partition
		o.opts = append(o.opts, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	default:
		return nil, fmt.Errorf("field %s: unknown partitioner %q (want murmur2_hash, round_robin, least_backup or manual)", kfoFieldPartitioner, partitioner)
	}
	if partition != nil && partitioner != "manual" {
		return nil, fmt.Errorf("field %s: only used with %s manual, got %s %q", kfoFieldPartition, kfoFieldPartitioner, kfoFieldPartitioner, partitioner)
	}

	idempotent, err := conf.FieldBool(kfoFieldIdempotentWrite)
	if err != nil {
		return nil, err
	}
	if !idempotent {
		o.opts = append(o.opts, kgo.DisableIdempotentWrite())
	}

	compression, err := conf.FieldString(kfoFieldCompression)
	if err != nil {
		return nil, err
	}
	codec, err := compressionCodec(compression)
	if err != nil {
		return nil, err
	}
	o.opts = append(o.opts, kgo.ProducerBatchCompression(codec))

	// franz-go's own limits, checked here so that a bad value fails the
	// config naming its field rather than every Connect after it.
	batchMax, err := byteSize(conf, kfoFieldMaxMessageBytes, 512, 1<<30)
	if err != nil {
		return nil, err
	}
	writeMax, err := byteSize(conf, kfoFieldBrokerWriteMax, 1<<10, 1<<30)
	if err != nil {
		return nil, err
	}
	if batchMax > writeMax {
		return nil, fmt.Errorf("field %s: value %d bytes exceeds %s (%d bytes): raise %s with the broker's socket.request.max.bytes",
			kfoFieldMaxMessageBytes, batchMax, kfoFieldBrokerWriteMax, writeMax, kfoFieldBrokerWriteMax)
	}
	o.opts = append(o.opts, kgo.ProducerBatchMaxBytes(batchMax), kgo.BrokerMaxWriteBytes(writeMax))
	return o, nil
}

// byteSize reads a size field such as "1MB" or "100MiB" within [lo, hi] bytes.
func byteSize(conf *service.ParsedConfig, field string, lo, hi int32) (int32, error) {
	v, err := conf.FieldString(field)
	if err != nil {
		return 0, err
	}
	n, err := humanize.ParseBytes(v)
	if err != nil || n < uint64(lo) || n > uint64(hi) {
		return 0, fmt.Errorf("field %s: value %q: want a size between %s and %s such as 1MB",
			field, v, humanize.IBytes(uint64(lo)), humanize.IBytes(uint64(hi)))
	}
	return int32(n), nil
}

// optionalInterpolated reads an optional field: nil when it is left out or
// empty, as `f1fetch create` writes it.
func optionalInterpolated(conf *service.ParsedConfig, field string) (*service.InterpolatedString, error) {
	if !conf.Contains(field) {
		return nil, nil
	}
	if raw, err := conf.FieldString(field); err == nil && raw == "" {
		return nil, nil
	}
	return conf.FieldInterpolatedString(field)
}

func compressionCodec(name string) (kgo.CompressionCodec, error) {
	switch name {
	case "none":
		return kgo.NoCompression(), nil
	case "gzip":
		return kgo.GzipCompression(), nil
	case "snappy":
		return kgo.SnappyCompression(), nil
	case "lz4":
		return kgo.Lz4Compression(), nil
	case "zstd":
		return kgo.ZstdCompression(), nil
	}
	return kgo.CompressionCodec{}, fmt.Errorf("field %s: unknown codec %q (want none, gzip, snappy, lz4 or zstd)", kfoFieldCompression, name)
}

func (o *franzOutput) Connect(ctx context.Context) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.client != nil {
		return nil
	}
	client, err := kgo.NewClient(o.opts...)
	if err != nil {
		return fmt.Errorf("kafka_franz output: creating client: %w", err)
	}
	if err := client.Ping(ctx); err != nil {
		client.Close()
		return fmt.Errorf("kafka_franz output: reaching seed brokers: %w", err)
	}
	o.client = client
	return nil
}

func (o *franzOutput) WriteBatch(ctx context.Context, batch service.MessageBatch) error {
	o.mu.RLock()
	defer o.mu.RUnlock()
	if o.client == nil {
		return service.ErrNotConnected
	}

	records := make([]*kgo.Record, len(batch))
	for i := range batch {
		r, err := o.record(batch, i)
		if err != nil {
			return fmt.Errorf("kafka_franz output: message %d: %w", i, err)
		}
		records[i] = r
	}

	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	// ProduceSync lists the results in the order the records completed, not
	// the order they were given: a message is found by its record.
	index := make(map[*kgo.Record]int, len(records))
	for i, r := range records {
		index[r] = i
	}
	var batchErr *service.BatchError
	for _, res := range o.client.ProduceSync(ctx, records...) {
		if res.Err == nil {
			continue
		}
		i := index[res.Record]
		if batchErr == nil {
			batchErr = service.NewBatchError(batch, fmt.Errorf("kafka_franz output: producing to topic %q: %w", res.Record.Topic, res.Err))
		}
		batchErr = batchErr.Failed(i, res.Err)
	}
	if batchErr != nil {
		return batchErr
	}
	return nil
}

// record builds the Kafka record of message i of a batch.
func (o *franzOutput) record(batch service.MessageBatch, i int) (*kgo.Record, error) {
	value, err := batch[i].AsBytes()
	if err != nil {
		return nil, err
	}
	r := &kgo.Record{Value: value}
	if r.Topic, err = batch.TryInterpolatedString(i, o.topic); err != nil {
		return nil, fmt.Errorf("field %s: %w", kfoFieldTopic, err)
	}
	if r.Topic == "" {
		return nil, fmt.Errorf("field %s: interpolated to an empty topic", kfoFieldTopic)
	}
	if o.key != nil {
		key, err := batch.TryInterpolatedBytes(i, o.key)
		if err != nil {
			return nil, fmt.Errorf("field %s: %w", kfoFieldKey, err)
		}
		if len(key) > 0 {
			r.Key = key
		}
	}
	if o.partition != nil {
		s, err := batch.TryInterpolatedString(i, o.partition)
		if err != nil {
			return nil, fmt.Errorf("field %s: %w", kfoFieldPartition, err)
		}
		p, err := strconv.ParseInt(s, 10, 32)
		if err != nil || p < 0 {
			return nil, fmt.Errorf("field %s: want a partition number, got %q", kfoFieldPartition, s)
		}
		r.Partition = int32(p)
	}
	if o.timestamp != nil {
		s, err := batch.TryInterpolatedString(i, o.timestamp)
		if err != nil {
			return nil, fmt.Errorf("field %s: %w", kfoFieldTimestampMs, err)
		}
		ms, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("field %s: want milliseconds since the epoch, got %q", kfoFieldTimestampMs, s)
		}
		r.Timestamp = time.UnixMilli(ms)
	}
	if o.metadata != nil {
		_ = o.metadata.Walk(batch[i], func(k, v string) error {
			r.Headers = append(r.Headers, kgo.RecordHeader{Key: k, Value: []byte(v)})
			return nil
		})
	}
	return r, nil
}

// Close flushes every buffered record before closing the client, so that
// shutting down loses nothing that was handed to the client.
func (o *franzOutput) Close(ctx context.Context) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.client == nil {
		return nil
	}
	err := o.client.Flush(ctx)
	o.client.Close()
	o.client = nil
	if err != nil {
		return fmt.Errorf("kafka_franz output: flushing on close: %w", err)
	}
	return nil
}
