package sinks

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/f1fetch/f1fetch/internal/testkit"
)

// pipelineOutput returns the output of the case of the shipped pipeline
// name (under pipelines/) whose check is check, as a component's YAML, with
// its dsn line's ${VAR...} replaced by dsn.
func pipelineOutput(t *testing.T, name, check, dsn string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "pipelines", name))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	head := "      - check: '" + check + "'\n        output:\n"
	i := strings.Index(s, head)
	if i < 0 {
		t.Fatalf("%s: no output case %q", name, check)
	}
	s = s[i+len(head):]
	if j := strings.Index(s, "\n      - check:"); j >= 0 {
		s = s[:j+1]
	}
	var out strings.Builder
	for _, line := range strings.SplitAfter(s, "\n") {
		line = strings.TrimPrefix(line, "          ")
		if k := strings.Index(line, "dsn: ${"); k >= 0 {
			line = line[:k] + fmt.Sprintf("dsn: %q\n", dsn)
		}
		out.WriteString(line)
	}
	return out.String()
}

// The telemetry tables of the shipped pipelines store real samples as they
// are. TracingInsights/2022 "Abu Dhabi Grand Prix/Qualifying/VER/2_tel.json"
// (commit 34ddf2ac) has fractional brake values, first and last
// 0.26858782065714965 and 5222.543351646237 (the samples below, with the
// columns of that file this test knows; the others null); the column was
// brake INTEGER, which PostgreSQL refuses such a value for (it was
// truncated in silence before sql_insert sent numbers as text).
func TestShippedTelemetrySchemasKeepRealSamples(t *testing.T) {
	samples := []string{
		`{"year":2022,"gp":"Abu Dhabi Grand Prix","session":"Qualifying","driver":"VER","lap":2,"row":0,"time":0.0,"rpm":11670,"speed":230,"gear":5,"throttle":0,"brake":0.26858782065714965,"drs":0,"distance":0.26858782065714965,"acc_x":8.549177638324888}`,
		`{"year":2022,"gp":"Abu Dhabi Grand Prix","session":"Qualifying","driver":"VER","lap":2,"row":581,"time":84.754,"rpm":11530,"speed":223,"gear":5,"throttle":0,"brake":5222.543351646237,"drs":0,"distance":5222.543351646237,"rel_distance":0.9992298466232086}`,
	}
	want := map[int]float64{0: 0.26858782065714965, 581: 5222.543351646237}
	for _, name := range []string{"session_to_sqlite.yaml", "session_to_postgres.yaml", "kafka_to_postgres.yaml"} {
		t.Run(name, func(t *testing.T) {
			tg := pipelineTarget(t, name, "the telemetry schema of "+name)
			out := pipelineOutput(t, name, `@f1_kind == "telemetry"`, tg.dsn)
			if err := writeThrough(t, out, jsonBatch(samples...)); err != nil {
				t.Fatalf("write: %v\n%s", err, out)
			}
			for sample, brake := range want {
				var got float64
				var gear, drs int
				if err := tg.db.QueryRow(fmt.Sprintf("SELECT brake, gear, drs FROM telemetry WHERE year = 2022 AND driver = 'VER' AND lap = 2 AND sample = %d", sample)).Scan(&got, &gear, &drs); err != nil {
					t.Fatalf("sample %d: %v", sample, err)
				}
				if got != brake || gear != 5 || drs != 0 {
					t.Errorf("sample %d: brake %v, gear %d, drs %d; want %v, 5, 0", sample, got, gear, drs, brake)
				}
			}
		})
	}
}

// The tables of the shipped pipelines refuse a value their column cannot
// take, as the pipelines say (the row goes to the errors file, error_kind
// refused), on SQLite as on PostgreSQL. With F1FETCH_NORMALIZE_MISSING=false
// the 2026 files keep "None" in numeric columns (laptimes time, telemetry
// rel_distance, most samples of most files): PostgreSQL refused those rows
// (22P02), while SQLite's type affinity stored the text "None" in the
// DOUBLE PRECISION columns, acknowledged, in silence. Valid rows, a bool
// and an integer into numeric columns among them, are stored as they are.
func TestShippedTablesRefuseValuesTheirColumnsCannotTake(t *testing.T) {
	where := `"year":2026,"gp":"Pre-Season Testing","session":"Practice 3"`
	cases := []struct {
		check, table, column string
		good, bad            string
	}{
		{`@f1_kind == "laptimes" || @f1_kind == "session_laptimes"`, "laps", "time",
			`{` + where + `,"driver":"COL","lap":2,"time":88.592,"compound":"SOFT","stint":1.0,"pos":"None","status":"1","pb":true,"row":1}`,
			`{` + where + `,"driver":"COL","lap":1,"time":"None","compound":"nan","stint":"None","pos":"None","status":"1","pb":false,"row":0}`},
		{`@f1_kind == "telemetry"`, "telemetry", "rel_distance",
			`{` + where + `,"driver":"VER","lap":14,"row":1,"time":0.099,"rpm":10234.5,"speed":281.0,"gear":8,"throttle":104.0,"brake":0,"drs":0,"distance":7.8,"rel_distance":1.00009,"acc_x":0.1,"acc_y":0.2,"acc_z":0.3,"x":1.0,"y":2.0,"z":3.0,"dataKey":"2026-PreSeasonTesting-Practice 3-VER-14"}`,
			`{` + where + `,"driver":"VER","lap":14,"row":0,"time":0.0,"rpm":10234.5,"speed":281.0,"gear":8,"throttle":99.0,"brake":0,"drs":0,"distance":0.0,"rel_distance":"None","acc_x":0.1,"acc_y":0.2,"acc_z":0.3,"x":1.0,"y":2.0,"z":3.0,"dataKey":"2026-PreSeasonTesting-Practice 3-VER-14"}`},
		{`@f1_kind == "weather"`, "weather", "air_temp",
			`{` + where + `,"row":1,"wT":60.0,"wAT":21.5,"wH":40.0,"wP":1012.0,"wR":true,"wTT":30.1,"wWD":250,"wWS":1.2}`,
			`{` + where + `,"row":0,"wT":0.0,"wAT":"None","wH":40.0,"wP":1012.0,"wR":false,"wTT":30.1,"wWD":250,"wWS":1.2}`},
		{`@f1_kind == "corners"`, "corners", "distance",
			`{` + where + `,"row":1,"CornerNumber":2,"X":1.5,"Y":2.5,"Angle":90.0,"Distance":455.9,"Rotation":92.0}`,
			`{` + where + `,"row":0,"CornerNumber":1,"X":1.5,"Y":2.5,"Angle":90.0,"Distance":"None","Rotation":92.0}`},
	}
	for _, name := range []string{"session_to_sqlite.yaml", "session_to_postgres.yaml", "kafka_to_postgres.yaml"} {
		t.Run(name, func(t *testing.T) {
			tg := pipelineTarget(t, name, "the refusals of the tables of "+name)
			reason := map[string]string{"sqlite": "cannot store TEXT value in REAL column", "postgres": "22P02"}[tg.driver]
			for _, c := range cases {
				// The output's fields, written to directly: its BatchError
				// says which message failed.
				out := pipelineOutput(t, name, c.check, tg.dsn)
				var fields strings.Builder
				for _, line := range strings.SplitAfter(strings.TrimPrefix(out, "sql_insert:\n"), "\n") {
					if strings.HasPrefix(line, "  # ") || strings.HasPrefix(line, "  - ") {
						break // past the last case: the fallback's next output
					}
					fields.WriteString(strings.TrimPrefix(line, "  "))
				}
				o := connectDirectly(t, sqlInsertOutputSpec(), fields.String(), newSQLInsertOutput)
				err := o.WriteBatch(context.Background(), jsonBatch(c.bad, c.good))
				requireFailedExactly(t, err, map[int][]string{0: {"table " + c.table, reason, c.column}})
				if n := count(t, tg, c.table); n != 1 {
					t.Errorf("table %s: %d rows, want the valid one only", c.table, n)
				}
			}
		})
	}
}

// pipelineTarget is the database the shipped pipeline name writes to: a
// SQLite file for the SQLite pipeline, else a fresh schema of the test
// PostgreSQL (the test is skipped without one, naming what).
func pipelineTarget(t *testing.T, name, what string) sqlTarget {
	t.Helper()
	if strings.Contains(name, "sqlite") {
		return sqliteTarget(t)
	}
	dsn, db := testkit.PostgresSchema(t, "pgx", testkit.PostgresDSN(t, what), "sinks_schema")
	return sqlTarget{driver: "postgres", dsn: dsn, db: db}
}
