// Command bench measures f1fetch against its alternatives on one loopback
// mirror in one run: the f1fetch binary (f1_fetch input and processor), the
// engine as a Go library, the stock Benthos http processor (parallel and
// sequential), the seed-shaped Python asyncio + httpx script and h2load, for
// the real files of the 2025 Australian GP Qualifying under several latency
// modes. It prints `go test -bench` lines (for benchstat) and writes
// results.json, RESULTS.md and PNG charts. See bench/README.md.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/f1fetch/f1fetch/plugin/mirror"
)

func main() {
	if len(os.Args) > 1 {
		if sub, ok := map[string]func([]string) error{"batchfloor": batchFloor, "fetchlib": fetchLib, "readfloor": readFloor, "serve": serve}[os.Args[1]]; ok {
			if err := sub(os.Args[2:]); err != nil {
				fmt.Fprintf(os.Stderr, "bench %s: %v\n", os.Args[1], err)
				os.Exit(1)
			}
			return
		}
	}
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

type options struct {
	testdata, bin, python, outDir, results string
	payload                                string // go test -bench output of plugin/payload, for the per-MB table
	modes                                  []mode
	concurrency, requests, requestsNearKB  int
	only                                   map[string]bool // contenders to run; empty: all
	sequentialMax                          time.Duration   // skip the sequential baseline above this expected time
	slowOutput                             time.Duration
	command                                string
}

func parseOptions(args []string) (options, error) {
	var o options
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.StringVar(&o.testdata, "testdata", "", "shared/testdata directory (holds test/Australian Grand Prix/Qualifying)")
	fs.StringVar(&o.bin, "bin", "", "the f1fetch binary")
	fs.StringVar(&o.python, "python", "/usr/bin/python3", "Python with httpx and h2 (Debian's)")
	fs.StringVar(&o.outDir, "out", "bench/out", "directory for results.json, bench.txt, charts and scratch files")
	fs.StringVar(&o.payload, "payload", "", "file with `go test -bench` output of ./plugin/payload (optional)")
	fs.StringVar(&o.results, "results", "bench/RESULTS.md", "where the results page is written")
	modes := fs.String("modes", "0,20j10,50,ln50s0.5", "latency modes: 0 | <ms> | <ms>j<jitter ms> | ln<median ms>s<sigma>")
	fs.IntVar(&o.concurrency, "c", 20, "concurrency of every contender (max_concurrent_requests, batch size, streams)")
	fs.IntVar(&o.requests, "requests", 1000, "size of the requests workload")
	fs.IntVar(&o.requestsNearKB, "requests-near", 0, "if > 0, the requests workload cycles over the telemetry files within 20% of this many KB only")
	only := fs.String("only", "", "comma-separated contenders to run (default all)")
	fs.DurationVar(&o.sequentialMax, "sequential-max", 8*time.Second, "skip the sequential baseline where it would take longer")
	fs.DurationVar(&o.slowOutput, "slow-output", 10*time.Millisecond, "per-message delay of the slow output in the memory run")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	o.command = "bench/run.sh -> bench " + strings.Join(args, " ")
	if o.testdata == "" || o.bin == "" {
		return o, errors.New("-testdata and -bin are required")
	}
	for _, s := range strings.Split(*modes, ",") {
		m, err := parseMode(strings.TrimSpace(s))
		if err != nil {
			return o, err
		}
		o.modes = append(o.modes, m)
	}
	if o.modes[0].mean() != 0 {
		return o, errors.New("-modes: the first mode must be 0 (it calibrates the transfer time of the bound)")
	}
	o.only = map[string]bool{}
	for _, c := range strings.Split(*only, ",") {
		if c = strings.TrimSpace(c); c != "" {
			o.only[c] = true
		}
	}
	return o, nil
}

func run(args []string, stdout io.Writer) error {
	o, err := parseOptions(args)
	if err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	sf, err := readSession(o.testdata)
	if err != nil {
		return err
	}
	loads, err := sf.workloads(o.requests, o.requestsNearKB, o.concurrency)
	if err != nil {
		return err
	}
	scratch := filepath.Join(o.outDir, "scratch")
	if err := os.MkdirAll(scratch, 0o755); err != nil {
		return err
	}
	m, err := mirror.Start(mirror.Config{Root: o.testdata, Aliases: map[string]string{"2025": "test"}})
	if err != nil {
		return err
	}
	defer m.Close()
	ctx := context.Background()
	rep := &report{opts: o, start: time.Now(), out: stdout}
	rep.header(m.URL, loads)

	jobs := make([]job, len(loads))
	for i, w := range loads {
		if jobs[i], err = newJob(o, self, scratch, m.URL, w); err != nil {
			return err
		}
	}
	// Warm the mirror (files and their gzip forms are built on first use).
	if _, _, err := timed(ctx, nil, append([]string{"h2load"}, h2loadArgs(jobs[len(jobs)-1], true)...)...); err != nil {
		return fmt.Errorf("warm-up: %w", err)
	}
	for _, md := range o.modes {
		if err := m.SetFaults(md.faults()); err != nil {
			return err
		}
		for _, j := range jobs {
			for _, c := range contenders() {
				if len(o.only) > 0 && !o.only[c.name] {
					continue
				}
				if c.name == "benthos-http-sequential" && time.Duration(len(j.w.Tuples))*md.mean() > o.sequentialMax {
					continue
				}
				meas, err := c.run(ctx, j)
				if err != nil {
					return fmt.Errorf("%s, %s, %s: %w", md.name, j.w.Name, c.name, err)
				}
				rep.add(md, j, c.name, meas)
			}
		}
		if err := rep.cpuRoundsRun(ctx, md, jobs[3]); err != nil {
			return err
		}
		if err := rep.extras(ctx, md, jobs); err != nil {
			return err
		}
	}
	return rep.finish()
}

func newJob(o options, self, scratch, base string, w workload) (job, error) {
	j := job{dir: scratch, bin: o.bin, self: self, python: o.python, base: base, concurrency: o.concurrency, w: w}
	urls, err := w.urls(base)
	if err != nil {
		return j, err
	}
	j.urlsFile = filepath.Join(scratch, w.Name+".urls")
	if err := os.WriteFile(j.urlsFile, []byte(strings.Join(urls, "\n")+"\n"), 0o644); err != nil {
		return j, err
	}
	var lines []string
	for _, t := range w.Tuples {
		b, _ := json.Marshal(t)
		lines = append(lines, string(b))
	}
	j.tuplesFile = filepath.Join(scratch, w.Name+".tuples")
	return j, os.WriteFile(j.tuplesFile, []byte(strings.Join(lines, "\n")+"\n"), 0o644)
}

// mode is a latency setting of the mirror.
type mode struct {
	name                string
	fixedMS, jitterMS   float64
	lnMedianMS, lnSigma float64
}

func parseMode(s string) (mode, error) {
	md := mode{name: s}
	var err error
	switch {
	case strings.HasPrefix(s, "ln"):
		_, err = fmt.Sscanf(s, "ln%gs%g", &md.lnMedianMS, &md.lnSigma)
		md.name = fmt.Sprintf("lognormal%gms_s%g", md.lnMedianMS, md.lnSigma)
	case strings.Contains(s, "j"):
		_, err = fmt.Sscanf(s, "%gj%g", &md.fixedMS, &md.jitterMS)
		md.name = fmt.Sprintf("%gms+j%g", md.fixedMS, md.jitterMS)
	default:
		_, err = fmt.Sscanf(s, "%g", &md.fixedMS)
		md.name = fmt.Sprintf("%gms", md.fixedMS)
	}
	if err != nil || md.fixedMS < 0 || md.jitterMS < 0 || md.lnMedianMS < 0 || md.lnSigma < 0 {
		return md, fmt.Errorf("-modes: %q: want 0, 50, 20j10 or ln50s0.5", s)
	}
	return md, nil
}

// mean is the expected delay of one request: fixed + jitter/2 +
// median*exp(sigma^2/2).
func (md mode) mean() time.Duration {
	ms := md.fixedMS + md.jitterMS/2
	if md.lnMedianMS > 0 {
		ms += md.lnMedianMS * math.Exp(md.lnSigma*md.lnSigma/2)
	}
	return time.Duration(ms * float64(time.Millisecond))
}

// slowestOf is the expected slowest of k independent delays of the mode:
// a client that waits for every request of a batch of k before sending the
// next batch waits at least that long once per batch, whatever its speed.
// It covers the modes parseMode makes: fixed plus uniform jitter, or
// lognormal (the mirror adds them, so a mode with both would need the
// distribution of the sum).
func (md mode) slowestOf(k int) time.Duration {
	n := float64(k)
	ms := md.fixedMS + md.jitterMS*n/(n+1) // E[max of k uniform(0,1)] = k/(k+1)
	if md.lnMedianMS > 0 {
		// E[max] = integral of median*exp(sigma*z) * k*Phi(z)^(k-1)*phi(z) dz
		// (the density of the largest of k standard normals), midpoint rule.
		const lo, hi, steps = -12.0, 12.0, 24000
		h := (hi - lo) / steps
		sum := 0.0
		for i := range steps {
			z := lo + (float64(i)+0.5)*h
			density := n * math.Pow(0.5*math.Erfc(-z/math.Sqrt2), n-1) * math.Exp(-z*z/2) / math.Sqrt(2*math.Pi)
			sum += math.Exp(md.lnSigma*z) * density * h
		}
		ms += md.lnMedianMS * sum
	}
	return time.Duration(ms * float64(time.Millisecond))
}

func (md mode) faults() mirror.Faults {
	if md.mean() == 0 {
		return mirror.Faults{}
	}
	return mirror.Faults{Seed: 1, Rules: []mirror.Rule{{
		LatencyMS: md.fixedMS, JitterMS: md.jitterMS,
		LognormalMedianMS: md.lnMedianMS, LognormalSigma: md.lnSigma,
	}}}
}

// bound is the limit: ceil(N/C) rounds of the mean latency plus the
// transfer time (h2load's wall time for the workload at 0 ms).
func bound(n, c int, mean, transfer time.Duration) time.Duration {
	rounds := (n + c - 1) / c
	return time.Duration(rounds)*mean + transfer
}
