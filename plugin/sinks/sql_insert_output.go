package sinks

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	"github.com/redpanda-data/benthos/v4/public/bloblang"
	"github.com/redpanda-data/benthos/v4/public/service"

	"github.com/f1fetch/f1fetch/plugin/lint"
	"modernc.org/sqlite" // also registers the "sqlite" database/sql driver
)

// Field names of the sql_insert output, as in Redpanda Connect.
const (
	sqlFieldDriver          = "driver"
	sqlFieldDSN             = "dsn"
	sqlFieldTable           = "table"
	sqlFieldColumns         = "columns"
	sqlFieldArgsMapping     = "args_mapping"
	sqlFieldInitStatement   = "init_statement"
	sqlFieldConflict        = "conflict"
	sqlFieldConflictColumns = "conflict_columns"
	sqlFieldBatching        = "batching"
	sqlFieldMaxInFlight     = "max_in_flight"
	sqlFieldConnMaxOpen     = "conn_max_open"
)

// sqlDrivers maps the driver names of the config to database/sql driver names.
var sqlDrivers = map[string]string{
	"sqlite":   "sqlite", // modernc.org/sqlite
	"postgres": "pgx",    // github.com/jackc/pgx/v5/stdlib
}

// sqlInsertOutputExample is the documented example, parsed by the tests.
const sqlInsertOutputExample = `
output:
  sql_insert:
    driver: sqlite
    dsn: ./f1.db
    table: laps
    columns: [ year, gp, session, driver, lap, time ]
    args_mapping: root = [ this.year, this.gp, this.session, this.driver, this.lap, this.time ]
    init_statement: |
      CREATE TABLE IF NOT EXISTS laps (
        year INTEGER, gp TEXT, session TEXT, driver TEXT, lap INTEGER, time DOUBLE PRECISION,
        PRIMARY KEY (year, gp, session, driver, lap)
      );
    conflict: do_nothing
    conflict_columns: [ year, gp, session, driver, lap ]
`

func sqlInsertOutputSpec() *service.ConfigSpec {
	return service.NewConfigSpec().
		Categories("Services").
		LintRule(lint.Rule(sqlInsertLintMethod)).
		Summary("Inserts a row for each message into a SQLite or PostgreSQL table.").
		Description(`
A batch is written in one transaction, in its order: on PostgreSQL several rows to a
statement, saving round trips (up to 500, fewer when the columns are many, as a statement
binds at most 65535 values), on SQLite one row to a statement.

With a `+"`conflict`"+` clause (`+"`do_nothing`"+` or `+"`upsert`"+`), a row the database refuses for its data does not hold
the others back: a constraint (`+"`NOT NULL`"+`, a key, `+"`CHECK`"+`, a foreign key), a
value its column cannot take, a key too long for its index or a trigger's check
(PostgreSQL's SQLSTATE classes 22, 23, 54 and P0, SQLite's `+"`SQLITE_CONSTRAINT`"+`, `+"`SQLITE_MISMATCH`"+` and
`+"`SQLITE_TOOBIG`"+`). The batch is then written again one row to a statement, each in a
savepoint, the rows the database takes are committed, and only the refused messages fail,
each with an error naming the table, the message and the database's reason; a message
`+"`args_mapping`"+` fails on fails alone likewise. With `+"`conflict: none`"+` a batch is
stored whole or not at all, every message failing with the refused one: a failed message
goes back to its input, which may send others of the batch again (the `+"`f1_fetch`"+`
input sends a whole document), and rows stored in part would be stored twice. Wrap the
output in a `+"`fallback`"+` to send failed messages somewhere (see the
`+"`session_to_sqlite.yaml`"+` pipeline); without one, the input sends them again. A
`+"`batching`"+` policy blurs this: Benthos' batcher fails every message of a batch it
made when any failed, stored ones too, so a `+"`fallback`"+` behind it gets them all.

A deferred constraint refused at commit names no row, and a refusal may end the transaction
(SQLite's `+"`ON CONFLICT ROLLBACK`"+`): the batch, written again one row to a statement to
find the rows refused at once, is then refused whole, every message failing and none stored. Any other failure (the database down or unreachable, a connection lost,
SQLite busy, a commit that fails otherwise) is not the data's fault and no message fails for it: the output logs it,
reports itself disconnected, and the batch is written again, whole, once it connects again,
however long that takes; a `+"`fallback`"+` never sees it. With
`+"`conflict`"+`, reruns are idempotent (`+"`do_nothing`"+`) or update the stored rows
(`+"`upsert`"+`), so loading the same session twice does not duplicate laps.

For SQLite the DSN is a file path or a `+"`file:`"+` URI; unless it says otherwise,
`+"`_pragma=busy_timeout(5000)`"+` and `+"`_pragma=journal_mode(WAL)`"+` are added and
one connection is opened, as SQLite has a single writer. For PostgreSQL the DSN is a URL
or a key=value string as understood by pgx. Passwords in the DSN are never logged.

Field names follow Redpanda Connect's sql_insert output.`+service.OutputPerformanceDocs(true, true)).
		Fields(
			// An example, for `f1fetch create` to write one of the options
			// rather than "", which the enum refuses.
			service.NewStringEnumField(sqlFieldDriver, "sqlite", "postgres").
				Description("The database driver.").
				Example("sqlite"),
			service.NewStringField(sqlFieldDSN).
				Description("The data source name: where the database is and how to log in.").
				Example("/var/lib/f1/laps.db").
				Example("postgres://user:password@localhost:5432/f1?sslmode=disable").
				Secret(),
			service.NewStringField(sqlFieldTable).
				Description("The table to insert into, optionally qualified by a schema.").
				Example("laps"),
			service.NewStringListField(sqlFieldColumns).
				Description("The columns to insert: letters, digits and `_`. They are quoted, so a name that is an SQL keyword (`order`) works; on PostgreSQL they are lowered first, naming the columns they name unquoted.").
				Example([]string{"year", "gp", "driver", "lap", "time"}),
			service.NewBloblangField(sqlFieldArgsMapping).
				Description("A Bloblang mapping that returns an array with one value per column, in the order of `columns`. Objects and arrays are stored as JSON text. On PostgreSQL numbers and booleans are sent as text that the server reads for the column's own type: exact into `NUMERIC`, `DOUBLE PRECISION`, `TEXT` and `JSONB`, and a number with a fraction into an `INTEGER` column is refused rather than rounded (a whole number written `2.0` or `1e3` is taken): its message fails, alone with `conflict: do_nothing` or `upsert`, with its batch with `conflict: none`.").
				Example(`root = [ this.year, this.gp, this.driver, this.lap, this.time ]`),
			service.NewStringField(sqlFieldInitStatement).
				Description("SQL run once when connecting, for example to create the table. It may hold several statements separated by `;`.").
				Optional(),
			// none names what leaving the field out did, for `f1fetch
			// create`: it writes an optional field without a default as its
			// zero value, "", which the enum refuses.
			service.NewStringEnumField(sqlFieldConflict, "none", "do_nothing", "upsert").
				Description("What to do with a row that collides with a stored one: `none` adds no conflict clause, so the database refuses the row (its batch fails whole), `do_nothing` keeps the stored row, `upsert` overwrites its other columns (needs `conflict_columns`).").
				Default("none"),
			service.NewStringListField(sqlFieldConflictColumns).
				Description("The columns of the unique key that decides a collision, a subset of `columns`.").
				Example([]string{"year", "gp", "driver", "lap"}).
				Optional(),
			service.NewBatchPolicyField(sqlFieldBatching),
			service.NewOutputMaxInFlightField(),
			// 0 is the driver's own bound, so that the 0 `f1fetch create`
			// writes is the default rather than no bound on sqlite.
			service.NewIntField(sqlFieldConnMaxOpen).
				Description("The most open connections to the database. Up to this many, and at most `max_in_flight`, are kept open between batches to be used again. 0 is 1 for sqlite (its single writer; an in-memory database lives in one connection) and no limit for postgres. Unlike Redpanda Connect's, where 0 is no limit for every driver, there is no unbounded sqlite.").
				Default(0).
				Advanced(),
		).
		Example("Laps into SQLite, idempotent reruns", `
Rows of the f1_rows processor land in a local SQLite file; running the pipeline again
for the same session leaves the table as it was.`, sqlInsertOutputExample)
}

func init() {
	service.MustRegisterBatchOutput("sql_insert", sqlInsertOutputSpec(), buildSQLInsertOutput)
}

// buildSQLInsertOutput is the output's constructor, which its lint rule runs too.
var buildSQLInsertOutput = batchedOutput(newSQLInsertOutput, sqlFieldBatching, sqlFieldMaxInFlight)

// sqlInsertOutput writes each batch in one transaction.
type sqlInsertOutput struct {
	driver      string // database/sql driver name
	driverName  string // as the config names it: sqlite or postgres
	dsn         string
	table       string
	columns     []string
	argsMapping *bloblang.Executor
	initStmt    string
	insert      string    // the INSERT of one row
	statement   insertSQL // the INSERT of any number of rows
	maxRows     int       // rows to a statement
	upsertKeys  []int     // with DO UPDATE: the indexes in columns of the conflict key
	// inPart: a batch may be stored in part, the messages that fail failing
	// alone. Only with conflict: those fail back to the input, and the
	// f1_fetch input sends their whole document again, so a row stored in
	// part would be stored twice without a conflict clause to absorb it.
	inPart      bool
	connMaxOpen int // 0: no limit
	maxInFlight int // batches written at once
	log         *service.Logger

	mu sync.RWMutex
	db *sql.DB
}

var (
	sqlTableName  = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$`)
	sqlColumnName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

func newSQLInsertOutput(conf *service.ParsedConfig, mgr *service.Resources) (*sqlInsertOutput, error) {
	o := &sqlInsertOutput{log: mgr.Logger()}
	name, err := conf.FieldString(sqlFieldDriver)
	if err != nil {
		return nil, err
	}
	var ok bool
	o.driverName = name
	if o.driver, ok = sqlDrivers[name]; !ok {
		return nil, fmt.Errorf("field %s: unknown driver %q (want sqlite or postgres)", sqlFieldDriver, name)
	}
	if o.dsn, err = conf.FieldString(sqlFieldDSN); err != nil {
		return nil, err
	}
	if o.dsn == "" {
		return nil, fmt.Errorf("field %s: must not be empty", sqlFieldDSN)
	}
	// Connect would fail on it for ever, once a second.
	if reason := dsnParseError(name, o.dsn); reason != "" {
		return nil, fmt.Errorf("field %s: value %q: %s", sqlFieldDSN, maskDSN(o.dsn), reason)
	}
	if name == "sqlite" {
		o.dsn = sqliteDSN(o.dsn)
		o.connMaxOpen = 1
	}
	connMaxOpen, err := conf.FieldInt(sqlFieldConnMaxOpen)
	if err != nil {
		return nil, err
	}
	if connMaxOpen < 0 {
		return nil, fmt.Errorf("field %s: must not be negative, got %d", sqlFieldConnMaxOpen, connMaxOpen)
	}
	if connMaxOpen > 0 {
		o.connMaxOpen = connMaxOpen
	}

	if o.table, err = conf.FieldString(sqlFieldTable); err != nil {
		return nil, err
	}
	if !sqlTableName.MatchString(o.table) {
		return nil, fmt.Errorf("field %s: %q is not a plain table name (letters, digits, _; optionally schema.table)", sqlFieldTable, o.table)
	}
	if o.columns, err = sqlColumns(conf, sqlFieldColumns); err != nil {
		return nil, err
	}
	if len(o.columns) == 0 {
		return nil, fmt.Errorf("field %s: at least one column is required", sqlFieldColumns)
	}
	if o.argsMapping, err = conf.FieldBloblang(sqlFieldArgsMapping); err != nil {
		return nil, err
	}
	if conf.Contains(sqlFieldInitStatement) {
		if o.initStmt, err = conf.FieldString(sqlFieldInitStatement); err != nil {
			return nil, err
		}
	}

	conflict, err := conf.FieldString(sqlFieldConflict)
	if err != nil {
		return nil, err
	}
	var keys []string
	if conf.Contains(sqlFieldConflictColumns) {
		if keys, err = sqlColumns(conf, sqlFieldConflictColumns); err != nil {
			return nil, err
		}
	}
	for _, k := range keys {
		if !slices.Contains(o.columns, k) {
			return nil, fmt.Errorf("field %s: column %q is not one of %s %q", sqlFieldConflictColumns, k, sqlFieldColumns, o.columns)
		}
	}
	switch conflict {
	case "none":
		if len(keys) > 0 {
			return nil, fmt.Errorf("field %s: needs %s do_nothing or upsert", sqlFieldConflictColumns, sqlFieldConflict)
		}
		conflict = "" // no clause, as newInsertSQL and inPart read it
	case "do_nothing":
	case "upsert":
		if len(keys) == 0 {
			return nil, fmt.Errorf("field %s: required with %s %q", sqlFieldConflictColumns, sqlFieldConflict, conflict)
		}
	default:
		return nil, fmt.Errorf("field %s: unknown value %q (want none, do_nothing or upsert)", sqlFieldConflict, conflict)
	}
	if o.maxInFlight, err = conf.FieldMaxInFlight(); err != nil {
		return nil, err
	}
	o.inPart = conflict != ""
	o.statement = newInsertSQL(name, o.table, o.columns, conflict, keys)
	o.insert = o.statement.rows(1)
	o.maxRows = rowsPerStatement(name, len(o.columns))
	if o.statement.updates {
		for _, k := range keys {
			o.upsertKeys = append(o.upsertKeys, slices.Index(o.columns, k))
		}
	}
	return o, nil
}

// Rows to a statement. On PostgreSQL, where each statement is a round trip,
// up to pgMaxRows, fewer when the columns are many: a statement binds at
// most pgMaxParams values (the extended protocol counts them in 16 bits).
// A larger statement saves round trips but costs the server more to prepare
// in each batch: writing telemetry (21 columns) with statements of 50 to
// 1500 rows (F1FETCH_SQL_SPEED=sweep, TestSQLInsertSpeed), small ones did
// best on loopback and large ones 1.5 to 2.6 ms away; 500 was within about
// 25% of the best in every case. On SQLite, in process, there is no round
// trip to save: statements of several rows, prepared for each batch, wrote
// the 740 rows of a telemetry file at 0.7x to 0.9x the speed of one row a
// statement, 2000 rows at 0.8x to 1.0x, so SQLite stays one row a statement.
const (
	pgMaxRows   = 500
	pgMaxParams = 65535
)

// rowsPerStatement is how many rows of columns values one INSERT takes for
// driver (the config's name).
func rowsPerStatement(driver string, columns int) int {
	if driver != "postgres" {
		return 1
	}
	return max(1, min(pgMaxRows, pgMaxParams/columns))
}

func sqlColumns(conf *service.ParsedConfig, field string) ([]string, error) {
	cols, err := conf.FieldStringList(field)
	if err != nil {
		return nil, err
	}
	for i, c := range cols {
		if !sqlColumnName.MatchString(c) {
			return nil, fmt.Errorf("field %s: %q is not a plain column name (letters, digits, _)", field, c)
		}
		if slices.Contains(cols[:i], c) {
			// The database would refuse every batch, retried for ever.
			return nil, fmt.Errorf("field %s: column %q is listed twice", field, c)
		}
	}
	return cols, nil
}

// insertSQL builds the INSERT of a number of rows: head, a VALUES list of
// placeholders (the driver's), and the conflict clause both SQLite and
// PostgreSQL understand.
type insertSQL struct {
	head, clause string
	columns      int
	postgres     bool // $1, $2, ... rather than ?
	updates      bool // the clause is DO UPDATE
}

func newInsertSQL(driver, table string, columns []string, conflict string, keys []string) insertSQL {
	quoted := func(names []string) string {
		q := make([]string, len(names))
		for i, n := range names {
			q[i] = quoteColumn(driver, n)
		}
		return strings.Join(q, ", ")
	}
	s := insertSQL{
		head:     fmt.Sprintf("INSERT INTO %s (%s) VALUES ", table, quoted(columns)),
		columns:  len(columns),
		postgres: driver == "postgres",
	}
	var sets []string
	for _, c := range columns {
		if !slices.Contains(keys, c) {
			q := quoteColumn(driver, c)
			sets = append(sets, q+" = EXCLUDED."+q)
		}
	}
	switch {
	case conflict == "":
	case len(keys) == 0:
		s.clause = " ON CONFLICT DO NOTHING"
	case conflict == "do_nothing" || len(sets) == 0:
		s.clause = fmt.Sprintf(" ON CONFLICT (%s) DO NOTHING", quoted(keys))
	default:
		s.clause = fmt.Sprintf(" ON CONFLICT (%s) DO UPDATE SET %s", quoted(keys), strings.Join(sets, ", "))
		s.updates = true
	}
	return s
}

// rows returns the INSERT of n rows.
func (s insertSQL) rows(n int) string {
	b := make([]byte, 0, len(s.head)+len(s.clause)+n*s.columns*8)
	b = append(b, s.head...)
	p := 0
	for r := range n {
		if r > 0 {
			b = append(b, ", "...)
		}
		b = append(b, '(')
		for c := range s.columns {
			if c > 0 {
				b = append(b, ", "...)
			}
			p++
			if s.postgres {
				b = append(b, '$')
				b = strconv.AppendInt(b, int64(p), 10)
			} else {
				b = append(b, '?')
			}
		}
		b = append(b, ')')
	}
	return string(append(b, s.clause...))
}

// quoteColumn quotes a column name (letters, digits, _ only), so that a name
// that is an SQL keyword, such as order or group, names a column rather than
// failing every write. PostgreSQL keeps the case of a quoted name and folds
// an unquoted one to lower case: there the name is lowered first, so it
// names the column it named unquoted.
func quoteColumn(driver, name string) string {
	if driver == "postgres" {
		name = strings.ToLower(name)
	}
	return `"` + name + `"`
}

// sqliteDSN adds the pragmas a concurrent writer needs unless the DSN sets
// them itself: wait for locks instead of failing, and write ahead.
func sqliteDSN(dsn string) string {
	_, query, _ := strings.Cut(dsn, "?") // the path may hold any word
	var add []string
	if !strings.Contains(query, "busy_timeout") {
		add = append(add, "_pragma=busy_timeout(5000)")
	}
	if !strings.Contains(query, "journal_mode") {
		add = append(add, "_pragma=journal_mode(WAL)")
	}
	if len(add) == 0 {
		return dsn
	}
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	return dsn + sep + strings.Join(add, "&")
}

// A password= parameter's value: in a URL's query it ends at &; in a
// keyword DSN (host=db password=...) at white space that no \ escapes, or it
// is quoted and may hold \' (as pgx reads it; unterminated, to the end).
var (
	urlPassword     = regexp.MustCompile(`(?i)(password\s*=\s*)('(?:[^'\\]|\\.)*'|[^\s&]+)`)
	keywordPassword = regexp.MustCompile(`(?is)(password\s*=\s*)('(?:[^'\\]|\\.)*(?:'|$)|(?:[^\s\\]|\\.)+\\?)`)
)

const dsnMask = "xxxxx"

// maskDSN hides the passwords of a DSN, as a URL user or a password= (or
// sslpassword=) parameter, so that it can be logged.
func maskDSN(dsn string) string {
	for _, scheme := range []string{"postgres://", "postgresql://"} {
		if rest, ok := strings.CutPrefix(dsn, scheme); ok {
			return urlPassword.ReplaceAllString(scheme+maskPostgresURL(rest), "${1}"+dsnMask)
		}
	}
	if u, err := url.Parse(dsn); err == nil && u.User != nil {
		if _, has := u.User.Password(); has {
			dsn = u.Redacted()
		}
	}
	if strings.Contains(dsn, "://") {
		return urlPassword.ReplaceAllString(dsn, "${1}"+dsnMask)
	}
	return keywordPassword.ReplaceAllString(dsn, "${1}"+dsnMask)
}

// maskPostgresURL masks the passwords of a postgres:// URL (rest is what
// follows the scheme) where pgx, like libpq, finds them, which url.Parse does
// not: pgx takes the userinfo up to the first '@' before any '/', so that a
// password may hold # ? [ ] ^ { } | \ unescaped, where url.Parse refuses the
// URL; and it percent-decodes the query's keys, so pass%77ord= is password=.
//
// A URL that pgx misreads or refuses (an unescaped '@' or '/' in the
// password, which leaves an '@' before the query, a port that is not a
// number or a query pair without one '=') cannot log in, but its password is
// still there: then everything from the first ':' to the last '@' is masked,
// which may hide more than the password.
func maskPostgresURL(rest string) string {
	var b strings.Builder
	b.Grow(len(rest))
	p := rest // after the userinfo
	if i := strings.IndexAny(rest, "@/"); i >= 0 && rest[i] == '@' {
		user, _, hasPassword := strings.Cut(rest[:i], ":")
		b.WriteString(user)
		if hasPassword {
			b.WriteString(":" + dsnMask)
		}
		b.WriteByte('@')
		p = rest[i+1:]
	}
	q := pgQueryStart(p)
	if q < 0 {
		b.WriteString(p)
	} else {
		b.WriteString(p[:q+1])
		secret := false // the pair before was a password
		for i, pair := range strings.Split(p[q+1:], "&") {
			if i > 0 {
				b.WriteByte('&')
			}
			key, _, hasValue := strings.Cut(pair, "=")
			switch k := percentDecoded(key); {
			case hasValue && (k == "password" || k == "sslpassword"):
				b.WriteString(key + "=" + dsnMask)
				secret = true
			case !hasValue && secret: // the rest of a password that held '&'
				b.WriteString(dsnMask)
			default:
				b.WriteString(pair)
				secret = false
			}
		}
	}
	masked := b.String()
	if !pgURLReadAsWritten(p) {
		at := strings.LastIndexByte(masked, '@')
		if c := strings.IndexByte(masked, ':'); c >= 0 && c < at {
			masked = masked[:c+1] + dsnMask + masked[at:]
		}
	}
	return masked
}

// pgURLReadAsWritten reports whether p, a postgres URL after its userinfo,
// is one pgx reads as it looks: no '@' before the query, every port a
// number, every query pair key=value.
func pgURLReadAsWritten(p string) bool {
	h := pgHostsEnd(p)
	if h < 0 {
		return false
	}
	for _, hp := range strings.Split(p[:h], ",") {
		if strings.HasPrefix(hp, "[") {
			hp = hp[strings.IndexByte(hp, ']')+1:]
		}
		_, port, _ := strings.Cut(hp, ":")
		if strings.Trim(port, "0123456789") != "" {
			return false
		}
	}
	q := pgQueryStart(p)
	if q < 0 {
		return !strings.Contains(p, "@")
	}
	if strings.Contains(p[:q], "@") {
		return false
	}
	if q+1 == len(p) {
		return true
	}
	for _, pair := range strings.Split(p[q+1:], "&") {
		if strings.Count(pair, "=") != 1 {
			return false
		}
	}
	return true
}

// pgHostsEnd returns where the host list of p (a postgres URL after its
// userinfo) ends, at a '/' or '?' outside [IPv6] brackets, or -1 for an
// unclosed bracket.
func pgHostsEnd(p string) int {
	i := 0
	for {
		if i < len(p) && p[i] == '[' {
			j := strings.IndexByte(p[i:], ']')
			if j < 0 {
				return -1
			}
			i += j + 1
		}
		for i < len(p) && p[i] != '/' && p[i] != '?' && p[i] != ',' {
			i++
		}
		if i < len(p) && p[i] == ',' {
			i++
			continue
		}
		return i
	}
}

// pgQueryStart returns the index of the '?' that starts the query of p (a
// postgres URL after its userinfo), or -1, as pgx finds it: after the host
// list, whose [IPv6] entries may hold a '?', and after the path if any.
func pgQueryStart(p string) int {
	i := pgHostsEnd(p)
	switch {
	case i < 0:
		return strings.IndexByte(p, '?')
	case i == len(p):
		return -1
	case p[i] == '?':
		return i
	}
	if j := strings.IndexByte(p[i:], '?'); j >= 0 {
		return i + j
	}
	return -1
}

// percentDecoded decodes the valid %XX of a URL query key, leaving any other
// byte, and trims spaces, as pgx reads a key.
func percentDecoded(s string) string {
	s = strings.Trim(s, " ")
	if !strings.Contains(s, "%") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+3], 16, 8); err == nil {
				b.WriteByte(byte(v))
				i += 2
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// dsnParseError returns why the driver (the config's name) can never read
// dsn, or "" when it can or when what fails may mend: a file the DSN names
// (sslrootcert, sslcert, sslkey, a service file) may be there later, so that
// failure is left to Connect, which retries it.
//
// PostgreSQL's DSN is read by pgx.ParseConfig, as pgx reads it to connect.
// SQLite's syntax is only its query: modernc's driver parses what follows the
// first '?' (past the first byte) as a URL query before opening anything;
// the values of its keys are checked as it opens the database.
//
// The reason is the parser's for maskDSN(dsn), so that it cannot quote a
// password: pgx's own messages quote what they stumble on ("p w" of a
// password holding '/' and ' ', the part of a query password after an '&'),
// and its redaction is best effort. When the masked DSN parses, the reason
// is left out.
func dsnParseError(driver, dsn string) string {
	switch driver {
	case "postgres":
		_, err := pgx.ParseConfig(dsn)
		var pce *pgconn.ParseConfigError
		if err == nil || errors.As(err, new(*fs.PathError)) ||
			errors.As(err, &pce) && strings.HasPrefix(pgParseReason(pce), "failed to read service") {
			return ""
		}
		return pgMaskedReason(dsn)
	case "sqlite":
		if i := strings.IndexByte(dsn, '?'); i < 1 {
			return ""
		} else if _, err := url.ParseQuery(dsn[i+1:]); err == nil {
			return ""
		}
		masked := maskDSN(dsn)
		_, err := url.ParseQuery(masked[strings.IndexByte(masked, '?')+1:])
		if err == nil {
			return "not a URL query after '?' (its reason is left out: it quotes what the mask hides)"
		}
		return "not a URL query after '?': " + err.Error()
	}
	return ""
}

// pgMaskedReason is why pgx cannot parse dsn, as it says of maskDSN(dsn),
// without the DSN (see dsnParseError).
func pgMaskedReason(dsn string) string {
	_, err := pgx.ParseConfig(maskDSN(dsn))
	var pce *pgconn.ParseConfigError
	if !errors.As(err, &pce) {
		return "pgx cannot parse it (its reason is left out: it quotes what the mask hides)"
	}
	return pgParseReason(pce)
}

// connectError is err, a failure to connect to o's database, naming the DSN
// masked. A pgx parse error (a file the DSN names is not there: the only one
// left after newSQLInsertOutput, met whenever pgx opens a connection) becomes
// its reason for the masked DSN: pgx's message quotes the DSN as its
// best-effort redaction leaves it.
func (o *sqlInsertOutput) connectError(err error) error {
	if errors.As(err, new(*pgconn.ParseConfigError)) {
		err = errors.New(pgMaskedReason(o.dsn))
	}
	return fmt.Errorf("sql_insert: field %s: connecting to %s database %s: %w", sqlFieldDSN, o.driverName, maskDSN(o.dsn), err)
}

// pgParseReason is the message of a pgx parse error without the DSN it
// quotes ("cannot parse `...`: "), which the caller names, masked, itself.
func pgParseReason(err *pgconn.ParseConfigError) string {
	prefix := pgconn.NewParseConfigError(err.ConnString, "", nil).Error()
	reason, _ := strings.CutPrefix(err.Error(), prefix)
	return reason
}

// Connect opens the database, or, called again by Benthos after WriteBatch
// reported itself not connected, checks that the database answers: an error
// then makes Benthos wait (backing off) and call it again, rather than write
// the batch to a database that is not there.
func (o *sqlInsertOutput) Connect(ctx context.Context) error {
	o.mu.RLock()
	db := o.db
	o.mu.RUnlock()
	if db != nil {
		if err := db.PingContext(ctx); err != nil {
			return o.connectError(err)
		}
		return nil
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.db != nil {
		return nil
	}
	// The first connection runs init_statement, which creates the table a
	// reader of the database expects even when no row came for it: a
	// pipeline that ends early (a fallback closes its outputs at once) must
	// not cancel it half way. Bounded instead: reaching the database within
	// Benthos' default shutdown_timeout (20 s), for one that never answers;
	// init_statement more generously, as building an index may take minutes.
	ctx = context.WithoutCancel(ctx)
	db, err := sql.Open(o.driver, o.dsn)
	if err != nil {
		return fmt.Errorf("sql_insert: field %s: opening %s database %s: %w", sqlFieldDSN, o.driverName, maskDSN(o.dsn), err)
	}
	db.SetMaxOpenConns(o.connMaxOpen)
	// database/sql keeps 2 idle connections unless told: with more batches in
	// flight, connections were opened and closed again for every batch. (It
	// caps the idle ones at conn_max_open itself.)
	db.SetMaxIdleConns(o.maxInFlight)
	if o.driver == "pgx" {
		// But not for ever: a burst may have opened max_in_flight
		// connections (64 by default), and a PostgreSQL server's slots are
		// few (100 by default) and shared. Not SQLite's: its one connection
		// is an in-memory database's whole life.
		db.SetConnMaxIdleTime(time.Minute)
	}
	pingCtx, cancel := context.WithTimeout(ctx, connectTimeout)
	defer cancel()
	ping := db.PingContext
	if o.driver == "sqlite" {
		ping = func(ctx context.Context) error { return pingSQLite(ctx, db) }
	}
	if err := ping(pingCtx); err != nil {
		db.Close()
		// Name the DSN (masked): SQLite's "unable to open database file
		// (14)" says nothing of which file.
		return o.connectError(err)
	}
	if o.initStmt != "" {
		initCtx, cancel := context.WithTimeout(ctx, initTimeout)
		defer cancel()
		if _, err := db.ExecContext(initCtx, o.initStmt); err != nil {
			db.Close()
			return fmt.Errorf("sql_insert: field %s: %w", sqlFieldInitStatement, err)
		}
	}
	o.log.Infof("sql_insert: writing to table %s of %s database %s", o.table, o.driverName, maskDSN(o.dsn))
	o.db = db
	return nil
}

// pingSQLite pings db, which opens its first connection and so applies the
// DSN's pragmas, and pings again while that fails with SQLITE_BUSY, until ctx
// ends: then it returns the last SQLITE_BUSY. journal_mode(WAL) on a file not
// yet in WAL (a new one) writes the file's header in a read transaction it
// then upgrades to a write (sqlite3BtreeSetVersion), and SQLite calls the busy
// handler only for a transaction begun with none open (btreeBeginTrans: two
// readers each waiting for the other to go would wait for ever): while
// another connection holds the write lock, the pragma fails at once,
// whatever busy_timeout says. The outputs of one pipeline writing one new
// file (session_to_sqlite.yaml has one per table) all convert it as they
// connect: 2 to 5 runs of 100 logged an output failing to connect with
// "database is locked", 16 of 1000 rounds of
// TestSQLInsertOutputsConnectAtOnceToANewFile. Once the file is in WAL the
// pragma writes nothing and the next ping connects. A lock that stays still
// fails Connect, after connectTimeout (plus up to busy_timeout, which a ping
// waits for any other lock).
func pingSQLite(ctx context.Context, db *sql.DB) error {
	var busy error // the last SQLITE_BUSY
	for {
		err := db.PingContext(ctx)
		switch {
		case busy != nil && err != nil && errors.Is(err, ctx.Err()):
			// Ended by ctx, possibly before opening anything (database/sql
			// then says only "context deadline exceeded"): the lock is why.
			return busy
		case !sqliteBusy(err):
			return err
		}
		busy = err
		select {
		case <-ctx.Done():
			return busy
		case <-time.After(sqliteBusyPause):
		}
	}
}

// sqliteBusyPause is how long pingSQLite waits before pinging again, as long
// as SQLite's own busy handler waits after a few attempts.
const sqliteBusyPause = 10 * time.Millisecond

// sqliteBusy reports whether err is SQLite's SQLITE_BUSY (with any extended
// code).
func sqliteBusy(err error) bool {
	code, ok := sqlitePrimaryCode(err)
	return ok && code == sqliteBusyCode
}

// connectTimeout bounds reaching the database the first time, initTimeout
// its init_statement.
var (
	connectTimeout = 10 * time.Second
	initTimeout    = 5 * time.Minute
)

// retryPause is how long WriteBatch waits before reporting a failure that is
// not the data's (the batch is then written again), so that a database that
// answers pings but fails writes is not hammered.
var retryPause = time.Second

// WriteBatch writes the batch. It returns nil when every message is stored;
// a service.BatchError failing only the messages the database refused for
// their data (see refusal) or args_mapping failed on, the others stored; or,
// for any other failure (nothing is stored then), service.ErrNotConnected:
// Benthos then calls Connect until it succeeds and writes the batch again
// itself, so that such a failure never reaches a fallback output as a failed
// message (a fallback passes on every error but that one).
func (o *sqlInsertOutput) WriteBatch(ctx context.Context, batch service.MessageBatch) error {
	err := o.writeBatch(ctx, batch)
	var refused *service.BatchError
	if err == nil || errors.As(err, &refused) || errors.Is(err, service.ErrNotConnected) {
		return err
	}
	if errors.As(err, new(*pgconn.ParseConfigError)) { // a new connection of the pool
		err = o.connectError(err)
	}
	o.log.Errorf("%v; the batch of %d messages is written again", err, len(batch))
	select {
	case <-ctx.Done():
	case <-time.After(retryPause):
	}
	// Benthos turns this into its own not-connected error, dropping err's
	// text (logged above).
	return fmt.Errorf("%w: %w", service.ErrNotConnected, err)
}

func (o *sqlInsertOutput) writeBatch(ctx context.Context, batch service.MessageBatch) error {
	o.mu.RLock()
	defer o.mu.RUnlock()
	if o.db == nil {
		return service.ErrNotConnected
	}
	var failed *service.BatchError
	isFailed := make([]bool, len(batch))
	fail := func(i int, err error) {
		if failed == nil {
			failed = service.NewBatchError(batch, err)
		}
		failed.Failed(i, err)
		isFailed[i] = true
	}
	mapping := batch.BloblangExecutor(o.argsMapping)
	rows := make([][]any, 0, len(batch))
	index := make([]int, 0, len(batch)) // rows[r] is message index[r]
	for i := range batch {
		args, err := o.args(mapping, i)
		if err != nil {
			// The same message fails the same way every time.
			fail(i, fmt.Errorf("sql_insert: table %s: field %s: message %d: %w", o.table, sqlFieldArgsMapping, i, err))
			continue
		}
		rows = append(rows, args)
		index = append(index, i)
	}
	var whole error // why nothing of the batch was stored, if so
	if !o.inPart {
		whole = fmt.Errorf("another message of its batch failed, and without %s a batch is stored whole or not at all (a message sent again would store its rows twice)", sqlFieldConflict)
	}
	refusedWhole := false
	if len(rows) > 0 && (failed == nil || o.inPart) {
		refused, err := o.write(ctx, rows, index)
		switch {
		case errors.Is(err, errRefusedWhole):
			refusedWhole, whole = true, err
		case err != nil && !errors.Is(err, errHeldBack):
			return err
		}
		for _, r := range refused {
			fail(index[r.row], fmt.Errorf("sql_insert: table %s: the database refused message %d%s: %w", o.table, index[r.row], o.refusedColumn(r.err), r.err))
		}
	}
	if failed == nil && !refusedWhole {
		return nil
	}
	if whole != nil {
		// Nothing was stored: every other message fails with them, so that
		// the batch goes back (or to a fallback) whole.
		for i := range batch {
			if !isFailed[i] {
				fail(i, fmt.Errorf("sql_insert: table %s: message %d not stored: %w", o.table, i, whole))
			}
		}
	}
	return failed
}

// errHeldBack is write's answer when rows were refused and the others were
// not stored either (see sqlInsertOutput.inPart).
var errHeldBack = errors.New("the batch was not stored in part")

// errRefusedWhole is write's answer when the database refused the batch as
// a whole, rows written one by one: at commit (a deferred constraint, which
// names no row), or a row's refusal ended the transaction. Nothing is
// stored; every message fails with it.
var errRefusedWhole = errors.New("the database refused the batch as a whole")

// refusal reports whether err is the database refusing a row for its data,
// which writing it again will not change: on PostgreSQL an error of SQLSTATE
// class 22 (data exception: a value its column cannot take, such as "None"
// into an INTEGER), 23 (integrity constraint violation: NOT NULL, a key,
// CHECK, a foreign key), 54 (program limit exceeded: a key too long for
// its index) or P0 (a PL/pgSQL error: a trigger's RAISE EXCEPTION that
// checks the row); on SQLite SQLITE_CONSTRAINT (with any extended code),
// SQLITE_MISMATCH or SQLITE_TOOBIG. Anything else (a connection refused or
// lost, SQLite busy, a missing table, a serialization failure) is not.
func refusal(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return slices.Contains([]string{"22", "23", "54", "P0"}, pgErr.Code[:min(2, len(pgErr.Code))])
	}
	code, ok := sqlitePrimaryCode(err)
	return ok && (code == sqliteTooBig || code == sqliteConstraint || code == sqliteMismatch)
}

// sqlitePrimaryCode is the primary result code of SQLite's error in err
// (its extended code without the extension), if err holds one.
func sqlitePrimaryCode(err error) (int, bool) {
	liteErr, ok := errors.AsType[*sqlite.Error](err)
	if !ok {
		return 0, false
	}
	return liteErr.Code() & 0xff, true
}

// portalParameter is where PostgreSQL says a bind value failed to convert:
// "unnamed portal parameter $3 = '0.5'".
var portalParameter = regexp.MustCompile(`portal parameter \$([0-9]+)`)

// refusedColumn names the column whose value PostgreSQL refused, as
// " (column brake)", when its error says: the parameter of the row's
// statement that failed to convert (insertEach's one-row statement, whose
// parameters are the columns in order), or the column of a constraint on
// this output's table (not another's, which a trigger may have written).
// The name is the configured one. "" when it does not say.
func (o *sqlInsertOutput) refusedColumn(err error) string {
	pgErr, ok := errors.AsType[*pgconn.PgError](err)
	if !ok {
		return ""
	}
	name := ""
	if m := portalParameter.FindStringSubmatch(pgErr.Where); m != nil {
		if n, _ := strconv.Atoi(m[1]); n >= 1 && n <= len(o.columns) {
			name = o.columns[n-1]
		}
	}
	_, table, _ := strings.Cut(o.table, ".")
	if table == "" {
		table = o.table
	}
	if name == "" && pgErr.ColumnName != "" && strings.EqualFold(pgErr.TableName, table) {
		name = pgErr.ColumnName
		if i := slices.IndexFunc(o.columns, func(c string) bool { return strings.EqualFold(c, name) }); i >= 0 {
			name = o.columns[i]
		}
	}
	if name == "" {
		return ""
	}
	return " (column " + name + ")"
}

// SQLite's primary result codes of a refusal (sqlite3.h), and of a lock
// another connection holds.
const (
	sqliteBusyCode   = 5  // SQLITE_BUSY
	sqliteTooBig     = 18 // SQLITE_TOOBIG
	sqliteConstraint = 19 // SQLITE_CONSTRAINT
	sqliteMismatch   = 20 // SQLITE_MISMATCH
)

// refusedRow is a row of a batch the database refused, by its index in the
// rows written, and why.
type refusedRow struct {
	row int
	err error
}

// write inserts rows in one transaction, maxRows to a statement. Should that
// fail inserting, on a refusal or, with several rows to a statement, on any
// error, the batch is written again in a transaction of its own, one row per
// statement, each in a savepoint (insertEach): that stores what one statement
// per row stores (the database may see a repeated key that chunks did not),
// and commits every row but those the database refuses, returned. An error
// is a failure that is not the data's: nothing is stored then.
func (o *sqlInsertOutput) write(ctx context.Context, rows [][]any, msgs messageIndex) ([]refusedRow, error) {
	first := o.insertOneByOne
	if o.maxRows > 1 {
		first = o.insertChunks
	}
	stage, err := o.writeTx(ctx, rows, msgs, first)
	// A refusal at commit is a deferred constraint's, which names no row:
	// the rows are written again one by one as for any refusal, which finds
	// the rows refused at once; a refusal at that commit refuses the batch.
	atCommit := stage == stageCommit && refusal(err)
	if stage != stageInsert && !atCommit || ctx.Err() != nil || o.maxRows == 1 && !refusal(err) {
		return nil, err
	}
	var refused []refusedRow
	stage, err1 := o.writeTx(ctx, rows, msgs, func(ctx context.Context, tx *sql.Tx, rows [][]any, msgs messageIndex) error {
		var err error
		refused, err = o.insertEach(ctx, tx, rows, msgs)
		if err == nil && len(refused) > 0 && !o.inPart {
			return errHeldBack // rolled back
		}
		return err
	})
	switch {
	case stage == stageBegin:
		return nil, err
	case errors.Is(err1, errHeldBack):
		o.log.Warnf("sql_insert: table %s: %d of %d rows of a batch refused, none stored (without %s a batch is stored whole; first: %v)", o.table, len(refused), len(rows), sqlFieldConflict, refused[0].err)
		return refused, err1
	case errors.Is(err1, errRefusedWhole):
		o.log.Warnf("sql_insert: table %s: a batch of %d rows refused, none stored: %v", o.table, len(rows), err1)
		return refused, err1
	case stage == stageCommit && refusal(err1):
		o.log.Warnf("sql_insert: table %s: a batch of %d rows refused at commit, none stored: %v", o.table, len(rows), err1)
		return refused, fmt.Errorf("%w: %w", errRefusedWhole, err1)
	case err1 != nil:
		return nil, err1
	case len(refused) == 0:
		o.log.Warnf("sql_insert: table %s: a batch of %d rows, refused as first written (%v), was stored one row per statement", o.table, len(rows), err)
	default:
		o.log.Warnf("sql_insert: table %s: %d of %d rows of a batch refused, the others stored (first: %v)", o.table, len(refused), len(rows), refused[0].err)
	}
	return refused, nil
}

// insertEach inserts rows one statement each, through one prepared
// statement, each in a savepoint: a row the database refuses (see refusal)
// is rolled back alone and returned, and the transaction goes on (PostgreSQL
// aborts a whole transaction on any error, unless rolled back to a
// savepoint). Any other error ends it.
func (o *sqlInsertOutput) insertEach(ctx context.Context, tx *sql.Tx, rows [][]any, msgs messageIndex) ([]refusedRow, error) {
	stmt, err := tx.PrepareContext(ctx, o.insert)
	if err != nil {
		return nil, fmt.Errorf("preparing insert: %w", err)
	}
	defer stmt.Close()
	var refused []refusedRow
	for i, args := range rows {
		if _, err := tx.ExecContext(ctx, "SAVEPOINT sql_insert_row"); err != nil {
			return nil, fmt.Errorf("message %d: savepoint: %w", msgs.of(i), err)
		}
		_, err := stmt.ExecContext(ctx, args...)
		switch {
		case err == nil:
		case refusal(err):
			refused = append(refused, refusedRow{row: i, err: err})
			if _, rbErr := tx.ExecContext(ctx, "ROLLBACK TO SAVEPOINT sql_insert_row"); rbErr != nil {
				if o.driver == "sqlite" {
					// The refusal ended the transaction (a column's ON
					// CONFLICT ROLLBACK, a trigger's RAISE(ROLLBACK)):
					// nothing of the batch stays, and writing it again ends
					// the same way.
					return refused, fmt.Errorf("%w: message %d ended the transaction: %w", errRefusedWhole, msgs.of(i), err)
				}
				return nil, fmt.Errorf("message %d: rolling back to savepoint: %w", msgs.of(i), rbErr)
			}
		default:
			return nil, fmt.Errorf("inserting message %d: %w", msgs.of(i), err)
		}
		if _, err := tx.ExecContext(ctx, "RELEASE SAVEPOINT sql_insert_row"); err != nil {
			return nil, fmt.Errorf("message %d: releasing savepoint: %w", msgs.of(i), err)
		}
	}
	return refused, nil
}

// Where a transaction of writeTx failed.
const (
	stageNone   = iota // it did not
	stageBegin         // beginning it
	stageInsert        // inserting: rolled back
	stageCommit        // committing
)

// writeTx inserts rows with insert in one transaction.
func (o *sqlInsertOutput) writeTx(ctx context.Context, rows [][]any, msgs messageIndex, insert func(context.Context, *sql.Tx, [][]any, messageIndex) error) (stage int, err error) {
	tx, err := o.db.BeginTx(ctx, nil)
	if err != nil {
		return stageBegin, fmt.Errorf("sql_insert: beginning transaction: %w", err)
	}
	if err := insert(ctx, tx, rows, msgs); err != nil {
		_ = tx.Rollback()
		return stageInsert, fmt.Errorf("sql_insert: table %s: %w", o.table, err)
	}
	if err := tx.Commit(); err != nil {
		return stageCommit, fmt.Errorf("sql_insert: table %s: committing: %w", o.table, err)
	}
	return stageNone, nil
}

// insertChunks inserts rows in order, as many to a statement as chunks
// allows. On PostgreSQL a statement whose values are all text or NULL, as
// pgArg leaves numbers and bools, and whose number of rows no other
// statement of the batch has, goes in one round trip, as pgx's
// QueryExecModeExec sends it: parsed as the unnamed statement, which the
// next one replaces, so that no prepared statement of hundreds of rows stays
// on the server, and bound with its values as text, which the server reads
// for each column's type as it read them from a prepared statement. Any
// other statement is prepared, once for each number of rows it takes, and
// closed at the end: three round trips (prepare, execute, close) for the
// first, one for each other. Those are SQLite's; PostgreSQL's with a []byte
// or a time.Time value, which pgx encodes for the column's type when it
// knows it from preparing and as its own Go type's otherwise (a []byte as
// bytea, refused by JSONB, stored as \x... hex by TEXT); and PostgreSQL's of
// a size the batch repeats, parsed once rather than for each: the 4
// statements of 500 rows of a batch of 2000 (21 columns) went 0.8x as fast
// each parsed as the unnamed statement as prepared once
// (TestSQLInsertSpeed, loopback and 1.5 ms away).
func (o *sqlInsertOutput) insertChunks(ctx context.Context, tx *sql.Tx, rows [][]any, msgs messageIndex) error {
	var key func([]any) (string, bool)
	if o.upsertKeys != nil {
		key = o.conflictKey
	}
	stmts := map[int]*sql.Stmt{}
	defer func() {
		for _, s := range stmts {
			s.Close()
		}
	}()
	runs := chunks(rows, o.maxRows, key)
	sizes := map[int]int{} // statements of each number of rows
	for _, c := range runs {
		sizes[c[1]-c[0]]++
	}
	// args[0] is the mode for pgx, which takes it off; args[1:] the values.
	args := []any{pgx.QueryExecModeExec}
	for _, c := range runs {
		first, n := c[0], c[1]-c[0]
		args = args[:1]
		for _, r := range rows[first:c[1]] {
			args = append(args, r...)
		}
		var err error
		if o.driver == "pgx" && sizes[n] == 1 && textOrNull(args[1:]) {
			_, err = tx.ExecContext(ctx, o.statement.rows(n), args...)
		} else {
			stmt := stmts[n]
			if stmt == nil {
				if stmt, err = tx.PrepareContext(ctx, o.statement.rows(n)); err != nil {
					return fmt.Errorf("preparing insert of %d rows: %w", n, err)
				}
				stmts[n] = stmt
			}
			_, err = stmt.ExecContext(ctx, args[1:]...)
		}
		if err != nil {
			if n == 1 {
				return fmt.Errorf("inserting message %d: %w", msgs.of(first), err)
			}
			return fmt.Errorf("inserting messages %d to %d: %w", msgs.of(first), msgs.of(c[1]-1), err)
		}
	}
	return nil
}

// textOrNull reports whether every value is a string or nil: values pgx
// sends alike whether or not it knows the column's type.
func textOrNull(values []any) bool {
	for _, v := range values {
		switch v.(type) {
		case string, nil:
		default:
			return false
		}
	}
	return true
}

// chunks cuts rows into runs of at most maxRows, in order, given as [first,
// end) indexes. With key (an upsert), a run also ends before a row whose key
// a row of the run has: PostgreSQL refuses to update a row twice in one
// statement ("ON CONFLICT DO UPDATE command cannot affect row a second
// time"), and ending the statement there keeps the later row the winner, as
// one statement per row did. A row without a key (a NULL in it) repeats none.
func chunks(rows [][]any, maxRows int, key func([]any) (string, bool)) [][2]int {
	var runs [][2]int
	seen := map[string]bool{}
	first := 0
	for i, r := range rows {
		k, hasKey := "", false
		if key != nil {
			k, hasKey = key(r)
		}
		if i-first == maxRows || hasKey && seen[k] {
			runs = append(runs, [2]int{first, i})
			first = i
			clear(seen)
		}
		if hasKey {
			seen[k] = true
		}
	}
	if first < len(rows) {
		runs = append(runs, [2]int{first, len(rows)})
	}
	return runs
}

// conflictKey gives the values of a row's conflict key as the database
// receives them, and false if one is NULL: a unique key holds any number of
// those. Values the database receives alike are one key whatever their Go
// type: text by its bytes, from a string or a []byte (numbers and bools are
// text already on PostgreSQL, pgArg made them so: 5 and "5" are "5"), a
// time.Time by its instant to the microsecond, as pgx sends it to a
// TIMESTAMPTZ. Two values that are one key here but two to the database
// only end a statement early (one instant in two zones into a TIMESTAMP,
// which keeps each one's clock; a string and a []byte on SQLite, TEXT and
// BLOB); two values that are two keys here but one to the database (1.5 and
// 15e-1 into DOUBLE PRECISION) make PostgreSQL refuse the statement, and
// the batch is written again one row a statement.
func (o *sqlInsertOutput) conflictKey(row []any) (string, bool) {
	var b []byte
	for _, j := range o.upsertKeys {
		switch v := row[j].(type) {
		case nil:
			return "", false
		case string:
			b = strconv.AppendQuote(append(b, "text "...), v)
		case []byte:
			b = strconv.AppendQuote(append(b, "text "...), string(v))
		case time.Time:
			b = v.UTC().Truncate(time.Microsecond).AppendFormat(append(b, "time "...), time.RFC3339Nano)
		default:
			b = fmt.Appendf(b, "%T %#v", v, v)
		}
		b = append(b, 0)
	}
	return string(b), true
}

// insertOneByOne inserts rows one statement each, through one prepared
// statement.
func (o *sqlInsertOutput) insertOneByOne(ctx context.Context, tx *sql.Tx, rows [][]any, msgs messageIndex) error {
	stmt, err := tx.PrepareContext(ctx, o.insert)
	if err != nil {
		return fmt.Errorf("preparing insert: %w", err)
	}
	defer stmt.Close()
	for i, args := range rows {
		if _, err := stmt.ExecContext(ctx, args...); err != nil {
			return fmt.Errorf("inserting message %d: %w", msgs.of(i), err)
		}
	}
	return nil
}

// messageIndex gives the batch message of each row written: rows skip the
// messages args_mapping failed on. nil: row i is message i.
type messageIndex []int

func (m messageIndex) of(row int) int {
	if m == nil {
		return row
	}
	return m[row]
}

// args runs args_mapping for message i and checks it gave one value per column.
func (o *sqlInsertOutput) args(mapping *service.MessageBatchBloblangExecutor, i int) ([]any, error) {
	res, err := mapping.Query(i)
	if err != nil {
		return nil, err
	}
	if res == nil {
		return nil, fmt.Errorf("want an array of %d values (one per column), the mapping deleted the message", len(o.columns))
	}
	v, err := res.AsStructured()
	if err != nil {
		return nil, err
	}
	arr, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("want an array of %d values (one per column), got %T", len(o.columns), v)
	}
	if len(arr) != len(o.columns) {
		return nil, fmt.Errorf("want %d values (one per column of %q), got %d", len(o.columns), o.columns, len(arr))
	}
	for j, a := range arr {
		if arr[j], err = sqlArg(a, o.driver == "pgx"); err != nil {
			return nil, fmt.Errorf("column %s: %w", o.columns[j], err)
		}
	}
	return arr, nil
}

// sqlArg stores structured values as JSON text, which neither driver takes.
// For PostgreSQL (postgres) numbers and bools go as text too; see pgArg.
func sqlArg(v any, postgres bool) (any, error) {
	switch v := v.(type) {
	case map[string]any, []any:
		b, err := json.Marshal(v)
		if err != nil {
			return nil, err
		}
		return string(b), nil
	}
	if postgres {
		return pgArg(v), nil
	}
	if v, ok := v.(json.Number); ok {
		if n, err := v.Int64(); err == nil {
			return n, nil
		}
		if !strings.ContainsAny(v.String(), ".eE") {
			// An integer beyond int64 (an unsigned 64-bit id): as float64 it
			// lost its last digits in silence. As text, a TEXT column keeps
			// every digit, while SQLite's numeric affinities still turn it
			// into a REAL: there, only a TEXT column keeps it whole.
			return v.String(), nil
		}
		return v.Float64()
	}
	return v, nil
}

// pgArg passes a number or a bool to PostgreSQL as its text, which pgx sends
// as it is and the server reads for the column's own type. Bound as a Go
// number, pgx encoded a float64 into an INTEGER column by dropping its
// fraction (2.5 was stored as 2, acknowledged), and had no plan at all for a
// number or a bool into a TEXT column (every batch failed, retried for ever).
// As text, a fraction into an INTEGER column is refused by the server; NUMERIC,
// JSONB and TEXT keep every digit (an integer beyond int64 too, which BIGINT
// refuses), DOUBLE PRECISION the nearest double. A whole number written with a
// fraction or an exponent (2.0, 1e3) that fits an int64 is written as an
// integer (2, 1000), which INTEGER columns read; numeric columns read the same
// value, a TEXT one holds "2".
func pgArg(v any) any {
	switch v := v.(type) {
	case json.Number:
		if n, ok := integralText(v.String()); ok {
			return n
		}
		return v.String()
	case bool:
		return strconv.FormatBool(v)
	case float64:
		return floatText(v, 64)
	case float32:
		return floatText(float64(v), 32)
	case int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
		return fmt.Sprint(v) // decimal digits, as FormatInt and FormatUint write them
	}
	return v
}

// floatText writes a float as the shortest text that reads back as it, a
// whole one within int64 without exponent or fraction (so that an INTEGER
// column takes it). PostgreSQL reads NaN and ±Inf in FormatFloat's spelling.
func floatText(f float64, bits int) string {
	if f == math.Trunc(f) && math.Abs(f) < 1<<63 {
		return strconv.FormatFloat(f, 'f', -1, bits) // -0 stays -0
	}
	return strconv.FormatFloat(f, 'g', -1, bits)
}

// integralText rewrites a JSON number with a fraction or an exponent whose
// value is a whole number within int64 (2.0, 1e3, 1.5E3, -0.0) as an integer
// ("2", "1000", "1500", "-0"), exactly, from its digits; ok is false for any
// other number (2.5, 1e30) and for an integer as written.
func integralText(num string) (string, bool) {
	mant, exp, hasExp := strings.Cut(strings.ToLower(num), "e")
	intPart, frac, hasFrac := strings.Cut(mant, ".")
	if !hasExp && !hasFrac {
		return "", false
	}
	neg := strings.HasPrefix(intPart, "-")
	intPart = strings.TrimPrefix(intPart, "-")
	e := 0
	if hasExp {
		var err error
		if e, err = strconv.Atoi(exp); err != nil || e < -400 || e > 400 {
			return "", false
		}
	}
	digits := intPart + frac
	point := len(intPart) + e // digits[:point] is the integer part
	if point > 20 {
		return "", false // beyond int64, however written
	}
	if point < 0 {
		point = 0
	}
	if point < len(digits) {
		if strings.Trim(digits[point:], "0") != "" {
			return "", false // a fraction
		}
		digits = digits[:point]
	} else {
		digits += strings.Repeat("0", point-len(digits))
	}
	digits = strings.TrimLeft(digits, "0")
	if digits == "" {
		digits = "0"
	}
	if neg {
		digits = "-" + digits
	}
	if _, err := strconv.ParseInt(digits, 10, 64); err != nil {
		return "", false
	}
	return digits, true
}

func (o *sqlInsertOutput) Close(context.Context) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.db == nil {
		return nil
	}
	err := o.db.Close()
	o.db = nil
	return err
}
