// Package lint makes a component's own build checks its Benthos lint rule,
// so that `f1fetch lint` refuses what building the component refuses, in
// the same words, and nothing that builds. A lint rule is Bloblang: Register
// adds a method the rule calls on the component's config object.
package lint

import (
	"fmt"
	"maps"
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
// with spec. The fields named in skip (a dotted path names a field of an
// object field: "batching.processors") are left out first: what build makes
// of them is the run's (a file read, or a resource looked up, where it
// runs). Call it as a package's variables are initialised, before an init
// function builds a spec whose lint rule (Rule) names the method; spec is
// called at the first lint, not before.
//
// A config that lint cannot know gets no lint, the build reporting it: one
// with a field written as an empty string or listing one (what Benthos makes
// of a ${VAR} it cannot find; `f1fetch test` lints a config once, without
// its cases' variables, then builds it under them), and one whose fields
// fail to parse (Benthos runs no lint rule then: the type error is its own
// lint's). A field whose default is the empty string holds it in the object
// Benthos lints, written or not: that one is linted.
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
	if !ok {
		return []any{} // not an object: Benthos' own lint says so
	}
	kept := without(obj, skip)
	var empty []string
	for k, val := range kept {
		switch val := val.(type) {
		case string:
			if val == "" {
				empty = append(empty, k)
				delete(kept, k)
			}
		case []any:
			if slices.Contains(val, any("")) {
				return []any{}
			}
		}
	}
	// YAML, not JSON: a float field may hold .nan or .inf.
	doc, err := yaml.Marshal(kept)
	if err != nil {
		return []any{} // no value of a config fails to marshal
	}
	conf, err := spec().ParseYAML(string(doc), nil)
	if err != nil {
		return []any{} // a type error, or a required field left empty
	}
	for _, k := range empty {
		// Left out, the field took its default: "" means the empty string
		// Benthos filled in or one written to the same effect; anything
		// else, or no default, means it was written empty.
		if def, err := conf.FieldString(k); !conf.Contains(k) || err != nil || def != "" {
			return []any{}
		}
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

// without is a copy of obj without the fields at the paths skip names
// (field or field.subfield); obj and its nested objects are left as they are.
func without(obj map[string]any, skip []string) map[string]any {
	kept := maps.Clone(obj)
	for _, path := range skip {
		field, sub, nested := strings.Cut(path, ".")
		if !nested {
			delete(kept, field)
			continue
		}
		if inner, ok := kept[field].(map[string]any); ok {
			kept[field] = without(inner, []string{sub})
		}
	}
	return kept
}
