package cache

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"
)

const mb = 1 << 20

// consistent checks the byte count against what is really held.
func consistent(t *testing.T, m *Memory) {
	t.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	var sum int64
	for k, it := range m.live {
		sum += size(k, it.entry)
	}
	if sum != m.bytes || m.order.Len() != len(m.live) || m.items.ItemCount() != len(m.live) {
		t.Fatalf("bytes %d vs %d held; order %d, live %d, go-cache %d", m.bytes, sum, m.order.Len(), len(m.live), m.items.ItemCount())
	}
	if m.bytes > m.max {
		t.Fatalf("bytes %d over the bound %d", m.bytes, m.max)
	}
}

func TestMemoryHitMissExpiry(t *testing.T) {
	m := NewMemory(mb)
	defer m.Close()
	body := realBody(t, telPath)
	e := Entry{Status: 200, Body: body, ETag: `"1"`, Expires: time.Now().Add(30 * time.Millisecond)}
	m.Set("k", e, 30*time.Millisecond)
	got, ok := m.Get("k")
	if !ok {
		t.Fatal("miss right after Set")
	}
	sameEntry(t, got, e)
	if _, ok := m.Get("other"); ok {
		t.Fatal("hit for a key never set")
	}
	time.Sleep(50 * time.Millisecond)
	if _, ok := m.Get("k"); ok {
		t.Fatal("hit after the retention ended")
	}
}

func TestMemoryKeepsStaleEntryForRevalidation(t *testing.T) {
	m := NewMemory(mb)
	defer m.Close()
	m.Set("k", Entry{Status: 200, Body: []byte("{}"), ETag: `"v1"`, Expires: time.Now().Add(10 * time.Millisecond)}, time.Second)
	time.Sleep(30 * time.Millisecond)
	got, ok := m.Get("k")
	if !ok {
		t.Fatal("stale entry dropped before its retention ended")
	}
	if got.Fresh(time.Now(), time.Hour) || got.ETag != `"v1"` {
		t.Fatalf("got fresh=%v etag=%q, want stale with its ETag", got.Fresh(time.Now(), time.Hour), got.ETag)
	}
}

func TestMemoryByteBoundEvictsOldestFirst(t *testing.T) {
	m := NewMemory(4 * mb)
	defer m.Close()
	for i := range 10 {
		m.Set("k"+strconv.Itoa(i), Entry{Status: 200, Body: make([]byte, mb)}, time.Hour)
		consistent(t, m)
	}
	if m.Bytes() > 4*mb {
		t.Fatalf("Bytes() = %d, over 4 MiB", m.Bytes())
	}
	// overhead + key + 1 MiB each: three fit under 4 MiB, the newest three.
	for i := range 10 {
		_, ok := m.Get("k" + strconv.Itoa(i))
		if want := i >= 7; ok != want {
			t.Errorf("k%d present = %v, want %v", i, ok, want)
		}
	}
	if m.Len() != 3 || m.Bytes() != 3*(entryOverhead+mb+2) {
		t.Errorf("Len %d, Bytes %d; want 3, %d", m.Len(), m.Bytes(), 3*(entryOverhead+mb+2))
	}
}

func TestMemoryCountsValidatorsAndReplacement(t *testing.T) {
	m := NewMemory(mb)
	defer m.Close()
	m.Set("key", Entry{Body: make([]byte, 100), ETag: "etag", LastModified: "lm", Source: "src"}, time.Hour)
	if want := int64(entryOverhead + 3 + 100 + 4 + 2 + 3); m.Bytes() != want {
		t.Fatalf("Bytes %d, want %d", m.Bytes(), want)
	}
	m.Set("key", Entry{Body: make([]byte, 10)}, time.Hour)
	if want := int64(entryOverhead + 3 + 10); m.Bytes() != want || m.Len() != 1 {
		t.Fatalf("after replacement Bytes %d Len %d, want %d and 1", m.Bytes(), m.Len(), want)
	}
	consistent(t, m)
}

func TestMemoryRefusesOversizeEntry(t *testing.T) {
	m := NewMemory(4 * mb)
	defer m.Close()
	m.Set("big", Entry{Body: make([]byte, 10)}, time.Hour)
	m.Set("small", Entry{Body: make([]byte, 10)}, time.Hour)
	m.Set("big", Entry{Body: make([]byte, 4*mb)}, time.Hour) // 4 MiB + key > bound
	if _, ok := m.Get("big"); ok {
		t.Fatal("entry larger than the bound stored (or the old one kept under its key)")
	}
	if _, ok := m.Get("small"); !ok {
		t.Fatal("an oversize Set evicted other entries")
	}
	consistent(t, m)

	zero := NewMemory(0)
	defer zero.Close()
	zero.Set("k", Entry{}, time.Hour)
	if zero.Len() != 0 {
		t.Fatal("NewMemory(0) stored an entry")
	}
}

func TestMemoryNoRetentionNotStored(t *testing.T) {
	m := NewMemory(mb)
	defer m.Close()
	m.Set("k", Entry{Body: []byte("x")}, 0)
	if _, ok := m.Get("k"); ok || m.Bytes() != 0 {
		t.Fatal("entry with retain 0 stored")
	}
}

// TestMemorySweepReleasesBytes lets the sweeper expire entries through go-cache's OnEvicted.
func TestMemorySweepReleasesBytes(t *testing.T) {
	m := newMemory(mb, 5*time.Millisecond)
	defer m.Close()
	for i := range 5 {
		m.Set(fmt.Sprint("short", i), Entry{Body: make([]byte, 1000)}, 20*time.Millisecond)
	}
	m.Set("long", Entry{Body: make([]byte, 10)}, time.Hour)
	deadline := time.Now().Add(2 * time.Second)
	for m.Len() > 1 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if m.Len() != 1 || m.Bytes() != int64(entryOverhead+len("long")+10) {
		t.Fatalf("after expiry Len %d Bytes %d, want 1 and %d", m.Len(), m.Bytes(), entryOverhead+len("long")+10)
	}
	consistent(t, m)
}

// Many small entries (cached 404s) stay within the bound in the heap too:
// counting only their bytes let 200,000 of them take 3.1 times it.
func TestMemoryBoundHoldsForSmallEntries(t *testing.T) {
	const bound = 4 * mb
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	m := NewMemory(bound)
	defer m.Close()
	for i := range 200_000 {
		key := fmt.Sprintf("2025@main/Australian Grand Prix/Qualifying/X%05d/laptimes.json", i)
		m.Set(key, Entry{Status: 404, Source: "https://cdn.jsdelivr.net/gh/TracingInsights"}, time.Hour)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	grew := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	if m.Bytes() > bound || grew > 2*bound {
		t.Fatalf("%d entries counted as %d bytes grew the heap by %d bytes, want at most twice the %d-byte bound", m.Len(), m.Bytes(), grew, bound)
	}
	t.Logf("%d entries, counted %d bytes, heap grew %d bytes (bound %d)", m.Len(), m.Bytes(), grew, bound)
}

func TestMemoryConcurrentSetGet(t *testing.T) {
	m := newMemory(64<<10, time.Millisecond) // the sweeper runs during the test too
	defer m.Close()
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(g), 7))
			for range 3000 {
				key := "k" + strconv.Itoa(rng.IntN(64))
				if rng.IntN(3) == 0 {
					m.Set(key, Entry{Status: 200, Body: make([]byte, rng.IntN(8<<10))}, time.Duration(1+rng.IntN(20))*time.Millisecond)
				} else if e, ok := m.Get(key); ok && e.Status != 200 {
					t.Errorf("Get(%s) status %d", key, e.Status)
				}
				if m.Bytes() > 64<<10 {
					t.Errorf("Bytes %d over the bound", m.Bytes())
				}
			}
		})
	}
	wg.Wait()
	consistent(t, m)
}

func TestMemoryClose(t *testing.T) {
	m := NewMemory(mb)
	m.Set("k", Entry{Body: []byte("x")}, time.Hour)
	m.Close()
	m.Close() // twice is fine
	if _, ok := m.Get("k"); ok || m.Bytes() != 0 || m.Len() != 0 {
		t.Fatal("entries survive Close")
	}
	m.Set("k", Entry{Body: []byte("x")}, time.Hour)
	if _, ok := m.Get("k"); ok {
		t.Fatal("Set after Close stored an entry")
	}
}

func BenchmarkMemoryGetHit(b *testing.B) {
	m := NewMemory(256 * mb)
	defer m.Close()
	body := realBody(b, telPath)
	for i := range 100 { // about 70 MB of real telemetry bodies
		m.Set("2025@main/Australian Grand Prix/Qualifying/TSU/"+strconv.Itoa(i)+"_tel.json", Entry{Status: 200, Body: body, Expires: time.Now().Add(time.Hour)}, time.Hour)
	}
	key := "2025@main/Australian Grand Prix/Qualifying/TSU/50_tel.json"
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := m.Get(key); !ok {
			b.Fatal("miss")
		}
	}
}
