package e2e

import (
	"database/sql"
	"path/filepath"
	"reflect"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver
	_ "modernc.org/sqlite"             // the "sqlite" database/sql driver

	"github.com/f1fetch/f1fetch/internal/testkit"
	"github.com/f1fetch/f1fetch/plugin/mirror"
)

var sqlTables = []string{"drivers", "laps", "telemetry", "weather", "race_control", "corners"}

func countRows(t *testing.T, db *sql.DB) map[string]int {
	t.Helper()
	got := map[string]int{}
	for _, table := range sqlTables {
		var n int
		if err := db.QueryRow(`SELECT count(*) FROM ` + table).Scan(&n); err != nil {
			t.Fatalf("table %s: %v", table, err)
		}
		got[table] = n
	}
	return got
}

// checkLapTime compares one stored lap with the real file: NOR's fastest.
func checkLapTime(t *testing.T, db *sql.DB, placeholder string) {
	t.Helper()
	lap, want := fastestLap(t, filepath.Join(bundledRace(t), "NOR", "laptimes.json"))
	var got float64
	q := `SELECT time FROM laps WHERE year = 2025 AND gp = 'Australian Grand Prix' AND session = 'Race' AND driver = 'NOR' AND lap = ` + placeholder
	if err := db.QueryRow(q, lap).Scan(&got); err != nil {
		t.Fatalf("NOR lap %d: %v", lap, err)
	}
	if got != want {
		t.Fatalf("NOR lap %d: time %v, want %v", lap, got, want)
	}
}

// loadTwice runs a session pipeline on the bundled Race twice: the tables
// hold the rows of the real files, and the rerun changes nothing.
func loadTwice(t *testing.T, name string, env map[string]string, db *sql.DB, placeholder string) {
	t.Helper()
	m := startBundledMirror(t)
	errs := filepath.Join(t.TempDir(), "errors.jsonl")
	env["F1FETCH_BASE_URLS"] = m.URL
	env["F1_ERRORS_FILE"] = errs
	want := sessionRows(t, bundledRace(t))
	if want["laps"] == 0 || want["telemetry"] == 0 {
		t.Fatalf("the bundled Race has no laps or telemetry: %v", want)
	}
	for run := 1; run <= 2; run++ {
		ok(t, cmd{args: []string{"run", pipeline(name)}, env: env})
		if e := readErrorsFile(t, errs); len(e) > 0 {
			t.Fatalf("run %d rejected messages: %+v", run, e)
		}
		if got := countRows(t, db); !reflect.DeepEqual(got, want) {
			t.Fatalf("run %d: rows %v\nwant (counted in the real files) %v", run, got, want)
		}
	}
	checkLapTime(t, db, placeholder)
}

func TestSessionToSQLiteLoadsTheRaceIdempotently(t *testing.T) {
	path := filepath.Join(t.TempDir(), "race.db")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	loadTwice(t, "session_to_sqlite.yaml", map[string]string{"SQLITE_DSN": path}, db, "?")
}

// TestSessionToSQLiteRejectsInvalidData corrupts corners.json at the
// mirror: the message is neither stored nor dropped but written to the
// errors file, and the rest of the session loads.
func TestSessionToSQLiteRejectsInvalidData(t *testing.T) {
	m := startBundledMirror(t)
	m.SetFaults(mirror.Faults{Rules: []mirror.Rule{{PathPrefix: "/2025@main/" + gpAUS + "/Race/corners.json", CorruptRate: 1}}})
	path := filepath.Join(t.TempDir(), "race.db")
	errs := filepath.Join(t.TempDir(), "errors.jsonl")
	ok(t, cmd{args: []string{"run", pipeline("session_to_sqlite.yaml")}, env: map[string]string{
		"F1FETCH_BASE_URLS": m.URL, "SQLITE_DSN": path, "F1_ERRORS_FILE": errs, "F1_TELEMETRY": "false"}})
	e := readErrorsFile(t, errs)
	if len(e) != 1 || e[0].ErrorKind != "invalid" || e[0].Path != "corners.json" {
		t.Fatalf("errors file: %+v\nwant one invalid corners.json", e)
	}
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	want := sessionRows(t, bundledRace(t))
	want["corners"], want["telemetry"] = 0, 0
	if got := countRows(t, db); !reflect.DeepEqual(got, want) {
		t.Fatalf("rows %v, want %v", got, want)
	}
}

func TestSessionToPostgresLoadsTheRaceIdempotently(t *testing.T) {
	scoped, db := testkit.PostgresSchema(t, "pgx", testkit.PostgresDSN(t, "session_to_postgres.yaml end to end"), "f1fetch_e2e")
	loadTwice(t, "session_to_postgres.yaml", map[string]string{"POSTGRES_DSN": scoped}, db, "$1")
}
