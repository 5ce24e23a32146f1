package e2e

import (
	"database/sql"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/f1fetch/f1fetch/internal/testkit"
	"github.com/f1fetch/f1fetch/plugin/mirror"
	"github.com/f1fetch/f1fetch/plugin/mirror/mirrortest"
)

// TestRefusedRowGoesToTheErrorsFile serves a laptimes.json whose first lap
// is "None" (null to f1_rows), which laps.lap NOT NULL refuses, to the two
// session pipelines. The job finishes, every other row is stored (NOR's lap
// 2 too), and the errors file holds exactly the refused row with the
// database's error. They used to retry that batch for ever, storing none of
// it.
func TestRefusedRowGoesToTheErrorsFile(t *testing.T) {
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
	for _, c := range []struct {
		pipeline, constraint string
		open                 func(t *testing.T) (env map[string]string, db *sql.DB)
	}{
		{"session_to_sqlite.yaml", "NOT NULL constraint failed: laps.lap", func(t *testing.T) (map[string]string, *sql.DB) {
			path := filepath.Join(t.TempDir(), "race.db")
			db, err := sql.Open("sqlite", path)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			return map[string]string{"SQLITE_DSN": path}, db
		}},
		{"session_to_postgres.yaml", "23502", func(t *testing.T) (map[string]string, *sql.DB) {
			scoped, db := testkit.PostgresSchema(t, "pgx", testkit.PostgresDSN(t, "session_to_postgres.yaml refused row"), "f1fetch_e2e_refused")
			return map[string]string{"POSTGRES_DSN": scoped}, db
		}},
	} {
		t.Run(c.pipeline, func(t *testing.T) {
			env, db := c.open(t)
			errs := filepath.Join(t.TempDir(), "errors.jsonl")
			env["F1FETCH_BASE_URLS"], env["F1_ERRORS_FILE"], env["F1_TELEMETRY"] = m.URL, errs, "false"
			ok(t, cmd{args: []string{"run", pipeline(c.pipeline)}, env: env})

			e := readErrorsFile(t, errs)
			if len(e) != 1 {
				t.Fatalf("errors file: %+v\nwant exactly the refused row", e)
			}
			if e[0].ErrorKind != "refused" || e[0].Path != "NOR/laptimes.json" ||
				!strings.Contains(e[0].Error, "table laps") || !strings.Contains(e[0].Error, c.constraint) {
				t.Fatalf("errors file: %+v\nwant the refused NOR/laptimes.json row naming table laps and %q", e[0], c.constraint)
			}
			var row map[string]any
			if err := json.Unmarshal([]byte(e[0].Content), &row); err != nil || row["driver"] != "NOR" || row["lap"] != nil || row["time"] != 90.1 {
				t.Fatalf("content %q (%v): want NOR's row with lap null and time 90.1", e[0].Content, err)
			}
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
		})
	}
}
