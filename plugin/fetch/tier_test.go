package fetch

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/f1fetch/f1fetch/config"
)

// A cache_dir that stops answering (a file took its name, as after an
// unmount or rm -rf) does not fail the fetch, and its failures reach the
// observers: the write of the fetched document, then the read of the next
// fetch's lookup; a miss is no failure.
func TestCacheDirFailuresReachTheObservers(t *testing.T) {
	srv := newH2Server(t, corpusHandler(t))
	s := fastSettings(srv.caFile, srv.URL)
	s.CacheDir = filepath.Join(t.TempDir(), "cache")
	c := newClient(t, s)
	var log observerLog
	defer c.Observe(&log)()
	ctx := context.Background()
	if res, err := c.FetchOne(ctx, mustTuple(t, 2025, gpAUS, quali, "VER/laptimes.json")); err != nil || res.Cache != CacheMiss {
		t.Fatalf("first fetch: cache %q, error %v", res.Cache, err)
	}
	if errs := log.tierErrors(); len(errs) != 0 {
		t.Fatalf("a working cache_dir reported %v", errs)
	}
	if err := os.RemoveAll(s.CacheDir); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(s.CacheDir, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := c.FetchOne(ctx, mustTuple(t, 2025, gpAUS, quali, "NOR/laptimes.json")); err != nil {
		t.Fatalf("a broken cache_dir failed the fetch: %v", err)
	}
	if errs := log.tierErrors(); len(errs) != 2 || !strings.Contains(errs[0].Error(), "read key") || !strings.Contains(errs[1].Error(), "write key") {
		t.Fatalf("observed %v, want the failed read and the failed write", errs)
	}
}

// A cache_dir that cannot be opened is a *config.FieldError naming it.
func TestNewRefusesACacheDirOnAFile(t *testing.T) {
	notDir := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(notDir, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	s := config.Defaults()
	s.CacheDir = notDir
	_, err := New(s, nil)
	fe, ok := errors.AsType[*config.FieldError](err)
	if !ok || fe.Field != "cache_dir" || fe.Value != strconv.Quote(notDir) {
		t.Fatalf("want a FieldError naming cache_dir and %q, got %v", notDir, err)
	}
}
