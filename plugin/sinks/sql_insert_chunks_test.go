package sinks

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestInsertStatementOfRows(t *testing.T) {
	cols := []string{"year", "driver", "lap"}
	keys := []string{"year", "driver"}
	cases := []struct {
		driver, conflict string
		keys             []string
		rows             int
		want             string
	}{
		{"sqlite", "", nil, 3, `INSERT INTO laps ("year", "driver", "lap") VALUES (?, ?, ?), (?, ?, ?), (?, ?, ?)`},
		{"postgres", "", nil, 2, `INSERT INTO laps ("year", "driver", "lap") VALUES ($1, $2, $3), ($4, $5, $6)`},
		{"postgres", "upsert", keys, 2, `INSERT INTO laps ("year", "driver", "lap") VALUES ($1, $2, $3), ($4, $5, $6) ON CONFLICT ("year", "driver") DO UPDATE SET "lap" = EXCLUDED."lap"`},
		{"sqlite", "do_nothing", keys, 2, `INSERT INTO laps ("year", "driver", "lap") VALUES (?, ?, ?), (?, ?, ?) ON CONFLICT ("year", "driver") DO NOTHING`},
	}
	for _, c := range cases {
		if got := newInsertSQL(c.driver, "laps", cols, c.conflict, c.keys).rows(c.rows); got != c.want {
			t.Errorf("%s %s %v, %d rows:\n got %s\nwant %s", c.driver, c.conflict, c.keys, c.rows, got, c.want)
		}
	}
	// The last placeholder of the largest statement is the last value.
	s := newInsertSQL("postgres", "telemetry", make([]string, 21), "", nil).rows(1000)
	if !strings.HasSuffix(s, ", $21000)") || strings.Count(s, "$") != 21000 {
		t.Errorf("1000 rows of 21 columns end %q with %d placeholders", s[len(s)-20:], strings.Count(s, "$"))
	}
}

func TestRowsPerStatement(t *testing.T) {
	cases := []struct {
		driver  string
		columns int
		want    int
	}{
		{"postgres", 21, 500}, // telemetry: the row cap
		{"postgres", 100, 500},
		{"postgres", 200, 327}, // 65535 values
		{"postgres", 1600, 40}, // PostgreSQL's most columns
		{"sqlite", 21, 1},      // no round trip to save
		{"sqlite", 2000, 1},
	}
	for _, c := range cases {
		if got := rowsPerStatement(c.driver, c.columns); got != c.want {
			t.Errorf("rowsPerStatement(%s, %d) = %d, want %d", c.driver, c.columns, got, c.want)
		}
	}
}

func TestChunks(t *testing.T) {
	// Rows of one value, the key; nil has none.
	rows := func(keys ...any) [][]any {
		r := make([][]any, len(keys))
		for i, k := range keys {
			r[i] = []any{k}
		}
		return r
	}
	o := &sqlInsertOutput{upsertKeys: []int{0}}
	n := func(count int) [][]any {
		r := make([][]any, count)
		for i := range r {
			r[i] = []any{int64(i)}
		}
		return r
	}
	cases := []struct {
		name    string
		rows    [][]any
		max     int
		upsert  bool
		want    [][2]int
		comment string
	}{
		{"empty", nil, 1000, false, nil, ""},
		{"one", n(1), 1000, false, [][2]int{{0, 1}}, ""},
		{"the cap", n(2345), 1000, false, [][2]int{{0, 1000}, {1000, 2000}, {2000, 2345}}, ""},
		{"exactly the cap", n(2000), 1000, false, [][2]int{{0, 1000}, {1000, 2000}}, ""},
		{"repeats, do_nothing", rows("a", "b", "a", "a"), 1000, false, [][2]int{{0, 4}}, "no cut without upsert"},
		{"repeats, upsert", rows("a", "b", "a", "c", "b", "a"), 1000, true, [][2]int{{0, 2}, {2, 5}, {5, 6}}, "a cut before each repeat within a run"},
		{"a repeat across a cut is none", rows("a", "b", "c", "a"), 3, true, [][2]int{{0, 3}, {3, 4}}, ""},
		{"after a cut the run starts afresh", rows("a", "b", "a", "b", "c"), 1000, true, [][2]int{{0, 2}, {2, 5}}, ""},
		{"NULL keys repeat nothing", rows(nil, nil, "a", nil), 1000, true, [][2]int{{0, 4}}, ""},
		{"types apart", rows(int64(1), "1", 1.0, true), 1000, true, [][2]int{{0, 4}}, ""},
		{"text from a string and a []byte", rows("VER", []byte("VER")), 1000, true, [][2]int{{0, 1}, {1, 2}}, "the database receives one text"},
		{"all one key", rows("a", "a", "a"), 1000, true, [][2]int{{0, 1}, {1, 2}, {2, 3}}, ""},
	}
	for _, c := range cases {
		var key func([]any) (string, bool)
		if c.upsert {
			key = o.conflictKey
		}
		got := chunks(c.rows, c.max, key)
		if !slices.Equal(got, c.want) {
			t.Errorf("%s: chunks = %v, want %v %s", c.name, got, c.want, c.comment)
		}
	}
}

// A key of several columns is the values together: no two tuples of values
// give one key, whatever their text holds, unless the database receives
// them alike.
func TestConflictKeyOfColumns(t *testing.T) {
	o := &sqlInsertOutput{upsertKeys: []int{0, 2}}
	key := func(a ...any) string {
		k, ok := o.conflictKey(a)
		if !ok {
			return "<none>"
		}
		return k
	}
	sydney := time.FixedZone("AEDT", 11*3600)
	at := time.Date(2025, 3, 16, 5, 0, 0, 123456000, time.UTC)
	// Each group is one key, no two groups one.
	groups := [][][]any{
		{{"a", "x", "b"}, {"a", "y", "b"}, {[]byte("a"), 0, "b"}, {"a", 0, []byte("b")}}, // column 1 is none of it; text is its bytes
		{{"a\x00", 0, "b"}},
		{{"a", 0, "\x00b"}},
		{{"a b", 0, ""}},
		{{"a", 0, "b "}},
		{{"a", 0, `b"`}},
		{{int64(1), 0, "b"}},
		{{"1", 0, "b"}, {[]byte("1"), 0, "b"}},
		{{1.0, 0, "b"}},
		{{at, 0, "b"}, {at.In(sydney), 0, "b"}, {at.Add(999 * time.Nanosecond), 0, "b"}}, // an instant, to the microsecond
		{{at.Add(time.Microsecond), 0, "b"}},
		{{at.Format(time.RFC3339Nano), 0, "b"}}, // text is text
	}
	seen := map[string]int{}
	for g, rows := range groups {
		for _, r := range rows {
			k := key(r...)
			if prev, ok := seen[k]; ok && prev != g {
				t.Errorf("%#v %#v gives the key %q of group %d, want group %d's own", r[0], r[2], k, prev, g)
			}
			seen[k] = g
		}
		if k0, k := key(rows[0]...), key(rows[len(rows)-1]...); k0 != k {
			t.Errorf("group %d: %#v %#v and %#v %#v give keys %q and %q, want one", g, rows[0][0], rows[0][2], rows[len(rows)-1][0], rows[len(rows)-1][2], k0, k)
		}
	}
	if len(seen) != len(groups) {
		t.Errorf("%d keys, want %d", len(seen), len(groups))
	}
	if k := key("a", 0, nil); k != "<none>" {
		t.Errorf("a NULL in the key gives key %q, want none", k)
	}
}
