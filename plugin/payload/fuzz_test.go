package payload

import (
	"bytes"
	stdjson "encoding/json"
	"errors"
	"testing"
)

// FuzzNormalize: its quick checks agree with plain byte searches; it never
// panics, never changes its input, keeps valid JSON
// valid, makes Python's NaN output valid, and a second pass changes nothing.
func FuzzNormalize(f *testing.F) {
	f.Add([]byte(`{"time": [NaN, 1.5], "lap": [1.0], "compound": ["None"]}`), true)
	f.Add([]byte(`["a\"NaN", "\\", "", -Infinity]`), false)
	f.Add([]byte(`{"time": [1.0, -NaN], "lap": [1, 2]}`), false)
	f.Fuzz(func(t *testing.T, in []byte, missing bool) {
		naive := 0
		for naive < len(in) && !special[in[naive]] {
			naive++
		}
		if got := nextSpecial(in, 0); got != naive {
			t.Fatalf("nextSpecial = %d, byte-wise scan finds %d", got, naive)
		}
		want := false
		for _, marker := range []string{`""`, `"nan"`, `"NaN"`, `"None"`} {
			want = want || bytes.Contains(in, []byte(marker))
		}
		if got := hasMissingString(in); got != want {
			t.Fatalf("hasMissingString = %v, substring search finds %v", got, want)
		}
		if !mayChange(in, missing) && !bytes.Equal(rewrite(in, missing), in) {
			t.Fatalf("mayChange is false but the pass rewrites %q", in)
		}
		orig := bytes.Clone(in)
		out := Normalize(in, missing)
		if !bytes.Equal(in, orig) {
			t.Fatal("input modified")
		}
		if stdjson.Valid(in) && !stdjson.Valid(out) {
			t.Fatalf("valid %q became invalid %q", in, out)
		}
		if stdjson.Valid(out) {
			if again := Normalize(out, missing); !bytes.Equal(again, out) {
				t.Fatalf("second pass changed %q to %q", out, again)
			}
		}
	})
}

// FuzzDecode: never panics, fails only with *InvalidError, and what it
// returns is always valid RFC 8259 JSON that the column parser can read.
func FuzzDecode(f *testing.F) {
	f.Add("VER/laptimes.json", []byte(`{"time": [NaN], "lap": [1.0], "compound": ["INTERMEDIATE"]}`), true, true)
	f.Add("VER/1_tel.json", []byte(`{"tel": {"time": [0.0], "speed": [1], "distance": [0], "dataKey": "k"}}`), true, false)
	f.Add("drivers.json", []byte(`{"drivers": [{"driver": "VER", "team": "Red Bull Racing"}]}`), true, true)
	f.Fuzz(func(t *testing.T, path string, body []byte, validate, missing bool) {
		doc, err := Decode(path, body, Options{Validate: validate, NormalizeMissing: missing})
		if err != nil {
			var ie *InvalidError
			if !errors.As(err, &ie) {
				t.Fatalf("error %T: %v", err, err)
			}
			return
		}
		if !stdjson.Valid(doc) {
			t.Fatalf("Decode returned invalid JSON %q", doc)
		}
		if validate && KindOf(path).columnar() {
			c, err := ParseColumns(doc)
			if err == nil {
				for _, k := range c.Keys {
					if v, ok := c.Values[k]; ok && len(v) != c.Len {
						t.Fatalf("column %q has %d values, Len %d", k, len(v), c.Len)
					}
				}
			}
		}
		if validate && KindOf(path) == KindDrivers {
			if _, err := ParseDrivers(doc); err != nil {
				t.Fatalf("validated drivers doc refused by ParseDrivers: %v", err)
			}
		}
	})
}
