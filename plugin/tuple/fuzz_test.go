package tuple

import (
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/f1fetch/f1fetch/config"
)

// FuzzParse: Parse never panics, refuses only with *Error, and whatever it
// accepts validates and survives a round trip through New.
func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"year": 2025, "gp": "Australian Grand Prix", "session": "Qualifying", "path": "VER/3_tel.json"}`))
	f.Add([]byte(`[2025, "Australian Grand Prix", "Qualifying", "VER/3_tel.json"]`))
	f.Add([]byte(`["2025", "S\u00e3o Paulo Grand Prix", "Race", "drivers.json"]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		tp, err := Parse(data)
		if err != nil {
			var te *Error
			if !errors.As(err, &te) {
				t.Fatalf("error is %T, not *Error: %v", err, err)
			}
			if len(te.Value) > maxValueLen+len("…") {
				t.Fatalf("Value %d bytes", len(te.Value))
			}
			return
		}
		if err := tp.Validate(); err != nil {
			t.Fatalf("parsed tuple %+v does not validate: %v", tp, err)
		}
		if again, err := New(tp.Year, tp.GP, tp.Session, tp.Path); err != nil || again != tp {
			t.Fatalf("New(%+v) = %+v, %v", tp, again, err)
		}
	})
}

// FuzzSourceURL: for any accepted source and tuple, the URL parses, keeps the
// base's scheme and host, has no query or fragment, and no raw path segment
// after the base path is "." or ".." (so no client or server resolves it
// outside the base).
func FuzzSourceURL(f *testing.F) {
	f.Add("https://cdn.jsdelivr.net/gh/TracingInsights", 2025, "Australian Grand Prix", "Qualifying", "VER/3_tel.json", "main")
	f.Add("https://raw.githubusercontent.com/TracingInsights/{year}/{ref}/{gp}/{session}/{path}", 2024, "São Paulo Grand Prix", "Race", "drivers.json", "a530f722")
	f.Add("http://127.0.0.1:8080/", 2026, "A & B #1", "100% ?", "%2e%2e/x.json", "v1.0")
	f.Fuzz(func(t *testing.T, base string, year int, gp, session, path, ref string) {
		s, err := ParseSource(base)
		if err != nil {
			return
		}
		tp, err := New(year, gp, session, path)
		if err != nil || !config.ValidRef(ref) {
			return
		}
		raw := s.URL(tp, ref)
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatalf("URL %q does not parse: %v", raw, err)
		}
		b, _ := url.Parse(strings.TrimSpace(base))
		if u.Scheme != b.Scheme || u.Host != b.Host || u.RawQuery != "" || u.Fragment != "" {
			t.Fatalf("URL %q escaped the base %q", raw, base)
		}
		prefix := basePath(strings.TrimSpace(base))
		escaped := u.EscapedPath()
		if !strings.HasPrefix(escaped, prefix) {
			t.Fatalf("URL path %q not under base path %q", escaped, prefix)
		}
		for seg := range strings.SplitSeq(escaped[len(prefix):], "/") {
			if seg == "." || seg == ".." {
				t.Fatalf("URL %q has dot segment after base path %q", raw, prefix)
			}
		}
	})
}

// basePath is the escaped path of base up to its first placeholder.
func basePath(base string) string {
	if i := strings.IndexByte(base, '{'); i >= 0 {
		base = base[:i]
	} else {
		base = strings.TrimRight(base, "/") + "/" // a plain base loses its trailing slashes
	}
	u, _ := url.Parse(base)
	if u == nil {
		return ""
	}
	return u.EscapedPath()
}
