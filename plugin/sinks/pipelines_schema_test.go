package sinks

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/f1fetch/f1fetch/tests/testkit"
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
			var tg sqlTarget
			if strings.Contains(name, "sqlite") {
				tg = sqliteTarget(t)
			} else {
				dsn, db := testkit.PostgresSchema(t, "pgx", testkit.PostgresDSN(t, "the telemetry schema of "+name), "sinks_schema")
				tg = sqlTarget{driver: "postgres", dsn: dsn, db: db}
			}
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
