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
	stream, err := b.Build()
	if err != nil {
		t.Fatalf("building stream: %v", err)
	}
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
