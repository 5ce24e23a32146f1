// Package fetch is the f1fetch engine: an HTTP/2 client that fetches the
// files named by tuples from a list of sources, with a process-wide limiter,
// coalescing of identical requests, retries, a circuit breaker per source, a
// byte-bounded TTL cache and payload validation. FetchMany returns results
// in request order and never fails as a whole.
//
// It does not import Benthos: any Go program can use it.
package fetch

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/eapache/go-resiliency/breaker"

	"github.com/f1fetch/f1fetch/config"
	"github.com/f1fetch/f1fetch/plugin/cache"
	"github.com/f1fetch/f1fetch/plugin/payload"
	"github.com/f1fetch/f1fetch/plugin/retry"
	"github.com/f1fetch/f1fetch/plugin/tuple"
)

// staleRetention is how long a document with validators (ETag or
// Last-Modified) is kept past its TTL, so that it can be revalidated with a
// conditional request instead of downloaded again.
const staleRetention = 24 * time.Hour

// Cache outcomes, as the f1_cache metadata.
const (
	CacheHit         = "hit"
	CacheMiss        = "miss"
	CacheRevalidated = "revalidated"
)

// Result is the outcome of one tuple: the normalised document, or Err.
type Result struct {
	Tuple    tuple.Tuple
	Doc      []byte       // normalised JSON, nil on failure
	Kind     payload.Kind // kind of file, from the path
	URL      string       // URL of the source that answered (or was tried last)
	Source   string       // that source's base
	Status   int          // HTTP status of the last answer (200 for cache hits)
	Cache    string       // hit, miss or revalidated
	Attempts int          // tries that sent a request (0 for cache hits and when none could be sent)
	Duration time.Duration
	Bytes    int // document bytes
	Err      error

	// TierErrors are the failures of the persistent cache tier met while
	// serving this result (its lookup; for the caller whose fetch went to
	// the network, the write of what came back). The fetch went on
	// without the tier, so nothing is lost, but a cache that stopped
	// answering must not go unnoticed.
	TierErrors []error
}

// Client fetches tuples. It is safe for concurrent use; share one per
// settings value (see Acquire) so that the limiter and the connections are
// shared as the seed's global semaphore and session were.
type Client struct {
	set     config.Settings
	sources []*source
	limit   *limiter
	adapt   *aimd   // nil unless Settings.Adaptive; used under learnMu
	paused  *pauses // every request's in adaptive mode; nil otherwise (each request has its own)
	cache   *cache.Cache
	mem     *cache.Memory
	flights flights
	policy  retry.Policy
	decode  payload.Options
	keyPfx  string

	base   context.Context // cancelled by Close: ends every wait
	cancel context.CancelFunc

	obsMu     sync.Mutex
	observers []Observer
	states    map[string]string // last breaker state seen per source

	// learnMu serialises adapt.learn with applying its limit to the
	// limiter and the observers: two answers learnt at once would
	// otherwise apply their limits in either order.
	learnMu sync.Mutex

	closeOnce sync.Once

	sweeping sync.WaitGroup        // the sweep of cache_dir, stopped by Close
	sweepErr atomic.Pointer[error] // its failure, told with the next Result
}

// CacheBytes is the size of the in-memory cache tier.
func (c *Client) CacheBytes() int64 { return c.mem.Bytes() }

// Observer receives the client-wide gauges: requests in flight, breaker
// states and the in-flight limit (which moves only in adaptive mode).
// Per-request facts travel in Result.
type Observer interface {
	InFlight(n int)
	BreakerState(source, state string)
	ConcurrencyLimit(n int)
}

// New builds a client for settings s. tier is an optional persistent cache
// tier (nil for memory only; Settings.CacheDir adds a directory tier when
// tier is nil, swept of expired records as it opens, and the error of
// opening it is a *config.FieldError). The tier's failures travel in the
// Results they touched (Result.TierErrors).
func New(s config.Settings, tier cache.Tier) (*Client, error) {
	sources, dir, err := openParts(s, tier)
	if err != nil {
		return nil, err
	}
	c := &Client{
		set:     s,
		sources: sources,
		limit:   newLimiter(s.MaxConcurrent),
		policy: retry.Policy{
			MaxRetries:    s.MaxRetries,
			BackoffFactor: s.BackoffFactor,
			JitterMax:     s.JitterMax,
			MaxDelay:      s.MaxDelay,
		},
		decode: payload.Options{Validate: s.ValidatePayload, NormalizeMissing: s.NormalizeMissing},
		states: make(map[string]string),
	}
	// The cache holds decoded documents, so the key names the decode options
	// as well as the ref and the tuple: a persistent tier shared by runs with
	// other options never hands out a document they did not check.
	c.keyPfx = fmt.Sprintf("f1fetch/v1/%s/v%d n%d/", s.Ref, b2i(s.ValidatePayload), b2i(s.NormalizeMissing))
	if dir != nil {
		tier = dir
	}
	if s.Adaptive {
		c.adapt = newAIMD(s.AdaptiveMin, s.MaxConcurrent)
		c.paused = newPauses(len(c.sources))
	}
	c.mem = cache.NewMemory(s.CacheMaxBytes)
	c.cache = cache.New(c.mem, tier)
	c.base, c.cancel = context.WithCancel(context.Background())
	if dir != nil {
		// On a goroutine: New runs under the registry's lock, which a pass
		// over a season's files would hold for a second or more.
		c.sweeping.Add(1)
		go func() {
			defer c.sweeping.Done()
			if _, _, err := dir.SweepIfDue(c.base, time.Now()); err != nil && c.base.Err() == nil {
				c.sweepErr.Store(&err)
			}
		}()
	}
	return c, nil
}

// Check reports what New(s, tier) would refuse (a setting, the TLS roots
// file, a base URL, a cache_dir that cannot be a directory) without
// building a client: nothing it makes runs or needs closing (it creates a
// missing cache_dir, as New would). Benthos does
// not close the components of a stream that fails to build, so the
// components check their settings when built and acquire their client on
// first use.
func Check(s config.Settings, tier cache.Tier) error {
	_, _, err := openParts(s, tier)
	return err
}

// openParts checks s and makes what New can be refused for: the sources,
// and the cache directory when s names one and tier is nil. Nothing of it
// runs until used.
func openParts(s config.Settings, tier cache.Tier) ([]*source, *cache.Dir, error) {
	if err := s.Validate(); err != nil {
		return nil, nil, err
	}
	roots, err := loadRoots(s.TLSRootCAsFile)
	if err != nil {
		return nil, nil, err
	}
	var sources []*source
	for _, b := range s.BaseURLs {
		src, err := newSource(b, s, roots)
		if err != nil {
			return nil, nil, err
		}
		sources = append(sources, src)
	}
	if tier != nil || s.CacheDir == "" {
		return sources, nil, nil
	}
	dir, err := cache.NewDir(s.CacheDir)
	if err != nil {
		return nil, nil, &config.FieldError{Field: "cache_dir", Value: strconv.Quote(s.CacheDir), Reason: err.Error()}
	}
	return sources, dir, nil
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// Settings returns the settings the client was built with.
func (c *Client) Settings() config.Settings { return c.set }

// Observe adds an observer of the client-wide gauges; the returned func
// removes it.
func (c *Client) Observe(o Observer) (remove func()) {
	c.obsMu.Lock()
	c.observers = append(c.observers, o)
	for src, st := range c.states {
		o.BreakerState(src, st)
	}
	o.ConcurrencyLimit(c.limit.size())
	c.obsMu.Unlock()
	return func() {
		c.obsMu.Lock()
		defer c.obsMu.Unlock()
		for i, x := range c.observers {
			if x == o {
				c.observers = append(c.observers[:i:i], c.observers[i+1:]...)
				return
			}
		}
	}
}

func (c *Client) notifyInFlight() {
	c.obsMu.Lock()
	defer c.obsMu.Unlock()
	n := c.limit.current() // read under the lock, so the last value told is the latest
	for _, o := range c.observers {
		o.InFlight(n)
	}
}

// learn feeds one attempt's outcome to the adaptive limit.
func (c *Client) learn(start time.Time, l lesson, latency time.Duration) {
	if c.adapt == nil {
		return
	}
	c.learnMu.Lock()
	defer c.learnMu.Unlock()
	n, changed := c.adapt.learn(start, l, latency)
	if !changed {
		return
	}
	c.limit.setLimit(n)
	c.obsMu.Lock()
	defer c.obsMu.Unlock()
	for _, o := range c.observers {
		o.ConcurrencyLimit(n)
	}
}

func (c *Client) notifyBreaker(src *source) {
	st := src.state()
	c.obsMu.Lock()
	defer c.obsMu.Unlock()
	if c.states[src.name] == st {
		return
	}
	c.states[src.name] = st
	for _, o := range c.observers {
		o.BreakerState(src.name, st)
	}
}

// Close cancels every wait, closes the connections and the cache. Results
// still being fetched end with a cancellation error.
func (c *Client) Close() error {
	c.closeOnce.Do(func() {
		c.cancel()
		c.sweeping.Wait()
		c.closeSources()
		c.cache.Close()
	})
	return nil
}

func (c *Client) closeSources() {
	for _, s := range c.sources {
		s.transport.CloseIdleConnections()
		s.conns.closeAll() // those whose last stream was still being torn down
	}
}

// FetchMany fetches every tuple concurrently (bounded by the limiter) and
// returns one Result per tuple, in request order. It never fails as a whole.
//
// Each tuple has its own goroutine, so a tuple waiting out a backoff, or
// waiting for an identical fetch in flight that it joined, never holds
// another back, but goroutines are started only as fast as they get
// through the limiter: at most twice max_concurrent_requests wait for a
// first slot at any time. A batch of 100,000 tuples therefore does not
// stack 100,000 goroutines in front of the limiter, and the first requests
// go out before the rest are looked at.
func (c *Client) FetchMany(ctx context.Context, ts []tuple.Tuple) []Result {
	out := make([]Result, len(ts))
	waiting := make(chan struct{}, 2*c.set.MaxConcurrent)
	var wg sync.WaitGroup
	for i, t := range ts {
		waiting <- struct{}{}
		a := &admission{leave: func() { <-waiting }}
		wg.Go(func() {
			defer a.admitted()
			out[i], _ = c.FetchOne(context.WithValue(ctx, admissionKey{}, a), t)
		})
	}
	wg.Wait()
	return out
}

// admission tells FetchMany when one of its tuples got its first slot,
// joined an identical fetch in flight (it needs no slot then), or ended
// without needing one, so that it may start the next.
type admission struct {
	once  sync.Once
	leave func()
}

type admissionKey struct{}

// admissionOf is the admission of a FetchMany tuple; nil for other callers.
func admissionOf(ctx context.Context) *admission {
	a, _ := ctx.Value(admissionKey{}).(*admission)
	return a
}

// admitted gives the tuple's place back, once; nil (no FetchMany) is a no-op.
func (a *admission) admitted() {
	if a != nil {
		a.once.Do(a.leave)
	}
}

// FetchOne fetches one tuple. The error is also in Result.Err; it is one of
// *BadRequestError, *NotFoundError, *NetworkError, *InvalidDataError, or the
// context's error.
func (c *Client) FetchOne(ctx context.Context, t tuple.Tuple) (Result, error) {
	start := time.Now()
	res := c.fetchOne(ctx, t)
	// A cache_dir that cannot be swept fills the disk: said once, with a
	// result its caller still waits for. Load first: a Swap on every fetch
	// would write the shared word each time.
	if c.sweepErr.Load() != nil && ctx.Err() == nil {
		if err := c.sweepErr.Swap(nil); err != nil {
			res.TierErrors = append(res.TierErrors, *err)
		}
	}
	res.Tuple = t
	res.Kind = payload.KindOf(t.Path)
	res.Duration = time.Since(start)
	return res, res.Err
}

func (c *Client) fetchOne(ctx context.Context, t tuple.Tuple) Result {
	if err := t.Validate(); err != nil {
		return Result{Err: &BadRequestError{Err: err}}
	}
	if err := c.base.Err(); err != nil {
		return Result{Err: fmt.Errorf("fetch %s: client closed: %w", t, err)}
	}
	key := c.keyPfx + t.String()
	var stale *cache.Entry
	var lookupErr error
	if c.set.UseCache {
		// A shared persistent tier may hold a document a run with a larger
		// max_body_bytes stored: this client would refuse it, so it is not
		// served (the network answers, and is held to the limit). The limit
		// is on the body as sent, which normalising may lengthen.
		e, ok, err := c.cache.Get(ctx, key)
		if ctx.Err() == nil {
			lookupErr = err
		}
		if ok && int64(e.Size) <= c.set.MaxBodyBytes {
			if e.Fresh(time.Now(), c.ttlOf(e)) {
				return c.fromCache(t, e)
			}
			if e.Status == 200 && (e.ETag != "" || e.LastModified != "") {
				stale = &e
			}
		}
	}
	// A joiner sends nothing: it gives its FetchMany place back, as a tuple
	// waiting out a backoff does, or duplicates of one slow tuple would
	// hold back the rest of the batch until its fetch ended.
	joined := admissionOf(ctx).admitted
	res, shared := c.flights.do(ctx, c.base, key, joined, func(fctx context.Context) Result {
		return c.fetchNetwork(fctx, t, key, stale)
	})
	if shared {
		// It joined another caller's fetch and sent no request: the tries
		// (and retries), and the write of what came back, are counted
		// once, by that caller (or, had it left, the first joiner).
		res.Attempts, res.TierErrors = 0, nil
	}
	if lookupErr != nil {
		res.TierErrors = append([]error{lookupErr}, res.TierErrors...)
	}
	return res
}

func (c *Client) fromCache(t tuple.Tuple, e cache.Entry) Result {
	res := Result{URL: c.urlOn(e.Source, t), Source: e.Source, Status: e.Status, Cache: CacheHit}
	if e.Status == 404 {
		res.Err = &NotFoundError{Tuple: t, URL: res.URL}
		return res
	}
	res.Doc, res.Bytes = e.Body, len(e.Body)
	return res
}

// urlOn is t's URL (credentials redacted) on the source named name, as a
// network answer reports it; "" when no source of this client has that name
// (an entry another configuration wrote to a shared cache_dir).
func (c *Client) urlOn(name string, t tuple.Tuple) string {
	for _, src := range c.sources {
		if src.name == name {
			return tuple.Redact(src.base.URL(t, c.set.Ref))
		}
	}
	return ""
}

// fetchNetwork runs the attempts with retries, then decodes and caches.
func (c *Client) fetchNetwork(ctx context.Context, t tuple.Tuple, key string, stale *cache.Entry) Result {
	res := Result{Cache: CacheMiss}
	var ans answer
	var lastStatus int
	var validators *answer
	if stale != nil {
		validators = &answer{etag: stale.ETag, lastModified: stale.LastModified}
	}
	// A Retry-After keeps its source away from this request's next
	// attempts, even when the attempt then fell over to a source that failed
	// otherwise (retry.Do waits only for the last error's). With a fixed
	// limit the other requests are not held: the pauses are this request's.
	paused := c.paused
	if paused == nil {
		paused = newPauses(len(c.sources))
	}
	// attempts counts the tries that sent a request: a try that found every
	// breaker open, or ended waiting for a slot, sent nothing (src "").
	attempts := 0
	_, err := retry.Do(ctx, c.policy, retry.Classifier{}, func(actx context.Context, _ int) error {
		a, src, url, err := c.attempt(actx, t, validators, paused)
		if src != "" {
			attempts++
			res.URL, res.Source, res.Status = url, src, a.status
			if a.status != 0 {
				lastStatus = a.status
			}
		}
		ans = a
		return err
	})
	res.Attempts = attempts
	switch {
	case err == nil:
	case isStatus(err, 404):
		res.Err = &NotFoundError{Tuple: t, URL: res.URL}
		if c.set.WriteCache && c.set.NotFoundTTL > 0 {
			now := time.Now()
			res.tierFailed(ctx, c.cache.Set(ctx, key, cache.Entry{Status: 404, Source: res.Source, Expires: now.Add(c.set.NotFoundTTL), Stored: now}, c.set.NotFoundTTL))
		}
		return res
	case errors.Is(err, errBodyTooLarge), errors.Is(err, errNotJSON), errors.Is(err, errEncoding):
		res.Err = &InvalidDataError{Tuple: t, URL: res.URL, Reason: err.Error(), Err: err}
		return res
	default:
		res.Err = &NetworkError{Tuple: t, URL: res.URL, LastStatus: lastStatus, Attempts: attempts, Err: err}
		return res
	}

	if ans.status == 304 && stale != nil {
		res.Cache, res.Doc, res.Bytes = CacheRevalidated, stale.Body, len(stale.Body)
		if e, retain, ok := c.storable(*stale); ok {
			res.tierFailed(ctx, c.cache.Refresh(ctx, key, e, retain))
		}
		return res
	}
	// The slot this attempt released woke the next request's goroutine;
	// let it send its request before this one spends CPU decoding
	// (measured: the next request went out 1.3 ms later on average on 2
	// busy cores, 20 µs with the yield).
	runtime.Gosched()
	doc, err := payload.Decode(t.Path, ans.body, c.decode)
	if err != nil {
		reason := err.Error()
		var pe *payload.InvalidError
		if errors.As(err, &pe) {
			reason = pe.Reason
		}
		res.Err = &InvalidDataError{Tuple: t, URL: res.URL, Reason: reason, Err: err}
		return res
	}
	res.Doc, res.Bytes = doc, len(doc)
	if e, retain, ok := c.storable(cache.Entry{Status: 200, Body: doc, ETag: ans.etag, LastModified: ans.lastModified, Source: res.Source, Size: len(ans.body)}); ok {
		// A failing tier does not fail the fetch: the document is good and
		// the memory tier holds it.
		res.tierFailed(ctx, c.cache.Set(ctx, key, e, retain))
	}
	return res
}

// ttlOf is how long this client keeps an entry of e's kind fresh.
func (c *Client) ttlOf(e cache.Entry) time.Duration {
	if e.Status == 404 {
		return c.set.NotFoundTTL
	}
	return c.set.CacheTTL
}

// tierFailed keeps err, a failed write to the persistent tier, unless it
// is nil or the fetch's context ended (no failure of the tier).
func (r *Result) tierFailed(ctx context.Context, err error) {
	if err != nil && ctx.Err() == nil {
		r.TierErrors = append(r.TierErrors, err)
	}
}

// storable stamps a document entry fresh for cache_ttl from now, kept longer
// when it can be revalidated; not ok when this client writes no cache.
func (c *Client) storable(e cache.Entry) (cache.Entry, time.Duration, bool) {
	if !c.set.WriteCache || c.set.CacheTTL <= 0 {
		return e, 0, false
	}
	e.Stored = time.Now()
	e.Expires = e.Stored.Add(c.set.CacheTTL)
	retain := c.set.CacheTTL
	if e.ETag != "" || e.LastModified != "" {
		retain += staleRetention
	}
	return e, retain, true
}

// attempt is one try: the first source whose breaker is not open and that
// paused does not hold back, falling over to the next source when one fails
// in a way that counts against it.
func (c *Client) attempt(ctx context.Context, t tuple.Tuple, validators *answer, paused *pauses) (a answer, srcName, url string, err error) {
	for {
		var wait time.Duration
		a, srcName, url, wait, err = c.tryOnce(ctx, t, validators, paused)
		if wait == 0 {
			return a, srcName, url, err
		}
		// Every usable source is paused: wait without holding a slot.
		if err := retry.Sleep(ctx, wait); err != nil {
			return answer{}, "", "", retry.Permanent(err)
		}
	}
}

// admit waits until the attempt may start: a source not paused, the
// caller's gate, then a slot of the in-flight limit, in that order so that
// waiting never holds a slot.
func (c *Client) admit(ctx context.Context, paused *pauses) error {
	if err := paused.wait(ctx); err != nil {
		return err
	}
	if g := gateOf(ctx); g != nil {
		if err := g.Wait(ctx); err != nil {
			return fmt.Errorf("gate: %w", err)
		}
	}
	if err := c.limit.acquire(ctx); err != nil {
		return err
	}
	admissionOf(ctx).admitted()
	return nil
}

// tryOnce is attempt within one slot. A wait above 0 means every source it
// could use was paused for that long, and nothing was sent.
func (c *Client) tryOnce(ctx context.Context, t tuple.Tuple, validators *answer, paused *pauses) (a answer, srcName, url string, wait time.Duration, err error) {
	if err := c.admit(ctx, paused); err != nil {
		return answer{}, "", "", 0, retry.Permanent(err)
	}
	c.notifyInFlight()
	defer func() {
		c.limit.release()
		c.notifyInFlight()
	}()

	tried := false
	for i, src := range c.sources {
		if left := paused.left(i, time.Now()); left > 0 {
			if wait == 0 || left < wait {
				wait = left
			}
			continue
		}
		u := src.base.URL(t, c.set.Ref)
		var got answer
		var getErr error
		berr := src.call(func(probe bool) error {
			start := time.Now()
			got, getErr = src.get(ctx, u, c.set, validators)
			if c.pushedBack(ctx, paused, i, start, getErr) {
				return nil // paced by the pause, not a sign of ill health
			}
			if retry.CountsAgainstSource(getErr) {
				return getErr
			}
			if probe && errors.Is(getErr, context.Canceled) {
				// The caller gave up before the source answered: no
				// verdict, and a nil would close the breaker.
				return fmt.Errorf("%w: %w", errProbeAbandoned, getErr)
			}
			return nil
		})
		c.notifyBreaker(src)
		if errors.Is(berr, breaker.ErrBreakerOpen) {
			continue
		}
		// The answer of the last source asked, with its URL: a later source
		// skipped for its open breaker is not named.
		tried = true
		a, srcName, url, err = got, src.name, tuple.Redact(u), getErr
		if err == nil || !retry.CountsAgainstSource(err) || ctx.Err() != nil {
			return a, srcName, url, 0, err
		}
	}
	if !tried && wait > 0 {
		return answer{}, "", "", wait, nil
	}
	if !tried {
		return answer{}, "", "", 0, retry.Permanent(fmt.Errorf("all %d source(s) unavailable: circuit breaker open", len(c.sources)))
	}
	return a, srcName, url, 0, err
}

// pushedBack pauses source i in paused for as long as its answer's
// Retry-After asks (retry.Policy.RetryAfter), and in adaptive mode teaches
// the adaptive limit what the answer to an attempt begun at start says. It
// reports whether the answer was a refusal the adaptive mode paces, which
// then does not count against the source's breaker; with a fixed limit a
// 429 or 5xx counts, as the seed's breaker did.
func (c *Client) pushedBack(ctx context.Context, paused *pauses, i int, start time.Time, err error) bool {
	wait := c.policy.RetryAfter(err)
	if wait > 0 {
		paused.pause(i, time.Now().Add(wait))
	}
	if c.adapt == nil {
		return false
	}
	var se *retry.StatusError
	answered := errors.As(err, &se)
	switch {
	case answered && (se.Status == 429 || se.Status == 503):
		c.learn(start, lessonPushback, 0)
		return wait > 0
	case err == nil || answered,
		// An attempt timeout is the slowest answer there is.
		errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil:
		c.learn(start, lessonAnswer, time.Since(start))
	}
	return false
}

func isStatus(err error, status int) bool {
	var se *retry.StatusError
	return errors.As(err, &se) && se.Status == status
}
