package sinks

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/f1fetch/f1fetch/internal/testkit"
	_ "github.com/redpanda-data/benthos/v4/public/components/io" // the file output
	"github.com/redpanda-data/benthos/v4/public/service"
	"modernc.org/sqlite"
)

// A row the database refuses for its data fails alone: the others of the
// batch are stored, and WriteBatch returns a BatchError that fails exactly
// that message, naming the table, the message and the database's reason.
func TestSQLInsertRefusedRowSQLite(t *testing.T) { runRefusedRowSuite(t, sqliteTarget) }
func TestSQLInsertRefusedRowPostgres(t *testing.T) {
	runRefusedRowSuite(t, postgresTarget(testkit.PostgresDSN(t, "sql_insert refused rows")))
}

func runRefusedRowSuite(t *testing.T, target func(*testing.T) sqlTarget) {
	// directly is the output over table, with conflict: do_nothing unless
	// conflict says otherwise ("" for none).
	directly := func(t *testing.T, tg sqlTarget, table, ddl string, conflict ...string) *sqlInsertOutput {
		clause := "conflict: do_nothing"
		if len(conflict) > 0 {
			clause = conflict[0]
		}
		return connectDirectly(t, sqlInsertOutputSpec(), fmt.Sprintf(`
driver: %s
dsn: %q
table: %s
columns: [ year, driver, lap, time, extra ]
args_mapping: root = [ this.year, this.driver, this.lap, this.time, this.extra ]
init_statement: %q
%s
`, tg.driver, tg.dsn, table, ddl, clause), newSQLInsertOutput)
	}

	t.Run("NOT NULL", func(t *testing.T) {
		tg := target(t)
		table := uniqueTable(t, tg)
		o := directly(t, tg, table, lapsTable(table))
		err := o.WriteBatch(context.Background(), jsonBatch(
			lap(2025, "VER", 1, 84.1),
			`{"year":2025,"driver":"VER","lap":null,"time":1}`,
			lap(2025, "VER", 2, 83.2)))
		reason := map[string]string{"sqlite": "NOT NULL constraint failed", "postgres": "23502"}[tg.driver]
		requireFailedExactly(t, err, map[int][]string{1: {"table " + table, "message 1", reason}})
		if n := count(t, tg, table); n != 2 {
			t.Fatalf("rows = %d, want the 2 the database took", n)
		}
	})

	t.Run("a value its column cannot take", func(t *testing.T) {
		// "None" into an INTEGER: PostgreSQL's 22P02; SQLite takes any value
		// into a column unless the table is STRICT, where it is
		// SQLITE_CONSTRAINT_DATATYPE (an extended code of 19).
		tg := target(t)
		table := uniqueTable(t, tg)
		ddl := lapsTable(table)
		if tg.driver == "sqlite" {
			ddl = strings.Replace(ddl, "DOUBLE PRECISION", "REAL", 1) + " STRICT"
		}
		o := directly(t, tg, table, ddl)
		err := o.WriteBatch(context.Background(), jsonBatch(
			`{"year":2025,"driver":"VER","lap":"None","time":1}`,
			lap(2025, "VER", 2, 83.2),
			lap(2025, "NOR", 2, 83.9),
			`{"year":2025,"driver":"NOR","lap":"None","time":1}`))
		// SQLite's message names the column; PostgreSQL's parameter is
		// named as its column.
		reason := map[string]string{"sqlite": "cannot store TEXT value in INTEGER column", "postgres": "22P02"}[tg.driver]
		requireFailedExactly(t, err, map[int][]string{0: {"message 0", reason, "lap"}, 3: {"message 3", reason, "lap"}})
		if tg.driver == "postgres" && !strings.Contains(err.Error(), "(column lap)") {
			t.Errorf("error %q does not name the column", err)
		}
		if n := count(t, tg, table); n != 2 {
			t.Fatalf("rows = %d, want 2", n)
		}
	})

	t.Run("a message args_mapping fails on fails alone, with conflict", func(t *testing.T) {
		tg := target(t)
		table := uniqueTable(t, tg)
		mapped := func(conflict string) *sqlInsertOutput {
			return connectDirectly(t, sqlInsertOutputSpec(), fmt.Sprintf(`
driver: %s
dsn: %q
table: %s
columns: [ year, driver, lap ]
args_mapping: root = [ this.year, this.driver, this.lap.number() ]
init_statement: %q
%s
`, tg.driver, tg.dsn, table, lapsTable(table), conflict), newSQLInsertOutput)
		}
		batch := func() service.MessageBatch {
			return jsonBatch(lap(2025, "VER", 1, 84.1), `{"year":2025,"driver":"VER","lap":"x"}`, lap(2025, "VER", 2, 83.2))
		}
		// Without conflict the batch is stored whole or not at all.
		err := mapped("").WriteBatch(context.Background(), batch())
		requireFailedExactly(t, err, map[int][]string{0: {"not stored", "conflict"}, 1: {"args_mapping", "message 1"}, 2: {"not stored"}})
		if n := count(t, tg, table); n != 0 {
			t.Fatalf("rows = %d without conflict, want none", n)
		}
		err = mapped("conflict: do_nothing").WriteBatch(context.Background(), batch())
		requireFailedExactly(t, err, map[int][]string{1: {"args_mapping", "message 1"}})
		if n := count(t, tg, table); n != 2 {
			t.Fatalf("rows = %d, want 2", n)
		}
	})

	t.Run("without conflict a refused row holds its batch back whole", func(t *testing.T) {
		tg := target(t)
		table := uniqueTable(t, tg)
		o := directly(t, tg, table, lapsTable(table), "")
		err := o.WriteBatch(context.Background(), jsonBatch(
			lap(2025, "VER", 1, 84.1), `{"year":2025,"driver":"VER","lap":null,"time":1}`, lap(2025, "VER", 2, 83.2)))
		reason := map[string]string{"sqlite": "NOT NULL constraint failed", "postgres": "23502"}[tg.driver]
		requireFailedExactly(t, err, map[int][]string{0: {"not stored", "conflict"}, 1: {"message 1", reason}, 2: {"not stored"}})
		if n := count(t, tg, table); n != 0 {
			t.Fatalf("rows = %d, want none: a resend of the batch must not store rows twice", n)
		}
	})

	t.Run("a deferred constraint refused at commit refuses the batch, once", func(t *testing.T) {
		// A deferred foreign key is checked at commit, where no row is named:
		// the batch is refused whole (every message fails, nothing stored),
		// not retried for ever. A row refused at once still names itself.
		tg := target(t)
		table, parent := uniqueTable(t, tg), uniqueTable(t, tg)
		ddl := fmt.Sprintf(`CREATE TABLE IF NOT EXISTS %s (id INTEGER PRIMARY KEY);
INSERT INTO %s VALUES (1) ON CONFLICT DO NOTHING;
CREATE TABLE IF NOT EXISTS %s (year INTEGER NOT NULL, driver TEXT NOT NULL, lap INTEGER NOT NULL REFERENCES %s (id) DEFERRABLE INITIALLY DEFERRED,
  time DOUBLE PRECISION, extra TEXT, PRIMARY KEY (year, driver, lap))`, parent, parent, table, parent)
		if tg.driver == "sqlite" {
			tg.dsn += "?_pragma=foreign_keys(1)" // SQLite checks foreign keys only when asked
		}
		reason := map[string]string{"sqlite": "FOREIGN KEY constraint failed", "postgres": "23503"}[tg.driver]
		notNull := map[string]string{"sqlite": "NOT NULL constraint failed", "postgres": "23502"}[tg.driver]
		for _, conflict := range []string{"conflict: do_nothing", ""} {
			o := directly(t, tg, table, ddl, conflict)
			err := o.WriteBatch(context.Background(), jsonBatch(
				lap(2025, "VER", 1, 84.1), lap(2025, "VER", 99, 83.2), lap(2025, "NOR", 1, 83.9)))
			requireFailedExactly(t, err, map[int][]string{0: {"not stored", "as a whole", "committing", reason}, 1: {"not stored", reason}, 2: {"not stored", reason}})
			err = o.WriteBatch(context.Background(), jsonBatch(
				lap(2025, "VER", 1, 84.1), `{"year":2025,"driver":"VER","lap":null,"time":1}`, lap(2025, "VER", 99, 83.2)))
			// With conflict the others are written and the commit refuses
			// them; without, the batch is held back at the first refusal.
			why := reason
			if conflict == "" {
				why = "without conflict"
			}
			requireFailedExactly(t, err, map[int][]string{0: {"not stored", why}, 1: {"message 1", notNull}, 2: {"not stored", why}})
			if n := count(t, tg, table); n != 0 {
				t.Fatalf("%q: rows = %d, want none", conflict, n)
			}
		}
	})

	t.Run("a refusal that ends the transaction refuses the batch, once", func(t *testing.T) {
		// SQLite's ON CONFLICT ROLLBACK on a column ends the transaction
		// with the refusal: nothing of the batch stays, and it is refused
		// whole rather than written again for ever. Message 0 fails its
		// mapping, so rows and messages are numbered apart.
		tg := target(t)
		if tg.driver != "sqlite" {
			t.Skip("SQLite's ON CONFLICT ROLLBACK")
		}
		table := uniqueTable(t, tg)
		ddl := strings.Replace(lapsTable(table), "lap INTEGER NOT NULL", "lap INTEGER NOT NULL ON CONFLICT ROLLBACK", 1)
		o := connectDirectly(t, sqlInsertOutputSpec(), fmt.Sprintf(`
driver: sqlite
dsn: %q
table: %s
columns: [ year, driver, lap, time, extra ]
args_mapping: root = [ this.year.number(), this.driver, this.lap, this.time, this.extra ]
init_statement: %q
conflict: do_nothing
`, tg.dsn, table, ddl), newSQLInsertOutput)
		err := o.WriteBatch(context.Background(), jsonBatch(
			`{"year":"x","driver":"VER","lap":1}`, lap(2025, "VER", 2, 84.1), `{"year":2025,"driver":"VER","lap":null,"time":1}`))
		requireFailedExactly(t, err, map[int][]string{0: {"args_mapping", "message 0"}, 1: {"not stored", "message 2 ended the transaction"}, 2: {"message 2", "NOT NULL"}})
		if n := count(t, tg, table); n != 0 {
			t.Fatalf("rows = %d, want none", n)
		}
	})

	t.Run("a trigger's RAISE EXCEPTION is the row's refusal", func(t *testing.T) {
		tg := target(t)
		if tg.driver != "postgres" {
			t.Skip("PL/pgSQL triggers")
		}
		table := uniqueTable(t, tg)
		ddl := lapsTable(table) + fmt.Sprintf(`;
CREATE OR REPLACE FUNCTION %[1]s_check() RETURNS trigger AS $$
BEGIN
  IF NEW.lap < 0 THEN RAISE EXCEPTION 'negative lap %%', NEW.lap; END IF;
  RETURN NEW;
END $$ LANGUAGE plpgsql;
CREATE TRIGGER %[1]s_check BEFORE INSERT ON %[1]s FOR EACH ROW EXECUTE FUNCTION %[1]s_check()`, table)
		o := directly(t, tg, table, ddl)
		err := o.WriteBatch(context.Background(), jsonBatch(lap(2025, "VER", 1, 84.1), lap(2025, "VER", -1, 83.2)))
		requireFailedExactly(t, err, map[int][]string{1: {"message 1", "negative lap -1", "P0001"}})
		if n := count(t, tg, table); n != 1 {
			t.Fatalf("rows = %d, want 1", n)
		}
	})

	t.Run("a key too long for its index is the row's refusal", func(t *testing.T) {
		// PostgreSQL's 54000 (program limit exceeded): a row the database
		// cannot take however often it is sent.
		tg := target(t)
		if tg.driver != "postgres" {
			t.Skip("PostgreSQL's index row limit")
		}
		table := uniqueTable(t, tg)
		o := directly(t, tg, table, lapsTable(table))
		// Text that does not compress, so that the index row stays long.
		rng := rand.New(rand.NewPCG(1, 2))
		b := make([]byte, 9000)
		for i := range b {
			b[i] = 'a' + byte(rng.IntN(26))
		}
		long := string(b)
		err := o.WriteBatch(context.Background(), jsonBatch(
			lap(2025, "VER", 1, 84.1), fmt.Sprintf(`{"year":2025,"driver":%q,"lap":1,"time":1}`, long), lap(2025, "VER", 2, 83.2)))
		requireFailedExactly(t, err, map[int][]string{1: {"message 1", "54000"}})
		if n := count(t, tg, table); n != 2 {
			t.Fatalf("rows = %d, want 2", n)
		}
	})
}

// requireFailedExactly fails unless err is a service.BatchError failing the
// messages of want, each with an error naming want's words, and no other.
func requireFailedExactly(t *testing.T, err error, want map[int][]string) {
	t.Helper()
	var bErr *service.BatchError
	if !errors.As(err, &bErr) {
		t.Fatalf("want a BatchError failing messages of %v, got %T %v", want, err, err)
	}
	failed := map[int]bool{}
	bErr.WalkMessages(func(i int, _ *service.Message, err error) bool {
		if err == nil {
			return true
		}
		failed[i] = true
		words, ok := want[i]
		if !ok {
			t.Errorf("message %d failed, want it stored: %v", i, err)
			return true
		}
		for _, w := range words {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("message %d: error %q does not name %q", i, err, w)
			}
		}
		return true
	})
	for i := range want {
		if !failed[i] {
			t.Errorf("message %d did not fail", i)
		}
	}
}

func TestRefusal(t *testing.T) {
	for _, c := range []struct {
		err  error
		want bool
	}{
		{fmt.Errorf("x: %w", testSQLiteError(t, "CREATE TABLE t (a INTEGER NOT NULL); INSERT INTO t VALUES (NULL)")), true},
		{testSQLiteError(t, "CREATE TABLE t (a INTEGER PRIMARY KEY); INSERT INTO t VALUES (1); INSERT INTO t VALUES (1)"), true},
		{testSQLiteError(t, "CREATE TABLE t (a INTEGER CHECK (a > 0)); INSERT INTO t VALUES (-1)"), true},
		{testSQLiteError(t, "INSERT INTO missing VALUES (1)"), false},
		{errors.New("connection refused"), false},
		{context.DeadlineExceeded, false},
		{nil, false},
	} {
		if got := refusal(c.err); got != c.want {
			t.Errorf("refusal(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}

// testSQLiteError runs stmts on a new in-memory SQLite database and returns
// the error, which must be a *sqlite.Error.
func testSQLiteError(t *testing.T, stmts string) error {
	t.Helper()
	db, err := sql.Open("sqlite", ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	_, err = db.Exec(stmts)
	var liteErr *sqlite.Error
	if !errors.As(err, &liteErr) {
		t.Fatalf("%s: want a *sqlite.Error, got %T %v", stmts, err, err)
	}
	return err
}

// SQLite busy is not the data's fault: no message fails, the output says it
// is not connected (Benthos then writes the batch again), and once the lock
// is gone the whole batch is stored.
func TestSQLInsertSQLiteBusyIsNotARefusal(t *testing.T) {
	defer func(p time.Duration) { retryPause = p }(retryPause)
	retryPause = time.Millisecond
	path := filepath.Join(t.TempDir(), "f1.db")
	table := "laps"
	o := connectDirectly(t, sqlInsertOutputSpec(), fmt.Sprintf(`
driver: sqlite
dsn: %q
table: %s
columns: [ year, driver, lap, time, extra ]
args_mapping: root = [ this.year, this.driver, this.lap, this.time, this.extra ]
init_statement: %q
conflict: do_nothing
`, "file:"+path+"?_pragma=busy_timeout(50)", table, lapsTable(table)), newSQLInsertOutput)

	other, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	other.SetMaxOpenConns(1)
	ctx := context.Background()
	conn, err := other.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	batch := jsonBatch(lap(2025, "VER", 1, 84.1), `{"year":2025,"driver":"VER","lap":null}`)
	err = o.WriteBatch(ctx, batch)
	var bErr *service.BatchError
	if !errors.Is(err, service.ErrNotConnected) || errors.As(err, &bErr) {
		t.Fatalf("write while locked: want ErrNotConnected and no failed message, got %T %v", err, err)
	}
	if _, err := conn.ExecContext(ctx, "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	conn.Close()
	if err := o.Connect(ctx); err != nil {
		t.Fatalf("connecting again: %v", err)
	}
	requireFailedExactly(t, o.WriteBatch(ctx, batch), map[int][]string{1: {"NOT NULL"}})
	var n int
	if err := other.QueryRow("SELECT COUNT(*) FROM " + table).Scan(&n); err != nil || n != 1 {
		t.Fatalf("rows = %d (%v), want 1", n, err)
	}
}

// A SQLite DSN that cannot be opened is named (masked) in the error.
func TestSQLInsertSQLiteOpenErrorNamesDSN(t *testing.T) {
	conf, err := sqlInsertOutputSpec().ParseYAML(`
driver: sqlite
dsn: /nonexistent/dir/f1.db
table: laps
columns: [ a ]
args_mapping: root = [ this.a ]
`, nil)
	if err != nil {
		t.Fatal(err)
	}
	o, err := newSQLInsertOutput(conf, service.MockResources())
	if err != nil {
		t.Fatal(err)
	}
	err = o.Connect(context.Background())
	requireErrorNaming(t, err, "field dsn", "/nonexistent/dir/f1.db", "unable to open database file")
}

// A connection lost mid-run is not a refusal: WriteBatch says it is not
// connected and fails no message, Connect fails while the server is gone,
// and once it is back the batch is written.
func TestSQLInsertPostgresLostConnectionIsNotARefusal(t *testing.T) {
	dsn := testkit.PostgresDSN(t, "sql_insert lost connection")
	defer func(p time.Duration) { retryPause = p }(retryPause)
	retryPause = time.Millisecond
	tg := postgresTarget(dsn)(t)
	table := uniqueTable(t, tg)

	var serverAddr string
	{
		cfgDB, err := sql.Open("pgx", dsn)
		if err != nil {
			t.Fatal(err)
		}
		var host string
		var port int
		err = cfgDB.QueryRow("SELECT host(inet_server_addr()), inet_server_port()").Scan(&host, &port)
		cfgDB.Close()
		if err != nil {
			t.Skipf("the server's address: %v (a Unix socket?)", err)
		}
		serverAddr = net.JoinHostPort(host, fmt.Sprint(port))
	}
	p := startProxy(t, serverAddr)
	proxied := strings.Replace(dsn, strings.Split(strings.SplitN(strings.SplitN(dsn, "@", 2)[1], "/", 2)[0], "?")[0], p.addr, 1)
	if !strings.Contains(proxied, p.addr) {
		t.Skipf("cannot point %s at the proxy", maskDSN(dsn))
	}
	o := connectDirectly(t, sqlInsertOutputSpec(), fmt.Sprintf(`
driver: postgres
dsn: %q
table: %s
columns: [ year, driver, lap, time, extra ]
args_mapping: root = [ this.year, this.driver, this.lap, this.time, this.extra ]
init_statement: %q
`, proxied, table, lapsTable(table)), newSQLInsertOutput)
	ctx := context.Background()
	batch := jsonBatch(lap(2025, "VER", 1, 84.1), lap(2025, "VER", 2, 83.2))

	p.stop()
	err := o.WriteBatch(ctx, batch)
	var bErr *service.BatchError
	if !errors.Is(err, service.ErrNotConnected) || errors.As(err, &bErr) {
		t.Fatalf("write without a server: want ErrNotConnected and no failed message, got %T %v", err, err)
	}
	requireErrorNaming(t, o.Connect(ctx), "field dsn", p.addr)
	p.start(t)
	if err := o.Connect(ctx); err != nil {
		t.Fatalf("connecting again: %v", err)
	}
	if err := o.WriteBatch(ctx, batch); err != nil {
		t.Fatalf("write once the server is back: %v", err)
	}
	if n := count(t, tg, table); n != 2 {
		t.Fatalf("rows = %d, want 2", n)
	}
}

// tcpProxy forwards a loopback port to a server, and can drop every
// connection and stop listening, then listen again on the same port.
type tcpProxy struct {
	addr, target string
	mu           sync.Mutex
	ln           net.Listener
	conns        []net.Conn
}

func startProxy(t *testing.T, target string) *tcpProxy {
	p := &tcpProxy{addr: "127.0.0.1:0", target: target}
	p.start(t)
	t.Cleanup(p.stop)
	return p
}

func (p *tcpProxy) start(t *testing.T) {
	t.Helper()
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		t.Fatal(err)
	}
	p.mu.Lock()
	p.ln, p.addr = ln, ln.Addr().String()
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", p.target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, s)
			p.mu.Unlock()
			go func() { _, _ = io.Copy(s, c); s.Close() }()
			go func() { _, _ = io.Copy(c, s); c.Close() }()
		}
	}()
}

func (p *tcpProxy) stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// What the pipelines rely on, through Benthos itself: a fallback output
// whose first tier is a switch with sql_insert in a case receives, in its
// next tier, only the messages sql_insert refused, each with its error in
// @fallback_error; a failure that is not the data's reaches no tier.
//
// With a batching policy on sql_insert, Benthos' batcher acks each batch
// that came in (here the switch's) with one error for all of its messages
// when any failed: every message of it would reach the next tier, the stored
// ones too. The pipelines therefore give their sql_insert outputs no
// batching; this test keeps that finding checked.
func TestSQLInsertRefusedRowsThroughFallback(t *testing.T) {
	for _, c := range []struct {
		name     string
		batching string
		want     []string // laps of the next tier's lines, <nil> for null
	}{
		{"no batching: only the refused message", "", []string{"<nil>"}},
		{"batching: the whole batch", "batching: { count: 500, period: 50ms }", []string{"1", "<nil>", "2"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			dbPath, errPath := filepath.Join(dir, "f1.db"), filepath.Join(dir, "errors.jsonl")
			stream, send := outputStream(t, fmt.Sprintf(`
fallback:
  - switch:
      cases:
        - check: errored()
          output: { drop: {} }
        - output:
            sql_insert:
              driver: sqlite
              dsn: %q
              table: laps
              columns: [ year, driver, lap, time, extra ]
              args_mapping: root = [ this.year, this.driver, this.lap, this.time, this.extra ]
              init_statement: %q
              conflict: do_nothing
              %s
  - file:
      path: %q
      codec: lines
    processors:
      - mapping: 'root = {"lap": this.lap, "error": @fallback_error}'
`, dbPath, lapsTable("laps"), c.batching, errPath))
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			done := make(chan error, 1)
			go func() { done <- stream.Run(ctx) }()
			batch := jsonBatch(lap(2025, "VER", 1, 84.1), `{"year":2025,"driver":"VER","lap":null}`, lap(2025, "VER", 2, 83.2))
			if err := send(ctx, batch); err != nil {
				t.Fatalf("send: %v (the fallback should have taken the refused row)", err)
			}
			if err := stream.Stop(ctx); err != nil {
				t.Fatal(err)
			}
			<-done

			f, err := os.Open(errPath)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			var laps []string
			sc := bufio.NewScanner(f)
			for sc.Scan() {
				var line struct {
					Lap   any    `json:"lap"`
					Error string `json:"error"`
				}
				if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
					t.Fatal(err)
				}
				laps = append(laps, fmt.Sprint(line.Lap))
				if !strings.Contains(line.Error, "NOT NULL constraint failed: laps.lap") {
					t.Errorf("fallback_error %q does not name the refusal", line.Error)
				}
			}
			if strings.Join(laps, " ") != strings.Join(c.want, " ") {
				t.Fatalf("next tier got laps %v, want %v", laps, c.want)
			}
			db, err := sql.Open("sqlite", dbPath)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			var n int
			if err := db.QueryRow("SELECT COUNT(*) FROM laps").Scan(&n); err != nil || n != 2 {
				t.Fatalf("rows = %d (%v), want 2", n, err)
			}
		})
	}
}

// init_statement has its own bound, longer than reaching the database's.
func TestSQLInsertInitStatementIsBounded(t *testing.T) {
	dsn := testkit.PostgresDSN(t, "sql_insert init_statement bound")
	defer func(d time.Duration) { initTimeout = d }(initTimeout)
	initTimeout = 200 * time.Millisecond
	conf, err := sqlInsertOutputSpec().ParseYAML(fmt.Sprintf(`
driver: postgres
dsn: %q
table: laps
columns: [ a ]
args_mapping: root = [ this.a ]
init_statement: SELECT pg_sleep(2)
`, dsn), nil)
	if err != nil {
		t.Fatal(err)
	}
	o, err := newSQLInsertOutput(conf, service.MockResources())
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	err = o.Connect(context.Background())
	if took := time.Since(start); err == nil || took > time.Second || !strings.Contains(err.Error(), "init_statement") {
		t.Fatalf("a slow init_statement: %v after %v; want an error naming init_statement after its bound", err, took)
	}
}

// A first connection to a database that never answers gives up after
// connectTimeout, even when Benthos cancels it sooner (it is not cancelled:
// see Connect), so that a stream stops.
func TestSQLInsertFirstConnectIsBounded(t *testing.T) {
	defer func(d time.Duration) { connectTimeout = d }(connectTimeout)
	connectTimeout = 300 * time.Millisecond
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() { // accepts, never answers
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	conf, err := sqlInsertOutputSpec().ParseYAML(fmt.Sprintf(`
driver: postgres
dsn: postgres://u@%s/db?sslmode=disable&connect_timeout=60
table: laps
columns: [ a ]
args_mapping: root = [ this.a ]
`, ln.Addr()), nil)
	if err != nil {
		t.Fatal(err)
	}
	o, err := newSQLInsertOutput(conf, service.MockResources())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	err = o.Connect(ctx)
	if took := time.Since(start); err == nil || took > 5*time.Second || !strings.Contains(err.Error(), "connecting to postgres database") {
		t.Fatalf("Connect to a silent server: %v after %v; want an error naming the postgres database within connectTimeout", err, took)
	}
}
