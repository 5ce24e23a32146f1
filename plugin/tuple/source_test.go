package tuple

import (
	"net/url"
	"strings"
	"testing"

	"github.com/f1fetch/f1fetch/config"
)

func mustSource(t *testing.T, base string) Source {
	t.Helper()
	s, err := ParseSource(base)
	if err != nil {
		t.Fatalf("ParseSource(%q): %v", base, err)
	}
	return s
}

func TestDefaultSources(t *testing.T) {
	tp := Tuple{2025, "Australian Grand Prix", "Qualifying", "VER/3_tel.json"}
	want := []string{
		"https://cdn.jsdelivr.net/gh/TracingInsights/2025@main/Australian%20Grand%20Prix/Qualifying/VER/3_tel.json",
		"https://raw.githubusercontent.com/TracingInsights/2025/main/Australian%20Grand%20Prix/Qualifying/VER/3_tel.json",
	}
	hosts := []string{"cdn.jsdelivr.net:443", "raw.githubusercontent.com:443"}
	for i, base := range config.DefaultBaseURLs { // the defaults live in config; they must parse here
		s := mustSource(t, base)
		if got := s.URL(tp, config.DefaultRef); got != want[i] {
			t.Errorf("URL = %s, want %s", got, want[i])
		}
		if got := s.URL(tp, ""); got != want[i] {
			t.Errorf("empty ref: URL = %s, want %s", got, want[i])
		}
		if s.Host() != hosts[i] || s.String() != base {
			t.Errorf("Host = %q String = %q", s.Host(), s.String())
		}
	}
}

func TestURLEscaping(t *testing.T) {
	cases := []struct {
		base string
		tp   Tuple
		ref  string
		want string
	}{
		{"http://127.0.0.1:8080", Tuple{2025, "Australian Grand Prix", "Practice 1", "drivers.json"}, "main",
			"http://127.0.0.1:8080/2025@main/Australian%20Grand%20Prix/Practice%201/drivers.json"},
		{"http://127.0.0.1:8080/", Tuple{2025, "Australian Grand Prix", "Practice 1", "drivers.json"}, "main",
			"http://127.0.0.1:8080/2025@main/Australian%20Grand%20Prix/Practice%201/drivers.json"},
		{"https://mirror.example/f1//", Tuple{2025, "A", "Q", "x.json"}, "a530f722",
			"https://mirror.example/f1/2025@a530f722/A/Q/x.json"},
		{"https://m.example/f1", Tuple{2024, "São Paulo Grand Prix", "Sprint Qualifying", "VER/1_tel.json"}, "main",
			"https://m.example/f1/2024@main/S%C3%A3o%20Paulo%20Grand%20Prix/Sprint%20Qualifying/VER/1_tel.json"},
		{"https://m.example", Tuple{2025, "A & B", "100%", "a b/c%2e%2e/d:e.json"}, "main",
			"https://m.example/2025@main/A%20&%20B/100%25/a%20b/c%252e%252e/d:e.json"},
		{"https://m.example/{ref}/{year}/{gp}/{session}/{path}", Tuple{2025, "Gp;x,y", "S@T+=", "日本.json"}, "v1.0",
			"https://m.example/v1.0/2025/Gp%3Bx%2Cy/S@T+=/%E6%97%A5%E6%9C%AC.json"},
		{"https://m.example/raw/{path}", Tuple{2025, "A", "Q", "VER/laptimes.json"}, "main",
			"https://m.example/raw/VER/laptimes.json"},
		{"https://user:secret@m.example/base", Tuple{2025, "A", "Q", "x.json"}, "main",
			"https://user:secret@m.example/base/2025@main/A/Q/x.json"},
	}
	for _, c := range cases {
		s := mustSource(t, c.base)
		got := s.URL(c.tp, c.ref)
		if got != c.want {
			t.Errorf("%s %+v:\n got %s\nwant %s", c.base, c.tp, got, c.want)
		}
		u, err := url.Parse(got)
		if err != nil {
			t.Errorf("url.Parse(%s): %v", got, err)
			continue
		}
		if u.RawQuery != "" || u.Fragment != "" {
			t.Errorf("%s: query or fragment leaked", got)
		}
	}
}

// Characters that Validate refuses would otherwise break the URL; this shows
// that escaping alone also keeps them inside one segment.
func TestURLEscapesReservedInSegment(t *testing.T) {
	s := mustSource(t, "https://m.example/b")
	got := s.URL(Tuple{2025, "a?b#c", "Q", "x.json"}, "main")
	u, err := url.Parse(got)
	if err != nil || u.Path != "/b/2025@main/a?b#c/Q/x.json" || u.RawQuery != "" || u.Fragment != "" {
		t.Errorf("%s parsed to %+v, %v", got, u, err)
	}
}

func TestSourceStringHost(t *testing.T) {
	cases := []struct{ base, str, host, scheme, hostname string }{
		{"https://user:pw@m.example:8443/x", "https://m.example:8443/x", "m.example:8443", "https", "m.example"},
		{"https://user@m.example/{year}/{path}", "https://m.example/{year}/{path}", "m.example:443", "https", "m.example"},
		{" http://[::1]:9000 ", "http://[::1]:9000", "[::1]:9000", "http", "::1"},
		{"http://localhost", "http://localhost", "localhost:80", "http", "localhost"},
		{"https://a:b@c@m.example/p@q", "https://m.example/p@q", "m.example:443", "https", "m.example"},
	}
	for _, c := range cases {
		s := mustSource(t, c.base)
		if s.String() != c.str || s.Host() != c.host || s.Scheme() != c.scheme || s.Hostname() != c.hostname {
			t.Errorf("%q: String %q Host %q Scheme %q Hostname %q, want %q %q %q %q", c.base, s.String(), s.Host(), s.Scheme(), s.Hostname(), c.str, c.host, c.scheme, c.hostname)
		}
		if strings.Contains(s.String(), "pw") || strings.Contains(s.String(), "user") {
			t.Errorf("userinfo leaked: %s", s.String())
		}
	}
}

func TestParseSourceRefusals(t *testing.T) {
	cases := []struct{ base, reason string }{
		{"", "scheme"},
		{"cdn.jsdelivr.net/gh/TracingInsights", "scheme"},
		{"ftp://m.example/x", "scheme"},
		{"file:///etc", "scheme"},
		{"https://", "no host"},
		{"http://127.0.0.1:99999", "port 99999: want 1 to 65535"},
		{"http://127.0.0.1:0/x", "port 0: want 1 to 65535"},
		{"https://m.example:65536", "port 65536"},
		{"https://m.example/x?token=1", "query"},
		{"https://m.example/x?", "query"},
		{"https://m.example/x#frag", "query"},
		{"https://m.example/{year}/{foo}/{path}", "unknown placeholder {foo}"},
		{"https://m.example/{year/{path}", "unknown placeholder"},
		{"https://m.example/{path", `unclosed "{"`},
		{"https://m.example/path}/{path}", `stray "}"`},
		{"https://m.example/{year}/{gp}", "no {path}"},
		{"http://m.example/!{year} {path}", `character '!' in the path: write it percent-encoded`},
		{"https://m.example/F1 data", `character ' '`},
		{"https://m.example/{year}/\"q\"/{path}", `character '"'`},
		{"https://{year}.m.example/{path}", ""},
		{"https://us er:pw@m.example/\x00", ""},
	}
	for _, c := range cases {
		_, err := ParseSource(c.base)
		if err == nil {
			t.Errorf("ParseSource(%q) accepted", c.base)
			continue
		}
		if !strings.Contains(err.Error(), c.reason) {
			t.Errorf("ParseSource(%q) = %v, want reason %q", c.base, err, c.reason)
		}
		if strings.Contains(err.Error(), "pw") {
			t.Errorf("credentials in error: %v", err)
		}
	}
}

// Redact hides the whole userinfo of a concrete URL and leaves a jsDelivr
// path's '@' alone.
func TestRedact(t *testing.T) {
	for raw, want := range map[string]string{
		"https://cdn.jsdelivr.net/gh/TracingInsights/2025@main/A/B/drivers.json": "https://cdn.jsdelivr.net/gh/TracingInsights/2025@main/A/B/drivers.json",
		"https://user:secret@mirror.example/2025@main/A/B/drivers.json":          "https://mirror.example/2025@main/A/B/drivers.json",
		"https://ghp_token@mirror.example/2025/main/x.json":                      "https://mirror.example/2025/main/x.json",
		"http://127.0.0.1:8080/2025@main/x.json":                                 "http://127.0.0.1:8080/2025@main/x.json",
		"http://a:b@c@mirror.example/x?q=1@2#f@g":                                "http://mirror.example/x?q=1@2#f@g",
		"user:secret@mirror.example/x":                                           "mirror.example/x",
	} {
		if got := Redact(raw); got != want {
			t.Errorf("Redact(%q) = %q, want %q", raw, got, want)
		}
	}
}
