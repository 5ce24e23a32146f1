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
// session_laptimes. Added fields replace columns of the same name.
// drivers.json gives one object per driver record with year, gp and session
// added. A document with nothing in it (arrays all empty, as in an empty
// laptimes file, or no member at all) gives no rows; an object whose
// members are all scalars is no column document and an error.
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
	ownLap := (m.Kind == payload.KindLaptimes || m.Kind == payload.KindSessionLaptimes) && cols.Values["lap"] != nil
	drv := cols.Values["drv"]
	if m.Kind != payload.KindSessionLaptimes {
		drv = nil
	}
	hasDriver := m.Driver != "" || drv != nil
	hasLap := ownLap || m.Lap > 0
	added := map[string]bool{"year": true, "gp": true, "session": true, "row": true, "driver": hasDriver, "lap": hasLap}

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
	driver := payload.AppendString([]byte(`,"driver":`), m.Driver)

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
		switch {
		case drv != nil && len(drv[r]) > 0 && drv[r][0] == '"':
			buf = append(append(buf, `,"driver":`...), drv[r]...)
		case m.Driver != "":
			buf = append(buf, driver...)
		case hasDriver:
			buf = append(buf, `,"driver":null`...)
		}
		switch {
		case ownLap:
			buf = appendLap(append(buf, `,"lap":`...), cols.Values["lap"][r])
		case m.Lap > 0:
			buf = strconv.AppendInt(append(buf, `,"lap":`...), int64(m.Lap), 10)
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
		if len(k) > 40 {
			k = strings.ToValidUTF8(k[:40], "") + "…"
		}
		b = payload.AppendString(b, k)
	}
	return string(b)
}

// whereFields is `"year":2025,"gp":"...","session":"..."`.
func whereFields(m Meta) []byte {
	b := strconv.AppendInt([]byte(`"year":`), int64(m.Year), 10)
	b = payload.AppendString(append(b, `,"gp":`...), m.GP)
	return payload.AppendString(append(b, `,"session":`...), m.Session)
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
			if k == "year" || k == "gp" || k == "session" {
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
