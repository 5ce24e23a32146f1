// Package payload turns the bytes of a TracingInsights file into a normalised,
// validated JSON document: Python's NaN tokens and "None" strings rewritten,
// the syntax checked (a fast scanner held to segmentio/encoding/json's answer,
// segmentio for error messages and values), the kind of file, and its
// validation rules. JSON parsing of data files lives only here.
package payload

import (
	"strconv"
	"strings"
)

// Kind is the kind of a data file, known from its name.
type Kind string

const (
	KindDrivers         Kind = "drivers"
	KindCorners         Kind = "corners"
	KindRCM             Kind = "rcm"
	KindWeather         Kind = "weather"
	KindSessionLaptimes Kind = "session_laptimes"
	KindLaptimes        Kind = "laptimes"
	KindTelemetry       Kind = "telemetry"
	KindOther           Kind = "other"
)

// KindOf tells the kind of a file by the last segment of its path.
func KindOf(path string) Kind {
	name := path[strings.LastIndexByte(path, '/')+1:]
	switch name {
	case "drivers.json":
		return KindDrivers
	case "corners.json":
		return KindCorners
	case "rcm.json":
		return KindRCM
	case "weather.json":
		return KindWeather
	case "session_laptimes.json":
		return KindSessionLaptimes
	case "laptimes.json":
		return KindLaptimes
	}
	if _, ok := TelemetryLap(name); ok {
		return KindTelemetry
	}
	return KindOther
}

// TelemetryLap reports whether the file name is a lap's telemetry, "N_tel.json"
// with N of digits only, and N (0 when it does not fit an int).
func TelemetryLap(name string) (lap int, ok bool) {
	digits, ok := strings.CutSuffix(name, "_tel.json")
	if !ok || digits == "" || strings.TrimLeft(digits, "0123456789") != "" {
		return 0, false
	}
	if n, err := strconv.Atoi(digits); err == nil {
		lap = n
	}
	return lap, true
}

// columnar reports whether documents of kind k are one object of parallel arrays.
func (k Kind) columnar() bool {
	switch k {
	case KindCorners, KindRCM, KindWeather, KindSessionLaptimes, KindLaptimes:
		return true
	}
	return false
}

// required are the columns a document of kind k must have.
func (k Kind) required() []string {
	switch k {
	case KindLaptimes, KindSessionLaptimes:
		return []string{"time", "lap"}
	case KindTelemetry:
		return []string{"time", "speed", "distance"}
	}
	return nil
}
