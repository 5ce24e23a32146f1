package components

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/redpanda-data/benthos/v4/public/service"

	"github.com/f1fetch/f1fetch/plugin/fetch"
)

// progress counts the files of an f1_fetch input run, so that a run of
// hours says how far it is: in the log at a steady interval and as gauges.
type progress struct {
	start time.Time

	// mu guards the counts and orders the gauges' Sets with them: the counts
	// grow on every fetch's goroutine, and Sets landing out of order once
	// left a gauge below its count for good.
	mu       sync.Mutex
	planned  int64 // files put in the plan so far
	done     int64 // files whose fetch has ended, failed or not
	bytes    int64 // document bytes fetched
	complete bool  // the plan will not grow any more

	over     chan struct{} // closed once every planned file is fetched
	overOnce sync.Once

	gPlanned, gDone, gBytes *service.MetricGauge
}

func newProgress(m *service.Metrics) *progress {
	return &progress{
		start:    time.Now(),
		over:     make(chan struct{}),
		gPlanned: m.NewGauge("f1_progress_planned"),
		gDone:    m.NewGauge("f1_progress_done"),
		gBytes:   m.NewGauge("f1_progress_bytes"),
	}
}

func (p *progress) plan() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.planned++
	p.gPlanned.Set(p.planned)
}

func (p *progress) planComplete() {
	p.mu.Lock()
	p.complete = true
	p.mu.Unlock()
	p.checkOver()
}

func (p *progress) finish(r fetch.Result) {
	p.mu.Lock()
	if r.Err == nil {
		p.bytes += int64(r.Bytes)
		p.gBytes.Set(p.bytes)
	}
	p.done++
	p.gDone.Set(p.done)
	p.mu.Unlock()
	p.checkOver()
}

// checkOver closes over when the plan is complete and fetched.
func (p *progress) checkOver() {
	p.mu.Lock()
	over := p.complete && p.done == p.planned
	p.mu.Unlock()
	if over {
		p.overOnce.Do(func() { close(p.over) })
	}
}

// line is one progress report at now.
func (p *progress) line(now time.Time) string {
	p.mu.Lock()
	done, planned, bytes, complete := p.done, p.planned, p.bytes, p.complete
	p.mu.Unlock()
	elapsed := now.Sub(p.start).Seconds()
	rate, byteRate := float64(done)/elapsed, float64(bytes)/elapsed
	pct := 0.0
	if planned > 0 {
		pct = 100 * float64(done) / float64(planned)
	}
	eta := "unknown"
	if rate > 0 {
		eta = (time.Duration(float64(planned-done) / rate * float64(time.Second))).Round(time.Second).String()
	}
	if !complete {
		eta = "at least " + eta + " (plan still growing)"
	}
	return fmt.Sprintf("f1_fetch progress: %d/%d files (%.0f%%), %s, %.1f files/s, %s/s, ETA %s",
		done, planned, pct, mib(bytes), rate, mib(int64(byteRate)), eta)
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

// report logs a line every interval until ctx ends or every planned file
// is fetched, which it logs as a last line.
func (p *progress) report(ctx context.Context, log *service.Logger, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-p.over:
			log.Infof("%s", p.line(time.Now()))
			return
		case now := <-t.C:
			log.Infof("%s", p.line(now))
		}
	}
}
