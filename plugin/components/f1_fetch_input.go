package components

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/redpanda-data/benthos/v4/public/service"

	"github.com/f1fetch/f1fetch/config"
	"github.com/f1fetch/f1fetch/plugin/fetch"
	"github.com/f1fetch/f1fetch/plugin/session"
	"github.com/f1fetch/f1fetch/plugin/tuple"
)

const (
	fieldRequests  = "requests"
	fieldSessions  = "sessions"
	fieldPrefetch  = "prefetch"
	fieldYear      = "year"
	fieldGP        = "gp"
	fieldSession   = "session"
	fieldPath      = "path"
	fieldFiles     = "files"
	fieldDrivers   = "drivers"
	fieldLaptimes  = "laptimes"
	fieldTelemetry = "telemetry"
	fieldLaps      = "laps"

	fieldProgressInterval = "progress_interval"
)

// sessionFields describe a whole-session request; f1_expand reads the same
// shape from messages.
func sessionFields() []*service.ConfigField {
	return []*service.ConfigField{
		service.NewAnyField(fieldYear).Description("Season, 2018 to 2100 (number or string, as in `requests`)."),
		service.NewStringField(fieldGP).Description("Grand Prix folder, such as `Australian Grand Prix`."),
		service.NewStringField(fieldSession).Description("Session folder, such as `Qualifying`, `Race`, `Practice 1`."),
		service.NewStringListField(fieldFiles).Optional().
			Description(fmt.Sprintf("Session-level files. Default `%v`; files a season lacks answer 404 and are dropped (or flagged, per `on_not_found`).", session.DefaultFiles)),
		service.NewStringListField(fieldDrivers).Optional().Description("Driver codes. Default: every driver of `drivers.json`."),
		service.NewBoolField(fieldLaptimes).Default(true).Description("Fetch each driver's `laptimes.json`."),
		service.NewBoolField(fieldTelemetry).Default(true).Description("Fetch the telemetry `{lap}_tel.json` of the selected laps."),
		service.NewAnyField(fieldLaps).Default("all").
			Description("`all` (laps 1 to the highest timed lap, then the next ones until a 404), `fastest` (the lap with the lowest time in `laptimes.json`), `none`, or a list of lap numbers (not empty: `none` says no telemetry)."),
	}
}

func fetchInputSpec() *service.ConfigSpec {
	return service.NewConfigSpec().
		Beta().
		Categories("Integration").
		Summary("Fetches Formula 1 data files named in the config, single files or whole sessions, and emits their documents in order, then ends.").
		Description(`
`+"`requests`"+` lists tuples; `+"`sessions`"+` lists whole sessions: session files, each driver's lap times and the
telemetry of all laps, the fastest lap or a list of laps. The plan of a session is made as its documents arrive
(drivers come from `+"`drivers.json`"+`, laps from each `+"`laptimes.json`"+`).

Documents are emitted one message each, in plan order, while up to `+"`prefetch`"+` files are fetched ahead: memory
stays bounded by `+"`prefetch`"+` documents however slow the output. A message the output rejects is sent again
(at-least-once), before the next document, after a wait from its third rejection on (1 ms, doubling up to about a
second, as Benthos retries nacks); a rejected fetch failure is fetched again rather than replayed, since its source
may have recovered (a failure the plan reported in a document's place is replayed: fetching that file again would not
plan what it stands for). When every message is delivered the input ends, so `+"`f1fetch run`"+` exits 0.

Failures are emitted as messages flagged with an error and `+"`f1_error_kind`"+`, whose content is the tuple; 404s
are dropped and counted unless `+"`on_not_found: error`"+`. A document a session's plan needs but does not emit
(`+"`drivers.json`"+` left out of `+"`files`"+`, a `+"`laptimes.json`"+` with `+"`laptimes: false`"+`) that fails is emitted as such a
message in its place, so what the plan could not reach is never a silent gap; a driver whose `+"`laptimes.json`"+` is
not found has no laps to plan, and the 404 that ends a driver's laps under `+"`laps: all`"+` is the plan's answer, not a
missing file: it is never emitted (it counts in `+"`f1_requests`"+` as `+"`not_found`"+`). Metadata as the `+"`f1_fetch`"+`
processor.`).
		Fields(append(append(planFields(),
			progressIntervalField(),
			prefetchField(),
			onNotFoundField(),
		), engineFields()...)...).
		LintRule(inputLintRule).
		Example("Fastest laps", "The fastest lap of every driver in a session, with lap times, to stdout.", `
input:
  f1_fetch:
    sessions:
      - year: 2025
        gp: Australian Grand Prix
        session: Qualifying
        files: [drivers.json]
        laps: fastest
output:
  stdout: {}
`).
		Example("Explicit files", "Two files by tuple.", `
input:
  f1_fetch:
    requests:
      - { year: 2025, gp: Australian Grand Prix, session: Race, path: drivers.json }
      - { year: 2025, gp: Australian Grand Prix, session: Race, path: ALO/33_tel.json }
output:
  stdout: {}
`)
}

func init() {
	err := service.RegisterInput("f1_fetch", fetchInputSpec(),
		func(conf *service.ParsedConfig, mgr *service.Resources) (service.Input, error) {
			return newFetchInput(conf, mgr)
		})
	if err != nil {
		panic(err)
	}
}

// planFields are the input's fields that name what it fetches.
func planFields() []*service.ConfigField {
	return []*service.ConfigField{
		service.NewObjectListField(fieldRequests,
			service.NewAnyField(fieldYear).Description("Season (number or string)."),
			service.NewStringField(fieldGP),
			service.NewStringField(fieldSession),
			service.NewStringField(fieldPath).Description("File inside the session, such as `drivers.json` or `VER/3_tel.json`."),
		).Default([]any{}).Description("Single files to fetch, in order."),
		service.NewObjectListField(fieldSessions, sessionFields()...).Default([]any{}).Description("Whole sessions to fetch, in order, after the requests."),
	}
}

// progressIntervalField has its default as its example, for `f1fetch
// create` (see engineFields).
func progressIntervalField() *service.ConfigField {
	return service.NewDurationField(fieldProgressInterval).Optional().Example(shortDuration(config.Defaults().Component.ProgressInterval)).
		Description(describe("progress_interval", "How often progress is logged at info level: files done / planned, bytes, rate and ETA (the plan of a session grows as its documents arrive, so the ETA is a lower bound until it is complete). The same figures are the gauges `f1_progress_done`, `f1_progress_planned` and `f1_progress_bytes`. `0s` turns the log off; otherwise at least `10ms`. Default `10s`."))
}

func prefetchField() *service.ConfigField {
	return service.NewIntField(fieldPrefetch).Optional().Advanced().
		Description(describe("prefetch", fmt.Sprintf("Files fetched ahead of the output, bounding memory, at most %d. 0 means twice `max_concurrent_requests`. Default 0.", config.MaxPrefetch)))
}

// sessionRequest reads one session object (from config).
func sessionRequest(c *service.ParsedConfig) (session.Request, error) {
	var r session.Request
	var err error
	year, err := c.FieldAny(fieldYear)
	if err != nil {
		return r, err
	}
	if r.Year, err = tuple.YearOf(year); err != nil {
		return r, err
	}
	if r.GP, err = c.FieldString(fieldGP); err != nil {
		return r, err
	}
	if r.Session, err = c.FieldString(fieldSession); err != nil {
		return r, err
	}
	if c.Contains(fieldFiles) {
		if r.Files, err = c.FieldStringList(fieldFiles); err != nil {
			return r, err
		}
	}
	if c.Contains(fieldDrivers) {
		if r.Drivers, err = c.FieldStringList(fieldDrivers); err != nil {
			return r, err
		}
	}
	r = r.EmptyListsDefault()
	if r.Laptimes, err = c.FieldBool(fieldLaptimes); err != nil {
		return r, err
	}
	if r.Telemetry, err = c.FieldBool(fieldTelemetry); err != nil {
		return r, err
	}
	laps, err := c.FieldAny(fieldLaps)
	if err != nil {
		return r, err
	}
	if r.Laps, err = session.ParseLaps(laps); err != nil {
		return r, err
	}
	return r, r.Validate()
}

// pending is one planned file: its fetch runs ahead, its place is fixed.
type pending struct {
	t     tuple.Tuple
	probe bool // a lap after the timed ones: its 404 ends the driver's laps
	// planFailure: a document the plan needed and could not read or use,
	// reported in its place; its fetch is counted where it was made.
	planFailure bool
	done        chan struct{}
	res         fetch.Result
}

// delivery is a message the input sends, with what sending it again needs.
type delivery struct {
	msg         *service.Message // as emitted (the pipeline has a copy)
	t           tuple.Tuple      // fetched again when msg is a fetch's failure
	probe       bool             // as its pending's: a 404 fetched again ends the laps
	planFailure bool             // sent again as it is: fetching the file would not plan what it stands for
	attempts    int              // deliveries the output rejected so far
}

func (p *pending) wait() fetch.Result { <-p.done; return p.res }

type fetchInput struct {
	eng          *engine
	tuples       []tuple.Tuple
	sessions     []session.Request
	prefetch     int
	dropNotFound bool
	progress     *progress
	every        time.Duration // progress log interval, 0 for none

	client  *fetch.Shared // from Connect on
	queue   chan *pending // planned files in order, fetched ahead
	cancel  context.CancelFunc
	running sync.WaitGroup // the planner, its fetches and the progress reporter

	mu          sync.Mutex
	abandoned   *pending      // a file whose Read was cancelled, emitted next
	resendQ     []delivery    // messages the output rejected
	outstanding int           // messages emitted and not yet acknowledged
	wake        chan struct{} // an acknowledgement arrived
}

// requestTuples reads the requests field as plain values rather than as
// Benthos config objects, which cost about 10 us each: a noticeable part of
// the start of an input with a thousand inline requests. The spec's parse has
// checked each element's shape (gp, session and path strings, a year); the
// year's value and the tuple's rules are checked here.
func requestTuples(conf *service.ParsedConfig) ([]tuple.Tuple, error) {
	raw, err := conf.FieldAny(fieldRequests)
	if err != nil {
		return nil, err
	}
	list, _ := raw.([]any)
	tuples := make([]tuple.Tuple, 0, len(list))
	for i, item := range list {
		obj, _ := item.(map[string]any)
		gp, okGP := obj[fieldGP].(string)
		sess, okSession := obj[fieldSession].(string)
		path, okPath := obj[fieldPath].(string)
		if !okGP || !okSession || !okPath {
			return nil, fmt.Errorf("field %s[%d]: value %v: want an object with a year and the strings %s, %s and %s", fieldRequests, i, item, fieldGP, fieldSession, fieldPath)
		}
		t, err := tuple.FromValues(obj[fieldYear], gp, sess, path)
		if err != nil {
			return nil, fmt.Errorf("field %s[%d]: %w", fieldRequests, i, err)
		}
		tuples = append(tuples, t)
	}
	return tuples, nil
}

// planOf reads what the input fetches, the requests and the sessions, as
// the build and the lint rule (planLints) both do.
func planOf(conf *service.ParsedConfig) ([]tuple.Tuple, []session.Request, error) {
	tuples, err := requestTuples(conf)
	if err != nil {
		return nil, nil, err
	}
	sess, err := conf.FieldObjectList(fieldSessions)
	if err != nil {
		return nil, nil, err
	}
	var sessions []session.Request
	for i, sc := range sess {
		r, err := sessionRequest(sc)
		if err != nil {
			return nil, nil, fmt.Errorf("field sessions[%d]: %w", i, err)
		}
		sessions = append(sessions, r)
	}
	if len(tuples) == 0 && len(sessions) == 0 {
		return nil, nil, errors.New("field requests and field sessions: both empty; name at least one file or session")
	}
	return tuples, sessions, nil
}

func newFetchInput(conf *service.ParsedConfig, mgr *service.Resources) (*fetchInput, error) {
	in := &fetchInput{}
	var err error
	if in.tuples, in.sessions, err = planOf(conf); err != nil {
		return nil, err
	}
	in.progress = newProgress(mgr.Metrics())
	if in.eng, err = newEngine(conf, mgr); err != nil {
		return nil, err
	}
	in.dropNotFound = in.eng.own.OnNotFound != "error"
	in.every = in.eng.own.ProgressInterval
	if in.prefetch = in.eng.own.Prefetch; in.prefetch == 0 {
		in.prefetch = 2 * in.eng.settings.MaxConcurrent
	}
	return in, nil
}

// Connect acquires the client and starts the planner, which fetches ahead
// into the bounded queue.
func (in *fetchInput) Connect(context.Context) error {
	if in.queue != nil {
		return nil
	}
	c, err := in.eng.client()
	if err != nil {
		return err
	}
	in.client = c
	ctx, cancel := context.WithCancel(context.Background())
	in.cancel = cancel
	in.queue = make(chan *pending, in.prefetch)
	in.wake = make(chan struct{}, 1)
	in.running.Add(1)
	go in.plan(ctx)
	if in.every > 0 {
		in.running.Add(1)
		go func() {
			defer in.running.Done()
			in.progress.report(ctx, in.eng.log, in.every)
		}()
	}
	return nil
}

func (in *fetchInput) plan(ctx context.Context) {
	defer in.running.Done()
	defer close(in.queue)
	defer in.progress.planComplete()
	ctx = in.eng.paced(ctx)
	emit := func(t tuple.Tuple, probe bool) (func() fetch.Result, error) {
		p := &pending{t: t, probe: probe, done: make(chan struct{})}
		select {
		case in.queue <- p: // blocks while prefetch files wait for the output
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		in.progress.plan()
		in.running.Add(1)
		go func() {
			defer in.running.Done()
			p.res, _ = in.client.FetchOne(ctx, t)
			in.progress.finish(p.res)
			close(p.done)
		}()
		return p.wait, nil
	}
	// A document the plan needed and could not read, whose failure no
	// emitted message carries (drivers.json or a laptimes.json only read),
	// becomes a flagged message in its place: a gap in the session is never
	// silent.
	fail := func(res fetch.Result, carried bool) error {
		if carried {
			return nil
		}
		// Its fetch is in the metrics already (engine.read, or the Read of
		// the emitted document): emitting it counts no second request.
		p := &pending{t: res.Tuple, done: make(chan struct{}), res: res, planFailure: true}
		close(p.done)
		select {
		case in.queue <- p:
		case <-ctx.Done():
			return ctx.Err()
		}
		in.progress.plan()
		in.progress.finish(p.res)
		return nil
	}
	for _, t := range in.tuples {
		if _, err := emit(t, false); err != nil {
			return
		}
	}
	for _, r := range in.sessions {
		if err := session.Plan(ctx, r, emit, in.eng.read, fail); err != nil {
			if ctx.Err() == nil {
				in.eng.log.Errorf("f1_fetch: session %d %s %s: %v", r.Year, r.GP, r.Session, err)
			}
		}
	}
}

// Read emits the next document in plan order; messages the output rejected
// go first.
func (in *fetchInput) Read(ctx context.Context) (*service.Message, service.AckFunc, error) {
	for {
		if r, ok, _ := in.nextRejected(); ok {
			msg, t, err := in.resend(ctx, r)
			if msg == nil && err == nil {
				continue // fetched again, now a 404 to drop
			}
			return msg, t, err
		}
		p := in.takeAbandoned()
		if p == nil {
			select {
			case q, ok := <-in.queue:
				if !ok {
					return in.drain(ctx)
				}
				p = q
			case <-in.wake:
				continue
			case <-ctx.Done():
				return nil, nil, ctx.Err()
			}
		}
		var r fetch.Result
		select {
		case <-p.done:
			r = p.res
		case <-ctx.Done():
			in.requeue(p)
			return nil, nil, ctx.Err()
		}
		if !p.planFailure {
			in.eng.metrics.record(r)
		}
		if p.probe && isNotFound(r.Err) {
			continue // the end of a driver's laps, not a missing file
		}
		msg, ok := in.message(r)
		if !ok {
			continue
		}
		return in.track(delivery{msg: msg, t: p.t, probe: p.probe, planFailure: p.planFailure})
	}
}

// message is what the input emits for r: the document as the body, or a
// failure flagged with its tuple as content; not ok for a 404 to drop
// (counted).
func (in *fetchInput) message(r fetch.Result) (*service.Message, bool) {
	if in.dropNotFound && isNotFound(r.Err) {
		in.eng.metrics.notFoundDropped.Incr(1)
		return nil, false
	}
	msg := service.NewMessage(nil)
	if r.Err != nil {
		body, _ := json.Marshal(r.Tuple)
		msg.SetBytes(body)
	}
	applyResult(msg, r)
	return msg, true
}

func (in *fetchInput) takeAbandoned() *pending {
	in.mu.Lock()
	defer in.mu.Unlock()
	p := in.abandoned
	in.abandoned = nil
	return p
}

// requeue keeps a planned file whose Read was abandoned: it is emitted by the
// next Read, in its place.
func (in *fetchInput) requeue(p *pending) {
	in.mu.Lock()
	in.abandoned = p
	in.mu.Unlock()
}

// nextRejected takes the first rejected message, if any, and says how many
// messages are outstanding, under one lock: a nack moves a message from
// outstanding to the queue at once, so the two are never seen half done.
func (in *fetchInput) nextRejected() (r delivery, ok bool, outstanding int) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if len(in.resendQ) > 0 {
		r, ok = in.resendQ[0], true
		in.resendQ = in.resendQ[1:]
	}
	return r, ok, in.outstanding
}

// resendBackoff is how long a message rejected attempts times waits before
// it is sent again: nothing for the first two (a rejection is often a
// passing hiccup), then 1 ms doubling up to a second, as Benthos' own
// AutoRetryNacks does, so an output that rejects at once does not spin.
func resendBackoff(attempts int) time.Duration {
	if attempts <= 2 {
		return 0
	}
	return time.Millisecond << min(attempts-3, 10) // 1.024 s at most
}

// resend sends r again after its backoff. A document goes as fetched; a
// fetch's failure is fetched again, since the source may have recovered
// (and the output may be rejecting flagged messages, reject_errored, to
// have them retried). A failure the plan reported goes as it is: the file
// fetched again would be a document nobody asked for, and the laps or
// drivers it stood for would stay unplanned in silence. Nil with no error:
// the new fetch was a 404 to drop, or the probe's 404 that ends the laps.
func (in *fetchInput) resend(ctx context.Context, r delivery) (*service.Message, service.AckFunc, error) {
	if wait := resendBackoff(r.attempts); wait > 0 {
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			in.putBack(r)
			return nil, nil, ctx.Err()
		}
	}
	if r.msg.GetError() != nil && !r.planFailure {
		res, _ := in.client.FetchOne(in.eng.paced(ctx), r.t)
		if ctx.Err() != nil {
			in.putBack(r) // its Read was abandoned: the next one sends it
			return nil, nil, ctx.Err()
		}
		in.eng.metrics.record(res)
		if r.probe && isNotFound(res.Err) {
			return nil, nil, nil
		}
		msg, ok := in.message(res)
		if !ok {
			return nil, nil, nil
		}
		r.msg = msg
	}
	return in.track(r)
}

// putBack returns r to the front of the queue, for the next Read.
func (in *fetchInput) putBack(r delivery) {
	in.mu.Lock()
	in.resendQ = append([]delivery{r}, in.resendQ...)
	in.mu.Unlock()
}

// track counts r's message as outstanding until acknowledged; a nack queues
// it to be sent again (at-least-once). The pipeline gets a copy: processors
// such as mutation change a message in place, and what is sent again must
// be the document as fetched, not as the pipeline left it.
func (in *fetchInput) track(r delivery) (*service.Message, service.AckFunc, error) {
	in.mu.Lock()
	in.outstanding++
	in.mu.Unlock()
	return r.msg.Copy(), func(ctx context.Context, err error) error {
		in.mu.Lock()
		in.outstanding--
		if err != nil {
			r.attempts++
			in.resendQ = append(in.resendQ, r)
		}
		in.mu.Unlock()
		select {
		case in.wake <- struct{}{}:
		default:
		}
		return nil
	}, nil
}

// drain ends the input once the plan is done and every emitted message is
// acknowledged, sending again the ones that were not.
func (in *fetchInput) drain(ctx context.Context) (*service.Message, service.AckFunc, error) {
	for {
		r, ok, outstanding := in.nextRejected()
		if ok {
			msg, ack, err := in.resend(ctx, r)
			if msg == nil && err == nil {
				continue
			}
			return msg, ack, err
		}
		if outstanding == 0 {
			return nil, nil, service.ErrEndOfInput
		}
		select {
		case <-in.wake:
		case <-ctx.Done():
			return nil, nil, ctx.Err()
		}
	}
}

// Close stops the planner and its fetches, waits for them, and releases the
// client.
func (in *fetchInput) Close(context.Context) error {
	if in.cancel != nil {
		in.cancel()
		for range in.queue { // unblock and drain the planner
		}
		in.running.Wait()
	}
	in.eng.close()
	return nil
}
