package cache

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// realBody returns a real TracingInsights file from ../shared/testdata.
func realBody(t testing.TB, rel string) []byte {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the test directory")
		}
		dir = parent
	}
	b, err := os.ReadFile(filepath.Join(dir, "..", "shared", "testdata", rel))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

const telPath = "test/Australian Grand Prix/Qualifying/TSU/6_tel.json"

func sameEntry(t *testing.T, got, want Entry) {
	t.Helper()
	if got.Status != want.Status || !bytes.Equal(got.Body, want.Body) || got.ETag != want.ETag ||
		got.LastModified != want.LastModified || got.Source != want.Source || !got.Expires.Equal(want.Expires) || !got.Stored.Equal(want.Stored) {
		t.Fatalf("entry = {%d, %d body bytes, %q, %q, %q, %s, %s}, want {%d, %d body bytes, %q, %q, %q, %s, %s}",
			got.Status, len(got.Body), got.ETag, got.LastModified, got.Source, got.Expires, got.Stored,
			want.Status, len(want.Body), want.ETag, want.LastModified, want.Source, want.Expires, want.Stored)
	}
}

func TestEntryRoundTrip(t *testing.T) {
	for _, want := range []Entry{
		{Status: 200, Body: realBody(t, telPath), ETag: `W/"5a1-abc"`, LastModified: "Sun, 16 Mar 2025 05:00:00 GMT",
			Source: "https://cdn.jsdelivr.net/gh/TracingInsights", Expires: time.Now().Add(time.Hour), Stored: time.Now(), Size: 152318},
		{Status: 404, Source: "https://raw.githubusercontent.com", Expires: time.Now().Add(time.Minute), Stored: time.Now()},
		{Status: 200, Body: []byte("{}")}, // no validators, no expiry
	} {
		b, err := want.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		var got Entry
		if err := got.UnmarshalBinary(b); err != nil {
			t.Fatal(err)
		}
		sameEntry(t, got, want)
		if len(want.Body) > 0 {
			b[len(b)-1] ^= 0xff
			if got.Body[len(got.Body)-1] != want.Body[len(want.Body)-1] {
				t.Fatal("UnmarshalBinary kept a reference into its input")
			}
		}
	}
}

func TestEntryMarshalRefusesBadStatus(t *testing.T) {
	if _, err := (Entry{Status: 1000}).MarshalBinary(); err == nil {
		t.Fatal("status 1000 marshalled")
	}
}

func TestEntryUnmarshalGarbage(t *testing.T) {
	valid, err := Entry{Status: 200, Body: []byte(`{"tel":{}}`), ETag: `"x"`, Source: "s", Expires: time.Now()}.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string][]byte{
		"empty":          nil,
		"wrong version":  append([]byte{9}, valid[1:]...),
		"trailing byte":  append(append([]byte(nil), valid...), 0),
		"huge length":    {entryVersion, 200, 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01},
		"overlong int":   {entryVersion, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
		"status too big": {entryVersion, 0xe8, 0x07, 0, 0, 0, 0, 0},
		"json":           []byte(`{"status":200}`),
	}
	for n := range len(valid) {
		cases[fmt.Sprintf("truncated to %d bytes", n)] = valid[:n]
	}
	for name, b := range cases {
		var e Entry
		if err := e.UnmarshalBinary(b); err == nil {
			t.Errorf("%s: no error for % x", name, b)
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		b := make([]byte, rng.IntN(40))
		for i := range b {
			b[i] = byte(rng.UintN(256))
		}
		if rng.IntN(2) == 0 && len(b) > 0 {
			b[0] = entryVersion
		}
		var e Entry
		_ = e.UnmarshalBinary(b) // must not panic
	}
}

func FuzzEntryUnmarshal(f *testing.F) {
	valid, _ := Entry{Status: 404, ETag: "e", Expires: time.Unix(1, 0)}.MarshalBinary()
	f.Add(valid)
	f.Add([]byte{entryVersion})
	f.Fuzz(func(t *testing.T, b []byte) {
		var e Entry
		if e.UnmarshalBinary(b) != nil {
			return
		}
		again, err := e.MarshalBinary()
		if err != nil {
			t.Fatalf("decoded entry does not marshal: %v", err)
		}
		var e2 Entry
		if err := e2.UnmarshalBinary(again); err != nil {
			t.Fatalf("re-encoded entry does not decode: %v", err)
		}
	})
}

func TestFresh(t *testing.T) {
	now := time.Now()
	stored := now.Add(-time.Minute)
	for _, c := range []struct {
		what  string
		e     Entry
		ttl   time.Duration
		fresh bool
	}{
		{"within its expiry and the reader's TTL", Entry{Expires: now.Add(time.Hour), Stored: stored}, time.Hour, true},
		{"expiring now", Entry{Expires: now, Stored: stored}, time.Hour, false},
		{"no expiry", Entry{Stored: stored}, time.Hour, false},
		// A run with cache_ttl 30s reads an entry a run with 1h wrote a minute ago.
		{"older than the reader's shorter TTL", Entry{Expires: now.Add(time.Hour), Stored: stored}, 30 * time.Second, false},
		{"a reader's TTL of 0 (not_found_ttl: 0)", Entry{Status: 404, Expires: now.Add(time.Hour), Stored: stored}, 0, false},
		{"no stored time", Entry{Expires: now.Add(time.Hour)}, time.Hour, false},
	} {
		if got := c.e.Fresh(now, c.ttl); got != c.fresh {
			t.Errorf("%s: fresh %v, want %v", c.what, got, c.fresh)
		}
	}
}
