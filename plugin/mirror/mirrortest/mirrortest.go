// Package mirrortest starts a mirror in-process on a random loopback port
// for tests, closed by the test's cleanup.
package mirrortest

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/f1fetch/f1fetch/plugin/mirror"
)

// Mirror is a running mirror bound to a test. Its embedded Running gives
// URL, CertPool, Client, Counts, Count, Reset and Faults.
type Mirror struct {
	*mirror.Running
	CAFile string // PEM file trusting the mirror when TLS, "" otherwise
	tb     testing.TB
}

// Start serves cfg for the duration of tb; a start error fails tb.
func Start(tb testing.TB, cfg mirror.Config) *Mirror {
	tb.Helper()
	r, err := mirror.Start(cfg)
	if err != nil {
		tb.Fatalf("start mirror: %v", err)
	}
	tb.Cleanup(func() {
		if err := r.Close(); err != nil {
			tb.Errorf("close mirror: %v", err)
		}
	})
	m := &Mirror{Running: r, tb: tb}
	if cfg.TLS {
		m.CAFile = filepath.Join(tb.TempDir(), "mirror-ca.pem")
		if err := r.WriteCA(m.CAFile); err != nil {
			tb.Fatal(err)
		}
	}
	return m
}

// SetFaults installs f; invalid faults fail the test.
func (m *Mirror) SetFaults(f mirror.Faults) {
	m.tb.Helper()
	if err := m.Running.SetFaults(f); err != nil {
		m.tb.Fatalf("set mirror faults: %v", err)
	}
}

// RepoRoot is the directory holding go.mod, found from the working directory up.
func RepoRoot(tb testing.TB) string {
	tb.Helper()
	dir, err := os.Getwd()
	if err != nil {
		tb.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			tb.Fatal("repository root: no go.mod above the working directory")
		}
		dir = parent
	}
}

// SharedTestdata is the project's real corpus, ../shared/testdata from the repository root.
func SharedTestdata(tb testing.TB) string {
	tb.Helper()
	dir := filepath.Join(RepoRoot(tb), "..", "shared", "testdata")
	if _, err := os.Stat(dir); err != nil {
		tb.Fatalf("shared testdata: %v", err)
	}
	return dir
}

// SharedConfig serves the shared corpus with its test/ folder as year 2025,
// so /2025@main/Australian Grand Prix/Qualifying/drivers.json is
// test/Australian Grand Prix/Qualifying/drivers.json.
func SharedConfig(tb testing.TB) mirror.Config {
	tb.Helper()
	return mirror.Config{Root: SharedTestdata(tb), Aliases: map[string]string{"2025": "test"}}
}

// BundledData is the repository's data/mirror folder (2025 Australian GP Race).
func BundledData(tb testing.TB) string {
	tb.Helper()
	return filepath.Join(RepoRoot(tb), "data", "mirror")
}
