package sinks

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/redpanda-data/benthos/v4/public/service"
)

// sqliteOutput builds, without connecting it, an sql_insert output of table
// into the SQLite file path, whose init_statement creates the table.
func sqliteOutput(t *testing.T, path, table string) *sqlInsertOutput {
	t.Helper()
	conf, err := sqlInsertOutputSpec().ParseYAML(fmt.Sprintf(`
driver: sqlite
dsn: %q
table: %s
columns: [ a ]
args_mapping: root = [ this.a ]
init_statement: 'CREATE TABLE IF NOT EXISTS %s (a INTEGER PRIMARY KEY, b TEXT)'
`, path, table, table), nil)
	if err != nil {
		t.Fatal(err)
	}
	o, err := newSQLInsertOutput(conf, service.MockResources())
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// holdWriteLock opens path with a connection of its own and takes the write
// lock, as another output converting the same new file does. The returned
// func, which the caller must call once, ends that transaction after
// creating a table in it. Its commit waits, as busy_timeout says, for the
// read lock each of Connect's pings takes.
func holdWriteLock(t *testing.T, path string) (release func() error) {
	t.Helper()
	ctx := context.Background()
	db, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	return func() error {
		defer db.Close()
		defer conn.Close()
		_, err := conn.ExecContext(ctx, "CREATE TABLE other (a INTEGER); COMMIT")
		return err
	}
}

// A new SQLite file is turned into WAL by the first connection's
// journal_mode pragma, in a read transaction it then upgrades to a write.
// SQLite never calls the busy handler for that upgrade, so while another
// connection held the write lock (as a sibling output converting the same
// file does), Connect failed at once with SQLITE_BUSY, whatever busy_timeout
// said. It waits instead, and connects once the lock is released.
func TestSQLInsertConnectWaitsForTheWriterOfANewFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f1.db")
	release := holdWriteLock(t, path)
	const held = 300 * time.Millisecond
	released := make(chan error, 1)
	go func() {
		time.Sleep(held)
		released <- release()
	}()

	o := sqliteOutput(t, path, "laps")
	start := time.Now()
	err := o.Connect(context.Background())
	took := time.Since(start)
	if err := <-released; err != nil {
		t.Fatalf("the other connection's write: %v", err)
	}
	if err != nil {
		t.Fatalf("Connect failed after %v, the other connection holding the write lock for %v: %v", took.Round(time.Millisecond), held, err)
	}
	defer o.Close(context.Background())
	var mode string
	if err := o.db.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Fatalf("journal_mode %q (%v), want wal", mode, err)
	}
}

// Waiting does not hide a lock that stays: once connectTimeout is over,
// Connect fails with SQLite's SQLITE_BUSY, naming the database.
func TestSQLInsertConnectFailsOnALockThatStays(t *testing.T) {
	defer func(d time.Duration) { connectTimeout = d }(connectTimeout)
	connectTimeout = 300 * time.Millisecond
	path := filepath.Join(t.TempDir(), "f1.db")
	release := holdWriteLock(t, path)
	defer func() {
		if err := release(); err != nil {
			t.Errorf("the other connection's write: %v", err)
		}
	}()

	o := sqliteOutput(t, path, "laps")
	start := time.Now()
	err := o.Connect(context.Background())
	took := time.Since(start)
	requireErrorNaming(t, err, "connecting to sqlite database", path, "SQLITE_BUSY")
	if took < connectTimeout || took > connectTimeout+2*time.Second {
		t.Fatalf("Connect failed after %v, want about connectTimeout (%v)", took, connectTimeout)
	}
}

// The outputs of one pipeline (session_to_sqlite.yaml has one per table),
// connecting at once to a new SQLite file, all connect the first time.
// Before Connect waited on SQLITE_BUSY, about 2% of the rounds had an
// output fail (16 of 1000, F1FETCH_SQLITE_CONNECT_ROUNDS=1000 go test -run
// TestSQLInsertOutputsConnectAtOnceToANewFile ./plugin/sinks), and 3 of
// these 20 once; F1FETCH_SQLITE_CONNECT_ROUNDS sets how many rounds run (20
// by default).
func TestSQLInsertOutputsConnectAtOnceToANewFile(t *testing.T) {
	rounds := 20
	if s := os.Getenv("F1FETCH_SQLITE_CONNECT_ROUNDS"); s != "" {
		var err error
		if rounds, err = strconv.Atoi(s); err != nil {
			t.Fatalf("F1FETCH_SQLITE_CONNECT_ROUNDS: %v", err)
		}
	}
	const outputs = 7
	failed := 0
	var first error
	for range rounds {
		path := filepath.Join(t.TempDir(), "f1.db")
		outs := make([]*sqlInsertOutput, outputs)
		for i := range outs {
			outs[i] = sqliteOutput(t, path, fmt.Sprintf("t%d", i))
		}
		errs := make([]error, outputs)
		var wg sync.WaitGroup
		for i, o := range outs {
			wg.Go(func() { errs[i] = o.Connect(context.Background()) })
		}
		wg.Wait()
		roundFailed := false
		for _, err := range errs {
			if err != nil {
				roundFailed = true
				if first == nil {
					first = err
				}
			}
		}
		if roundFailed {
			failed++
		}
		for _, o := range outs {
			o.Close(context.Background())
		}
	}
	if failed > 0 {
		t.Fatalf("%d of %d rounds of %d outputs connecting at once had a Connect fail; first: %v", failed, rounds, outputs, first)
	}
}
