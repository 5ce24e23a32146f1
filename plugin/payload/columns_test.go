package payload

import (
	"reflect"
	"strings"
	"testing"
)

func raws(ss ...string) []string { return ss }

func asStrings[T ~[]byte](v []T) []string {
	out := make([]string, len(v))
	for i := range v {
		out[i] = string(v[i])
	}
	return out
}

func TestParseColumns(t *testing.T) {
	doc := []byte(` {"CornerNumber": [1, 2], "X": [ -1.5e3 , {"a": [1, 2]} ], "s": ["a,b", "\"]"], "Rotation": 92.0, "e": [[], [1,2]], "k\u00e9y": "v"} `)
	c, err := ParseColumns(doc)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"CornerNumber", "X", "s", "Rotation", "e", "kéy"}; !reflect.DeepEqual(c.Keys, want) {
		t.Errorf("Keys %q, want %q", c.Keys, want)
	}
	if c.Len != 2 {
		t.Errorf("Len %d", c.Len)
	}
	want := map[string][]string{
		"CornerNumber": raws("1", "2"),
		"X":            raws("-1.5e3", `{"a": [1, 2]}`),
		"s":            raws(`"a,b"`, `"\"]"`),
		"e":            raws("[]", "[1,2]"),
	}
	for k, v := range want {
		if got := asStrings(c.Values[k]); !reflect.DeepEqual(got, v) {
			t.Errorf("%s: %q, want %q", k, got, v)
		}
	}
	if string(c.Scalars["Rotation"]) != "92.0" || string(c.Scalars["kéy"]) != `"v"` || len(c.Scalars) != 2 {
		t.Errorf("Scalars %q", c.Scalars)
	}
}

func TestParseColumnsEmpty(t *testing.T) {
	for _, doc := range []string{`{}`, `{"time": [], "lap": [], "compound": []}`, `{"dataKey": "x"}`} {
		c, err := ParseColumns([]byte(doc))
		if err != nil || c.Len != 0 {
			t.Errorf("%s: Len %d, %v", doc, c.Len, err)
		}
	}
}

func TestParseColumnsErrors(t *testing.T) {
	cases := map[string]string{
		`[1]`:                      "top level is an array, expected an object",
		`{"a": [1], "b": [1, 2]}`:  `column "b" has 2 values, "a" has 1`,
		`{"a": [1], "a": [2]}`:     `duplicate key "a"`,
		`{"a": 1, "a": [2]}`:       `duplicate key "a"`,
		`{"a": [NaN]}`:             "not JSON",
		`{"a": [1]`:                "not JSON",
		strings.Repeat("{", 20000): "nesting deeper",
	}
	for doc, want := range cases {
		if _, err := ParseColumns([]byte(doc)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%.40s: %v, want %q", doc, err, want)
		}
	}
}

func TestParseColumnsTelemetry(t *testing.T) {
	body := corpusBody(t, "test/Australian Grand Prix/Race/ALO/33_tel.json")
	outer, err := ParseColumns(body)
	if err != nil {
		t.Fatal(err)
	}
	tel, err := ParseColumns(outer.Scalars["tel"])
	if err != nil {
		t.Fatal(err)
	}
	if tel.Len != 277 {
		t.Errorf("ALO lap 33 has %d samples, MANIFEST says 277", tel.Len)
	}
	wantKeys := strings.Fields("time rpm speed gear throttle brake drs distance rel_distance acc_x acc_y acc_z x y z")
	for i, k := range wantKeys {
		if tel.Keys[i] != k || len(tel.Values[k]) != 277 {
			t.Errorf("column %d: %q with %d values", i, tel.Keys[i], len(tel.Values[k]))
		}
	}
	if string(tel.Values["time"][0]) != "0.0" {
		t.Errorf("time[0] = %s", tel.Values["time"][0])
	}
	if _, ok := tel.Scalars["dataKey"]; !ok {
		t.Error("dataKey scalar missing")
	}
}

func TestParseDrivers(t *testing.T) {
	recs, err := ParseDrivers(corpusBody(t, "2025/Australian Grand Prix/Qualifying/drivers.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) < 16 || !strings.HasPrefix(string(recs[0]), `{`) || !strings.Contains(string(recs[0]), `"driver"`) {
		t.Errorf("%d records, first %s", len(recs), recs[0])
	}
	for doc, want := range map[string]string{
		`{"drivers": [1]}`: "drivers[0] is a number, expected an object",
		`{"drivers": "x"}`: `"drivers" is a string, expected a list`,
		`{}`:               `missing "drivers" list`,
		`[]`:               "top level is an array",
		`{"drivers": [{}`:  "not JSON",
	} {
		if _, err := ParseDrivers([]byte(doc)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", doc, err, want)
		}
	}
	if recs, err := ParseDrivers([]byte(`{"drivers": []}`)); err != nil || len(recs) != 0 {
		t.Errorf("empty list: %v %v", recs, err)
	}
}

func TestAppendString(t *testing.T) {
	got := string(AppendString([]byte("x:"), "São \"Paulo\"\n<&>\x00"))
	if want := `x:"São \"Paulo\"\n<&>\u0000"`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

func TestParseTelemetry(t *testing.T) {
	tel, err := ParseTelemetry(corpusBody(t, "test/Australian Grand Prix/Race/ALO/33_tel.json"))
	if err != nil || tel.Len != 277 || len(tel.Values["speed"]) != 277 {
		t.Fatalf("Len %d, %v", tel.Len, err)
	}
	for doc, want := range map[string]string{
		`{"time": [1]}`:                `missing "tel" object`,
		`{"tel": [1]}`:                 `"tel" is an array, expected an object`,
		`{"tel": {"a": [1], "b": []}}`: `tel: column "b" has 0 values, "a" has 1`,
		`[{"tel": {}}]`:                "top level is an array",
		`{"tel": {"a": [NaN]}}`:        "not JSON",
	} {
		if _, err := ParseTelemetry([]byte(doc)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", doc, err, want)
		}
	}
}

func TestSameValue(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want bool
	}{
		{`"ALO"`, `"ALO"`, true}, {`"\u0041LO"`, `"ALO"`, true}, {`"ALO"`, `"AL\u004f"`, true},
		{`2025`, `2025.0`, true}, {`2025`, `2.025e3`, true}, {`-0`, `0`, true}, {`0`, `0.0`, true},
		{`null`, `null`, true}, {`[1]`, `[1]`, true},
		{`"ALO"`, `"XXX"`, false}, {`"2025"`, `2025`, false}, {`2025`, `1999`, false}, {`null`, `0`, false},
		{`"ALO"`, `null`, false}, {`1e999`, `1e400`, false}, {``, `1`, false}, {``, ``, true}, {`"`, `""`, false},
		{`[2025]`, `2025`, false}, {`true`, `1`, false},
	} {
		if got := SameValue([]byte(c.a), []byte(c.b)); got != c.want {
			t.Errorf("SameValue(%s, %s) = %v, want %v", c.a, c.b, got, c.want)
		}
		if got := SameValue([]byte(c.b), []byte(c.a)); got != c.want {
			t.Errorf("SameValue(%s, %s) = %v, want %v", c.b, c.a, got, c.want)
		}
	}
}
