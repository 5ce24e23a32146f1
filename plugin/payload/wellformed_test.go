package payload

import (
	"bytes"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/encoding/json"
)

// sameAsSegmentio fails t unless wellFormed and segmentio's json.Valid give
// the same answer on b (want, when not nil, must be that answer too).
func sameAsSegmentio(t *testing.T, b []byte, want *bool) {
	t.Helper()
	got, ref := wellFormed(b), json.Valid(b)
	if got != ref {
		t.Fatalf("wellFormed(%q) = %v, segmentio's json.Valid = %v", b, got, ref)
	}
	if want != nil && got != *want {
		t.Fatalf("wellFormed(%q) = %v, want %v", b, got, *want)
	}
}

func TestWellFormedCases(t *testing.T) {
	valid := []string{
		`0`, `-0`, `1`, `-12.5e+3`, `0.0e-0`, `1E2`, `  7  `, "\t\n\r 1",
		`true`, `false`, `null`, `""`, `"a\"b\\c\/d\b\f\n\r\t\u00e9\u00E9"`, "\"caf\xc3\xa9\x7f\xff\"",
		`[]`, `[ ]`, `{}`, `{ }`, `[1,2]`, `[ 1 , 2 ]`, `[null, true,false]`, `[[1,2],[3]]`,
		`["a",1]`, `{"a":[1,2],"b":{}}`, `{"a" : 1 , "b":"x"}`, `[{"a":[]}]`,
		`{"tel": {"time": [0.0, 0.143], "speed": [null, 1]}}`,
	}
	invalid := []string{
		``, ` `, `-`, `--1`, `+1`, `01`, `-01`, `1.`, `.5`, `1e`, `1e+`, `1.2.3`, `1e5.3`, `1e2e3`, `0x1`,
		`nul`, `nulll`, `tru`, `True`, `NaN`, `Infinity`,
		`"abc`, `"a` + "\t" + `b"`, `"\x"`, `"\u00g0"`, `"\u12"`, `"\`,
		`[`, `]`, `[1,]`, `[,1]`, `[1 2]`, `[1,,2]`, `[-]`, `[1}`, `{"a":1]`, `[1]]`, `[[1]`,
		`{"a":1,}`, `{"a" 1}`, `{1:2}`, `{"a"}`, `{"a":}`, `{,}`, `1 2`, `[] []`, `{"a":1}x`,
		`[1, "a"`, `[null,nul]`, `[truex]`, `[1e5.3, 2]`,
	}
	yes, no := true, false
	for _, s := range valid {
		sameAsSegmentio(t, []byte(s), &yes)
	}
	for _, s := range invalid {
		sameAsSegmentio(t, []byte(s), &no)
	}
}

// longList is a flat array of n telemetry-like numbers, long enough for
// listOK to cut it into four parts.
func longList(n int) []byte {
	b := []byte("[")
	for i := range n {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = fmt.Appendf(b, "%d.%03d", i*7%300, i*37%1000)
	}
	return append(b, ']')
}

// TestWellFormedLongListEveryByte puts each of a set of bytes at every place
// of a list cut into four parts, so that a mistake at a cut, at the start or
// end of a part, or in the tails after the lockstep run shows.
func TestWellFormedLongListEveryByte(t *testing.T) {
	list := longList(60)
	if len(list) < 4*64+2 {
		t.Fatalf("list of %d bytes is too short to be cut", len(list))
	}
	yes := true
	sameAsSegmentio(t, list, &yes)
	for i := 1; i < len(list)-1; i++ {
		for _, c := range []byte(",. -+eE0x]n\"") {
			b := bytes.Clone(list)
			b[i] = c
			sameAsSegmentio(t, b, nil)
		}
		sameAsSegmentio(t, append(bytes.Clone(list[:i]), list[i+1:]...), nil) // a byte gone
	}
	for _, lit := range []string{"null", "true", "false", "nul", "nulls", "-0", "01"} {
		b := bytes.Replace(list, []byte("0.000"), []byte(lit), 1)
		sameAsSegmentio(t, b, nil)
		b = bytes.Replace(list, []byte("1.037"), []byte(lit), 1)
		sameAsSegmentio(t, b, nil)
	}
}

// TestWellFormedCorpus: on every real file, normalised as Decode does,
// wellFormed agrees with segmentio.
func TestWellFormedCorpus(t *testing.T) {
	accepted := 0
	for _, f := range corpus(t) {
		doc := Normalize(f.body, true)
		sameAsSegmentio(t, doc, nil)
		if wellFormed(doc) {
			accepted++
		}
	}
	if files := len(corpus(t)); accepted < files-5 {
		t.Fatalf("accepted %d of %d files", accepted, files)
	}
}

// FuzzWellFormed holds wellFormed to segmentio's json.Valid on any input.
func FuzzWellFormed(f *testing.F) {
	f.Add([]byte(`{"tel": {"time": [0.0, 0.143], "speed": [null, 12]}, "x": "\u00e9"}`))
	f.Add(longList(60))
	f.Add([]byte(`[1e5.3, -0, 01, tru, "a\tb"]`))
	f.Fuzz(func(t *testing.T, in []byte) {
		if tooDeep(in) { // refused; and segmentio recurses per level
			if wellFormed(in) {
				t.Fatalf("accepted %q, nested deeper than %d", in, MaxDepth)
			}
			return
		}
		sameAsSegmentio(t, in, nil)
	})
}

func BenchmarkWellFormed(b *testing.B) {
	tel := telemetryBySize(b)
	f := tel[len(tel)/2]
	b.Logf("%s: %d bytes", f.rel, len(f.body))
	b.Run("wellFormed", func(b *testing.B) {
		b.SetBytes(int64(len(f.body)))
		for b.Loop() {
			if !wellFormed(f.body) {
				b.Fatal("refused")
			}
		}
	})
	b.Run("segmentio", func(b *testing.B) {
		b.SetBytes(int64(len(f.body)))
		for b.Loop() {
			if !json.Valid(f.body) {
				b.Fatal("refused")
			}
		}
	})
}

// TestWellFormedLinearInNesting: a list 4 MB long inside MaxDepth arrays that
// each start with a number takes about as long as the list alone. Searching
// each array's ']' to the end, as a first version did, took 600 times as long.
func TestWellFormedLinearInNesting(t *testing.T) {
	list := "[" + strings.Repeat("2,", 2<<20) + "3]"
	nested := []byte(strings.Repeat("[1,", MaxDepth-1) + list + strings.Repeat("]", MaxDepth-1))
	timeOf := func(doc []byte) time.Duration {
		best := time.Duration(math.MaxInt64)
		for range 3 {
			start := time.Now()
			if !wellFormed(doc) {
				t.Fatalf("refused a valid document of %d bytes", len(doc))
			}
			best = min(best, time.Since(start))
		}
		return best
	}
	flat, deep := timeOf([]byte(list)), timeOf(nested)
	t.Logf("list alone %v, inside %d arrays %v", flat, MaxDepth-1, deep)
	if deep > 20*flat+time.Millisecond {
		t.Fatalf("nesting made it %.0f times slower", float64(deep)/float64(flat))
	}
}

// TestWellFormedMaxDepth: MaxDepth levels are accepted, one more refused,
// whether the innermost array is empty, flat or holds a string.
func TestWellFormedMaxDepth(t *testing.T) {
	for _, inner := range []string{"", "1, 2", `"a"`} {
		at := strings.Repeat("[", MaxDepth-1) + "[" + inner + "]" + strings.Repeat("]", MaxDepth-1)
		if !wellFormed([]byte(at)) {
			t.Errorf("refused %d levels around %q", MaxDepth, inner)
		}
		if wellFormed([]byte("[" + at + "]")) {
			t.Errorf("accepted %d levels around %q", MaxDepth+1, inner)
		}
		if _, err := Decode("x.json", []byte("["+at+"]"), Options{}); err == nil || !strings.Contains(err.Error(), "nesting deeper than") {
			t.Errorf("Decode of %d levels around %q: %v", MaxDepth+1, inner, err)
		}
	}
}
