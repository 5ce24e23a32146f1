package sinks

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redpanda-data/benthos/v4/public/service"

	"github.com/f1fetch/f1fetch/internal/testkit"
	"github.com/f1fetch/f1fetch/plugin/mirror/mirrortest"
	"github.com/f1fetch/f1fetch/plugin/payload"
	"github.com/f1fetch/f1fetch/plugin/rows"
)

// TestSQLInsertSpeed writes telemetry rows, as f1_rows makes them and
// pipelines/session_to_*.yaml store them (21 columns, ON CONFLICT DO
// NOTHING), one statement per row (as sql_insert did, and still does on
// SQLite) and several rows to a statement (as it does on PostgreSQL; on
// SQLite as many as on PostgreSQL, to compare), alternating in one process,
// and logs rows/s and the ratio; on PostgreSQL also statements of several
// rows prepared, executed and closed (as sql_insert sent them before). Into SQLite, and with
// F1FETCH_TEST_POSTGRES_DSN into PostgreSQL on loopback and through a proxy
// that holds every read for a while each way (a database further away; the
// log gives the round trip measured). Not a check: run it with
//
//	F1FETCH_SQL_SPEED=1 go test -run TestSQLInsertSpeed -v ./plugin/sinks/
//
// F1FETCH_SQL_SPEED=sweep also tries other rows per statement.
func TestSQLInsertSpeed(t *testing.T) {
	mode := os.Getenv("F1FETCH_SQL_SPEED")
	if mode == "" {
		t.Skip("set F1FETCH_SQL_SPEED=1 to measure")
	}
	dir := "test/Australian Grand Prix/Qualifying/VER"
	file := telemetryRows(t, dir, 1)                                                        // one file: 740 rows
	three := slices.Concat(file, telemetryRows(t, dir, 2), telemetryRows(t, dir, 3))[:2000] // 2000 rows of three files
	t.Logf("rows: %s/1_tel.json %d; 1-3_tel.json, first 2000", dir, len(file))

	type target struct {
		name, driver, dsn string
		rounds            int
	}
	targets := []target{{"sqlite", "sqlite", filepath.Join(t.TempDir(), "speed.db"), 7}}
	if dsn := os.Getenv(testkit.PostgresEnv); dsn != "" {
		targets = append(targets, target{"postgres, loopback", "postgres", dsn, 7})
		if u, err := url.Parse(dsn); err == nil && u.Host != "" {
			u.Host = delayProxy(t, u.Host, 500*time.Microsecond)
			targets = append(targets, target{"postgres, proxied", "postgres", u.String(), 3})
		}
	} else {
		t.Logf("%s not set: SQLite only", testkit.PostgresEnv)
	}

	for _, tg := range targets {
		table := fmt.Sprintf("telemetry_speed_%d", time.Now().UnixNano())
		o := connectDirectly(t, sqlInsertOutputSpec(), telemetryOutputYAML(tg.driver, tg.dsn, table), newSQLInsertOutput)
		if tg.driver == "sqlite" {
			o.maxRows = rowsPerStatement("postgres", len(o.columns)) // to compare: sql_insert writes one
		}
		t.Cleanup(func() { o.db.Exec("DROP TABLE IF EXISTS " + table) })
		ctx := context.Background()
		var rtt []time.Duration
		for range 50 {
			start := time.Now()
			if _, err := o.db.ExecContext(ctx, "SELECT 1"); err != nil {
				t.Fatal(err)
			}
			rtt = append(rtt, time.Since(start))
		}
		t.Logf("%-22s SELECT 1 takes %v (median of 50)", tg.name, median(rtt).Round(time.Microsecond))
		writes := 0
		// write stores batch under a session of its own, so that every
		// row is new, with insert, and returns the time it took.
		write := func(batch [][]byte, insert func(context.Context, *sql.Tx, [][]any, messageIndex) error) time.Duration {
			writes++
			msgs := make(service.MessageBatch, len(batch))
			for i, r := range batch {
				msgs[i] = service.NewMessage(bytes.Replace(r, []byte(`"session":"Qualifying"`), fmt.Appendf(nil, `"session":"S%d"`, writes), 1))
			}
			start := time.Now()
			mapping := msgs.BloblangExecutor(o.argsMapping)
			args := make([][]any, len(msgs))
			for i := range msgs {
				var err error
				if args[i], err = o.args(mapping, i); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := o.writeTx(ctx, args, nil, insert); err != nil {
				t.Fatal(err)
			}
			return time.Since(start)
		}
		for _, batch := range []struct {
			name string
			rows [][]byte
		}{{"one file, 740 rows", file}, {"2000 rows", three}} {
			write(batch.rows, o.insertChunks) // warm up: connection, statements, table
			var old, multi, prepared []time.Duration
			for r := range tg.rounds {
				if r%2 == 0 {
					old = append(old, write(batch.rows, o.insertOneByOne))
					multi = append(multi, write(batch.rows, o.insertChunks))
					prepared = append(prepared, write(batch.rows, preparedChunks(o)))
				} else {
					prepared = append(prepared, write(batch.rows, preparedChunks(o)))
					multi = append(multi, write(batch.rows, o.insertChunks))
					old = append(old, write(batch.rows, o.insertOneByOne))
				}
			}
			mo, mm, mp := median(old), median(multi), median(prepared)
			n := float64(len(batch.rows))
			t.Logf("%-22s %-19s a row a statement %8.0f rows/s (%v a batch), %d rows a statement %8.0f rows/s (%v): %.1fx; %d rounds, medians",
				tg.name, batch.name, n/mo.Seconds(), mo.Round(10*time.Microsecond), o.maxRows, n/mm.Seconds(), mm.Round(10*time.Microsecond), mo.Seconds()/mm.Seconds(), tg.rounds)
			t.Logf("%-22s %-19s %d rows a statement prepared, executed, closed %8.0f rows/s (%v a batch), as sql_insert sends them %8.0f rows/s (%v): %.2fx",
				tg.name, batch.name, o.maxRows, n/mp.Seconds(), mp.Round(10*time.Microsecond), n/mm.Seconds(), mm.Round(10*time.Microsecond), mp.Seconds()/mm.Seconds())
		}
		if mode == "sweep" {
			// Rows to a statement against the statements to prepare: each
			// cap in turn, rotating, every round.
			caps := []int{50, 100, 250, 500, 1000, 1500}
			limit := pgMaxParams
			if tg.driver == "sqlite" {
				limit = 32766 // SQLITE_MAX_VARIABLE_NUMBER of modernc.org/sqlite: 1560 rows of 21 values
			}
			defer func(m int) { o.maxRows = m }(o.maxRows)
			d := map[[2]int][]time.Duration{}
			for r := range tg.rounds * 2 {
				for k := range caps {
					c := caps[(k+r)%len(caps)]
					o.maxRows = min(c, limit/len(o.columns))
					for _, b := range [][][]byte{file, three} {
						d[[2]int{c, len(b)}] = append(d[[2]int{c, len(b)}], write(b, o.insertChunks))
					}
				}
			}
			for _, b := range [][][]byte{file, three} {
				var line []string
				for _, c := range caps {
					line = append(line, fmt.Sprintf("%d: %.0f", c, float64(len(b))/median(d[[2]int{c, len(b)}]).Seconds()))
				}
				t.Logf("%-22s %d rows, rows/s by rows a statement: %s", tg.name, len(b), strings.Join(line, ", "))
			}
		}
	}
}

// preparedChunks inserts as insertChunks did before a statement of text
// went to PostgreSQL in one round trip: each statement prepared (once for
// each number of rows), executed and closed, three round trips.
func preparedChunks(o *sqlInsertOutput) func(context.Context, *sql.Tx, [][]any, messageIndex) error {
	return func(ctx context.Context, tx *sql.Tx, rows [][]any, _ messageIndex) error {
		stmts := map[int]*sql.Stmt{}
		defer func() {
			for _, s := range stmts {
				s.Close()
			}
		}()
		var args []any
		for _, c := range chunks(rows, o.maxRows, nil) {
			n := c[1] - c[0]
			stmt := stmts[n]
			if stmt == nil {
				var err error
				if stmt, err = tx.PrepareContext(ctx, o.statement.rows(n)); err != nil {
					return err
				}
				stmts[n] = stmt
			}
			args = args[:0]
			for _, r := range rows[c[0]:c[1]] {
				args = append(args, r...)
			}
			if _, err := stmt.ExecContext(ctx, args...); err != nil {
				return err
			}
		}
		return nil
	}
}

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}

// telemetryRows is what f1_rows makes of dir/<lap>_tel.json of the shared
// corpus (as 2025), one JSON object per sample.
func telemetryRows(t *testing.T, dir string, lap int) [][]byte {
	t.Helper()
	rel := fmt.Sprintf("%s/%d_tel.json", dir, lap)
	body, err := os.ReadFile(filepath.Join(mirrortest.SharedTestdata(t), rel))
	if err != nil {
		t.Fatal(err)
	}
	doc, err := payload.Decode(rel, body, payload.Options{Validate: true, NormalizeMissing: true})
	if err != nil {
		t.Fatal(err)
	}
	out, err := rows.Explode(doc, rows.Meta{Year: 2025, GP: "Australian Grand Prix", Session: "Qualifying", Driver: "VER", Lap: lap, Kind: payload.KindTelemetry})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// telemetryOutputYAML is the telemetry output of pipelines/session_to_*.yaml.
func telemetryOutputYAML(driver, dsn, table string) string {
	return fmt.Sprintf(`
driver: %s
dsn: %q
table: %s
columns: [ year, gp, session, driver, lap, sample, time, rpm, speed, gear, throttle, brake, drs, distance, rel_distance, acc_x, acc_y, acc_z, x, y, z ]
args_mapping: |
  root = [ this.year, this.gp, this.session, this.driver, this.lap, this.row, this.time, this.rpm, this.speed, this.gear,
           this.throttle, this.brake, this.drs, this.distance, this.rel_distance, this.acc_x, this.acc_y, this.acc_z,
           this.x, this.y, this.z ]
init_statement: |
  CREATE TABLE IF NOT EXISTS %s (
    year INTEGER NOT NULL, gp TEXT NOT NULL, session TEXT NOT NULL, driver TEXT NOT NULL, lap INTEGER NOT NULL,
    sample INTEGER NOT NULL, time DOUBLE PRECISION, rpm DOUBLE PRECISION, speed DOUBLE PRECISION, gear INTEGER,
    throttle DOUBLE PRECISION, brake DOUBLE PRECISION, drs INTEGER, distance DOUBLE PRECISION, rel_distance DOUBLE PRECISION,
    acc_x DOUBLE PRECISION, acc_y DOUBLE PRECISION, acc_z DOUBLE PRECISION,
    x DOUBLE PRECISION, y DOUBLE PRECISION, z DOUBLE PRECISION,
    PRIMARY KEY (year, gp, session, driver, lap, sample)
  )
conflict: do_nothing
conflict_columns: [ year, gp, session, driver, lap, sample ]
max_in_flight: 1
`, driver, dsn, table, table)
}

// delayProxy listens on loopback and forwards every connection to addr,
// holding each answer read from addr for delay, so that a round trip takes
// longer: by at least 1 ms, as the Go runtime, idle, sleeps in whole
// milliseconds. It returns its address.
func delayProxy(t *testing.T, addr string, delay time.Duration) string {
	return proxyTCP(t, addr, func(client, server net.Conn) {
		go delayCopy(server, client, 0)
		go delayCopy(client, server, delay)
	})
}

// proxyTCP listens on loopback and joins each connection it accepts to a
// new one to addr with join, which copies both ways; every connection
// closes with the test. It returns its address.
func proxyTCP(t *testing.T, addr string, join func(client, server net.Conn)) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			d, err := net.Dial("tcp", addr)
			if err != nil {
				c.Close()
				continue
			}
			mu.Lock()
			conns = append(conns, c, d)
			mu.Unlock()
			join(c, d)
		}
	}()
	return ln.Addr().String()
}

// delayCopy copies src to dst, each read delay later than it came, in order.
func delayCopy(dst io.WriteCloser, src io.Reader, delay time.Duration) {
	type chunk struct {
		at time.Time
		b  []byte
	}
	q := make(chan chunk, 4096)
	go func() {
		defer dst.Close()
		for c := range q {
			if delay > 0 {
				time.Sleep(time.Until(c.at))
			}
			if _, err := dst.Write(c.b); err != nil {
				return
			}
		}
	}()
	defer close(q)
	buf := make([]byte, 64<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			q <- chunk{time.Now().Add(delay), bytes.Clone(buf[:n])}
		}
		if err != nil {
			return
		}
	}
}
