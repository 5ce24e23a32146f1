package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/redpanda-data/benthos/v4/public/service"
	"github.com/urfave/cli/v2"
	_ "modernc.org/sqlite" // the "sqlite" database/sql driver, to read the summary back

	"github.com/f1fetch/f1fetch/plugin/mirror"
)

// The session bundled in data/mirror, which the demo loads.
const (
	demoYear    = "2025"
	demoGP      = "Australian Grand Prix"
	demoSession = "Race"
)

// demoTables are the tables session_to_sqlite.yaml fills, in summary order.
var demoTables = []string{"drivers", "laps", "telemetry", "weather", "race_control", "corners"}

func demoCommand() *cli.Command {
	return &cli.Command{
		Name:  "demo",
		Usage: "Load the bundled 2025 Australian GP Race into SQLite, offline, and print a summary",
		Description: `
Starts a mirror in this process on --data, runs the main job --pipeline
(session_to_sqlite.yaml) in this process against it, stops the mirror and prints
what landed in the SQLite file --db: rows per table and each driver's fastest
lap. No network and no child process; run it from the repository root:

  f1fetch demo
  f1fetch demo --db /tmp/race.db`[1:],
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "data", Value: filepath.Join("data", "mirror"), Usage: "mirror root holding the bundled session"},
			&cli.StringFlag{Name: "pipeline", Value: filepath.Join("pipelines", "session_to_sqlite.yaml"), Usage: "the main job's pipeline"},
			&cli.StringFlag{Name: "db", Value: "f1fetch-demo.db", Usage: "SQLite file to load (reruns leave it as it is)"},
		},
		Action: func(c *cli.Context) error {
			ctx, stop := signal.NotifyContext(c.Context, os.Interrupt, syscall.SIGTERM)
			defer stop()
			return runDemo(ctx, c.App.Writer, c.String("data"), c.String("pipeline"), c.String("db"))
		},
	}
}

func runDemo(ctx context.Context, out io.Writer, dataDir, pipelinePath, dbPath string) error {
	start := time.Now()
	if info, err := os.Stat(dataDir); err != nil || !info.IsDir() {
		return fmt.Errorf("demo: flag --data: %q is not a directory (run from the repository root or pass --data): %v", dataDir, err)
	}
	pipeline, err := os.ReadFile(pipelinePath)
	if err != nil {
		return fmt.Errorf("demo: flag --pipeline: %w (run from the repository root or pass --pipeline)", err)
	}
	// A database the demo cannot write would leave the pipeline retrying its
	// connection for ever: say so at once instead.
	if f, err := os.OpenFile(dbPath, os.O_RDWR|os.O_CREATE, 0o644); err != nil {
		return fmt.Errorf("demo: flag --db: %w", err)
	} else if err := f.Close(); err != nil {
		return fmt.Errorf("demo: flag --db: %w", err)
	}
	errorsPath := dbPath + ".errors.jsonl"
	if err := os.Remove(errorsPath); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("demo: %w", err)
	}

	m, err := mirror.Start(mirror.Config{Root: dataDir})
	if err != nil {
		return fmt.Errorf("demo: start mirror on %s: %w", dataDir, err)
	}
	runErr := runPipeline(ctx, string(pipeline), m.URL, dbPath, errorsPath)
	counts := m.Counts()
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := errors.Join(runErr, m.Shutdown(shutdownCtx)); err != nil {
		return fmt.Errorf("demo: %w", err)
	}

	rejected, err := countLines(errorsPath)
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	fmt.Fprintf(out, "f1fetch demo: %s %s %s from the bundled mirror %s into %s\n", demoYear, demoGP, demoSession, dataDir, dbPath)
	fmt.Fprintf(out, "mirror answered %d requests: %d files, %d not in the bundle (404, dropped and counted)\n",
		counts.Total, counts.ByStatus[200], counts.ByStatus[404])
	if rejected > 0 {
		fmt.Fprintf(out, "REJECTED %d messages, see %s\n", rejected, errorsPath)
	}
	if err := printSummary(out, dbPath); err != nil {
		return fmt.Errorf("demo: read back %s: %w", dbPath, err)
	}
	fmt.Fprintf(out, "wall time %s\n", time.Since(start).Round(time.Millisecond))
	return nil
}

// runPipeline runs the main job in this process until its input ends. The
// job's ${VAR} settings are fixed to the bundled session, and its f1_fetch
// input is pointed at the mirror.
func runPipeline(ctx context.Context, yaml, mirrorURL, dbPath, errorsPath string) error {
	vars := map[string]string{
		"F1_YEAR":        demoYear,
		"F1_GP":          demoGP,
		"F1_SESSION":     demoSession,
		"F1_LAPS":        "all",
		"F1_TELEMETRY":   "true",
		"SQLITE_DSN":     dbPath,
		"F1_ERRORS_FILE": errorsPath,
	}
	b := service.NewStreamBuilder()
	b.SetEnvVarLookupFunc(func(name string) (string, bool) {
		if v, ok := vars[name]; ok {
			return v, true
		}
		return os.LookupEnv(name)
	})
	b.SetLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	if err := b.SetYAML(yaml); err != nil {
		return fmt.Errorf("pipeline: %w", err)
	}
	// Components read F1FETCH_* from the process environment, not through
	// the lookup above. (StreamBuilder.SetFields cannot be used instead: it
	// re-encodes the config and scrubs secrets such as the DSN.)
	restore, err := setenv("F1FETCH_BASE_URLS", mirrorURL)
	if err != nil {
		return err
	}
	defer restore()
	stream, err := b.Build()
	if err != nil {
		return fmt.Errorf("pipeline: %w", err)
	}
	if err := stream.Run(ctx); err != nil {
		return fmt.Errorf("pipeline: %w", err)
	}
	return nil
}

// setenv sets an environment variable until restore is called.
func setenv(name, value string) (restore func(), err error) {
	old, had := os.LookupEnv(name)
	if err := os.Setenv(name, value); err != nil {
		return nil, fmt.Errorf("set %s: %w", name, err)
	}
	return func() {
		if had {
			os.Setenv(name, old)
		} else {
			os.Unsetenv(name)
		}
	}, nil
}

// countLines counts the lines of path; a missing file has none.
func countLines(path string) (int, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	n := 0
	for _, c := range b {
		if c == '\n' {
			n++
		}
	}
	return n, err
}

func printSummary(out io.Writer, dbPath string) error {
	db, err := sql.Open("sqlite", dbPath)
	if err != nil {
		return err
	}
	defer db.Close()

	fmt.Fprintf(out, "\n%-14s %8s\n", "table", "rows")
	for _, t := range demoTables {
		var n int64
		// t comes from demoTables, never from input.
		if err := db.QueryRow(`SELECT count(*) FROM `+t+` WHERE year = ? AND gp = ? AND session = ?`, demoYear, demoGP, demoSession).Scan(&n); err != nil {
			return fmt.Errorf("table %s: %w", t, err)
		}
		fmt.Fprintf(out, "%-14s %8d\n", t, n)
	}

	// SQLite gives the lap of the row holding MIN(time) for a bare column.
	rows, err := db.Query(`SELECT driver, lap, MIN(time) AS best FROM laps
		WHERE year = ? AND gp = ? AND session = ? AND time IS NOT NULL
		GROUP BY driver ORDER BY best, driver`, demoYear, demoGP, demoSession)
	if err != nil {
		return fmt.Errorf("fastest laps: %w", err)
	}
	defer rows.Close()
	fmt.Fprintln(out, "\nfastest lap per driver")
	w := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "pos\tdriver\tlap\ttime")
	for pos := 1; rows.Next(); pos++ {
		var driver string
		var lap int
		var best float64
		if err := rows.Scan(&driver, &lap, &best); err != nil {
			return fmt.Errorf("fastest laps: %w", err)
		}
		fmt.Fprintf(w, "%d\t%s\t%d\t%s\n", pos, driver, lap, lapTime(best))
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("fastest laps: %w", err)
	}
	return w.Flush()
}

// lapTime formats seconds as m:ss.mmm, as timing screens show laps.
func lapTime(seconds float64) string {
	ms := int64(seconds*1000 + 0.5)
	return fmt.Sprintf("%d:%02d.%03d", ms/60000, ms/1000%60, ms%1000)
}
