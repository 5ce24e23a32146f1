package payload

import (
	"errors"
	"testing"
)

// FuzzReaders: the readers that planning and rows use on documents never
// panic on any bytes, and whatever Decode accepts stays within MaxDepth.
func FuzzReaders(f *testing.F) {
	f.Add("VER/laptimes.json", []byte(`{"time": [NaN, 83.1], "lap": [1.0, 2.0], "compound": ["None", "SOFT"]}`))
	f.Add("drivers.json", []byte(`{"drivers": [{"driver": "VER", "team": "Red Bull Racing"}]}`))
	f.Add("VER/2_tel.json", []byte(`{"tel": {"time": [0.0], "speed": [1], "distance": [0]}}`))
	f.Add("weather.json", []byte(`[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[`))
	f.Fuzz(func(t *testing.T, path string, body []byte) {
		_, _ = ParseColumns(body)
		_, _ = ParseTelemetry(body)
		_, _ = ParseDrivers(body)
		_, _ = DriverCodes(body)
		_, _ = LapFactsOf(body)
		_ = CheckDepth(body)
		doc, err := Decode(path, body, Options{Validate: true, NormalizeMissing: true})
		if err != nil {
			var ie *InvalidError
			if !errors.As(err, &ie) {
				t.Fatalf("error %T: %v", err, err)
			}
			return
		}
		if err := CheckDepth(doc); err != nil {
			t.Fatalf("Decode accepted a document nested too deep: %v", err)
		}
		_, _ = LapFactsOf(doc)
		_, _ = DriverCodes(doc)
	})
}
