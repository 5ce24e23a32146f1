package fetch

import "time"

// The adaptive mode (Settings.Adaptive) treats the in-flight limit as TCP
// treats its window: additive increase while answers come back well,
// multiplicative decrease when the server pushes back, so that a long run
// settles near what the server grants instead of hammering it at the
// configured maximum.
const (
	pushbackFactor = 0.5 // a 429 or 503: the server said no
	slowFactor     = 0.7 // latency rising: gentler, it may be the network

	slowRatio      = 2.0                   // recent latency above twice the baseline is slow ...
	minLatencyRise = 20 * time.Millisecond // ... when the rise is large enough not to be noise
	warmSamples    = 16                    // answers needed before latency says anything
	recentWeight   = 0.25                  // EWMA weights: recent follows quickly,
	baselineWeight = 0.02                  // the baseline slowly
)

// lesson is what one attempt teaches the controller.
type lesson int

const (
	lessonNone     lesson = iota // nothing: transport error, cancelled
	lessonAnswer                 // an answer came back, with its latency
	lessonPushback               // 429 or 503
)

// aimd computes the adaptive in-flight limit between min and max. It is not
// safe for concurrent use: Client.learn serialises it with applying the
// limit it returns, so the limiter never keeps an older limit than aimd's.
type aimd struct {
	min, max  int
	limit     int
	successes int     // answers since the last increase
	baseline  float64 // smoothed latency of normal answers (ns)
	recent    float64 // smoothed latency of the latest answers (ns)
	samples   int
	lastCut   time.Time
}

// newAIMD starts at max: a server that never pushes back sees the same
// traffic as with a fixed limit.
func newAIMD(minLimit, maxLimit int) *aimd {
	return &aimd{min: minLimit, max: maxLimit, limit: maxLimit}
}

// learn updates the limit with the outcome of an attempt that started at
// start, and returns the limit and whether it changed.
func (a *aimd) learn(start time.Time, l lesson, latency time.Duration) (int, bool) {
	old := a.limit
	switch l {
	case lessonPushback:
		a.cut(start, pushbackFactor)
	case lessonAnswer:
		ns := float64(latency)
		if a.samples == 0 {
			a.baseline, a.recent = ns, ns
		}
		a.samples++
		a.recent += (ns - a.recent) * recentWeight
		// At the floor there is nothing left to cut: the server is just
		// slower now, and the baseline learns it.
		if a.slow() && a.limit > a.min {
			if a.cut(start, slowFactor) {
				a.recent = a.baseline // the next cut needs fresh evidence
			}
			break
		}
		a.baseline += (ns - a.baseline) * baselineWeight
		if a.successes++; a.successes >= a.limit {
			a.successes = 0
			a.limit = min(a.limit+1, a.max)
		}
	}
	return a.limit, a.limit != old
}

func (a *aimd) slow() bool {
	return a.samples >= warmSamples && a.recent > slowRatio*a.baseline && a.recent-a.baseline >= float64(minLatencyRise)
}

// cut multiplies the limit by factor, once per round: attempts that started
// before the last cut were sent under the old limit and teach nothing new.
func (a *aimd) cut(start time.Time, factor float64) bool {
	if start.Before(a.lastCut) {
		return false
	}
	a.lastCut = time.Now()
	a.successes = 0
	a.limit = max(a.min, int(float64(a.limit)*factor))
	return true
}
