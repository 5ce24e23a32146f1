// Package session plans the files of whole sessions: which session-level
// files, which drivers (all of drivers.json by default), their lap times and
// the telemetry of all laps, the fastest lap or a list of laps. The plan is
// streamed in order while it is being made, because it depends on documents
// (drivers.json, each laptimes.json) that are themselves part of it.
//
// It is shared by the f1_fetch input, which emits the documents, and the
// f1_expand processor, which emits the tuples.
package session

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/f1fetch/f1fetch/plugin/fetch"
	"github.com/f1fetch/f1fetch/plugin/payload"
	"github.com/f1fetch/f1fetch/plugin/tuple"
)

// DefaultFiles are the session-level files planned when a request names none.
// Files a season lacks answer 404 and are dropped (and counted) by default.
var DefaultFiles = []string{"drivers.json", "corners.json", "rcm.json", "weather.json", "session_laptimes.json"}

// Laps selects the telemetry laps of each driver.
type Laps struct {
	Mode string // "all", "fastest", "list" or "none"
	List []int  // with Mode "list"
}

// errNoLaps refuses an empty laps list: empty files or drivers lists mean
// the default, so an empty laps list meaning no telemetry would mislead.
var errNoLaps = errors.New(`field laps: value []: an empty list names no lap; use "none" for no telemetry`)

// ParseLaps reads the laps setting: "all", "fastest", "none", or a list of
// lap numbers.
func ParseLaps(v any) (Laps, error) {
	switch x := v.(type) {
	case nil:
		return Laps{Mode: "all"}, nil
	case string:
		switch x {
		case "all", "fastest", "none":
			return Laps{Mode: x}, nil
		}
	case []any:
		if len(x) == 0 {
			return Laps{}, errNoLaps
		}
		l := Laps{Mode: "list"}
		for _, e := range x {
			n, ok := asLap(e)
			if !ok {
				return Laps{}, fmt.Errorf("field laps: value %v: lap numbers are whole numbers from 1 to %d", e, payload.MaxLap)
			}
			l.List = append(l.List, n)
		}
		return l, nil
	case []int:
		if len(x) == 0 {
			return Laps{}, errNoLaps
		}
		return Laps{Mode: "list", List: x}, nil
	}
	return Laps{}, fmt.Errorf(`field laps: value %v: want "all", "fastest", "none" or a list of lap numbers`, v)
}

func asLap(v any) (int, bool) {
	var f float64
	switch x := v.(type) {
	case int:
		f = float64(x)
	case int64:
		f = float64(x)
	case float64:
		f = x
	case string:
		n, err := strconv.Atoi(x)
		if err != nil {
			return 0, false
		}
		f = float64(n)
	default:
		return 0, false
	}
	if f < 1 || f > payload.MaxLap || f != math.Trunc(f) {
		return 0, false
	}
	return int(f), true
}

// Request names a session and what to take of it.
type Request struct {
	Year      int
	GP        string
	Session   string
	Files     []string // session-level files; nil means DefaultFiles
	Drivers   []string // nil means every driver of drivers.json
	Laptimes  bool     // each driver's laptimes.json
	Telemetry bool     // each selected lap's {lap}_tel.json
	Laps      Laps
}

// EmptyListsDefault reads an empty Files or Drivers as unset, the defaults
// (DefaultFiles, every driver of drivers.json), as the components do:
// Benthos fills an unset optional list with [], so a config cannot tell the
// two apart, and a session request message means the same.
func (r Request) EmptyListsDefault() Request {
	if len(r.Files) == 0 {
		r.Files = nil
	}
	if len(r.Drivers) == 0 {
		r.Drivers = nil
	}
	return r
}

// Validate refuses a request whose parts would make invalid tuples.
func (r Request) Validate() error {
	if _, err := tuple.New(r.Year, r.GP, r.Session, "drivers.json"); err != nil {
		return err
	}
	for _, f := range r.Files {
		if _, err := tuple.New(r.Year, r.GP, r.Session, f); err != nil {
			return fmt.Errorf("field files: %w", err)
		}
	}
	for _, d := range r.Drivers {
		if _, err := tuple.New(r.Year, r.GP, r.Session, d+"/laptimes.json"); err != nil || len(d) != 3 || strings.ToUpper(d) != d {
			return fmt.Errorf("field drivers: value %q: want a three-letter driver code such as VER", d)
		}
	}
	switch r.Laps.Mode {
	case "all", "fastest", "none", "list":
	default:
		return fmt.Errorf("field laps: value %q: want all, fastest, none or a list", r.Laps.Mode)
	}
	return nil
}

// Emit puts one tuple of the plan in its place and returns a way to wait for
// its result, which the planner calls only for the documents it needs to
// read (drivers.json, laptimes.json, probed telemetry), at most once each.
// probe marks a lap after the timed ones, which may not exist: a 404 of a
// probe is the plan finding the end of a driver's laps, not a missing file,
// so the caller emits nothing in its place (and flags nothing, whatever
// on_not_found says).
//
// The wait of a laptimes.json may be called on a goroutine of its own,
// while the planner goes on emitting and waiting (the laptimes of every
// driver are read at once), and may still be running when Plan has
// returned early: it must end with its fetch. A probe's wait is called on
// the planner's goroutine, before anything else is emitted.
type Emit func(t tuple.Tuple, probe bool) (wait func() fetch.Result, err error)

// Read fetches a document the plan needs but does not emit (drivers.json
// when the files leave it out, laptimes.json when laptimes are off). With
// telemetry of all laps or the fastest, the reads of laptimes.json run at
// once, each on a goroutine of its own, on a context that ends when Plan
// returns.
type Read func(ctx context.Context, t tuple.Tuple) fetch.Result

// Fail is told of a document the plan needed and could not read or use
// (drivers.json, a laptimes.json, a probed lap that failed other than with
// a 404), so that the failure reaches the output instead of leaving a
// silent gap: the result of its read (its tuple, URL, status and attempts)
// with Err saying why, and whether an emitted message already carries that
// error (the document was emitted and its fetch failed). Returning an error
// ends the plan with it; nil goes on with what can still be planned.
type Fail func(res fetch.Result, carried bool) error

// Plan streams the tuples of r, in order, to emit: the session files, then
// each driver's laptimes.json, then each driver's telemetry. With laps
// "all", laps 1 to the highest timed lap are planned at once and the laps
// after it are probed one by one until the first 404 (untimed in-laps have
// telemetry files too; the files are numbered 1..N without gaps). A driver
// whose laptimes.json is not found has no laps to plan; any other failure
// of a document the plan needs goes to fail.
//
// With telemetry of all laps or of the fastest, the plan needs every
// driver's laptimes.json: their reads (or the waits of the emitted ones)
// all start as soon as the drivers are known, and the driver loop waits
// for them in order, so their round trips overlap (the client's limiter
// bounds them) while the plan, its order and its failures stay those of
// reading them one by one. The probes stay one after the other: how many
// laps a driver has after the timed ones is known only from its probes,
// and the next driver's tuples come after them.
func Plan(ctx context.Context, r Request, emit Emit, read Read, fail Fail) error {
	if err := r.Validate(); err != nil {
		return err
	}
	mk := func(path string) tuple.Tuple {
		return tuple.Tuple{Year: r.Year, GP: r.GP, Session: r.Session, Path: path}
	}
	readOnly := func(path string) func() fetch.Result {
		return func() fetch.Result { return read(ctx, mk(path)) }
	}
	files := r.Files
	if files == nil {
		files = DefaultFiles
	}
	failed := func(path string, res fetch.Result, err error, carried bool) error {
		res.Tuple, res.Doc, res.Bytes = mk(path), nil, 0
		res.Err = fmt.Errorf("plan %d %s %s: %w", r.Year, r.GP, r.Session, err)
		return fail(res, carried)
	}
	driversWait, driversEmitted := readOnly("drivers.json"), false
	for _, f := range files {
		w, err := emit(mk(f), false)
		if err != nil {
			return err
		}
		if f == "drivers.json" {
			driversWait, driversEmitted = w, true
		}
	}
	drivers := r.Drivers
	if drivers == nil && (r.Laptimes || r.Telemetry) {
		res := driversWait()
		if res.Err != nil {
			// Without drivers nothing more can be planned, which the caller
			// hears of too (a misspelt gp or session answers 404 here, and a
			// 404 is dropped by default).
			err := fmt.Errorf("read drivers.json: %w", res.Err)
			if ferr := failed("drivers.json", res, err, driversEmitted); ferr != nil {
				return ferr
			}
			return fmt.Errorf("plan %d %s %s: %w", r.Year, r.GP, r.Session, err)
		}
		var err error
		if drivers, err = payload.DriverCodes(res.Doc); err != nil {
			if ferr := failed("drivers.json", res, err, false); ferr != nil {
				return ferr
			}
			return fmt.Errorf("plan %d %s %s: %w", r.Year, r.GP, r.Session, err)
		}
	}

	// The read-only laptimes read ahead run on aheadCtx, which ends when
	// Plan returns: an early return (an emit's error, fail's, ctx's) ends
	// the ones still running. The emitted ones end with their fetch.
	ahead := r.Telemetry && (r.Laps.Mode == "all" || r.Laps.Mode == "fastest")
	aheadCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	laptimes := make([]func() fetch.Result, len(drivers))
	for i, d := range drivers {
		path := d + "/laptimes.json"
		if r.Laptimes {
			w, err := emit(mk(path), false)
			if err != nil {
				return err
			}
			laptimes[i] = w
		} else {
			laptimes[i] = func() fetch.Result { return read(aheadCtx, mk(path)) }
		}
		if ahead {
			laptimes[i] = start(laptimes[i])
		}
	}
	if !r.Telemetry || r.Laps.Mode == "none" {
		return nil
	}
	for i, d := range drivers {
		laps := r.Laps.List
		if r.Laps.Mode != "list" {
			path := d + "/laptimes.json"
			res := laptimes[i]()
			if fetch.ErrorKind(res.Err) == fetch.KindNotFound {
				continue // no lap times, no laps to plan
			}
			if res.Err != nil {
				if err := failed(path, res, fmt.Errorf("read %s for the telemetry: %w", path, res.Err), r.Laptimes); err != nil {
					return err
				}
				continue
			}
			facts, err := payload.LapFactsOf(res.Doc)
			if err != nil {
				if err := failed(path, res, fmt.Errorf("laps of %s for the telemetry: %w", path, err), false); err != nil {
					return err
				}
				continue
			}
			laps = nil
			switch {
			case r.Laps.Mode == "fastest" && facts.Fastest > 0:
				laps = []int{facts.Fastest}
			case r.Laps.Mode == "all":
				for l := 1; l <= facts.Highest; l++ {
					laps = append(laps, l)
				}
			}
		}
		for _, l := range laps {
			if _, err := emit(mk(fmt.Sprintf("%s/%d_tel.json", d, l)), false); err != nil {
				return err
			}
		}
		if r.Laps.Mode == "all" {
			if err := probe(ctx, emit, mk, failed, d, len(laps)+1); err != nil {
				return err
			}
		}
	}
	return nil
}

// start runs wait on a goroutine of its own and returns a wait for its
// result. The goroutine blocks on nothing but wait: it ends with it,
// whether or not its result is ever waited for.
func start(wait func() fetch.Result) func() fetch.Result {
	done := make(chan struct{})
	var res fetch.Result
	go func() {
		defer close(done)
		res = wait()
	}()
	return func() fetch.Result {
		<-done
		return res
	}
}

// probe emits laps from next on until one is not found: the first 404 ends
// the driver's telemetry. A lap that fails otherwise ends it too (whether
// more laps follow is unknown), and goes to failed. It stops at MaxLap, so
// a source that answers every path never keeps it going.
func probe(ctx context.Context, emit Emit, mk func(string) tuple.Tuple, failed func(string, fetch.Result, error, bool) error, driver string, next int) error {
	for lap := next; lap <= payload.MaxLap && ctx.Err() == nil; lap++ {
		path := fmt.Sprintf("%s/%d_tel.json", driver, lap)
		w, err := emit(mk(path), true)
		if err != nil {
			return err
		}
		if res := w(); res.Err != nil {
			if fetch.ErrorKind(res.Err) == fetch.KindNotFound {
				return nil
			}
			return failed(path, res, fmt.Errorf("probe %s for the laps after the timed ones: %w", path, res.Err), true)
		}
	}
	return ctx.Err()
}
