package payload

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/f1fetch/f1fetch/plugin/mirror/mirrortest"
)

func TestDriverCodesOfRealFiles(t *testing.T) {
	root := mirrortest.SharedTestdata(t)
	for rel, want := range map[string]int{
		"test/Australian Grand Prix/Qualifying/drivers.json": 20,
		"2025/Australian Grand Prix/Qualifying/drivers.json": 20,
	} {
		raw, err := os.ReadFile(filepath.Join(root, rel))
		if err != nil {
			t.Fatal(err)
		}
		doc, err := Decode(rel, raw, Options{Validate: true, NormalizeMissing: true})
		if err != nil {
			t.Fatal(err)
		}
		codes, err := DriverCodes(doc)
		if err != nil || len(codes) != want || !slices.Contains(codes, "VER") {
			t.Fatalf("%s: %v %v", rel, codes, err)
		}
	}
	for _, doc := range []string{`{"drivers": [{"team": "X"}]}`, `{"teams": []}`, `[1, 2]`} {
		var ie *InvalidError
		if _, err := DriverCodes([]byte(doc)); !errors.As(err, &ie) || ie.Kind != KindDrivers {
			t.Errorf("%s: got %v, want an *InvalidError of a drivers file (f1_error_kind invalid)", doc, err)
		}
	}
}

func TestLapFactsOfEveryLaptimesVariant(t *testing.T) {
	root := mirrortest.SharedTestdata(t)
	cases := []struct {
		rel              string
		fastest, highest int
	}{
		// Variant A, laps with gaps: VER's fastest is 75.481 on lap 16.
		{"test/Australian Grand Prix/Qualifying/VER/laptimes.json", 16, 16},
		// Variant A, empty arrays.
		{"test/Australian Grand Prix/Qualifying/BEA/laptimes.json", 0, 0},
		// Variant A with NaN times (normalised to null); a lone NaN lap has no fastest.
		{"test/Australian Grand Prix/Race/DOO/laptimes.json", 0, 1},
		// Variant A, ALO crashed on lap 33 (time NaN); his fastest race lap is 88.819 on lap 32.
		{"test/Australian Grand Prix/Race/ALO/laptimes.json", 32, 33},
	}
	for _, c := range cases {
		raw, err := os.ReadFile(filepath.Join(root, c.rel))
		if err != nil {
			t.Fatal(err)
		}
		doc, err := Decode(c.rel, raw, Options{Validate: true, NormalizeMissing: true})
		if err != nil {
			t.Fatal(err)
		}
		f, err := LapFactsOf(doc)
		if err != nil || f.Fastest != c.fastest || f.Highest != c.highest {
			t.Errorf("%s: got %+v %v, want fastest %d highest %d", c.rel, f, err, c.fastest, c.highest)
		}
	}
	// Variants C/E from 2025/2026: "None" times become null, int laps.
	f, err := LapFactsOf([]byte(`{"time": [null, 80.5, 79.9], "lap": [1, 2, 3]}`))
	if err != nil || f.Fastest != 3 || f.Highest != 3 {
		t.Fatalf("%+v %v", f, err)
	}
	// A lap beyond MaxLap names no file: planning "all" laps of this file
	// once tried to build a list of 10^12 laps and the process died.
	f, err = LapFactsOf([]byte(`{"time": [80.1, 79.0, 78.0], "lap": [1, 1e12, 10001]}`))
	if err != nil || f.Fastest != 1 || f.Highest != 1 {
		t.Fatalf("laps beyond MaxLap: %+v %v, want fastest and highest 1", f, err)
	}
	// What it cannot read is invalid data, as validation would have said
	// (a planner flags it with that kind).
	for _, doc := range []string{`[1, 2]`, `{"time": [80.1], "lap": ["first"]}`} {
		var inv *InvalidError
		if _, err := LapFactsOf([]byte(doc)); !errors.As(err, &inv) || inv.Kind != KindLaptimes {
			t.Errorf("LapFactsOf(%s): %v, want an *InvalidError of kind laptimes", doc, err)
		}
	}
}
