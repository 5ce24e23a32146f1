package sinks

import (
	"slices"
	"strings"
	"testing"

	"github.com/redpanda-data/benthos/v4/public/service"

	"github.com/f1fetch/f1fetch/internal/testkit"
	"gopkg.in/yaml.v3"
)

// The sinks' lint refuses what building them refuses, in the same words,
// including checks across fields that Benthos' own lint of each field's
// type passes; a config that builds gets no lint, and so does one with a
// field written empty (an unset ${VAR}: the build's to refuse), naming a
// TLS file (read where the pipeline runs, not where it is linted) or a
// resource in a batching processor (the run's).
func TestSinkLintRefusesWhatBuildRefuses(t *testing.T) {
	const (
		sql   = `driver: sqlite, dsn: "file:lint.db", table: laps, args_mapping: "root = [ this.a ]", `
		kafka = `seed_brokers: [ "127.0.0.1:9092" ], `
		group = `topics: [ f1-laps ], consumer_group: g, `
	)
	for _, c := range []struct {
		kind, name, fields string
		build              func(*service.ParsedConfig) error
		refused            bool
	}{
		{"output", "sql_insert", sql + `columns: [ a ]`, lintOutput(buildSQLInsertOutput), false},
		{"output", "sql_insert", sql + `columns: [ a ], conflict: upsert, conflict_columns: [ a ]`, lintOutput(buildSQLInsertOutput), false},
		{"output", "sql_insert", sql + `columns: []`, lintOutput(buildSQLInsertOutput), true},
		{"output", "sql_insert", sql + `columns: [ a ], conflict: upsert`, lintOutput(buildSQLInsertOutput), true},
		{"output", "sql_insert", sql + `columns: [ a, a ]`, lintOutput(buildSQLInsertOutput), true},
		{"output", "sql_insert", sql + `columns: [ a ], conflict_columns: [ b ], conflict: do_nothing`, lintOutput(buildSQLInsertOutput), true},
		{"output", "sql_insert", sql + `columns: [ a ], max_in_flight: 0`, lintOutput(buildSQLInsertOutput), true},
		{"output", "sql_insert", `driver: postgres, dsn: "postgres://u:p@h:notaport/db", table: laps, args_mapping: "root = [ this.a ]", columns: [ a ]`, lintOutput(buildSQLInsertOutput), true},
		{"output", "kafka_franz", kafka + `topic: f1-laps`, lintOutput(buildFranzOutput), false},
		{"output", "kafka_franz", kafka + `topic: f1-laps, partitioner: manual`, lintOutput(buildFranzOutput), true},
		{"output", "kafka_franz", kafka + `topic: f1-laps, timeout: 0s`, lintOutput(buildFranzOutput), true},
		{"output", "kafka_franz", kafka + `topic: f1-laps, max_message_bytes: 2GB`, lintOutput(buildFranzOutput), true},
		{"output", "kafka_franz", kafka + `topic: f1-laps, metadata: { include_patterns: [ "(" ] }`, lintOutput(buildFranzOutput), true},
		{"input", "kafka_franz", kafka + group, lintFranzInput, false},
		{"input", "kafka_franz", kafka + group + `checkpoint_limit: 0`, lintFranzInput, true},
		{"input", "kafka_franz", kafka + `topics: [ "(" ], regexp_topics: true, consumer_group: g`, lintFranzInput, true},
		{"input", "kafka_franz", kafka + group + `sasl: [ { mechanism: OAUTH, username: u, password: p } ]`, lintFranzInput, true},
	} {
		yml := c.name + ": { " + c.fields + " }"
		got := testkit.LintMessages(t, c.kind, yml)
		var body map[string]any
		if err := yaml.Unmarshal([]byte(yml), &body); err != nil {
			t.Fatal(err)
		}
		raw, _ := yaml.Marshal(body[c.name])
		spec := map[string]func() *service.ConfigSpec{"output sql_insert": sqlInsertOutputSpec, "output kafka_franz": kafkaFranzOutputSpec, "input kafka_franz": kafkaFranzInputSpec}[c.kind+" "+c.name]
		conf, err := spec().ParseYAML(string(raw), nil)
		if err != nil {
			t.Fatalf("%s: %v", yml, err)
		}
		var want []string
		if err := c.build(conf); err != nil {
			want = strings.Split(err.Error(), "\n")
		}
		if c.refused != (len(want) > 0) {
			t.Fatalf("%s: the build's error %q, want refused %v", yml, want, c.refused)
		}
		// Benthos' own lint of a field's type may say it too (an enum's
		// options): every line of the build's error, and nothing when it builds.
		missing := slices.ContainsFunc(want, func(w string) bool { return !slices.Contains(got, w) })
		if missing || len(want) == 0 && len(got) > 0 {
			t.Errorf("%s %s:\n lint  %q\n build %q", c.kind, yml, got, want)
		}
	}

	// Left to the build, which refuses each, naming the field.
	for _, c := range []struct{ kind, yml string }{
		{"output", `sql_insert: { ` + sql + `columns: [ a ], dsn: "" }`},
		{"input", `kafka_franz: { ` + kafka + group + `consumer_group: "" }`},
		{"output", `kafka_franz: { ` + kafka + `topic: f1-laps, tls: { enabled: true, root_cas_file: /nonexistent/ca.pem } }`},
		// A batching processor naming a resource is built by the run, which has it.
		{"input", `kafka_franz: { ` + kafka + group + `batching: { count: 10, processors: [ { resource: myproc } ] } }`},
		// An optional field written empty may be an unset ${VAR}.
		{"output", `kafka_franz: { ` + kafka + `topic: f1-laps, partitioner: manual, partition: "" }`},
	} {
		if got := testkit.LintMessages(t, c.kind, c.yml); len(got) > 0 {
			t.Errorf("%s: lints %q, want none (the build's to refuse)", c.yml, got)
		}
	}
}
