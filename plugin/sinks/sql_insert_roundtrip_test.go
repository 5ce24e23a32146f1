package sinks

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/f1fetch/f1fetch/internal/testkit"
)

// On PostgreSQL a statement of several rows is one round trip and leaves no
// prepared statement behind. Prepared, executed and closed, each took three
// (Parse and Describe, Bind and Execute, Close, each up to a Sync), and
// executed through pgx's statement cache it would have stayed prepared.
func TestSQLInsertPostgresStatementInOneRoundTrip(t *testing.T) {
	dsn := testkit.PostgresDSN(t, "sql_insert round trips")
	tg := postgresTarget(dsn)(t)
	u, err := url.Parse(dsn)
	if err != nil || u.Host == "" {
		t.Skipf("%s is not a URL with a host: no proxy to count through", testkit.PostgresEnv)
	}
	p := newCountingProxy(t, u.Host)
	u.Host = p.addr
	table := uniqueTable(t, tg)
	proxied := tg
	proxied.dsn = u.String()
	o := connectDirectly(t, sqlInsertOutputSpec(), outputFields(sqlOutputYAML(proxied, table, lapsTable(table), "")), newSQLInsertOutput)

	const n = 700 // statements of 500 and 200 rows
	p.reset()
	if err := o.WriteBatch(context.Background(), seqBatch(n, func(i int) string { return lap(2025, "VER", i, float64(i)) })); err != nil {
		t.Fatalf("write: %v", err)
	}
	got := p.counts()
	// BEGIN and COMMIT go as simple queries, each statement up to a Sync.
	if trips := got.queries + got.syncs; trips != 2+2 {
		t.Errorf("%d round trips (%d simple queries, %d syncs) for a batch of 2 statements, want 4: BEGIN, one a statement, COMMIT", trips, got.queries, got.syncs)
	}
	if got.namedParses != 0 {
		t.Errorf("%d statements prepared under a name, want none", got.namedParses)
	}
	if c := count(t, tg, table); c != n {
		t.Fatalf("rows = %d, want %d", c, n)
	}

	// Statements of one number of rows, repeated in a batch, are prepared
	// once and executed each (parsing 500 rows once is faster than saving
	// the two round trips), and closed: BEGIN, prepare, 2 executions,
	// close, COMMIT.
	p.reset()
	if err := o.WriteBatch(context.Background(), seqBatch(1000, func(i int) string { return lap(2025, "LEC", i, float64(i)) })); err != nil {
		t.Fatalf("write: %v", err)
	}
	if got := p.counts(); got != (proxyCounts{queries: 2, syncs: 4, namedParses: 1}) {
		t.Errorf("two statements of 500 rows: counted %+v, want 2 simple queries, 4 syncs, 1 statement prepared", got)
	}
}

// Statements of several rows store what one row a statement, prepared,
// stores: text sent as text for the column to read (numbers, JSON, times
// written as text), NULLs, and the values pgx encodes for the column's type,
// []byte and time.Time, into BYTEA, TEXT, JSONB, TIMESTAMPTZ and TIMESTAMP.
// Sent in one round trip, pgx would have taken a []byte for BYTEA whatever
// the column: JSONB refused it, TEXT stored its hex.
func TestSQLInsertPostgresStatementsStoreWhatOneRowStores(t *testing.T) {
	tg := postgresTarget(testkit.PostgresDSN(t, "sql_insert value types"))(t)
	ddl := `id INTEGER PRIMARY KEY, i INTEGER, n NUMERIC, d DOUBLE PRECISION, b BOOLEAN, j JSONB, jb JSONB, t TEXT, tz TIMESTAMPTZ, ts TIMESTAMP, tt TEXT, by BYTEA`
	mapping := `this.id, this.i, this.n, this.d, this.b, this.j,
    if this.raw == true { this.jb.bytes() } else { this.jb },
    if this.raw == true { this.t.bytes() } else { this.t },
    if this.raw == true { this.tz.ts_parse("2006-01-02T15:04:05Z07:00") } else { this.tz },
    if this.raw == true { this.ts.ts_parse("2006-01-02T15:04:05Z07:00") } else { this.ts },
    if this.raw == true { this.tt.ts_parse("2006-01-02T15:04:05Z07:00") } else { this.tt },
    if this.raw == true { this.by.bytes() } else { this.by }`
	doc := func(i int) string {
		switch i % 4 {
		case 1: // []byte and time.Time values
			return fmt.Sprintf(`{"id":%d,"raw":true,"i":%d,"n":1e3,"d":0.1,"b":true,"j":{"a":[1,"x"]},"jb":"{\"b\": 2}","t":"caf\u00e9 \\x41 %d","tz":"2025-03-16T16:00:00+11:00","ts":"2025-03-16T16:00:00+11:00","tt":"2025-03-16T16:00:00+11:00","by":"\\x41 \\\\ %d"}`, i, i, i, i)
		case 2: // NULLs
			return fmt.Sprintf(`{"id":%d,"i":null,"n":null,"d":null,"b":null,"j":null,"jb":null,"t":null,"tz":null,"ts":null,"tt":null,"by":null}`, i)
		default: // text: times, JSON and bytes as text
			return fmt.Sprintf(`{"id":%d,"i":%d,"n":3.141592653589793238462643383279,"d":-0.0,"b":false,"j":[1,2.50,{"c":null}],"jb":"{\"b\": 2}","t":"caf\u00e9 %d","tz":"2025-03-16T16:00:00+11:00","ts":"2025-03-16 16:00:00","tt":"2025-03-16T16:00:00+11:00","by":"\\x0001ff"}`, i, i, i)
		}
	}
	const rows = 8
	var tables []string
	for _, insert := range []string{"oneByOne", "chunks"} {
		table := uniqueTable(t, tg) + "_" + strings.ToLower(insert)
		t.Cleanup(func() { tg.db.Exec("DROP TABLE IF EXISTS " + table) })
		tables = append(tables, table)
		o := connectDirectly(t, sqlInsertOutputSpec(), outputFields(insertYAML(tg, table, `id, i, n, d, b, j, jb, t, tz, ts, tt, by`, mapping, ddl)), newSQLInsertOutput)
		o.maxRows = 6 // a statement of 6 rows with []byte and time.Time, one of 2 of text alone
		batch := seqBatch(rows, doc)
		args := make([][]any, len(batch))
		m := batch.BloblangExecutor(o.argsMapping)
		for i := range batch {
			var err error
			if args[i], err = o.args(m, i); err != nil {
				t.Fatal(err)
			}
		}
		write := o.insertChunks
		if insert == "oneByOne" {
			write = o.insertOneByOne
		}
		if _, err := o.writeTx(context.Background(), args, nil, write); err != nil {
			t.Fatalf("%s: %v", insert, err)
		}
	}
	read := func(table string) [][]string {
		r, err := tg.db.Query(`SELECT id, i::text, n::text, d::text, b::text, j::text, jb::text, t, tz::text, ts::text, tt, encode(by, 'hex') FROM ` + table + ` ORDER BY id`)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		var out [][]string
		for r.Next() {
			var id int
			var v [11]*string
			ptrs := []any{&id}
			for k := range v {
				ptrs = append(ptrs, &v[k])
			}
			if err := r.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			row := []string{fmt.Sprint(id)}
			for _, s := range v {
				if s == nil {
					row = append(row, "NULL")
				} else {
					row = append(row, *s)
				}
			}
			out = append(out, row)
		}
		if err := r.Err(); err != nil {
			t.Fatal(err)
		}
		return out
	}
	want, got := read(tables[0]), read(tables[1])
	if len(want) != rows {
		t.Fatalf("one row a statement stored %d rows, want %d", len(want), rows)
	}
	for i := range want {
		if !slices.Equal(got[i], want[i]) {
			t.Errorf("row %d:\nseveral rows a statement %q\none row a statement     %q", i, got[i], want[i])
		}
	}
	// And what one row a statement stores is the value meant.
	for i, w := range map[int][]string{
		0: {"0", "0", "3.141592653589793238462643383279", "-0", "false", `[1, 2.50, {"c": null}]`, `{"b": 2}`, "café 0", "2025-03-16 05:00:00+00", "2025-03-16 16:00:00", "2025-03-16T16:00:00+11:00", "0001ff"},
		1: {"1", "1", "1000", "0.1", "true", `{"a": [1, "x"]}`, `{"b": 2}`, `café \x41 1`, "2025-03-16 05:00:00+00", "2025-03-16 16:00:00", "2025-03-16 16:00:00 +1100 +1100", hexOf(`\x41 \\ 1`)},
		2: {"2", "NULL", "NULL", "NULL", "NULL", "NULL", "NULL", "NULL", "NULL", "NULL", "NULL", "NULL"},
	} {
		if !slices.Equal(want[i], w) {
			t.Errorf("row %d stored %q, want %q", i, want[i], w)
		}
	}
}

func hexOf(s string) string { return fmt.Sprintf("%x", s) }

// countingProxy forwards connections to a PostgreSQL server and counts the
// messages the clients send: simple queries ('Q') but the pings with which
// pgx checks a connection database/sql takes from its pool after a second
// idle, syncs ('S', each ends a
// round trip of the extended protocol) and statements parsed under a name.
type countingProxy struct {
	addr string
	mu   sync.Mutex
	c    proxyCounts
}

type proxyCounts struct{ queries, syncs, namedParses int }

func (p *countingProxy) reset() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.c = proxyCounts{}
}

func (p *countingProxy) counts() proxyCounts {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.c
}

func newCountingProxy(t *testing.T, addr string) *countingProxy {
	p := &countingProxy{}
	p.addr = proxyTCP(t, addr, func(client, server net.Conn) {
		go func() { io.Copy(client, server); client.Close() }()
		go func() { p.forward(server, client); server.Close() }()
	})
	return p
}

// forward copies a client's messages to the server, counting them.
func (p *countingProxy) forward(dst io.Writer, src io.Reader) {
	var head [5]byte
	// Untyped first: SSL and GSS encryption requests (refused without
	// sslmode, and answered by a byte), then the startup message.
	for {
		if _, err := io.ReadFull(src, head[:4]); err != nil {
			return
		}
		body := make([]byte, binary.BigEndian.Uint32(head[:4])-4)
		if _, err := io.ReadFull(src, body); err != nil {
			return
		}
		if _, err := dst.Write(append(head[:4:4], body...)); err != nil {
			return
		}
		if code := binary.BigEndian.Uint32(body); code != 80877103 && code != 80877104 {
			break
		}
	}
	for {
		if _, err := io.ReadFull(src, head[:]); err != nil {
			return
		}
		body := make([]byte, binary.BigEndian.Uint32(head[1:])-4)
		if _, err := io.ReadFull(src, body); err != nil {
			return
		}
		p.mu.Lock()
		switch head[0] {
		case 'Q':
			if !bytes.HasPrefix(body, []byte("-- ping\x00")) {
				p.c.queries++
			}
		case 'S':
			p.c.syncs++
		case 'P':
			if name, _, _ := bytes.Cut(body, []byte{0}); len(name) > 0 {
				p.c.namedParses++
			}
		}
		p.mu.Unlock()
		if _, err := dst.Write(append(head[:], body...)); err != nil {
			return
		}
	}
}

// The proxy counts what it should: a prepared statement executed and closed
// is a named Parse and three syncs.
func TestCountingProxy(t *testing.T) {
	dsn := testkit.PostgresDSN(t, "the counting proxy")
	u, err := url.Parse(dsn)
	if err != nil || u.Host == "" {
		t.Skipf("%s is not a URL with a host", testkit.PostgresEnv)
	}
	p := newCountingProxy(t, u.Host)
	u.Host = p.addr
	tg := postgresTarget(u.String())(t)
	p.reset()
	stmt, err := tg.db.Prepare("SELECT $1::int")
	if err != nil {
		t.Fatal(err)
	}
	var v int
	if err := stmt.QueryRow(7).Scan(&v); err != nil || v != 7 {
		t.Fatalf("got %d, %v", v, err)
	}
	stmt.Close()
	if _, err := tg.db.Exec("SELECT 1"); err != nil {
		t.Fatal(err)
	}
	if got, want := p.counts(), (proxyCounts{queries: 1, syncs: 3, namedParses: 1}); got != want {
		t.Fatalf("counted %+v, want %+v", got, want)
	}
}
