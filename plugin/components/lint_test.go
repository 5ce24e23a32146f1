package components

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/redpanda-data/benthos/v4/public/service"

	"github.com/f1fetch/f1fetch/internal/testkit"
)

// buildErrors builds the engine of a component's config as its constructor
// does and returns the lines of the error.
func buildErrors(t *testing.T, spec *service.ConfigSpec, fields string) []string {
	t.Helper()
	conf, err := spec.ParseYAML(fields, nil)
	if err != nil {
		t.Fatal(err)
	}
	eng, err := newEngine(conf, service.MockResources())
	if err != nil {
		return strings.Split(err.Error(), "\n")
	}
	eng.close()
	return nil
}

// Lint refuses what building refuses, in the same words, for every field
// the engine reads, including values Benthos' own lint of the field's type
// passes (a duration it cannot parse) and checks across fields; a config
// that builds gets no lint.
func TestLintRefusesWhatBuildRefuses(t *testing.T) {
	components := []struct {
		kind, name, extra string
		spec              func() *service.ConfigSpec
	}{
		{"input", "f1_fetch", oneRequest, fetchInputSpec},
		{"processor", "f1_fetch", "", fetchProcessorSpec},
		{"processor", "f1_expand", "", expandProcessorSpec},
	}
	builds := map[string]bool{
		`max_retries: 5, timeout: 10s, base_urls: [ "http://[::1]:8080" ]`: true,
		`base_urls: [ "http://10.0.0.7:8080" ], allow_insecure_http: true`: true,
	}
	for _, fields := range []string{
		`timeout: 30 seconds`,
		`max_retries: 101`,
		`max_concurrent_requests: -1, adaptive_min: 0`,
		`adaptive_min: 30`,
		`cache_ttl: -1s`,
		`jitter_max: "1 minute"`,
		`backoff_factor: -2`,
		`backoff_factor: .inf`,
		`backoff_factor: .nan`,
		`base_urls: [ "http://10.0.0.7:8080", "ftp://x", "https://" ]`,
		`ref: "../etc"`,
		// Bases Validate passes and the build's parse of a source refuses.
		`base_urls: [ "https://{year}.example.com/{path}", "https://example.com/{year}/x" ]`,
		`tls: { root_cas_file: "" }, max_body_bytes: 0`,
		`max_retries: 5, timeout: 10s, base_urls: [ "http://[::1]:8080" ]`,
		`base_urls: [ "http://10.0.0.7:8080" ], allow_insecure_http: true`,
	} {
		for _, c := range components {
			yaml := fmt.Sprintf("%s: { %s%s }", c.name, c.extra, fields)
			lints := testkit.LintMessages(t, c.kind, yaml)
			built := buildErrors(t, c.spec(), "{ "+c.extra+fields+" }")
			slices.Sort(lints)
			slices.Sort(built)
			if !slices.Equal(lints, built) || (len(built) == 0) != builds[fields] {
				t.Errorf("%s %s (builds: %v):\n lints %q\n build %q", c.kind, yaml, builds[fields], lints, built)
			}
		}
	}
	// The input's own fields.
	for _, fields := range []string{`prefetch: 200000`, `progress_interval: -1s`, `on_not_found: ignore`} {
		yaml := "f1_fetch: { " + oneRequest + fields + " }"
		lints := testkit.LintMessages(t, "input", yaml)
		built := buildErrors(t, fetchInputSpec(), "{ "+oneRequest+fields+" }")
		if len(built) == 0 || !containsAll(lints, built) {
			t.Errorf("%s: lints %q, want the build's %q among them", yaml, lints, built)
		}
	}
}

// oneRequest is the input's fields naming one valid file.
const oneRequest = "requests: [ { year: 2025, gp: Australian Grand Prix, session: Race, path: drivers.json } ], "

// The input's lint refuses what building its plan refuses, in the same
// words: bad requests and sessions, and neither; requests or sessions
// holding an empty string (an unset ${VAR} under `f1fetch test`) are left
// to the build.
func TestInputLintRefusesWhatItsPlanRefuses(t *testing.T) {
	const sess = "sessions: [ { year: 2025, gp: Australian Grand Prix, session: Race, "
	for fields, refused := range map[string]bool{
		oneRequest:                 false,
		sess + "laps: fastest } ]": false,
		"requests: [ { year: 1999, gp: Australian Grand Prix, session: Race, path: drivers.json } ]": true,
		"requests: [ { year: 2025, gp: Australian Grand Prix, session: Race, path: ../x.json } ]":    true,
		sess + "laps: [] } ]":         true,
		sess + "laps: ALL } ]":        true,
		sess + "drivers: [ alo ] } ]": true,
		"requests: [], sessions: []":  true,
		"requests: [ { year: 2025, gp: Australian Grand Prix, session: Race, path: \"\" } ]": false,
		sess + "laps: \"\" } ]": false,
	} {
		lints := testkit.LintMessages(t, "input", "f1_fetch: { "+fields+" }")
		conf, err := fetchInputSpec().ParseYAML("{ "+fields+" }", nil)
		if err != nil {
			t.Fatal(err)
		}
		_, _, built := planOf(conf)
		switch {
		case refused && (built == nil || !slices.Equal(lints, []string{built.Error()})):
			t.Errorf("%s: lints %q, want the build's %v", fields, lints, built)
		case !refused && len(lints) > 0:
			t.Errorf("%s: lints %q, want none (build: %v)", fields, lints, built)
		}
	}
}

func containsAll(have, want []string) bool {
	for _, w := range want {
		if !slices.Contains(have, w) {
			return false
		}
	}
	return true
}

// A setting an F1FETCH_* variable gives is the build's to check and name:
// lint looks at the config, under the variables of the process, as the
// build does.
func TestLintLeavesVariablesToTheBuild(t *testing.T) {
	t.Setenv("F1FETCH_MAX_CONCURRENT", "50")
	if lints := testkit.LintMessages(t, "processor", `f1_fetch: { adaptive_min: 30 }`); len(lints) > 0 {
		t.Errorf("adaptive_min 30 under F1FETCH_MAX_CONCURRENT=50: lints %q, want none (it builds)", lints)
	}
	for name, value := range map[string]string{
		"F1FETCH_MAX_RETRIES": "-3",
		"F1FETCH_BASE_URLS":   "https://example.com/{year}/x", // no {path}
	} {
		t.Setenv(name, value)
		if lints := testkit.LintMessages(t, "processor", `f1_fetch: { timeout: 5s }`); len(lints) > 0 {
			t.Errorf("%s=%s: lints %q, want none (the build names the variable)", name, value, lints)
		}
		if built := buildErrors(t, fetchProcessorSpec(), `{ timeout: 5s }`); len(built) != 1 || !strings.Contains(built[0], name) {
			t.Errorf("%s=%s: build %q, want it refused naming the variable", name, value, built)
		}
		t.Setenv(name, "")
	}
	t.Setenv("F1FETCH_ALLOW_INSECURE_HTTP", "true")
	if lints := testkit.LintMessages(t, "processor", `f1_fetch: { base_urls: [ "http://10.0.0.7:8080" ] }`); len(lints) > 0 {
		t.Errorf("remote http:// under F1FETCH_ALLOW_INSECURE_HTTP=true: lints %q, want none (it builds)", lints)
	}
}

// Building a spec was 28,000 to 41,000 allocations while each carried
// Bloblang lint rules of its own (compiled when the spec is made, at the
// binary's start): the one rule left is a method call.
func TestSpecsAreCheapToBuild(t *testing.T) {
	for name, spec := range map[string]func() *service.ConfigSpec{
		"f1_fetch input": fetchInputSpec, "f1_fetch processor": fetchProcessorSpec, "f1_expand": expandProcessorSpec,
	} {
		if n := testing.AllocsPerRun(3, func() { spec() }); n > 10000 {
			t.Errorf("%s: building its spec takes %.0f allocations, want under 10000", name, n)
		}
	}
}
