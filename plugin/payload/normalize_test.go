package payload

import (
	"bytes"
	"strings"
	"testing"
)

func TestNormalize(t *testing.T) {
	cases := []struct {
		in, missing, kept string // kept: result with missing off
	}{
		{`[NaN, Infinity, -Infinity, 1]`, `[null, null, null, 1]`, `[null, null, null, 1]`},
		{`{"a":NaN,"b":-Infinity}`, `{"a":null,"b":null}`, `{"a":null,"b":null}`},
		{`[1,-Infinity]`, `[1,null]`, `[1,null]`},
		// -NaN is one token, as -Infinity: not a '-' before a null.
		{`[1.0, -NaN, NaN,-NaN]`, `[1.0, null, null,null]`, `[1.0, null, null,null]`},
		{`{"a":-NaN,"b":[-Infinity,Infinity]}`, `{"a":null,"b":[null,null]}`, `{"a":null,"b":[null,null]}`},
		{`["-NaN", "x-NaN"]`, `["-NaN", "x-NaN"]`, `["-NaN", "x-NaN"]`},
		{`[-"NaN", -Na]`, `[-null, -Na]`, `[-"NaN", -Na]`},
		{`["None", "x", "", "nan", "NaN", "none", "Nan", "None "]`,
			`[null, "x", null, null, null, "none", "Nan", "None "]`,
			`["None", "x", "", "nan", "NaN", "none", "Nan", "None "]`},
		{`{"a": "None", "None": ["None"], "NaN": "NaN"}`, `{"a": "None", "None": [null], "NaN": "NaN"}`, `{"a": "None", "None": ["None"], "NaN": "NaN"}`},
		{`[{"a": "None"}, ["None", {"b": [""]}], "nan"]`, `[{"a": "None"}, [null, {"b": [null]}], null]`, `[{"a": "None"}, ["None", {"b": [""]}], "nan"]`},
		{`["a\"NaN", "\\", "None", "\\\"None"]`, `["a\"NaN", "\\", null, "\\\"None"]`, `["a\"NaN", "\\", "None", "\\\"None"]`},
		{`["Infinity NaN -Infinity"]`, `["Infinity NaN -Infinity"]`, `["Infinity NaN -Infinity"]`},
		{`"None"`, `"None"`, `"None"`},
		{`{"tel": {"rel_distance": ["None",0.5,"None"], "dataKey": "None"}}`,
			`{"tel": {"rel_distance": [null,0.5,null], "dataKey": "None"}}`,
			`{"tel": {"rel_distance": ["None",0.5,"None"], "dataKey": "None"}}`},
		{`[NaNa, Inf, -Inf, None]`, `[nulla, Inf, -Inf, None]`, `[nulla, Inf, -Inf, None]`},
		{`[1]]]"None"`, `[1]]]"None"`, `[1]]]"None"`},
		{`["unterminated`, `["unterminated`, `["unterminated`},
		{`["None`, `["None`, `["None`},
		{``, ``, ``},
		{"[\"Yy_\x7f\", 1.5e-3, NaN, true, \"None\"]", "[\"Yy_\x7f\", 1.5e-3, null, true, null]", "[\"Yy_\x7f\", 1.5e-3, null, true, \"None\"]"},
		{`[1234567, 89012345, 67890123,NaN]`, `[1234567, 89012345, 67890123,null]`, `[1234567, 89012345, 67890123,null]`},
	}
	for _, c := range cases {
		if got := string(Normalize([]byte(c.in), true)); got != c.missing {
			t.Errorf("Normalize(%s, true) = %s, want %s", c.in, got, c.missing)
		}
		if got := string(Normalize([]byte(c.in), false)); got != c.kept {
			t.Errorf("Normalize(%s, false) = %s, want %s", c.in, got, c.kept)
		}
	}
}

func TestNormalizeUnchangedIsSameSlice(t *testing.T) {
	in := []byte(`{"time": [0.0, 1.5], "compound": ["SOFT", "None "], "k": "None"}`)
	allocs := testing.AllocsPerRun(100, func() {
		out := Normalize(in, true)
		if &out[0] != &in[0] || len(out) != len(in) {
			t.Fatal("unchanged body was copied")
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations for an unchanged body", allocs)
	}
}

func TestNormalizeDoesNotModifyInput(t *testing.T) {
	in := []byte(`[NaN, "None"]`)
	Normalize(in, true)
	if string(in) != `[NaN, "None"]` {
		t.Errorf("input modified: %s", in)
	}
}

func TestCheckDepth(t *testing.T) {
	ok := strings.Repeat("[", MaxDepth) + strings.Repeat("]", MaxDepth)
	if err := CheckDepth([]byte(ok)); err != nil {
		t.Errorf("depth %d refused: %v", MaxDepth, err)
	}
	if err := CheckDepth([]byte("[" + ok + "]")); err == nil {
		t.Error("depth MaxDepth+1 accepted")
	}
	if err := CheckDepth([]byte(`["` + strings.Repeat("[", 2*MaxDepth) + `"]`)); err != nil {
		t.Errorf("brackets inside a string counted: %v", err)
	}
}

// Ten million '[' overflow the recursive parser's stack (a fatal error, not a
// panic); Decode must refuse them before parsing.
func TestDecodeDeepNesting(t *testing.T) {
	deep := bytes.Repeat([]byte("["), 10_000_000)
	_, err := Decode("x.json", deep, Options{Validate: true})
	if err == nil || !strings.Contains(err.Error(), "nesting deeper than") {
		t.Fatalf("got %v", err)
	}
	if _, err := ParseColumns(deep); err == nil {
		t.Fatal("ParseColumns accepted deep nesting")
	}
	if _, err := ParseDrivers(deep); err == nil {
		t.Fatal("ParseDrivers accepted deep nesting")
	}
}

func TestHasMissingString(t *testing.T) {
	for in, want := range map[string]bool{
		`{"a": ["x", ""]}`: true, `["nan"]`: true, `{"nan": 1}`: true, `"\""`: true, `["None"]`: true, `["NaN"]`: true,
		`{"dataKey": "2025-ANT-1"}`: false, `["Non"]`: false,
		`{"a": ["x", "nana"]}`: false, `[nan]`: false, `"`: false, ``: false, `["na"]`: false,
	} {
		if got := hasMissingString([]byte(in)); got != want {
			t.Errorf("hasMissingString(%s) = %v, want %v", in, got, want)
		}
	}
}
