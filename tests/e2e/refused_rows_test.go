package e2e

import (
	"database/sql"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/f1fetch/f1fetch/plugin/mirror"
	"github.com/f1fetch/f1fetch/plugin/mirror/mirrortest"
)

// TestSessionToSQLiteRefusedRowGoesToTheErrorsFile serves a laptimes.json
// whose first lap is "None" (null to f1_rows), which laps.lap NOT NULL
// refuses. The job finishes, every other row is stored (NOR's lap 2 too),
// and the errors file holds exactly the refused row with the database's
// error. It used to retry that batch for ever, storing none of it.
func TestSessionToSQLiteRefusedRowGoesToTheErrorsFile(t *testing.T) {
	root := t.TempDir()
	if err := os.CopyFS(root, os.DirFS(mirrortest.BundledData(t))); err != nil {
		t.Fatal(err)
	}
	race := filepath.Join(root, "2025", gpAUS, "Race")
	bad := `{"time": [90.1, 91.2], "lap": ["None", 2], "compound": ["SOFT", "SOFT"]}`
	if err := os.WriteFile(filepath.Join(race, "NOR", "laptimes.json"), []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	m := mirrortest.Start(t, mirror.Config{Root: root})
	path := filepath.Join(t.TempDir(), "race.db")
	errs := filepath.Join(t.TempDir(), "errors.jsonl")
	ok(t, cmd{args: []string{"run", pipeline("session_to_sqlite.yaml")}, env: map[string]string{
		"F1FETCH_BASE_URLS": m.URL, "SQLITE_DSN": path, "F1_ERRORS_FILE": errs, "F1_TELEMETRY": "false"}})

	e := readErrorsFile(t, errs)
	if len(e) != 1 {
		t.Fatalf("errors file: %+v\nwant exactly the refused row", e)
	}
	if e[0].ErrorKind != "refused" || e[0].Path != "NOR/laptimes.json" ||
		!strings.Contains(e[0].Error, "table laps") || !strings.Contains(e[0].Error, "NOT NULL constraint failed: laps.lap") {
		t.Fatalf("errors file: %+v\nwant the refused NOR/laptimes.json row naming table laps and the constraint", e[0])
	}
	var row map[string]any
	if err := json.Unmarshal([]byte(e[0].Content), &row); err != nil || row["driver"] != "NOR" || row["lap"] != nil || row["time"] != 90.1 {
		t.Fatalf("content %q (%v): want NOR's row with lap null and time 90.1", e[0].Content, err)
	}

	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	want := sessionRows(t, race)
	want["laps"]--
	want["telemetry"] = 0
	if got := countRows(t, db); !reflect.DeepEqual(got, want) {
		t.Fatalf("rows %v, want %v", got, want)
	}
	var lapTime float64
	if err := db.QueryRow(`SELECT time FROM laps WHERE driver = 'NOR' AND lap = 2`).Scan(&lapTime); err != nil || lapTime != 91.2 {
		t.Fatalf("NOR lap 2: %v (%v), want 91.2 stored", lapTime, err)
	}
}
