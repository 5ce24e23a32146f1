package mirror

import (
	"maps"
	"net/url"
	"sync"
)

// StatusReset is the status recorded for a request answered by a reset
// (of the connection or of the stream) or abandoned by the client before
// a status was sent.
const StatusReset = 0

// Counts is a snapshot of what the mirror served, for tests to assert on:
// the JSON document of GET /_mirror/counters. Control requests are not counted.
type Counts struct {
	Total    int64                    `json:"total"`
	ByStatus map[int]int64            `json:"by_status"`
	ByPath   map[string]map[int]int64 `json:"by_path"` // request path -> status -> requests; see MaxPaths
	Faults   map[string]int64         `json:"faults"`  // injected fault kind -> requests
	InFlight int64                    `json:"in_flight"`
	// Connections counts the connections accepted: a client that multiplexes
	// its requests over HTTP/2 opens one.
	Connections int64 `json:"connections"`
	// InFlightMax is the most file requests ever handled at the same time.
	InFlightMax int64 `json:"in_flight_max"`
}

// Path is the number of requests of path, whatever their status. Keys of
// ByPath are decoded ("Australian Grand Prix"); path may also be given
// escaped as on the wire ("Australian%20Grand%20Prix").
func (c Counts) Path(path string) int64 {
	if decoded, err := url.PathUnescape(path); err == nil {
		path = decoded
	}
	var n int64
	for _, v := range c.ByPath[path] {
		n += v
	}
	return n
}

// Fault kinds counted in Counts.Faults.
const (
	FaultQuota       = "quota"
	FaultFailFirst   = "fail_first_n"
	FaultLatency     = "latency"
	FaultReset       = "reset"
	FaultStreamReset = "stream_reset"
	FaultStatus      = "status"
	FaultStall       = "stall"
	FaultTruncate    = "truncate"
	FaultCorrupt     = "corrupt"
)

// MaxPaths bounds the paths ByPath tells apart: a long-running mirror sent
// endless distinct URLs must not grow without end. Requests of paths beyond
// the first MaxPaths since the last reset are counted under OtherPaths.
const (
	MaxPaths   = 10000
	OtherPaths = "(other paths)"
	// MaxKeyBytes bounds a path as a key (counters, fail_first_n): a request
	// line may be a MiB long, and 10,000 such keys would be gigabytes. A
	// longer path is kept as its first MaxKeyBytes bytes and a mark.
	MaxKeyBytes = 1024
	cutMark     = "…(cut)"
)

type counters struct {
	mu sync.Mutex
	c  Counts
}

func newCounters() *counters {
	k := &counters{}
	k.reset()
	return k
}

func (k *counters) reset() {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.c = Counts{
		ByStatus:    map[int]int64{},
		ByPath:      map[string]map[int]int64{},
		Faults:      map[string]int64{},
		InFlight:    k.c.InFlight,
		InFlightMax: k.c.InFlight,
	}
}

func (k *counters) connected() {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.c.Connections++
}

func (k *counters) begin() {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.c.InFlight++
	k.c.InFlightMax = max(k.c.InFlightMax, k.c.InFlight)
}

func (k *counters) done() {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.c.InFlight--
}

func (k *counters) record(path string, status int, faults []string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.c.Total++
	k.c.ByStatus[status]++
	byStatus := k.c.ByPath[path]
	if byStatus == nil {
		if len(k.c.ByPath) >= MaxPaths {
			path = OtherPaths
		}
		if byStatus = k.c.ByPath[path]; byStatus == nil {
			byStatus = map[int]int64{}
			k.c.ByPath[path] = byStatus
		}
	}
	byStatus[status]++
	for _, f := range faults {
		k.c.Faults[f]++
	}
}

func (k *counters) snapshot() Counts {
	k.mu.Lock()
	defer k.mu.Unlock()
	c := k.c
	c.ByStatus = maps.Clone(k.c.ByStatus)
	c.Faults = maps.Clone(k.c.Faults)
	c.ByPath = make(map[string]map[int]int64, len(k.c.ByPath))
	for p, m := range k.c.ByPath {
		c.ByPath[p] = maps.Clone(m)
	}
	return c
}

func (k *counters) path(path string) int64 {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.c.Path(path)
}

// pathKey is path as a bounded key.
func pathKey(path string) string {
	if len(path) > MaxKeyBytes {
		return path[:MaxKeyBytes] + cutMark
	}
	return path
}
