package components

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/redpanda-data/benthos/v4/public/service"

	"github.com/f1fetch/f1fetch/plugin/fetch"
	"github.com/f1fetch/f1fetch/plugin/session"
	"github.com/f1fetch/f1fetch/plugin/tuple"
)

func expandProcessorSpec() *service.ConfigSpec {
	return service.NewConfigSpec().
		Beta().
		Categories("Integration").
		Summary("Turns a session request message into one tuple message per file of the session, for pipelines that fan the fetching out over Kafka partitions or other workers.").
		Description(`
A message `+"`"+`{"year": 2025, "gp": "Australian Grand Prix", "session": "Qualifying", "laps": "fastest"}`+"`"+` becomes the
tuples of its session files, each driver's `+"`laptimes.json`"+` and the telemetry of the selected laps, in that order,
each a message `+"`"+`{"year": ..., "gp": ..., "session": ..., "path": ...}`+"`"+` ready for the `+"`f1_fetch`"+` processor.
The optional keys `+"`files`, `drivers`, `laptimes`, `telemetry`, `laps`"+` mean what they mean in the `+"`f1_fetch`"+` input
(an empty `+"`files`"+` or `+"`drivers`"+` list, as there, means the default: the session files, every driver);
any other key is refused (a misspelt `+"`telemtry`"+` would plan the whole session's telemetry).

To plan, the processor reads `+"`drivers.json`"+` (unless drivers are named) and each `+"`laptimes.json`"+` through the
shared client (and its cache); with `+"`laps: all`"+` it probes the laps after the highest timed lap until a 404.
A request it cannot read or plan keeps its content and is flagged with an error (`+"`f1_error_kind: bad_request`"+`
or the kind of the failed read), and none of its tuples go out: a `+"`drivers.json`"+` or `+"`laptimes.json`"+` it needs
that fails (other than a driver's `+"`laptimes.json`"+` not found: no laps), or a probed lap that fails other than with a
404, flags the whole request, so that retrying it expands the session whole. The 404 that ends a driver's laps is the
plan's answer, not a file: no tuple goes out for it. A message already flagged with an error by an earlier step
passes through unchanged, keeping its cause, unless it is this processor's own failure to read what the plan needs
(`+"`f1_error_kind`"+` `+"`network`"+`, `+"`invalid`"+` or `+"`not_found`"+`, in a `+"`catch`"+` or a `+"`switch`"+` on it): that request is
planned again.`).
		Fields(engineFields()...).
		LintRule(engineLintRule).
		Example("Fan out", "Session requests from Kafka become tuples on another topic, keyed by driver.", `
input:
  kafka_franz:
    seed_brokers: [ localhost:9092 ]
    topics: [ f1-sessions ]
    consumer_group: f1-expand
pipeline:
  processors:
    - f1_expand: {}
output:
  kafka_franz:
    seed_brokers: [ localhost:9092 ]
    topic: f1-tuples
    key: ${! json("path") }
`)
}

func init() {
	err := service.RegisterBatchProcessor("f1_expand", expandProcessorSpec(),
		func(conf *service.ParsedConfig, mgr *service.Resources) (service.BatchProcessor, error) {
			eng, err := newEngine(conf, mgr)
			if err != nil {
				return nil, err
			}
			return &expandProcessor{eng: eng}, nil
		})
	if err != nil {
		panic(err)
	}
}

type expandProcessor struct{ eng *engine }

// sessionMessage is the JSON shape of a session request.
type sessionMessage struct {
	Year      any      `json:"year"` // as a tuple's: tuple.YearOf
	GP        string   `json:"gp"`
	Session   string   `json:"session"`
	Files     []string `json:"files"`
	Drivers   []string `json:"drivers"`
	Laptimes  *bool    `json:"laptimes"`
	Telemetry *bool    `json:"telemetry"`
	Laps      any      `json:"laps"`
}

// parseSessionMessage reads and checks a session request. An unknown key is
// refused: a misspelt "telemtry": false would otherwise plan a whole
// session's telemetry.
func parseSessionMessage(raw []byte) (session.Request, error) {
	var m sessionMessage
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return session.Request{}, sessionMessageError(raw, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return session.Request{}, errors.New("session request: more than one JSON value")
	}
	year, err := tuple.YearOf(m.Year)
	if err != nil {
		return session.Request{}, err
	}
	laps, err := session.ParseLaps(m.Laps)
	if err != nil {
		return session.Request{}, err
	}
	r := session.Request{
		Year: year, GP: m.GP, Session: m.Session, Files: m.Files, Drivers: m.Drivers,
		Laptimes: m.Laptimes == nil || *m.Laptimes, Telemetry: m.Telemetry == nil || *m.Telemetry, Laps: laps,
	}.EmptyListsDefault()
	return r, r.Validate()
}

// sessionMessageFields are the keys of a session request, for errors.
const sessionMessageFields = "year, gp, session, files, drivers, laptimes, telemetry and laps"

// sessionMessageError says in the request's own terms (its field, its value,
// what the field takes) why encoding/json refused it.
func sessionMessageError(raw []byte, err error) error {
	if te, ok := errors.AsType[*json.UnmarshalTypeError](err); ok {
		if te.Field == "" {
			return fmt.Errorf("session request: want a JSON object of %s, got a JSON %s", sessionMessageFields, te.Value)
		}
		var fields map[string]json.RawMessage
		_ = json.Unmarshal(raw, &fields)
		field, _, _ := strings.Cut(te.Field, ".")
		want := map[string]string{"gp": "a string", "session": "a string", "files": "a list of strings",
			"drivers": "a list of strings", "laptimes": "true or false", "telemetry": "true or false"}[field]
		return fmt.Errorf("session request: field %s: value %s: want %s", field, tuple.Clip(string(fields[field])), want)
	}
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		return fmt.Errorf("session request: field %s not recognised (the fields are %s)", name, sessionMessageFields)
	}
	return fmt.Errorf("session request is not a JSON object of %s: %w", sessionMessageFields, err)
}

func (p *expandProcessor) ProcessBatch(ctx context.Context, batch service.MessageBatch) ([]service.MessageBatch, error) {
	ctx = p.eng.paced(ctx)
	var out service.MessageBatch
	for _, msg := range batch {
		raw, err := msg.AsBytes()
		var r session.Request
		if err == nil {
			r, err = parseSessionMessage(raw)
		}
		if msg.GetError() != nil {
			// Only its own failure to read what the plan needs is planned
			// again (in a catch, or a switch on @f1_error_kind); another
			// step's failure keeps its cause.
			if kind, _ := msg.MetaGet(metaErrorKind); err != nil || !refetchable[kind] {
				out = append(out, msg)
				continue
			}
		}
		if err != nil {
			flagged := msg.Copy()
			flagged.MetaSetMut(metaErrorKind, fetch.KindBadRequest)
			flagged.SetError(&fetch.BadRequestError{Err: err})
			out = append(out, flagged)
			continue
		}
		var planned service.MessageBatch
		emit := func(t tuple.Tuple, probe bool) (func() fetch.Result, error) {
			body, _ := json.Marshal(t)
			m := msg.Copy()
			m.SetBytes(body)
			m.SetError(nil) // a request planned again: its old failure is not the tuple's
			m.MetaDelete(metaErrorKind)
			setTupleMeta(m, t)
			planned = append(planned, m)
			at := len(planned) - 1
			return func() fetch.Result {
				res := p.eng.read(ctx, t)
				if probe && isNotFound(res.Err) {
					// The end of a driver's laps, not a file: the planner
					// waits for a probe before it plans anything else.
					planned = planned[:at]
				}
				return res
			}, nil
		}
		// Its tuples carry no fetch result: any document the plan could not
		// read flags the request, and none of its tuples go out (a retried
		// request then expands whole, once).
		failAll := func(res fetch.Result, _ bool) error { return res.Err }
		if err := session.Plan(ctx, r, emit, p.eng.read, failAll); err != nil {
			flagged := msg.Copy()
			flagged.MetaSetMut(metaErrorKind, fetch.ErrorKind(err))
			flagged.SetError(err)
			out = append(out, flagged)
			continue
		}
		out = append(out, planned...)
	}
	if len(out) == 0 {
		return nil, nil
	}
	return []service.MessageBatch{out}, nil
}

func (p *expandProcessor) Close(context.Context) error {
	p.eng.close()
	return nil
}
