package components

import (
	"context"

	"github.com/redpanda-data/benthos/v4/public/service"

	"github.com/f1fetch/f1fetch/plugin/fetch"
	"github.com/f1fetch/f1fetch/plugin/tuple"
)

func fetchProcessorSpec() *service.ConfigSpec {
	return service.NewConfigSpec().
		Beta().
		Categories("Integration").
		Summary("Fetches the Formula 1 data file named by each message, concurrently for the whole batch, and replaces the message with the parsed, normalised JSON document.").
		Description(`
Each message is a request tuple, an object `+"`"+`{"year": 2025, "gp": "Australian Grand Prix", "session": "Qualifying", "path": "VER/3_tel.json"}`+"`"+`
or an array `+"`"+`[2025, "Australian Grand Prix", "Qualifying", "VER/3_tel.json"]`+"`"+` (the year may be a string).
The batch is fetched concurrently over HTTP/2 within `+"`max_concurrent_requests`"+`, with retries, a circuit breaker per
source, coalescing of identical requests and a cache; the output batch keeps the input order.

A failed message keeps its content and is flagged with an error and the metadata `+"`f1_error_kind`"+` (`+"`not_found`"+`,
`+"`network`"+`, `+"`invalid`"+`, `+"`bad_request`"+`), so that `+"`catch`"+`, `+"`switch`"+` and dead-letter outputs can route it.
A tuple is refused before any network traffic when a field is missing or wrong. One failure never fails the others.

A message already flagged with an error is fetched again only when it is a fetch's own failure: its content a tuple
and its `+"`f1_error_kind`"+` `+"`not_found`"+`, `+"`network`"+` or `+"`invalid`"+` (inside a `+"`catch`"+`, whose processors see the flag
until the end of the block, or a `+"`switch`"+` on `+"`@f1_error_kind`"+`); the new result replaces the flag. Any other flagged
message (a session request `+"`f1_expand`"+` could not plan, a tuple an earlier step refused) passes through unchanged,
keeping its error and `+"`f1_error_kind`"+`, and costs no request.

Metadata on every message: `+"`f1_year`, `f1_gp`, `f1_session`, `f1_path`, `f1_kind`, `f1_driver`, `f1_lap`, `f1_url`, `f1_source`, `f1_status`, `f1_cache`, `f1_attempts`, `f1_duration_ms`, `f1_bytes`"+`.
Every component with equal settings shares one client: one limiter, one cache, one connection per source.`).
		Fields(append([]*service.ConfigField{onNotFoundField()}, engineFields()...)...).
		LintRule(engineLintRule).
		Example("Tuples to documents", "Fetch the tuples read from stdin, one per line, and write each document on a line.", `
input:
  stdin: {}
pipeline:
  processors:
    - f1_fetch:
        max_concurrent_requests: 20
output:
  stdout: {}
`)
}

func init() {
	err := service.RegisterBatchProcessor("f1_fetch", fetchProcessorSpec(),
		func(conf *service.ParsedConfig, mgr *service.Resources) (service.BatchProcessor, error) {
			return newFetchProcessor(conf, mgr)
		})
	if err != nil {
		panic(err)
	}
}

type fetchProcessor struct {
	eng          *engine
	dropNotFound bool
}

func newFetchProcessor(conf *service.ParsedConfig, mgr *service.Resources) (*fetchProcessor, error) {
	eng, err := newEngine(conf, mgr)
	if err != nil {
		return nil, err
	}
	return &fetchProcessor{eng: eng, dropNotFound: eng.own.OnNotFound != "error"}, nil
}

// Positions of a message that is not fetched.
const (
	refusedTuple = -1 // not a tuple: a bad_request
	passed       = -2 // flagged, not a fetch's own failure: goes on unchanged
)

// refetchable are the kinds of a fetch's own failure (its content is its
// tuple), which a later f1_fetch fetches again.
var refetchable = map[string]bool{fetch.KindNotFound: true, fetch.KindNetwork: true, fetch.KindInvalid: true}

// ProcessBatch fetches every tuple of the batch at once and returns the
// documents in input order, failures flagged, dropped 404s counted. A
// flagged message that is not a fetch's own failure goes on as it came:
// read as a tuple, its cause would give way to a bad_request.
func (p *fetchProcessor) ProcessBatch(ctx context.Context, batch service.MessageBatch) ([]service.MessageBatch, error) {
	tuples := make([]tuple.Tuple, 0, len(batch))
	index := make([]int, len(batch)) // message -> position in tuples, or refusedTuple, passed
	refused := make([]error, len(batch))
	for i, msg := range batch {
		index[i] = refusedTuple
		raw, err := msg.AsBytes()
		var t tuple.Tuple
		if err == nil {
			t, err = tuple.Parse(raw)
		}
		if msg.GetError() != nil {
			if kind, _ := msg.MetaGet(metaErrorKind); err != nil || !refetchable[kind] {
				index[i] = passed
				continue
			}
		}
		if err != nil {
			refused[i] = &fetch.BadRequestError{Err: err}
			continue
		}
		index[i] = len(tuples)
		tuples = append(tuples, t)
	}
	c, err := p.eng.client()
	if err != nil {
		return nil, err // Benthos flags every message of the batch with it
	}
	results := c.FetchMany(p.eng.paced(ctx), tuples)

	out := make(service.MessageBatch, 0, len(batch))
	for i, msg := range batch {
		var r fetch.Result
		switch index[i] {
		case passed:
			out = append(out, msg)
			continue
		case refusedTuple:
			r = fetch.Result{Err: refused[i]}
		default:
			r = results[index[i]]
		}
		p.eng.metrics.record(r)
		if p.dropNotFound && isNotFound(r.Err) {
			p.eng.metrics.notFoundDropped.Incr(1)
			continue
		}
		m := msg.Copy()
		m.SetError(nil) // a failure fetched again: the new result replaces it
		applyResult(m, r)
		out = append(out, m)
	}
	if len(out) == 0 {
		return nil, nil
	}
	return []service.MessageBatch{out}, nil
}

// Close releases this component's reference to the shared client.
func (p *fetchProcessor) Close(context.Context) error {
	p.eng.close()
	return nil
}
