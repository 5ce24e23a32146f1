package sinks

import (
	"context"
	"strings"
	"testing"
	"time"

	_ "github.com/redpanda-data/benthos/v4/public/components/pure"
	"github.com/redpanda-data/benthos/v4/public/service"
)

// writeThrough runs a stream that sends each batch to the output described
// by outputYAML (a component, such as "sql_insert: {...}") and waits for it
// to be acknowledged. It returns the first nack; the stream is stopped
// gracefully either way, so that Close runs.
func writeThrough(t *testing.T, outputYAML string, batches ...service.MessageBatch) error {
	t.Helper()
	stream, send := outputStream(t, outputYAML)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	runErr := make(chan error, 1)
	go func() { runErr <- stream.Run(ctx) }()

	var sendErr error
	for _, batch := range batches {
		if sendErr = send(ctx, batch); sendErr != nil {
			break
		}
	}
	if err := stream.Stop(ctx); err != nil {
		t.Fatalf("stopping stream: %v", err)
	}
	if err := <-runErr; err != nil && err != context.Canceled {
		t.Fatalf("stream run: %v", err)
	}
	return sendErr
}

// outputStream builds a stream, logging off, from a producer func to the
// output described by outputYAML; the caller runs it and sends through send.
func outputStream(t *testing.T, outputYAML string) (stream *service.Stream, send service.MessageBatchHandlerFunc) {
	t.Helper()
	b := service.NewStreamBuilder()
	if err := b.SetLoggerYAML("level: off"); err != nil {
		t.Fatal(err)
	}
	send, err := b.AddBatchProducerFunc()
	if err != nil {
		t.Fatal(err)
	}
	if err := b.AddOutputYAML(outputYAML); err != nil {
		t.Fatalf("output config: %v", err)
	}
	stream, err = b.Build()
	if err != nil {
		t.Fatalf("building stream: %v", err)
	}
	return stream, send
}

// connector is what the kafka_franz input and output have in common for a
// test that drives one of them without a stream.
type connector interface {
	Connect(context.Context) error
	Close(context.Context) error
}

// connectDirectly parses yaml against spec, builds the component with build
// and connects it within 10 s, failing the test on any error, for tests that
// call the component's methods themselves. Close runs when the test ends.
func connectDirectly[C connector](t *testing.T, spec *service.ConfigSpec, yaml string, build func(*service.ParsedConfig, *service.Resources) (C, error)) C {
	t.Helper()
	conf, err := spec.ParseYAML(yaml, nil)
	if err != nil {
		t.Fatalf("%v\n%s", err, yaml)
	}
	c, err := build(conf, service.MockResources())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close(context.Background()) })
	return c
}

// jsonBatch makes a batch of messages from JSON documents.
func jsonBatch(docs ...string) service.MessageBatch {
	batch := make(service.MessageBatch, len(docs))
	for i, d := range docs {
		batch[i] = service.NewMessage([]byte(d))
	}
	return batch
}

// requireErrorNaming fails unless err mentions every one of words.
func requireErrorNaming(t *testing.T, err error, words ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("want an error naming %q, got none", words)
	}
	for _, w := range words {
		if !strings.Contains(err.Error(), w) {
			t.Fatalf("error %q does not name %q", err, w)
		}
	}
}

// buildsWith checks that a whole stream config, built around an output or
// input snippet such as a documented example, is accepted.
func buildsWith(t *testing.T, yaml string) {
	t.Helper()
	b := service.NewStreamBuilder()
	if err := b.SetYAML(yaml); err != nil {
		t.Fatalf("config rejected: %v\n%s", err, yaml)
	}
	if _, err := b.Build(); err != nil {
		t.Fatalf("stream does not build: %v\n%s", err, yaml)
	}
}
