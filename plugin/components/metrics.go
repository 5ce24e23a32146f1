package components

import (
	"sync/atomic"

	"github.com/redpanda-data/benthos/v4/public/service"

	"github.com/f1fetch/f1fetch/plugin/fetch"
)

// metrics are the f1fetch metrics of one component, through Benthos'
// metrics (Prometheus, StatsD, ... as configured).
type metrics struct {
	requests        *service.MetricCounter // by outcome: ok, not_found, network, invalid, bad_request
	latency         *service.MetricTimer   // per fetched tuple, cache hits included
	cache           *service.MetricCounter // by result: hit, miss, revalidated
	retries         *service.MetricCounter // attempts beyond the first
	bytes           *service.MetricCounter // document bytes emitted
	notFoundDropped *service.MetricCounter
	inFlight        *service.MetricGauge
	breaker         *service.MetricGauge // by source: 0 closed, 1 half open, 2 open
	limit           *service.MetricGauge // in-flight limit, moving in adaptive mode
	tierErrors      *service.MetricCounter
	log             *service.Logger
	lastLimit       atomic.Int64
}

func newMetrics(m *service.Metrics, log *service.Logger) *metrics {
	return &metrics{
		log:             log,
		requests:        m.NewCounter("f1_requests", "outcome"),
		latency:         m.NewTimer("f1_request_latency_ns"),
		cache:           m.NewCounter("f1_cache", "result"),
		retries:         m.NewCounter("f1_retries"),
		bytes:           m.NewCounter("f1_bytes"),
		notFoundDropped: m.NewCounter("f1_not_found_dropped"),
		inFlight:        m.NewGauge("f1_in_flight"),
		breaker:         m.NewGauge("f1_breaker_state", "source"),
		limit:           m.NewGauge("f1_concurrency_limit"),
		tierErrors:      m.NewCounter("f1_cache_tier_errors"),
	}
}

// record counts one result.
func (m *metrics) record(r fetch.Result) {
	kind := fetch.ErrorKind(r.Err)
	m.requests.Incr(1, kind)
	if kind != fetch.KindBadRequest { // refused before any lookup: no latency to tell
		m.latency.Timing(r.Duration.Nanoseconds())
	}
	if r.Cache != "" {
		m.cache.Incr(1, r.Cache)
	}
	if r.Attempts > 1 {
		m.retries.Incr(int64(r.Attempts - 1))
	}
	if kind == fetch.KindOK {
		m.bytes.Incr(int64(r.Bytes))
	}
	// A failing cache_dir or cache resource: the fetch went on without it.
	for _, err := range r.TierErrors {
		m.tierErrors.Incr(1)
		m.log.Warnf("f1fetch: %v", err)
	}
}

// InFlight implements fetch.Observer.
func (m *metrics) InFlight(n int) { m.inFlight.Set(int64(n)) }

// BreakerState implements fetch.Observer.
func (m *metrics) BreakerState(source, state string) {
	v := map[string]int64{"closed": 0, "half_open": 1, "open": 2}[state]
	m.breaker.Set(v, source)
}

// ConcurrencyLimit implements fetch.Observer: the gauge follows the limit,
// and a change is logged (the first value is the configured maximum).
func (m *metrics) ConcurrencyLimit(n int) {
	m.limit.Set(int64(n))
	if old := m.lastLimit.Swap(int64(n)); old != 0 && old != int64(n) {
		m.log.Infof("f1fetch: concurrency limit %d -> %d", old, n)
	}
}
