package payload

import (
	"bytes"
	stdjson "encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/f1fetch/f1fetch/plugin/mirror/mirrortest"
)

// corpusFile is one real TracingInsights file of ../shared/testdata.
type corpusFile struct {
	rel  string // path under testdata, e.g. "test/Australian Grand Prix/Race/ALO/33_tel.json"
	path string // the path inside its repository, what a tuple names
	body []byte
}

var (
	corpusOnce  sync.Once
	corpusFiles []corpusFile
	corpusErr   error
)

func corpus(tb testing.TB) []corpusFile {
	tb.Helper()
	root := mirrortest.SharedTestdata(tb)
	corpusOnce.Do(func() {
		corpusErr = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(p, ".json") {
				return err
			}
			body, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(root, p)
			rel = filepath.ToSlash(rel)
			_, inRepo, _ := strings.Cut(rel, "/")
			corpusFiles = append(corpusFiles, corpusFile{rel: rel, path: inRepo, body: body})
			return nil
		})
	})
	if corpusErr != nil {
		tb.Fatal(corpusErr)
	}
	if len(corpusFiles) == 0 {
		tb.Fatalf("no JSON files under %s", root)
	}
	return corpusFiles
}

func corpusBody(tb testing.TB, rel string) []byte {
	tb.Helper()
	for _, f := range corpus(tb) {
		if f.rel == rel {
			return f.body
		}
	}
	tb.Fatalf("%s not in the corpus", rel)
	return nil
}

// expectedInvalid lists corpus files that must fail validation, with the
// exact reason. Every real file is valid, so it is empty; it stays so that a
// file that starts failing is named here on purpose, never silently.
var expectedInvalid = map[string]string{}

func TestCorpusDecodes(t *testing.T) {
	files := corpus(t)
	if len(files) != 414 {
		t.Errorf("corpus has %d JSON files, MANIFEST says 414", len(files))
	}
	kinds := map[Kind]int{}
	for _, f := range files {
		kinds[KindOf(f.path)]++
		for _, missing := range []bool{true, false} {
			if !missing && !bytes.Contains(f.body, []byte(`"`+"None"+`"`)) && !bytes.Contains(f.body, []byte(`"nan"`)) {
				continue // the same document as with missing on
			}
			doc, err := Decode(f.path, f.body, Options{Validate: true, NormalizeMissing: missing})
			if want, ok := expectedInvalid[f.rel]; ok {
				if err == nil || err.(*InvalidError).Reason != want {
					t.Errorf("%s: got %v, want reason %q", f.rel, err, want)
				}
				continue
			}
			if err != nil {
				t.Errorf("%s (missing=%v): %v", f.rel, missing, err)
				continue
			}
			if !stdjson.Valid(doc) {
				t.Errorf("%s: output is not valid JSON", f.rel)
			}
		}
	}
	want := map[Kind]int{KindTelemetry: 333, KindLaptimes: 67, KindDrivers: 6, KindCorners: 6, KindWeather: 1, KindRCM: 1}
	for k, n := range want {
		if kinds[k] != n {
			t.Errorf("%d %s files, want %d (all: %v)", kinds[k], k, n, kinds)
		}
	}
}

// MANIFEST odd case 1: exactly 21 files carry bare NaN tokens; they parse
// only after normalisation.
func TestCorpusNaNFiles(t *testing.T) {
	var nan []string
	for _, f := range corpus(t) {
		if stdjson.Valid(f.body) {
			if out := Normalize(f.body, false); &out[0] != &f.body[0] {
				t.Errorf("%s: valid JSON without NaN was copied by Normalize", f.rel)
			}
			continue
		}
		nan = append(nan, f.rel)
		if !bytes.Contains(f.body, []byte("NaN")) {
			t.Errorf("%s: invalid for a reason other than NaN", f.rel)
		}
		if err := parse(f.body); err == nil {
			t.Errorf("%s: parses before normalisation", f.rel)
		}
		if out := Normalize(f.body, false); !stdjson.Valid(out) {
			t.Errorf("%s: still invalid after Normalize", f.rel)
		}
	}
	sort.Strings(nan)
	if len(nan) != 21 {
		t.Fatalf("%d files with NaN, MANIFEST says 21: %v", len(nan), nan)
	}
	for _, rel := range nan {
		if !strings.HasPrefix(rel, "test/Australian Grand Prix/Race/") {
			t.Errorf("unexpected NaN file %s", rel)
		}
	}
	small := corpusBody(t, "test/Australian Grand Prix/Race/DOO/laptimes.json")
	want := `{"time": [null], "lap": [1.0], "compound": ["INTERMEDIATE"]}`
	if got := string(Normalize(small, true)); got != want {
		t.Errorf("DOO laptimes normalised to %s", got)
	}
}

func TestCorpusNoneStrings(t *testing.T) {
	body := corpusBody(t, "2025@a530f722/Australian Grand Prix/Qualifying/VER/laptimes.json")
	var on, off struct{ Time []any }
	docOn, err := Decode("VER/laptimes.json", body, Options{Validate: true, NormalizeMissing: true})
	if err != nil {
		t.Fatal(err)
	}
	docOff, err := Decode("VER/laptimes.json", body, Options{Validate: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := stdjson.Unmarshal(docOn, &on); err != nil {
		t.Fatal(err)
	}
	if err := stdjson.Unmarshal(docOff, &off); err != nil {
		t.Fatal(err)
	}
	nulls := 0
	for i := range on.Time {
		if on.Time[i] == nil {
			nulls++
			if off.Time[i] != "None" {
				t.Errorf("time[%d] without normalize_missing is %v, want \"None\"", i, off.Time[i])
			}
		}
	}
	if nulls == 0 || bytes.Contains(docOn, []byte(`"None"`)) || !bytes.Contains(docOff, []byte(`"None"`)) {
		t.Errorf("nulls=%d; None in normalised doc: %v", nulls, bytes.Contains(docOn, []byte(`"None"`)))
	}
}

// Decode runs from many goroutines at once over shared input (-race).
func TestDecodeConcurrent(t *testing.T) {
	files := corpus(t)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := g; i < len(files); i += 8 {
				if _, err := Decode(files[i].path, files[i].body, Options{Validate: true, NormalizeMissing: true}); err != nil {
					t.Error(err)
				}
				if KindOf(files[i].path).columnar() {
					if _, err := ParseColumns(Normalize(files[i].body, true)); err != nil {
						t.Error(files[i].rel, err)
					}
				}
			}
		})
	}
	wg.Wait()
}
