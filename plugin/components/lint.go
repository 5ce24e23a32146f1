package components

import (
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/redpanda-data/benthos/v4/public/bloblang"
	"github.com/redpanda-data/benthos/v4/public/service"
	"gopkg.in/yaml.v3"

	"github.com/f1fetch/f1fetch/config"
)

// engineLintMethod is the Bloblang method behind the fetching components'
// lint rule (engineLintRule): it runs the build's own reading and checks of
// the engine fields (readFields, config.Validate) on the component's config,
// so that lint refuses what building would refuse, in the same words, and
// nothing that builds. A lint rule is Bloblang, compiled when its spec is
// made: the rules this replaced (a regular expression mirroring
// config.IsLoopback, ranges copied from Validate) were most of the binary's
// start-up work and a second copy of the checks.
const engineLintMethod = "f1fetch_engine_lints"

// engineLintRule is the lint rule of every component built on the engine.
const engineLintRule = `root = this.` + engineLintMethod + `()`

// inputLintMethod adds to the engine's lints those of the input's requests
// and sessions (planLints); inputLintRule is the input's lint rule.
const (
	inputLintMethod = "f1fetch_input_lints"
	inputLintRule   = `root = this.` + inputLintMethod + `()`
)

// The method is registered as the package's variables are initialised,
// before any init function builds a spec whose lint rule names it.
var _ = registerEngineLints()

func registerEngineLints() bool {
	spec := bloblang.NewPluginSpec().
		Description("Used by the lint rule of the f1fetch components (the `f1_fetch` input and processor, `f1_expand`): the problems building the component would refuse in the engine fields of the config object it is called on, one string each, naming the field (`field NAME: ...`). Fields left unset are read from their `F1FETCH_*` variables, as when building; a problem of a variable is the build's to report.")
	err := bloblang.RegisterMethodV2(engineLintMethod, spec, func(*bloblang.ParsedParams) (bloblang.Method, error) {
		return engineLints, nil
	})
	if err != nil {
		panic(fmt.Errorf("register bloblang method %s: %w", engineLintMethod, err))
	}
	spec = bloblang.NewPluginSpec().
		Description("Used by the lint rule of the `f1_fetch` input: what `" + engineLintMethod + "` returns, and the problems building the input would refuse in its `requests` and `sessions`.")
	err = bloblang.RegisterMethodV2(inputLintMethod, spec, func(*bloblang.ParsedParams) (bloblang.Method, error) {
		return func(v any) (any, error) {
			lints, err := engineLints(v)
			if obj, ok := v.(map[string]any); ok && err == nil {
				lints = append(lints.([]any), planLints(obj)...)
			}
			return lints, err
		}, nil
	})
	if err != nil {
		panic(fmt.Errorf("register bloblang method %s: %w", inputLintMethod, err))
	}
	return true
}

// lintSpec holds every field engineReads reads, the component-specific ones
// included, so that any fetching component's config parses with it.
var lintSpec = sync.OnceValue(func() *service.ConfigSpec {
	return service.NewConfigSpec().Fields(append([]*service.ConfigField{
		progressIntervalField(), prefetchField(), onNotFoundField(),
	}, engineFields()...)...)
})

// engineLints returns the lints of a component's config object: the errors
// of reading and checking the engine fields it sets.
func engineLints(v any) (any, error) {
	obj, ok := v.(map[string]any)
	if !ok {
		return []any{}, nil // not an object: Benthos' own lint says so
	}
	// Only the engine's fields: the input's requests may be thousands.
	engine := map[string]any{}
	for _, r := range engineReads {
		if val, ok := obj[r.path[0]]; ok {
			if val, ok = withoutEmpty(val); ok {
				engine[r.path[0]] = val
			}
		}
	}
	// YAML, not JSON: backoff_factor may be .nan or .inf, which the build
	// refuses and JSON cannot hold.
	doc, err := yaml.Marshal(engine)
	if err != nil {
		return []any{}, nil // no value of a config fails to marshal
	}
	conf, err := lintSpec().ParseYAML(string(doc), nil)
	if err != nil {
		// Unreached from Benthos: it runs no lint rule of a config whose
		// fields fail to decode (max_concurrent_requests: "abc"), leaving
		// the type error to the build.
		return []any{}, nil
	}
	s, err := envSettings(conf)
	if err != nil {
		return []any{}, nil // the variable's to report, at build
	}
	s, err = readFields(conf, s)
	if err == nil {
		// The bases as the build parses them once the settings are valid;
		// the root CAs file is the build's to read, where it runs.
		err = checkSources(s)
	}
	if err == nil {
		return []any{}, nil
	}
	lints := []any{}
	for _, e := range joinedErrors(err) {
		// A setting a variable gave is not the config's to fix.
		if fe, ok := errors.AsType[*config.FieldError](e); ok && !confSets(conf, fe.Field) {
			continue
		}
		lints = append(lints, e.Error())
	}
	return lints, nil
}

// withoutEmpty is val without its empty strings, false when val is one: an
// empty string is what Benthos makes of a ${VAR} it cannot find, and
// `f1fetch test` lints a config once, without the variables its cases'
// `environment` sets, then builds it under them (`timeout: ${TIMEOUT}`
// linted as `timeout: ""`). Lint cannot know such a value, so it leaves it
// to the build, which refuses one written empty, naming the field.
func withoutEmpty(val any) (any, bool) {
	switch v := val.(type) {
	case string:
		return v, v != ""
	case []any: // base_urls: [ "${MIRROR}" ]
		kept := make([]any, 0, len(v))
		for _, e := range v {
			if e != "" {
				kept = append(kept, e)
			}
		}
		return kept, true
	}
	return val, true
}

// planSpec holds the input's requests and sessions fields only.
var planSpec = sync.OnceValue(func() *service.ConfigSpec {
	return service.NewConfigSpec().Fields(planFields()...)
})

// planLints returns the lint of the input's requests and sessions in obj:
// planOf's error, as the build would return it. Requests or sessions
// holding an empty string are left to the build, as withoutEmpty leaves an
// engine field (`f1fetch test` lints them without its cases' variables).
func planLints(obj map[string]any) []any {
	plan := map[string]any{}
	for _, k := range []string{fieldRequests, fieldSessions} {
		if v, ok := obj[k]; ok {
			if holdsEmpty(v) {
				return nil
			}
			plan[k] = v
		}
	}
	doc, err := yaml.Marshal(plan)
	if err != nil {
		return nil // no value of a config fails to marshal
	}
	conf, err := planSpec().ParseYAML(string(doc), nil)
	if err != nil {
		return nil // a type error: the build's, as in engineLints
	}
	if _, _, err := planOf(conf); err != nil {
		return []any{err.Error()}
	}
	return nil
}

// holdsEmpty reports whether v is, or holds at any depth, an empty string.
func holdsEmpty(v any) bool {
	switch v := v.(type) {
	case string:
		return v == ""
	case []any:
		return slices.ContainsFunc(v, holdsEmpty)
	case map[string]any:
		for _, e := range v {
			if holdsEmpty(e) {
				return true
			}
		}
	}
	return false
}
