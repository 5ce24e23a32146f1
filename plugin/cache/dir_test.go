package cache

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func newDir(t *testing.T) (*Dir, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "cache")
	d, err := NewDir(path)
	if err != nil {
		t.Fatal(err)
	}
	return d, path
}

func TestDirRoundTrip(t *testing.T) {
	d, path := newDir(t)
	ctx := context.Background()
	body := realBody(t, telPath)
	key := "2025@main/../Australian Grand Prix/Qualifying/TSU/6_tel.json" // any key is a safe file name
	if err := d.Set(ctx, key, body, time.Hour); err != nil {
		t.Fatal(err)
	}
	got, err := d.Get(ctx, key)
	if err != nil || !bytes.Equal(got, body) {
		t.Fatalf("Get = %d bytes, %v; want the %d bytes set", len(got), err, len(body))
	}
	sum := sha256.Sum256([]byte(key))
	files, _ := os.ReadDir(path)
	if len(files) != 1 || files[0].Name() != hex.EncodeToString(sum[:]) {
		t.Fatalf("directory holds %v, want one file named by the key's sha256 (no temp files left)", files)
	}
	if err := d.Set(ctx, key, []byte("{}"), 0); err != nil { // overwrite, no expiry
		t.Fatal(err)
	}
	if got, err := d.Get(ctx, key); err != nil || string(got) != "{}" {
		t.Fatalf("after overwrite Get = %q, %v", got, err)
	}
	if _, err := d.Get(ctx, "absent"); !errors.Is(err, ErrMiss) {
		t.Fatalf("absent key: err = %v, want ErrMiss", err)
	}
}

func TestDirExpiry(t *testing.T) {
	d, path := newDir(t)
	ctx := context.Background()
	if err := d.Set(ctx, "k", []byte("v"), 20*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Get(ctx, "k"); err != nil {
		t.Fatalf("fresh key: %v", err)
	}
	time.Sleep(40 * time.Millisecond)
	if _, err := d.Get(ctx, "k"); !errors.Is(err, ErrMiss) {
		t.Fatalf("expired key: err = %v, want ErrMiss", err)
	}
	if files, _ := os.ReadDir(path); len(files) != 0 {
		t.Fatalf("expired file not removed: %v", files)
	}
}

func TestDirCorruptFile(t *testing.T) {
	for name, content := range map[string][]byte{
		"garbage":         []byte("not a cache file at all"),
		"short header":    {dirVersion, 0, 0},
		"empty":           {},
		"unknown version": append([]byte{7, 0, 0, 0, 0, 0, 0, 0, 0}, "v"...),
	} {
		t.Run(name, func(t *testing.T) {
			d, _ := newDir(t)
			file := d.file("k")
			if err := os.WriteFile(file, content, 0o644); err != nil {
				t.Fatal(err)
			}
			if _, err := d.Get(context.Background(), "k"); !errors.Is(err, ErrMiss) {
				t.Fatalf("corrupt file: err = %v, want ErrMiss", err)
			}
			if _, err := os.Stat(file); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("corrupt file not removed: %v", err)
			}
		})
	}
}

func TestDirErrors(t *testing.T) {
	if _, err := NewDir(""); err == nil {
		t.Error("NewDir(\"\") succeeded")
	}
	file := filepath.Join(t.TempDir(), "file")
	os.WriteFile(file, nil, 0o644)
	if _, err := NewDir(file); err == nil {
		t.Error("NewDir over a regular file succeeded")
	}
	d, _ := newDir(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := d.Set(ctx, "k", nil, 0); !errors.Is(err, context.Canceled) {
		t.Errorf("Set with a canceled context: %v", err)
	}
	if _, err := d.Get(ctx, "k"); !errors.Is(err, context.Canceled) {
		t.Errorf("Get with a canceled context: %v", err)
	}
}

// The largest TTL keeps the file (its deadline once wrapped past 2262 to a
// time in the past, and the file was removed as expired on its first Get).
func TestDirLargestTTL(t *testing.T) {
	d, err := NewDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Set(context.Background(), "k", []byte("v"), time.Duration(math.MaxInt64)); err != nil {
		t.Fatal(err)
	}
	if v, err := d.Get(context.Background(), "k"); err != nil || string(v) != "v" {
		t.Fatalf("Set with the largest TTL, Get: %q %v", v, err)
	}
}
