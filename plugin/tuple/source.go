package tuple

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/f1fetch/f1fetch/config"
)

// jsDelivrLayout is appended to a base without placeholders.
const jsDelivrLayout = "{year}@{ref}/{gp}/{session}/{path}"

// Source is one entry of base_urls: a base under which the jsDelivr layout is
// appended, or a full template with placeholders.
type Source struct {
	parts    []string // literal text and placeholders, alternating as found
	display  string   // the configured base without userinfo
	scheme   string   // http or https
	hostname string   // without port
	hostPort string
}

// ParseSource reads one base_urls entry. It must be an absolute http(s) URL
// with a host, without query or fragment; placeholders may appear only in the
// path, and an unknown "{...}" is refused so that a typo never reaches a server.
func ParseSource(base string) (Source, error) {
	base = strings.TrimSpace(base)
	bad := func(format string, args ...any) (Source, error) {
		return Source{}, fmt.Errorf("base URL %q: %s", config.HideCredentials(base), fmt.Sprintf(format, args...))
	}
	u, err := url.Parse(base)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // without the URL, which may hold credentials
		}
		return bad("%v", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return bad("scheme must be http or https")
	}
	if u.Host == "" {
		return bad("no host")
	}
	if strings.ContainsAny(u.Host, "{}") {
		return bad("placeholders are allowed only in the path")
	}
	// url.Parse takes any digits as a port; a dial would fail on every request.
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return bad("port %s: want 1 to 65535", p)
		}
	}
	if u.RawQuery != "" || u.ForceQuery || strings.Contains(base, "#") {
		return bad("query and fragment are not allowed")
	}
	template := base
	if !strings.Contains(base, "{") {
		template = strings.TrimRight(base, "/") + "/" + jsDelivrLayout
	}
	parts, err := splitTemplate(template)
	if err != nil {
		return bad("%v", err)
	}
	if !slices.Contains(parts, "{path}") {
		return bad("template has no {path} placeholder")
	}
	// The literal text of the path is used as written, so it must already be
	// in escaped form: a space or a "!" would be rewritten by any URL parser
	// and the built URL would no longer sit under the configured base.
	pathStart := len(template) // where the path begins: the first "/" after the authority
	if _, after, ok := strings.Cut(template, "://"); ok {
		if slash := strings.IndexByte(after, '/'); slash >= 0 {
			pathStart = len(template) - len(after) + slash
		}
	}
	for n, part := range parts {
		if isPlaceholder(part) {
			continue
		}
		lit := part
		if n == 0 { // the first part also holds the scheme and the authority
			lit = part[min(pathStart, len(part)):]
		}
		if i := strings.IndexFunc(lit, notPathRune); i >= 0 {
			return bad("character %q in the path: write it percent-encoded", lit[i])
		}
	}
	return Source{parts: parts, display: Redact(base), scheme: u.Scheme, hostname: u.Hostname(), hostPort: HostPort(u)}, nil
}

// HostPort is host:port of u, with its scheme's default port when it names
// none, so that two spellings of one server compare equal.
func HostPort(u *url.URL) string {
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	return net.JoinHostPort(u.Hostname(), port)
}

// splitTemplate cuts a template into literals and known placeholders.
func splitTemplate(s string) ([]string, error) {
	var parts []string
	for s != "" {
		open := strings.IndexByte(s, '{')
		if open < 0 {
			if strings.Contains(s, "}") {
				return nil, fmt.Errorf(`stray "}"`)
			}
			parts = append(parts, s)
			break
		}
		if strings.Contains(s[:open], "}") {
			return nil, fmt.Errorf(`stray "}"`)
		}
		end := strings.IndexByte(s[open:], '}')
		if end < 0 {
			return nil, fmt.Errorf(`unclosed "{"`)
		}
		ph := s[open : open+end+1]
		if !isPlaceholder(ph) {
			return nil, fmt.Errorf("unknown placeholder %s (known: %s)", ph, strings.Join(config.Placeholders, " "))
		}
		if open > 0 {
			parts = append(parts, s[:open])
		}
		parts = append(parts, ph)
		s = s[open+end+1:]
	}
	return parts, nil
}

func isPlaceholder(s string) bool {
	return slices.Contains(config.Placeholders, s)
}

// notPathRune reports a character that is not kept as is in an escaped URL
// path: everything but letters, digits, "-._~", "/", "%" and the sub-delims
// URL parsers leave alone.
func notPathRune(r rune) bool {
	switch {
	case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		return false
	}
	return !strings.ContainsRune("-._~/%@:+,;=&$", r)
}

// Redact removes the userinfo of a URL (or of a base, placeholders and all)
// so that credentials never reach a log, an error, metadata or a metric: the
// user goes too, as a token is often passed as one. It works on the text,
// as url.URL.String would re-escape the braces of placeholders, and only an
// '@' in the authority counts: a jsDelivr path's {year}@{ref} is no userinfo.
// A URL without '@' in its authority comes back as it is, without a copy.
func Redact(raw string) string {
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		scheme, rest = "", raw // no scheme: "user:pass@host" still hides a password
	}
	authority := rest
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		authority = rest[:i]
	}
	at := strings.LastIndexByte(authority, '@')
	if at < 0 {
		return raw
	}
	if scheme == "" {
		return rest[at+1:]
	}
	return scheme + "://" + rest[at+1:]
}

// URL is the address of t at ref (config.DefaultRef when empty) on this source. gp,
// session and ref are each one escaped path segment; path is split on '/' and
// each segment escaped (url.PathEscape: space -> %20, '%' -> %25, '#' -> %23,
// '?' -> %3F, non-ASCII as UTF-8 %XX). Userinfo of the base is kept, so the
// result may hold credentials: log String() of the source instead. ref has
// passed config.ValidRef (configuration checks it once).
func (s Source) URL(t Tuple, ref string) string {
	if ref == "" {
		ref = config.DefaultRef
	}
	var b strings.Builder
	for _, p := range s.parts {
		switch p {
		case "{year}":
			b.WriteString(strconv.Itoa(t.Year))
		case "{ref}":
			b.WriteString(url.PathEscape(ref))
		case "{gp}":
			b.WriteString(url.PathEscape(t.GP))
		case "{session}":
			b.WriteString(url.PathEscape(t.Session))
		case "{path}":
			for i, seg := range strings.Split(t.Path, "/") {
				if i > 0 {
					b.WriteByte('/')
				}
				b.WriteString(url.PathEscape(seg))
			}
		default:
			b.WriteString(p)
		}
	}
	return b.String()
}

// String is the base as configured, without userinfo.
func (s Source) String() string { return s.display }

// Host is host:port of the base (the scheme's default port when none is given).
func (s Source) Host() string { return s.hostPort }

// Hostname is the host of the base, without port.
func (s Source) Hostname() string { return s.hostname }

// Scheme is the base's, http or https.
func (s Source) Scheme() string { return s.scheme }
