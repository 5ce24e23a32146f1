package main

import (
	"context"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A database the demo cannot create fails at once, naming the flag, instead
// of leaving the pipeline retrying its connection.
func TestDemoRefusesAnUnwritableDatabase(t *testing.T) {
	root := filepath.Join("..", "..")
	db := filepath.Join(t.TempDir(), "missing-dir", "demo.db")
	start := time.Now()
	err := runDemo(context.Background(), io.Discard, filepath.Join(root, "data", "mirror"), filepath.Join(root, "pipelines", "session_to_sqlite.yaml"), db)
	if err == nil || !strings.Contains(err.Error(), "flag --db") {
		t.Fatalf("want an error naming --db, got %v", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Fatalf("took %v", time.Since(start))
	}
}
