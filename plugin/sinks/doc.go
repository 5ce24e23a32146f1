// Package sinks holds the Kafka and SQL components that the f1fetch binary
// ships in place of Redpanda Connect's own (which it cannot bundle): the
// kafka_franz input and output and the sql_insert output. Their field names
// follow Redpanda Connect's so that existing pipelines keep working.
//
// Importing the package registers the components with Benthos. Only
// cmd/f1fetch imports it; plugin/components never does, so other Benthos
// builds that take the f1fetch components do not get these as well.
package sinks
