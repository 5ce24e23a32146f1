package mirror

import (
	"errors"
	"fmt"
	"net/url"
	"path"
	"strings"
)

// errNotServed is any request path that does not name a file of the layout.
var errNotServed = errors.New("not a file of the mirror layout")

// splitPath decodes an escaped URL path into its segments, refusing every
// segment that could step outside its folder or smuggle a separator:
// empty, ".", "..", and any containing '/', '\', '%' (double encoding),
// NUL or another control character after decoding.
func splitPath(escaped string) ([]string, error) {
	if !strings.HasPrefix(escaped, "/") {
		return nil, fmt.Errorf("path %q: %w", escaped, errNotServed)
	}
	raw := strings.Split(escaped[1:], "/")
	segs := make([]string, len(raw))
	for i, r := range raw {
		s, err := url.PathUnescape(r)
		if err != nil {
			return nil, fmt.Errorf("segment %q: %w", r, errNotServed)
		}
		if s == "" || s == "." || s == ".." || strings.ContainsAny(s, `/\%`) || hasControl(s) {
			return nil, fmt.Errorf("segment %q: %w", r, errNotServed)
		}
		segs[i] = s
	}
	return segs, nil
}

func hasControl(s string) bool {
	for _, c := range []byte(s) {
		if c < 0x20 || c == 0x7f {
			return true
		}
	}
	return false
}

// request is a parsed file request: the repository folder candidates, most
// specific first, and the file path inside the repository.
type request struct {
	key     string   // decoded path after the URL prefix: counters, rules, cache
	folders []string // "{year}@{ref}", then "{year}" when ref is main
	file    string
}

// parseRequest reads both layouts after an optional prefix:
// /{year}@{ref}/{file...} (jsDelivr) and /{year}/{ref}/{file...} (raw GitHub).
func parseRequest(segs []string, prefixes [][]string, aliases map[string]string) (request, error) {
	for _, p := range prefixes {
		if hasPrefix(segs, p) {
			segs = segs[len(p):]
			break
		}
	}
	var year, ref string
	var file []string
	if y, r, ok := strings.Cut(firstOrEmpty(segs), "@"); ok {
		year, ref, file = y, r, segs[1:]
	} else if len(segs) >= 2 {
		year, ref, file = segs[0], segs[1], segs[2:]
	}
	if year == "" || year == "." || year == ".." || ref == "" || len(file) == 0 || strings.HasPrefix(year, "_") {
		return request{}, fmt.Errorf("path %q: %w", "/"+strings.Join(segs, "/"), errNotServed)
	}
	if a, ok := aliases[year]; ok {
		year = a
	}
	req := request{
		key:     "/" + strings.Join(segs, "/"),
		folders: []string{year + "@" + ref},
		file:    path.Join(file...),
	}
	if ref == "main" {
		req.folders = append(req.folders, year)
	}
	return req, nil
}

func hasPrefix(segs, prefix []string) bool {
	if len(segs) < len(prefix) {
		return false
	}
	for i := range prefix {
		if segs[i] != prefix[i] {
			return false
		}
	}
	return true
}

func firstOrEmpty(segs []string) string {
	if len(segs) == 0 {
		return ""
	}
	return segs[0]
}
