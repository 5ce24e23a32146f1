package payload

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/bits"
)

// MaxDepth bounds the nesting of arrays and objects. segmentio's parser,
// which decodes values and explains refused documents, recurses per level,
// and a body of ten million '[' would otherwise overflow the stack and kill
// the process (a fatal error, not a recoverable panic); wellFormed refuses
// deeper documents, so none reaches it from Decode. The data files nest
// three levels deep.
const MaxDepth = 10000

// CheckDepth refuses JSON nested deeper than MaxDepth. Call it on untrusted
// bytes before handing them to a recursive parser.
func CheckDepth(b []byte) error {
	if tooDeep(b) {
		return fmt.Errorf("nesting deeper than %d levels", MaxDepth)
	}
	return nil
}

// structural marks the bytes the scanners stop at outside strings.
var structural = [256]bool{'"': true, '[': true, ']': true, '{': true, '}': true}

// special adds the first bytes of the non-JSON tokens that Normalize rewrites.
var special = func() (t [256]bool) {
	t = structural
	t['N'], t['I'] = true, true
	return t
}()

// tooDeep reports whether b nests deeper than MaxDepth, strings skipped.
// Counting opening brackets (SIMD-backed) settles nearly every body at once.
func tooDeep(b []byte) bool {
	if bytes.Count(b, []byte("["))+bytes.Count(b, []byte("{")) <= MaxDepth {
		return false
	}
	depth := 0
	for i := 0; i < len(b); i++ {
		switch b[i] {
		case '"':
			i = stringEnd(b, i) - 1
		case '[', '{':
			if depth++; depth > MaxDepth {
				return true
			}
		case ']', '}':
			depth--
		}
	}
	return false
}

// stringEnd returns the index just past the closing quote of the string that
// starts at b[i] == '"', or len(b) when it is not closed.
func stringEnd(b []byte, i int) int {
	for j := i + 1; ; {
		k := bytes.IndexByte(b[j:], '"')
		if k < 0 {
			return len(b)
		}
		q := j + k
		bs := 0
		for p := q - 1; p > i && b[p] == '\\'; p-- {
			bs++
		}
		if bs%2 == 0 {
			return q + 1
		}
		j = q + 1
	}
}

// Normalize rewrites the bare tokens NaN, -NaN, Infinity and -Infinity
// (outside strings) to null, a minus sign included, and, when missing is
// true, the array elements "None", "nan", "NaN" and "" to null: Python's json
// writes the first (NaN, Infinity, -Infinity; -NaN comes from writers that
// keep a NaN's sign), pandas the second, and Go parsers accept neither as
// numbers. One pass over body; body itself is returned, without a copy, when
// nothing changes.
func Normalize(body []byte, missing bool) []byte {
	// Fast path, with SIMD-backed byte searches: no byte sequence to rewrite
	// means nothing to change. Most telemetry files take it.
	if !mayChange(body, missing) {
		return body
	}
	return rewrite(body, missing)
}

// rewrite is Normalize's pass over the tokens.
func rewrite(body []byte, missing bool) (out []byte) {
	// inArray[d] tells whether the container at depth d is an array; it is
	// kept only up to MaxDepth, as deeper bodies are refused (parse).
	var small [64]bool
	inArray := small[:1]
	depth, last := 0, 0
	replace := func(from, to int) {
		if out == nil {
			out = make([]byte, 0, len(body)+len(body)/8)
		}
		out = append(out, body[last:from]...)
		out = append(out, "null"...)
		last = to
	}
	for i := nextSpecial(body, 0); i < len(body); i = nextSpecial(body, i) {
		switch body[i] {
		case '"':
			end := stringEnd(body, i)
			if missing && inArray[min(depth, len(inArray)-1)] && missingAt(body[i+1:end]) {
				replace(i, end)
			}
			i = end
		case '[', '{':
			depth++
			if depth <= MaxDepth {
				inArray = append(inArray[:depth], body[i] == '[')
			}
			i++
		case ']', '}':
			if depth > 0 {
				depth--
			}
			i++
		case 'N', 'I':
			tok := "NaN"
			if body[i] == 'I' {
				tok = "Infinity"
			}
			if !bytes.HasPrefix(body[i:], []byte(tok)) {
				i++
				break
			}
			// A '-' before the token is part of it: -NaN and -Infinity
			// become one null, not a '-' before one.
			from := i
			if i > last && body[i-1] == '-' {
				from = i - 1
			}
			replace(from, i+len(tok))
			i += len(tok)
		}
	}
	if out == nil {
		return body
	}
	return append(out, body[last:]...)
}

// nextSpecial returns the index of the first byte at or after i that may be
// special, or len(b). It tests eight bytes at a time (SWAR): a word with no
// '"', 'N', 'I' or bracket is skipped whole. Brackets are found with one test:
// c&0xD9 == 0x59 holds for [ ] { } (and for Y _ y DEL, which the caller
// passes over). The lowest flagged byte of the zero-byte test is exact.
func nextSpecial(b []byte, i int) int {
	for i+8 <= len(b) {
		w := binary.LittleEndian.Uint64(b[i:])
		m := zeroBytes(w^(swarOnes*'"')) | zeroBytes(w^(swarOnes*'N')) | zeroBytes(w^(swarOnes*'I')) | zeroBytes(w&(swarOnes*0xD9)^(swarOnes*0x59))
		if m == 0 {
			i += 8
			continue
		}
		i += bits.TrailingZeros64(m) / 8
		if special[b[i]] {
			return i
		}
		i++ // a false candidate (Y _ y DEL)
	}
	for i < len(b) && !special[b[i]] {
		i++
	}
	return i
}

// mayChange reports whether body holds a byte sequence that rewrite could
// change; false means it certainly holds none. The searches start from a
// rare byte ('N', 'I', '"'): looking for the bytes 'N' and 'I' alone sent
// 67 of the 297 telemetry files of a session to rewrite for the driver code
// in their dataKey string.
func mayChange(body []byte, missing bool) bool {
	if bytes.Contains(body, []byte("NaN")) || bytes.Contains(body, []byte("Infinity")) {
		return true
	}
	return missing && hasMissingString(body)
}

// hasMissingString reports whether body holds one of the missing markers
// as a string, looking only after each quote (SIMD-backed): telemetry has a
// few dozen, and substring searches took 6% of the input's CPU at 0 ms.
func hasMissingString(body []byte) bool {
	for i := 0; ; {
		k := bytes.IndexByte(body[i:], '"')
		if k < 0 {
			return false
		}
		i += k + 1
		if missingAt(body[i:]) {
			return true
		}
	}
}

// missingMarkers are the strings that normalize_missing turns into null
// inside arrays.
var missingMarkers = [...]string{"None", "nan", "NaN", ""}

// missingAt reports whether b, which follows an opening quote, is a missing
// marker and its closing quote: the whole string is the marker, as no marker
// holds a quote or a backslash.
func missingAt(b []byte) bool {
	for _, m := range missingMarkers {
		if len(b) > len(m) && string(b[:len(m)]) == m && b[len(m)] == '"' {
			return true
		}
	}
	return false
}
