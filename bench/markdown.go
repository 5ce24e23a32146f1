package main

import (
	"fmt"
	"math"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"time"
)

func (r *report) find(modeName, workload, contender string) (measurement, bool) {
	for _, m := range append(append([]measurement(nil), r.rows...), r.extra...) {
		if m.Mode == modeName && m.Workload == workload && m.Contender == contender {
			return m, true
		}
	}
	return measurement{}, false
}

// target is one of the goals with what this run measured.
// outOfReach marks a miss where the measured column gives a floor, measured
// or computed in this run, that keeps the target out of reach of the shape
// on this machine, however fast f1fetch's own work were.
type target struct {
	goal, measured  string
	met, outOfReach bool
}

func (r *report) targets() []target {
	var ts []target
	reqs, sess := r.loads[3].Name, r.loads[2].Name
	speed := func(md mode, w, a, b string) (float64, bool) { // wall(b) / wall(a): how many times faster a is
		ma, okA := r.find(md.name, w, a)
		mb, okB := r.find(md.name, w, b)
		if !okA || !okB {
			return 0, false
		}
		return float64(mb.WallNS) / float64(ma.WallNS), true
	}
	for _, md := range r.opts.modes {
		switch {
		case md.fixedMS == 50 && md.jitterMS == 0 && md.lnMedianMS == 0:
			for _, c := range []string{"f1fetch-input", "f1fetch-lib", "f1fetch-processor", batchedProcessor} {
				if m, ok := r.find(md.name, reqs, c); ok && m.BoundNS > 0 {
					x := float64(m.fetching()) / float64(m.BoundNS)
					measured := fmt.Sprintf("%.3fx (%s vs bound %s)", x, round(m.fetching()), round(time.Duration(m.BoundNS)))
					if m.SpanNS > 0 {
						measured += fmt.Sprintf(", from the pipeline's start; %.3fx as process wall time (%s, Benthos start-up and exit included)",
							float64(m.WallNS)/float64(m.BoundNS), round(m.wall()))
					}
					// The bound counts h2load's transfer with gzip; f1fetch reads a
					// loopback mirror's uncompressed bytes (inflating would cost more).
					if id, ok := r.find(r.opts.modes[0].name, reqs, "h2load-identity"); ok {
						b := bound(m.N, r.opts.concurrency, md.mean(), id.wall())
						measured += fmt.Sprintf("; %.3fx of the bound counted with the uncompressed bytes it reads (h2load-identity's transfer at 0 ms, %s: bound %s)",
							float64(m.fetching())/float64(b), round(id.wall()), round(b))
					}
					// A processor on one thread sends a batch once the last one is
					// parsed: each batch's transfer and parsing add to the waits
					// instead of overlapping them. At 0 ms that work is all there is.
					if m0, ok := r.find(r.opts.modes[0].name, reqs, c); ok && r.opts.modes[0].mean() == 0 && (c == "f1fetch-processor" || c == batchedProcessor) {
						measured += fmt.Sprintf("; its batches wait for each other, so each batch's transfer and parsing add to the latency instead of overlapping it; at 0 ms, where they are all the work, it and the mirror kept the %d cores %.0f%% busy (its CPU %.2f s and the mirror's %.2f s in %s)",
							runtime.NumCPU(), 100*(m0.CPUS+m0.MirrorCPUS)/(float64(runtime.NumCPU())*m0.wall().Seconds()), m0.CPUS, m0.MirrorCPUS, round(m0.wall()))
					}
					t := target{goal: fmt.Sprintf("%s within 1.10x of the bound, %s, %s, C=%d", c, reqs, md.name, r.opts.concurrency),
						met: x <= 1.10}
					// A bare golang.org/x/net client (SPEC's transport) in the
					// same batches: reading only, it does less than any
					// processor that validates must, so its miss is the shape's.
					if batchC, ok := oneThreadBatches[c]; ok {
						j := job{concurrency: r.opts.concurrency}
						parsed, okP := r.find(md.name, reqs, batchFloorRow(j, batchC, true))
						read, okR := r.find(md.name, reqs, batchFloorRow(j, batchC, false))
						if okP && okR {
							rx := float64(read.fetching()) / float64(m.BoundNS)
							measured += fmt.Sprintf("; a bare x/net client in the same %s (bench batchfloor) took %s reading the documents only, %.3fx of the bound, and %s reading and parsing them, %.3fx",
								batchShape(r.opts.concurrency, batchC), round(read.fetching()), rx, round(parsed.fetching()), float64(parsed.fetching())/float64(m.BoundNS))
							t.outOfReach = !t.met && rx > 1.10
						}
					}
					t.measured = measured
					ts = append(ts, t)
				}
			}
		}
		if md.mean() > 0 {
			need, what := 1.0, "ahead of"
			if md.lnMedianMS > 0 {
				need, what = 1.5, "at least 1.5x ahead of"
			}
			for _, c := range []string{"f1fetch-input", "f1fetch-processor", "f1fetch-processor-threads4", batchedProcessor} {
				x, ok := speed(md, reqs, c, "benthos-http-parallel")
				if !ok {
					continue
				}
				t := target{goal: fmt.Sprintf("%s %s the stock http processor (parallel, batch %d), %s, %s", c, what, r.opts.concurrency, reqs, md.name),
					measured: fmt.Sprintf("%.2fx faster", x), met: x > need || (need == 1 && x > 1)}
				// One thread, batches of C: like the stock processor, it sends a
				// batch only when the last one's slowest request has answered.
				if stock, ok := r.find(md.name, reqs, "benthos-http-parallel"); ok && c == "f1fetch-processor" && md.slowestOf(r.opts.concurrency) > md.mean() {
					c := r.opts.concurrency
					batches := (stock.N + c - 1) / c
					floor := time.Duration(batches) * md.slowestOf(c)
					most := float64(stock.WallNS) / float64(floor)
					t.measured += fmt.Sprintf("; its batches of %d on one thread each wait for their slowest request, as the stock processor's do: that waiting alone takes %d x %s = %s in expectation (the slowest of %d of the mirror's delays), so %.2fx ahead of the stock processor's %s is the most any processor of this shape can be",
						c, batches, round(md.slowestOf(c)), round(floor), c, most, round(stock.wall()))
					t.outOfReach = !t.met && most <= need
				}
				ts = append(ts, t)
			}
		}
		if md.mean() == 0 {
			for _, c := range []string{"f1fetch-input", "f1fetch-lib"} {
				if x, ok := speed(md, reqs, c, "python-httpx"); ok {
					ts = append(ts, target{goal: fmt.Sprintf("%s at least 3x the Python script's requests/s, %s, 0 ms", c, reqs),
						measured: fmt.Sprintf("%.2fx", x), met: x >= 3})
				}
				// Like for like: h2load reading the bytes f1fetch reads
				// (identity), the median over the alternating rounds; the
				// input from its start, like the library's FetchMany. Round
				// 1's process wall time and gzip figure are shown beside it.
				x, shares := r.h2loadShare(md.name, reqs, c)
				m, _ := r.find(md.name, reqs, c)
				if len(shares) > 0 {
					from := ""
					if m.SpanNS > 0 {
						from = " from the pipeline's start"
					}
					lo, hi := r.roundsSteal(md.name, reqs)
					measured := fmt.Sprintf("%.0f%% of h2load-identity%s, the median of %d rounds (%s; host steal %.0f-%.0f%%)", 100*x, from, len(shares), percents(shares), lo, hi)
					if m.SpanNS > 0 {
						h, _ := r.find(md.name, reqs, "h2load-identity")
						measured += fmt.Sprintf("; round 1 as process wall time %.0f%%", 100*float64(h.WallNS)/float64(m.WallNS))
					}
					if g, ok := r.find(md.name, reqs, "h2load"); ok {
						measured += fmt.Sprintf("; round 1 against h2load with gzip, which is sent a fifth of the bytes and inflates nothing, %.0f%%", 100*float64(g.WallNS)/float64(m.fetching()))
					}
					ts = append(ts, target{goal: fmt.Sprintf("%s at least 50%% of h2load's requests/s on the same bytes, while parsing and validating, %s, 0 ms", c, reqs),
						measured: measured, met: x >= 0.5})
				}
			}
		}
		for _, b := range []struct {
			cold, warm, how, pass string
			// floor is the read floor row of the warm run's reading of
			// cache_dir, floorIs what it measured; none for the memory tier.
			floor, floorIs string
		}{
			{"f1fetch-input+cache_dir (cold)", "f1fetch-input+cache_dir (warm)",
				fmt.Sprintf("a process per run, one cache_dir: one cold run, the median of %d warm ones", warmPasses), "",
				readFloorRow, fmt.Sprintf("a new process %%s (bench readfloor, the median of %d, each run after a warm one)", warmPasses)},
			{"f1fetch-input, one process, cache_dir (cold pass)", "f1fetch-input, one process, cache_dir (warm pass)",
				fmt.Sprintf("one process (f1_fetch inputs in a sequence, one cache_dir: one cold pass, the median of %d warm ones)", warmPasses), " pass",
				readFloorOneProcessRow, fmt.Sprintf("a process that read them before %%s (bench readfloor -passes %d, the median of the last %d)", 1+warmPasses, warmPasses)},
			{"f1fetch-processor, one process, cache_dir (cold pass)", "f1fetch-processor, one process, cache_dir (warm pass)",
				fmt.Sprintf("one process (the tuples fed %d times to one f1_fetch processor, as in a long-running pipeline: one cold pass, the median of %d warm ones)", 1+warmPasses, warmPasses), " pass", "", ""},
		} {
			cold, okC := r.find(md.name, sess, b.cold)
			warm, okW := r.find(md.name, sess, b.warm)
			if !okC || !okW {
				continue
			}
			x := float64(cold.fetching()) / float64(max(warm.fetching(), 1))
			measured := fmt.Sprintf("%.1fx (%s cold%s, %s warm%s)", x, round(cold.fetching()), b.pass, round(warm.fetching()), b.pass)
			if warm.SpanNS > 0 {
				measured += fmt.Sprintf(" from the pipeline's start; %.1fx as process wall time (%s cold, %s warm)",
					float64(cold.WallNS)/float64(max(warm.WallNS, 1)), round(cold.wall()), round(warm.wall()))
			}
			t := target{goal: fmt.Sprintf("warm cache at least 20x faster than cold: f1fetch binary, %s, %s, %s", b.how, sess, md.name),
				met: x >= 20}
			if floor, ok := r.find(md.name, sess, b.floor); ok && b.floor != "" {
				most := float64(cold.fetching()) / float64(max(floor.fetching(), 1))
				measured += "; reading the cache files alone takes " + fmt.Sprintf(b.floorIs, round(floor.fetching())) +
					fmt.Sprintf(", so %.1fx is the most this machine allows", math.Floor(most*10)/10) // rounded down, as the target reads it
				t.outOfReach = !t.met && most < 20
			}
			t.measured = measured
			ts = append(ts, t)
		}
		if lib, ok := r.find(md.name, sess, "f1fetch-lib"); ok && lib.InnerWarmNS > 0 {
			x := float64(lib.InnerColdNS) / float64(lib.InnerWarmNS)
			ts = append(ts, target{goal: fmt.Sprintf("warm cache at least 20x faster than cold: library, same Client, %s, %s", sess, md.name),
				measured: fmt.Sprintf("%.0fx (%s cold, %s warm)", x, round(time.Duration(lib.InnerColdNS)), round(time.Duration(lib.InnerWarmNS))), met: x >= 20})
		}
	}
	for _, m := range r.extra {
		if strings.Contains(m.Contender, "output delay") && !strings.HasSuffix(m.Contender, " 0s") {
			mb := float64(m.RSSKB) / 1024
			ts = append(ts, target{goal: "peak RSS under 256 MB, whole session, slow output (" + m.Contender + ")",
				measured: fmt.Sprintf("%.0f MB", mb), met: mb < 256})
		}
	}
	return ts
}

func round(d time.Duration) time.Duration {
	switch {
	case d > 10*time.Second:
		return d.Round(100 * time.Millisecond)
	case d > 100*time.Millisecond:
		return d.Round(time.Millisecond)
	}
	return d.Round(10 * time.Microsecond)
}

func goVersion() string {
	out, err := exec.Command("go", "version").Output()
	if err != nil {
		return runtime.Version() + " (bench binary)"
	}
	return strings.TrimSpace(string(out))
}

func (r *report) markdown() string {
	var b strings.Builder
	p := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	p("# f1fetch benchmark results\n\n")
	p("Generated by `bench/run.sh` (do not edit: rerun it). All figures below were measured in one run, side by side, on one loopback mirror.\n\n")
	p("* date: %s (run took %s)\n", r.start.UTC().Format("2006-01-02 15:04 MST"), time.Since(r.start).Round(time.Second))
	p("* machine: %s, %d CPUs visible (shared with other work), %s, %s\n", cpuModel(), runtime.NumCPU(), kernel(), goVersion())
	p("* command: `%s`\n", r.opts.command)
	p("* mirror: in the bench process, `plugin/mirror` serving shared/testdata with alias 2025=test, h2c and HTTP/1.1 on %s; gzip for every client that asks: the stock http processor, the Python script and h2load do; f1fetch does not ask a loopback base (inflating is pure CPU there), h2load-identity neither\n", r.base)
	p("* concurrency C = %d for every contender; f1fetch runs with use_cache/write_cache off except in the cache rows\n", r.opts.concurrency)
	p("* bound = ceil(N/C) x mean latency + transfer, transfer = h2load's wall time for the same workload at 0 ms in this run\n\n")
	p("## Targets\n\n| target | measured | met |\n|---|---|---|\n")
	for _, t := range r.targets() {
		met := map[bool]string{true: "yes", false: "**no**"}[t.met]
		if t.outOfReach {
			met += ", out of reach (floor)"
		}
		p("| %s | %s | %s |\n", t.goal, t.measured, met)
	}
	p("\n## Contenders\n\n")
	p("* `f1fetch-input`: `f1fetch run`, `f1_fetch` input with the tuples as `requests` (ordered sliding window, prefetch 2C).\n")
	p("* `f1fetch-processor`: `f1fetch run`, file of tuples cut into batches of %d by the input's processors (`unarchive` lines, `split`; no batching period, see `batchedLines`), `f1_fetch` processor, one pipeline thread.\n", r.opts.concurrency)
	p("* `f1fetch-processor-threads4`: the same on 4 pipeline threads. The process-wide limiter still keeps %d requests in flight, so it runs at the same concurrency as the others, but batches overlap instead of each waiting for its slowest request; the order across batches is given up.\n", r.opts.concurrency)
	p("* `%s`: the `f1_fetch` processor on one pipeline thread, given batches of %d x %d = %d tuples. Its concurrency is its own setting (%d, as every contender), not the batch size as for the stock processor, so it keeps the order and waits for a batch's slowest request once per %d requests instead of once per %d.\n",
		batchedProcessor, processorBatchC, r.opts.concurrency, processorBatchC*r.opts.concurrency, r.opts.concurrency, processorBatchC*r.opts.concurrency, r.opts.concurrency)
	p("* `f1fetch-lib`: the engine as a Go library (`fetch.Client.FetchMany`) in a child process; allocations/request from runtime.MemStats.\n")
	p("* `benthos-http-parallel` / `-sequential`: the stock Benthos `http` processor (it is in the core `io` components of the f1fetch binary), the same batches of %d, `parallel: true` / `false`. Its client is net/http's default transport, so it speaks **HTTP/1.1** to an `http://` mirror (no h2c), and it **does not parse** the bodies. The sequential baseline runs only where it takes under %s.\n", r.opts.concurrency, r.opts.sequentialMax)
	p("* `python-httpx`: `bench/python/fetch_multiple.py`, the seed's fetch_multiple shape (asyncio, httpx HTTP/2, semaphore C, parsing in a thread pool, column-length check), Debian's python3-httpx and python3-h2; its JSON parser is `orjson` when it can import it, else the standard `json` (Debian 12 packages no python3-orjson, and this machine reaches no PyPI); in this run: %s.\n", r.pythonParsers())
	p("* `h2load` / `h2load-identity`: nghttp2's load generator, one connection, C streams: the raw HTTP/2 ceiling (no parsing), asking for gzip / for the uncompressed bytes f1fetch reads from a loopback mirror.\n")
	p("\nEvery pipeline writes one line per message (`ok` or `error`, the cache outcome and the time it left the pipeline) to a file; the `ok` column counts them. Wall time is process start to exit (start-up included, see the start-up row), CPU is user+system of the contender's process, RSS its peak, from `/usr/bin/time -v`; mirror CPU is the bench process's own user+system time during the run (`getrusage`): the in-process mirror serving the contender, on the same cores; host steal is the share of the host's CPU time the hypervisor gave to other guests during the run (`/proc/stat`), the shared host's load that no contender controls. The f1fetch pipelines send a marker message before their input (a `sequence`), and their time from the marker to the last document is given as \"from start\": the fetching, like f1fetch-lib's figure, without Benthos's start-up, which grows with the size of the config (f1fetch-input's 1000 requests are inline, 157 KB) and its exit. The targets against the bound and h2load use it, with the process wall time beside it; the stock processor's pipelines have no marker (it would be a request to an empty URL), and the targets against them compare process wall times.\n")
	for _, w := range r.loads {
		p("\n## %s: %d requests, %.1f MB\n\n", w.Name, len(w.Tuples), float64(w.Bytes)/1e6)
		p("| latency | contender | wall | from start | req/s | MB/s | x bound | vs f1fetch-input | CPU s | mirror CPU s | peak RSS MB | allocs/req | host steal | ok |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
		for _, m := range r.rows {
			if m.Workload != w.Name {
				continue
			}
			xb, vs, allocs, span := "", "", "", ""
			if m.SpanNS > 0 {
				span = round(time.Duration(m.SpanNS)).String()
			}
			if m.BoundNS > 0 {
				xb = fmt.Sprintf("%.2f", float64(m.WallNS)/float64(m.BoundNS))
			}
			if in, ok := r.find(m.Mode, m.Workload, "f1fetch-input"); ok {
				vs = fmt.Sprintf("%.2fx", float64(m.WallNS)/float64(in.WallNS))
			}
			if m.Allocs > 0 {
				allocs = fmt.Sprintf("%.0f", m.Allocs)
			}
			p("| %s | %s | %s | %s | %.0f | %.1f | %s | %s | %.2f | %.2f | %.0f | %s | %.0f%% | %d/%d |\n", m.Mode, m.Contender, round(m.wall()), span,
				float64(m.N)/m.wall().Seconds(), float64(m.Bytes)/1e6/m.wall().Seconds(), xb, vs, m.CPUS, m.MirrorCPUS, float64(m.RSSKB)/1024, allocs, m.StealPct, m.OK, m.N)
		}
	}
	p("\n\"vs f1fetch-input\" is the contender's wall time divided by f1fetch-input's: above 1, f1fetch-input is that many times faster.\n")
	if len(r.rounds) > 0 {
		p("\n## The CPU-bound comparison, round by round\n\n")
		p("At 0 ms the runs of %s on %s were repeated back to back, %d rounds in all (round 1 is the table above); the 50%% target takes the median of the rounds' ratios.\n\n", strings.Join(cpuContenders, ", "), r.loads[3].Name, cpuRounds)
		p("| round | %s |\n|---|%s\n", strings.Join(cpuContenders, " | "), strings.Repeat("---|", len(cpuContenders)))
		for k := 1; k <= cpuRounds; k++ {
			p("| %d |", k)
			for _, c := range cpuContenders {
				m, ok := r.roundOf(r.rounds[0].Mode, r.loads[3].Name, c, k)
				switch {
				case !ok:
					p("  |")
				case m.SpanNS > 0:
					p(" %s (from start %s), steal %.0f%% |", round(m.wall()), round(time.Duration(m.SpanNS)), m.StealPct)
				default:
					p(" %s, steal %.0f%% |", round(m.wall()), m.StealPct)
				}
			}
			p("\n")
		}
	}
	p("\n## Cache, memory and start-up\n\n| latency | run | wall | CPU s | peak RSS MB | ok | note |\n|---|---|---|---|---|---|---|\n")
	for _, m := range r.extra {
		p("| %s | %s | %s | %.2f | %.0f | %d | %s |\n", m.Mode, m.Contender, round(m.wall()), m.CPUS, float64(m.RSSKB)/1024, m.OK, m.Note)
	}
	for _, m := range r.rows {
		if m.Contender == "f1fetch-lib" && m.InnerWarmNS > 0 && m.Workload == r.loads[2].Name {
			p("| %s | f1fetch-lib same Client, rerun | %s | | | %d | %s |\n", m.Mode, round(time.Duration(m.InnerWarmNS)), m.OK, m.Note)
		}
	}
	if r.opts.payload != "" {
		p("\n## Parsing and validation per MB (go test -bench ./plugin/payload)\n\n%s\n", payloadTable(r.opts.payload))
	}
	p("\n## Charts\n\n![wall time, %s](wall_%s.png)\n\n![wall time, %s](wall_%s.png)\n", r.loads[3].Name, r.loads[3].Name, r.loads[2].Name, r.loads[2].Name)
	return b.String()
}

// payloadTable turns `go test -bench` output of plugin/payload into a table
// of time per MB; it needs the MB/s column (b.SetBytes).
func payloadTable(path string) string {
	raw, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(no payload benchmark output: %v)", err)
	}
	var b strings.Builder
	b.WriteString("| benchmark | MB/s | ms per MB | B/op | allocs/op |\n|---|---|---|---|---|\n")
	for _, line := range strings.Split(string(raw), "\n") {
		f := strings.Fields(line)
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		var mbs, bop, aop string
		for i := 1; i+1 < len(f); i++ {
			switch f[i+1] {
			case "MB/s":
				mbs = f[i]
			case "B/op":
				bop = f[i]
			case "allocs/op":
				aop = f[i]
			}
		}
		var v float64
		if _, err := fmt.Sscanf(mbs, "%g", &v); err != nil || v == 0 {
			continue
		}
		fmt.Fprintf(&b, "| %s | %s | %.2f | %s | %s |\n", f[0], mbs, 1000/v, bop, aop)
	}
	return b.String()
}

// pythonParsers is the JSON parsers the Python script reported in this run
// ("json", "orjson"), as its rows' notes say, or "not run".
func (r *report) pythonParsers() string {
	var seen []string
	for _, m := range r.rows {
		if parser, ok := strings.CutPrefix(m.Note, "parser: "); ok && m.Contender == "python-httpx" && !slices.Contains(seen, "`"+parser+"`") {
			seen = append(seen, "`"+parser+"`")
		}
	}
	if len(seen) == 0 {
		return "not run"
	}
	return strings.Join(seen, ", ")
}
