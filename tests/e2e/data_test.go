package e2e

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/f1fetch/f1fetch/plugin/mirror"
	"github.com/f1fetch/f1fetch/plugin/mirror/mirrortest"
)

const gpAUS = "Australian Grand Prix"

// bundledRace is the session folder of data/mirror, served as 2025.
func bundledRace(t *testing.T) string {
	return filepath.Join(mirrortest.BundledData(t), "2025", gpAUS, "Race")
}

// sharedQualifying is the complete session of the shared corpus, served as
// 2025 by mirrortest.SharedConfig.
func sharedQualifying(t *testing.T) string {
	return filepath.Join(mirrortest.SharedTestdata(t), "test", gpAUS, "Qualifying")
}

func startBundledMirror(t *testing.T) *mirrortest.Mirror {
	return mirrortest.Start(t, mirror.Config{Root: mirrortest.BundledData(t)})
}

// readSource parses a real file as Python does: bare NaN tokens are null.
// It is the test's own reading, independent of plugin/payload.
func readSource(t *testing.T, path string) any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, tok := range []string{"-Infinity", "Infinity", "NaN"} {
		b = bytes.ReplaceAll(b, []byte(tok), []byte("null"))
	}
	return parseJSON(t, path, b)
}

func parseJSON(t *testing.T, what string, b []byte) any {
	t.Helper()
	var v any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("%s is not JSON: %v\n%.300s", what, err, b)
	}
	return normalizeMissing(v, false)
}

// normalizeMissing turns what the spec calls missing inside arrays ("None",
// "nan", "NaN", "") into nil and numbers into float64, so two documents
// compare by meaning.
func normalizeMissing(v any, inArray bool) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = normalizeMissing(e, false)
		}
	case []any:
		for i, e := range x {
			x[i] = normalizeMissing(e, true)
		}
	case string:
		if inArray && (x == "None" || x == "nan" || x == "NaN" || x == "") {
			return nil
		}
	case json.Number:
		f, _ := x.Float64()
		return f
	}
	return v
}

// sameDocument fails unless got (an emitted document, strict JSON) means
// the same as the real file at path.
func sameDocument(t *testing.T, got []byte, path string) {
	t.Helper()
	if !reflect.DeepEqual(parseJSON(t, "emitted document of "+path, got), readSource(t, path)) {
		t.Errorf("emitted document differs from %s", path)
	}
}

// filesUnder lists the files below dir, relative to it, sorted.
func filesUnder(t *testing.T, dir string) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		files = append(files, filepath.ToSlash(rel))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(files)
	return files
}

// column is one array of a column document (telemetry: inside "tel").
func column(t *testing.T, path, name string) []any {
	t.Helper()
	doc, _ := readSource(t, path).(map[string]any)
	if tel, ok := doc["tel"].(map[string]any); ok {
		doc = tel
	}
	col, ok := doc[name].([]any)
	if !ok {
		t.Fatalf("%s: no column %q", path, name)
	}
	return col
}

// sessionRows counts, in the real files of a session folder, the rows each
// table of session_to_sqlite.yaml must get: laps = the laptimes arrays,
// telemetry = the samples of every {lap}_tel.json.
func sessionRows(t *testing.T, dir string) map[string]int {
	t.Helper()
	want := map[string]int{"drivers": 0, "laps": 0, "telemetry": 0, "weather": 0, "race_control": 0, "corners": 0}
	for _, f := range filesUnder(t, dir) {
		path := filepath.Join(dir, f)
		switch base := filepath.Base(f); {
		case base == "drivers.json":
			doc := readSource(t, path).(map[string]any)
			want["drivers"] = len(doc["drivers"].([]any))
		case base == "laptimes.json":
			want["laps"] += len(column(t, path, "lap"))
		case strings.HasSuffix(base, "_tel.json"):
			want["telemetry"] += len(column(t, path, "time"))
		case base == "corners.json":
			want["corners"] = len(column(t, path, "CornerNumber"))
		case base == "weather.json":
			want["weather"] = len(column(t, path, "wT"))
		case base == "rcm.json":
			want["race_control"] = len(column(t, path, "time"))
		}
	}
	return want
}

// fastestLap is the lap with the lowest time of a laptimes file, 0 when no
// lap is timed.
func fastestLap(t *testing.T, path string) (lap int, seconds float64) {
	t.Helper()
	laps, times := column(t, path, "lap"), column(t, path, "time")
	seconds = math.Inf(1)
	for i, v := range times {
		if s, ok := v.(float64); ok && s < seconds {
			seconds, lap = s, int(laps[i].(float64))
		}
	}
	return lap, seconds
}

// driverCodes are the drivers of a drivers.json, in file order.
func driverCodes(t *testing.T, path string) []string {
	t.Helper()
	var codes []string
	for _, d := range readSource(t, path).(map[string]any)["drivers"].([]any) {
		codes = append(codes, d.(map[string]any)["driver"].(string))
	}
	return codes
}

// lines splits output into its non-empty lines.
func lines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.TrimSpace(l) != "" {
			out = append(out, l)
		}
	}
	return out
}

// errorLines are the JSON error lines a pipeline wrote (logs are logfmt).
type errorLine struct {
	Error     string `json:"error"`
	ErrorKind string `json:"error_kind"`
	Path      string `json:"path"`
	Content   string `json:"content"`
}

func errorLines(t *testing.T, s string) []errorLine {
	t.Helper()
	var out []errorLine
	for _, l := range lines(s) {
		if !strings.HasPrefix(l, "{") {
			continue
		}
		var e errorLine
		if err := json.Unmarshal([]byte(l), &e); err != nil || e.Error == "" {
			t.Fatalf("stderr line is not an error line: %v\n%s", err, l)
		}
		out = append(out, e)
	}
	return out
}

// readErrorsFile reads the F1_ERRORS_FILE of a run; none means no error.
func readErrorsFile(t *testing.T, path string) []errorLine {
	t.Helper()
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return errorLines(t, string(b))
}
