package mirror

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"time"
)

// Faults is the fault set of a mirror: the JSON document of /_mirror/faults.
// For every file request the first rule whose PathPrefix matches applies;
// no rule, no fault.
type Faults struct {
	// Seed re-seeds the fault RNG when the faults are set (0 keeps the
	// current RNG). Same seed and same request order, same faults.
	Seed  uint64 `json:"seed,omitempty"`
	Rules []Rule `json:"rules"`
}

// Rule injects faults into the requests whose path starts with PathPrefix.
// The path is the decoded request path after any URL prefix, for example
// "/2025@main/Australian Grand Prix/Race/drivers.json"; "" matches all.
//
// Per request, in this order: quota (429 when no token is left), fail_first_n,
// latency (fixed + uniform jitter + lognormal), then independent random draws
// for reset, stream reset, status, stall, truncate and corrupt. Rates are
// probabilities in [0,1]; every wait, the drawn latency too, is at most
// MaxFaultDelay, a day.
type Rule struct {
	PathPrefix string `json:"path_prefix,omitempty"`

	LatencyMS         float64 `json:"latency_ms,omitempty"`          // fixed delay before answering
	JitterMS          float64 `json:"jitter_ms,omitempty"`           // plus U(0, jitter_ms)
	LognormalMedianMS float64 `json:"lognormal_median_ms,omitempty"` // plus median*exp(sigma*N(0,1))
	LognormalSigma    float64 `json:"lognormal_sigma,omitempty"`

	StatusRate    map[int]float64 `json:"status_rate,omitempty"`     // status code -> rate, e.g. {"500":0.1}
	Status429Rate float64         `json:"status_429_rate,omitempty"` // 429 with Retry-After
	RetryAfterS   int             `json:"retry_after_s,omitempty"`   // Retry-After on 429 (default 1) and, when set, on 503

	ResetRate       float64 `json:"reset_rate,omitempty"`        // TCP reset of the whole connection
	StreamResetRate float64 `json:"stream_reset_rate,omitempty"` // HTTP/2 RST_STREAM of this request only
	StallMS         int     `json:"stall_ms,omitempty"`          // pause after half the body
	StallRate       float64 `json:"stall_rate,omitempty"`
	TruncateRate    float64 `json:"truncate_rate,omitempty"` // half the body, then the stream is aborted
	CorruptRate     float64 `json:"corrupt_rate,omitempty"`  // 200 with a body that is not valid JSON

	QuotaRPS   float64 `json:"quota_rps,omitempty"`   // token bucket over all paths of the rule
	QuotaBurst int     `json:"quota_burst,omitempty"` // bucket size, default ceil(quota_rps)

	FailFirstN int `json:"fail_first_n,omitempty"` // the first n requests of each path fail ...
	FailStatus int `json:"fail_status,omitempty"`  // ... with this status (default 503)
}

// MaxFaultDelay bounds every wait a rule sets: latency_ms, jitter_ms,
// lognormal_median_ms, stall_ms, retry_after_s and the interval of one
// quota_rps token. A longer one is a typo, and a far longer one overflowed
// time.Duration: latency_ms 1e13 answered at once.
const MaxFaultDelay = 24 * time.Hour

// MaxFaultsBytes bounds a Faults document, white space around it included.
const MaxFaultsBytes = 1 << 20

// DecodeFaults reads a Faults document (JSON, at most MaxFaultsBytes) as the
// control endpoint and a --faults file give it. An unknown field is an
// error: a misspelt one would otherwise leave a rule that matches and does
// nothing; so is anything after the document, and a longer input (cut at
// the limit, what followed a document would be dropped unseen).
func DecodeFaults(r io.Reader) (Faults, error) {
	var f Faults
	lr := &io.LimitedReader{R: r, N: MaxFaultsBytes + 1}
	dec := json.NewDecoder(lr)
	dec.DisallowUnknownFields()
	tooLong := func() error { return fmt.Errorf("faults document: more than %d bytes", MaxFaultsBytes) }
	if err := dec.Decode(&f); err != nil {
		if lr.N == 0 {
			return Faults{}, tooLong()
		}
		return Faults{}, err
	}
	// One document: a second one after it (or anything else but white
	// space) would otherwise be dropped without a word.
	_, err := dec.Token()
	if lr.N == 0 {
		return Faults{}, tooLong()
	}
	if err != io.EOF {
		return Faults{}, fmt.Errorf("data after the faults document at byte %d", dec.InputOffset())
	}
	return f, f.Validate()
}

// Validate reports the first field with an unusable value.
func (f Faults) Validate() error {
	for i, r := range f.Rules {
		if err := r.Validate(); err != nil {
			return fmt.Errorf("rules[%d]: %w", i, err)
		}
	}
	return nil
}

// Validate reports the first field of the rule with an unusable value.
// The mirror command checks each fault flag with it, alone in a rule, so
// that its error names the flag as well as the field.
func (r Rule) Validate() error {
	nonNegative := map[string]float64{
		"latency_ms": r.LatencyMS, "jitter_ms": r.JitterMS,
		"lognormal_median_ms": r.LognormalMedianMS, "lognormal_sigma": r.LognormalSigma,
		"retry_after_s": float64(r.RetryAfterS), "stall_ms": float64(r.StallMS),
		"quota_rps": r.QuotaRPS, "quota_burst": float64(r.QuotaBurst), "fail_first_n": float64(r.FailFirstN),
	}
	for _, name := range sortedKeys(nonNegative) {
		if v := nonNegative[name]; v < 0 || math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("%s: %v is not a finite value >= 0", name, v)
		}
	}
	maxMS := float64(MaxFaultDelay / time.Millisecond)
	delays := map[string]float64{ // the most each may be, in its own unit
		"latency_ms": maxMS, "jitter_ms": maxMS, "lognormal_median_ms": maxMS, "stall_ms": maxMS,
		"retry_after_s": MaxFaultDelay.Seconds(),
	}
	for _, name := range sortedKeys(delays) {
		if v := nonNegative[name]; v > delays[name] {
			return fmt.Errorf("%s: %v is more than a day (%.0f)", name, v, delays[name])
		}
	}
	// An empty bucket's Retry-After is up to 1/quota_rps seconds.
	if r.QuotaRPS > 0 && 1/r.QuotaRPS > MaxFaultDelay.Seconds() {
		return fmt.Errorf("quota_rps: %v is less than one request a day (%v)", r.QuotaRPS, 1/MaxFaultDelay.Seconds())
	}
	rates := map[string]float64{
		"status_429_rate": r.Status429Rate, "reset_rate": r.ResetRate, "stream_reset_rate": r.StreamResetRate,
		"stall_rate": r.StallRate, "truncate_rate": r.TruncateRate, "corrupt_rate": r.CorruptRate,
	}
	for _, name := range sortedKeys(rates) {
		if v := rates[name]; !(v >= 0 && v <= 1) {
			return fmt.Errorf("%s: %v is not in [0,1]", name, v)
		}
	}
	sum := r.Status429Rate
	for code, rate := range r.StatusRate {
		if code < 400 || code > 599 {
			return fmt.Errorf("status_rate: status %d is not in 400..599", code)
		}
		if !(rate >= 0 && rate <= 1) {
			return fmt.Errorf("status_rate[%d]: %v is not in [0,1]", code, rate)
		}
		sum += rate
	}
	if sum > 1+1e-9 {
		return fmt.Errorf("status_rate plus status_429_rate: %v is above 1", sum)
	}
	if r.FailStatus != 0 && (r.FailStatus < 400 || r.FailStatus > 599) {
		return fmt.Errorf("fail_status: %d is not in 400..599", r.FailStatus)
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// activeRule is a Rule with its run-time state: the quota bucket and the
// per-path request numbers of fail_first_n.
type activeRule struct {
	Rule
	statuses []int // StatusRate keys, sorted, so draws are reproducible
	bucket   *tokenBucket

	mu   sync.Mutex
	seen map[string]int
}

func newActiveRule(r Rule) *activeRule {
	a := &activeRule{Rule: r, seen: map[string]int{}}
	for code := range r.StatusRate {
		a.statuses = append(a.statuses, code)
	}
	sort.Ints(a.statuses)
	if r.QuotaRPS > 0 {
		burst := float64(r.QuotaBurst)
		if burst == 0 {
			burst = math.Max(1, math.Ceil(r.QuotaRPS))
		}
		a.bucket = newTokenBucket(r.QuotaRPS, burst)
	}
	return a
}

// failFirst reports whether this request is among the first FailFirstN of path.
func (a *activeRule) failFirst(path string) bool {
	if a.FailFirstN == 0 {
		return false
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, ok := a.seen[path]; !ok && len(a.seen) >= MaxPaths {
		path = OtherPaths // bounded as the counters are: past MaxPaths, one key
	}
	a.seen[path]++
	return a.seen[path] <= a.FailFirstN
}

func (a *activeRule) failStatus() int {
	if a.FailStatus == 0 {
		return 503
	}
	return a.FailStatus
}

// quotaTake spends a token of the rule's quota, if it has one.
func (a *activeRule) quotaTake(now time.Time) (ok bool, wait time.Duration) {
	if a.bucket == nil {
		return true, 0
	}
	return a.bucket.take(now)
}

// retryAfter is the Retry-After value for status, "" for none.
func (a *activeRule) retryAfter(status int) string {
	switch {
	case status == 429 && a.RetryAfterS == 0:
		return "1"
	case status == 429 || (status == 503 && a.RetryAfterS > 0):
		return fmt.Sprint(a.RetryAfterS)
	}
	return ""
}

// draw is what the random part of a rule decided for one request.
type draw struct {
	delay                    time.Duration
	reset, streamReset       bool
	status                   int // 0: no injected status
	stall, truncate, corrupt bool
	stallFor                 time.Duration
}

// decide makes every random draw of one request, always the same number of
// draws in the same order, so a seeded run is reproducible.
func (a *activeRule) decide(rng *rand.Rand) draw {
	var d draw
	ms := a.LatencyMS + a.JitterMS*rng.Float64()
	normal := rng.NormFloat64()
	if a.LognormalMedianMS > 0 {
		ms += a.LognormalMedianMS * math.Exp(a.LognormalSigma*normal)
	}
	// Each part is at most a day, but the lognormal tail is not (exp runs
	// to +Inf), and converting past a Duration's range gives no wait at all.
	ms = min(ms, float64(MaxFaultDelay/time.Millisecond))
	d.delay = time.Duration(ms * float64(time.Millisecond))
	d.reset = rng.Float64() < a.ResetRate
	d.streamReset = rng.Float64() < a.StreamResetRate
	u, sum := rng.Float64(), 0.0
	for _, code := range a.statuses {
		if sum += a.StatusRate[code]; u < sum {
			d.status = code
			break
		}
	}
	if d.status == 0 && u < sum+a.Status429Rate {
		d.status = 429
	}
	d.stall = rng.Float64() < a.StallRate
	d.stallFor = time.Duration(a.StallMS) * time.Millisecond
	d.truncate = rng.Float64() < a.TruncateRate
	d.corrupt = rng.Float64() < a.CorruptRate
	return d
}

// faultSet is the installed Faults with the RNG they draw from.
type faultSet struct {
	mu     sync.RWMutex
	faults Faults
	rules  []*activeRule

	rngMu sync.Mutex
	rng   *rand.Rand
}

func newFaultSet(seed uint64) *faultSet {
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	return &faultSet{rng: newRNG(seed)}
}

func newRNG(seed uint64) *rand.Rand {
	return rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
}

// set installs f, resetting all rule state.
func (s *faultSet) set(f Faults) error {
	if err := f.Validate(); err != nil {
		return err
	}
	rules := make([]*activeRule, len(f.Rules))
	for i, r := range f.Rules {
		rules[i] = newActiveRule(r)
	}
	if f.Seed != 0 {
		s.rngMu.Lock()
		s.rng = newRNG(f.Seed)
		s.rngMu.Unlock()
	}
	s.mu.Lock()
	s.faults, s.rules = f, rules
	s.mu.Unlock()
	return nil
}

func (s *faultSet) get() Faults {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.faults
}

// reset forgets quota and fail_first_n progress, keeping the rules.
func (s *faultSet) reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, r := range s.rules {
		s.rules[i] = newActiveRule(r.Rule)
	}
}

func (s *faultSet) match(path string) *activeRule {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, r := range s.rules {
		if strings.HasPrefix(path, r.PathPrefix) {
			return r
		}
	}
	return nil
}

func (s *faultSet) decide(r *activeRule) draw {
	s.rngMu.Lock()
	defer s.rngMu.Unlock()
	return r.decide(s.rng)
}

// tokenBucket admits rate requests per second with bursts up to burst.
type tokenBucket struct {
	mu     sync.Mutex
	rate   float64
	burst  float64
	tokens float64
	last   time.Time
}

func newTokenBucket(rate, burst float64) *tokenBucket {
	return &tokenBucket{rate: rate, burst: burst, tokens: burst, last: time.Now()}
}

// take spends one token, or reports how long until one is available.
func (b *tokenBucket) take(now time.Time) (ok bool, wait time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.tokens = math.Min(b.burst, b.tokens+now.Sub(b.last).Seconds()*b.rate)
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	return false, time.Duration((1 - b.tokens) / b.rate * float64(time.Second))
}
