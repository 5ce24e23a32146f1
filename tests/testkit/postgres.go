package testkit

import (
	"fmt"
	"net/url"
	"strings"
)

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
