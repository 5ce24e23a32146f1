package sinks

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/redpanda-data/benthos/v4/public/service"

	"github.com/f1fetch/f1fetch/internal/testkit"
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
		{"conflict_columns with conflict none", good + "conflict: none\nconflict_columns: [ lap ]\n", []string{"conflict_columns", "do_nothing or upsert"}},
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

// A DSN the driver cannot parse is refused when the output is built, naming
// the field and the DSN masked; Connect failed on it once a second, for ever.
// The reason never shows the password, though pgx's own message may.
func TestSQLInsertRefusesADSNItCannotParse(t *testing.T) {
	cases := []struct {
		driver, dsn string
		words       []string
	}{
		{"postgres", "postgres://u:s3cret@[::1", []string{"field dsn", `"postgres://u:xxxxx@[::1"`, "IPv6"}},
		{"postgres", "postgres://u:s3cret@db:port/f1", []string{"field dsn", "postgres://u:xxxxx@db:port/f1", "invalid port"}},
		{"postgres", "postgres://u:s3cret@db/f1?sslmode=bogus", []string{"field dsn", "sslmode is invalid"}},
		{"postgres", "postgres://u:s3cret@db/f1?statement_cache_capacity=lots", []string{"field dsn", "statement_cache_capacity"}},
		{"postgres", "host=db password=s3cret port=x", []string{"field dsn", "host=db password=xxxxx port=x", "invalid port"}},
		// pgx quotes "s3 cret" and "cret", parts of the password.
		{"postgres", "postgres://u:s3 cret/x@db/f1", []string{"field dsn", "postgres://u:xxxxx@db/f1", "left out"}},
		{"postgres", "postgres://db/f1?password=s3&cret", []string{"field dsn", "password=xxxxx&xxxxx", "separator"}},
		{"sqlite", "/tmp/f1.db?_pragma=busy_timeout(%zz)", []string{"field dsn", "/tmp/f1.db?_pragma=busy_timeout(%zz)", "invalid URL escape"}},
		{"sqlite", "/tmp/f1.db?_pragma=busy_timeout(5000);drop", []string{"field dsn", "semicolon"}},
	}
	for _, c := range cases {
		t.Run(c.dsn, func(t *testing.T) {
			conf, err := sqlInsertOutputSpec().ParseYAML(fmt.Sprintf(`
driver: %s
dsn: '%s'
table: laps
columns: [ a ]
args_mapping: root = [ this.a ]
`, c.driver, c.dsn), nil)
			if err != nil {
				t.Fatal(err)
			}
			_, err = newSQLInsertOutput(conf, service.MockResources())
			requireErrorNaming(t, err, c.words...)
			if strings.Contains(err.Error(), "cret") {
				t.Fatalf("error %q shows the password", err)
			}
		})
	}
}

// postgresOutput builds a postgres sql_insert of one column over dsn, which
// must build.
func postgresOutput(t *testing.T, dsn string) *sqlInsertOutput {
	t.Helper()
	conf, err := sqlInsertOutputSpec().ParseYAML(fmt.Sprintf("driver: postgres\ndsn: %q\ntable: laps\ncolumns: [ a ]\nargs_mapping: root = [ this.a ]\n", dsn), nil)
	if err != nil {
		t.Fatal(err)
	}
	o, err := newSQLInsertOutput(conf, service.MockResources())
	if err != nil {
		t.Fatalf("%s: %v", dsn, err)
	}
	return o
}

// What fails on a file the DSN names is left to Connect, which retries it:
// the file may be there later.
func TestSQLInsertBuildsWithADSNFileNotThereYet(t *testing.T) {
	for _, dsn := range []string{
		"postgres://u:s3cret@127.0.0.1:1/f1?sslmode=verify-full&sslrootcert=/nonexistent/ca.pem",
		"postgres://u:s3cret@127.0.0.1:1/f1?sslmode=require&sslcert=/nonexistent/c.pem&sslkey=/nonexistent/c.key",
		"postgres://u:s3cret@127.0.0.1:1/f1?service=f1&servicefile=/nonexistent/pg_service.conf",
	} {
		err := postgresOutput(t, dsn).Connect(context.Background())
		requireErrorNaming(t, err, "field dsn", "/nonexistent/")
	}
}

// pgx's parse errors quote the DSN redacted by its best effort, which
// leaves the end of a quoted keyword password holding \' (and, in a URL,
// what it stumbles on): when one reaches Connect (a file the DSN names is
// not there), the reason is pgx's for the masked DSN.
func TestSQLInsertConnectParseErrorShowsNoPassword(t *testing.T) {
	for _, dsn := range []string{
		`host=127.0.0.1 port=1 password='pw\'sec ret' sslmode=verify-full sslrootcert=/nonexistent/ca.pem`,
		`host=127.0.0.1 port=1 password='pw\'sec ret' sslmode=require sslcert=/nonexistent/c.pem sslkey=/nonexistent/c.key`,
	} {
		o := postgresOutput(t, dsn)
		err := o.Connect(context.Background())
		requireErrorNaming(t, err, "field dsn", "password=xxxxx", "/nonexistent/")
		if strings.Contains(err.Error(), "sec") || strings.Contains(err.Error(), "ret'") {
			t.Errorf("Connect: %q shows the password", err)
		}

		// A batch written after the file went: the pool's new connection.
		defer func(d time.Duration) { retryPause = d }(retryPause)
		retryPause = 0
		if o.db, err = sql.Open(o.driver, o.dsn); err != nil {
			t.Fatal(err)
		}
		err = o.WriteBatch(context.Background(), jsonBatch(`{"a":1}`))
		o.db.Close()
		requireErrorNaming(t, err, "field dsn", "password=xxxxx", "/nonexistent/")
		if strings.Contains(err.Error(), "sec") || strings.Contains(err.Error(), "ret'") {
			t.Errorf("WriteBatch: %q shows the password", err)
		}
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
		if got := newInsertSQL(c.driver, "laps", cols, c.conflict, c.keys).rows(1); got != c.want {
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

// A PostgreSQL URL is masked as pgx reads it, whatever url.Parse makes of
// it: pgx (like libpq) takes the userinfo up to the first '@' before any
// '/', so a password may hold # ? ^ { } | [ \ unescaped, where url.Parse
// refuses the URL, and the password was logged in clear.
func TestMaskDSNAsPgxReadsIt(t *testing.T) {
	for _, pw := range []string{"s3#cret", "s3?cret", "s3^cret", "s3{cret}", "s3|cret", "s3[cret", `s3\cret`, "s3]cret", "s3 cret", "s3%cret", "s3:cret", "s3=cret", "s3&cret", "s3'cret"} {
		for _, dsn := range []string{
			"postgres://f1:" + pw + "@db.internal:5432/f1?sslmode=require",
			"postgresql://f1:" + pw + "@db.internal/f1",
			"postgres://f1:" + pw + "@db1:5432,db2:5433/f1?target_session_attrs=read-write",
			"postgres://f1:" + pw + "@[::1]:5432/f1",
			"postgres://f1:" + pw + "@db",
		} {
			if cfg, err := pgconn.ParseConfig(dsn); err == nil && cfg.Password != pw {
				t.Fatalf("pgx reads password %q from %s, the test expects %q", cfg.Password, dsn, pw)
			}
			if got := maskDSN(dsn); strings.Contains(got, strings.TrimSpace(pw)) || strings.Contains(got, "cret") {
				t.Errorf("maskDSN(%q) = %q: the password is shown", dsn, got)
			}
		}
	}
	cases := map[string]string{
		"postgres://f1:s3#cret@db.internal:5432/f1?sslmode=require": "postgres://f1:xxxxx@db.internal:5432/f1?sslmode=require",
		"postgresql://f1:s3?cret@db/f1":                             "postgresql://f1:xxxxx@db/f1",
		"postgres://f1:s3[cret@[::1]:5432/f1":                       "postgres://f1:xxxxx@[::1]:5432/f1",
		"postgres://f1:s3cret@db1:5432,db2:5433/f1":                 "postgres://f1:xxxxx@db1:5432,db2:5433/f1",
		"postgres://f1@db/f1?application_name=me@home":              "postgres://f1@db/f1?application_name=me@home",
		"postgres://f1:@db/f1":                                      "postgres://f1:xxxxx@db/f1",
		"postgres://db/f1":                                          "postgres://db/f1",
		// Query passwords, by the key pgx decodes; the rest kept.
		"postgres://db/f1?user=f1&pass%77ord=s3cret&sslmode=disable": "postgres://db/f1?user=f1&pass%77ord=xxxxx&sslmode=disable",
		"postgres://db/f1?sslpassword=s3cret":                        "postgres://db/f1?sslpassword=xxxxx",
		"postgres://f1:s3cret@db/f1?password=s3cret2":                "postgres://f1:xxxxx@db/f1?password=xxxxx",
		// A URL pgx misreads, best effort: an unescaped '@' or '/' in the
		// password strands part of it after pgx's userinfo.
		"postgres://f1:p@ss@db/f1":  "postgres://f1:xxxxx@db/f1",
		"postgres://f1:pa/ss@db/f1": "postgres://f1:xxxxx@db/f1",
		// Keyword form: pgx reads an unquoted value to unescaped white space.
		`host=db user=f1 password=s3\ cret dbname=f1`: "host=db user=f1 password=xxxxx dbname=f1",
	}
	for in, want := range cases {
		if got := maskDSN(in); got != want {
			t.Errorf("maskDSN(%q) = %q, want %q", in, got, want)
		}
	}
}

// Whatever characters a password holds, escaped or not, where pgx reads one
// (the userinfo's or a query's password), it is not in maskDSN's text.
func TestMaskDSNHidesEveryPasswordPgxReads(t *testing.T) {
	const marker = "Zq9sEcReT"
	templates := []string{
		"postgres://f1:%s@db.internal:5432/f1?sslmode=disable",
		"postgresql://f1:%s@db",
		"postgres://f1:%s@[::1]:5432,db2/f1?application_name=me@home",
		"postgres://:%s@db/f1",
		"postgres://db/f1?user=f1&password=%s&sslmode=disable",
		"postgres://db:5432?pass%%77ord=%s",
		"postgres://f1@db/f1?sslmode=require&sslpassword=%s",
	}
	var pws []string
	for c := byte(' '); c <= '~'; c++ {
		pws = append(pws, string(c), string(c)+"x"+string(c))
	}
	const special = "@/?#&=:[]%' \\,"
	for _, a := range special {
		for _, b := range special {
			pws = append(pws, string(a)+string(b), string(a)+"x"+string(b))
		}
	}
	read := 0
	for _, tmpl := range templates {
		for _, pw := range pws {
			dsn := fmt.Sprintf(tmpl, marker+pw)
			cfg, err := pgconn.ParseConfig(dsn)
			if err != nil || !strings.Contains(cfg.Password, marker) && !strings.Contains(tmpl, "sslpassword") {
				continue
			}
			read++
			if got := maskDSN(dsn); strings.Contains(got, marker) {
				t.Errorf("maskDSN(%q) = %q: pgx reads password %q", dsn, got, cfg.Password)
			}
		}
	}
	if read < len(templates)*len(pws)/2 {
		t.Fatalf("pgx read only %d of the %d DSNs", read, len(templates)*len(pws))
	}
}

// The INFO line of a real Connect does not carry the password pgx logged
// in with.
func TestSQLInsertConnectLogMasksPassword(t *testing.T) {
	base := testkit.PostgresDSN(t, "sql_insert's DSN in the log")
	u, err := url.Parse(base)
	if err != nil || !strings.HasPrefix(base, "postgres") || u.User == nil {
		t.Skipf("needs a postgres://user@host URL with trust authentication, got %s", maskDSN(base))
	}
	if _, has := u.User.Password(); has {
		t.Skip("the test DSN has a password of its own")
	}
	const pw = "s3#cret"
	user := u.User.Username()
	dsn := strings.Replace(base, "://"+user+"@", "://"+user+":"+pw+"@", 1)
	if cfg, err := pgconn.ParseConfig(dsn); err != nil || cfg.Password != pw {
		t.Fatalf("pgx does not read password %q from the test DSN: %v", pw, err)
	}
	tg := postgresTarget(base)(t)
	table := uniqueTable(t, tg)

	var logs testkit.LogBuffer
	b := service.NewStreamBuilder()
	b.SetLogger(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo})))
	send, err := b.AddBatchProducerFunc()
	if err != nil {
		t.Fatal(err)
	}
	if err := b.AddOutputYAML(fmt.Sprintf(`
sql_insert:
  driver: postgres
  dsn: %q
  table: %s
  columns: [ a ]
  args_mapping: root = [ this.a ]
  init_statement: 'CREATE TABLE %s (a INTEGER)'
`, dsn, table, table)); err != nil {
		t.Fatal(err)
	}
	stream, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- stream.Run(ctx) }()
	if err := send(ctx, jsonBatch(`{"a":1}`)); err != nil {
		t.Fatalf("write: %v", err)
	}
	if err := stream.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	<-done
	if !strings.Contains(logs.String(), "writing to table "+table) {
		t.Fatalf("no INFO line for the connection:\n%s", logs.String())
	}
	if strings.Contains(logs.String(), "cret") {
		t.Fatalf("the log shows the DSN's password:\n%s", logs.String())
	}
}

// conn_max_open 0, as `f1fetch create` writes it, is the driver's bound,
// as leaving it out is: one connection on SQLite, its single writer.
func TestConnMaxOpenZeroIsTheDriversBound(t *testing.T) {
	for _, c := range []struct {
		driver, field string
		want          int
	}{
		{"sqlite", "", 1}, {"sqlite", "conn_max_open: 0\n", 1}, {"sqlite", "conn_max_open: 3\n", 3},
		{"postgres", "", 0}, {"postgres", "conn_max_open: 0\n", 0}, {"postgres", "conn_max_open: 3\n", 3},
	} {
		dsn := map[string]string{"sqlite": "/tmp/x.db", "postgres": "postgres://f1@127.0.0.1:1/f1"}[c.driver]
		conf, err := sqlInsertOutputSpec().ParseYAML("driver: "+c.driver+"\ndsn: "+dsn+"\ntable: laps\ncolumns: [ lap ]\nargs_mapping: root = [ this.lap ]\n"+c.field, nil)
		if err != nil {
			t.Fatal(err)
		}
		o, err := newSQLInsertOutput(conf, service.MockResources())
		if err != nil {
			t.Fatal(err)
		}
		if o.connMaxOpen != c.want {
			t.Errorf("%s %q: conn_max_open %d, want %d", c.driver, c.field, o.connMaxOpen, c.want)
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

func TestSQLArg(t *testing.T) {
	cases := []struct {
		in          any
		sqlite, pgx any
	}{
		{json.Number("7"), int64(7), "7"},
		{json.Number("-7"), int64(-7), "-7"},
		{json.Number("2.5"), 2.5, "2.5"},
		{json.Number("0.26858782065714965"), 0.26858782065714965, "0.26858782065714965"},
		{json.Number("3.141592653589793238462643383279"), 3.141592653589793, "3.141592653589793238462643383279"},
		{json.Number("12345678901234567891"), "12345678901234567891", "12345678901234567891"},
		// A whole number however written: an integer for PostgreSQL.
		{json.Number("2.0"), 2.0, "2"},
		{json.Number("1e3"), 1000.0, "1000"},
		{json.Number("1.5E+3"), 1500.0, "1500"},
		{json.Number("1.0e18"), 1e18, "1000000000000000000"},
		{json.Number("-0.0"), math.Copysign(0, -1), "-0"},
		{json.Number("150e-2"), 1.5, "150e-2"},
		{json.Number("250e-2"), 2.5, "250e-2"},
		{json.Number("200e-2"), 2.0, "2"},
		{json.Number("9223372036854775807.0"), 9223372036854775807.0, "9223372036854775807"},
		{json.Number("9223372036854775808.0"), 9223372036854775808.0, "9223372036854775808.0"}, // beyond int64
		{json.Number("1e30"), 1e30, "1e30"},
		{json.Number("1e999999999"), nil, "1e999999999"}, // out of range for float64: an error on SQLite
		// Values a mapping computed.
		{2.5, 2.5, "2.5"},
		{4.0, 4.0, "4"},
		{1e-7, 1e-7, "1e-07"},
		{1e300, 1e300, "1e+300"},
		{int64(42), int64(42), "42"},
		{uint64(18446744073709551615), uint64(18446744073709551615), "18446744073709551615"},
		{true, true, "true"},
		{false, false, "false"},
		{"VER", "VER", "VER"},
		{nil, nil, nil},
		{map[string]any{"a": json.Number("1")}, `{"a":1}`, `{"a":1}`},
	}
	for _, c := range cases {
		got, err := sqlArg(c.in, false)
		if c.sqlite == nil && c.in != nil {
			if err == nil {
				t.Errorf("sqlite: sqlArg(%#v) = %#v, want an error", c.in, got)
			}
		} else if err != nil || !sameValue(got, c.sqlite) {
			t.Errorf("sqlite: sqlArg(%#v) = %#v, %v; want %#v", c.in, got, err, c.sqlite)
		}
		if got, err := sqlArg(c.in, true); err != nil || !sameValue(got, c.pgx) {
			t.Errorf("postgres: sqlArg(%#v) = %#v, %v; want %#v", c.in, got, err, c.pgx)
		}
	}
}

// sameValue compares type and value; -0 is not 0.
func sameValue(a, b any) bool {
	return fmt.Sprintf("%T %#v", a, a) == fmt.Sprintf("%T %#v", b, b)
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

// On PostgreSQL a JSON number reaches the column as the number it is: the
// server reads its text for the column's own type, so NUMERIC keeps every
// digit, DOUBLE PRECISION the nearest double, and a whole number written
// 2.0 or 1e3 still fits an INTEGER.
func TestSQLInsertPostgresNumbersAsTheColumnReadsThem(t *testing.T) {
	tg := postgresTarget(testkit.PostgresDSN(t, "sql_insert numbers"))(t)
	table := uniqueTable(t, tg)
	err := writeThrough(t, fmt.Sprintf(`
sql_insert:
  driver: postgres
  dsn: %q
  table: %s
  columns: [ id, k, big, d, n, j, b ]
  args_mapping: root = [ this.id, this.k, this.big, this.d, this.n, this.j, this.b ]
  init_statement: 'CREATE TABLE %s (id INTEGER, k INTEGER, big BIGINT, d DOUBLE PRECISION, n NUMERIC, j JSONB, b BOOLEAN)'
`, tg.dsn, table, table), jsonBatch(
		`{"id":1,"k":2.0,"big":1e3,"d":5222.543351646237,"n":3.141592653589793238462643383279,"j":2.5,"b":true}`,
		`{"id":2,"k":-0.0,"big":9223372036854775807,"d":-0.0,"n":12345678901234567891,"j":12345678901234567891,"b":false}`,
		`{"id":3,"k":1.5e3,"big":1.0E18,"d":1e-7,"n":0.1,"j":1E2,"b":null}`,
	))
	if err != nil {
		t.Fatalf("write: %v", err)
	}
	type row struct {
		k    int64
		big  int64
		d    float64
		n, j string
		b    sql.NullBool
	}
	want := map[int]row{
		1: {2, 1000, 5222.543351646237, "3.141592653589793238462643383279", "2.5", sql.NullBool{Bool: true, Valid: true}},
		2: {0, 9223372036854775807, math.Copysign(0, -1), "12345678901234567891", "12345678901234567891", sql.NullBool{Valid: true}},
		3: {1500, 1000000000000000000, 1e-7, "0.1", "100", sql.NullBool{}},
	}
	for id, w := range want {
		var got row
		if err := tg.db.QueryRow(fmt.Sprintf("SELECT k, big, d, n::text, j::text, b FROM %s WHERE id = %d", table, id)).Scan(&got.k, &got.big, &got.d, &got.n, &got.j, &got.b); err != nil {
			t.Fatalf("row %d: %v", id, err)
		}
		if got != w || math.Signbit(got.d) != math.Signbit(w.d) {
			t.Errorf("row %d = %+v, want %+v", id, got, w)
		}
	}
}

func runSQLInsertSuite(t *testing.T, target func(*testing.T) sqlTarget) {
	t.Run("a keyword column, an integer beyond int64", func(t *testing.T) {
		// Unquoted, the column order failed every write; as a float64 the
		// id lost its last digits in silence.
		tg := target(t)
		table := uniqueTable(t, tg)
		err := writeThrough(t, insertYAML(tg, table, `driver, Order, id`, `this.driver, this.order, this.id`, `driver TEXT, "order" INTEGER, id TEXT`),
			jsonBatch(`{"driver":"VER","order":1,"id":12345678901234567891}`))
		if err != nil {
			t.Fatalf("write: %v", err)
		}
		var order int
		var id string
		if err := tg.db.QueryRow(`SELECT "order", id FROM `+table).Scan(&order, &id); err != nil || order != 1 || id != "12345678901234567891" {
			t.Fatalf(`order %d, id %s (%v); want 1 and every digit of 12345678901234567891`, order, id, err)
		}
	})
	t.Run("a fraction bound for an INTEGER column is stored whole or refused, never truncated", func(t *testing.T) {
		// The first and last brake samples of TracingInsights/2022 "Abu
		// Dhabi Grand Prix/Qualifying/VER/2_tel.json" (commit 34ddf2ac),
		// into an INTEGER column as the shipped telemetry schemas had it;
		// half is computed by the mapping (a float64, not a json.Number).
		// pgx encoded a float64 into int4 by dropping the fraction: 0 and
		// 5222 were stored and acknowledged.
		tg := target(t)
		table := uniqueTable(t, tg)
		err := writeThrough(t, insertYAML(tg, table, `sample, brake, half`, `this.sample, this.brake, this.sample / 2`, `sample INTEGER PRIMARY KEY, brake INTEGER, half INTEGER`),
			jsonBatch(`{"sample":1,"brake":0.26858782065714965}`, `{"sample":3,"brake":5222.543351646237}`))
		if tg.driver == "postgres" {
			// PostgreSQL's INTEGER has no room for a fraction: the batch
			// is refused, loudly, and nothing of it stays.
			requireErrorNaming(t, err, table, "message 0", "integer")
			if n := count(t, tg, table); n != 0 {
				t.Fatalf("rows = %d after a refused batch, want 0", n)
			}
			return
		}
		// SQLite keeps a value its INTEGER affinity cannot hold whole as a REAL.
		if err != nil {
			t.Fatalf("write: %v", err)
		}
		for sample, want := range map[int][2]float64{1: {0.26858782065714965, 0.5}, 3: {5222.543351646237, 1.5}} {
			var brake, half float64
			if err := tg.db.QueryRow(fmt.Sprintf("SELECT brake, half FROM %s WHERE sample = %d", table, sample)).Scan(&brake, &half); err != nil {
				t.Fatal(err)
			}
			if brake != want[0] || half != want[1] {
				t.Fatalf("sample %d: brake %v, half %v; want %v and %v", sample, brake, half, want[0], want[1])
			}
		}
	})

	t.Run("numbers and bools into TEXT columns", func(t *testing.T) {
		// pgx has no plan for an int64, a float64 or a bool into text: on
		// PostgreSQL every such batch failed and was retried for ever.
		tg := target(t)
		table := uniqueTable(t, tg)
		err := writeThrough(t, insertYAML(tg, table, `driver, dn, sector, pb, twice`, `this.driver, this.dn, this.sector, this.pb, this.dn * 2`, `driver TEXT, dn TEXT, sector TEXT, pb TEXT, twice TEXT`),
			jsonBatch(`{"driver":"VER","dn":1,"sector":2.5,"pb":true}`))
		if err != nil {
			t.Fatalf("write: %v", err)
		}
		var dn, sector, pb, twice string
		if err := tg.db.QueryRow("SELECT dn, sector, pb, twice FROM "+table).Scan(&dn, &sector, &pb, &twice); err != nil {
			t.Fatal(err)
		}
		wantPB := "true"
		if tg.driver == "sqlite" {
			wantPB = "1" // as before: the driver stores a bool as an integer
		}
		if dn != "1" || sector != "2.5" || pb != wantPB || twice != "2" {
			t.Fatalf("dn %q, sector %q, pb %q, twice %q; want 1, 2.5, %s, 2", dn, sector, pb, wantPB, twice)
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

	t.Run("a refused row fails alone, the others are stored (with conflict)", func(t *testing.T) {
		tg := target(t)
		table := uniqueTable(t, tg)
		out := sqlOutputYAML(tg, table, lapsTable(table), "conflict: do_nothing")
		// The third row breaks NOT NULL on driver: it alone fails.
		err := writeThrough(t, out, jsonBatch(lap(2025, "VER", 1, 84.1), lap(2025, "VER", 2, 83.2), `{"year":2025,"driver":null,"lap":3,"time":82.0}`))
		requireErrorNaming(t, err, table, "message 2")
		if n := count(t, tg, table); n != 2 {
			t.Fatalf("rows = %d after a batch with one refused row, want 2", n)
		}
		if err := writeThrough(t, out, jsonBatch(lap(2025, "VER", 3, 84.1))); err != nil {
			t.Fatalf("writing after the refusal: %v", err)
		}
		if n := count(t, tg, table); n != 3 {
			t.Fatalf("rows = %d, want 3", n)
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

// insertYAML is an sql_insert of columns, from mapping's array, into table,
// which init_statement makes with ddl (its columns).
func insertYAML(tg sqlTarget, table, columns, mapping, ddl string) string {
	return fmt.Sprintf(`
sql_insert:
  driver: %s
  dsn: %q
  table: %s
  columns: [ %s ]
  args_mapping: root = [ %s ]
  init_statement: 'CREATE TABLE %s (%s)'
`, tg.driver, tg.dsn, table, columns, mapping, table, ddl)
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
