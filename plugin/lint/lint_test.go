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
// fields that default to empty (nested.period, file) or not (mode), an
// optional one, and two the build reads that lint must not (file,
// nested.secret, both skipped); its build refuses a count over the limit
// and either skipped field set.
func testSpec() *service.ConfigSpec {
	return service.NewConfigSpec().LintRule(Rule(testMethod)).Fields(
		service.NewStringField("name"),
		service.NewIntField("count").Default(1),
		service.NewIntField("limit").Default(10),
		service.NewObjectField("nested",
			service.NewStringField("period").Default(""),
			service.NewStringField("secret").Default(""),
		),
		service.NewStringField("file").Default(""),
		service.NewStringField("mode").Default("fast"),
		service.NewStringField("opt").Optional(),
		service.NewStringListField("tags").Default([]any{}),
	)
}

func testBuild(conf *service.ParsedConfig) error {
	count, _ := conf.FieldInt("count")
	limit, _ := conf.FieldInt("limit")
	file, _ := conf.FieldString("file")
	secret, _ := conf.FieldString("nested", "secret")
	var errs []error
	if count > limit {
		errs = append(errs, fmt.Errorf("field count: value %d: over field limit %d", count, limit))
	}
	if file != "" || secret != "" {
		errs = append(errs, errors.New("a skipped field was read"))
	}
	return errors.Join(errs...)
}

var _ = func() bool {
	Register(testMethod, "test component", testSpec, testBuild, "file", "nested.secret")
	return true
}()

// The rule lints as Benthos runs it: on the object Benthos makes of the
// component's config, defaults filled in.
func TestRuleLintsWhatBuildRefuses(t *testing.T) {
	env := service.NewEnvironment()
	err := env.RegisterBatchOutput("f1fetch_lint_test", testSpec(),
		func(*service.ParsedConfig, *service.Resources) (service.BatchOutput, service.BatchPolicy, int, error) {
			return nil, service.BatchPolicy{}, 0, errors.New("not built in this test")
		})
	if err != nil {
		t.Fatal(err)
	}
	over := []string{"field count: value 30: over field limit 10"}
	for _, c := range []struct {
		name, fields string
		want         []string
	}{
		{"builds", `name: a, count: 3, tags: [ x ], opt: o`, nil},
		{"refused, in the build's words", `name: a, count: 30, limit: 2`, []string{"field count: value 30: over field limit 2"}},
		{"defaults of empty strings are values", `name: a, count: 30`, over},
		{"a field written as its default, empty", `name: a, count: 30, file: "", nested: { period: "" }`, over},
		{"a skipped field is not read", `name: a, file: /nonexistent`, nil},
		{"a skipped nested field is not read", `name: a, nested: { secret: s, period: 1s }`, nil},
		{"an optional field written empty is the build's", `name: a, count: 30, opt: ""`, nil},
		{"a field written empty over its default is the build's", `name: a, count: 30, mode: ""`, nil},
		{"a required field written empty is the build's", `name: "", count: 30`, nil},
		{"a list holding an empty string is the build's", `name: a, count: 30, tags: [ x, "" ]`, nil},
	} {
		lints, err := env.NewComponentConfigLinter().LintYAML("output", []byte("f1fetch_lint_test: { "+c.fields+" }"))
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		var got []string
		for _, l := range lints {
			got = append(got, l.What)
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("%s: lints %q, want %q", c.name, got, c.want)
		}
	}
}

func TestRuleOfNoObjectIsNone(t *testing.T) {
	exe, err := bloblang.Parse(Rule(testMethod))
	if err != nil {
		t.Fatal(err)
	}
	got, err := exe.Query("text")
	if err != nil || len(got.([]any)) != 0 {
		t.Errorf("lints of a string: %v, %v; want none", got, err)
	}
}
