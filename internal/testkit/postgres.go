package testkit

import (
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"
)

// PostgresEnv names the DSN of the PostgreSQL server the tests use; .ci/run
// starts one and sets it.
const PostgresEnv = "F1FETCH_TEST_POSTGRES_DSN"

// PostgresDSN returns the test database's DSN. Without one the test is
// skipped, loudly, naming what went untested (what), and fails under CI,
// which must run every PostgreSQL test.
func PostgresDSN(t testing.TB, what string) string {
	t.Helper()
	dsn := os.Getenv(PostgresEnv)
	if dsn == "" {
		if os.Getenv("CI") != "" {
			t.Fatalf("PostgreSQL required in CI: %s is not set", PostgresEnv)
		}
		t.Skipf("!!! SKIPPED: %s is not set, so %s was NOT tested against PostgreSQL !!!", PostgresEnv, what)
	}
	return dsn
}

// PostgresSchema creates a schema of its own for t under dsn, dropped with
// everything in it when t ends, so that a test neither sees nor leaves
// tables. It returns the DSN whose search_path puts new tables there, and a
// handle on it. driver is the database/sql driver the caller registered
// ("pgx" for github.com/jackc/pgx/v5/stdlib); testkit links none.
func PostgresSchema(t testing.TB, driver, dsn, prefix string) (string, *sql.DB) {
	t.Helper()
	admin, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatalf("open PostgreSQL: %v", err)
	}
	t.Cleanup(func() { admin.Close() })
	suffix := make([]byte, 6)
	rand.Read(suffix)
	schema := prefix + "_" + hex.EncodeToString(suffix)
	if _, err := admin.Exec("CREATE SCHEMA " + schema); err != nil {
		t.Fatalf("PostgreSQL at %s: create schema %s: %v", PostgresEnv, schema, err)
	}
	t.Cleanup(func() {
		if _, err := admin.Exec("DROP SCHEMA " + schema + " CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	scoped, err := WithSearchPath(dsn, schema)
	if err != nil {
		t.Fatalf("%s: %v", PostgresEnv, err)
	}
	db, err := sql.Open(driver, scoped)
	if err != nil {
		t.Fatalf("open PostgreSQL in schema %s: %v", schema, err)
	}
	t.Cleanup(func() { db.Close() })
	return scoped, db
}

// WithSearchPath returns dsn with its search_path set to schema, so that a
// test's tables land in a schema of its own. It takes both forms pgx reads:
// a postgres:// or postgresql:// URL, and key=value pairs.
func WithSearchPath(dsn, schema string) (string, error) {
	if !strings.HasPrefix(dsn, "postgres://") && !strings.HasPrefix(dsn, "postgresql://") {
		return dsn + " search_path=" + schema, nil
	}
	u, err := url.Parse(dsn)
	if err != nil {
		return "", fmt.Errorf("parsing the PostgreSQL URL: %w", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String(), nil
}
