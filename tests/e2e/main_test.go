package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// binary is the f1fetch built by TestMain; repoRoot holds go.mod.
var binary, repoRoot string

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	var err error
	if repoRoot, err = findRepoRoot(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	dir, err := os.MkdirTemp("", "f1fetch-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	binary = filepath.Join(dir, "f1fetch")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	build := exec.CommandContext(ctx, "go", "build", "-ldflags", "-X main.version=e2e-test", "-o", binary, "./cmd/f1fetch")
	build.Dir = repoRoot
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: go build ./cmd/f1fetch: %v\n%s", err, out)
		return 1
	}
	return m.Run()
}

func findRepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod above the working directory")
		}
		dir = parent
	}
}

// cmd describes one run of the binary.
type cmd struct {
	args    []string
	env     map[string]string // on top of the test process's environment
	stdin   string
	dir     string        // default: the repository root
	timeout time.Duration // default: 60s
	stderr  *os.File      // the child's stderr as it is (a socket, say); default: captured
}

// result of a run; String shows everything, for failure messages.
type result struct {
	args           []string
	stdout, stderr string
	err            error
	elapsed        time.Duration
}

func (r result) String() string {
	return fmt.Sprintf("f1fetch %s: %v after %s\n--- stdout ---\n%s\n--- stderr ---\n%s",
		strings.Join(r.args, " "), r.err, r.elapsed.Round(time.Millisecond), tail(r.stdout), tail(r.stderr))
}

// tail keeps failure messages readable when a document was printed.
func tail(s string) string {
	const max = 8000
	if len(s) > max {
		return "...\n" + s[len(s)-max:]
	}
	return s
}

// f1fetch runs the binary and returns its result, whatever its exit status.
func f1fetch(t *testing.T, c cmd) result {
	t.Helper()
	if c.timeout == 0 {
		c.timeout = 60 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	x := exec.CommandContext(ctx, binary, c.args...)
	x.Dir = c.dir
	if x.Dir == "" {
		x.Dir = repoRoot
	}
	// Hermetic: the settings of the developer's shell do not leak in.
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "F1FETCH_") && !strings.HasPrefix(kv, "F1_") {
			x.Env = append(x.Env, kv)
		}
	}
	for k, v := range c.env {
		x.Env = append(x.Env, k+"="+v)
	}
	x.Stdin = strings.NewReader(c.stdin)
	var stdout, stderr bytes.Buffer
	x.Stdout, x.Stderr = &stdout, &stderr
	if c.stderr != nil {
		x.Stderr = c.stderr
	}
	x.WaitDelay = 5 * time.Second
	start := time.Now()
	err := x.Run()
	r := result{args: c.args, stdout: stdout.String(), stderr: stderr.String(), err: err, elapsed: time.Since(start)}
	if ctx.Err() != nil {
		t.Fatalf("timed out after %s:\n%s", c.timeout, r)
	}
	return r
}

// ok runs the binary and fails the test unless it exits 0.
func ok(t *testing.T, c cmd) result {
	t.Helper()
	r := f1fetch(t, c)
	if r.err != nil {
		t.Fatalf("want exit 0:\n%s", r)
	}
	return r
}

// pipeline is the path of a file of pipelines/.
func pipeline(name string) string { return filepath.Join(repoRoot, "pipelines", name) }
