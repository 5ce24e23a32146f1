package cache

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// Tier is a second, persistent tier (a Benthos cache resource adapter, or
// Dir). Get returns ErrMiss when the key is absent or expired; the value it
// returns belongs to the caller, which keeps parts of it (no copy of a body
// of megabytes on every warm read).
type Tier interface {
	Get(ctx context.Context, key string) ([]byte, error)
	Set(ctx context.Context, key string, value []byte, ttl time.Duration) error
}

// ErrMiss is a Tier's answer for a key it does not hold.
var ErrMiss = errors.New("cache miss")

// Dir is a Tier over a directory (F1FETCH_CACHE_DIR): one file per key, named
// by the hex SHA-256 of the key so any key is a safe file name. Each file is
// a version byte, the expiry (Unix ns, big-endian, 0 = never) and the value.
// Writes go to a temporary file renamed into place, so a reader, another
// process or a crash never leaves half a file under a key's name.
type Dir struct{ path string }

var _ Tier = (*Dir)(nil)

const (
	dirVersion = 1
	dirHeader  = 1 + 8
)

// NewDir opens (creating when needed) the directory at path.
func NewDir(path string) (*Dir, error) {
	if path == "" {
		return nil, errors.New("cache dir: empty path")
	}
	if err := os.MkdirAll(path, 0o755); err != nil {
		return nil, fmt.Errorf("cache dir %q: %w", path, err)
	}
	return &Dir{path: path}, nil
}

func (d *Dir) file(key string) string {
	sum := sha256.Sum256([]byte(key))
	return filepath.Join(d.path, hex.EncodeToString(sum[:]))
}

// Get returns the value under key, or ErrMiss when there is none, it expired
// or its file is corrupt (expired and corrupt files are removed).
func (d *Dir) Get(ctx context.Context, key string) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	name := d.file(key)
	b, err := os.ReadFile(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, ErrMiss
	}
	if err != nil {
		return nil, fmt.Errorf("cache dir: read key %q: %w", key, err)
	}
	if len(b) < dirHeader || b[0] != dirVersion {
		os.Remove(name)
		return nil, ErrMiss
	}
	if exp := int64(binary.BigEndian.Uint64(b[1:dirHeader])); exp != 0 && time.Now().UnixNano() >= exp {
		// A Set racing this removal loses its write; the next fetch writes it again.
		os.Remove(name)
		return nil, ErrMiss
	}
	return b[dirHeader:], nil
}

// Set stores value under key for ttl (ttl <= 0: no expiry).
func (d *Dir) Set(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	var exp int64
	if ttl > 0 {
		exp = time.Now().Add(min(ttl, MaxRetain)).UnixNano()
	}
	b := make([]byte, dirHeader, dirHeader+len(value))
	b[0] = dirVersion
	binary.BigEndian.PutUint64(b[1:dirHeader], uint64(exp))
	b = append(b, value...)

	tmp, err := os.CreateTemp(d.path, ".tmp-*") // the dot keeps it apart from hex key names
	if err != nil {
		return fmt.Errorf("cache dir: write key %q: %w", key, err)
	}
	_, err = tmp.Write(b)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), d.file(key))
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("cache dir: write key %q: %w", key, err)
	}
	return nil
}
