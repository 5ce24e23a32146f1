package e2e

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestVersion(t *testing.T) {
	r := ok(t, cmd{args: []string{"--version"}})
	if !strings.Contains(r.stdout, "e2e-test") {
		t.Fatalf("--version does not show the version set by -ldflags:\n%s", r)
	}
}

func TestListShowsOurComponents(t *testing.T) {
	r := ok(t, cmd{args: []string{"list"}})
	for _, name := range []string{"f1_fetch", "f1_expand", "f1_rows", "kafka_franz", "sql_insert", "stdout", "file", "switch"} {
		if !regexp.MustCompile(`(?m)^\s*-?\s*` + name + `\s*$`).MatchString(r.stdout) {
			t.Errorf("list does not show %s", name)
		}
	}
	if t.Failed() {
		t.Log(r)
	}
}

// requiredVars are the ${NAME} references without a default in a config,
// which lint insists on.
var requiredVar = regexp.MustCompile(`\$\{([A-Za-z0-9_.]+)\}`)

// pipelineFiles are the ready pipelines (not their unit test definitions).
func pipelineFiles(t *testing.T) []string {
	t.Helper()
	all, err := filepath.Glob(pipeline("*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	for _, f := range all {
		if !strings.HasSuffix(f, "_benthos_test.yaml") {
			files = append(files, f)
		}
	}
	if len(files) < 5 {
		t.Fatalf("pipelines/: %d pipelines, want at least 5: %v", len(files), files)
	}
	return files
}

func TestLintEveryPipeline(t *testing.T) {
	for _, f := range pipelineFiles(t) {
		t.Run(filepath.Base(f), func(t *testing.T) {
			body, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(string(body), "# ") {
				t.Errorf("%s does not start with a header comment saying what it does", f)
			}
			env := map[string]string{}
			// Lint needs each set; it checks what the build checks without
			// connecting, so a DSN must parse as one.
			for _, m := range requiredVar.FindAllStringSubmatch(string(body), -1) {
				env[m[1]] = "lint-placeholder"
				if strings.HasSuffix(m[1], "_DSN") {
					env[m[1]] = "postgres://lint@127.0.0.1:5432/lint"
				}
			}
			ok(t, cmd{args: []string{"lint", f}, env: env})
		})
	}
}

// TestPipelinesServingHTTPExportMetrics: a pipeline whose HTTP server is
// on ("metrics and health endpoint", F1_HTTP_ADDRESS) must export metrics
// there. Without a metrics section Benthos' default is none in this binary
// (it has no Prometheus exporter): /metrics answered 404 and f1_rejected,
// f1_not_found_dropped and f1_rows were nowhere to be read.
func TestPipelinesServingHTTPExportMetrics(t *testing.T) {
	served := 0
	for _, f := range pipelineFiles(t) {
		t.Run(filepath.Base(f), func(t *testing.T) {
			body, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			env := map[string]string{}
			for _, m := range requiredVar.FindAllStringSubmatch(string(body), -1) {
				env[m[1]] = "echo-placeholder"
			}
			conf := ok(t, cmd{args: []string{"echo", f}, env: env}).stdout
			if !strings.Contains(conf, "\nhttp:\n  enabled: true\n") && !strings.HasPrefix(conf, "http:\n  enabled: true\n") {
				return
			}
			served++
			if strings.Contains(conf, "\nmetrics:\n  none: {}") || !strings.Contains(conf, "\nmetrics:\n") {
				t.Errorf("%s serves HTTP but exports no metrics (metrics: none):\n%s", f, conf)
			}
		})
	}
	if served == 0 {
		t.Fatal("no pipeline serves HTTP; the kafka pipelines do (F1_HTTP_ADDRESS)")
	}
}

func TestPipelineUnitTests(t *testing.T) {
	r := ok(t, cmd{args: []string{"test", "./pipelines/..."}})
	for _, name := range []string{"session_to_sqlite", "session_to_postgres", "session_to_files", "fastest_laps_to_stdout", "tuples_stdin_to_stdout"} {
		if !strings.Contains(r.stdout, "pipelines/"+name+".yaml' succeeded") {
			t.Errorf("no passing unit test for pipelines/%s.yaml", name)
		}
	}
	if t.Failed() {
		t.Log(r)
	}
}

// A unit test whose case sets the variables the engine fields are written
// with passes: `f1fetch test` lints the config once, without the cases'
// environment (the fields then empty), and builds it under them. The
// source is 127.0.0.1:9, where nothing listens: the tuple's failure shows
// the base and ref the build read.
func TestUnitTestVariablesOfEngineFieldsPassLint(t *testing.T) {
	dir := t.TempDir()
	conf := `pipeline:
  processors:
    - f1_fetch:
        base_urls: [ "${F1_TEST_BASE}" ]
        ref: ${F1_TEST_REF}
        timeout: ${F1_TEST_TIMEOUT}
        max_retries: 0
        use_cache: false
`
	tests := `tests:
  - name: the engine fields follow the case's environment
    target_processors: /pipeline/processors
    environment: { F1_TEST_BASE: "http://127.0.0.1:9", F1_TEST_REF: abc123, F1_TEST_TIMEOUT: 5s }
    input_batch:
      - content: '[2025, "Australian Grand Prix", "Race", "drivers.json"]'
    output_batches:
      - - bloblang: 'errored() && @f1_error_kind == "network" && @f1_url.has_prefix("http://127.0.0.1:9/2025@abc123/")'
`
	for name, text := range map[string]string{"vars.yaml": conf, "vars_benthos_test.yaml": tests} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ok(t, cmd{args: []string{"test", filepath.Join(dir, "vars.yaml")}})
}

// TestBadConfigsAreRefusedNamingTheField checks lint and run (with and
// without --chilled, where the component itself refuses) on broken configs.
func TestBadConfigsAreRefusedNamingTheField(t *testing.T) {
	cases := []struct{ name, field, want, value, secret string }{
		{"unknown field", "max_concurent_requests: 4", "field max_concurent_requests not recognised", "", ""},
		{"negative concurrency", "max_concurrent_requests: -1", "field max_concurrent_requests: value", "-1", ""},
		{"remote plain http", "base_urls: [ http://cdn.example.com ]", "field base_urls: value", "http://cdn.example.com", ""},
		// The refused value is named without the password it carries.
		{"remote plain http with a password", "base_urls: [ 'http://f1:s3cret@cdn.example.com' ]", "field base_urls: value", "@cdn.example.com", "s3cret"},
		// Unbounded, it was a queue of 4e9 slots: out of memory when the input connected.
		{"huge prefetch", "prefetch: 4000000000", "field prefetch: value", "4000000000", ""},
	}
	var secret string // the current case's, never to be printed
	says := func(r result, want ...string) bool {
		for _, w := range want {
			if !strings.Contains(r.stdout+r.stderr, w) {
				return false
			}
		}
		return secret == "" || !strings.Contains(r.stdout+r.stderr, secret)
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			secret = c.secret
			path := filepath.Join(t.TempDir(), "bad.yaml")
			conf := "http: { enabled: false }\ninput:\n  f1_fetch:\n    requests: [ { year: 2025, gp: Australian Grand Prix, session: Race, path: drivers.json } ]\n    " +
				c.field + "\noutput:\n  drop: {}\n"
			if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
				t.Fatal(err)
			}
			lint := f1fetch(t, cmd{args: []string{"lint", path}})
			if lint.err == nil || !says(lint, c.want, c.value) {
				t.Errorf("lint: want a failure saying %q %q:\n%s", c.want, c.value, lint)
			}
			run := f1fetch(t, cmd{args: []string{"run", path}})
			if run.err == nil || !says(run, c.want, c.value) {
				t.Errorf("run: want a failure saying %q %q:\n%s", c.want, c.value, run)
			}
			if c.name == "unknown field" {
				return // --chilled ignores unknown fields by design
			}
			chilled := f1fetch(t, cmd{args: []string{"run", "--chilled", path}})
			if chilled.err == nil || !says(chilled, "failed to init input", c.want, c.value) {
				t.Errorf("run --chilled: want the f1_fetch input to refuse %s:\n%s", c.field, chilled)
			}
		})
	}
}

// A remote http:// base that allow_insecure_http allows, in the config or
// as F1FETCH_ALLOW_INSECURE_HTTP, passes lint (which run applies too). Only
// lint runs: the source is not on this machine.
func TestAllowInsecureHTTPPassesLint(t *testing.T) {
	write := func(fields string) string {
		path := filepath.Join(t.TempDir(), "insecure.yaml")
		conf := "input:\n  f1_fetch:\n    requests: [ { year: 2025, gp: Australian Grand Prix, session: Race, path: drivers.json } ]\n    base_urls: [ http://10.0.0.7:8080 ]\n" + fields + "output:\n  drop: {}\n"
		if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	ok(t, cmd{args: []string{"lint", write("    allow_insecure_http: true\n")}})
	ok(t, cmd{args: []string{"lint", write("")}, env: map[string]string{"F1FETCH_ALLOW_INSECURE_HTTP": "true"}})
	// Lint refuses what run would: nothing allowing it, the variable false,
	// or the field false over the variable (the field wins).
	for _, c := range []struct {
		fields string
		env    map[string]string
	}{
		{"", nil},
		{"", map[string]string{"F1FETCH_ALLOW_INSECURE_HTTP": "false"}},
		{"    allow_insecure_http: false\n", map[string]string{"F1FETCH_ALLOW_INSECURE_HTTP": "true"}},
	} {
		if r := f1fetch(t, cmd{args: []string{"lint", write(c.fields)}, env: c.env}); r.err == nil || !strings.Contains(r.stdout+r.stderr, "allow_insecure_http") {
			t.Errorf("lint of a remote http:// base with %q, %v: want a failure naming allow_insecure_http:\n%s", c.fields, c.env, r)
		}
	}
}

// The mirror command refuses a negative fault flag, as the same value in a
// faults file is refused, and a flag that does nothing without its partner,
// instead of starting without the fault.
func TestMirrorRefusesNegativeFaultFlags(t *testing.T) {
	for _, c := range []struct{ flag, want string }{
		{"--latency=-5s", "latency_ms"},
		{"--quota-rps=-3", "quota_rps"},
		{"--rate-429=-0.5", "status_429_rate"},
		{"--fail-rate=-0.5", "--fail-rate"},
		{"--fail-status=404", "set --fail-rate too"},
		{"--lognormal-sigma=0.5", "set --lognormal-median too"},
	} {
		r := f1fetch(t, cmd{args: []string{"mirror", "--root", t.TempDir(), "--addr", "127.0.0.1:0", c.flag}, timeout: 10 * time.Second})
		if r.err == nil || r.elapsed > 5*time.Second || !strings.Contains(r.stdout+r.stderr, c.want) {
			t.Errorf("%s: want a prompt refusal naming %s:\n%s", c.flag, c.want, r)
		}
	}
}
