package components

import (
	"context"
	"fmt"
	"strconv"

	"github.com/redpanda-data/benthos/v4/public/service"

	"github.com/f1fetch/f1fetch/plugin/fetch"
	"github.com/f1fetch/f1fetch/plugin/payload"
	"github.com/f1fetch/f1fetch/plugin/rows"
	"github.com/f1fetch/f1fetch/plugin/tuple"
)

func rowsProcessorSpec() *service.ConfigSpec {
	return service.NewConfigSpec().
		Beta().
		Categories("Parsing").
		Summary("Turns a column-oriented F1 document into one message per row (a lap, a telemetry sample, a weather reading, a driver), each carrying year, gp, session, driver and lap, ready for SQL.").
		Description(`
Reads documents emitted by `+"`f1_fetch`"+` (it uses their `+"`f1_year`, `f1_gp`, `f1_session` and `f1_path`"+` metadata).
Laptimes, session laptimes, telemetry, weather, race control messages and corners become one object per index of
their parallel arrays, with `+"`year`, `gp`, `session`, `driver`, `lap`"+` (where known) and `+"`row`"+` added; `+"`drivers.json`"+`
becomes one message per driver. An empty laptimes file yields no message. Each row message gets the metadata
`+"`f1_row`"+` and keeps the document's metadata, so outputs can route by `+"`f1_kind`"+`.

A message without that metadata, or with a body that is not a column document (an object with no array, such as
the tuple a failed fetch keeps as its content), is kept and flagged with an error and `+"`f1_error_kind: invalid`"+`.
So is a document with a column named like a field a row gets (`+"`year`, `gp`, `session`, `row`"+`, and `+"`driver`"+` or
`+"`lap`"+` where the row gets them) holding another value than the one added: the error names the column, the row and
both values. A column holding the same value on every row is written once.
Messages already flagged by an earlier error pass through unchanged.`).
		Field(service.NewBoolField("skip_errored").Default(true).Description("Pass messages already flagged with an error through unchanged. When false, a flagged message is turned into rows too, each row keeping the error; a flagged message that gives no row (an empty document, or a body that is not a column document, such as the tuple a failed fetch keeps) passes through unchanged, with its error and `f1_error_kind`: an error never vanishes.")).
		Example("Lap rows to SQLite", "Every lap of a session into a table.", `
input:
  f1_fetch:
    requests:
      - { year: 2025, gp: Australian Grand Prix, session: Race, path: ALO/laptimes.json }
      - { year: 2025, gp: Australian Grand Prix, session: Race, path: NOR/laptimes.json }
pipeline:
  processors:
    - f1_rows: {}
output:
  sql_insert:
    driver: sqlite
    dsn: file:f1.db
    table: laps
    columns: [ year, gp, session, driver, lap, time, compound ]
    args_mapping: root = [ this.year, this.gp, this.session, this.driver, this.lap, this.time, this.compound ]
    init_statement: CREATE TABLE IF NOT EXISTS laps (year INT, gp TEXT, session TEXT, driver TEXT, lap INT, time REAL, compound TEXT, PRIMARY KEY (year, gp, session, driver, lap))
    conflict: do_nothing
    conflict_columns: [ year, gp, session, driver, lap ]
`)
}

func init() {
	err := service.RegisterBatchProcessor("f1_rows", rowsProcessorSpec(),
		func(conf *service.ParsedConfig, mgr *service.Resources) (service.BatchProcessor, error) {
			skip, err := conf.FieldBool("skip_errored")
			if err != nil {
				return nil, err
			}
			return &rowsProcessor{skipErrored: skip, rows: mgr.Metrics().NewCounter("f1_rows")}, nil
		})
	if err != nil {
		panic(err)
	}
}

type rowsProcessor struct {
	skipErrored bool
	rows        *service.MetricCounter
}

// metaTuple rebuilds the tuple of a document from its f1_* metadata, as
// f1_fetch sets it or a mapping does (meta f1_year = this.year gives a
// JSON number, 2025.0 a float): each read as its text.
func metaTuple(msg *service.Message) (tuple.Tuple, error) {
	keys := []string{metaYear, metaGP, metaSession, metaPath}
	vals := make([]string, len(keys))
	for i, key := range keys {
		v, ok := msg.MetaGet(key)
		if !ok {
			return tuple.Tuple{}, fmt.Errorf("f1_rows needs the metadata %s, %s, %s and %s set by f1_fetch: %s is missing", metaYear, metaGP, metaSession, metaPath, key)
		}
		vals[i] = v
	}
	year, err := strconv.Atoi(vals[0])
	if err != nil {
		return tuple.Tuple{}, fmt.Errorf("f1_rows: metadata %s value %q: want a whole number, the season", metaYear, vals[0])
	}
	return tuple.New(year, vals[1], vals[2], vals[3])
}

// explode turns the document of msg into rows, by the tuple of its
// metadata.
func explode(msg *service.Message) ([][]byte, error) {
	t, err := metaTuple(msg)
	if err != nil {
		return nil, err
	}
	body, err := msg.AsBytes()
	if err != nil {
		return nil, err
	}
	return rows.Explode(body, rows.Meta{
		Year: t.Year, GP: t.GP, Session: t.Session, Driver: t.Driver(), Lap: t.Lap(), Kind: payload.KindOf(t.Path),
	})
}

func (p *rowsProcessor) ProcessBatch(_ context.Context, batch service.MessageBatch) ([]service.MessageBatch, error) {
	var out service.MessageBatch
	for _, msg := range batch {
		errored := msg.GetError() != nil
		if errored && p.skipErrored {
			out = append(out, msg)
			continue
		}
		docs, err := explode(msg)
		if errored && (err != nil || len(docs) == 0) {
			// The earlier failure is the cause (a failed fetch keeps its
			// tuple, no column document): the message goes on as it came,
			// never acked away without a row.
			out = append(out, msg)
			continue
		}
		if err != nil {
			flagged := msg.Copy()
			flagged.MetaSetMut(metaErrorKind, fetch.KindInvalid)
			flagged.SetError(fmt.Errorf("f1_rows: %w", err))
			out = append(out, flagged)
			continue
		}
		for i, d := range docs {
			m := msg.Copy()
			m.SetBytes(d)
			m.MetaSetMut(metaRow, i)
			out = append(out, m)
		}
		p.rows.Incr(int64(len(docs)))
	}
	if len(out) == 0 {
		return nil, nil
	}
	return []service.MessageBatch{out}, nil
}

func (p *rowsProcessor) Close(context.Context) error { return nil }
