package cache

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
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

// tmpGrace is how old a ".tmp-*" file must be before a sweep removes it: a
// younger one may be a Set of this or another process writing right now, and
// a write takes far less than this; an older one is left by a crash between
// CreateTemp and Rename.
const tmpGrace = time.Hour

// NewDir opens (creating when needed) the directory at path. Its owner
// sweeps it (see Sweep) once it uses it.
func NewDir(path string) (*Dir, error) {
	if path == "" {
		return nil, errors.New("cache dir: empty path")
	}
	if err := os.MkdirAll(path, 0o755); err != nil {
		return nil, fmt.Errorf("cache dir %q: %w", path, err)
	}
	return &Dir{path: path}, nil
}

// Sweep removes, in one pass over the directory, the records that expired
// at now or are not valid records (shorter than the header or of another
// version), reading only each file's header, and the ".tmp-*" files older
// than tmpGrace by their modification time. Only regular files named like a
// key (64 lowercase hex digits) count as records: anything else a user keeps
// in the directory, subdirectories included, is left alone. It returns how
// many files it removed; err reports a failure to list the directory, while
// a failure on a single file (often another process removing it first) is
// skipped. As in Get, a Set renaming a fresh record into place between the
// header read and the removal loses its write; the next fetch writes it again.
//
// Without it the files of keys never asked again and the temporary files of
// crashed writes stay for ever, and a long-running user's disk fills. It is
// meant to run when the directory is put to use (fetch.New starts it, through
// SweepIfDue, on a goroutine its Close stops through ctx, checked between
// batches of names).
// A pass over 20,000 small files took 0.25-0.45 s when all were kept,
// 0.7-1.1 s when all were removed.
func (d *Dir) Sweep(ctx context.Context, now time.Time) (removed int, err error) {
	f, err := os.Open(d.path)
	if err != nil {
		return 0, fmt.Errorf("cache dir %q: sweep: %w", d.path, err)
	}
	defer f.Close()
	for ctx.Err() == nil {
		// Batches rather than os.ReadDir: no list of every name, sorted, in memory.
		entries, err := f.ReadDir(256)
		for _, e := range entries {
			if !e.Type().IsRegular() {
				continue
			}
			name := filepath.Join(d.path, e.Name())
			if sweepable(name, e, now) && os.Remove(name) == nil {
				removed++
			}
		}
		if errors.Is(err, io.EOF) {
			return removed, nil
		}
		if err != nil {
			return removed, fmt.Errorf("cache dir %q: sweep: %w", d.path, err)
		}
	}
	return removed, ctx.Err()
}

// dirSweepEvery is how long after a sweep of a directory, by any process, the
// next is skipped: a job started again and again (a cron job, a warm rerun)
// would otherwise read every record's header on each start, where an
// expired record is a miss to Get anyway and only its disk space waits.
const dirSweepEvery = time.Hour

// sweptStamp is the file whose modification time is when the last sweep of
// the directory that ran to its end began. The dot keeps it apart from key
// names, and a sweep leaves it alone.
const sweptStamp = ".swept"

// SweepIfDue runs Sweep unless one of this directory that began less than
// dirSweepEvery before now ran to its end (a stamp from the future, a clock set
// back, does not count); swept says whether it ran. Only a pass that ended
// stamps the directory: one stopped by a job that ended first, or failed,
// is run again by the next opening.
func (d *Dir) SweepIfDue(ctx context.Context, now time.Time) (removed int, swept bool, err error) {
	// Lstat: only a regular file is a stamp. A link there (in a shared
	// directory, anyone's) would otherwise hold sweeps off as long as what
	// it points to changes.
	if info, err := os.Lstat(filepath.Join(d.path, sweptStamp)); err == nil && info.Mode().IsRegular() {
		if age := now.Sub(info.ModTime()); age >= 0 && age < dirSweepEvery {
			return 0, false, nil
		}
	}
	if removed, err = d.Sweep(ctx, now); err != nil {
		return removed, true, err
	}
	d.stamp(now)
	return removed, true, nil
}

// stamp marks the directory swept at began, replacing whatever is named
// .swept (opening the name to write truncated the file a link there points
// to). A stamp that cannot be written only means the next opening sweeps.
func (d *Dir) stamp(began time.Time) {
	d.replace(filepath.Join(d.path, sweptStamp), nil, began)
}

// sweepable reports whether Sweep removes the regular file e, at path name:
// a key's record that is not live at now, or a temporary file older than
// tmpGrace. Any error on the file keeps it.
func sweepable(name string, e fs.DirEntry, now time.Time) bool {
	switch {
	case isKeyName(e.Name()):
		f, err := os.Open(name)
		if err != nil {
			return false
		}
		defer f.Close()
		var h [dirHeader]byte
		n, err := io.ReadFull(f, h[:])
		if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
			return false
		}
		return !live(h[:n], now)
	case strings.HasPrefix(e.Name(), ".tmp-"):
		info, err := e.Info()
		return err == nil && now.Sub(info.ModTime()) >= tmpGrace
	}
	return false
}

// isKeyName reports whether name is one Dir.file gives: 64 lowercase hex digits.
func isKeyName(name string) bool {
	if len(name) != 2*sha256.Size {
		return false
	}
	for _, c := range []byte(name) {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// live reports whether a record whose file starts with b (the whole file, or
// at least its header) is valid, of this version, and unexpired at now.
func live(b []byte, now time.Time) bool {
	if len(b) < dirHeader || b[0] != dirVersion {
		return false
	}
	exp := int64(binary.BigEndian.Uint64(b[1:dirHeader]))
	return exp == 0 || now.UnixNano() < exp
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
		return nil, fmt.Errorf("cache dir: read: %w", err) // names the file
	}
	if !live(b, time.Now()) {
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

	if err := d.replace(d.file(key), b, time.Time{}); err != nil {
		return fmt.Errorf("cache dir: write: %w", err) // names the file
	}
	return nil
}

// replace puts a file holding b under name, modified at mtime unless it is
// zero: written to a temporary file renamed over name, so that a reader,
// another process or a crash never sees half of it, and a link named name
// is replaced, never written through.
func (d *Dir) replace(name string, b []byte, mtime time.Time) error {
	tmp, err := os.CreateTemp(d.path, ".tmp-*") // the dot keeps it apart from hex key names
	if err != nil {
		return err
	}
	_, err = tmp.Write(b)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil && !mtime.IsZero() {
		err = os.Chtimes(tmp.Name(), mtime, mtime)
	}
	if err == nil {
		err = os.Rename(tmp.Name(), name)
	}
	if err != nil {
		os.Remove(tmp.Name())
	}
	return err
}
