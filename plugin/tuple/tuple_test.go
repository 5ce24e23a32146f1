package tuple

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestParseForms(t *testing.T) {
	want := Tuple{Year: 2025, GP: "Australian Grand Prix", Session: "Qualifying", Path: "VER/3_tel.json"}
	inputs := []string{
		`{"year": 2025, "gp": "Australian Grand Prix", "session": "Qualifying", "path": "VER/3_tel.json"}`,
		`{"year": "2025", "gp": "Australian Grand Prix", "session": "Qualifying", "path": "VER/3_tel.json"}`,
		`{"year": 2025.0, "gp": "Australian Grand Prix", "session": "Qualifying", "path": "VER/3_tel.json", "extra": {"x": [1]}}`,
		`{"path": "VER/3_tel.json", "session": "Qualifying", "gp": "Australian Grand Prix", "year": 2025}`,
		`[2025, "Australian Grand Prix", "Qualifying", "VER/3_tel.json"]`,
		` ["2025", "Australian Grand Prix", "Qualifying", "VER/3_tel.json"] ` + "\n",
		`[2.025e3, "Australian\u0020Grand Prix", "Qualifying", "VER\/3_tel.json"]`,
	}
	for _, in := range inputs {
		got, err := Parse([]byte(in))
		if err != nil {
			t.Errorf("Parse(%s): %v", in, err)
			continue
		}
		if got != want {
			t.Errorf("Parse(%s) = %+v, want %+v", in, got, want)
		}
	}
}

// FromValues must agree with Parse on every year form a config can hold.
func TestFromValuesAgreesWithParse(t *testing.T) {
	for _, year := range []any{2025, int64(2025), 2025.0, "2025", 2025.5, "20x5", "", 1999, "12025", nil, true, []any{2025}, map[string]any{"y": 2025}} {
		raw, err := json.Marshal(map[string]any{"year": year, "gp": "Australian Grand Prix", "session": "Qualifying", "path": "VER/3_tel.json"})
		if err != nil {
			t.Fatal(err)
		}
		want, wantErr := Parse(raw)
		got, gotErr := FromValues(year, "Australian Grand Prix", "Qualifying", "VER/3_tel.json")
		if got != want || fmt.Sprint(gotErr) != fmt.Sprint(wantErr) {
			t.Errorf("year %#v: FromValues = %+v, %v; Parse = %+v, %v", year, got, gotErr, want, wantErr)
		}
	}
	if _, err := FromValues(2025, "Australian Grand Prix", "Qualifying", "../x"); err == nil {
		t.Error("FromValues accepted path ../x")
	}
	if _, err := FromValues(func() {}, "Australian Grand Prix", "Qualifying", "x.json"); !strings.Contains(fmt.Sprint(err), `field "year"`) {
		t.Errorf("a year that is no JSON value: %v, want an error naming field year", err)
	}
}

func TestParseRefusals(t *testing.T) {
	huge := strings.Repeat("A", 1<<20)
	cases := []struct {
		name, in, field, reason string
	}{
		{"not json", `hello`, "tuple", "expected a JSON object or array"},
		{"empty input", ``, "tuple", "expected a JSON object or array"},
		{"scalar", `2025`, "tuple", "expected a JSON object or array"},
		{"broken object", `{"year": 2025,`, "tuple", "not a JSON object"},
		{"trailing junk", `{"year": 2025} x`, "tuple", "not a JSON object"},
		{"broken array", `[2025, "a"`, "tuple", "not a JSON array"},
		{"array too short", `[2025, "A", "Q"]`, "tuple", "got 3"},
		{"array too long", `[2025, "A", "Q", "x.json", "y"]`, "tuple", "got 5"},
		{"empty array", `[]`, "tuple", "got 0"},
		{"missing year", `{"gp": "A", "session": "Q", "path": "x.json"}`, "year", "missing"},
		{"missing gp", `{"year": 2025, "session": "Q", "path": "x.json"}`, "gp", "missing"},
		{"missing session", `{"year": 2025, "gp": "A", "path": "x.json"}`, "session", "missing"},
		{"missing path", `{"year": 2025, "gp": "A", "session": "Q"}`, "path", "missing"},
		{"key case matters", `{"Year": 2025, "gp": "A", "session": "Q", "path": "x.json"}`, "year", "missing"},
		{"year bool", `[true, "A", "Q", "x.json"]`, "year", "got boolean"},
		{"year null", `{"year": null, "gp": "A", "session": "Q", "path": "x.json"}`, "year", "got null"},
		{"year object", `{"year": {"y": 2025}, "gp": "A", "session": "Q", "path": "x.json"}`, "year", "got object"},
		{"year array", `[[2025], "A", "Q", "x.json"]`, "year", "got array"},
		{"year float", `[2025.5, "A", "Q", "x.json"]`, "year", "must be an integer"},
		{"year too small", `[2017, "A", "Q", "x.json"]`, "year", "outside 2018..2100"},
		{"year too big", `[2101, "A", "Q", "x.json"]`, "year", "outside 2018..2100"},
		{"year negative", `[-2025, "A", "Q", "x.json"]`, "year", "outside 2018..2100"},
		{"year huge", `[99999999999999999999999999, "A", "Q", "x.json"]`, "year", "outside 2018..2100"},
		{"year overflow", `[1e400, "A", "Q", "x.json"]`, "year", "must be an integer"},
		{"year NaN token", `[NaN, "A", "Q", "x.json"]`, "tuple", "not a JSON array"},
		{"year NaN string", `["NaN", "A", "Q", "x.json"]`, "year", "string of digits"},
		{"year float string", `["2025.0", "A", "Q", "x.json"]`, "year", "string of digits"},
		{"year signed string", `["+2025", "A", "Q", "x.json"]`, "year", "string of digits"},
		{"year spaced string", `[" 2025", "A", "Q", "x.json"]`, "year", "string of digits"},
		{"year empty string", `["", "A", "Q", "x.json"]`, "year", "string of digits"},
		{"year long string", `["000002025", "A", "Q", "x.json"]`, "year", "outside 2018..2100"},
		{"gp number", `[2025, 7, "Q", "x.json"]`, "gp", "must be a string, got number"},
		{"session null", `[2025, "A", null, "x.json"]`, "session", "got null"},
		{"path object", `[2025, "A", "Q", {"p": "x.json"}]`, "path", "got object"},
		{"gp empty", `[2025, "", "Q", "x.json"]`, "gp", "empty"},
		{"session empty", `[2025, "A", "", "x.json"]`, "session", "empty"},
		{"path empty", `[2025, "A", "Q", ""]`, "path", "empty"},
		{"gp slash", `[2025, "A/B", "Q", "x.json"]`, "gp", `contains "/"`},
		{"session slash", `[2025, "A", "Q/R", "x.json"]`, "session", `contains "/"`},
		{"gp dotdot", `[2025, "..", "Q", "x.json"]`, "gp", `contains ".."`},
		{"gp dot", `[2025, ".", "Q", "x.json"]`, "gp", `"." path segment`},
		{"path traversal", `[2025, "A", "Q", "../x.json"]`, "path", `contains ".."`},
		{"path inner traversal", `[2025, "A", "Q", "VER/../../x.json"]`, "path", `contains ".."`},
		{"path dot segment", `[2025, "A", "Q", "VER/./x.json"]`, "path", `"." path segment`},
		{"path absolute", `[2025, "A", "Q", "/etc/x.json"]`, "path", "absolute"},
		{"gp absolute", `[2025, "/A", "Q", "x.json"]`, "gp", "absolute"},
		{"path url", `[2025, "A", "Q", "http://evil.example/a.json"]`, "path", "empty path segment"},
		{"path double slash", `[2025, "A", "Q", "VER//x.json"]`, "path", "empty path segment"},
		{"path trailing slash", `[2025, "A", "Q", "VER/"]`, "path", "empty path segment"},
		{"path backslash", `[2025, "A", "Q", "VER\\x.json"]`, "path", `contains one of \ ? #`},
		{"path query", `[2025, "A", "Q", "x.json?a=1"]`, "path", `contains one of \ ? #`},
		{"gp fragment", `[2025, "A#B", "Q", "x.json"]`, "gp", `contains one of \ ? #`},
		{"session question", `[2025, "A", "Q?", "x.json"]`, "session", `contains one of \ ? #`},
		{"gp NUL", `[2025, "A\u0000B", "Q", "x.json"]`, "gp", "control character U+0000"},
		{"session newline", `[2025, "A", "Q\n", "x.json"]`, "session", "control character U+000A"},
		{"path tab", `[2025, "A", "Q", "x\t.json"]`, "path", "control character U+0009"},
		{"path DEL", `[2025, "A", "Q", "x\u007f.json"]`, "path", "control character U+007F"},
		{"path C1", `[2025, "A", "Q", "x\u0085.json"]`, "path", "control character U+0085"},
		{"path not json", `[2025, "A", "Q", "VER/laptimes.csv"]`, "path", `does not end in ".json"`},
		{"path json dir", `[2025, "A", "Q", "x.json/y"]`, "path", `does not end in ".json"`},
		{"huge gp", `[2025, "` + huge + `/", "Q", "x.json"]`, "gp", "longer than 256 bytes"},
		{"deep nesting", `{"year": 2025, "x": ` + strings.Repeat("[", 10_000_000) + `}`, "tuple", "nesting deeper than 10000 levels"},
		{"huge whole", `[2025, "A", "Q", "x.json", "` + huge + `"]`, "tuple", "got 5"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := Parse([]byte(c.in))
			var te *Error
			if !errors.As(err, &te) {
				t.Fatalf("Parse = %+v, %v; want *Error", got, err)
			}
			if te.Field != c.field || !strings.Contains(te.Reason, c.reason) {
				t.Errorf("got field %q reason %q, want field %q reason containing %q", te.Field, te.Reason, c.field, c.reason)
			}
			if len(te.Value) > maxValueLen+len("…") {
				t.Errorf("Value not truncated: %d bytes", len(te.Value))
			}
			if len(te.Error()) > 400 {
				t.Errorf("message too long: %d bytes", len(te.Error()))
			}
		})
	}
}

func TestErrorMessage(t *testing.T) {
	_, err := New(2025, "A", "Q", "../x.json")
	want := `invalid tuple: field "path" value "../x.json": contains ".."`
	if err == nil || err.Error() != want {
		t.Fatalf("got %v, want %s", err, want)
	}
}

func TestValueTruncatedOnRuneBoundary(t *testing.T) {
	_, err := New(2025, strings.Repeat("é", 100)+"/", "Q", "x.json")
	var te *Error
	if !errors.As(err, &te) {
		t.Fatal(err)
	}
	if !strings.HasSuffix(te.Value, "…") || !strings.HasPrefix(te.Value, "éé") || strings.ContainsRune(te.Value, '\uFFFD') {
		t.Errorf("bad truncation %q", te.Value)
	}
}

// Encoded traversal and long names are refused before any request.
func TestPercentAndLengthRefused(t *testing.T) {
	for _, c := range []struct{ gp, path, field, reason string }{
		{"%2e%2e", "x.json", "gp", `contains "%"`},
		{"A", "%2e%2e/x.json", "path", `contains "%"`},
		{"A", "VER/%2F%2e%2e%2Fx.json", "path", `contains "%"`},
		{strings.Repeat("G", 257), "x.json", "gp", "longer than 256 bytes"},
		{"A", strings.Repeat("v", 1<<20) + ".json", "path", "longer than 256 bytes (1048581)"},
	} {
		_, err := New(2025, c.gp, "Q", c.path)
		var te *Error
		if !errors.As(err, &te) || te.Field != c.field || !strings.Contains(te.Reason, c.reason) {
			t.Errorf("%.20q %.20q: got %v, want field %s reason %q", c.gp, c.path, err, c.field, c.reason)
		}
	}
}

func TestNewValid(t *testing.T) {
	for _, tp := range []Tuple{
		{2018, "Abu Dhabi Grand Prix", "Race", "session_laptimes.json"},
		{2100, "São Paulo Grand Prix", "Sprint Qualifying", "drivers.json"},
		{2026, "Pre-Season Testing", "Practice 1", "VER/14_tel.json"},
		{2025, "A & B", "Q+R", "a b/c:d@e.json"},
	} {
		got, err := New(tp.Year, tp.GP, tp.Session, tp.Path)
		if err != nil || got != tp {
			t.Errorf("New(%+v) = %+v, %v", tp, got, err)
		}
	}
	if _, err := New(2017, "A", "Q", "x.json"); err == nil {
		t.Error("year 2017 accepted")
	}
}

func TestAccessors(t *testing.T) {
	cases := []struct {
		path   string
		driver string
		lap    int
	}{
		{"VER/3_tel.json", "VER", 3},
		{"VER/laptimes.json", "VER", 0},
		{"VER/12_tel.json", "VER", 12},
		{"drivers.json", "", 0},
		{"ver/3_tel.json", "", 3},
		{"VERS/3_tel.json", "", 3},
		{"VER/x_tel.json", "VER", 0},
		{"VER/_tel.json", "VER", 0},
		{"VER/-1_tel.json", "VER", 0},
		{"VER/99999999999999999999999_tel.json", "VER", 0},
		{"VER/3_tel.json.json", "VER", 0},
	}
	for _, c := range cases {
		tp := Tuple{Year: 2025, GP: "Australian Grand Prix", Session: "Qualifying", Path: c.path}
		if got := tp.Driver(); got != c.driver {
			t.Errorf("%s: Driver = %q, want %q", c.path, got, c.driver)
		}
		if got := tp.Lap(); got != c.lap {
			t.Errorf("%s: Lap = %d, want %d", c.path, got, c.lap)
		}
	}
	tp := Tuple{2025, "Australian Grand Prix", "Qualifying", "VER/3_tel.json"}
	if got, want := tp.String(), "2025/Australian Grand Prix/Qualifying/VER/3_tel.json"; got != want {
		t.Errorf("String = %q, want %q", got, want)
	}
}
