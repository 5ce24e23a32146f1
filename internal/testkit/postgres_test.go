package testkit

import (
	"strings"
	"testing"
)

func TestWithSearchPath(t *testing.T) {
	for dsn, want := range map[string]string{
		"postgres://u:p@db:5432/f1":           "postgres://u:p@db:5432/f1?search_path=s1",
		"postgresql://db/f1?sslmode=disable":  "postgresql://db/f1?search_path=s1&sslmode=disable",
		"postgres://db/f1?search_path=public": "postgres://db/f1?search_path=s1",
		"host=db dbname=f1 sslmode=disable":   "host=db dbname=f1 sslmode=disable search_path=s1",
		"host=db password=a://b dbname=f1":    "host=db password=a://b dbname=f1 search_path=s1",
	} {
		got, err := WithSearchPath(dsn, "s1")
		if err != nil || got != want {
			t.Errorf("WithSearchPath(%q) = %q, %v; want %q", dsn, got, err, want)
		}
	}
	if got, err := WithSearchPath("postgres://db:port/f1", "s1"); err == nil {
		t.Errorf("a bad URL gave %q, want an error", got)
	}
}

// PostgresDSN returns the DSN when set; without it, it skips naming what
// went untested, and under CI it fails instead.
func TestPostgresDSN(t *testing.T) {
	t.Setenv(PostgresEnv, "postgres://db/f1")
	rec := &errorRecorder{TB: t}
	if got := PostgresDSN(rec, "x"); got != "postgres://db/f1" || len(rec.fatals)+len(rec.skips) != 0 {
		t.Errorf("with the DSN set: %q, fatals %q, skips %q", got, rec.fatals, rec.skips)
	}

	t.Setenv(PostgresEnv, "")
	t.Setenv("CI", "")
	rec = &errorRecorder{TB: t}
	PostgresDSN(rec, "kafka_to_postgres")
	if len(rec.fatals) != 0 || len(rec.skips) != 1 || !strings.Contains(rec.skips[0], "kafka_to_postgres was NOT tested") {
		t.Errorf("locally without the DSN: fatals %q, skips %q; want one skip naming kafka_to_postgres", rec.fatals, rec.skips)
	}

	t.Setenv("CI", "true")
	rec = &errorRecorder{TB: t}
	PostgresDSN(rec, "x")
	if len(rec.fatals) != 1 || !strings.Contains(rec.fatals[0], PostgresEnv) {
		t.Errorf("under CI without the DSN: fatals %q, skips %q; want one failure naming %s", rec.fatals, rec.skips, PostgresEnv)
	}
}
