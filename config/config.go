// Package config holds the fetch settings of f1fetch: their defaults, the
// F1FETCH_* environment variables that override the defaults, and Validate.
//
// It imports nothing of f1fetch so that every layer above can read it; the
// Benthos components map their fields onto Settings and fall back to the
// environment for fields the user did not set.
package config

import (
	"errors"
	"fmt"
	"math"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Settings are the knobs of one fetch client, and in Component those of the
// component using it. Two components with equal Keys (every field but
// Component) share one client, so one limiter, one cache and one connection
// per source.
type Settings struct {
	BaseURLs          []string      // sources tried in order: a base (jsDelivr layout appended) or a template
	Ref               string        // git ref of the data repositories
	MaxConcurrent     int           // process-wide in-flight request limit
	Adaptive          bool          // the in-flight limit adapts (AIMD) between AdaptiveMin and MaxConcurrent
	AdaptiveMin       int           // floor of the adaptive in-flight limit
	MaxRetries        int           // retries after the first try
	BackoffFactor     float64       // delay before retry n is BackoffFactor^n seconds plus jitter
	JitterMax         time.Duration // upper bound of the uniform jitter
	MaxDelay          time.Duration // cap of one backoff delay and of Retry-After
	Timeout           time.Duration // per attempt
	BreakerFailures   int           // failures that open a source's breaker
	BreakerTimeout    time.Duration // how long a breaker stays open before a probe
	MaxBodyBytes      int64         // body read limit (after gzip decoding)
	CacheTTL          time.Duration // freshness of a cached 2xx body
	NotFoundTTL       time.Duration // freshness of a cached 404
	CacheMaxBytes     int64         // bound of the in-memory tier
	CacheDir          string        // optional persistent tier on disk
	UseCache          bool          // read from the cache before the network
	WriteCache        bool          // store answers in the cache
	ValidatePayload   bool          // run the per-kind payload validation
	NormalizeMissing  bool          // "None", "nan", "NaN", "" in arrays become null
	AllowInsecureHTTP bool          // allow http:// for non-loopback sources
	TLSRootCAsFile    string        // extra CA bundle (PEM) for https sources
	TLSSkipVerify     bool          // disable certificate verification (never by default)
	UserAgent         string        // User-Agent header of every request: who is asking, for the source's operators
	CacheResource     string        // label of a Benthos cache resource as the persistent tier (instead of CacheDir)

	// Component holds what each component decides for itself; it is not
	// part of Key, so it never splits the shared client.
	Component ComponentSettings
}

// ComponentSettings are the settings of one component rather than of the
// client it shares.
type ComponentSettings struct {
	OnNotFound       string        // "drop" (counted; also "") or "error" (flagged)
	Prefetch         int           // input: documents fetched ahead of the output; 0 means 2 x MaxConcurrent
	ProgressInterval time.Duration // input: period of the progress log line; 0 turns it off
	RateLimit        string        // label of a Benthos rate_limit resource every attempt waits on; "" for none
}

// MaxPrefetch bounds prefetch. The input makes a queue of prefetch slots
// when it connects (8 bytes each, 800 KB at the bound) and holds up to
// prefetch documents ahead of its output; unbounded, a value such as
// 4000000000 killed the process (out of memory) at that allocation and
// 100000000 took 820 MB before the first fetch. 100000 is five times the
// largest default (twice max_concurrent_requests at its bound of 10000)
// and more than a read-ahead can use: at most max_concurrent_requests
// fetches are in flight, the rest of the window only holds documents.
const MaxPrefetch = 100000

// MinProgressInterval is the shortest period of the input's progress log.
const MinProgressInterval = 10 * time.Millisecond

// DefaultUserAgent names the program to the sources; a job can name itself
// and a contact instead (user_agent).
const DefaultUserAgent = "f1fetch/1"

// DefaultRef is the git ref of the data repositories that sources serve.
const DefaultRef = "main"

// Placeholders are what a base_urls template may hold; a base without any
// gets the jsDelivr layout (tuple.ParseSource builds and checks templates).
var Placeholders = []string{"{year}", "{ref}", "{gp}", "{session}", "{path}"}

// DefaultBaseURLs are jsDelivr, then raw.githubusercontent as a fallback.
var DefaultBaseURLs = []string{
	"https://cdn.jsdelivr.net/gh/TracingInsights",
	"https://raw.githubusercontent.com/TracingInsights/{year}/{ref}/{gp}/{session}/{path}",
}

// Defaults returns the settings that work against the public CDN, as the
// seed library's defaults.
func Defaults() Settings {
	return Settings{
		BaseURLs:         slices.Clone(DefaultBaseURLs),
		Ref:              DefaultRef,
		MaxConcurrent:    20,
		AdaptiveMin:      1,
		MaxRetries:       3,
		BackoffFactor:    2.0,
		JitterMax:        time.Second,
		MaxDelay:         60 * time.Second,
		Timeout:          30 * time.Second,
		BreakerFailures:  5,
		BreakerTimeout:   60 * time.Second,
		MaxBodyBytes:     64 << 20,
		CacheTTL:         time.Hour,
		NotFoundTTL:      5 * time.Minute,
		CacheMaxBytes:    256 << 20,
		UseCache:         true,
		WriteCache:       true,
		ValidatePayload:  true,
		NormalizeMissing: true,
		UserAgent:        DefaultUserAgent,
		Component:        ComponentSettings{OnNotFound: "drop", ProgressInterval: 10 * time.Second},
	}
}

// Env names one F1FETCH_* variable and how it sets a field.
type Env struct {
	Name  string
	Field string // the Benthos field it stands in for
	Help  string
	set   func(s *Settings, v string) error
}

// Vars lists every environment variable read by FromEnv, in documentation order.
var Vars = []Env{
	{"F1FETCH_BASE_URLS", "base_urls", "comma-separated sources, tried in order", func(s *Settings, v string) error {
		s.BaseURLs = splitList(v)
		return nil
	}},
	{"F1FETCH_REF", "ref", "git ref of the data repositories", func(s *Settings, v string) error { s.Ref = v; return nil }},
	{"F1FETCH_MAX_CONCURRENT", "max_concurrent_requests", "in-flight request limit", intVar(func(s *Settings) *int { return &s.MaxConcurrent })},
	{"F1FETCH_ADAPTIVE", "adaptive", "adapt the in-flight limit to the server's pushback", boolVar(func(s *Settings) *bool { return &s.Adaptive })},
	{"F1FETCH_ADAPTIVE_MIN", "adaptive_min", "floor of the adaptive in-flight limit", intVar(func(s *Settings) *int { return &s.AdaptiveMin })},
	{"F1FETCH_MAX_RETRIES", "max_retries", "retries after the first try", intVar(func(s *Settings) *int { return &s.MaxRetries })},
	{"F1FETCH_BACKOFF_FACTOR", "backoff_factor", "exponential backoff base (seconds)", func(s *Settings, v string) error {
		f, err := strconv.ParseFloat(v, 64)
		s.BackoffFactor = f
		return err
	}},
	{"F1FETCH_JITTER_MAX", "jitter_max", "maximum jitter added to a backoff", durVar(func(s *Settings) *time.Duration { return &s.JitterMax })},
	{"F1FETCH_MAX_DELAY", "max_delay", "cap of one backoff delay", durVar(func(s *Settings) *time.Duration { return &s.MaxDelay })},
	{"F1FETCH_TIMEOUT", "timeout", "per-attempt timeout", durVar(func(s *Settings) *time.Duration { return &s.Timeout })},
	{"F1FETCH_BREAKER_FAILURES", "breaker_failures", "failures that open a source's breaker", intVar(func(s *Settings) *int { return &s.BreakerFailures })},
	{"F1FETCH_BREAKER_TIMEOUT", "breaker_timeout", "how long a breaker stays open", durVar(func(s *Settings) *time.Duration { return &s.BreakerTimeout })},
	{"F1FETCH_MAX_BODY_BYTES", "max_body_bytes", "body size limit in bytes", int64Var(func(s *Settings) *int64 { return &s.MaxBodyBytes })},
	{"F1FETCH_CACHE_TTL", "cache_ttl", "freshness of cached documents", durVar(func(s *Settings) *time.Duration { return &s.CacheTTL })},
	{"F1FETCH_NOT_FOUND_TTL", "not_found_ttl", "freshness of cached 404 answers", durVar(func(s *Settings) *time.Duration { return &s.NotFoundTTL })},
	{"F1FETCH_CACHE_MAX_BYTES", "cache_max_bytes", "bound of the in-memory cache", int64Var(func(s *Settings) *int64 { return &s.CacheMaxBytes })},
	{"F1FETCH_CACHE_DIR", "cache_dir", "directory of a persistent cache tier", func(s *Settings, v string) error { s.CacheDir = v; return nil }},
	{"F1FETCH_USE_CACHE", "use_cache", "read from the cache", boolVar(func(s *Settings) *bool { return &s.UseCache })},
	{"F1FETCH_WRITE_CACHE", "write_cache", "write to the cache", boolVar(func(s *Settings) *bool { return &s.WriteCache })},
	{"F1FETCH_VALIDATE", "validate", "validate payloads by file kind", boolVar(func(s *Settings) *bool { return &s.ValidatePayload })},
	{"F1FETCH_NORMALIZE_MISSING", "normalize_missing", `turn "None"/"nan" in arrays into null`, boolVar(func(s *Settings) *bool { return &s.NormalizeMissing })},
	{"F1FETCH_ALLOW_INSECURE_HTTP", "allow_insecure_http", "allow http:// for remote sources", boolVar(func(s *Settings) *bool { return &s.AllowInsecureHTTP })},
	{"F1FETCH_USER_AGENT", "user_agent", "User-Agent header of every request", func(s *Settings, v string) error { s.UserAgent = v; return nil }},
	{"F1FETCH_TLS_CA_FILE", "tls.root_cas_file", "PEM file of extra root CAs", func(s *Settings, v string) error { s.TLSRootCAsFile = v; return nil }},
	{"F1FETCH_TLS_SKIP_VERIFY", "tls.skip_cert_verify", "skip certificate verification", boolVar(func(s *Settings) *bool { return &s.TLSSkipVerify })},
	{"F1FETCH_CACHE_RESOURCE", "cache_resource", "label of a Benthos cache resource as the persistent tier", func(s *Settings, v string) error { s.CacheResource = v; return nil }},
	{"F1FETCH_RATE_LIMIT", "rate_limit", "label of a Benthos rate_limit resource", func(s *Settings, v string) error { s.Component.RateLimit = v; return nil }},
	{"F1FETCH_ON_NOT_FOUND", "on_not_found", "drop or error", func(s *Settings, v string) error { s.Component.OnNotFound = v; return nil }},
	{"F1FETCH_PREFETCH", "prefetch", "files the input fetches ahead of the output", intVar(func(s *Settings) *int { return &s.Component.Prefetch })},
	{"F1FETCH_PROGRESS_INTERVAL", "progress_interval", "period of the input's progress log", durVar(func(s *Settings) *time.Duration { return &s.Component.ProgressInterval })},
}

// FromEnv returns Defaults overridden by the F1FETCH_* variables that lookup
// finds. A variable with a malformed value is an error naming it and the value.
func FromEnv(lookup func(string) (string, bool)) (Settings, error) {
	s := Defaults()
	err := ApplyEnv(&s, lookup, nil)
	return s, err
}

// ApplyEnv overrides s with the F1FETCH_* variables that lookup finds,
// except those whose field isSet reports set (a component's config sets
// it): such a variable is not read at all, so a malformed value of it is
// no error, as the field is what counts. isSet may be nil. A variable with
// a malformed value is an error naming it and the value.
func ApplyEnv(s *Settings, lookup func(string) (string, bool), isSet func(field string) bool) error {
	for _, e := range Vars {
		if isSet != nil && isSet(e.Field) {
			continue
		}
		v, ok := lookup(e.Name)
		if !ok || strings.TrimSpace(v) == "" {
			continue
		}
		if err := e.set(s, strings.TrimSpace(v)); err != nil {
			return fmt.Errorf("environment variable %s=%q: %w", e.Name, v, err)
		}
	}
	return nil
}

// FieldError is a setting with a value that cannot work.
type FieldError struct {
	Field  string
	Value  string
	Reason string
}

func (e *FieldError) Error() string {
	return fmt.Sprintf("field %s: value %s: %s", e.Field, e.Value, e.Reason)
}

// Validate checks every setting and returns all problems at once (errors.Join
// of *FieldError).
func (s Settings) Validate() error {
	var errs []error
	bad := func(field string, value any, reason string) {
		errs = append(errs, &FieldError{Field: field, Value: fmt.Sprintf("%v", value), Reason: reason})
	}
	if len(s.BaseURLs) == 0 {
		bad("base_urls", "[]", "at least one source is required")
	}
	for _, b := range s.BaseURLs {
		if reason := checkBase(b, s.AllowInsecureHTTP); reason != "" {
			bad("base_urls", strconv.Quote(HideCredentials(b)), reason)
		}
	}
	if !ValidRef(s.Ref) {
		bad("ref", strconv.Quote(s.Ref), `must be a branch, tag or commit of letters, digits, '.', '_' and '-' (not "." and no "..")`)
	}
	if s.MaxConcurrent < 1 || s.MaxConcurrent > 10000 {
		bad("max_concurrent_requests", s.MaxConcurrent, "must be between 1 and 10000")
	}
	if s.AdaptiveMin < 1 || s.AdaptiveMin > max(s.MaxConcurrent, 1) {
		bad("adaptive_min", s.AdaptiveMin, fmt.Sprintf("must be between 1 and max_concurrent_requests (%d)", s.MaxConcurrent))
	}
	if s.MaxRetries < 0 || s.MaxRetries > 100 {
		bad("max_retries", s.MaxRetries, "must be between 0 and 100")
	}
	if s.BackoffFactor < 0 || math.IsNaN(s.BackoffFactor) || math.IsInf(s.BackoffFactor, 0) {
		bad("backoff_factor", s.BackoffFactor, "must be a finite number, not negative")
	}
	if s.JitterMax < 0 {
		bad("jitter_max", s.JitterMax, "must not be negative")
	}
	if s.MaxDelay < 0 {
		bad("max_delay", s.MaxDelay, "must not be negative")
	}
	if s.Timeout <= 0 {
		bad("timeout", s.Timeout, "must be positive")
	}
	if s.BreakerFailures < 1 {
		bad("breaker_failures", s.BreakerFailures, "must be at least 1")
	}
	if s.BreakerTimeout <= 0 {
		bad("breaker_timeout", s.BreakerTimeout, "must be positive")
	}
	if s.MaxBodyBytes < 1 {
		bad("max_body_bytes", s.MaxBodyBytes, "must be positive")
	}
	// Cache deadlines are stored in Unix ns, which end in 2262.
	const maxTTL = 10 * 365 * 24 * time.Hour
	if s.CacheTTL < 0 || s.CacheTTL > maxTTL {
		bad("cache_ttl", s.CacheTTL, "must be between 0s and 87600h (ten years)")
	}
	if s.NotFoundTTL < 0 || s.NotFoundTTL > maxTTL {
		bad("not_found_ttl", s.NotFoundTTL, "must be between 0s and 87600h (ten years)")
	}
	if s.CacheMaxBytes < 0 {
		bad("cache_max_bytes", s.CacheMaxBytes, "must not be negative")
	}
	if !validUserAgent(s.UserAgent) {
		bad("user_agent", strconv.Quote(s.UserAgent), "must be 1 to 256 printable ASCII characters (a header value: no line break or control character)")
	}
	// A zero Component is valid (a library user's Settings need none): "" drops.
	if c := s.Component; c.OnNotFound != "" && c.OnNotFound != "drop" && c.OnNotFound != "error" {
		bad("on_not_found", strconv.Quote(c.OnNotFound), "must be drop or error")
	}
	if s.Component.Prefetch < 0 || s.Component.Prefetch > MaxPrefetch {
		bad("prefetch", s.Component.Prefetch, fmt.Sprintf("must be between 0 and %d (0 means twice max_concurrent_requests)", MaxPrefetch))
	}
	// A period of nanoseconds logs in a busy loop (1ns: 3,358 lines in 60 ms).
	if p := s.Component.ProgressInterval; p < 0 || p > 0 && p < MinProgressInterval {
		bad("progress_interval", p, fmt.Sprintf("must be 0s (off) or at least %v", MinProgressInterval))
	}
	return errors.Join(errs...)
}

// Key identifies settings that may share one client: equal keys, equal
// behaviour. It is every client field in Go syntax (%#v), so a field added
// to Settings is part of it without a list to keep in step; Component is
// left out.
func (s Settings) Key() string {
	s.Component = ComponentSettings{}
	return fmt.Sprintf("%#v", s)
}

// validUserAgent reports whether ua can be sent as a User-Agent header value
// as written: printable ASCII, so no line break that would end the header.
func validUserAgent(ua string) bool {
	if ua == "" || len(ua) > 256 {
		return false
	}
	for _, c := range []byte(ua) {
		if c < 0x20 || c > 0x7e {
			return false
		}
	}
	return true
}

// ValidRef reports whether ref (a git branch, tag or commit) can stand as one
// URL path segment: letters, digits, '.', '_' and '-', never "." and no "..".
// Sources build URLs with a ref that passed it (Validate).
func ValidRef(ref string) bool {
	return ref != "" && ref != "." && !strings.Contains(ref, "..") && strings.TrimFunc(ref, isRefRune) == ""
}

func isRefRune(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-'
}

// checkBase returns why a source cannot be used, or "".
func checkBase(base string, allowInsecure bool) string {
	if strings.TrimSpace(base) == "" {
		return "empty source"
	}
	// Placeholders are not valid URL syntax everywhere; replace them for parsing.
	probe := base
	for _, p := range Placeholders {
		probe = strings.ReplaceAll(probe, p, "x")
	}
	u, err := url.Parse(probe)
	if err != nil {
		return "not a URL: " + err.Error()
	}
	if u.Host == "" {
		return "has no host"
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return "must not have a query or fragment"
	}
	switch u.Scheme {
	case "https":
		return ""
	case "http":
		if allowInsecure || IsLoopback(u.Hostname()) {
			return ""
		}
		return "http:// is only allowed for loopback hosts; use https:// or set allow_insecure_http"
	default:
		return "scheme must be https (or http for loopback mirrors)"
	}
}

// IsLoopback reports whether host names this machine (localhost, 127.0.0.0/8, ::1).
func IsLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func splitList(v string) []string {
	var out []string
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func intVar(f func(*Settings) *int) func(*Settings, string) error {
	return func(s *Settings, v string) error {
		n, err := strconv.Atoi(v)
		*f(s) = n
		return err
	}
}

func int64Var(f func(*Settings) *int64) func(*Settings, string) error {
	return func(s *Settings, v string) error {
		n, err := strconv.ParseInt(v, 10, 64)
		*f(s) = n
		return err
	}
}

func boolVar(f func(*Settings) *bool) func(*Settings, string) error {
	return func(s *Settings, v string) error {
		b, err := strconv.ParseBool(v)
		*f(s) = b
		return err
	}
}

// durVar accepts Go durations ("30s", "1m") and plain numbers of seconds ("30", "0.5").
func durVar(f func(*Settings) *time.Duration) func(*Settings, string) error {
	return func(s *Settings, v string) error {
		d, err := ParseDuration(v)
		*f(s) = d
		return err
	}
}

// ParseDuration reads a Go duration or a plain number of seconds; a number
// of seconds beyond a duration's range (about 292 years) is an error, not a
// wrapped-around value.
func ParseDuration(v string) (time.Duration, error) {
	if secs, err := strconv.ParseFloat(v, 64); err == nil {
		ns := secs * float64(time.Second)
		if math.IsNaN(ns) || ns >= math.MaxInt64 || ns <= math.MinInt64 {
			return 0, fmt.Errorf("%s seconds: out of a duration's range", v)
		}
		return time.Duration(ns), nil
	}
	return time.ParseDuration(v)
}

// HideCredentials is for a refused base URL, which may not even parse as a
// URL: whatever stands before its last "@" may be a password, so it is
// hidden before the base is named in an error. Only an "@" before the first
// placeholder counts: a template's {year}@{ref} is no userinfo, and hiding
// up to it would hide the host.
func HideCredentials(base string) string {
	head := base
	if i := strings.IndexByte(base, '{'); i >= 0 {
		head = base[:i]
	}
	if i := strings.LastIndexByte(head, '@'); i >= 0 {
		return "…" + base[i:]
	}
	return base
}
