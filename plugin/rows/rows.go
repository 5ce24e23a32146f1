// Package rows turns a column-oriented TracingInsights document (one object of
// parallel arrays) into one JSON object per row, a lap or a sample, carrying
// where it came from (year, gp, session, driver, lap), ready for SQL or Kafka.
// Rows are built by appending raw JSON bytes: numbers are never re-encoded.
package rows

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/f1fetch/f1fetch/plugin/payload"
)

// Meta is what is known about a document from its request.
type Meta struct {
	Year        int
	GP, Session string
	Driver      string
	Lap         int
	Kind        payload.Kind
}

// Explode turns one normalised document into one JSON object per row: the
// document's columns at that index, its scalars (dataKey, Rotation), then
// "year", "gp", "session", "driver" and "lap" where known, and "row". The
// lap is Meta.Lap for telemetry and the row's own "lap" as an integer for
// laptimes; the driver is Meta.Driver, or the row's "drv" in
// session_laptimes. drivers.json gives one object per driver record with
// year, gp and session added. A member of the document named as a field
// its rows get (laptimes' own "lap" aside, where the lap comes from) must
// hold the added value on every row (payload.SameValue), and is then written once,
// as added; where it holds another, writing either would lose the other,
// so the document is an error naming the member, the row and both values.
// A document with nothing in it (arrays all empty, as in an empty laptimes
// file, or no member at all) gives no rows; an object whose members are all
// scalars is no column document and an error.
func Explode(doc []byte, m Meta) ([][]byte, error) {
	if m.Kind == payload.KindDrivers {
		return explodeDrivers(doc, m)
	}
	parse := payload.ParseColumns
	if m.Kind == payload.KindTelemetry {
		parse = payload.ParseTelemetry
	}
	cols, err := parse(doc)
	if err != nil {
		return nil, fmt.Errorf("rows of %s: %w", m.Kind, err)
	}
	return explodeColumns(cols, m, len(doc))
}

// maxGrowth bounds the rows of a document at this many times its size (plus
// a MiB): every row repeats the document's scalars, so one long scalar over
// long arrays would otherwise take memory without end. The rows of the 414
// files of the shared corpus come to at most 5.6 times their document.
const maxGrowth = 16

// tooMany refuses rows that would come to about size bytes from a
// docLen-byte document, past maxGrowth times it plus a MiB.
func tooMany(kind payload.Kind, rows, size, docLen int) error {
	if limit := maxGrowth*docLen + 1<<20; size > limit {
		return fmt.Errorf("rows of %s: %d rows, each repeating the document's scalars and the tuple, come to about %d bytes from a %d-byte document, over the %d-byte limit (%dx the document plus 1 MiB)",
			kind, rows, size, docLen, limit, maxGrowth)
	}
	return nil
}

// explodeColumns builds all rows in one buffer; docLen (the document's
// length) covers the values, the rest is the per-row overhead.
func explodeColumns(cols payload.Columns, m Meta, docLen int) ([][]byte, error) {
	if len(cols.Values) == 0 && len(cols.Keys) > 0 {
		// Members but no column: a failed fetch's tuple, a file of scalars.
		// Zero rows would make it vanish; only a document with nothing in
		// it gives none.
		return nil, fmt.Errorf("rows of %s: not a column document: the object has no array member (keys %s)", m.Kind, keyList(cols.Keys))
	}
	if cols.Len == 0 {
		return nil, nil // arrays all empty (an empty laptimes file), or {}
	}
	laps := cols.Values["lap"]
	ownLap := (m.Kind == payload.KindLaptimes || m.Kind == payload.KindSessionLaptimes) && laps != nil
	drv := cols.Values["drv"]
	if m.Kind != payload.KindSessionLaptimes {
		drv = nil
	}
	hasDriver := m.Driver != "" || drv != nil
	hasLap := ownLap || m.Lap > 0
	added := map[string]bool{"year": true, "gp": true, "session": true, "row": true, "driver": hasDriver, "lap": hasLap}
	driver := payload.AppendString(nil, m.Driver)
	// driverAt and lapAt append the driver and the lap added to row r.
	driverAt := func(b []byte, r int) []byte {
		switch {
		case drv != nil && len(drv[r]) > 0 && drv[r][0] == '"':
			return append(b, drv[r]...)
		case m.Driver != "":
			return append(b, driver...)
		}
		return append(b, "null"...)
	}
	lapAt := func(b []byte, r int) []byte {
		if ownLap {
			return appendLap(b, laps[r])
		}
		return strconv.AppendInt(b, int64(m.Lap), 10)
	}

	// Everything but values is the same on every row: escape it once.
	type column struct {
		name   []byte // `"key":`
		values []json.RawMessage
		scalar []byte
	}
	var columns []column
	perRow := 0
	for _, k := range cols.Keys {
		if added[k] {
			if k == "lap" && ownLap {
				continue // the added lap is this column's
			}
			// The document's own value: written once, as added, when the
			// two agree on every row; refused where they differ.
			var want []byte
			for r := range cols.Len {
				have := cols.Scalars[k]
				if v, ok := cols.Values[k]; ok {
					have = v[r]
				}
				switch k {
				case "driver":
					want = driverAt(want[:0], r)
				case "lap":
					want = lapAt(want[:0], r)
				case "row":
					want = strconv.AppendInt(want[:0], int64(r), 10)
				default:
					if want == nil {
						want = whereValue(m, k)
					}
				}
				if !payload.SameValue(have, want) {
					return nil, clash(m.Kind, fmt.Sprintf("column %q row %d", k, r), k, have, want)
				}
			}
			continue
		}
		c := column{name: append(payload.AppendString(nil, k), ':')}
		if v, ok := cols.Values[k]; ok {
			c.values = v
		} else {
			c.scalar = cols.Scalars[k]
			perRow += len(c.scalar)
		}
		perRow += len(c.name) + 1
		columns = append(columns, c)
	}
	where := whereFields(m)

	size := cols.Len*(perRow+len(where)+48) + docLen
	if err := tooMany(m.Kind, cols.Len, size, docLen); err != nil {
		return nil, err
	}
	buf := make([]byte, 0, size)
	ends := make([]int, cols.Len)
	for r := range cols.Len {
		buf = append(buf, '{')
		for _, c := range columns {
			buf = append(buf, c.name...)
			if c.values != nil {
				buf = append(buf, c.values[r]...)
			} else {
				buf = append(buf, c.scalar...)
			}
			buf = append(buf, ',')
		}
		buf = append(buf, where...)
		if hasDriver {
			buf = driverAt(append(buf, `,"driver":`...), r)
		}
		if hasLap {
			buf = lapAt(append(buf, `,"lap":`...), r)
		}
		buf = strconv.AppendInt(append(buf, `,"row":`...), int64(r), 10)
		buf = append(buf, '}')
		ends[r] = len(buf)
	}
	return cut(buf, ends), nil
}

// keyList names up to five keys of a document (each cut at 40 bytes), for
// an error.
func keyList(keys []string) string {
	var b []byte
	for i, k := range keys {
		if i == 5 {
			return fmt.Sprintf("%s and %d more", b, len(keys)-5)
		}
		if i > 0 {
			b = append(b, ", "...)
		}
		b = payload.AppendString(b, short(k))
	}
	return string(b)
}

// short cuts s at 40 bytes (on a rune boundary, marked "…"), so that a
// hostile megabyte key or value never floods an error.
func short[T string | []byte](s T) string {
	if len(s) > 40 {
		return strings.ToValidUTF8(string(s[:40]), "") + "…"
	}
	return string(s)
}

// clash is the error of the document's member name, at where (a row of a
// column, a driver record), holding have where its row gets want under the
// same name: writing either would lose the other.
func clash(kind payload.Kind, where, name string, have, want []byte) error {
	return fmt.Errorf("rows of %s: %s holds %s, but the row's added %q is %s; a member named as a field rows add (year, gp, session and row from the request, driver and lap where known) must hold the added value, or be renamed first, so that neither value is lost",
		kind, where, short(have), name, short(want))
}

// whereValue is the request's year, gp or session in m as raw JSON, the
// value added under that name to every row; nil for any other name.
func whereValue(m Meta, name string) []byte {
	switch name {
	case "year":
		return strconv.AppendInt(nil, int64(m.Year), 10)
	case "gp":
		return payload.AppendString(nil, m.GP)
	case "session":
		return payload.AppendString(nil, m.Session)
	}
	return nil
}

// whereFields is `"year":2025,"gp":"...","session":"..."`.
func whereFields(m Meta) []byte {
	b := append([]byte(`"year":`), whereValue(m, "year")...)
	b = append(append(b, `,"gp":`...), whereValue(m, "gp")...)
	return append(append(b, `,"session":`...), whereValue(m, "session")...)
}

// appendLap writes a lap number as an integer (laptimes write 2.0); anything
// that is not an integral number, such as null, is copied as it is.
func appendLap(b, raw []byte) []byte {
	f, err := strconv.ParseFloat(string(raw), 64)
	if err != nil || f != math.Trunc(f) || math.Abs(f) > 1<<53 {
		return append(b, raw...)
	}
	return strconv.AppendInt(b, int64(f), 10)
}

func explodeDrivers(doc []byte, m Meta) ([][]byte, error) {
	records, err := payload.ParseDrivers(doc)
	if err != nil {
		return nil, fmt.Errorf("rows of %s: %w", m.Kind, err)
	}
	where := whereFields(m)
	// Every record, however small, gains the tuple's fields.
	if err := tooMany(m.Kind, len(records), len(records)*(len(where)+2)+len(doc), len(doc)); err != nil {
		return nil, err
	}
	var buf []byte
	ends := make([]int, len(records))
	for n, rec := range records {
		fields, err := payload.ParseColumns(rec)
		if err != nil {
			return nil, fmt.Errorf("rows of %s: drivers[%d]: %w", m.Kind, n, err)
		}
		buf = append(buf, '{')
		for _, k := range fields.Keys {
			if want := whereValue(m, k); want != nil {
				// Written once, by where, if the record agrees.
				have, ok := fields.Scalars[k]
				if !ok {
					have = appendArray(nil, fields.Values[k])
				}
				if !payload.SameValue(have, want) {
					return nil, clash(m.Kind, fmt.Sprintf("drivers[%d] member %q", n, k), k, have, want)
				}
				continue
			}
			buf = append(payload.AppendString(buf, k), ':')
			if v, ok := fields.Scalars[k]; ok {
				buf = append(buf, v...)
			} else {
				buf = appendArray(buf, fields.Values[k])
			}
			buf = append(buf, ',')
		}
		buf = append(append(buf, where...), '}')
		ends[n] = len(buf)
	}
	return cut(buf, ends), nil
}

func appendArray(b []byte, elems []json.RawMessage) []byte {
	b = append(b, '[')
	for i, e := range elems {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, e...)
	}
	return append(b, ']')
}

// cut slices buf at ends into rows that share buf; each row's capacity ends
// at its length, so appending to one never overwrites the next.
func cut(buf []byte, ends []int) [][]byte {
	out := make([][]byte, len(ends))
	start := 0
	for i, end := range ends {
		out[i] = buf[start:end:end]
		start = end
	}
	return out
}
