package mirror

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"mime"
	"os"
	"path"
	"strings"
	"sync"
	"time"
)

// file is one served file: its bytes and the validators sent with them.
type file struct {
	body        []byte
	modTime     time.Time
	etag        string // strong, of the identity body
	contentType string

	gzipOnce sync.Once
	gz       []byte
}

// gzipped is the gzip form of the body, built once.
func (f *file) gzipped() []byte {
	f.gzipOnce.Do(func() { f.gz = gzipBytes(f.body) })
	return f.gz
}

// gzipETag is the ETag of the gzip form: another representation, another tag.
func (f *file) gzipETag() string {
	return strings.TrimSuffix(f.etag, `"`) + `-gzip"`
}

func gzipBytes(b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b) // writes to a bytes.Buffer do not fail
	w.Close()
	return buf.Bytes()
}

// store reads files under a root that nothing can escape: os.Root refuses
// ".." and symbolic links that lead outside it.
type store struct {
	root  *os.Root
	cache sync.Map // request key -> *file, filled only when keep is set
	keep  bool
}

func openStore(dir string, cache bool) (*store, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("mirror root %q: %w", dir, err)
	}
	return &store{root: root, keep: cache}, nil
}

func (s *store) close() error { return s.root.Close() }

// errNotFound is a request whose folder or file does not exist, or is a directory.
var errNotFound = errors.New("no such file")

// lookup finds the file of req: in the first repository folder that exists.
func (s *store) lookup(req request) (*file, error) {
	if f, ok := s.cache.Load(req.key); ok {
		return f.(*file), nil
	}
	for _, folder := range req.folders {
		info, err := s.root.Stat(folder)
		if err != nil || !info.IsDir() {
			continue
		}
		f, err := s.read(path.Join(folder, req.file))
		if err != nil {
			return nil, err
		}
		if s.keep {
			s.cache.Store(req.key, f)
		}
		return f, nil
	}
	return nil, fmt.Errorf("%s: folder %v: %w", req.key, req.folders, errNotFound)
}

func (s *store) read(name string) (*file, error) {
	h, err := s.root.Open(name)
	if err != nil { // missing, unreadable or escaping the root: all alike to a client
		return nil, fmt.Errorf("%s: %w: %w", name, errNotFound, err)
	}
	defer h.Close()
	info, err := h.Stat()
	if err != nil {
		return nil, fmt.Errorf("stat %s: %w", name, err)
	}
	if !info.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file: %w", name, errNotFound)
	}
	body, err := io.ReadAll(io.LimitReader(h, info.Size()))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	return &file{
		body:        body,
		modTime:     info.ModTime(),
		etag:        fmt.Sprintf(`"%x-%x"`, info.Size(), info.ModTime().UnixNano()),
		contentType: contentType(name),
	}, nil
}

func contentType(name string) string {
	ext := path.Ext(name)
	if ext == ".json" {
		return "application/json"
	}
	if t := mime.TypeByExtension(ext); t != "" {
		return t
	}
	return "application/octet-stream"
}
