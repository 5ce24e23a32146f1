package sinks

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/redpanda-data/benthos/v4/public/service"

	"github.com/f1fetch/f1fetch/plugin/lint"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Field names of the kafka_franz input, as in Redpanda Connect.
const (
	kfiFieldTopics          = "topics"
	kfiFieldRegexpTopics    = "regexp_topics"
	kfiFieldConsumerGroup   = "consumer_group"
	kfiFieldStartFromOldest = "start_from_oldest"
	kfiFieldCommitPeriod    = "commit_period"
	kfiFieldCheckpointLimit = "checkpoint_limit"
	kfiFieldBatching        = "batching"

	kfiFieldSessionTimeout    = "session_timeout"
	kfiFieldRebalanceTimeout  = "rebalance_timeout"
	kfiFieldHeartbeatInterval = "heartbeat_interval"
)

// kafkaFranzInputExample is the documented example, parsed by the tests.
const kafkaFranzInputExample = `
input:
  kafka_franz:
    seed_brokers: [ "localhost:9092" ]
    topics: [ "f1-requests" ]
    consumer_group: f1fetch
    checkpoint_limit: 256
    batching:
      count: 50
      period: 500ms
`

func kafkaFranzInputSpec() *service.ConfigSpec {
	return service.NewConfigSpec().
		Categories("Services").
		LintRule(lint.Rule(kafkaFranzInputLintMethod)).
		Summary("Consumes topics as a member of a Kafka consumer group, committing offsets only for records the pipeline has delivered.").
		Description(`
Each batch holds records of one partition, in offset order. The offset of a record is
committed (every `+"`commit_period`"+`) only once it and every record before it in its
partition have been acknowledged by the output: delivery is at least once. A batch that
fails downstream is retried until it is delivered or the stream stops; an uncommitted
record is read again by whichever member owns its partition next.

Several instances with the same `+"`consumer_group`"+` split the partitions between them.
When partitions move to another member, this one stops emitting their records at once
and commits what has been acknowledged, so that the new owner resumes from there. A
member that dies without leaving keeps its partitions until `+"`session_timeout`"+` passes
without a heartbeat from it.

With a `+"`batching`"+` policy, a partly filled batch of a partition goes out once the
policy's `+"`period`"+` has passed since its first record was added; without a period, it
goes out as soon as the records of the fetch that filled it have all been added (as
Benthos' own Kafka inputs flush at the end of each poll), so records never wait for a
partition to receive more.

Field names follow Redpanda Connect's kafka_franz input.

### Metadata

Each message carries:

`+"```text"+`
- kafka_key
- kafka_topic
- kafka_partition
- kafka_offset
- kafka_timestamp_unix
- kafka_timestamp_ms
- every record header
`+"```"+`
`).
		Fields(kafkaConnectionFields()...).
		Fields(
			service.NewStringListField(kfiFieldTopics).
				Description("Topics to consume. An entry may hold several topics separated by commas, unless `regexp_topics` is true.").
				Example([]string{"f1-requests"}).
				Example([]string{"f1-laps-2024,f1-laps-2025"}),
			service.NewBoolField(kfiFieldRegexpTopics).
				Description("Whether the entries of `topics` are regular expressions (RE2 syntax) matched against the cluster's topics; each entry is one expression, commas included. An expression matches a topic whose name it matches anywhere (`f1-laps` also matches `old-f1-laps-2`): anchor it with `^...$` to match whole names.").
				Default(false).
				Advanced(),
			service.NewStringField(kfiFieldConsumerGroup).
				Description("The consumer group that the input joins and commits offsets for."),
			service.NewBoolField(kfiFieldStartFromOldest).
				Description("Where to start in a partition that has no committed offset: the oldest record when true, new records only when false.").
				Default(true),
			service.NewDurationField(kfiFieldCommitPeriod).
				Description("How often acknowledged offsets are committed.").
				Default("5s").
				Advanced(),
			service.NewIntField(kfiFieldCheckpointLimit).
				Description("How many records of one partition may be in flight (read but not yet acknowledged) at once. Lower it to bound the records read again after a crash. A partition at its limit, say behind a record the output keeps refusing, waits alone: the others are still fetched.").
				Default(1024).
				Advanced(),
			service.NewBatchPolicyField(kfiFieldBatching).
				Description("A batching policy applied to each partition on its own, so that a batch never mixes partitions and order is kept. A partial batch goes out when `period` has passed since its first record or, without a period, once the fetch that filled it has been added. Without a policy, a batch is the records of a partition fetched together (at most `checkpoint_limit`)."),
			service.NewDurationField(kfiFieldSessionTimeout).
				Description("How long the group coordinator waits for a heartbeat before it removes this member and hands its partitions to the others. Must lie within the broker's `group.min.session.timeout.ms` and `group.max.session.timeout.ms`.").
				Default("45s").
				Advanced(),
			service.NewDurationField(kfiFieldRebalanceTimeout).
				Description("How long members may take to rejoin the group once a rebalance has begun; a member that does not rejoin in time is removed.").
				Default("60s").
				Advanced(),
			service.NewDurationField(kfiFieldHeartbeatInterval).
				Description("How often this member sends heartbeats to the group coordinator. Must be shorter than `session_timeout`, typically a third of it at most.").
				Default("3s").
				Advanced(),
		).
		Example("Fan out f1fetch requests", `
Every instance joins the group f1fetch; the partitions of the requests topic are split
between them, and a request is committed once its document reached the output.`, kafkaFranzInputExample)
}

func init() {
	service.MustRegisterBatchInput("kafka_franz", kafkaFranzInputSpec(),
		func(conf *service.ParsedConfig, mgr *service.Resources) (service.BatchInput, error) {
			in, err := newFranzInput(conf, mgr)
			if err != nil {
				return nil, err
			}
			// Retrying nacked batches in place keeps the offsets of a
			// partition in order: the checkpoint below never passes them.
			return service.AutoRetryNacksBatched(in), nil
		})
}

// minGroupTimeout is the shortest session or rebalance timeout franz-go
// accepts; checking it here fails a bad config at start, not at Connect.
const minGroupTimeout = 100 * time.Millisecond

// groupTimingOpts reads the consumer-group timing fields.
func groupTimingOpts(conf *service.ParsedConfig) ([]kgo.Opt, error) {
	session, err := conf.FieldDuration(kfiFieldSessionTimeout)
	if err != nil {
		return nil, err
	}
	rebalance, err := conf.FieldDuration(kfiFieldRebalanceTimeout)
	if err != nil {
		return nil, err
	}
	heartbeat, err := conf.FieldDuration(kfiFieldHeartbeatInterval)
	if err != nil {
		return nil, err
	}
	if session < minGroupTimeout {
		return nil, fmt.Errorf("field %s: must be at least %v, got %v", kfiFieldSessionTimeout, minGroupTimeout, session)
	}
	if rebalance < minGroupTimeout {
		return nil, fmt.Errorf("field %s: must be at least %v, got %v", kfiFieldRebalanceTimeout, minGroupTimeout, rebalance)
	}
	if heartbeat <= 0 {
		return nil, fmt.Errorf("field %s: must be positive, got %v", kfiFieldHeartbeatInterval, heartbeat)
	}
	if heartbeat >= session {
		return nil, fmt.Errorf("field %s: must be shorter than %s (%v), got %v", kfiFieldHeartbeatInterval, kfiFieldSessionTimeout, session, heartbeat)
	}
	return []kgo.Opt{kgo.SessionTimeout(session), kgo.RebalanceTimeout(rebalance), kgo.HeartbeatInterval(heartbeat)}, nil
}

// franzInput consumes as a group member. A poll loop buffers fetched
// records per partition; ReadBatch hands out one partition's batch at a
// time; acknowledgements move each partition's commit mark forward over
// contiguous delivered batches only.
type franzInput struct {
	opts            []kgo.Opt
	policy          service.BatchPolicy
	period          time.Duration // the policy's period; 0: flush a partial batch at the end of its fetch
	checkpointLimit int
	res             *service.Resources
	log             *service.Logger

	mu       sync.Mutex
	client   *kgo.Client
	parts    map[topicPartition]*partitionState
	changed  chan struct{} // closed and replaced whenever parts change
	stopPoll context.CancelFunc
	pollDone chan struct{}
}

type topicPartition struct {
	topic     string
	partition int32
}

// partitionState is what the input holds of one assigned partition.
type partitionState struct {
	batcher  *service.Batcher // nil without a batching policy
	batched  int              // records added to batcher since its last flush
	lastAdd  *kgo.Record      // the newest record added to batcher
	due      time.Time        // with a period: when the batcher's content must go out
	ready    []*pendingBatch  // batches waiting for ReadBatch, in offset order
	inFlight []*pendingBatch  // batches read and not yet acknowledged, in offset order
	records  int              // records in inFlight
	dropped  bool             // revoked, lost or closed: acks no longer mark
	stalled  bool             // a batch was lost to a failing batch processor: never mark again
	paused   bool             // held by its checkpoint limit: not fetched until it frees (see pollLoop)
}

// pendingBatch is a batch of one partition and the record it commits.
type pendingBatch struct {
	msgs    service.MessageBatch
	last    *kgo.Record
	records int // records of the partition it covers (batch processors may change len(msgs))
	acked   bool
}

// minCommitPeriod is the shortest autocommit interval franz-go accepts.
const minCommitPeriod = 100 * time.Millisecond

func newFranzInput(conf *service.ParsedConfig, mgr *service.Resources) (*franzInput, error) {
	opts, err := kafkaClientOpts(conf)
	if err != nil {
		return nil, err
	}
	rawTopics, err := conf.FieldStringList(kfiFieldTopics)
	if err != nil {
		return nil, err
	}
	asRegexp, err := conf.FieldBool(kfiFieldRegexpTopics)
	if err != nil {
		return nil, err
	}
	var topics []string
	patterns := make([]string, len(rawTopics)) // with regexp_topics: by index of the field's entries
	for i, entry := range rawTopics {
		if !asRegexp {
			topics = append(topics, splitTrim(entry)...)
		} else if patterns[i] = strings.TrimSpace(entry); patterns[i] != "" {
			// One pattern, commas and all: split, f1-(laps|tel){1,2}
			// became two patterns that matched nothing meant, silently.
			topics = append(topics, patterns[i])
		}
	}
	if len(topics) == 0 {
		return nil, fmt.Errorf("field %s: at least one topic is required, got %q", kfiFieldTopics, rawTopics)
	}
	opts = append(opts, kgo.ConsumeTopics(topics...))
	if asRegexp {
		// franz-go compiles them only at Connect, refused there for ever.
		if err := regexpsError(kfiFieldTopics, patterns); err != nil {
			return nil, err
		}
		opts = append(opts, kgo.ConsumeRegex())
	}

	group, err := conf.FieldString(kfiFieldConsumerGroup)
	if err != nil {
		return nil, err
	}
	if group == "" {
		return nil, fmt.Errorf("field %s: must not be empty", kfiFieldConsumerGroup)
	}
	oldest, err := conf.FieldBool(kfiFieldStartFromOldest)
	if err != nil {
		return nil, err
	}
	start := kgo.NewOffset().AtEnd()
	if oldest {
		start = kgo.NewOffset().AtStart()
	}
	period, err := conf.FieldDuration(kfiFieldCommitPeriod)
	if err != nil {
		return nil, err
	}
	if period < minCommitPeriod {
		return nil, fmt.Errorf("field %s: must be at least %v, got %v", kfiFieldCommitPeriod, minCommitPeriod, period)
	}
	timing, err := groupTimingOpts(conf)
	if err != nil {
		return nil, err
	}
	opts = append(opts, timing...)
	opts = append(opts,
		kgo.ConsumerGroup(group),
		kgo.ConsumeResetOffset(start),
		kgo.AutoCommitMarks(),
		kgo.AutoCommitInterval(period),
		kgo.BlockRebalanceOnPoll(),
	)

	in := &franzInput{
		opts:    opts,
		res:     mgr,
		log:     mgr.Logger(),
		parts:   map[topicPartition]*partitionState{},
		changed: make(chan struct{}),
	}
	if in.checkpointLimit, err = conf.FieldInt(kfiFieldCheckpointLimit); err != nil {
		return nil, err
	}
	if in.checkpointLimit < 1 {
		return nil, fmt.Errorf("field %s: must be at least 1, got %d", kfiFieldCheckpointLimit, in.checkpointLimit)
	}
	if in.policy, err = conf.FieldBatchPolicy(kfiFieldBatching); err != nil {
		return nil, err
	}
	// Build one batcher now so that a bad policy fails at config time.
	if !in.policy.IsNoop() {
		b, err := in.policy.NewBatcher(mgr)
		if err != nil {
			return nil, fmt.Errorf("field %s: %w", kfiFieldBatching, err)
		}
		_ = b.Close(context.Background())
		if in.policy.Period != "" { // the batcher parsed it already
			if in.period, err = time.ParseDuration(in.policy.Period); err != nil {
				return nil, fmt.Errorf("field %s.period: %w", kfiFieldBatching, err)
			}
		}
	}
	return in, nil
}

func (in *franzInput) Connect(ctx context.Context) error {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.client != nil {
		return nil
	}
	opts := append(slices.Clone(in.opts),
		kgo.OnPartitionsRevoked(in.onRevoked),
		kgo.OnPartitionsLost(in.onLost),
	)
	client, err := kgo.NewClient(opts...)
	if err != nil {
		return fmt.Errorf("kafka_franz input: creating client: %w", err)
	}
	if err := client.Ping(ctx); err != nil {
		client.Close()
		return fmt.Errorf("kafka_franz input: reaching seed brokers: %w", err)
	}
	pollCtx, stop := context.WithCancel(context.Background())
	in.client, in.stopPoll, in.pollDone = client, stop, make(chan struct{})
	go in.pollLoop(pollCtx, client, in.pollDone)
	return nil
}

// pollLoop fetches while every batch that can be read has been, so that each
// partition buffers about one fetch. A partition whose waiting batch its
// checkpoint limit holds back (its batches in flight not acknowledged, say a
// record the output keeps refusing) does not count: it is paused instead
// (franz-go strips a paused partition's records from polls and fetches them
// again on resume) until an ack frees it, so it never stops the others. Only
// held partitions are paused: a resumed partition waits for the fetch in
// flight, up to its max wait, which the normal flow must not pay. Rebalances
// wait for AllowRebalance, so a revoke never races with buffering records of
// the revoked partitions.
func (in *franzInput) pollLoop(ctx context.Context, client *kgo.Client, done chan struct{}) {
	defer close(done)
	for in.waitDrained(ctx) {
		fetches := client.PollFetches(ctx)
		if ctx.Err() != nil || fetches.IsClientClosed() {
			client.AllowRebalance()
			return
		}
		fetches.EachError(func(topic string, partition int32, err error) {
			in.log.Warnf("kafka_franz input: fetching %s/%d: %v", topic, partition, err)
		})
		in.mu.Lock()
		fetches.EachPartition(func(p kgo.FetchTopicPartition) {
			if len(p.Records) > 0 {
				in.bufferLocked(ctx, p)
			}
		})
		in.signalLocked()
		in.mu.Unlock()
		client.AllowRebalance()
	}
}

// waitDrained blocks until no partition has a batch waiting that could be
// read; it pauses the partitions whose waiting batch is held back.
func (in *franzInput) waitDrained(ctx context.Context) bool {
	for {
		in.mu.Lock()
		drained := true
		for tp, st := range in.parts {
			if len(st.ready) == 0 {
				continue
			}
			if in.heldLocked(st) {
				in.pauseLocked(tp, st)
				continue
			}
			drained = false
			break
		}
		changed := in.changed
		in.mu.Unlock()
		if drained {
			return true
		}
		select {
		case <-ctx.Done():
			return false
		case <-changed:
		}
	}
}

// heldLocked reports whether the partition's next batch waits for its
// checkpoint limit; with nothing in flight a batch may always go.
func (in *franzInput) heldLocked(st *partitionState) bool {
	return len(st.ready) > 0 && st.records > 0 && st.records+st.ready[0].records > in.checkpointLimit
}

func (in *franzInput) pauseLocked(tp topicPartition, st *partitionState) {
	if !st.paused && in.client != nil {
		st.paused = true
		in.client.PauseFetchPartitions(map[string][]int32{tp.topic: {tp.partition}})
	}
}

// resumeIfFreeLocked fetches a paused partition again once its limit no
// longer holds its next batch back.
func (in *franzInput) resumeIfFreeLocked(tp topicPartition, st *partitionState) {
	if st.paused && !st.dropped && !in.heldLocked(st) && in.client != nil {
		st.paused = false
		in.client.ResumeFetchPartitions(map[string][]int32{tp.topic: {tp.partition}})
	}
}

func (in *franzInput) bufferLocked(ctx context.Context, p kgo.FetchTopicPartition) {
	tp := topicPartition{p.Topic, p.Partition}
	st := in.parts[tp]
	if st == nil {
		st = &partitionState{}
		if !in.policy.IsNoop() {
			var err error
			if st.batcher, err = in.policy.NewBatcher(in.res); err != nil {
				// The constructor built one already, so this is unexpected:
				// read unbatched, but never commit what could be re-read.
				st.stalled = true
				in.log.Errorf("kafka_franz input: batching policy for %s/%d: %v; its offsets are not committed by this member", tp.topic, tp.partition, err)
			}
		}
		in.parts[tp] = st
	}
	if st.batcher == nil {
		size := in.checkpointLimit
		if in.policy.Count == 1 { // Benthos counts "one message a batch" as no policy
			size = 1
		}
		for chunk := range slices.Chunk(p.Records, size) {
			msgs := make(service.MessageBatch, len(chunk))
			for i, r := range chunk {
				msgs[i] = recordToMessage(r)
			}
			st.ready = append(st.ready, &pendingBatch{msgs: msgs, last: chunk[len(chunk)-1], records: len(chunk)})
		}
		return
	}
	for _, r := range p.Records {
		if st.batched == 0 && in.period > 0 {
			// A batch's period runs from its first record. Flushing the
			// empty batcher restarts its own period clock too, so that
			// Add does not report an idle partition's first record due.
			_, _ = st.batcher.Flush(ctx)
			st.due = time.Now().Add(in.period)
		}
		st.batched++
		st.lastAdd = r
		if st.batcher.Add(recordToMessage(r)) {
			in.flushLocked(ctx, tp, st)
		}
	}
	if in.period == 0 && st.batched > 0 {
		// Nothing else of this fetch is coming: send what the policy holds
		// rather than wait for the partition to receive more.
		in.flushLocked(ctx, tp, st)
	}
}

// flushLocked turns the batcher's content into a ready batch.
func (in *franzInput) flushLocked(ctx context.Context, tp topicPartition, st *partitionState) {
	msgs, err := st.batcher.Flush(ctx)
	b := &pendingBatch{msgs: msgs, last: st.lastAdd, records: st.batched}
	st.batched, st.lastAdd = 0, nil
	if err != nil {
		// The records are gone from this member; committing past them would
		// lose them, so this partition is no longer committed here and is
		// read again from its last commit by its next owner.
		st.stalled = true
		in.log.Errorf("kafka_franz input: batching records of %s/%d failed, its offsets are no longer committed by this member: %v", tp.topic, tp.partition, err)
		return
	}
	// A batch that batch processors emptied stays in line: it counts as
	// delivered once the batches before it are.
	st.ready = append(st.ready, b)
}

func recordToMessage(r *kgo.Record) *service.Message {
	msg := service.NewMessage(r.Value)
	msg.MetaSetMut("kafka_key", string(r.Key))
	msg.MetaSetMut("kafka_topic", r.Topic)
	msg.MetaSetMut("kafka_partition", int(r.Partition))
	msg.MetaSetMut("kafka_offset", int(r.Offset))
	msg.MetaSetMut("kafka_timestamp_unix", r.Timestamp.Unix())
	msg.MetaSetMut("kafka_timestamp_ms", r.Timestamp.UnixMilli())
	for _, h := range r.Headers {
		msg.MetaSetMut(h.Key, string(h.Value))
	}
	return msg
}

func (in *franzInput) ReadBatch(ctx context.Context) (service.MessageBatch, service.AckFunc, error) {
	for {
		in.mu.Lock()
		if in.client == nil {
			in.mu.Unlock()
			return nil, nil, service.ErrNotConnected
		}
		next := in.flushDueLocked(ctx, time.Now())
		if tp, st, b := in.nextReadyLocked(); b != nil {
			st.ready = st.ready[1:]
			st.inFlight = append(st.inFlight, b)
			st.records += b.records
			in.signalLocked()
			in.mu.Unlock()
			return b.msgs, in.ackFunc(tp, st, b), nil
		}
		changed := in.changed
		in.mu.Unlock()

		// Sleep until the parts change or the next partial batch is due;
		// with none pending there is nothing to time.
		var timer *time.Timer
		var due <-chan time.Time
		if !next.IsZero() {
			timer = time.NewTimer(time.Until(next))
			due = timer.C
		}
		select {
		case <-ctx.Done():
		case <-changed:
		case <-due:
		}
		if timer != nil {
			timer.Stop()
		}
		if ctx.Err() != nil {
			return nil, nil, ctx.Err()
		}
	}
}

// flushDueLocked flushes the partial batches whose period has passed by now
// and returns when the earliest remaining one is due (zero if none is).
func (in *franzInput) flushDueLocked(ctx context.Context, now time.Time) time.Time {
	var next time.Time
	if in.period == 0 {
		return next
	}
	for tp, st := range in.parts {
		if st.batcher == nil || st.batched == 0 {
			continue
		}
		if st.due.After(now) {
			if next.IsZero() || st.due.Before(next) {
				next = st.due
			}
			continue
		}
		in.flushLocked(ctx, tp, st)
	}
	return next
}

// nextReadyLocked picks a partition with a batch that fits its checkpoint
// limit; a partition with nothing in flight may always send one.
func (in *franzInput) nextReadyLocked() (topicPartition, *partitionState, *pendingBatch) {
	for tp, st := range in.parts { // map order spreads reads over partitions
		for len(st.ready) > 0 && len(st.ready[0].msgs) == 0 {
			st.ready[0].acked = true
			st.inFlight = append(st.inFlight, st.ready[0])
			st.ready = st.ready[1:]
			in.advanceLocked(st)
			in.resumeIfFreeLocked(tp, st)
		}
		if len(st.ready) > 0 && !in.heldLocked(st) {
			return tp, st, st.ready[0]
		}
	}
	return topicPartition{}, nil, nil
}

// ackFunc marks the newest record up to which every batch of the partition
// has been delivered. AutoRetryNacksBatched retries failed batches itself,
// so it only calls this once a batch is delivered.
func (in *franzInput) ackFunc(tp topicPartition, st *partitionState, b *pendingBatch) service.AckFunc {
	return func(context.Context, error) error {
		in.mu.Lock()
		defer in.mu.Unlock()
		b.acked = true
		in.advanceLocked(st)
		in.resumeIfFreeLocked(tp, st)
		in.signalLocked()
		return nil
	}
}

// advanceLocked retires the delivered batches at the head of a partition's
// flight and marks the newest record they cover for the next commit.
func (in *franzInput) advanceLocked(st *partitionState) {
	var mark *kgo.Record
	for len(st.inFlight) > 0 && st.inFlight[0].acked {
		done := st.inFlight[0]
		st.inFlight = st.inFlight[1:]
		st.records -= done.records
		mark = done.last
	}
	if mark != nil && !st.dropped && !st.stalled && in.client != nil {
		in.client.MarkCommitRecords(mark)
	}
}

func (in *franzInput) signalLocked() {
	close(in.changed)
	in.changed = make(chan struct{})
}

// onRevoked stops emitting the revoked partitions and commits what has been
// delivered, so that their next owner resumes right after it.
func (in *franzInput) onRevoked(ctx context.Context, client *kgo.Client, revoked map[string][]int32) {
	in.dropPartitions(client, revoked)
	if err := client.CommitMarkedOffsets(ctx); err != nil {
		in.log.Warnf("kafka_franz input: committing on revoke: %v", err)
	}
}

// onLost stops emitting partitions that the group took away: committing for
// them would fail or rewind their new owner.
func (in *franzInput) onLost(_ context.Context, client *kgo.Client, lost map[string][]int32) {
	in.dropPartitions(client, lost)
}

// dropPartitions forgets the partitions' buffered records and resumes them:
// a pause outlives a rebalance, and a partition assigned here again must be
// fetched.
func (in *franzInput) dropPartitions(client *kgo.Client, topics map[string][]int32) {
	client.ResumeFetchPartitions(topics)
	in.mu.Lock()
	defer in.mu.Unlock()
	for topic, partitions := range topics {
		for _, p := range partitions {
			tp := topicPartition{topic, p}
			if st := in.parts[tp]; st != nil {
				in.dropLocked(st)
				delete(in.parts, tp)
			}
		}
	}
	in.signalLocked()
}

func (in *franzInput) dropLocked(st *partitionState) {
	st.dropped = true
	st.ready = nil
	if st.batcher != nil {
		_ = st.batcher.Close(context.Background())
	}
}

// Close stops polling, commits what has been delivered (Benthos waits for
// pending acknowledgements before closing an input) and leaves the group.
func (in *franzInput) Close(ctx context.Context) error {
	in.mu.Lock()
	client, stop, done := in.client, in.stopPoll, in.pollDone
	in.mu.Unlock()
	if client == nil {
		return nil
	}
	stop()
	select {
	case <-done:
	case <-ctx.Done():
		return ctx.Err()
	}
	err := client.CommitMarkedOffsets(ctx)

	in.mu.Lock()
	for tp, st := range in.parts {
		in.dropLocked(st)
		delete(in.parts, tp)
	}
	in.client = nil
	in.signalLocked()
	in.mu.Unlock()

	client.CloseAllowingRebalance()
	if err != nil {
		return fmt.Errorf("kafka_franz input: committing on close: %w", err)
	}
	return nil
}
