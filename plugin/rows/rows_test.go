package rows

import (
	stdjson "encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/f1fetch/f1fetch/plugin/mirror/mirrortest"
	"github.com/f1fetch/f1fetch/plugin/payload"
	"github.com/f1fetch/f1fetch/plugin/tuple"
)

// load reads a corpus file and decodes it as the fetcher does.
func load(tb testing.TB, rel string) []byte {
	tb.Helper()
	body, err := os.ReadFile(filepath.Join(mirrortest.SharedTestdata(tb), rel))
	if err != nil {
		tb.Fatal(err)
	}
	doc, err := payload.Decode(rel, body, payload.Options{Validate: true, NormalizeMissing: true})
	if err != nil {
		tb.Fatal(err)
	}
	return doc
}

func decodeRows(t *testing.T, rows [][]byte) []map[string]any {
	t.Helper()
	out := make([]map[string]any, len(rows))
	for i, r := range rows {
		if err := stdjson.Unmarshal(r, &out[i]); err != nil {
			t.Fatalf("row %d is not JSON: %v\n%s", i, err, r)
		}
	}
	return out
}

// columnLen is the array length of one column, read with the standard library.
func columnLen(t *testing.T, doc []byte, key string) int {
	var m map[string]stdjson.RawMessage
	if err := stdjson.Unmarshal(doc, &m); err != nil {
		t.Fatal(err)
	}
	var arr []stdjson.RawMessage
	if err := stdjson.Unmarshal(m[key], &arr); err != nil {
		t.Fatal(err)
	}
	return len(arr)
}

const (
	aus  = "Australian Grand Prix"
	qual = "Qualifying"
)

func TestLaptimesVariants(t *testing.T) {
	cases := []struct {
		variant, rel string
		year         int
		session      string
		driver       string
		columns      int
	}{
		{"A", "test/Australian Grand Prix/Qualifying/VER/laptimes.json", 2025, qual, "VER", 3},
		{"A NaN", "test/Australian Grand Prix/Race/ALO/laptimes.json", 2025, "Race", "ALO", 3},
		{"A 2021", "2021/Abu Dhabi Grand Prix/Qualifying/VER/laptimes.json", 2021, qual, "VER", 3},
		{"B", "2025@a530f722/Australian Grand Prix/Qualifying/VER/laptimes.json", 2025, qual, "VER", 3},
		{"D", "2025/Australian Grand Prix/Qualifying/LAW/laptimes.json", 2025, qual, "LAW", 39},
		{"E", "2025/Australian Grand Prix/Qualifying/BEA/laptimes.json", 2025, qual, "BEA", 43},
	}
	for _, c := range cases {
		t.Run(c.variant, func(t *testing.T) {
			doc := load(t, c.rel)
			m := Meta{Year: c.year, GP: strings.Split(c.rel, "/")[1], Session: c.session, Driver: c.driver, Kind: payload.KindLaptimes}
			rows, err := Explode(doc, m)
			if err != nil {
				t.Fatal(err)
			}
			n := columnLen(t, doc, "time")
			if len(rows) != n || n == 0 {
				t.Fatalf("%d rows, time has %d values", len(rows), n)
			}
			var lapCol []any
			var all map[string]stdjson.RawMessage
			stdjson.Unmarshal(doc, &all)
			stdjson.Unmarshal(all["lap"], &lapCol)
			for i, r := range decodeRows(t, rows) {
				// columns minus "lap", which is re-added, plus year gp session driver lap row
				if len(r) != c.columns+5 {
					t.Errorf("row %d has %d fields: %v", i, len(r), r)
				}
				if r["year"] != float64(c.year) || r["gp"] != m.GP || r["session"] != c.session || r["driver"] != c.driver || r["row"] != float64(i) {
					t.Errorf("row %d: where fields %v", i, r)
				}
				if r["lap"] != lapCol[i] {
					t.Errorf("row %d: lap %v, column has %v", i, r["lap"], lapCol[i])
				}
				if strings.Contains(string(rows[i]), `"lap":`+strings.TrimSuffix(string(mustRaw(t, all["lap"], i)), ".0")+`,`) == false {
					t.Errorf("row %d: lap not written as an integer: %s", i, rows[i])
				}
			}
		})
	}
}

func mustRaw(t *testing.T, arr stdjson.RawMessage, i int) stdjson.RawMessage {
	var elems []stdjson.RawMessage
	if err := stdjson.Unmarshal(arr, &elems); err != nil {
		t.Fatal(err)
	}
	return elems[i]
}

// Variant A writes lap as 1.0; the row carries 1. The Race files had a bare
// NaN time, which becomes null.
func TestLaptimesNaNRow(t *testing.T) {
	doc := load(t, "test/Australian Grand Prix/Race/DOO/laptimes.json")
	rows, err := Explode(doc, Meta{Year: 2025, GP: aus, Session: "Race", Driver: "DOO", Kind: payload.KindLaptimes})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"time":null,"compound":"INTERMEDIATE","year":2025,"gp":"Australian Grand Prix","session":"Race","driver":"DOO","lap":1,"row":0}`
	if len(rows) != 1 || string(rows[0]) != want {
		t.Fatalf("got %s\nwant %s", rows, want)
	}
}

// Variant E has one row with time "None": null after normalisation.
func TestLaptimesNoneTime(t *testing.T) {
	doc := load(t, "2025/Australian Grand Prix/Qualifying/BEA/laptimes.json")
	rows, err := Explode(doc, Meta{Year: 2025, GP: aus, Session: qual, Driver: "BEA", Kind: payload.KindLaptimes})
	if err != nil {
		t.Fatal(err)
	}
	nulls := 0
	for _, r := range decodeRows(t, rows) {
		if v, ok := r["time"]; ok && v == nil {
			nulls++
		}
	}
	if nulls != 1 {
		t.Errorf("%d rows with null time, MANIFEST says 1", nulls)
	}
}

func TestEmptyLaptimes(t *testing.T) {
	doc := load(t, "test/Australian Grand Prix/Qualifying/BEA/laptimes.json")
	rows, err := Explode(doc, Meta{Year: 2025, GP: aus, Session: qual, Driver: "BEA", Kind: payload.KindLaptimes})
	if err != nil || len(rows) != 0 {
		t.Fatalf("%d rows, %v", len(rows), err)
	}
}

// Zero rows come only from a document with nothing in it: arrays all empty
// (the corpus's BEA/laptimes.json) or no member at all. An object with
// members but no array is refused (TestExplodeErrors).
func TestEmptyDocumentsGiveNoRows(t *testing.T) {
	for _, c := range []struct {
		kind payload.Kind
		doc  string
	}{
		{payload.KindLaptimes, `{"time": [], "lap": [], "compound": []}`},
		{payload.KindCorners, `{"Rotation": 92.0, "CornerNumber": [], "X": []}`},
		{payload.KindWeather, `{}`},
		{payload.KindTelemetry, `{"tel": {}}`},
	} {
		rows, err := Explode([]byte(c.doc), Meta{Year: 2025, GP: aus, Session: qual, Kind: c.kind})
		if err != nil || len(rows) != 0 {
			t.Errorf("%s %s: %d rows, %v; want none, no error", c.kind, c.doc, len(rows), err)
		}
	}
}

func TestTelemetry(t *testing.T) {
	cases := []struct {
		rel     string
		driver  string
		lap     int
		samples int
	}{
		{"test/Australian Grand Prix/Race/ALO/33_tel.json", "ALO", 33, 277},
		{"test/Australian Grand Prix/Qualifying/TSU/6_tel.json", "TSU", 6, 5665},
		{"test/Australian Grand Prix/Race/HAD/1_tel.json", "HAD", 1, 862},
	}
	for _, c := range cases {
		doc := load(t, c.rel)
		rows, err := Explode(doc, Meta{Year: 2025, GP: aus, Session: "x", Driver: c.driver, Lap: c.lap, Kind: payload.KindTelemetry})
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != c.samples {
			t.Fatalf("%s: %d rows, want %d samples", c.rel, len(rows), c.samples)
		}
		dec := decodeRows(t, rows)
		for i, r := range dec {
			if r["driver"] != c.driver || r["lap"] != float64(c.lap) || r["row"] != float64(i) {
				t.Fatalf("%s row %d: %v", c.rel, i, r)
			}
			if _, ok := r["dataKey"].(string); !ok {
				t.Fatalf("%s row %d: dataKey scalar not copied", c.rel, i)
			}
			for _, k := range []string{"time", "speed", "distance", "rel_distance", "gear"} {
				if _, ok := r[k]; !ok {
					t.Fatalf("%s row %d lacks %s", c.rel, i, k)
				}
			}
		}
		if dec[0]["time"] != 0.0 {
			t.Errorf("first sample time %v", dec[0]["time"])
		}
		if strings.HasSuffix(c.rel, "HAD/1_tel.json") && dec[5]["rel_distance"] != nil {
			t.Errorf("HAD rel_distance NaN did not become null: %v", dec[5]["rel_distance"])
		}
	}
}

// Numbers are copied byte for byte, never re-encoded.
func TestValuesCopiedRaw(t *testing.T) {
	doc := []byte(`{"tel": {"time": [0.0, 1.10000000000000009], "speed": [1e2, -0], "distance": [12345678901234567890, 3], "dataKey": "k"}}`)
	rows, err := Explode(doc, Meta{Year: 2025, GP: "A", Session: "Q", Kind: payload.KindTelemetry})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		`{"time":0.0,"speed":1e2,"distance":12345678901234567890,"dataKey":"k","year":2025,"gp":"A","session":"Q","row":0}`,
		`{"time":1.10000000000000009,"speed":-0,"distance":3,"dataKey":"k","year":2025,"gp":"A","session":"Q","row":1}`,
	}
	for i := range want {
		if string(rows[i]) != want[i] {
			t.Errorf("row %d:\n got %s\nwant %s", i, rows[i], want[i])
		}
	}
	// rows share one buffer: appending to one must not change the next
	_ = append(rows[0], "junk"...)
	if string(rows[1]) != want[1] {
		t.Errorf("append to row 0 overwrote row 1: %s", rows[1])
	}
}

func TestDrivers(t *testing.T) {
	for _, c := range []struct {
		rel  string
		keys []string
	}{
		{"test/Australian Grand Prix/Qualifying/drivers.json", []string{"driver", "team"}},
		{"2025/Australian Grand Prix/Qualifying/drivers.json", []string{"driver", "team", "dn", "fn", "ln", "tc", "url"}},
	} {
		doc := load(t, c.rel)
		rows, err := Explode(doc, Meta{Year: 2025, GP: aus, Session: qual, Kind: payload.KindDrivers})
		if err != nil {
			t.Fatal(err)
		}
		var src struct{ Drivers []map[string]any }
		stdjson.Unmarshal(doc, &src)
		if len(rows) != len(src.Drivers) || len(rows) < 16 {
			t.Fatalf("%s: %d rows for %d drivers", c.rel, len(rows), len(src.Drivers))
		}
		for i, r := range decodeRows(t, rows) {
			for _, k := range c.keys {
				if r[k] != src.Drivers[i][k] {
					t.Errorf("%s row %d: %s = %v, want %v", c.rel, i, k, r[k], src.Drivers[i][k])
				}
			}
			if r["year"] != 2025.0 || r["gp"] != aus || r["session"] != qual || len(r) != len(c.keys)+3 {
				t.Errorf("%s row %d: %v", c.rel, i, r)
			}
		}
	}
}

func TestCornersRotation(t *testing.T) {
	doc := load(t, "test/Dutch Grand Prix/Race/corners.json")
	rows, err := Explode(doc, Meta{Year: 2025, GP: "Dutch Grand Prix", Session: "Race", Kind: payload.KindCorners})
	if err != nil {
		t.Fatal(err)
	}
	var src map[string]any
	stdjson.Unmarshal(doc, &src)
	rot, ok := src["Rotation"].(float64)
	if !ok {
		t.Fatal("corpus corners.json has no scalar Rotation")
	}
	n := len(src["CornerNumber"].([]any))
	if len(rows) != n || n < 14 {
		t.Fatalf("%d rows for %d corners", len(rows), n)
	}
	for i, r := range decodeRows(t, rows) {
		if r["Rotation"] != rot || r["CornerNumber"] != src["CornerNumber"].([]any)[i] {
			t.Errorf("row %d: %v", i, r)
		}
		if _, ok := r["driver"]; ok {
			t.Errorf("row %d has a driver", i)
		}
		if _, ok := r["lap"]; ok {
			t.Errorf("row %d has a lap", i)
		}
	}
}

func TestSessionLaptimesDriverFromRow(t *testing.T) {
	doc := []byte(`{"time": [80.1, null, 81.2], "lap": [1.0, 2.0, 1], "drv": ["VER", null, "HAM"]}`)
	rows, err := Explode(doc, Meta{Year: 2025, GP: "A", Session: "Q", Kind: payload.KindSessionLaptimes})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		`{"time":80.1,"drv":"VER","year":2025,"gp":"A","session":"Q","driver":"VER","lap":1,"row":0}`,
		`{"time":null,"drv":null,"year":2025,"gp":"A","session":"Q","driver":null,"lap":2,"row":1}`,
		`{"time":81.2,"drv":"HAM","year":2025,"gp":"A","session":"Q","driver":"HAM","lap":1,"row":2}`,
	}
	for i := range want {
		if string(rows[i]) != want[i] {
			t.Errorf("row %d:\n got %s\nwant %s", i, rows[i], want[i])
		}
	}
}

func TestLapValues(t *testing.T) {
	doc := []byte(`{"time": [1, 2, 3, 4, 5], "lap": [2.0, 3, 2.5, null, "None"]}`)
	rows, err := Explode(doc, Meta{Year: 2025, GP: "A", Session: "Q", Driver: "VER", Kind: payload.KindLaptimes})
	if err != nil {
		t.Fatal(err)
	}
	var laps []string
	for _, r := range rows {
		_, after, _ := strings.Cut(string(r), `"lap":`)
		lap, _, _ := strings.Cut(after, ",")
		laps = append(laps, lap)
	}
	if got := strings.Join(laps, " "); got != `2 3 2.5 null "None"` {
		t.Errorf("laps %s", got)
	}
}

func TestEscaping(t *testing.T) {
	doc := []byte(`{"a\"b": [1], "São": ["x"]}`)
	rows, err := Explode(doc, Meta{Year: 2024, GP: "São Paulo \"GP\"", Session: "Sprint", Kind: payload.KindWeather})
	if err != nil {
		t.Fatal(err)
	}
	r := decodeRows(t, rows)[0]
	if r["a\"b"] != 1.0 || r["São"] != "x" || r["gp"] != `São Paulo "GP"` {
		t.Errorf("%s", rows[0])
	}
}

func TestExplodeErrors(t *testing.T) {
	cases := []struct {
		kind payload.Kind
		doc  string
		want string
	}{
		{payload.KindTelemetry, `{"time": [1]}`, `missing "tel" object`},
		{payload.KindTelemetry, `{"tel": {"time": [1], "speed": []}}`, `tel: column "speed" has 0 values, "time" has 1`},
		{payload.KindLaptimes, `[1, 2]`, "top level is an array"},
		{payload.KindLaptimes, `{"time": [NaN]}`, "not JSON"},
		{payload.KindDrivers, `{"drivers": [1]}`, "drivers[0] is a number"},
		{payload.KindDrivers, `{"drivers": [{"a": 1, "a": 2}]}`, `drivers[0]: duplicate key "a"`},
		// An object without an array is no column document (a failed
		// fetch's tuple, a file of scalars): refused, not zero rows.
		{payload.KindLaptimes, `{"year": 2025, "gp": "A", "session": "Q", "path": "VER/laptimes.json"}`, `no array member`},
		{payload.KindOther, `{"meeting": "A", "start": "2025-03-15"}`, `no array member`},
		{payload.KindTelemetry, `{"tel": {"dataKey": "x"}}`, `no array member`},
	}
	for _, c := range cases {
		_, err := Explode([]byte(c.doc), Meta{Year: 2025, GP: "A", Session: "Q", Kind: c.kind})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s %s: %v, want %q", c.kind, c.doc, err, c.want)
		}
	}
}

func BenchmarkExplodeTelemetryMedian(b *testing.B) {
	root := mirrortest.SharedTestdata(b)
	var files []string
	filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err == nil && payload.KindOf(p) == payload.KindTelemetry {
			files = append(files, p)
		}
		return err
	})
	size := func(p string) int64 { st, _ := os.Stat(p); return st.Size() }
	sort.Slice(files, func(i, j int) bool { return size(files[i]) < size(files[j]) })
	rel, _ := filepath.Rel(root, files[len(files)/2])
	doc := load(b, rel)
	b.Logf("%s: %d bytes", rel, len(doc))
	b.SetBytes(int64(len(doc)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Explode(doc, Meta{Year: 2025, GP: aus, Session: qual, Driver: "VER", Lap: 3, Kind: payload.KindTelemetry}); err != nil {
			b.Fatal(err)
		}
	}
}

// Every row repeats the document's scalars: a valid document with one long
// scalar over long arrays would make rows without end, so past 16 times the
// document (plus a MiB) Explode refuses it, naming the sizes. Every file of
// the shared corpus stays far below that.
func TestRowsOfALongScalarAreBounded(t *testing.T) {
	n := 20000
	doc := []byte(`{"tel": {"dataKey": "` + strings.Repeat("k", 20000) + `", "time": [` + strings.Repeat("0.1,", n-1) + `0.1], "speed": [` +
		strings.Repeat("1,", n-1) + `1], "distance": [` + strings.Repeat("2,", n-1) + `2]}}`)
	if _, err := payload.Decode("VER/1_tel.json", doc, payload.Options{Validate: true}); err != nil {
		t.Fatalf("the test document must pass validation: %v", err)
	}
	_, err := Explode(doc, Meta{Year: 2025, GP: aus, Session: qual, Driver: "VER", Lap: 1, Kind: payload.KindTelemetry})
	if err == nil || !strings.Contains(err.Error(), "20000 rows") || !strings.Contains(err.Error(), "limit") {
		t.Fatalf("want the rows refused naming their count and the limit, got %v", err)
	}
	// drivers.json too: every record, however small, gains the tuple (a
	// 300 KB list of 100,000 empty records makes 6.5 MB of rows).
	drivers := []byte(`{"drivers": [` + strings.Repeat("{},", 99999) + `{}]}`)
	_, err = Explode(drivers, Meta{Year: 2025, GP: aus, Session: qual, Kind: payload.KindDrivers})
	if err == nil || !strings.Contains(err.Error(), "100000 rows") || !strings.Contains(err.Error(), "limit") {
		t.Fatalf("drivers.json of 100,000 empty records: want the rows refused naming their count and the limit, got %v", err)
	}

	root := mirrortest.SharedTestdata(t)
	worst, files := 0.0, 0
	err = filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".json") {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		kind := payload.KindOf(rel)
		if kind == payload.KindOther {
			return nil
		}
		body, _ := os.ReadFile(p)
		doc, err := payload.Decode(rel, body, payload.Options{Validate: true, NormalizeMissing: true})
		if err != nil {
			return nil // the corpus's invalid files are other tests' business
		}
		// The driver and lap as f1_rows takes them, from the path: rcm.json's
		// own "lap" column is no lap of the request.
		tup, err := tuple.New(2025, aus, qual, strings.SplitN(rel, "/", 4)[3])
		if err != nil {
			t.Fatalf("%s: %v", rel, err)
		}
		rows, err := Explode(doc, Meta{Year: 2025, GP: aus, Session: qual, Driver: tup.Driver(), Lap: tup.Lap(), Kind: kind})
		if err != nil {
			t.Errorf("%s: %v", rel, err)
			return nil
		}
		total := 0
		for _, r := range rows {
			total += len(r)
		}
		worst, files = max(worst, float64(total)/float64(len(doc))), files+1
		return nil
	})
	if err != nil || files < 300 {
		t.Fatalf("walked %d corpus files: %v", files, err)
	}
	t.Logf("%d corpus files: rows at most %.1fx their document", files, worst)
}

// A document member named as a field rows add (year, gp, session, row;
// driver and lap where known) is written once when it holds the added
// value on every row, and refused, naming it, where it holds another:
// writing either value would lose the other (a review found the
// document's values replaced without a word).
func TestMembersNamedAsAddedFields(t *testing.T) {
	alo := Meta{Year: 2025, GP: aus, Session: "Race", Driver: "ALO", Kind: payload.KindLaptimes}
	tel := Meta{Year: 2025, GP: aus, Session: "Race", Driver: "ALO", Lap: 3, Kind: payload.KindTelemetry}
	sl := Meta{Year: 2025, GP: aus, Session: "Race", Kind: payload.KindSessionLaptimes}
	drivers := Meta{Year: 2025, GP: aus, Session: "Race", Kind: payload.KindDrivers}
	for _, c := range []struct {
		m    Meta
		doc  string
		want string
	}{
		{alo, `{"time":[1.0],"lap":[7],"driver":["XXX"],"year":[1999],"gp":["g"]}`, `column "driver" row 0 holds "XXX", but the row's added "driver" is "ALO"`},
		{alo, `{"time":[1.0, 2.0],"lap":[7, 8],"year":[2025, 1999]}`, `column "year" row 1 holds 1999, but the row's added "year" is 2025`},
		{alo, `{"time":[1.0],"lap":[7],"gp":["g"]}`, `column "gp" row 0 holds "g", but the row's added "gp" is "Australian Grand Prix"`},
		{alo, `{"time":[1.0],"lap":[7],"session":"Qualifying"}`, `column "session" row 0 holds "Qualifying", but the row's added "session" is "Race"`},
		{alo, `{"time":[1.0, 2.0],"lap":[7, 8],"row":[1, 2]}`, `column "row" row 0 holds 1, but the row's added "row" is 0`},
		{alo, `{"time":[1.0],"lap":[7],"driver":[null]}`, `column "driver" row 0 holds null`},
		{tel, `{"tel": {"time":[0.0],"speed":[1],"distance":[0],"lap":[2]}}`, `column "lap" row 0 holds 2, but the row's added "lap" is 3`},
		{tel, `{"tel": {"time":[0.0],"speed":[1],"distance":[0],"driver":"VER"}}`, `column "driver" row 0 holds "VER", but the row's added "driver" is "ALO"`},
		{sl, `{"time":[1.0, 2.0],"lap":[1, 1],"drv":["VER", "HAM"],"driver":["VER", "VER"]}`, `column "driver" row 1 holds "VER", but the row's added "driver" is "HAM"`},
		{drivers, `{"drivers": [{"driver": "VER", "team": "R", "year": 2025}, {"driver": "HAM", "team": "F", "year": 1999}]}`, `drivers[1] member "year" holds 1999, but the row's added "year" is 2025`},
		{drivers, `{"drivers": [{"driver": "VER", "team": "R", "session": ["Race"]}]}`, `drivers[0] member "session" holds ["Race"]`},
		{alo, `{"time":[1.0],"lap":[7],"driver":["` + strings.Repeat("X", 1<<20) + `"]}`, `holds "XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX…, but`},
	} {
		rows, err := Explode([]byte(c.doc), c.m)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s %.80s: %d rows, %v; want an error with %s", c.m.Kind, c.doc, len(rows), err, c.want)
			continue
		}
		if len(err.Error()) > 400 {
			t.Errorf("%s %.80s: error of %d bytes", c.m.Kind, c.doc, len(err.Error()))
		}
	}

	// Holding the added value (as another spelling of it: 2025.0, an
	// escape), the member is written once, as added: the rows are those of
	// the document without it.
	for _, c := range []struct {
		m            Meta
		doc, without string
	}{
		{alo, `{"time":[1.0, 2.0],"lap":[7, 8],"driver":["ALO", "\u0041LO"],"year":[2025, 2025.0],"gp":"Australian Grand Prix","session":["Race", "Race"],"row":[0, 1.0]}`,
			`{"time":[1.0, 2.0],"lap":[7, 8]}`},
		{tel, `{"tel": {"lap":[3, 3.0],"time":[0.0, 0.1],"speed":[1, 2],"distance":[0, 1],"driver":"ALO"}}`,
			`{"tel": {"time":[0.0, 0.1],"speed":[1, 2],"distance":[0, 1]}}`},
		{sl, `{"time":[1.0, 2.0],"lap":[1, 1],"drv":["VER", null],"driver":["VER", null]}`,
			`{"time":[1.0, 2.0],"lap":[1, 1],"drv":["VER", null]}`},
		{drivers, `{"drivers": [{"driver": "VER", "year": 2025, "team": "R", "gp": "Australian Grand Prix"}]}`,
			`{"drivers": [{"driver": "VER", "team": "R"}]}`},
	} {
		got, err := Explode([]byte(c.doc), c.m)
		if err != nil {
			t.Errorf("%s %s: %v", c.m.Kind, c.doc, err)
			continue
		}
		want, err := Explode([]byte(c.without), c.m)
		if err != nil {
			t.Fatal(err)
		}
		if g, w := fmt.Sprintf("%s", got), fmt.Sprintf("%s", want); g != w {
			t.Errorf("%s %s:\n got %s\nwant %s", c.m.Kind, c.doc, g, w)
		}
	}

	// Not added, so no clash: weather rows get no driver, rcm rows no lap
	// (the request names neither); their columns of those names are kept.
	for _, c := range []struct {
		kind      payload.Kind
		doc, want string
	}{
		{payload.KindWeather, `{"time":[1.0],"driver":["XXX"]}`, `{"time":1.0,"driver":"XXX","year":2025,"gp":"A","session":"Q","row":0}`},
		{payload.KindRCM, `{"lap":[4.0],"message":["a"]}`, `{"lap":4.0,"message":"a","year":2025,"gp":"A","session":"Q","row":0}`},
	} {
		rows, err := Explode([]byte(c.doc), Meta{Year: 2025, GP: "A", Session: "Q", Kind: c.kind})
		if err != nil || len(rows) != 1 || string(rows[0]) != c.want {
			t.Errorf("%s %s: %s, %v; want %s", c.kind, c.doc, rows, err, c.want)
		}
	}
}
