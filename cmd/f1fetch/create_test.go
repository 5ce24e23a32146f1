package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestMain runs the binary instead of the tests when F1FETCH_TEST_MAIN is
// set, so that a test can run the real CLI (f1fetch below).
func TestMain(m *testing.M) {
	if os.Getenv("F1FETCH_TEST_MAIN") != "" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// f1fetch runs the binary with args and returns its output, stdout and
// stderr, and its error (an *exec.ExitError for a status other than 0).
func f1fetch(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "F1FETCH_TEST_MAIN=1")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// The config `f1fetch create` writes for every component we ship, with
// every field and with --small, lints clean but for the one thing only its
// user can fill in: what the f1_fetch input fetches (requests and sessions
// are written empty, which lint and run refuse). Before, it wrote the
// engine fields, which have no schema default so that their F1FETCH_*
// variables can fill them, as their zero values (max_concurrent_requests:
// 0, on_not_found: ""), and the sinks' enums as "". That the written values
// are the defaults is TestWrittenConfigIsTheDefaults, in plugin/components.
func TestCreatedConfigLints(t *testing.T) {
	slots := map[string][]string{}
	for _, c := range documented {
		slots[c.kind] = append(slots[c.kind], c.name)
	}
	expr := strings.Join(slots["input"], ",") + "/" + strings.Join(slots["processor"], ",") + "/" + strings.Join(slots["output"], ",")
	for _, flags := range [][]string{nil, {"--small"}} {
		args := append(append([]string{"create"}, flags...), expr)
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			conf, err := f1fetch(t, args...)
			if err != nil {
				t.Fatalf("f1fetch %s: %v\n%s", strings.Join(args, " "), err, conf)
			}
			path := filepath.Join(t.TempDir(), "created.yaml")
			if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
				t.Fatal(err)
			}
			out, _ := f1fetch(t, "lint", path)
			lines := strings.Split(strings.TrimSpace(out), "\n")
			if len(lines) != 1 || !strings.HasSuffix(lines[0], ") field requests and field sessions: both empty; name at least one file or session") {
				t.Fatalf("f1fetch lint of what f1fetch %s wrote: want only the input's empty plan refused, got\n%s\n%s", strings.Join(args, " "), out, conf)
			}
		})
	}
}
