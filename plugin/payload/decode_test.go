package payload

import (
	"errors"
	"strings"
	"testing"
)

func TestKindOf(t *testing.T) {
	cases := map[string]Kind{
		"drivers.json":                  KindDrivers,
		"corners.json":                  KindCorners,
		"rcm.json":                      KindRCM,
		"weather.json":                  KindWeather,
		"session_laptimes.json":         KindSessionLaptimes,
		"VER/laptimes.json":             KindLaptimes,
		"VER/3_tel.json":                KindTelemetry,
		"VER/123_tel.json":              KindTelemetry,
		"3_tel.json":                    KindTelemetry,
		"VER/_tel.json":                 KindOther,
		"VER/x3_tel.json":               KindOther,
		"VER/3_tel.json.bak":            KindOther,
		"VER/drivers.json/x.json":       KindOther,
		"a/drivers.json":                KindDrivers,
		"position.json":                 KindOther,
		"Drivers.json":                  KindOther,
		"":                              KindOther,
		"VER/3_TEL.json":                KindOther,
		"sub/dir/session_laptimes.json": KindSessionLaptimes,
	}
	for path, want := range cases {
		if got := KindOf(path); got != want {
			t.Errorf("KindOf(%q) = %s, want %s", path, got, want)
		}
	}
}

// TestTelemetryLapAndDriverCode: the two name rules tuple shares with the kinds.
func TestTelemetryLapAndDriverCode(t *testing.T) {
	for name, want := range map[string]struct {
		lap int
		ok  bool
	}{
		"3_tel.json": {3, true}, "007_tel.json": {7, true}, "99999999999999999999_tel.json": {0, true},
		"_tel.json": {0, false}, "x3_tel.json": {0, false}, "-3_tel.json": {0, false}, "3_tel.json.bak": {0, false}, "laptimes.json": {0, false},
	} {
		if lap, ok := TelemetryLap(name); lap != want.lap || ok != want.ok {
			t.Errorf("TelemetryLap(%q) = %d, %v; want %d, %v", name, lap, ok, want.lap, want.ok)
		}
	}
	for code, want := range map[string]bool{"VER": true, "ALO": true, "Ver": false, "VE": false, "VERS": false, "V3R": false, "": false, "ÄBC": false} {
		if got := IsDriverCode(code); got != want {
			t.Errorf("IsDriverCode(%q) = %v, want %v", code, got, want)
		}
	}
}

func TestDecodeInvalid(t *testing.T) {
	tel := func(inner string) string { return `{"tel": {` + inner + `}}` }
	cases := []struct {
		name, path, body, reason string
	}{
		// not JSON at all
		{"empty", "x.json", ``, "not JSON at byte 0"},
		{"garbage", "x.json", `hello`, "not JSON at byte 0"},
		{"truncated", "VER/laptimes.json", `{"time": [1, 2`, "not JSON"},
		{"trailing data", "x.json", `{} {}`, "not JSON at byte 3: data after the top-level value"},
		{"trailing comma", "x.json", `[1,]`, "not JSON"},
		{"bare None", "x.json", `[None]`, "not JSON at byte 1"},
		{"single quotes", "x.json", `{'a': 1}`, "not JSON"},
		{"raw control char", "x.json", "[\"a\x01\"]", "not JSON"},
		{"too deep", "x.json", strings.Repeat("[", MaxDepth+1), "nesting deeper than 10000 levels"},
		// any other .json: object or array
		{"other scalar", "position.json", `42`, "top level is a number, expected an object or an array"},
		{"other string", "x.json", `"None"`, "top level is a string, expected an object or an array"},
		{"other null", "x.json", `null`, "top level is null, expected an object or an array"},
		// column documents
		{"laptimes array", "VER/laptimes.json", `[]`, "top level is an array, expected an object"},
		{"laptimes lengths", "VER/laptimes.json",
			`{"time": [1,2,3,4,5,6,7,8,9,10,11,12,13], "lap": [1,2,3,4,5,6,7,8,9,10,11,12], "compound": []}`,
			`column "lap" has 12 values, "time" has 13`},
		{"laptimes missing lap", "VER/laptimes.json", `{"time": [1.0], "compound": ["SOFT"]}`, `missing column "lap"`},
		{"laptimes missing time", "VER/laptimes.json", `{"lap": [1.0]}`, `missing column "time"`},
		{"laptimes empty object", "VER/laptimes.json", `{}`, `missing column "time"`},
		{"laptimes lap scalar", "VER/laptimes.json", `{"time": [1], "lap": 1}`, `column "lap" is a number, expected an array`},
		{"laptimes time null", "VER/laptimes.json", `{"time": null, "lap": [1]}`, `column "time" is null, expected an array`},
		{"laptimes duplicate time", "VER/laptimes.json", `{"time": [1], "time": [2]}`, `missing column "lap"`},
		{"session_laptimes lengths", "session_laptimes.json", `{"time": [1, 2], "lap": [1], "drv": ["VER", "VER"]}`,
			`column "lap" has 1 values, "time" has 2`},
		{"session_laptimes missing lap", "session_laptimes.json", `{"time": [1]}`, `missing column "lap"`},
		{"weather lengths", "weather.json", `{"wT": [1, 2], "wAT": [20.1, 20.2], "wR": [false]}`, `column "wR" has 1 values, "wT" has 2`},
		{"rcm lengths", "rcm.json", `{"time": ["a"], "msg": ["x", "y"]}`, `column "msg" has 2 values, "time" has 1`},
		{"corners lengths", "corners.json", `{"CornerNumber": [1, 2], "X": [1.0], "Rotation": 92.0}`, `column "X" has 1 values, "CornerNumber" has 2`},
		{"corners array", "corners.json", `[[1, 2]]`, "top level is an array, expected an object"},
		{"nested arrays counted as one", "weather.json", `{"a": [[1, 2], [3]], "b": [1, 2, 3]}`, `column "b" has 3 values, "a" has 2`},
		{"escaped key named", "weather.json", `{"a": [1], "b\"c": []}`, `column "b\"c" has 0 values, "a" has 1`},
		{"huge key cut", "weather.json", `{"a": [1], "` + strings.Repeat("k", 5000) + `": []}`, `…" has 0 values`},
		// telemetry
		{"tel missing", "VER/1_tel.json", `{"time": [0.0]}`, `missing "tel" object`},
		{"tel array", "VER/1_tel.json", `{"tel": [0.0]}`, `"tel" is an array, expected an object`},
		{"tel top array", "VER/1_tel.json", `[{"tel": {}}]`, "top level is an array, expected an object"},
		{"tel lengths", "VER/1_tel.json", tel(`"time": [0, 1], "speed": [0, 1], "distance": [0, 1], "gear": [1]`), `tel: column "gear" has 1 values, "time" has 2`},
		{"tel missing speed", "VER/1_tel.json", tel(`"time": [0], "distance": [0], "dataKey": "k"`), `tel: missing column "speed"`},
		{"tel missing distance", "VER/1_tel.json", tel(`"time": [0], "speed": [0]`), `tel: missing column "distance"`},
		{"tel speed string", "VER/1_tel.json", tel(`"time": [0], "speed": "fast", "distance": [0]`), `tel: column "speed" is a string, expected an array`},
		{"tel strings with commas", "VER/1_tel.json", tel(`"time": [0, 1], "speed": [0, 1], "distance": [0, 1], "DriverAhead": ["4,5", "]"], "x": ["a"]`),
			`tel: column "x" has 1 values, "time" has 2`},
		// drivers
		{"drivers array", "drivers.json", `[{"driver": "VER", "team": "Red Bull Racing"}]`, "top level is an array, expected an object"},
		{"drivers missing", "drivers.json", `{"teams": []}`, `missing "drivers" list`},
		{"drivers not list", "drivers.json", `{"drivers": {"driver": "VER"}}`, `"drivers" is an object, expected a list`},
		{"drivers empty", "drivers.json", `{"drivers": []}`, `"drivers" is an empty list`},
		{"drivers record string", "drivers.json", `{"drivers": [{"driver": "VER", "team": "R"}, "HAM"]}`, "drivers[1]: is a string, expected an object"},
		{"driver missing", "drivers.json", `{"drivers": [{"team": "R"}]}`, `drivers[0]: missing "driver"`},
		{"driver lower", "drivers.json", `{"drivers": [{"driver": "VER", "team": "R"}, {"driver": "ver", "team": "R"}]}`, `drivers[1]: "driver" "ver" does not match ^[A-Z]{3}$`},
		{"driver long", "drivers.json", `{"drivers": [{"driver": "VERS", "team": "R"}]}`, `drivers[0]: "driver" "VERS" does not match ^[A-Z]{3}$`},
		{"driver empty", "drivers.json", `{"drivers": [{"driver": "", "team": "R"}]}`, `drivers[0]: "driver" "" does not match ^[A-Z]{3}$`},
		{"driver number", "drivers.json", `{"drivers": [{"driver": 33, "team": "R"}]}`, `drivers[0]: "driver" is a number, expected a string`},
		{"driver unicode", "drivers.json", `{"drivers": [{"driver": "VÉR", "team": "R"}]}`, `does not match`},
		{"team missing", "drivers.json", `{"drivers": [{"driver": "VER"}]}`, `drivers[0]: missing "team"`},
		{"team empty", "drivers.json", `{"drivers": [{"driver": "VER", "team": ""}]}`, `drivers[0]: "team" is empty`},
		{"team null", "drivers.json", `{"drivers": [{"driver": "VER", "team": null}]}`, `drivers[0]: "team" is null, expected a string`},
		{"team None normalised stays", "drivers.json", `{"drivers": [{"driver": "VER", "team": 1}]}`, `"team" is a number`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			doc, err := Decode(c.path, []byte(c.body), Options{Validate: true, NormalizeMissing: true})
			var ie *InvalidError
			if !errors.As(err, &ie) {
				t.Fatalf("Decode = %.60s, %v; want *InvalidError", doc, err)
			}
			if !strings.Contains(ie.Reason, c.reason) {
				t.Errorf("reason %q, want %q", ie.Reason, c.reason)
			}
			if ie.Path != c.path || ie.Kind != KindOf(c.path) {
				t.Errorf("Path %q Kind %q", ie.Path, ie.Kind)
			}
			if len(ie.Error()) > 400 {
				t.Errorf("message of %d bytes", len(ie.Error()))
			}
		})
	}
}

func TestInvalidErrorFormat(t *testing.T) {
	_, err := Decode("VER/laptimes.json", []byte(`{"time": [1, 2], "lap": [1]}`), Options{Validate: true})
	want := `invalid laptimes data "VER/laptimes.json": column "lap" has 1 values, "time" has 2`
	if err == nil || err.Error() != want {
		t.Fatalf("got %v\nwant %s", err, want)
	}
	_, err = Decode("VER/laptimes.json", []byte(`{"time": [1`), Options{})
	if !errors.Is(err, errNotJSON) {
		t.Errorf("syntax error does not unwrap to errNotJSON: %v", err)
	}
}

func TestDecodeValid(t *testing.T) {
	cases := []struct{ path, body, want string }{
		{"VER/laptimes.json", `{"time": [], "lap": [], "compound": []}`, ""},
		{"VER/laptimes.json", `{"time": [NaN], "lap": [1.0], "compound": ["None"]}`, `{"time": [null], "lap": [1.0], "compound": [null]}`},
		{"VER/1_tel.json", `{"tel": {"time": [0.0, 0.1], "speed": [1, 2], "distance": [0, 3], "dataKey": "k"}, "extra": 1}`, ""},
		{"corners.json", `{"CornerNumber": [1], "X": [1.5], "Rotation": 92.0}`, ""},
		{"weather.json", `{}`, ""},
		{"drivers.json", `{"drivers": [{"driver": "VER", "team": "Red Bull Racing", "url": "a%20b"}]}`, ""},
		{"drivers.json", ` {"drivers": [{"driver": "V\u0045R", "team": "R"}]} `, ""},
		{"position.json", `[1, 2]`, ""},
		{"x.json", `{"a": NaN}`, `{"a": null}`},
		{"VER/laptimes.json", `{"time": [1.0, -NaN, -Infinity, Infinity], "lap": [1, 2, 3, 4]}`, `{"time": [1.0, null, null, null], "lap": [1, 2, 3, 4]}`},
	}
	for _, c := range cases {
		got, err := Decode(c.path, []byte(c.body), Options{Validate: true, NormalizeMissing: true})
		if err != nil {
			t.Errorf("%s %s: %v", c.path, c.body, err)
			continue
		}
		want := c.want
		if want == "" {
			want = c.body
		}
		if string(got) != want {
			t.Errorf("%s: got %s, want %s", c.path, got, want)
		}
	}
}

// With Validate off, a body only has to be JSON.
func TestDecodeWithoutValidation(t *testing.T) {
	for _, c := range []struct{ path, body string }{
		{"VER/laptimes.json", `{"time": [1, 2], "lap": [1]}`},
		{"drivers.json", `{"drivers": []}`},
		{"x.json", `42`},
		{"VER/1_tel.json", `"None"`},
	} {
		if _, err := Decode(c.path, []byte(c.body), Options{}); err != nil {
			t.Errorf("%s %s: %v", c.path, c.body, err)
		}
	}
	if _, err := Decode("x.json", []byte(`{"a":`), Options{}); err == nil {
		t.Error("broken JSON accepted with Validate off")
	}
}
