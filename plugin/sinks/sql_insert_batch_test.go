package sinks

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redpanda-data/benthos/v4/public/service"

	"github.com/f1fetch/f1fetch/internal/testkit"
)

// Batches of many rows, as telemetry's: several statements to a batch, in
// the order of the batch, still one transaction, still the old semantics of
// conflicts and errors. On SQLite and on PostgreSQL.
func TestSQLInsertBatchesSQLite(t *testing.T) { runSQLInsertBatchSuite(t, sqliteTarget) }
func TestSQLInsertBatchesPostgres(t *testing.T) {
	runSQLInsertBatchSuite(t, postgresTarget(testkit.PostgresDSN(t, "sql_insert batches")))
}

func runSQLInsertBatchSuite(t *testing.T, target func(*testing.T) sqlTarget) {
	t.Run("every row of a batch of several statements, in order", func(t *testing.T) {
		tg := target(t)
		table := uniqueTable(t, tg)
		const n = 2345 // on PostgreSQL 4 statements of 500 rows and one of 345
		err := writeThrough(t, insertYAML(tg, table, `seq, driver, v`, `this.seq, this.driver, this.v`,
			`id `+autoID(tg)+`, seq INTEGER NOT NULL, driver TEXT, v DOUBLE PRECISION`), seqBatch(n, func(i int) string {
			return fmt.Sprintf(`{"seq":%d,"driver":"VER","v":%d.5}`, i, i)
		}))
		if err != nil {
			t.Fatalf("write: %v", err)
		}
		// The id the database gave each row follows the batch's order.
		rows, err := tg.db.Query("SELECT seq, v FROM " + table + " ORDER BY id")
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		i := 0
		for ; rows.Next(); i++ {
			var seq int
			var v float64
			if err := rows.Scan(&seq, &v); err != nil {
				t.Fatal(err)
			}
			if seq != i || v != float64(i)+0.5 {
				t.Fatalf("row %d by id: seq %d, v %v; want seq %d, v %d.5", i, seq, v, i, i)
			}
		}
		if err := rows.Err(); err != nil || i != n {
			t.Fatalf("rows = %d (%v), want %d", i, err, n)
		}
	})

	t.Run("200 columns: statements within the values a statement binds", func(t *testing.T) {
		// 700 rows of 200 values: 140,000 values; PostgreSQL binds 65,535
		// to a statement, 327 rows of these.
		tg := target(t)
		table := uniqueTable(t, tg)
		const cols, n = 200, 700
		var names, this, ddl []string
		for j := range cols {
			names = append(names, fmt.Sprintf("c%d", j))
			this = append(this, fmt.Sprintf("this.c%d", j))
			ddl = append(ddl, fmt.Sprintf("c%d INTEGER", j))
		}
		err := writeThrough(t, insertYAML(tg, table, strings.Join(names, ", "), strings.Join(this, ", "), strings.Join(ddl, ", ")),
			seqBatch(n, func(i int) string {
				var kv []string
				for j := range cols {
					kv = append(kv, fmt.Sprintf(`"c%d":%d`, j, i*cols+j))
				}
				return "{" + strings.Join(kv, ",") + "}"
			}))
		if err != nil {
			t.Fatalf("write: %v", err)
		}
		var count, sum0, sumLast, bad int
		if err := tg.db.QueryRow(fmt.Sprintf("SELECT COUNT(*), SUM(c0), SUM(c%d), SUM(CASE WHEN c57 = c0 + 57 THEN 0 ELSE 1 END) FROM %s", cols-1, table)).Scan(&count, &sum0, &sumLast, &bad); err != nil {
			t.Fatal(err)
		}
		wantSum0 := cols * n * (n - 1) / 2
		if count != n || sum0 != wantSum0 || sumLast != wantSum0+(cols-1)*n || bad != 0 {
			t.Fatalf("count %d, sum c0 %d, sum of the last column %d, rows with c57 wrong %d; want %d, %d, %d, 0", count, sum0, sumLast, bad, n, wantSum0, wantSum0+(cols-1)*n)
		}
	})

	// Message i is lap i % 700 with time i: in 1500 messages, laps 0-99
	// come three times, the others twice, the repeats in other statements
	// and in the same one.
	repeats := func() service.MessageBatch {
		return seqBatch(1500, func(i int) string { return lap(2025, "VER", i%700, float64(i)) })
	}

	t.Run("upsert: of a key repeated in one batch the last row wins", func(t *testing.T) {
		tg := target(t)
		table := uniqueTable(t, tg)
		out := sqlOutputYAML(tg, table, lapsTable(table), "conflict: upsert\nconflict_columns: [ year, driver, lap ]")
		short := jsonBatch(lap(2025, "VER", 1, 84.1), lap(2025, "VER", 2, 83.2), lap(2025, "VER", 1, 99.9), lap(2025, "LEC", 1, 85), lap(2025, "VER", 1, 70))
		if err := writeThrough(t, out, short); err != nil {
			t.Fatalf("write: %v", err)
		}
		if got := lapTime(t, tg, table, "VER", 1); got != 70 {
			t.Fatalf("VER lap 1 = %v, want the last row's 70", got)
		}
		if n := count(t, tg, table); n != 3 {
			t.Fatalf("rows = %d, want 3", n)
		}
		if _, err := tg.db.Exec("DELETE FROM " + table); err != nil {
			t.Fatal(err)
		}
		lastWins := func(l int) float64 {
			if l < 100 {
				return float64(l + 1400)
			}
			return float64(l + 700)
		}
		if err := writeThrough(t, out, repeats()); err != nil {
			t.Fatalf("write: %v", err)
		}
		requireLapTimes(t, tg, table, 700, lastWins)
		// So it is with statements of several rows alone: a statement
		// ends before a repeat.
		if _, err := tg.db.Exec("DELETE FROM " + table); err != nil {
			t.Fatal(err)
		}
		o := connectDirectly(t, sqlInsertOutputSpec(), outputFields(out), newSQLInsertOutput)
		if err := writeMultiRow(t, o, repeats()); err != nil {
			t.Fatalf("write: %v", err)
		}
		requireLapTimes(t, tg, table, 700, lastWins)
	})

	t.Run("do_nothing: of a key repeated in one batch the first row stays", func(t *testing.T) {
		tg := target(t)
		table := uniqueTable(t, tg)
		out := sqlOutputYAML(tg, table, lapsTable(table), "conflict: do_nothing\nconflict_columns: [ year, driver, lap ]")
		if err := writeThrough(t, out, jsonBatch(lap(2025, "VER", 5, -1))); err != nil {
			t.Fatalf("write: %v", err)
		}
		firstStays := func(l int) float64 {
			if l == 5 {
				return -1 // stored before
			}
			return float64(l)
		}
		if err := writeThrough(t, out, repeats()); err != nil {
			t.Fatalf("write: %v", err)
		}
		requireLapTimes(t, tg, table, 700, firstStays)
		// So it is with statements of several rows alone, repeats and all:
		// DO NOTHING skips a row that one before it in the statement stored.
		if _, err := tg.db.Exec("DELETE FROM " + table + " WHERE lap <> 5"); err != nil {
			t.Fatal(err)
		}
		o := connectDirectly(t, sqlInsertOutputSpec(), outputFields(out), newSQLInsertOutput)
		if err := writeMultiRow(t, o, repeats()); err != nil {
			t.Fatalf("write: %v", err)
		}
		requireLapTimes(t, tg, table, 700, firstStays)
	})

	t.Run("upsert: a repeat only the database sees", func(t *testing.T) {
		// 1.5 and 15e-1 are one DOUBLE PRECISION key. On PostgreSQL they
		// reach the server as the text they are written in, so the output
		// cannot see the repeat and one statement refuses both rows
		// (cardinality_violation); the batch is then written a row at a
		// time, and the last row wins as it always did.
		tg := target(t)
		table := uniqueTable(t, tg)
		o := connectDirectly(t, sqlInsertOutputSpec(), fmt.Sprintf(`
driver: %s
dsn: %q
table: %s
columns: [ k, v ]
args_mapping: root = [ this.k, this.v ]
init_statement: 'CREATE TABLE %s (k DOUBLE PRECISION PRIMARY KEY, v TEXT)'
conflict: upsert
conflict_columns: [ k ]
`, tg.driver, tg.dsn, table, table), newSQLInsertOutput)
		batch := jsonBatch(`{"k":1.5,"v":"first"}`, `{"k":2,"v":"other"}`, `{"k":15e-1,"v":"last"}`)
		if tg.driver == "postgres" {
			// Several rows to a statement alone fail here.
			requireErrorNaming(t, writeMultiRow(t, o, batch), "messages 0 to 2", "cannot affect row a second time")
		}
		if err := o.WriteBatch(context.Background(), batch); err != nil {
			t.Fatalf("write: %v", err)
		}
		var v string
		if err := tg.db.QueryRow("SELECT v FROM " + table + " WHERE k = 1.5").Scan(&v); err != nil || v != "last" {
			t.Fatalf("k 1.5: v %q (%v), want last", v, err)
		}
		if n := count(t, tg, table); n != 2 {
			t.Fatalf("rows = %d, want 2", n)
		}
	})

	t.Run("a refused row deep in a batch of several statements: it alone fails (with conflict), the error names it", func(t *testing.T) {
		tg := target(t)
		table := uniqueTable(t, tg)
		// Message 1700 breaks NOT NULL on driver.
		batch := func() service.MessageBatch {
			return seqBatch(2500, func(i int) string {
				if i == 1700 {
					return fmt.Sprintf(`{"year":2025,"driver":null,"lap":%d,"time":1}`, i)
				}
				return lap(2025, "VER", i, float64(i))
			})
		}
		// Without conflict nothing is stored (a resend would store the
		// others twice); with it, all but the refused row.
		err := writeThrough(t, sqlOutputYAML(tg, table, lapsTable(table), ""), batch())
		requireErrorNaming(t, err, table, "message 1700", "driver")
		if n := count(t, tg, table); n != 0 {
			t.Fatalf("rows = %d after a batch with one refused row, no conflict clause: want none", n)
		}
		err = writeThrough(t, sqlOutputYAML(tg, table, lapsTable(table), "conflict: do_nothing"), batch())
		requireErrorNaming(t, err, table, "message 1700", "driver")
		if n := count(t, tg, table); n != 2499 {
			t.Fatalf("rows = %d after a batch with one refused row, want 2499", n)
		}
		out := sqlOutputYAML(tg, table, lapsTable(table), "")
		if _, err := tg.db.Exec("DELETE FROM " + table); err != nil {
			t.Fatal(err)
		}
		// Message 1500 repeats message 5's key, with no conflict clause:
		// the rows collide across statements, and the batch is not stored.
		err = writeThrough(t, out, seqBatch(2500, func(i int) string {
			if i == 1500 {
				return lap(2025, "VER", 5, 0)
			}
			return lap(2025, "VER", i, float64(i))
		}))
		requireErrorNaming(t, err, table, "message 1500")
		if n := count(t, tg, table); n != 0 {
			t.Fatalf("rows = %d after a batch with a repeated key and no conflict clause, want none", n)
		}
		if _, err := tg.db.Exec("DELETE FROM " + table); err != nil {
			t.Fatal(err)
		}
		if err := writeThrough(t, out, seqBatch(2500, func(i int) string { return lap(2025, "VER", i, float64(i)) })); err != nil {
			t.Fatalf("writing after the rollbacks: %v", err)
		}
		if n := count(t, tg, table); n != 2500 {
			t.Fatalf("rows = %d, want 2500", n)
		}
	})

	t.Run("connections are kept for the next batches", func(t *testing.T) {
		// database/sql keeps 2 idle connections unless told: 4 batches in
		// flight opened and closed connections again and again.
		tg := target(t)
		table := uniqueTable(t, tg)
		o := connectDirectly(t, sqlInsertOutputSpec(), outputFields(sqlOutputYAML(tg, table, lapsTable(table), "")), newSQLInsertOutput)
		const writers, batches = 4, 10
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		var wg sync.WaitGroup
		errs := make(chan error, writers*batches)
		for w := range writers {
			wg.Go(func() {
				for b := range batches {
					errs <- o.WriteBatch(ctx, seqBatch(50, func(i int) string {
						return lap(2025, fmt.Sprintf("D%d", w), b*50+i, 1)
					}))
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		if n := count(t, tg, table); n != writers*batches*50 {
			t.Fatalf("rows = %d, want %d", n, writers*batches*50)
		}
		st := o.db.Stats()
		if st.MaxIdleClosed != 0 || st.OpenConnections > writers {
			t.Fatalf("%d connections closed for want of idle room, %d open, after %d batches %d at a time; want none closed, at most %d open", st.MaxIdleClosed, st.OpenConnections, writers*batches, writers, writers)
		}
	})
}

// writeMultiRow writes batch through o's statements of several rows alone,
// with no second try one row per statement. (On SQLite a statement takes one
// row: there it is what WriteBatch does.)
func writeMultiRow(t *testing.T, o *sqlInsertOutput, batch service.MessageBatch) error {
	t.Helper()
	mapping := batch.BloblangExecutor(o.argsMapping)
	args := make([][]any, len(batch))
	for i := range batch {
		var err error
		if args[i], err = o.args(mapping, i); err != nil {
			t.Fatal(err)
		}
	}
	_, err := o.writeTx(context.Background(), args, nil, o.insertChunks)
	return err
}

// outputFields is the YAML of sqlOutputYAML's output without its sql_insert
// key, for connectDirectly.
func outputFields(yaml string) string {
	return strings.ReplaceAll(strings.TrimPrefix(yaml, "\nsql_insert:"), "\n  ", "\n")
}

// autoID is a column type the database fills with increasing numbers.
func autoID(tg sqlTarget) string {
	if tg.driver == "postgres" {
		return "BIGSERIAL PRIMARY KEY"
	}
	return "INTEGER PRIMARY KEY"
}

// seqBatch makes a batch of n messages, message i being doc(i).
func seqBatch(n int, doc func(i int) string) service.MessageBatch {
	docs := make([]string, n)
	for i := range docs {
		docs[i] = doc(i)
	}
	return jsonBatch(docs...)
}

// requireLapTimes checks that table holds VER laps 0 to laps-1, and nothing
// else, each with time want(lap).
func requireLapTimes(t *testing.T, tg sqlTarget, table string, laps int, want func(lap int) float64) {
	t.Helper()
	if n := count(t, tg, table); n != laps {
		t.Fatalf("rows = %d, want %d", n, laps)
	}
	rows, err := tg.db.Query("SELECT lap, time FROM " + table + " WHERE driver = 'VER' ORDER BY lap")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	l := 0
	for ; rows.Next(); l++ {
		var got int
		var tm float64
		if err := rows.Scan(&got, &tm); err != nil {
			t.Fatal(err)
		}
		if got != l || tm != want(l) {
			t.Fatalf("lap %d time %v; want lap %d time %v", got, tm, l, want(l))
		}
	}
	if err := rows.Err(); err != nil || l != laps {
		t.Fatalf("laps = %d (%v), want %d", l, err, laps)
	}
}
