package tuple

import (
	"errors"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode"
)

// FuzzValidateParts: for any parts, New either refuses with *Error (whose
// Value stays short however long the input) or accepts parts that hold
// nothing a URL or a file system reads as structure, and whose URL decodes,
// segment by segment, back to exactly those parts.
func FuzzValidateParts(f *testing.F) {
	f.Add(2025, "Australian Grand Prix", "Qualifying", "VER/3_tel.json")
	f.Add(2025, "S\u00e3o Paulo Grand Prix", "Sprint Qualifying", "drivers.json")
	f.Add(2025, "..", "Race", "x.json")
	f.Add(2025, "A", "B", "a/./b.json")
	f.Add(2025, "A", "B", "%2e%2e/x.json")
	f.Add(2025, "A\u0085", "B", "x.json")
	f.Add(99999, "A", "B", "x.json")
	f.Fuzz(func(t *testing.T, year int, gp, session, path string) {
		tp, err := New(year, gp, session, path)
		if err != nil {
			var te *Error
			if !errors.As(err, &te) {
				t.Fatalf("error %T, not *Error: %v", err, err)
			}
			if len(te.Value) > maxValueLen+len("…") {
				t.Fatalf("Error.Value is %d bytes", len(te.Value))
			}
			return
		}
		for _, part := range []string{tp.GP, tp.Session, tp.Path} {
			if part == "" || part[0] == '/' || strings.Contains(part, "..") || strings.ContainsAny(part, `\?#`) {
				t.Fatalf("accepted part %q", part)
			}
			for _, r := range part {
				if unicode.IsControl(r) {
					t.Fatalf("accepted control character %U in %q", r, part)
				}
			}
		}
		src, err := ParseSource("https://cdn.example/gh/TI")
		if err != nil {
			t.Fatal(err)
		}
		u, err := url.Parse(src.URL(tp, "main"))
		if err != nil {
			t.Fatalf("URL of %+v does not parse: %v", tp, err)
		}
		segs := strings.Split(strings.TrimPrefix(u.EscapedPath(), "/gh/TI/"), "/")
		var decoded []string
		for _, s := range segs {
			d, err := url.PathUnescape(s)
			if err != nil || d == "." || d == ".." {
				t.Fatalf("URL segment %q of %+v decodes to %q (%v)", s, tp, d, err)
			}
			decoded = append(decoded, d)
		}
		want := append([]string{strconv.Itoa(tp.Year) + "@main", tp.GP, tp.Session}, strings.Split(tp.Path, "/")...)
		if strings.Join(decoded, "\x00") != strings.Join(want, "\x00") {
			t.Fatalf("URL %s decodes to %q, want %q", u, decoded, want)
		}
	})
}

// FuzzSourceRedacts: a base URL's password never shows in what a source
// prints, nor in the error that refuses it.
func FuzzSourceRedacts(f *testing.F) {
	f.Add("https://", "user", "s3cr3t-password", "cdn.example/gh/TI")
	f.Add("http://", "u", "p4ss-word", "127.0.0.1:8080/{year}/{ref}/{gp}/{session}/{path}")
	f.Add("https://", "u", "p4ss-word", "host/{bad}")
	f.Add("https://", "u", "p4ss-word", "host/x?q=1")
	f.Fuzz(func(t *testing.T, scheme, user, password, rest string) {
		if len(password) < 8 || strings.ContainsAny(password, "@/:?#%{}") {
			return
		}
		for _, visible := range []string{scheme + user + rest, scheme, user, rest} {
			if strings.Contains(visible, password) || strings.Contains(strconv.Quote(visible), password) {
				return // a password that could be a piece of the rest (or of its quoting) proves nothing
			}
		}
		if !schemeOnly.MatchString(scheme) {
			// A scheme argument such as "http://0/" puts the "password" in
			// the path, where it is data. With a bare scheme it is always in
			// the authority's userinfo: the escaped user holds no '/', '?' or
			// '#', and the password none of those nor '@'.
			return
		}
		base := scheme + url.PathEscape(user) + ":" + password + "@" + rest
		s, err := ParseSource(base)
		if err != nil {
			if strings.Contains(err.Error(), password) {
				t.Fatalf("BUG: the error refusing a base shows its password: %v", err)
			}
			return
		}
		if strings.Contains(s.String(), password) {
			t.Fatalf("BUG: String() shows the password: %s", s)
		}
	})
}

// schemeOnly is a URL scheme and "://", nothing more (RFC 3986 section 3.1).
var schemeOnly = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]*://$`)
