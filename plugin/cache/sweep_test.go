package cache

import (
	"context"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// record is a Dir file's bytes: version, expiry (Unix ns, 0 = never), value.
func record(exp int64, value string) []byte {
	b := make([]byte, dirHeader, dirHeader+len(value))
	b[0] = dirVersion
	binary.BigEndian.PutUint64(b[1:], uint64(exp))
	return append(b, value...)
}

func writeFile(t *testing.T, name string, b []byte, mtime time.Time) {
	t.Helper()
	if err := os.WriteFile(name, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(name, mtime, mtime); err != nil {
		t.Fatal(err)
	}
}

func TestDirSweep(t *testing.T) {
	d, path := newDir(t)
	now := time.Now()
	key := func(k string) string { return filepath.Base(d.file(k)) }
	upperHex := strings.ToUpper(key("upper"))
	type file struct {
		b    []byte
		age  time.Duration // modification time, before now
		kept bool
	}
	files := map[string]file{
		key("expired"):         {b: record(now.Add(-time.Second).UnixNano(), "v")},
		key("expires now"):     {b: record(now.UnixNano(), "v")},
		key("live"):            {b: record(now.Add(time.Hour).UnixNano(), "v"), kept: true},
		key("never expires"):   {b: record(0, "v"), age: 1000 * time.Hour, kept: true},
		key("empty"):           {b: nil},
		key("short header"):    {b: record(0, "")[:dirHeader-1]},
		key("unknown version"): {b: append([]byte{dirVersion + 1}, record(0, "v")[1:]...)},
		"notes.txt":            {b: []byte("a user's file"), age: 1000 * time.Hour, kept: true},
		upperHex:               {b: nil, age: 1000 * time.Hour, kept: true},
		key("x") + ".bak":      {b: nil, kept: true},
		key("x") + "0":         {b: nil, kept: true}, // 65 hex digits
		"deadbeef":             {b: nil, kept: true},
		".tmp-fresh":           {b: []byte("being written"), age: tmpGrace - time.Minute, kept: true},
		".tmp-old":             {b: []byte("crashed"), age: 2 * time.Hour},
		".tmpfile":             {b: []byte("a user's file"), age: 1000 * time.Hour, kept: true},
		sweptStamp:             {b: nil, age: 1000 * time.Hour, kept: true},
		"report.tmp-1":         {b: []byte("a user's file"), age: 1000 * time.Hour, kept: true},
	}
	for name, f := range files {
		writeFile(t, filepath.Join(path, name), f.b, now.Add(-f.age))
	}
	// A subdirectory, even one named like a key or a temporary file, is left alone.
	for _, sub := range []string{"sub", key("subdir"), ".tmp-subdir"} {
		if err := os.Mkdir(filepath.Join(path, sub), 0o755); err != nil {
			t.Fatal(err)
		}
		old := now.Add(-2 * time.Hour)
		if err := os.Chtimes(filepath.Join(path, sub), old, old); err != nil {
			t.Fatal(err)
		}
		files[sub] = file{kept: true}
	}

	removed, err := d.Sweep(context.Background(), now)
	if err != nil {
		t.Fatal(err)
	}
	want := 0
	for name, f := range files {
		_, err := os.Lstat(filepath.Join(path, name))
		switch {
		case !f.kept:
			want++
			if !errors.Is(err, os.ErrNotExist) {
				t.Errorf("%s: not removed (%v)", name, err)
			}
		case err != nil:
			t.Errorf("%s: removed, want kept (%v)", name, err)
		}
	}
	if removed != want {
		t.Errorf("Sweep removed = %d, want %d", removed, want)
	}
	if got, err := d.Get(context.Background(), "live"); err != nil || string(got) != "v" {
		t.Errorf("live record after the sweep: %q, %v", got, err)
	}
}

// Sweep goes on past the first batch of names it lists.
func TestDirSweepManyFiles(t *testing.T) {
	d, _ := newDir(t)
	now := time.Now()
	const n = 700 // several batches of f.ReadDir
	for i := range n {
		exp := now.Add(time.Hour).UnixNano()
		if i%2 == 0 {
			exp = now.Add(-time.Hour).UnixNano()
		}
		writeFile(t, d.file(strconv.Itoa(i)), record(exp, "v"), now)
	}
	if removed, err := d.Sweep(context.Background(), now); err != nil || removed != n/2 {
		t.Fatalf("Sweep = %d, %v; want %d, nil", removed, err, n/2)
	}
	if left, _ := os.ReadDir(d.path); len(left) != n/2 {
		t.Fatalf("%d files left, want %d", len(left), n/2)
	}
}

func TestDirSweepGone(t *testing.T) {
	d, path := newDir(t)
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Sweep(context.Background(), time.Now()); !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), path) {
		t.Errorf("Sweep of a removed directory: err = %v, want one naming it and wrapping ErrNotExist", err)
	}
}

// A directory that cannot be listed fails the sweep, not the opening. Root
// lists any directory: as root, the test runs on a thread without the
// capabilities that let it (CI runs as root).
func TestDirSweepUnlistable(t *testing.T) {
	if os.Geteuid() == 0 {
		restore, ok := withoutDAC(t)
		if !ok {
			t.Skip("root lists any directory, and this thread's capabilities cannot be dropped")
		}
		defer restore()
	}
	path := filepath.Join(t.TempDir(), "cache")
	if err := os.Mkdir(path, 0o300); err != nil { // write and search, no read
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(path, 0o755) })
	d, err := NewDir(path)
	if err != nil {
		t.Fatalf("NewDir over an unlistable directory: %v", err)
	}
	if _, err := d.Sweep(context.Background(), time.Now()); err == nil || !strings.Contains(err.Error(), "sweep") {
		t.Errorf("Sweep of an unlistable directory: err = %v, want a sweep error", err)
	}
	ctx := context.Background()
	if err := d.Set(ctx, "k", []byte("v"), 0); err != nil {
		t.Fatal(err)
	}
	if got, err := d.Get(ctx, "k"); err != nil || string(got) != "v" {
		t.Errorf("Get from an unlistable directory: %q, %v", got, err)
	}
}

// A path that opens but cannot be listed (a file has taken the directory's
// place) fails the sweep when it reads the names, as root too.
func TestDirSweepOfAFile(t *testing.T) {
	d, path := newDir(t)
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	writeFile(t, path, record(0, "v"), time.Now())
	if _, err := d.Sweep(context.Background(), time.Now()); err == nil || !strings.Contains(err.Error(), "sweep") || !strings.Contains(err.Error(), path) {
		t.Errorf("Sweep of a file: err = %v, want a sweep error naming it", err)
	}
}

// A cancelled sweep stops before its next batch of names and says why.
func TestDirSweepStopsWhenCancelled(t *testing.T) {
	d, _ := newDir(t)
	if err := d.Set(context.Background(), "expired", []byte("v"), time.Nanosecond); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if removed, err := d.Sweep(ctx, time.Now().Add(time.Hour)); removed != 0 || !errors.Is(err, context.Canceled) {
		t.Fatalf("Sweep after cancel = %d, %v; want 0 and the cancellation", removed, err)
	}
}

// SweepIfDue sweeps a directory no sweep ran to its end in within the last
// dirSweepEvery; a stamp from the future does not count, and a pass that
// failed or was stopped stamps nothing.
func TestDirSweepIfDue(t *testing.T) {
	d, path := newDir(t)
	now := time.Now()
	expired := func(k string) {
		t.Helper()
		writeFile(t, d.file(k), record(now.Add(-time.Second).UnixNano(), "v"), now)
	}
	gone := func(k string) bool {
		_, err := os.Stat(d.file(k))
		return errors.Is(err, os.ErrNotExist)
	}
	sweep := func(at time.Time) (int, bool) {
		t.Helper()
		removed, swept, err := d.SweepIfDue(context.Background(), at)
		if err != nil {
			t.Fatalf("SweepIfDue at %v: %v", at.Sub(now), err)
		}
		return removed, swept
	}

	expired("a")
	if removed, swept := sweep(now); !swept || removed != 1 || !gone("a") {
		t.Fatalf("first SweepIfDue: removed %d, swept %v, a gone %v; want 1, true, true", removed, swept, gone("a"))
	}
	expired("b")
	if _, swept := sweep(now.Add(dirSweepEvery - time.Minute)); swept || gone("b") {
		t.Fatalf("SweepIfDue within dirSweepEvery of the last: swept %v, b gone %v; want neither", swept, gone("b"))
	}
	if removed, swept := sweep(now.Add(dirSweepEvery)); !swept || removed != 1 || !gone("b") {
		t.Fatalf("SweepIfDue dirSweepEvery after the last: removed %d, swept %v; want 1, true", removed, swept)
	}
	// A stamp from the future (a clock set back) does not hold sweeps off.
	future := now.Add(10 * dirSweepEvery)
	if err := os.Chtimes(filepath.Join(path, sweptStamp), future, future); err != nil {
		t.Fatal(err)
	}
	expired("c")
	if _, swept := sweep(now.Add(2 * dirSweepEvery)); !swept || !gone("c") {
		t.Fatalf("SweepIfDue under a stamp from the future: swept %v, c gone %v; want both", swept, gone("c"))
	}

	// A stopped pass stamps nothing: the next opening sweeps.
	if err := os.Remove(filepath.Join(path, sweptStamp)); err != nil {
		t.Fatal(err)
	}
	expired("d")
	stopped, cancel := context.WithCancel(context.Background())
	cancel()
	if _, swept, err := d.SweepIfDue(stopped, now); !swept || !errors.Is(err, context.Canceled) {
		t.Fatalf("stopped SweepIfDue: swept %v, err %v; want true and the cancellation", swept, err)
	}
	if removed, swept := sweep(now.Add(time.Minute)); !swept || removed != 1 || !gone("d") {
		t.Fatalf("SweepIfDue after a stopped one: removed %d, swept %v; want 1, true", removed, swept)
	}
}

// A link named .swept (planted by another user of a shared directory, or
// left by anyone) is no stamp: a sweep replaces it with a stamp of its own
// rather than writing through it, which truncated the file it points to,
// and a link to a file changed within the hour does not hold sweeps off.
func TestDirSweepIfDueReplacesALinkedStamp(t *testing.T) {
	now := time.Now()
	for _, c := range []struct {
		name   string
		target time.Time // the linked file's modification time
	}{
		{"a link to an old file", now.Add(-2 * dirSweepEvery)},
		{"a link to a fresh file", now.Add(-time.Minute)},
	} {
		t.Run(c.name, func(t *testing.T) {
			d, path := newDir(t)
			victim := filepath.Join(t.TempDir(), "notes.txt")
			writeFile(t, victim, []byte("a user's file"), c.target)
			stamp := filepath.Join(path, sweptStamp)
			if err := os.Symlink(victim, stamp); err != nil {
				t.Skipf("no symlinks here: %v", err)
			}
			writeFile(t, d.file("a"), record(now.Add(-time.Second).UnixNano(), "v"), now)

			removed, swept, err := d.SweepIfDue(context.Background(), now)
			if err != nil || !swept || removed != 1 {
				t.Fatalf("SweepIfDue under a linked stamp: removed %d, swept %v, err %v; want 1, true, nil", removed, swept, err)
			}
			if b, err := os.ReadFile(victim); err != nil || string(b) != "a user's file" {
				t.Errorf("the linked file after the sweep: %q, %v; want it untouched", b, err)
			}
			info, err := os.Lstat(stamp)
			if err != nil || !info.Mode().IsRegular() || info.ModTime().Sub(now).Abs() > time.Second {
				t.Errorf("the stamp after the sweep: %v, %v; want a regular file of modification time %v", info, err, now)
			}
		})
	}
}
