package scaleout

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/f1fetch/f1fetch/plugin/mirror/mirrortest"
)

// kafka_to_postgres.yaml writes into the schema of session_to_postgres.yaml:
// their sql_insert outputs (tables, columns, keys, conflict handling) are
// the same text, from the drivers case to the end of the file.
func TestPostgresPipelinesShareTheSchema(t *testing.T) {
	tablesOf := func(name string) string {
		b, err := os.ReadFile(filepath.Join(mirrortest.RepoRoot(t), "pipelines", name))
		if err != nil {
			t.Fatal(err)
		}
		s := string(b)
		i := strings.Index(s, `      - check: '@f1_kind == "drivers"'`)
		if i < 0 || !strings.Contains(s[i:], "sql_insert:") {
			t.Fatalf("%s: no sql_insert case for drivers", name)
		}
		return s[i:]
	}
	if a, b := tablesOf("session_to_postgres.yaml"), tablesOf("kafka_to_postgres.yaml"); a != b {
		t.Errorf("the sql_insert outputs of session_to_postgres.yaml and kafka_to_postgres.yaml differ; copy the former's into the latter")
	}
}
