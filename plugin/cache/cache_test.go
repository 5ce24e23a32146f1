package cache

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestCachePromotesSecondTierHit: a new process over the same directory
// reads a key from the tier, leaving memory alone (a one-pass rerun must not
// churn it); the key's second read enters memory for the entry's remaining
// retention, and the third is served by memory alone.
func TestCachePromotesSecondTierHit(t *testing.T) {
	d, _ := newDir(t)
	ctx := context.Background()
	e := Entry{Status: 200, Body: realBody(t, telPath), ETag: `"e"`, Source: "src", Expires: time.Now().Add(50 * time.Millisecond)}
	writer := New(NewMemory(64*mb), d)
	defer writer.Close()
	setAt := time.Now()
	if err := writer.Set(ctx, "k", e, time.Hour); err != nil {
		t.Fatal(err)
	}

	// A new process: empty memory over the same directory.
	mem := NewMemory(64 * mb)
	c := New(mem, d)
	defer c.Close()
	got, ok, _ := c.Get(ctx, "k")
	if !ok {
		t.Fatal("tier hit not found")
	}
	sameEntry(t, got, e)
	if mem.Len() != 0 {
		t.Fatalf("the first tier hit entered memory (%d entries), want it left to the tier", mem.Len())
	}
	if got, ok, _ = c.Get(ctx, "k"); !ok {
		t.Fatal("second tier hit not found")
	}
	sameEntry(t, got, e)
	if _, exp, ok := mem.items.GetWithExpiration("k"); !ok || exp.Before(setAt.Add(time.Hour-time.Second)) || exp.After(time.Now().Add(time.Hour)) {
		t.Fatalf("promoted into memory = %v until %s, want the entry's remaining hour", ok, exp)
	}
	os.RemoveAll(d.path) // the next Get must be served by memory alone
	if got, ok, _ := c.Get(ctx, "k"); !ok || got.ETag != `"e"` {
		t.Fatal("promoted entry not served from memory")
	}
}

// TestAdmissionIsBounded: keys read once are remembered up to the bound,
// then forgotten together, so a scan of any length holds at most max.
func TestAdmissionIsBounded(t *testing.T) {
	a := newAdmission(3)
	for _, k := range []string{"a", "b", "c"} {
		if a.admit(k) {
			t.Fatalf("first read of %q admitted", k)
		}
	}
	if !a.admit("b") || a.admit("b") {
		t.Fatal(`second read of "b" not admitted, or its third read admitted (its mark must be used up)`)
	}
	a.admit("d") // three remembered: the bound, so all are forgotten before "d"
	if len(a.seen) != 1 {
		t.Fatalf("%d keys remembered after the bound was reached, want only the newest", len(a.seen))
	}
	if a.admit("a") {
		t.Fatal(`"a" admitted after the marks were forgotten`)
	}
}

func TestCacheKeepsStaleForRevalidation(t *testing.T) {
	d, _ := newDir(t)
	ctx := context.Background()
	New(NewMemory(mb), d).Set(ctx, "k", Entry{Status: 200, Body: []byte("{}"), ETag: `"v1"`, Expires: time.Now().Add(10 * time.Millisecond)}, time.Second)
	time.Sleep(30 * time.Millisecond)
	got, ok, _ := New(NewMemory(mb), d).Get(ctx, "k")
	if !ok || got.Fresh(time.Now(), time.Hour) || got.ETag != `"v1"` {
		t.Fatalf("got ok=%v fresh=%v etag=%q, want the stale entry with its ETag", ok, got.Fresh(time.Now(), time.Hour), got.ETag)
	}
}

// ttlBlindTier keeps values forever, as Benthos' file cache does.
type ttlBlindTier struct {
	mu sync.Mutex
	m  map[string][]byte
}

func (b *ttlBlindTier) Get(_ context.Context, key string) ([]byte, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if v, ok := b.m[key]; ok {
		return v, nil
	}
	return nil, ErrMiss
}

func (b *ttlBlindTier) Set(_ context.Context, key string, value []byte, _ time.Duration) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.m[key] = value
	return nil
}

func TestCacheHonoursRetentionOverTTLBlindTier(t *testing.T) {
	tier := &ttlBlindTier{m: map[string][]byte{}}
	ctx := context.Background()
	New(NewMemory(mb), tier).Set(ctx, "k", Entry{Status: 200, Body: []byte("{}")}, 20*time.Millisecond)
	time.Sleep(40 * time.Millisecond)
	if _, ok, _ := New(NewMemory(mb), tier).Get(ctx, "k"); ok {
		t.Fatal("entry past its retention served from a tier that ignores TTLs")
	}
	tier.m["k"] = []byte("garbage")
	if _, ok, _ := New(NewMemory(mb), tier).Get(ctx, "k"); ok {
		t.Fatal("corrupt tier record served")
	}
}

func TestCacheNegativeEntryRoundTrip(t *testing.T) {
	d, _ := newDir(t)
	ctx := context.Background()
	neg := Entry{Status: 404, Source: "https://cdn.jsdelivr.net/gh/TracingInsights", Expires: time.Now().Add(time.Minute), Stored: time.Now()}
	if err := New(NewMemory(mb), d).Set(ctx, "2025@main/X/Race/drivers.json", neg, time.Minute); err != nil {
		t.Fatal(err)
	}
	got, ok, _ := New(NewMemory(mb), d).Get(ctx, "2025@main/X/Race/drivers.json")
	if !ok {
		t.Fatal("negative entry lost")
	}
	sameEntry(t, got, neg)
	if !got.Fresh(time.Now(), time.Minute) || len(got.Body) != 0 {
		t.Fatalf("negative entry fresh=%v body=%d bytes", got.Fresh(time.Now(), time.Minute), len(got.Body))
	}
}

func TestCacheSetReturnsTierErrorAndStillWritesMemory(t *testing.T) {
	d, path := newDir(t)
	os.RemoveAll(path) // the tier can no longer write
	c := New(NewMemory(mb), d)
	defer c.Close()
	err := c.Set(context.Background(), "k", Entry{Status: 200, Body: []byte("{}")}, time.Hour)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Set err = %v, want the tier's error wrapped", err)
	}
	if _, ok, _ := c.Get(context.Background(), "k"); !ok {
		t.Fatal("memory not written when the tier failed")
	}
}

func TestCacheWithoutTier(t *testing.T) {
	c := New(NewMemory(mb), nil)
	defer c.Close()
	ctx := context.Background()
	if _, ok, _ := c.Get(ctx, "k"); ok {
		t.Fatal("hit in an empty cache")
	}
	if err := c.Set(ctx, "k", Entry{Status: 200, Body: []byte("{}")}, time.Hour); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := c.Get(ctx, "k"); !ok {
		t.Fatal("miss after Set")
	}
	nilMem := New(nil, nil)
	defer nilMem.Close()
	nilMem.Set(ctx, "k", Entry{}, time.Hour)
	if _, ok, _ := nilMem.Get(ctx, "k"); ok {
		t.Fatal("New(nil, nil) stored an entry")
	}
}

func BenchmarkCacheGetHit(b *testing.B) {
	d, err := NewDir(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	c := New(NewMemory(256*mb), d)
	defer c.Close()
	ctx := context.Background()
	key := "2025@main/Australian Grand Prix/Qualifying/TSU/6_tel.json"
	if err := c.Set(ctx, key, Entry{Status: 200, Body: realBody(b, telPath), Expires: time.Now().Add(time.Hour)}, time.Hour); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, ok, _ := c.Get(ctx, key); !ok {
			b.Fatal("miss")
		}
	}
}

// A byte flipped in a record on disk (or in any tier) reads as a miss: the
// caller fetches the document again instead of serving damaged bytes.
func TestCacheRecordFailingItsChecksumIsAMiss(t *testing.T) {
	d, _ := newDir(t)
	ctx := context.Background()
	body := realBody(t, telPath)
	e := Entry{Status: 200, Body: body, Expires: time.Now().Add(time.Hour), Stored: time.Now()}
	if err := New(NewMemory(mb), d).Set(ctx, "k", e, time.Hour); err != nil {
		t.Fatal(err)
	}
	if got, ok, _ := New(NewMemory(mb), d).Get(ctx, "k"); !ok || !bytes.Equal(got.Body, body) {
		t.Fatal("the intact record is not a hit with its body")
	}
	raw, err := os.ReadFile(d.file("k"))
	if err != nil {
		t.Fatal(err)
	}
	raw[len(raw)-len(body)/2] ^= 0x20 // inside the body, still valid UTF-8 and the same length
	if err := os.WriteFile(d.file("k"), raw, 0o644); err != nil {
		t.Fatal(err)
	}
	if got, ok, _ := New(NewMemory(mb), d).Get(ctx, "k"); ok {
		t.Fatalf("a record with a flipped byte was served (%d body bytes), want a miss", len(got.Body))
	}
	// The retention deadline is covered too.
	rec, err := encodeRecord(e, time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	rec[3] ^= 0x01
	if _, _, err := decodeRecord(rec); err == nil {
		t.Fatal("a record whose deadline was changed decoded")
	}
}

// A retention that is not positive is refused: memory would drop the key
// while the tier kept the older record, which Get would then serve.
func TestCacheSetRefusesNoRetention(t *testing.T) {
	d, err := NewDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	c := New(NewMemory(1<<20), d)
	defer c.Close()
	ctx := context.Background()
	now := time.Now()
	if err := c.Set(ctx, "k", Entry{Status: 200, Body: []byte(`"old"`), Expires: now.Add(time.Hour), Stored: now}, time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := c.Set(ctx, "k", Entry{Status: 404, Expires: now, Stored: now}, 0); err == nil || !strings.Contains(err.Error(), "retention") {
		t.Fatalf("Set with retention 0: %v, want it refused", err)
	}
	if e, ok, _ := c.Get(ctx, "k"); !ok || string(e.Body) != `"old"` {
		t.Fatalf("the refused Set changed the entry: %+v %v", e, ok)
	}
}

// Refresh (a 304) writes memory only when memory holds the key: a document
// revalidated on its first read from the tier waits for its second read.
func TestCacheRefreshKeepsAdmission(t *testing.T) {
	d, err := NewDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	now := time.Now()
	e := Entry{Status: 200, Body: []byte(`{"a": 1}`), ETag: `"v1"`, Expires: now.Add(-time.Second), Stored: now.Add(-time.Hour)}
	writer := New(NewMemory(1<<20), d)
	if err := writer.Set(ctx, "k", e, time.Hour); err != nil {
		t.Fatal(err)
	}
	writer.Close()
	mem := NewMemory(1 << 20)
	c := New(mem, d) // a new process over the same directory
	defer c.Close()
	if _, ok, _ := c.Get(ctx, "k"); !ok {
		t.Fatal("tier entry not found")
	}
	if err := c.Refresh(ctx, "k", e, time.Hour); err != nil {
		t.Fatal(err)
	}
	if mem.Len() != 0 {
		t.Fatalf("refreshed on its first tier read, the entry entered memory (%d entries)", mem.Len())
	}
	if _, ok, _ := c.Get(ctx, "k"); !ok || mem.Len() != 1 {
		t.Fatalf("second read: in memory %d entries, want 1", mem.Len())
	}
	if err := c.Refresh(ctx, "k", e, time.Hour); err != nil || mem.Len() != 1 {
		t.Fatalf("refresh of an entry in memory: %v, %d entries", err, mem.Len())
	}
}

// A tier that fails a read is a miss whose error is returned (for the
// caller to report); a tier's plain miss is no error.
func TestCacheGetReturnsTheTierFailure(t *testing.T) {
	d, path := newDir(t)
	c := New(NewMemory(mb), d)
	defer c.Close()
	ctx := context.Background()
	if _, ok, err := c.Get(ctx, "k"); ok || err != nil {
		t.Fatalf("a missing key: ok %v, err %v; want a plain miss", ok, err)
	}
	if err := os.RemoveAll(path); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, nil, 0o644); err != nil { // reads now fail: not a directory
		t.Fatal(err)
	}
	_, ok, err := c.Get(ctx, "k")
	if ok || err == nil || !strings.Contains(err.Error(), `read key "k"`) || !strings.Contains(err.Error(), path) {
		t.Fatalf("a failing tier: ok %v, err %v; want a miss with the tier's error", ok, err)
	}
	if n := strings.Count(err.Error(), `"k"`); n != 1 {
		t.Errorf("the error names the key %d times, want once: %v", n, err)
	}
}
