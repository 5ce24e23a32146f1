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

Metadata on every message: `+"`f1_year`, `f1_gp`, `f1_session`, `f1_path`, `f1_kind`, `f1_driver`, `f1_lap`, `f1_url`, `f1_source`, `f1_status`, `f1_cache`, `f1_attempts`, `f1_duration_ms`, `f1_bytes`"+`.
Every component with equal settings shares one client: one limiter, one cache, one connection per source.`).
		Fields(append([]*service.ConfigField{onNotFoundField()}, engineFields()...)...).
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

// ProcessBatch fetches every tuple of the batch at once and returns the
// documents in input order, failures flagged, dropped 404s counted.
func (p *fetchProcessor) ProcessBatch(ctx context.Context, batch service.MessageBatch) ([]service.MessageBatch, error) {
	tuples := make([]tuple.Tuple, 0, len(batch))
	index := make([]int, len(batch)) // message -> position in tuples, -1 when refused
	refused := make([]error, len(batch))
	for i, msg := range batch {
		index[i] = -1
		raw, err := msg.AsBytes()
		if err == nil {
			var t tuple.Tuple
			if t, err = tuple.Parse(raw); err == nil {
				index[i] = len(tuples)
				tuples = append(tuples, t)
				continue
			}
		}
		refused[i] = &fetch.BadRequestError{Err: err}
	}
	results := p.eng.client.FetchMany(p.eng.paced(ctx), tuples)

	out := make(service.MessageBatch, 0, len(batch))
	for i, msg := range batch {
		var r fetch.Result
		if index[i] < 0 {
			r = fetch.Result{Err: refused[i]}
		} else {
			r = results[index[i]]
		}
		p.eng.metrics.record(r)
		if p.dropNotFound && isNotFound(r.Err) {
			p.eng.metrics.notFoundDropped.Incr(1)
			continue
		}
		m := msg.Copy()
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
