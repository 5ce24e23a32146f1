package payload

import (
	"bytes"
	"fmt"
	"unicode/utf8"

	"github.com/segmentio/encoding/json"
)

// The walkers below read documents that parse has accepted, so they only
// find boundaries: they count and split arrays without decoding a number.
// On valid JSON they never index out of range; they are not validators.

// delim marks the bytes that end a number or literal.
var delim = [256]bool{',': true, ']': true, '}': true, ' ': true, '\t': true, '\n': true, '\r': true}

// counted marks the bytes arrayLen stops at.
var counted = func() (t [256]bool) {
	t = structural
	t[','] = true
	return t
}()

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\n' || b[i] == '\r' || b[i] == '\t') {
		i++
	}
	return i
}

// valueEnd returns the index just past the value that starts at b[i].
func valueEnd(b []byte, i int) int {
	switch b[i] {
	case '"':
		return stringEnd(b, i)
	case '[', '{':
		depth := 0
		for ; i < len(b); i++ {
			if !structural[b[i]] {
				continue
			}
			switch b[i] {
			case '"':
				i = stringEnd(b, i) - 1
			case '[', '{':
				depth++
			default:
				if depth--; depth == 0 {
					return i + 1
				}
			}
		}
		return len(b)
	}
	for i < len(b) && !delim[b[i]] {
		i++
	}
	return i
}

// arrayLen counts the elements of the array that starts at b[i] and returns
// the index just past it. It looks only at commas, quotes and brackets.
func arrayLen(b []byte, i int) (n, end int) {
	if j := skipSpace(b, i+1); b[j] == ']' {
		return 0, j + 1
	}
	// An array of numbers and literals, the bulk of telemetry, is counted
	// with a SIMD-backed search: every comma separates two elements.
	if span, ok := flatSpan(b, i); ok {
		return bytes.Count(span, []byte(",")) + 1, i + 2 + len(span)
	}
	n = 1
	depth := 0
	for ; i < len(b); i++ {
		if !counted[b[i]] {
			continue
		}
		switch b[i] {
		case ',':
			if depth == 1 {
				n++
			}
		case '"':
			i = stringEnd(b, i) - 1
		case '[', '{':
			depth++
		default:
			if depth--; depth == 0 {
				return n, i + 1
			}
		}
	}
	return n, len(b)
}

// splitArray appends the raw elements of the array at b[i] to dst; they are
// sub-slices of b, not copies.
func splitArray(b []byte, i int, dst []json.RawMessage) ([]json.RawMessage, int) {
	i = skipSpace(b, i+1)
	if b[i] == ']' {
		return dst, i + 1
	}
	for {
		end := valueEnd(b, i)
		dst = append(dst, b[i:end:end])
		i = skipSpace(b, end)
		if b[i] == ']' {
			return dst, i + 1
		}
		i = skipSpace(b, i+1) // past ','
	}
}

// members calls fn for each member of the object at b[i] with the raw quoted
// key and the index of the value; fn returns the index just past the value.
func members(b []byte, i int, fn func(key []byte, v int) (int, error)) (int, error) {
	i = skipSpace(b, i+1)
	if b[i] == '}' {
		return i + 1, nil
	}
	for {
		kend := stringEnd(b, i)
		key := b[i:kend]
		v := skipSpace(b, skipSpace(b, kend)+1) // past ':'
		end, err := fn(key, v)
		if err != nil {
			return end, err
		}
		i = skipSpace(b, end)
		if b[i] == '}' {
			return i + 1, nil
		}
		i = skipSpace(b, i+1)
	}
}

// unquote is the Go string of a raw JSON string.
func unquote(raw []byte) string {
	for _, c := range raw[1 : len(raw)-1] {
		if c == '\\' {
			var s string
			if json.Unmarshal(raw, &s) == nil {
				return s
			}
			break
		}
	}
	return string(raw[1 : len(raw)-1])
}

// keyIs compares a raw key to a name without allocating.
func keyIs(raw []byte, name string) bool {
	if len(raw) == len(name)+2 && string(raw[1:len(raw)-1]) == name {
		return true
	}
	return len(raw) > len(name)+2 && unquote(raw) == name
}

// quoted is a key for an error message: quoted, and cut so that a hostile
// megabyte key never floods a log.
func quoted(raw []byte) string {
	s := unquote(raw)
	if len(s) > 80 {
		cut := 80
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return fmt.Sprintf("%q", s)
}

// typeName names the JSON type of the value that starts with c.
func typeName(c byte) string {
	switch c {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number"
}

// memberValue returns the index of the value of the member name of the
// object at doc[i] (the last one, as JSON parsers keep), or -1.
func memberValue(doc []byte, i int, name string) int {
	at := -1
	members(doc, i, func(key []byte, v int) (int, error) {
		if keyIs(key, name) {
			at = v
		}
		return valueEnd(doc, v), nil
	})
	return at
}
