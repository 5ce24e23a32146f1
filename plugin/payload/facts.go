package payload

import (
	"fmt"
	"math"

	"github.com/segmentio/encoding/json"
)

// DriverCodes returns the driver codes of a drivers.json document, in
// document order, for planning a session. A document without them (possible
// with validation off) is an *InvalidError, as validation would have said.
func DriverCodes(doc []byte) ([]string, error) {
	invalid := func(reason string, err error) error {
		return &InvalidError{Path: "drivers.json", Kind: KindDrivers, Reason: reason, Err: err}
	}
	records, err := ParseDrivers(doc)
	if err != nil {
		return nil, invalid(err.Error(), err)
	}
	codes := make([]string, 0, len(records))
	for i, rec := range records {
		var d struct {
			Driver string `json:"driver"`
		}
		if err := json.Unmarshal(rec, &d); err != nil || d.Driver == "" {
			return nil, invalid(fmt.Sprintf("drivers[%d] has no driver code", i), err)
		}
		codes = append(codes, d.Driver)
	}
	return codes, nil
}

// MaxLap is the highest lap number planned or accepted in a lap list (no
// race runs near it). A laptimes.json claiming more, such as lap 1e12, must
// not make a planner build or request every lap up to it.
const MaxLap = 10000

// LapFacts are what a laptimes.json says about the telemetry to fetch: laps
// 1 to MaxLap; other lap values (0, 2.5, 1e12) name no telemetry file.
type LapFacts struct {
	Fastest int // lap with the lowest non-null time, 0 when none
	Highest int // highest lap number, 0 when the file is empty
}

// LapFactsOf reads the lap and time columns of a normalised laptimes.json.
// Times may be null (missing) and laps floats such as 2.0. A document it
// cannot read (possible with validation off) is an *InvalidError.
func LapFactsOf(doc []byte) (LapFacts, error) {
	c, err := ParseColumns(doc)
	if err != nil {
		return LapFacts{}, &InvalidError{Path: "laptimes.json", Kind: KindLaptimes, Reason: err.Error(), Err: err}
	}
	laps, times := c.Values["lap"], c.Values["time"]
	var f LapFacts
	best := math.Inf(1)
	for i, raw := range laps {
		var lap *float64
		if err := json.Unmarshal(raw, &lap); err != nil {
			return LapFacts{}, &InvalidError{Path: "laptimes.json", Kind: KindLaptimes, Reason: fmt.Sprintf("lap[%d] = %s is not a number", i, raw), Err: err}
		}
		if lap == nil || *lap < 1 || *lap > MaxLap || *lap != math.Trunc(*lap) {
			continue
		}
		n := int(*lap)
		f.Highest = max(f.Highest, n)
		if i < len(times) {
			var t *float64
			if json.Unmarshal(times[i], &t) == nil && t != nil && *t > 0 && *t < best {
				best, f.Fastest = *t, n
			}
		}
	}
	return f, nil
}
