package payload

import (
	"bytes"
	"encoding/binary"
	"math/bits"
)

// wellFormed reports whether doc is exactly one JSON value, surrounded by
// nothing but whitespace and nested at most MaxDepth deep: the grammar of
// RFC 8259, the bytes inside strings not checked as UTF-8. Within MaxDepth
// that is what segmentio's json.Valid accepts, and FuzzWellFormed holds the
// two to the same answer on any input.
//
// It exists because json.Valid, a recursive descent that reads a number a
// byte at a time, was half of the CPU of the f1_fetch input on telemetry
// (bench/PROFILES.md). This is one iterative pass; the arrays of numbers that
// make up telemetry are checked by a table-driven automaton run on four parts
// of the array at once (listOK). A document it refuses goes to segmentio for
// the error message (parse).
func wellFormed(doc []byte) bool {
	// open holds the opening byte of each container around i; the documents
	// nest three levels, and no more than MaxDepth are accepted.
	var small [32]byte
	open := small[:0]
	i := skipSpace(doc, 0)
	for {
		// A value starts at doc[i].
		if i >= len(doc) {
			return false
		}
		switch c := doc[i]; c {
		case '{', '[':
			if len(open) == MaxDepth {
				return false
			}
			j := skipSpace(doc, i+1)
			if j < len(doc) && doc[j] == c+2 { // '}' is '{'+2, ']' is '['+2
				i = j + 1
				break
			}
			if c == '[' {
				if span, ok := flatSpan(doc, i); ok {
					if !listOK(span) {
						return false
					}
					i += len(span) + 2
					break
				}
				open = append(open, c)
				i = j
				continue
			}
			open = append(open, c)
			if i = memberKey(doc, j); i < 0 {
				return false
			}
			continue
		case '"':
			if i = validStringEnd(doc, i); i < 0 {
				return false
			}
		case 't':
			if !hasLiteral(doc, i, "true") {
				return false
			}
			i += len("true")
		case 'f':
			if !hasLiteral(doc, i, "false") {
				return false
			}
			i += len("false")
		case 'n':
			if !hasLiteral(doc, i, "null") {
				return false
			}
			i += len("null")
		default:
			if i = numberEnd(doc, i); i < 0 {
				return false
			}
		}
		// A value ended just before doc[i]: close containers until one goes on.
		for {
			i = skipSpace(doc, i)
			if len(open) == 0 {
				return i == len(doc)
			}
			if i >= len(doc) {
				return false
			}
			top := open[len(open)-1]
			if doc[i] == top+2 {
				open = open[:len(open)-1]
				i++
				continue
			}
			if doc[i] != ',' {
				return false
			}
			i = skipSpace(doc, i+1)
			if top == '{' {
				if i = memberKey(doc, i); i < 0 {
					return false
				}
			}
			break
		}
	}
}

// flatSpan returns what is between the brackets of the array at b[i] when
// it holds no string, array or object, so that its first ']' closes it:
// the shape of every telemetry column. Found with SIMD-backed searches, the
// ']' only up to the next '[' so that the searches from every array of a
// document cover it once, never once per level of nesting.
func flatSpan(b []byte, i int) ([]byte, bool) {
	window := b[i+1:]
	if k := bytes.IndexByte(window, '['); k >= 0 {
		window = window[:k]
	}
	k := bytes.IndexByte(window, ']')
	if k < 0 {
		return nil, false
	}
	span := window[:k]
	if bytes.IndexByte(span, '"') >= 0 || bytes.IndexByte(span, '{') >= 0 {
		return nil, false
	}
	return span, true
}

// memberKey reads `"key" :` at doc[i] and returns the index of the value
// after it, or -1.
func memberKey(doc []byte, i int) int {
	if i >= len(doc) || doc[i] != '"' {
		return -1
	}
	if i = validStringEnd(doc, i); i < 0 {
		return -1
	}
	if i = skipSpace(doc, i); i >= len(doc) || doc[i] != ':' {
		return -1
	}
	return skipSpace(doc, i+1)
}

func hasLiteral(doc []byte, i int, lit string) bool {
	return len(doc)-i >= len(lit) && string(doc[i:i+len(lit)]) == lit
}

// The states of the automaton that reads a list of numbers and literals, the
// inside of a flat array. The zero state is the error, which no byte leaves.
const (
	lsError uint16 = iota
	lsStart        // after '[': whitespace, a value, or the end
	lsValue        // after ',': whitespace or a value
	lsAfter        // after a value and whitespace: whitespace, ',' or the end
	// The number -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?, a state per
	// place in it; lsZero, lsInt, lsFrac and lsExpDigit may end it.
	lsMinus
	lsZero
	lsInt
	lsDot
	lsFrac
	lsExp
	lsExpSign
	lsExpDigit
	lsLiteral // the first of the states inside null, true and false
)

// listStep is the transition table: listStep[s<<8 | c] is the next state,
// shifted left by 8 like its index, so that a step is one OR and one load,
// and a uint16 index needs no bounds check. 128 KiB; the rows in use, 11 KiB.
var listStep [1 << 16]uint16

// listEnds marks the states a list may end in (by state, not shifted).
var listEnds [256]bool

func init() {
	on := func(from uint16, chars string, to uint16) {
		for _, c := range []byte(chars) {
			listStep[from<<8|uint16(c)] = to << 8
		}
	}
	const space, digits = " \t\n\r", "0123456789"
	for _, from := range []uint16{lsStart, lsValue} {
		on(from, space, from)
		on(from, "-", lsMinus)
		on(from, "0", lsZero)
		on(from, digits[1:], lsInt)
	}
	next := lsLiteral
	for _, word := range []string{"null", "true", "false"} {
		on(lsStart, word[:1], next)
		on(lsValue, word[:1], next)
		for _, c := range []byte(word[1 : len(word)-1]) {
			on(next, string(c), next+1)
			next++
		}
		on(next, word[len(word)-1:], lsAfter)
		next++
	}
	on(lsAfter, space, lsAfter)
	on(lsAfter, ",", lsValue)
	on(lsMinus, "0", lsZero)
	on(lsMinus, digits[1:], lsInt)
	on(lsInt, digits, lsInt)
	on(lsZero, ".", lsDot)
	on(lsInt, ".", lsDot)
	on(lsDot, digits, lsFrac)
	on(lsFrac, digits, lsFrac)
	for _, s := range []uint16{lsZero, lsInt, lsFrac} {
		on(s, "eE", lsExp)
	}
	on(lsExp, "+-", lsExpSign)
	on(lsExp, digits, lsExpDigit)
	on(lsExpSign, digits, lsExpDigit)
	on(lsExpDigit, digits, lsExpDigit)
	for _, s := range []uint16{lsZero, lsInt, lsFrac, lsExpDigit} {
		on(s, space, lsAfter)
		on(s, ",", lsValue)
		listEnds[s] = true
	}
	listEnds[lsStart], listEnds[lsAfter] = true, true
}

// runList returns the state (shifted) after reading b from state s (shifted).
func runList(s uint16, b []byte) uint16 {
	for _, c := range b {
		s = listStep[s|uint16(c)]
	}
	return s
}

// listOK reports whether span, the inside of a flat array, is whitespace or
// numbers and literals separated by commas.
//
// Reading a byte waits for the state the byte before left, so one run is
// bound by the latency of a table load. A long span is therefore cut just
// after three commas into four parts, run in lockstep: after a comma the
// state is lsValue or the error, so parts 2 to 4 start in lsValue, and the
// parts are right when parts 1 to 3 end in lsValue and part 4 where a list
// may end. The result is the one run's.
func listOK(span []byte) bool {
	const parts = 4
	if len(span) < 64*parts { // not worth cutting
		return listEnds[runList(lsStart<<8, span)>>8]
	}
	var cut [parts + 1]int
	cut[parts] = len(span)
	for k := 1; k < parts; k++ {
		from := max(k*len(span)/parts, cut[k-1])
		c := bytes.IndexByte(span[from:], ',')
		if c < 0 {
			return listEnds[runList(lsStart<<8, span)>>8]
		}
		cut[k] = from + c + 1
	}
	a, b, c, d := span[:cut[1]], span[cut[1]:cut[2]], span[cut[2]:cut[3]], span[cut[3]:]
	n := min(len(a), len(b), len(c), len(d))
	sa, sb, sc, sd := lockstep(a[:n], b[:n], c[:n], d[:n])
	return runList(sa, a[n:]) == lsValue<<8 && runList(sb, b[n:]) == lsValue<<8 &&
		runList(sc, c[n:]) == lsValue<<8 && listEnds[runList(sd, d[n:])>>8]
}

// lockstep runs the list automaton over four parts of equal length, the
// first from lsStart and the others from lsValue. It is kept out of listOK
// so that the four states stay in registers: inlined there, they spilled to
// the stack and the loop ran at 40% of this speed (BenchmarkWellFormed).
//
//go:noinline
func lockstep(a, b, c, d []byte) (sa, sb, sc, sd uint16) {
	sa, sb, sc, sd = lsStart<<8, lsValue<<8, lsValue<<8, lsValue<<8
	b, c, d = b[:len(a)], c[:len(a)], d[:len(a)]
	for i := range a {
		sa = listStep[sa|uint16(a[i])]
		sb = listStep[sb|uint16(b[i])]
		sc = listStep[sc|uint16(c[i])]
		sd = listStep[sd|uint16(d[i])]
	}
	return sa, sb, sc, sd
}

// numberEnd returns the index just past the number at doc[i], or -1 when no
// number of the JSON grammar starts there. It runs the list automaton while
// it stays inside a number.
func numberEnd(doc []byte, i int) int {
	s := lsValue << 8
	for ; i < len(doc); i++ {
		next := listStep[s|uint16(doc[i])]
		if next < lsMinus<<8 || next > lsExpDigit<<8 {
			break
		}
		s = next
	}
	if s == lsValue<<8 || !listEnds[s>>8] {
		return -1
	}
	return i
}

// validStringEnd returns the index just past the string at doc[i] == '"',
// or -1 when it is not closed or holds a control byte or a bad escape.
func validStringEnd(doc []byte, i int) int {
	for i++; ; {
		for i+8 <= len(doc) {
			w := binary.LittleEndian.Uint64(doc[i:])
			if m := zeroBytes(w^(swarOnes*'"')) | zeroBytes(w^(swarOnes*'\\')) | lessBytes(w, 0x20); m != 0 {
				i += bits.TrailingZeros64(m) / 8
				break
			}
			i += 8
		}
		for i < len(doc) && doc[i] >= 0x20 && doc[i] != '"' && doc[i] != '\\' {
			i++
		}
		switch {
		case i >= len(doc) || doc[i] < 0x20:
			return -1
		case doc[i] == '"':
			return i + 1
		}
		// An escape.
		if i+1 >= len(doc) {
			return -1
		}
		switch doc[i+1] {
		case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			i += 2
		case 'u':
			if len(doc)-i < 6 || !isHex(doc[i+2]) || !isHex(doc[i+3]) || !isHex(doc[i+4]) || !isHex(doc[i+5]) {
				return -1
			}
			i += 6
		default:
			return -1
		}
	}
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c|0x20 && c|0x20 <= 'f'
}

// The word-at-a-time (SWAR) tests of the scanners. In each mask the lowest
// flagged byte is exact; flags above it may be false.
const (
	swarOnes  = 0x0101010101010101
	swarHighs = 0x8080808080808080
)

// zeroBytes flags the zero bytes of x.
func zeroBytes(x uint64) uint64 { return (x - swarOnes) & ^x & swarHighs }

// lessBytes flags the bytes of x below n (n <= 0x80).
func lessBytes(x uint64, n byte) uint64 { return (x - swarOnes*uint64(n)) & ^x & swarHighs }
