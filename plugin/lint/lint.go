// Package lint makes a component's own build checks its Benthos lint rule,
// so that `f1fetch lint` refuses what building the component refuses, in
// the same words, and nothing that builds. A lint rule is Bloblang: Register
// adds a method the rule calls on the component's config object.
package lint

import (
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/redpanda-data/benthos/v4/public/bloblang"
	"github.com/redpanda-data/benthos/v4/public/service"
	"gopkg.in/yaml.v3"
)

// Rule is the lint rule that calls the method Register registered as method.
func Rule(method string) string { return "root = this." + method + "()" }

// Register adds the Bloblang method method, whose lints of a component's
// config object are the lines of the error build returns for it, parsed
// with spec. The fields named in skip are left out first: what build reads
// from them is the run's (a file on the machine where it runs). Call it as
// a package's variables are initialised, before an init function builds a
// spec whose lint rule (Rule) names the method; spec is called at the first
// lint, not before.
//
// A config that lint cannot know gets no lint, the build reporting it:
// one with a field that is an empty string or lists one (what Benthos makes
// of a ${VAR} it cannot find; `f1fetch test` lints a config once, without
// its cases' variables, then builds it under them), and one whose fields
// fail to parse (Benthos runs no lint rule then: the type error is its own
// lint's).
func Register(method, component string, spec func() *service.ConfigSpec, build func(*service.ParsedConfig) error, skip ...string) {
	spec = sync.OnceValue(spec)
	pluginSpec := bloblang.NewPluginSpec().
		Description(fmt.Sprintf("Used by the lint rule of the %s: the problems building it would refuse in the config object it is called on, one string each, naming the field.", component))
	err := bloblang.RegisterMethodV2(method, pluginSpec, func(*bloblang.ParsedParams) (bloblang.Method, error) {
		return func(v any) (any, error) { return lints(v, spec, build, skip), nil }, nil
	})
	if err != nil {
		panic(fmt.Errorf("register bloblang method %s: %w", method, err))
	}
}

func lints(v any, spec func() *service.ConfigSpec, build func(*service.ParsedConfig) error, skip []string) []any {
	obj, ok := v.(map[string]any)
	if !ok || writesEmpty(obj) {
		return []any{} // not an object: Benthos' own lint says so
	}
	kept := make(map[string]any, len(obj))
	for k, val := range obj {
		if !slices.Contains(skip, k) {
			kept[k] = val
		}
	}
	// YAML, not JSON: a float field may hold .nan or .inf.
	doc, err := yaml.Marshal(kept)
	if err != nil {
		return []any{} // no value of a config fails to marshal
	}
	conf, err := spec().ParseYAML(string(doc), nil)
	if err != nil {
		return []any{}
	}
	if err := build(conf); err != nil {
		var out []any
		for _, line := range strings.Split(err.Error(), "\n") {
			out = append(out, line)
		}
		return out
	}
	return []any{}
}

// writesEmpty reports whether a field of obj is an empty string or a list
// holding one, what Benthos makes of a ${VAR} it cannot find. Only the
// fields and their list entries: Benthos fills nested objects with their
// defaults, empty strings among them (batching.period), before a lint rule
// runs.
func writesEmpty(obj map[string]any) bool {
	for _, v := range obj {
		switch v := v.(type) {
		case string:
			if v == "" {
				return true
			}
		case []any:
			if slices.Contains(v, any("")) {
				return true
			}
		}
	}
	return false
}
