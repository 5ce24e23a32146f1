package sinks

import (
	"github.com/redpanda-data/benthos/v4/public/service"

	"github.com/f1fetch/f1fetch/plugin/lint"
)

// The sinks' lint rules run their constructors (package lint), so that
// `f1fetch lint` refuses what starting the pipeline would (an sql_insert
// upsert without conflict_columns, a kafka_franz manual partitioner without
// a partition, a timeout of 0s), in the same words. Left to the build: the
// kafka components' tls field, whose files are read where the pipeline
// runs, which may not be where it is linted, and the processors of a
// batching policy, which the input's batcher builds against the run's
// resources (Benthos lints them as processors).
const (
	sqlInsertLintMethod        = "f1fetch_sql_insert_lints"
	kafkaFranzOutputLintMethod = "f1fetch_kafka_franz_output_lints"
	kafkaFranzInputLintMethod  = "f1fetch_kafka_franz_input_lints"
)

// Registered as the package's variables are initialised, before the init
// functions build the specs whose lint rules name the methods.
var _ = registerLints()

func registerLints() bool {
	const batchingProcessors = "batching.processors"
	lint.Register(sqlInsertLintMethod, "`sql_insert` output", sqlInsertOutputSpec, lintOutput(buildSQLInsertOutput), batchingProcessors)
	lint.Register(kafkaFranzOutputLintMethod, "`kafka_franz` output", kafkaFranzOutputSpec, lintOutput(buildFranzOutput), kfFieldTLS, batchingProcessors)
	lint.Register(kafkaFranzInputLintMethod, "`kafka_franz` input", kafkaFranzInputSpec, lintFranzInput, kfFieldTLS, batchingProcessors)
	return true
}

// lintOutput is the check of an output's lint rule: its constructor, on
// resources that do nothing (building opens no connection; Connect does).
func lintOutput(build func(*service.ParsedConfig, *service.Resources) (service.BatchOutput, service.BatchPolicy, int, error)) func(*service.ParsedConfig) error {
	return func(conf *service.ParsedConfig) error {
		_, _, _, err := build(conf, service.MockResources())
		return err
	}
}

// lintFranzInput is the check of the input's lint rule: its constructor, on
// resources that do nothing (building opens no client; Connect does).
func lintFranzInput(conf *service.ParsedConfig) error {
	_, err := newFranzInput(conf, service.MockResources())
	return err
}
