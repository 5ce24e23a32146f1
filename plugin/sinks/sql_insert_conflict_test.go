package sinks

import (
	"fmt"
	"testing"

	"github.com/f1fetch/f1fetch/internal/testkit"
)

// An upsert whose key repeats in a batch as values of other Go types that
// PostgreSQL receives as one key: a statement ends before the repeat, as
// for a repeat of one type, rather than PostgreSQL refusing the statement
// ("ON CONFLICT DO UPDATE command cannot affect row a second time") and the
// batch going again one row a statement. Text from a string and from a
// []byte (content(), .bytes()) into TEXT; one instant parsed in two zones
// into TIMESTAMPTZ; a number and its text into INTEGER (pgArg made both the
// text "5" already).
func TestSQLInsertPostgresUpsertKeyAsTheDatabaseReceivesIt(t *testing.T) {
	tg := postgresTarget(testkit.PostgresDSN(t, "sql_insert conflict keys"))(t)
	for _, c := range []struct {
		name, ddl, mapping string
		docs               []string
	}{
		{"a string and a []byte into TEXT", "k TEXT PRIMARY KEY, v TEXT",
			`if this.raw == true { this.k.bytes() } else { this.k }`,
			[]string{`{"k":"VER","v":"first"}`, `{"k":"LEC","v":"other"}`, `{"k":"VER","raw":true,"v":"last"}`}},
		{"one instant in two zones into TIMESTAMPTZ", "k TIMESTAMPTZ PRIMARY KEY, v TEXT",
			`this.k.ts_parse("2006-01-02T15:04:05Z07:00")`,
			[]string{`{"k":"2025-03-16T16:00:00+11:00","v":"first"}`, `{"k":"2025-03-16T06:00:00Z","v":"other"}`, `{"k":"2025-03-16T05:00:00Z","v":"last"}`}},
		{"a number and its text into INTEGER", "k INTEGER PRIMARY KEY, v TEXT",
			`this.k`,
			[]string{`{"k":5,"v":"first"}`, `{"k":6,"v":"other"}`, `{"k":"5","v":"last"}`}},
	} {
		t.Run(c.name, func(t *testing.T) {
			table := uniqueTable(t, tg)
			o := connectDirectly(t, sqlInsertOutputSpec(), fmt.Sprintf(`
driver: postgres
dsn: %q
table: %s
columns: [ k, v ]
args_mapping: root = [ %s, this.v ]
init_statement: 'CREATE TABLE %s (%s)'
conflict: upsert
conflict_columns: [ k ]
`, tg.dsn, table, c.mapping, table, c.ddl), newSQLInsertOutput)
			// Statements of several rows alone, with no second try one
			// row a statement.
			if err := writeMultiRow(t, o, jsonBatch(c.docs...)); err != nil {
				t.Fatalf("write: %v", err)
			}
			var v string
			if err := tg.db.QueryRow(`SELECT string_agg(v, ',' ORDER BY v) FROM ` + table).Scan(&v); err != nil || v != "last,other" {
				t.Fatalf("stored v %q (%v), want last,other", v, err)
			}
		})
	}
}
