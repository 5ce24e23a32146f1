package scaleout

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver

	"github.com/f1fetch/f1fetch/internal/testkit"
	"github.com/f1fetch/f1fetch/plugin/mirror"
	"github.com/f1fetch/f1fetch/plugin/payload"
)

// tables are the tables of session_to_postgres.yaml and kafka_to_postgres.yaml.
var tables = []string{"drivers", "laps", "telemetry", "weather", "race_control", "corners"}

// expectedRows counts the rows of each table that the corpus files of a
// session make: one per driver of drivers.json, one per index of the
// parallel arrays of the other documents.
func expectedRows(t *testing.T, files map[string][]byte) map[string]int {
	t.Helper()
	table := map[payload.Kind]string{
		payload.KindDrivers: "drivers", payload.KindLaptimes: "laps", payload.KindSessionLaptimes: "laps",
		payload.KindTelemetry: "telemetry", payload.KindWeather: "weather", payload.KindRCM: "race_control",
		payload.KindCorners: "corners",
	}
	want := map[string]int{}
	for _, name := range tables {
		want[name] = 0
	}
	for path, raw := range files {
		kind := payload.KindOf(path)
		doc, err := payload.Decode(path, raw, payload.Options{Validate: true, NormalizeMissing: true})
		if err != nil {
			t.Fatalf("decode corpus file %s: %v", path, err)
		}
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(doc, &obj); err != nil {
			t.Fatalf("corpus file %s: %v", path, err)
		}
		switch kind {
		case payload.KindDrivers:
			obj = map[string]json.RawMessage{"drivers": obj["drivers"]}
		case payload.KindTelemetry:
			obj = nil
			if err := json.Unmarshal(doc, &struct{ Tel *map[string]json.RawMessage }{&obj}); err != nil {
				t.Fatalf("corpus file %s: %v", path, err)
			}
		}
		want[table[kind]] += arrayLen(obj)
	}
	return want
}

// arrayLen is the length of the arrays of a column document (all equal).
func arrayLen(obj map[string]json.RawMessage) int {
	for _, v := range obj {
		var arr []json.RawMessage
		if json.Unmarshal(v, &arr) == nil && arr != nil {
			return len(arr)
		}
	}
	return 0
}

func countRows(t *testing.T, db *sql.DB) map[string]int {
	t.Helper()
	got := map[string]int{}
	for _, name := range tables {
		var n int
		if err := db.QueryRow("SELECT count(*) FROM " + name).Scan(&n); err != nil {
			t.Fatalf("count %s: %v", name, err)
		}
		got[name] = n
	}
	return got
}

// A session request goes through the worker into the documents topic, and
// kafka_to_postgres loads the topic: every table holds the rows of the
// session's files. A second loader in a new group reads the topic again
// from the start and changes nothing.
func TestKafkaToPostgres(t *testing.T) {
	dsn, db := testkit.PostgresSchema(t, "pgx", testkit.PostgresDSN(t, "kafka_to_postgres"), "f1_scaleout")
	files := sessionFiles(t, gp, "Race")
	c := startKafka(t, requestPartitions)
	admin := client(t, c)

	fs := startFetchers(t, c, 1, mirror.Faults{})
	produce(t, c, requestsTopic, 1, []byte(`{"year": 2025, "gp": "Australian Grand Prix", "session": "Race"}`))
	eventually(t, 40*time.Second, progress(t, admin, fs),
		func() bool { return committedAll(t, admin, workerGroup, requestsTopic) }, workersOf(fs)...)
	checkDocuments(t, c, "Race", files)
	fs[0].kill()

	want := expectedRows(t, files)
	load := func(group string) map[string]int {
		t.Helper()
		w := startWorker(t, group, "kafka_to_postgres.yaml",
			"KAFKA_BROKERS="+strings.Join(c.ListenAddrs(), ","), "POSTGRES_DSN="+dsn, "F1_PG_GROUP="+group)
		start := time.Now()
		eventually(t, 40*time.Second,
			func() string {
				return fmt.Sprintf("%s never committed every document; rows so far %v", group, countRows(t, db))
			},
			func() bool { return committedAll(t, admin, group, docsTopic) }, w)
		t.Logf("%s loaded the topic in %v", group, time.Since(start).Round(time.Millisecond))
		w.kill()
		return countRows(t, db)
	}
	first := load("load-1")
	for _, name := range tables {
		if first[name] != want[name] {
			t.Errorf("table %s: %d rows, want %d (the rows of the session's files)", name, first[name], want[name])
		}
	}
	again := load("load-2")
	for _, name := range tables {
		if again[name] != first[name] {
			t.Errorf("table %s: %d rows after reading the topic again, %d before: the keys are not idempotent", name, again[name], first[name])
		}
	}
	checkNoDeadLetters(t, c)
	t.Logf("%d files, rows %v", len(files), first)
}
