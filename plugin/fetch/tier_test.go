package fetch

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/f1fetch/f1fetch/config"
	"github.com/f1fetch/f1fetch/plugin/cache"
)

// A cache_dir that stops answering (a file took its name, as after an
// unmount or rm -rf) does not fail the fetch, and its failures travel in
// the result: the lookup's and the write's of what came back; a miss is no
// failure. A caller that joined the fetch has its own lookup's only.
func TestCacheDirFailuresTravelInTheResult(t *testing.T) {
	srv := newH2Server(t, corpusHandler(t))
	s := fastSettings(srv.caFile, srv.URL)
	s.CacheDir = filepath.Join(t.TempDir(), "cache")
	c := newClient(t, s)
	ctx := context.Background()
	res, err := c.FetchOne(ctx, mustTuple(t, 2025, gpAUS, quali, "VER/laptimes.json"))
	if err != nil || res.Cache != CacheMiss || len(res.TierErrors) != 0 {
		t.Fatalf("first fetch: cache %q, error %v, tier errors %v; want a plain miss", res.Cache, err, res.TierErrors)
	}
	if err := os.RemoveAll(s.CacheDir); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(s.CacheDir, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	res, err = c.FetchOne(ctx, mustTuple(t, 2025, gpAUS, quali, "NOR/laptimes.json"))
	if err != nil {
		t.Fatalf("a broken cache_dir failed the fetch: %v", err)
	}
	if errs := res.TierErrors; len(errs) != 2 || !strings.Contains(errs[0].Error(), "read key") || !strings.Contains(errs[1].Error(), "write key") {
		t.Fatalf("tier errors %v, want the failed read and the failed write", errs)
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

// The client sweeps its cache_dir as it opens it: an expired record and a
// crashed write's temporary file an hour old go, a live record stays.
func TestNewSweepsTheCacheDir(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cache")
	d, err := cache.NewDir(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := d.Set(ctx, "expired", []byte("v"), time.Nanosecond); err != nil {
		t.Fatal(err)
	}
	if err := d.Set(ctx, "live", []byte("v"), time.Hour); err != nil {
		t.Fatal(err)
	}
	crashed := filepath.Join(path, ".tmp-123")
	if err := os.WriteFile(crashed, []byte("half"), 0o644); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-2 * time.Hour)
	if err := os.Chtimes(crashed, old, old); err != nil {
		t.Fatal(err)
	}
	s := config.Defaults()
	s.CacheDir = path
	newClient(t, s)
	// The sweep runs on its own goroutine; the stamp it leaves last says
	// when it ran to its end.
	stamp := filepath.Join(path, ".swept")
	deadline := time.Now().Add(10 * time.Second)
	for _, err := os.Stat(stamp); err != nil; _, err = os.Stat(stamp) {
		if time.Now().After(deadline) {
			t.Fatalf("no sweep ran to its end: %v", err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if left, _ := os.ReadDir(path); len(left) != 2 {
		t.Fatalf("%d files left in cache_dir, want the live record and the stamp", len(left))
	}
	if _, err := d.Get(ctx, "live"); err != nil {
		t.Fatalf("the live record: %v", err)
	}

	// A client opening the directory within the hour does not sweep it
	// again (a job run again and again reads no header on each start).
	if err := d.Set(ctx, "expired again", []byte("v"), time.Nanosecond); err != nil {
		t.Fatal(err)
	}
	c := newClient(t, s)
	c.sweeping.Wait() // its sweep, had it begun one, has run to its end
	if left, _ := os.ReadDir(path); len(left) != 3 {
		t.Fatalf("%d files in cache_dir after a second client within the hour, want 3 (nothing swept)", len(left))
	}
}

// A sweep that failed is told once, with the next result a caller waits for
// (a cache_dir that cannot be swept fills the disk), in its tier errors.
func TestASweepFailureIsToldOnce(t *testing.T) {
	srv := newH2Server(t, corpusHandler(t))
	c := newClient(t, fastSettings(srv.caFile, srv.URL))
	err := errors.New("cache dir \"x\": sweep: permission denied")
	c.sweepErr.Store(&err)
	gone, cancel := context.WithCancel(context.Background())
	cancel() // a caller that left: its result is dropped, so it does not take the failure
	if res, _ := c.FetchOne(gone, mustTuple(t, 2025, gpAUS, quali, "VER/laptimes.json")); len(res.TierErrors) != 0 {
		t.Fatalf("a cancelled fetch's tier errors %v, want none", res.TierErrors)
	}
	ctx := context.Background()
	res, _ := c.FetchOne(ctx, mustTuple(t, 2025, gpAUS, quali, "VER/laptimes.json"))
	if len(res.TierErrors) != 1 || res.TierErrors[0] != err {
		t.Fatalf("first result's tier errors %v, want the sweep's", res.TierErrors)
	}
	if res, _ = c.FetchOne(ctx, mustTuple(t, 2025, gpAUS, quali, "NOR/laptimes.json")); len(res.TierErrors) != 0 {
		t.Fatalf("second result's tier errors %v, want none", res.TierErrors)
	}
}

// Check refuses what New refuses, and builds nothing that runs: a cache_dir
// on a file, a missing TLS roots file, a bad setting.
func TestCheckRefusesWhatNewRefuses(t *testing.T) {
	notDir := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(notDir, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for name, edit := range map[string]func(*config.Settings){
		"cache_dir":               func(s *config.Settings) { s.CacheDir = notDir },
		"tls.root_cas_file":       func(s *config.Settings) { s.TLSRootCAsFile = filepath.Join(notDir, "ca.pem") },
		"max_concurrent_requests": func(s *config.Settings) { s.MaxConcurrent = 0 },
	} {
		s := config.Defaults()
		edit(&s)
		checkErr := Check(s, nil)
		_, newErr := New(s, nil)
		if checkErr == nil || newErr == nil || checkErr.Error() != newErr.Error() || !strings.Contains(checkErr.Error(), name) {
			t.Errorf("%s: Check %v, New %v; want the same error naming the field", name, checkErr, newErr)
		}
	}
	s := config.Defaults()
	s.CacheDir = filepath.Join(t.TempDir(), "cache")
	if err := Check(s, nil); err != nil {
		t.Fatalf("good settings: %v", err)
	}
}

// writeFailingTier holds nothing and refuses every write.
type writeFailingTier struct{}

func (writeFailingTier) Get(context.Context, string) ([]byte, error) { return nil, cache.ErrMiss }
func (writeFailingTier) Set(context.Context, string, []byte, time.Duration) error {
	return errors.New("backend down")
}

// When the caller that started a fetch leaves while another waits on it,
// the fetch goes on, and its failed cache write (and its attempts) are told
// to the caller that receives the result: before, the joiner had them
// cleared as the leader's and the leader had left, so nobody told them.
func TestTierWriteFailureOfALeftFlightIsToldOnce(t *testing.T) {
	arrived, release := make(chan struct{}, 1), make(chan struct{})
	serve := corpusHandler(t)
	srv := newH2Server(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case arrived <- struct{}{}:
		default:
		}
		<-release
		serve(w, r)
	})
	c, err := New(fastSettings(srv.caFile, srv.URL), writeFailingTier{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	tp := mustTuple(t, 2025, gpAUS, quali, "VER/laptimes.json")
	key := c.keyPfx + tp.String()
	lctx, leave := context.WithCancel(context.Background())
	leader, joiner := make(chan Result, 1), make(chan Result, 1)
	go func() { r, _ := c.FetchOne(lctx, tp); leader <- r }()
	<-arrived
	go func() { r, _ := c.FetchOne(context.Background(), tp); joiner <- r }()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
		c.flights.mu.Lock()
		n := 0
		if f := c.flights.m[key]; f != nil {
			n = f.waiters
		}
		c.flights.mu.Unlock()
		if n == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the second caller did not join")
		}
	}
	leave()
	l := <-leader
	close(release)
	j := <-joiner
	if j.Err != nil {
		t.Fatalf("joiner: %v", j.Err)
	}
	if told := len(l.TierErrors) + len(j.TierErrors); told != 1 || j.Attempts != 1 {
		t.Fatalf("failed write told %d times (leader %v, joiner %v), joiner attempts %d; want once and 1", told, l.TierErrors, j.TierErrors, j.Attempts)
	}
}
