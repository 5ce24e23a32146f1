package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
)

// cpuRounds is how many times the CPU-bound comparison at 0 ms (h2load on the
// bytes f1fetch reads, against the library and the input) runs in all, the
// main table's run being round 1. A single h2load run varied from 0.27 s to
// 0.51 s for the same 1000 requests between runs of this program on the
// shared host while f1fetch's own times held, so the 50% target takes the
// median of the rounds' ratios, each round's runs back to back.
const cpuRounds = 5

// cpuContenders are the runs of a round, in the order they alternate.
var cpuContenders = []string{"h2load-identity", "f1fetch-lib", "f1fetch-input"}

// cpuRoundsRun runs rounds 2 to cpuRounds of the comparison on j at a 0 ms
// mode; it does nothing at other modes or when -only left one of them out.
func (r *report) cpuRoundsRun(ctx context.Context, md mode, j job) error {
	if md.mean() != 0 {
		return nil
	}
	var runs []contender
	for _, c := range contenders() {
		for _, name := range cpuContenders {
			if c.name == name && (len(r.opts.only) == 0 || r.opts.only[name]) {
				runs = append(runs, c)
			}
		}
	}
	if len(runs) != len(cpuContenders) {
		return nil
	}
	for round := 2; round <= cpuRounds; round++ {
		for _, c := range runs {
			m, err := c.run(ctx, j)
			if err != nil {
				return fmt.Errorf("%s, %s, %s, round %d: %w", md.name, j.w.Name, c.name, round, err)
			}
			m.Mode, m.Workload, m.Contender, m.N, m.Bytes, m.Round = md.name, j.w.Name, c.name, len(j.w.Tuples), j.w.Bytes, round
			r.rounds = append(r.rounds, m)
			r.benchLine(m) // the same name as round 1: benchstat reads the rounds as samples
		}
	}
	return nil
}

// roundOf returns round k of a contender: round 1 from the main table.
func (r *report) roundOf(modeName, workload, contender string, k int) (measurement, bool) {
	if k == 1 {
		return r.find(modeName, workload, contender)
	}
	for _, m := range r.rounds {
		if m.Mode == modeName && m.Workload == workload && m.Contender == contender && m.Round == k {
			return m, true
		}
	}
	return measurement{}, false
}

// h2loadShare is, for each round measured, h2load-identity's wall time over
// the contender's fetching time (the share of h2load's requests/s the
// contender reached), and their median.
func (r *report) h2loadShare(modeName, workload, contender string) (median float64, shares []float64) {
	for k := 1; k <= cpuRounds; k++ {
		m, okM := r.roundOf(modeName, workload, contender, k)
		h, okH := r.roundOf(modeName, workload, "h2load-identity", k)
		if !okM || !okH {
			break
		}
		shares = append(shares, float64(h.WallNS)/float64(m.fetching()))
	}
	if len(shares) == 0 {
		return 0, nil
	}
	return middle(shares, func(x float64) float64 { return x }), shares
}

// percents formats shares as "60%, 43%, 55%".
func percents(shares []float64) string {
	s := make([]string, len(shares))
	for i, x := range shares {
		s[i] = fmt.Sprintf("%.0f%%", 100*x)
	}
	return strings.Join(s, ", ")
}

// roundsSteal is the lowest and highest host steal of the rounds' runs.
func (r *report) roundsSteal(modeName, workload string) (lo, hi float64) {
	var steals []float64
	for k := 1; k <= cpuRounds; k++ {
		for _, c := range cpuContenders {
			if m, ok := r.roundOf(modeName, workload, c, k); ok {
				steals = append(steals, m.StealPct)
			}
		}
	}
	if len(steals) == 0 {
		return 0, 0
	}
	return slices.Min(steals), slices.Max(steals)
}
