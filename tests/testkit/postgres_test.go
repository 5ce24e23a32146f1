package testkit

import "testing"

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
