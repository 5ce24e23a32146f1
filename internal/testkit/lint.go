package testkit

import (
	"testing"

	"github.com/redpanda-data/benthos/v4/public/service"
)

// LintMessages lints one component of kind ("input", "processor",
// "output") with the global environment's linter, as `f1fetch lint` does,
// and returns the lints' messages without their position.
func LintMessages(t testing.TB, kind, yaml string) []string {
	t.Helper()
	lints, err := service.GlobalEnvironment().NewComponentConfigLinter().LintYAML(kind, []byte(yaml))
	if err != nil {
		t.Fatalf("lint %s: %v", yaml, err)
	}
	var out []string
	for _, l := range lints {
		out = append(out, l.What)
	}
	return out
}
