package payload

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"

	"github.com/segmentio/encoding/json"
)

// Columns is a parsed column-oriented document, for turning into rows.
// Keys holds every member key in document order; each key is in Values (an
// array member: its raw elements) or in Scalars (any other member, raw).
// Len is the common length of the arrays. Raw values are sub-slices of the
// document, so it must not change while Columns is in use.
type Columns struct {
	Keys    []string
	Values  map[string][]json.RawMessage
	Scalars map[string]json.RawMessage
	Len     int
}

// ParseColumns parses a normalised column document (for telemetry, see
// ParseTelemetry). Arrays of different
// lengths and duplicate keys are errors, since rows would be ambiguous.
func ParseColumns(doc []byte) (Columns, error) {
	i, err := parseTop(doc, '{')
	if err != nil {
		return Columns{}, err
	}
	return columns(doc, i)
}

// columns reads the object at doc[i] of a parsed document.
func columns(doc []byte, i int) (Columns, error) {
	c := Columns{Values: map[string][]json.RawMessage{}, Scalars: map[string]json.RawMessage{}, Len: -1}
	var first string
	_, err := members(doc, i, func(raw []byte, v int) (int, error) {
		key := unquote(raw)
		if _, dup := c.Values[key]; dup {
			return v, fmt.Errorf("duplicate key %s", quoted(raw))
		}
		if _, dup := c.Scalars[key]; dup {
			return v, fmt.Errorf("duplicate key %s", quoted(raw))
		}
		c.Keys = append(c.Keys, key)
		if doc[v] != '[' {
			end := valueEnd(doc, v)
			c.Scalars[key] = doc[v:end:end]
			return end, nil
		}
		n, _ := arrayLen(doc, v)
		elems, end := splitArray(doc, v, make([]json.RawMessage, 0, n))
		c.Values[key] = elems
		if c.Len < 0 {
			first, c.Len = key, n
		} else if n != c.Len {
			return end, fmt.Errorf("column %s has %d values, %q has %d", quoted(raw), n, first, c.Len)
		}
		return end, nil
	})
	if err != nil {
		return Columns{}, err
	}
	c.Len = max(c.Len, 0)
	return c, nil
}

// ParseTelemetry is ParseColumns of the "tel" object of a telemetry
// document, with the document parsed once.
func ParseTelemetry(doc []byte) (Columns, error) {
	i, err := parseTop(doc, '{')
	if err != nil {
		return Columns{}, err
	}
	tel := memberValue(doc, i, "tel")
	switch {
	case tel < 0:
		return Columns{}, errors.New(`missing "tel" object`)
	case doc[tel] != '{':
		return Columns{}, fmt.Errorf(`"tel" is %s, expected an object`, typeName(doc[tel]))
	}
	c, err := columns(doc, tel)
	if err != nil {
		return Columns{}, fmt.Errorf("tel: %w", err)
	}
	return c, nil
}

// ParseDrivers returns each record of a drivers.json document, raw.
func ParseDrivers(doc []byte) ([]json.RawMessage, error) {
	i, err := parseTop(doc, '{')
	if err != nil {
		return nil, err
	}
	list := memberValue(doc, i, "drivers")
	switch {
	case list < 0:
		return nil, errors.New(`missing "drivers" list`)
	case doc[list] != '[':
		return nil, fmt.Errorf(`"drivers" is %s, expected a list`, typeName(doc[list]))
	}
	records, _ := splitArray(doc, list, nil)
	for n, rec := range records {
		if rec[0] != '{' {
			return nil, fmt.Errorf("drivers[%d] is %s, expected an object", n, typeName(rec[0]))
		}
	}
	return records, nil
}

// parseTop checks that doc is one JSON value that starts with want, and
// returns the index of that first byte.
func parseTop(doc []byte, want byte) (int, error) {
	if err := parse(doc); err != nil {
		return 0, err
	}
	i := skipSpace(doc, 0)
	if doc[i] != want {
		return 0, fmt.Errorf("top level is %s, expected %s", typeName(doc[i]), typeName(want))
	}
	return i, nil
}

// AppendString appends s as a JSON string, so that code building JSON from
// raw parts (plugin/rows) needs no JSON code of its own.
func AppendString(dst []byte, s string) []byte {
	return json.AppendEscape(dst, s, 0)
}

// SameValue reports whether two raw JSON scalars of a parsed document are
// one value: the same bytes, numbers equal as float64 (2025 and 2025.0), or
// strings equal once unescaped ("ALO" and "\u0041LO"). plugin/rows uses it
// to tell whether a document's column agrees with a field it adds.
func SameValue(a, b []byte) bool {
	switch {
	case bytes.Equal(a, b):
		return true
	case len(a) == 0 || len(b) == 0:
		return false
	case a[0] == '"' && b[0] == '"':
		return len(a) >= 2 && len(b) >= 2 && unquote(a) == unquote(b)
	case isNumberStart(a[0]) && isNumberStart(b[0]):
		x, errA := strconv.ParseFloat(string(a), 64)
		y, errB := strconv.ParseFloat(string(b), 64)
		return errA == nil && errB == nil && x == y
	}
	return false
}

// isNumberStart tells whether a JSON value starting with c is a number.
func isNumberStart(c byte) bool { return c == '-' || '0' <= c && c <= '9' }
