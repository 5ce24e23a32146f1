package sinks

import (
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redpanda-data/benthos/v4/public/service"

	"github.com/f1fetch/f1fetch/tests/testkit"
)

func TestSQLInsertExampleBuilds(t *testing.T) {
	buildsWith(t, "input:\n  generate:\n    count: 1\n    mapping: 'root = {}'\n"+sqlInsertOutputExample)
}

func TestSQLInsertRefusesBadConfig(t *testing.T) {
	const good = `
driver: sqlite
dsn: /tmp/x.db
table: laps
columns: [ year, driver, lap ]
args_mapping: root = [ this.year, this.driver, this.lap ]
`
	cases := []struct {
		name, yaml string
		words      []string
	}{
		{"unknown driver", strings.Replace(good, "driver: sqlite", "driver: mysql", 1), []string{"driver", "mysql"}},
		{"empty dsn", strings.Replace(good, "dsn: /tmp/x.db", "dsn: ''", 1), []string{"dsn"}},
		{"columns empty", strings.Replace(good, "columns: [ year, driver, lap ]", "columns: []", 1), []string{"columns"}},
		{"bad column", strings.Replace(good, "columns: [ year, driver, lap ]", "columns: [ year, 'driver; DROP', lap ]", 1), []string{"columns", "driver; DROP"}},
		{"bad table", strings.Replace(good, "table: laps", "table: 'laps x'", 1), []string{"table", "laps x"}},
		{"column twice", strings.Replace(good, "columns: [ year, driver, lap ]", "columns: [ year, lap, lap ]", 1), []string{"columns", "lap", "twice"}},
		{"upsert without conflict_columns", good + "conflict: upsert\n", []string{"conflict_columns", "upsert"}},
		{"unknown conflict", good + "conflict: replace\n", []string{"conflict", "replace"}},
		{"conflict column not inserted", good + "conflict: do_nothing\nconflict_columns: [ gp ]\n", []string{"conflict_columns", "gp"}},
		{"bad mapping", strings.Replace(good, "root = [ this.year, this.driver, this.lap ]", "root = [ this.year", 1), []string{"args_mapping"}},
		{"negative conn_max_open", good + "conn_max_open: -1\n", []string{"conn_max_open", "-1"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			conf, err := sqlInsertOutputSpec().ParseYAML(c.yaml, nil)
			if err == nil {
				_, err = newSQLInsertOutput(conf, service.MockResources())
			}
			requireErrorNaming(t, err, c.words...)
		})
	}
}

func TestInsertStatement(t *testing.T) {
	cols := []string{"year", "driver", "lap", "time"}
	keys := []string{"year", "driver", "lap"}
	cases := []struct {
		driver, conflict string
		keys             []string
		want             string
	}{
		{"sqlite", "", nil, `INSERT INTO laps ("year", "driver", "lap", "time") VALUES (?, ?, ?, ?)`},
		{"postgres", "", nil, `INSERT INTO laps ("year", "driver", "lap", "time") VALUES ($1, $2, $3, $4)`},
		{"sqlite", "do_nothing", nil, `INSERT INTO laps ("year", "driver", "lap", "time") VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING`},
		{"postgres", "do_nothing", keys, `INSERT INTO laps ("year", "driver", "lap", "time") VALUES ($1, $2, $3, $4) ON CONFLICT ("year", "driver", "lap") DO NOTHING`},
		{"sqlite", "upsert", keys, `INSERT INTO laps ("year", "driver", "lap", "time") VALUES (?, ?, ?, ?) ON CONFLICT ("year", "driver", "lap") DO UPDATE SET "time" = EXCLUDED."time"`},
		{"sqlite", "upsert", cols, `INSERT INTO laps ("year", "driver", "lap", "time") VALUES (?, ?, ?, ?) ON CONFLICT ("year", "driver", "lap", "time") DO NOTHING`},
	}
	for _, c := range cases {
		if got := insertStatement(c.driver, "laps", cols, c.conflict, c.keys); got != c.want {
			t.Errorf("%s %s %v:\n got %s\nwant %s", c.driver, c.conflict, c.keys, got, c.want)
		}
	}
}

func TestMaskDSN(t *testing.T) {
	cases := map[string]string{
		"postgres://f1:s3cret@db:5432/f1?sslmode=disable": "postgres://f1:xxxxx@db:5432/f1?sslmode=disable",
		"host=db user=f1 password=s3cret dbname=f1":       "host=db user=f1 password=xxxxx dbname=f1",
		// pgx reads an unquoted keyword value to white space, and \' in a quoted one.
		"host=db user=f1 password=pit&wall99 dbname=f1":    "host=db user=f1 password=xxxxx dbname=f1",
		`host=db user=f1 password='pit\'wall99' dbname=f1`: "host=db user=f1 password=xxxxx dbname=f1",
		"host=db password='s e c' dbname=f1":               "host=db password=xxxxx dbname=f1",
		"postgres://db/f1?user=f1&password=s3cret&x=1":     "postgres://db/f1?user=f1&password=xxxxx&x=1",
		"/var/lib/f1/laps.db?_pragma=busy_timeout(5000)":   "/var/lib/f1/laps.db?_pragma=busy_timeout(5000)",
	}
	for in, want := range cases {
		got := maskDSN(in)
		if got != want {
			t.Errorf("maskDSN(%q) = %q, want %q", in, got, want)
		}
		if strings.Contains(got, "s3cret") || strings.Contains(got, "s e c") {
			t.Errorf("maskDSN(%q) leaks the password: %q", in, got)
		}
	}
}

func TestSQLiteDSNDefaults(t *testing.T) {
	cases := map[string]string{
		"/tmp/f1.db":                              "/tmp/f1.db?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)",
		"file:/tmp/f1.db?mode=rwc":                "file:/tmp/f1.db?mode=rwc&_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)",
		"/tmp/f1.db?_pragma=journal_mode(DELETE)": "/tmp/f1.db?_pragma=journal_mode(DELETE)&_pragma=busy_timeout(5000)",
		"/tmp/f1.db?_pragma=busy_timeout(100)&_pragma=journal_mode(WAL)": "/tmp/f1.db?_pragma=busy_timeout(100)&_pragma=journal_mode(WAL)",
		// A word in the path is not a pragma.
		"/srv/busy_timeout/journal_mode.db": "/srv/busy_timeout/journal_mode.db?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)",
	}
	for in, want := range cases {
		if got := sqliteDSN(in); got != want {
			t.Errorf("sqliteDSN(%q) = %q, want %q", in, got, want)
		}
	}
}

// sqlTarget is a real database the output writes to and the test reads back.
type sqlTarget struct {
	driver string // config name
	dsn    string
	db     *sql.DB
}

func sqliteTarget(t *testing.T) sqlTarget {
	path := filepath.Join(t.TempDir(), "f1.db")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return sqlTarget{driver: "sqlite", dsn: path, db: db}
}

func postgresTarget(dsn string) func(*testing.T) sqlTarget {
	return func(t *testing.T) sqlTarget {
		db, err := sql.Open("pgx", dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		if err := db.Ping(); err != nil {
			t.Fatalf("PostgreSQL at F1FETCH_TEST_POSTGRES_DSN (%s): %v", maskDSN(dsn), err)
		}
		return sqlTarget{driver: "postgres", dsn: dsn, db: db}
	}
}

func TestSQLInsertSQLite(t *testing.T) { runSQLInsertSuite(t, sqliteTarget) }
func TestSQLInsertPostgres(t *testing.T) {
	runSQLInsertSuite(t, postgresTarget(testkit.PostgresDSN(t, "sql_insert")))
}

func runSQLInsertSuite(t *testing.T, target func(*testing.T) sqlTarget) {
	t.Run("a keyword column, an integer beyond int64", func(t *testing.T) {
		// Unquoted, the column order failed every write; as a float64 the
		// id lost its last digits in silence.
		tg := target(t)
		table := uniqueTable(t, tg)
		err := writeThrough(t, fmt.Sprintf(`
sql_insert:
  driver: %s
  dsn: %q
  table: %s
  columns: [ driver, Order, id ]
  args_mapping: root = [ this.driver, this.order, this.id ]
  init_statement: 'CREATE TABLE %s (driver TEXT, "order" INTEGER, id TEXT)'
`, tg.driver, tg.dsn, table, table), jsonBatch(`{"driver":"VER","order":1,"id":12345678901234567891}`))
		if err != nil {
			t.Fatalf("write: %v", err)
		}
		var order int
		var id string
		if err := tg.db.QueryRow(`SELECT "order", id FROM `+table).Scan(&order, &id); err != nil || order != 1 || id != "12345678901234567891" {
			t.Fatalf(`order %d, id %s (%v); want 1 and every digit of 12345678901234567891`, order, id, err)
		}
	})
	t.Run("inserts rows after init_statement", func(t *testing.T) {
		tg := target(t)
		table := uniqueTable(t, tg)
		// Two statements: the second table proves the whole init ran.
		init := fmt.Sprintf("CREATE TABLE %[1]s (year INTEGER NOT NULL, driver TEXT NOT NULL, lap INTEGER NOT NULL, time DOUBLE PRECISION, extra TEXT); CREATE TABLE %[1]s_meta (note TEXT); INSERT INTO %[1]s_meta (note) VALUES ('created')", table)
		t.Cleanup(func() { tg.db.Exec("DROP TABLE IF EXISTS " + table + "_meta") })
		out := sqlOutputYAML(tg, table, init, "")
		err := writeThrough(t, out,
			jsonBatch(lap(2025, "VER", 1, 84.1), lap(2025, "VER", 2, 83.2)),
			jsonBatch(`{"year":2025,"driver":"NOR","lap":1,"time":null,"extra":{"compound":"SOFT","stint":[1,2]}}`),
		)
		if err != nil {
			t.Fatalf("write: %v", err)
		}
		if n := count(t, tg, table); n != 3 {
			t.Fatalf("rows = %d, want 3", n)
		}
		var note string
		if err := tg.db.QueryRow("SELECT note FROM " + table + "_meta").Scan(&note); err != nil || note != "created" {
			t.Fatalf("second init statement did not run: %q, %v", note, err)
		}
		var lapTime float64
		if err := tg.db.QueryRow("SELECT time FROM " + table + " WHERE driver = 'VER' AND lap = 2").Scan(&lapTime); err != nil || lapTime != 83.2 {
			t.Fatalf("VER lap 2 time = %v, %v; want 83.2", lapTime, err)
		}
		var extra string
		var nullTime sql.NullFloat64
		if err := tg.db.QueryRow("SELECT extra, time FROM "+table+" WHERE driver = 'NOR'").Scan(&extra, &nullTime); err != nil {
			t.Fatal(err)
		}
		if extra != `{"compound":"SOFT","stint":[1,2]}` || nullTime.Valid {
			t.Fatalf("NOR row = extra %q time %v; want the object as JSON and a NULL time", extra, nullTime)
		}
	})

	t.Run("do_nothing makes reruns idempotent", func(t *testing.T) {
		tg := target(t)
		table := uniqueTable(t, tg)
		out := sqlOutputYAML(tg, table, lapsTable(table), "conflict: do_nothing\nconflict_columns: [ year, driver, lap ]")
		batch := func() service.MessageBatch {
			return jsonBatch(lap(2025, "VER", 1, 84.1), lap(2025, "VER", 2, 83.2), lap(2025, "LEC", 1, 84.9))
		}
		for run := 1; run <= 2; run++ {
			if err := writeThrough(t, out, batch()); err != nil {
				t.Fatalf("run %d: %v", run, err)
			}
			if n := count(t, tg, table); n != 3 {
				t.Fatalf("after run %d: rows = %d, want 3", run, n)
			}
		}
		// A different value for a stored key is ignored, not written.
		if err := writeThrough(t, out, jsonBatch(lap(2025, "VER", 1, 99.9))); err != nil {
			t.Fatal(err)
		}
		if got := lapTime(t, tg, table, "VER", 1); got != 84.1 {
			t.Fatalf("VER lap 1 = %v after do_nothing rerun, want 84.1 kept", got)
		}
	})

	t.Run("upsert updates stored rows", func(t *testing.T) {
		tg := target(t)
		table := uniqueTable(t, tg)
		out := sqlOutputYAML(tg, table, lapsTable(table), "conflict: upsert\nconflict_columns: [ year, driver, lap ]")
		if err := writeThrough(t, out, jsonBatch(lap(2025, "VER", 1, 84.1), lap(2025, "VER", 2, 83.2))); err != nil {
			t.Fatal(err)
		}
		if err := writeThrough(t, out, jsonBatch(lap(2025, "VER", 2, 82.5), lap(2025, "VER", 3, 82.9))); err != nil {
			t.Fatal(err)
		}
		if n := count(t, tg, table); n != 3 {
			t.Fatalf("rows = %d, want 3", n)
		}
		if got := lapTime(t, tg, table, "VER", 2); got != 82.5 {
			t.Fatalf("VER lap 2 = %v, want the upserted 82.5", got)
		}
		if got := lapTime(t, tg, table, "VER", 1); got != 84.1 {
			t.Fatalf("VER lap 1 = %v, want 84.1 untouched", got)
		}
	})

	t.Run("failed batch rolls back", func(t *testing.T) {
		tg := target(t)
		table := uniqueTable(t, tg)
		out := sqlOutputYAML(tg, table, lapsTable(table), "")
		// The third row breaks NOT NULL on driver: none of the batch may stay.
		err := writeThrough(t, out, jsonBatch(lap(2025, "VER", 1, 84.1), lap(2025, "VER", 2, 83.2), `{"year":2025,"driver":null,"lap":3,"time":82.0}`))
		requireErrorNaming(t, err, table, "message 2")
		if n := count(t, tg, table); n != 0 {
			t.Fatalf("rows = %d after a failed batch, want 0", n)
		}
		if err := writeThrough(t, out, jsonBatch(lap(2025, "VER", 1, 84.1))); err != nil {
			t.Fatalf("writing after the rollback: %v", err)
		}
		if n := count(t, tg, table); n != 1 {
			t.Fatalf("rows = %d, want 1", n)
		}
	})

	t.Run("mapping of the wrong length is refused", func(t *testing.T) {
		tg := target(t)
		table := uniqueTable(t, tg)
		out := strings.Replace(sqlOutputYAML(tg, table, lapsTable(table), ""),
			"root = [ this.year, this.driver, this.lap, this.time, this.extra ]", "root = [ this.year, this.driver ]", 1)
		err := writeThrough(t, out, jsonBatch(lap(2025, "VER", 1, 84.1)))
		requireErrorNaming(t, err, "args_mapping", "want 5 values", "got 2")
		if n := count(t, tg, table); n != 0 {
			t.Fatalf("rows = %d, want 0", n)
		}
	})
}

func sqlOutputYAML(tg sqlTarget, table, init, extra string) string {
	y := fmt.Sprintf(`
sql_insert:
  driver: %s
  dsn: %q
  table: %s
  columns: [ year, driver, lap, time, extra ]
  args_mapping: root = [ this.year, this.driver, this.lap, this.time, this.extra ]
  init_statement: %q
  max_in_flight: 4
`, tg.driver, tg.dsn, table, init)
	for _, line := range strings.Split(extra, "\n") {
		if line != "" {
			y += "  " + line + "\n"
		}
	}
	return y
}

func lapsTable(table string) string {
	return fmt.Sprintf("CREATE TABLE IF NOT EXISTS %s (year INTEGER NOT NULL, driver TEXT NOT NULL, lap INTEGER NOT NULL, time DOUBLE PRECISION, extra TEXT, PRIMARY KEY (year, driver, lap))", table)
}

func lap(year int, driver string, n int, time float64) string {
	return fmt.Sprintf(`{"year":%d,"driver":%q,"lap":%d,"time":%v}`, year, driver, n, time)
}

// uniqueTable names a table no other test (or earlier run) uses, and drops it afterwards.
func uniqueTable(t *testing.T, tg sqlTarget) string {
	name := fmt.Sprintf("laps_%d", time.Now().UnixNano())
	t.Cleanup(func() { tg.db.Exec("DROP TABLE IF EXISTS " + name) })
	return name
}

func count(t *testing.T, tg sqlTarget, table string) int {
	t.Helper()
	var n int
	if err := tg.db.QueryRow("SELECT COUNT(*) FROM " + table).Scan(&n); err != nil {
		t.Fatalf("counting %s: %v", table, err)
	}
	return n
}

func lapTime(t *testing.T, tg sqlTarget, table, driver string, n int) float64 {
	t.Helper()
	q := "SELECT time FROM " + table + " WHERE driver = ? AND lap = ?"
	if tg.driver == "postgres" {
		q = "SELECT time FROM " + table + " WHERE driver = $1 AND lap = $2"
	}
	var v float64
	if err := tg.db.QueryRow(q, driver, n).Scan(&v); err != nil {
		t.Fatalf("reading %s lap %d: %v", driver, n, err)
	}
	return v
}
