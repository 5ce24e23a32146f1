package lint

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/redpanda-data/benthos/v4/public/bloblang"
	"github.com/redpanda-data/benthos/v4/public/service"
)

const testMethod = "f1fetch_lint_test_lints"

// A component with a required name, a count that must be under a limit,
// a nested object whose fields default to empty, and a file field the
// build reads; its build refuses a count over the limit and a missing file.
func testSpec() *service.ConfigSpec {
	return service.NewConfigSpec().LintRule(Rule(testMethod)).Fields(
		service.NewStringField("name"),
		service.NewIntField("count").Default(1),
		service.NewIntField("limit").Default(10),
		service.NewObjectField("nested", service.NewStringField("period").Default("")),
		service.NewStringField("file").Default(""),
		service.NewStringListField("tags").Default([]any{}),
	)
}

func testBuild(conf *service.ParsedConfig) error {
	count, _ := conf.FieldInt("count")
	limit, _ := conf.FieldInt("limit")
	file, _ := conf.FieldString("file")
	var errs []error
	if count > limit {
		errs = append(errs, fmt.Errorf("field count: value %d: over field limit %d", count, limit))
	}
	if file != "" {
		errs = append(errs, fmt.Errorf("field file: value %q: not read at lint", file))
	}
	return errors.Join(errs...)
}

var _ = func() bool { Register(testMethod, "test component", testSpec, testBuild, "file"); return true }()

func TestRegisteredMethodLintsWhatBuildRefuses(t *testing.T) {
	exe, err := bloblang.Parse(Rule(testMethod))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		obj  any
		want []any
	}{
		{"builds", map[string]any{"name": "a", "count": 3, "tags": []any{"x"}}, []any{}},
		{"refused, every line", map[string]any{"name": "a", "count": 30, "limit": 2}, []any{"field count: value 30: over field limit 2"}},
		{"a skipped field is not read", map[string]any{"name": "a", "file": "/nonexistent"}, []any{}},
		{"a nested default empty string is a value", map[string]any{"name": "a", "count": 30, "nested": map[string]any{"period": ""}}, []any{"field count: value 30: over field limit 10"}},
		{"an empty field is the build's", map[string]any{"name": "", "count": 30}, []any{}},
		{"a list holding an empty string is the build's", map[string]any{"name": "a", "count": 30, "tags": []any{"x", ""}}, []any{}},
		{"a required field missing is the build's", map[string]any{"count": 30}, []any{}},
		{"not an object", "text", []any{}},
	} {
		got, err := exe.Query(c.obj)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if !slices.Equal(got.([]any), c.want) {
			t.Errorf("%s: lints %q, want %q", c.name, got, c.want)
		}
	}
}
