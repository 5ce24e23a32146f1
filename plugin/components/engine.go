// Package components is the Benthos face of f1fetch: the f1_fetch input
// and processor, f1_expand and f1_rows. Importing it registers them, so any
// Benthos or Redpanda Connect build can import it.
package components

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redpanda-data/benthos/v4/public/service"

	"github.com/f1fetch/f1fetch/config"
	"github.com/f1fetch/f1fetch/plugin/cache"
	"github.com/f1fetch/f1fetch/plugin/fetch"
	"github.com/f1fetch/f1fetch/plugin/tuple"
)

// Engine field names, shared by every component that fetches.
const (
	fieldBaseURLs          = "base_urls"
	fieldRef               = "ref"
	fieldMaxConcurrent     = "max_concurrent_requests"
	fieldAdaptive          = "adaptive"
	fieldAdaptiveMin       = "adaptive_min"
	fieldRateLimit         = "rate_limit"
	fieldMaxRetries        = "max_retries"
	fieldBackoffFactor     = "backoff_factor"
	fieldJitterMax         = "jitter_max"
	fieldMaxDelay          = "max_delay"
	fieldTimeout           = "timeout"
	fieldBreakerFailures   = "breaker_failures"
	fieldBreakerTimeout    = "breaker_timeout"
	fieldMaxBodyBytes      = "max_body_bytes"
	fieldUseCache          = "use_cache"
	fieldWriteCache        = "write_cache"
	fieldCacheTTL          = "cache_ttl"
	fieldNotFoundTTL       = "not_found_ttl"
	fieldCacheMaxBytes     = "cache_max_bytes"
	fieldCacheDir          = "cache_dir"
	fieldCacheResource     = "cache_resource"
	fieldValidate          = "validate"
	fieldNormalizeMissing  = "normalize_missing"
	fieldAllowInsecureHTTP = "allow_insecure_http"
	fieldUserAgent         = "user_agent"
	fieldTLS               = "tls"
	fieldTLSRootCAsFile    = "root_cas_file"
	fieldTLSSkipVerify     = "skip_cert_verify"
	fieldOnNotFound        = "on_not_found"
)

// envOf returns the F1FETCH_* variable that stands in for a field.
func envOf(field string) string {
	for _, v := range config.Vars {
		if v.Field == field {
			return v.Name
		}
	}
	return ""
}

func describe(field, text string) string {
	if env := envOf(field); env != "" {
		return fmt.Sprintf("%s When the field is not set, the environment variable `%s` is used, then the default.", text, env)
	}
	return text
}

// engineFields are the settings of the fetch engine. None has a schema
// default: an unset field falls back to its F1FETCH_* variable, then to the
// config package's default, shown in each description. `f1fetch create`
// writes an optional field without a default as its first example, else as
// its zero value (no retries, no cache, no validation, a
// max_concurrent_requests lint refuses): a field whose zero value is not
// its default has the default as its first example, so that the config
// create writes lints and runs as the defaults. They are built once
// for the specs that share them. Their checks are the components' lint
// rule's (engineLintRule), which runs the build's.
var engineFields = sync.OnceValue(func() []*service.ConfigField {
	d := config.Defaults()
	return []*service.ConfigField{
		service.NewStringListField(fieldBaseURLs).Optional().
			Description(describe("base_urls", fmt.Sprintf("Sources tried in order. An entry without placeholders is a base under which the jsDelivr layout `{year}@{ref}/{gp}/{session}/{path}` is appended (a local mirror: `http://127.0.0.1:8080`); an entry with placeholders `{year}`, `{ref}`, `{gp}`, `{session}`, `{path}` is a full template. Remote sources must be `https://`; `http://` is for loopback mirrors (spoken as h2c). Default `%s`.", strings.Join(d.BaseURLs, "`, `")))).
			Example([]string{"http://127.0.0.1:8080"}),
		service.NewStringField(fieldRef).Optional().Example(d.Ref).Description(describe("ref", "Git ref of the data repositories (a branch or commit). Default `main`.")),
		service.NewIntField(fieldMaxConcurrent).Optional().Example(d.MaxConcurrent).
			Description(describe("max_concurrent_requests", "Requests in flight at once, shared by every component with the same settings in the process (the seed's global semaphore). Default 20.")),
		service.NewBoolField(fieldAdaptive).Optional().
			Description(describe("adaptive", "Adapt the in-flight limit to the server: it is cut multiplicatively (by half on a 429 or 503, by 0.7 when latency rises above twice its smoothed baseline) and grows back by one per limit-many good answers, between `adaptive_min` and `max_concurrent_requests`. A 429 or 503 with `Retry-After` pauses every new attempt to that source until then (capped by `max_delay`) and does not count against its circuit breaker. The limit is the gauge `f1_concurrency_limit` and its changes are logged. Default false.")),
		service.NewIntField(fieldAdaptiveMin).Optional().Advanced().Example(d.AdaptiveMin).
			Description(describe("adaptive_min", "Floor of the adaptive in-flight limit, between 1 and `max_concurrent_requests`. Default 1.")),
		service.NewStringField(fieldRateLimit).Optional().
			Description(describe("rate_limit", "The label of a Benthos `rate_limit` resource (for example a `local` rate limit) that every HTTP attempt of this component waits on, retries included, before taking an in-flight slot. Components naming the same resource share it; it applies on top of `max_concurrent_requests`. Cache hits do not wait. Default none.")),
		service.NewIntField(fieldMaxRetries).Optional().Example(d.MaxRetries).Description(describe("max_retries", "Retries after the first try. Default 3.")),
		service.NewFloatField(fieldBackoffFactor).Optional().Advanced().Example(d.BackoffFactor).Description(describe("backoff_factor", "The delay before retry n is `min(backoff_factor^n + U(0, jitter_max), max_delay)` seconds. Default 2.0.")),
		service.NewDurationField(fieldJitterMax).Optional().Advanced().Example(shortDuration(d.JitterMax)).Description(describe("jitter_max", "Upper bound of the random jitter added to a backoff. Default `1s`.")),
		service.NewDurationField(fieldMaxDelay).Optional().Advanced().Example(shortDuration(d.MaxDelay)).Description(describe("max_delay", "Cap of one backoff delay and of a server's Retry-After. Default `60s`.")),
		service.NewDurationField(fieldTimeout).Optional().Example(shortDuration(d.Timeout)).Description(describe("timeout", "Timeout of each attempt. Default `30s`.")),
		service.NewIntField(fieldBreakerFailures).Optional().Advanced().Example(d.BreakerFailures).Description(describe("breaker_failures", "Failures (transport errors, 429, 5xx) that open a source's circuit breaker; an open source is skipped for the next one. Default 5.")),
		service.NewDurationField(fieldBreakerTimeout).Optional().Advanced().Example(shortDuration(d.BreakerTimeout)).Description(describe("breaker_timeout", "How long a breaker stays open before the source is probed again. Default `60s`.")),
		service.NewIntField(fieldMaxBodyBytes).Optional().Advanced().Example(d.MaxBodyBytes).Description(describe("max_body_bytes", "Largest body read (after gzip decoding); a larger one is invalid data. Default 67108864 (64 MiB).")),
		service.NewBoolField(fieldUseCache).Optional().Example(d.UseCache).Description(describe("use_cache", "Read documents from the cache before the network. Default true.")),
		service.NewBoolField(fieldWriteCache).Optional().Example(d.WriteCache).Description(describe("write_cache", "Store fetched documents (and 404 answers, briefly) in the cache. Default true.")),
		service.NewDurationField(fieldCacheTTL).Optional().Example(shortDuration(d.CacheTTL)).Description(describe("cache_ttl", "How long a cached document is fresh; a stale one with an ETag or Last-Modified is revalidated with a conditional request. `0s` caches no document (none is stored, so none is revalidated either). Default `1h`.")),
		service.NewDurationField(fieldNotFoundTTL).Optional().Advanced().Example(shortDuration(d.NotFoundTTL)).Description(describe("not_found_ttl", "How long a 404 answer is cached. Default `5m`.")),
		service.NewIntField(fieldCacheMaxBytes).Optional().Advanced().Example(d.CacheMaxBytes).Description(describe("cache_max_bytes", "Bound of the in-memory cache in bytes, each entry counting its bytes plus 256 for its bookkeeping; the oldest entries go first. Default 268435456 (256 MiB).")),
		service.NewStringField(fieldCacheDir).Optional().Advanced().Description(describe("cache_dir", "A directory holding a persistent cache tier, kept across runs. Expired records are removed in the background when it is opened, unless a sweep of it, by any process, ran to its end within the hour. Ignored when `cache_resource` is set. Default none.")),
		service.NewStringField(fieldCacheResource).Optional().Advanced().Description(describe("cache_resource", "The label of a Benthos cache resource (for example a `file` or `redis` cache) used as the persistent cache tier behind the in-memory one. Default none.")),
		service.NewBoolField(fieldValidate).Optional().Example(d.ValidatePayload).Description(describe("validate", "Validate each document by its kind of file (drivers, laptimes, telemetry, ...). Default true.")),
		service.NewBoolField(fieldNormalizeMissing).Optional().Advanced().Example(d.NormalizeMissing).Description(describe("normalize_missing", "Turn the strings `\"None\"`, `\"nan\"`, `\"NaN\"` and `\"\"` inside arrays into null. Bare `NaN`, `-NaN`, `Infinity` and `-Infinity` tokens always become null. Default true.")),
		service.NewBoolField(fieldAllowInsecureHTTP).Optional().Advanced().Description(describe("allow_insecure_http", "Allow `http://` sources that are not loopback. Default false.")),
		service.NewStringField(fieldUserAgent).Optional().Advanced().Example(d.UserAgent).Example("lap-loader/2 (data-team@example.com)").
			Description(describe("user_agent", fmt.Sprintf("The `User-Agent` header of every request: a job that names itself and a contact lets a source's operators reach it rather than block it. 1 to 256 printable ASCII characters. Default `%s`.", d.UserAgent))),
		service.NewObjectField(fieldTLS,
			service.NewStringField(fieldTLSRootCAsFile).Optional().Description(describe("tls.root_cas_file", "A PEM file of root CAs trusted besides the system ones (a mirror's self-signed CA).")),
			service.NewBoolField(fieldTLSSkipVerify).Optional().Description(describe("tls.skip_cert_verify", "Skip certificate verification. Never do this against the public CDN. Default false.")),
		).Optional().Advanced().Description("TLS settings of https sources."),
	}
})

// settingsFrom reads the engine fields over the F1FETCH_* environment and
// the defaults, and validates the result.
func settingsFrom(conf *service.ParsedConfig) (config.Settings, error) {
	s, err := envSettings(conf)
	if err != nil {
		return s, err
	}
	s, err = readFields(conf, s)
	return s, nameFields(conf, err)
}

// envSettings are the defaults under the F1FETCH_* variables of the fields
// conf leaves unset: the field wins, and a malformed variable it overrides
// is no error.
func envSettings(conf *service.ParsedConfig) (config.Settings, error) {
	s := config.Defaults()
	err := config.ApplyEnv(&s, os.LookupEnv, func(field string) bool { return confSets(conf, field) })
	return s, err
}

// confSets reports whether conf sets the field named by a dotted path
// ("tls.root_cas_file"), as fieldSet does.
func confSets(conf *service.ParsedConfig, field string) bool {
	return fieldSet(conf, strings.Split(field, ".")...)
}

// readFields reads the engine fields conf sets over s and validates the
// result. The error joins every field that cannot be read and
// config.Validate's *FieldErrors, these not yet named with the variables
// that stand in for unset fields.
func readFields(conf *service.ParsedConfig, s config.Settings) (config.Settings, error) {
	var errs []error
	for _, r := range engineReads {
		if !fieldSet(conf, r.path...) {
			continue
		}
		if err := r.set(conf, &s); err != nil {
			errs = append(errs, fmt.Errorf("field %s: %w", strings.Join(r.path, "."), err))
		}
	}
	return s, errors.Join(append(errs, joinedErrors(s.Validate())...)...)
}

// engineReads are the fields settingsFrom reads, each with the setting it
// sets: the build reads them, and so does the lint rule (engineLints).
var engineReads = []fieldRead{
	readInto((*service.ParsedConfig).FieldStringList, func(s *config.Settings) *[]string { return &s.BaseURLs }, fieldBaseURLs),
	readInto((*service.ParsedConfig).FieldString, func(s *config.Settings) *string { return &s.Ref }, fieldRef),
	readInto((*service.ParsedConfig).FieldInt, func(s *config.Settings) *int { return &s.MaxConcurrent }, fieldMaxConcurrent),
	readInto((*service.ParsedConfig).FieldBool, func(s *config.Settings) *bool { return &s.Adaptive }, fieldAdaptive),
	readInto((*service.ParsedConfig).FieldInt, func(s *config.Settings) *int { return &s.AdaptiveMin }, fieldAdaptiveMin),
	readInto((*service.ParsedConfig).FieldInt, func(s *config.Settings) *int { return &s.MaxRetries }, fieldMaxRetries),
	readInto((*service.ParsedConfig).FieldFloat, func(s *config.Settings) *float64 { return &s.BackoffFactor }, fieldBackoffFactor),
	readInto((*service.ParsedConfig).FieldDuration, func(s *config.Settings) *time.Duration { return &s.JitterMax }, fieldJitterMax),
	readInto((*service.ParsedConfig).FieldDuration, func(s *config.Settings) *time.Duration { return &s.MaxDelay }, fieldMaxDelay),
	readInto((*service.ParsedConfig).FieldDuration, func(s *config.Settings) *time.Duration { return &s.Timeout }, fieldTimeout),
	readInto((*service.ParsedConfig).FieldInt, func(s *config.Settings) *int { return &s.BreakerFailures }, fieldBreakerFailures),
	readInto((*service.ParsedConfig).FieldDuration, func(s *config.Settings) *time.Duration { return &s.BreakerTimeout }, fieldBreakerTimeout),
	readInto(fieldInt64, func(s *config.Settings) *int64 { return &s.MaxBodyBytes }, fieldMaxBodyBytes),
	readInto((*service.ParsedConfig).FieldBool, func(s *config.Settings) *bool { return &s.UseCache }, fieldUseCache),
	readInto((*service.ParsedConfig).FieldBool, func(s *config.Settings) *bool { return &s.WriteCache }, fieldWriteCache),
	readInto((*service.ParsedConfig).FieldDuration, func(s *config.Settings) *time.Duration { return &s.CacheTTL }, fieldCacheTTL),
	readInto((*service.ParsedConfig).FieldDuration, func(s *config.Settings) *time.Duration { return &s.NotFoundTTL }, fieldNotFoundTTL),
	readInto(fieldInt64, func(s *config.Settings) *int64 { return &s.CacheMaxBytes }, fieldCacheMaxBytes),
	readInto((*service.ParsedConfig).FieldString, func(s *config.Settings) *string { return &s.CacheDir }, fieldCacheDir),
	readInto((*service.ParsedConfig).FieldBool, func(s *config.Settings) *bool { return &s.ValidatePayload }, fieldValidate),
	readInto((*service.ParsedConfig).FieldBool, func(s *config.Settings) *bool { return &s.NormalizeMissing }, fieldNormalizeMissing),
	readInto((*service.ParsedConfig).FieldBool, func(s *config.Settings) *bool { return &s.AllowInsecureHTTP }, fieldAllowInsecureHTTP),
	readInto((*service.ParsedConfig).FieldString, func(s *config.Settings) *string { return &s.UserAgent }, fieldUserAgent),
	readInto((*service.ParsedConfig).FieldString, func(s *config.Settings) *string { return &s.TLSRootCAsFile }, fieldTLS, fieldTLSRootCAsFile),
	readInto((*service.ParsedConfig).FieldBool, func(s *config.Settings) *bool { return &s.TLSSkipVerify }, fieldTLS, fieldTLSSkipVerify),
	readInto((*service.ParsedConfig).FieldString, func(s *config.Settings) *string { return &s.CacheResource }, fieldCacheResource),
	readInto((*service.ParsedConfig).FieldString, func(s *config.Settings) *string { return &s.Component.RateLimit }, fieldRateLimit),
	// The fields below belong to some components only; the others' specs lack them.
	readInto((*service.ParsedConfig).FieldString, func(s *config.Settings) *string { return &s.Component.OnNotFound }, fieldOnNotFound),
	readInto((*service.ParsedConfig).FieldInt, func(s *config.Settings) *int { return &s.Component.Prefetch }, fieldPrefetch),
	readInto((*service.ParsedConfig).FieldDuration, func(s *config.Settings) *time.Duration { return &s.Component.ProgressInterval }, fieldProgressInterval),
}

// fieldRead reads the field at path into its setting.
type fieldRead struct {
	path []string
	set  func(conf *service.ParsedConfig, s *config.Settings) error
}

// readInto is the fieldRead of the field at path, read by get into the
// setting that field returns; a value that cannot be read leaves the
// setting as it was, so that Validate does not refuse a value nobody wrote.
func readInto[T any](get func(*service.ParsedConfig, ...string) (T, error), field func(*config.Settings) *T, path ...string) fieldRead {
	return fieldRead{path, func(conf *service.ParsedConfig, s *config.Settings) error {
		v, err := get(conf, path...)
		if err == nil {
			*field(s) = v
		}
		return err
	}}
}

// fieldInt64 reads an int field as the int64 of a byte size.
func fieldInt64(conf *service.ParsedConfig, path ...string) (int64, error) {
	n, err := conf.FieldInt(path...)
	return int64(n), err
}

// fieldSet reports whether the config sets the field at path, which then
// wins over its F1FETCH_* variable. Benthos fills an unset optional list
// with [], so an empty base_urls is unset (no source at all is never
// meant).
func fieldSet(conf *service.ParsedConfig, path ...string) bool {
	if !conf.Contains(path...) {
		return false
	}
	if len(path) == 1 && path[0] == fieldBaseURLs {
		urls, err := conf.FieldStringList(path...)
		return err != nil || len(urls) > 0 // a malformed list is set, and refused when read
	}
	return true
}

// nameFields names the fields of err's *config.FieldErrors (err may join
// several) as fieldFrom does.
func nameFields(conf *service.ParsedConfig, err error) error {
	for _, e := range joinedErrors(err) {
		if fe, ok := errors.AsType[*config.FieldError](e); ok {
			fe.Field = fieldFrom(conf, fe.Field)
		}
	}
	return err
}

// joinedErrors are the errors errors.Join joined into err, or err alone.
func joinedErrors(err error) []error {
	if joined, ok := err.(interface{ Unwrap() []error }); ok {
		return joined.Unwrap()
	}
	return []error{err}
}

// fieldFrom is how an error names field: with the F1FETCH_* variable its
// value came from when the config does not set it, since a component may
// not even have the field (F1FETCH_PREFETCH read by f1_expand).
func fieldFrom(conf *service.ParsedConfig, field string) string {
	if env := envOf(field); env != "" && !confSets(conf, field) && strings.TrimSpace(os.Getenv(env)) != "" {
		return fmt.Sprintf("%s (from %s)", field, env)
	}
	return field
}

// engine is what a fetching component holds: its checked settings, the
// shared client once used, the component's metrics and its optional rate
// limit.
type engine struct {
	settings config.Settings
	tier     cache.Tier // a cache resource, or nil
	metrics  *metrics
	log      *service.Logger
	gate     fetch.Gate // nil without rate_limit
	own      config.ComponentSettings

	mu     sync.Mutex
	shared *fetch.Shared // acquired by client, released by close
	stop   func()        // removes metrics from the client's observers
	closed bool
}

// client returns the client shared by equal settings, acquiring it on the
// component's first use rather than when it is built: Benthos does not
// close the components of a stream that fails to build (a component after
// this one refused), and a client acquired then would never be released,
// its connection, goroutines and memory tier kept for good.
func (e *engine) client() (*fetch.Shared, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil, errors.New("f1fetch: the component is closed")
	}
	if e.shared == nil {
		c, err := fetch.Acquire(e.settings, e.tier)
		if err != nil {
			return nil, err
		}
		e.shared, e.stop = c, c.Observe(e.metrics)
	}
	return e.shared, nil
}

// paced returns ctx carrying the component's rate limit, if any, for the
// client to pass before every attempt.
func (e *engine) paced(ctx context.Context) context.Context {
	if e.gate == nil {
		return ctx
	}
	return fetch.WithGate(ctx, e.gate)
}

// read fetches one tuple for a session plan (f1_expand's reads, the
// input's reads of documents it does not emit) and counts it in the
// metrics, once, as every fetch is: f1_requests, f1_request_latency_ns,
// f1_cache, f1_retries. Its bytes stay out of f1_bytes, the bytes of the
// documents emitted. A read its context ended is not an outcome and is not
// counted. The result carries any error.
func (e *engine) read(ctx context.Context, t tuple.Tuple) fetch.Result {
	c, err := e.client()
	if err != nil {
		return fetch.Result{Tuple: t, Err: err}
	}
	r, _ := c.FetchOne(ctx, t)
	if r.Err == nil || ctx.Err() == nil {
		counted := r
		counted.Bytes = 0
		e.metrics.record(counted)
	}
	return r
}

// newEngine checks the settings of a component as the client it will
// share with equal settings (and the same cache resource) would, so that
// a refusal fails the stream's build.
func newEngine(conf *service.ParsedConfig, mgr *service.Resources) (*engine, error) {
	s, err := settingsFrom(conf)
	if err != nil {
		return nil, err
	}
	var tier cache.Tier // nil: the client opens cache_dir, if any
	if s.CacheResource != "" {
		if !mgr.HasCache(s.CacheResource) {
			return nil, fmt.Errorf("field %s: value %q: no cache resource with this label", fieldFrom(conf, fieldCacheResource), s.CacheResource)
		}
		tier = &resourceTier{mgr: mgr, name: s.CacheResource}
	}
	var gate fetch.Gate
	if name := s.Component.RateLimit; name != "" {
		if !mgr.HasRateLimit(name) {
			return nil, fmt.Errorf("field %s: value %q: no rate_limit resource with this label", fieldFrom(conf, fieldRateLimit), name)
		}
		gate = &rateLimitGate{mgr: mgr, name: name}
	}
	if err := checkSourcesAndRoots(s); err != nil {
		return nil, nameFields(conf, err)
	}
	if err := fetch.Check(s, tier); err != nil {
		return nil, nameFields(conf, err)
	}
	return &engine{settings: s, tier: tier, metrics: newMetrics(mgr.Metrics(), mgr.Logger()), log: mgr.Logger(), gate: gate, own: s.Component}, nil
}

// checkSourcesAndRoots refuses, as *config.FieldErrors, what fetch.Check
// would refuse past Validate without a FieldError: a base that
// tuple.ParseSource refuses (a placeholder in the host, a template without
// {path}) and a tls.root_cas_file that cannot be read or holds no PEM
// certificate. As FieldErrors they are named by nameFields, so the error
// names the F1FETCH_* variable a value came from, and the value (a base
// without its credentials).
func checkSourcesAndRoots(s config.Settings) error {
	errs := joinedErrors(checkSources(s))
	if file := s.TLSRootCAsFile; file != "" {
		reason := ""
		pem, err := os.ReadFile(file)
		if pe, ok := errors.AsType[*fs.PathError](err); ok {
			reason = pe.Op + ": " + pe.Err.Error() // the path is the value
		} else if err != nil {
			reason = err.Error()
		} else if !x509.NewCertPool().AppendCertsFromPEM(pem) {
			reason = "no PEM certificate found"
		}
		if reason != "" {
			errs = append(errs, &config.FieldError{Field: fieldTLS + "." + fieldTLSRootCAsFile, Value: strconv.Quote(file), Reason: reason})
		}
	}
	return errors.Join(errs...)
}

// checkSources refuses, as *config.FieldErrors, the bases that
// tuple.ParseSource refuses. It reads nothing but the settings, so the lint
// rule runs it too (engineLints); the root CAs file is read where the
// component is built.
func checkSources(s config.Settings) error {
	var errs []error
	for _, b := range s.BaseURLs {
		if _, err := tuple.ParseSource(b); err != nil {
			value := strconv.Quote(config.HideCredentials(b))
			errs = append(errs, &config.FieldError{Field: fieldBaseURLs, Value: value, Reason: strings.TrimPrefix(err.Error(), "base URL "+value+": ")})
		}
	}
	return errors.Join(errs...)
}

// rateLimitGate adapts a Benthos rate_limit resource to the engine's Gate.
type rateLimitGate struct {
	mgr  *service.Resources
	name string
}

// Wait takes one access of the rate limit, sleeping as long as it says.
func (g *rateLimitGate) Wait(ctx context.Context) error {
	for {
		var wait time.Duration
		var err error
		if aerr := g.mgr.AccessRateLimit(ctx, g.name, func(rl service.RateLimit) { wait, err = rl.Access(ctx) }); aerr != nil {
			err = aerr
		}
		if err != nil {
			return fmt.Errorf("rate_limit %q: %w", g.name, err)
		}
		if wait <= 0 {
			return nil
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		}
	}
}

// close releases the client, if the component used it; later uses fail.
func (e *engine) close() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.closed = true
	if e.shared != nil {
		e.stop()
		e.shared.Release()
		e.shared = nil
	}
}

// resourceTier adapts a Benthos cache resource to the engine's persistent
// cache tier.
type resourceTier struct {
	mgr  *service.Resources
	name string
}

// resourceKey makes a key safe for any cache resource, the file cache
// included (it uses keys as file names).
func resourceKey(key string) string { return url.PathEscape(key) }

// Get reads a value; a failure other than a miss is returned named.
func (r *resourceTier) Get(ctx context.Context, key string) (val []byte, err error) {
	if aerr := r.mgr.AccessCache(ctx, r.name, func(c service.Cache) { val, err = c.Get(ctx, resourceKey(key)) }); aerr != nil {
		err = aerr
	}
	switch {
	case err == nil:
		// A resource may hand out the bytes it stores (the memory cache
		// does); the engine keeps what Get returns.
		return bytes.Clone(val), nil
	case errors.Is(err, service.ErrKeyNotFound):
		return nil, cache.ErrMiss
	}
	return nil, fmt.Errorf("cache resource %q: get %s: %w", r.name, key, err)
}

// Set stores a value; a failure is returned named.
func (r *resourceTier) Set(ctx context.Context, key string, value []byte, ttl time.Duration) (err error) {
	if aerr := r.mgr.AccessCache(ctx, r.name, func(c service.Cache) { err = c.Set(ctx, resourceKey(key), value, &ttl) }); aerr != nil {
		err = aerr
	}
	if err != nil {
		err = fmt.Errorf("cache resource %q: set %s: %w", r.name, key, err)
	}
	return err
}

// onNotFoundField says what becomes of a 404. Its example is its default,
// for `f1fetch create` to write (as engineFields).
func onNotFoundField() *service.ConfigField {
	return service.NewStringAnnotatedEnumField(fieldOnNotFound, map[string]string{
		"drop":  "Drop the message and count it in the metric `f1_not_found_dropped` (the seed turns a 404 into an empty result).",
		"error": "Keep the message, flagged with an error and `f1_error_kind: not_found`, for `catch` or a dead-letter output.",
	}).Optional().Example(config.Defaults().Component.OnNotFound).Description(describe("on_not_found", "What becomes of a file the source answers 404 for. Default `drop`."))
}

// shortDuration writes d as a user would, "1h" rather than time's "1h0m0s",
// for the examples `f1fetch create` writes.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
