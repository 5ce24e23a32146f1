package components

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/redpanda-data/benthos/v4/public/service"

	"github.com/f1fetch/f1fetch/config"
	"github.com/f1fetch/f1fetch/config/configtest"
)

// A field set in the config wins over its F1FETCH_* variable whatever the
// variable holds: a malformed one is not even parsed (README: the variable
// is "used when the field is not set"), as an out-of-range one is ignored.
// Unset, the field takes the variable, and a malformed one is an error
// naming the variable and the value.
func TestSetFieldIgnoresItsMalformedVariable(t *testing.T) {
	for _, v := range []string{"abc", "2.5", "100000"} {
		t.Setenv("F1FETCH_MAX_CONCURRENT", v)
		conf, err := fetchProcessorSpec().ParseYAML(`max_concurrent_requests: 5`, nil)
		if err != nil {
			t.Fatal(err)
		}
		s, err := settingsFrom(conf)
		if err != nil || s.MaxConcurrent != 5 {
			t.Errorf("F1FETCH_MAX_CONCURRENT=%s, field 5: got %d, %v; want 5 and no error", v, s.MaxConcurrent, err)
		}
	}
	t.Setenv("F1FETCH_MAX_CONCURRENT", "abc")
	conf, err := fetchProcessorSpec().ParseYAML(`max_retries: 1`, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := settingsFrom(conf); err == nil || !strings.Contains(err.Error(), "F1FETCH_MAX_CONCURRENT") || !strings.Contains(err.Error(), `"abc"`) {
		t.Fatalf("F1FETCH_MAX_CONCURRENT=abc, field unset: want an error naming the variable and the value, got %v", err)
	}
}

// Every refusal of a value taken from an F1FETCH_* variable names the
// variable and the value (a base without its credentials): an empty
// base_urls, which Benthos fills in for an unset list, is no setting of the
// field, and a CA file or a base refused past Validate is named as any
// other field.
func TestErrorsFromVariablesNameVariableAndValue(t *testing.T) {
	notPEM := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(notPEM, []byte("not a certificate"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		env, value string
		want       []string
		secret     string
	}{
		{"F1FETCH_BASE_URLS", "ftp://x", []string{`field base_urls (from F1FETCH_BASE_URLS): value "ftp://x": `}, ""},
		{"F1FETCH_BASE_URLS", "https://mirror.example/{year}/{gp}", []string{`field base_urls (from F1FETCH_BASE_URLS): value "https://mirror.example/{year}/{gp}": template has no {path}`}, ""},
		{"F1FETCH_BASE_URLS", "https://f1:s3cret@{year}.mirror.example/{path}", []string{`field base_urls (from F1FETCH_BASE_URLS): value "…@{year}.mirror.example/{path}": `}, "s3cret"},
		{"F1FETCH_TLS_CA_FILE", "/nonexistent/ca.pem", []string{`field tls.root_cas_file (from F1FETCH_TLS_CA_FILE): value "/nonexistent/ca.pem": open: `}, ""},
		{"F1FETCH_TLS_CA_FILE", notPEM, []string{`field tls.root_cas_file (from F1FETCH_TLS_CA_FILE): value ` + strconv.Quote(notPEM) + `: no PEM certificate found`}, ""},
	} {
		t.Setenv(c.env, c.value)
		for _, yaml := range []string{`f1_fetch: {}`, `f1_fetch: { base_urls: [] }`, `f1_expand: {}`} {
			err := processorConfigError(yaml)
			for _, w := range c.want {
				if err == nil || !strings.Contains(err.Error(), w) {
					t.Errorf("%s=%s, %s: got %v, want %q", c.env, c.value, yaml, err, w)
				}
			}
			if err != nil && c.secret != "" && strings.Contains(err.Error(), c.secret) {
				t.Errorf("%s: the error shows the password: %v", c.env, err)
			}
		}
		t.Setenv(c.env, "")
	}
	// Set in the config, the field is named alone.
	if err := processorConfigError(`f1_fetch: { tls: { root_cas_file: /nonexistent/ca.pem } }`); err == nil ||
		!strings.Contains(err.Error(), `field tls.root_cas_file: value "/nonexistent/ca.pem": open: `) {
		t.Errorf("tls.root_cas_file set in the config: got %v", err)
	}
}

// prefetch is bounded (config.MaxPrefetch): a larger one, in the config or
// from F1FETCH_PREFETCH, is refused naming the field and the value, at lint
// time and when the input is built, instead of the input's queue taking
// every byte of the machine when it connects.
func TestPrefetchIsBounded(t *testing.T) {
	linter := service.GlobalEnvironment().NewComponentConfigLinter()
	for _, c := range []struct {
		prefetch string
		bad      bool
	}{{"4000000000", true}, {"100001", true}, {"-1", true}, {"100000", false}, {"0", false}} {
		yaml := `f1_fetch: { requests: [ { year: 2025, gp: x, session: Race, path: drivers.json } ], prefetch: ` + c.prefetch + ` }`
		lints, err := linter.LintYAML("input", []byte(yaml))
		if err != nil {
			t.Fatal(err)
		}
		want := "field prefetch: value " + c.prefetch + ": must be between 0 and 100000"
		if got := lintText(lints); c.bad != strings.Contains(got, want) {
			t.Errorf("prefetch %s: lints %q", c.prefetch, got)
		}
		conf, err := fetchInputSpec().ParseYAML(`{ requests: [ { year: 2025, gp: x, session: Race, path: drivers.json } ], prefetch: `+c.prefetch+` }`, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := settingsFrom(conf); c.bad != (err != nil && strings.Contains(err.Error(), want)) {
			t.Errorf("prefetch %s: build %v", c.prefetch, err)
		}
	}
	t.Setenv("F1FETCH_PREFETCH", "4000000000")
	conf, err := fetchInputSpec().ParseYAML(`{ requests: [ { year: 2025, gp: x, session: Race, path: drivers.json } ] }`, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := settingsFrom(conf); err == nil || !strings.Contains(err.Error(), "field prefetch (from F1FETCH_PREFETCH): value 4000000000: must be between 0 and 100000") {
		t.Fatalf("F1FETCH_PREFETCH=4000000000: got %v", err)
	}
}

func lintText(lints []service.Lint) string {
	var msgs []string
	for _, l := range lints {
		msgs = append(msgs, l.What)
	}
	return strings.Join(msgs, "; ")
}

// The config Benthos writes for a component (`f1fetch create`, and the
// docs' examples, both every field and only the common ones) reads as the
// defaults, as if no field were set: it writes an optional field without a
// default as its first example, else as its zero value, which would turn
// retries, the cache and validation off. The F1FETCH_* variables are
// cleared: base_urls, written [], is unset and would take its variable.
func TestWrittenConfigIsTheDefaults(t *testing.T) {
	for _, v := range config.Vars {
		t.Setenv(v.Name, "")
	}
	env := service.GlobalEnvironment()
	for _, c := range []struct {
		kind, name string
		spec       *service.ConfigSpec
	}{
		{"input", "f1_fetch", fetchInputSpec()},
		{"processor", "f1_fetch", fetchProcessorSpec()},
		{"processor", "f1_expand", expandProcessorSpec()},
	} {
		view, ok := env.GetProcessorConfig(c.name)
		if c.kind == "input" {
			view, ok = env.GetInputConfig(c.name)
		}
		if !ok {
			t.Fatalf("%s %s is not registered", c.kind, c.name)
		}
		data, err := view.TemplateData()
		if err != nil {
			t.Fatal(err)
		}
		for _, written := range []string{data.AdvancedConfigYAML, data.CommonConfigYAML} {
			body := fieldsUnder(t, written, c.name)
			conf, err := c.spec.ParseYAML(body, nil)
			if err != nil {
				t.Fatalf("%s %s: %v\n%s", c.kind, c.name, err, body)
			}
			s, err := settingsFrom(conf)
			if err != nil {
				t.Fatalf("%s %s: %v\n%s", c.kind, c.name, err, body)
			}
			if want := config.Defaults(); !reflect.DeepEqual(s, want) {
				t.Errorf("%s %s reads as\n%+v\nnot the defaults\n%+v\n%s", c.kind, c.name, s, want, body)
			}
		}
	}
}

// fieldsUnder returns the lines under key in yaml, as Benthos marshals it
// (two spaces a level), dedented.
func fieldsUnder(t *testing.T, yaml, key string) string {
	lines := strings.Split(yaml, "\n")
	for i, l := range lines {
		if strings.TrimSpace(l) != key+":" {
			continue
		}
		indent := len(l) - len(strings.TrimLeft(l, " ")) + 2
		var body []string
		for _, b := range lines[i+1:] {
			if len(b)-len(strings.TrimLeft(b, " ")) < indent {
				break
			}
			body = append(body, b[indent:])
		}
		return strings.Join(body, "\n")
	}
	t.Fatalf("no %s: in\n%s", key, yaml)
	return ""
}

// TestFieldAndVariableSetTheSameSetting: for every F1FETCH_* variable, the
// component field it stands in for, given the same value, reads as the
// same settings, and neither reads as the defaults (config's test holds
// which setting each variable sets).
func TestFieldAndVariableSetTheSameSetting(t *testing.T) {
	for _, v := range config.Vars {
		t.Setenv(v.Name, "")
	}
	read := func(yaml string) config.Settings {
		t.Helper()
		conf, err := fetchInputSpec().ParseYAML(yaml, nil)
		if err != nil {
			t.Fatalf("%s: %v", yaml, err)
		}
		s, err := settingsFrom(conf)
		if err != nil {
			t.Fatalf("%s: %v", yaml, err)
		}
		return s
	}
	for _, v := range config.Vars {
		value, ok := configtest.EveryVariable[v.Name]
		if !ok {
			t.Errorf("%s has no value in configtest.EveryVariable", v.Name)
			continue
		}
		field := v.Field + ": " + value
		if v.Field == fieldBaseURLs {
			field = fmt.Sprintf("%s: [ %q, %q ]", v.Field, strings.TrimSpace(strings.Split(value, ",")[0]), strings.TrimSpace(strings.Split(value, ",")[1]))
		}
		if parent, child, nested := strings.Cut(v.Field, "."); nested {
			field = fmt.Sprintf("%s: { %s: %s }", parent, child, value)
		}
		fromField := read(field)
		t.Setenv(v.Name, value)
		fromVariable := read("{}")
		t.Setenv(v.Name, "")
		if !reflect.DeepEqual(fromField, fromVariable) {
			t.Errorf("%s and %s = %s read differently:\n field    %+v\n variable %+v", field, v.Name, value, fromField, fromVariable)
		}
		if reflect.DeepEqual(fromField, config.Defaults()) {
			t.Errorf("%s reads as the defaults", field)
		}
	}
}
