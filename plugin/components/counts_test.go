package components

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/f1fetch/f1fetch/plugin/mirror/mirrortest"
)

// The input drops a 404 by default, as the processor does, and counts it in
// f1_not_found_dropped.
func TestFetchInputDropsNotFoundByDefaultAndCountsIt(t *testing.T) {
	m := mirrortest.Start(t, mirrortest.SharedConfig(t))
	r := newRun(t)
	r.input(fmt.Sprintf(`
f1_fetch:
  base_urls: [ %q ]
  requests:
    - { year: 2025, gp: %q, session: %q, path: ZZZ/laptimes.json }
    - { year: 2025, gp: %q, session: %q, path: NOR/laptimes.json }
`, m.URL, gpAUS, quali, gpAUS, quali))
	if p := fmt.Sprint(r.got.paths(t)); p != "[NOR/laptimes.json]" {
		t.Fatalf("emitted %s, want [NOR/laptimes.json] (the 404 dropped)", p)
	}
	metrics := r.metrics()
	if n := counter(metrics, "f1_not_found_dropped", "path", "root.input"); n != 1 {
		t.Fatalf("f1_not_found_dropped = %d, want 1:\n%s", n, metrics)
	}
}

// f1_rows numbers the rows of a document from 0 in f1_row and counts them
// in f1_rows.
func TestRowsNumberedAndCounted(t *testing.T) {
	m := mirrortest.Start(t, mirrortest.SharedConfig(t))
	const path = "VER/laptimes.json"
	var doc struct {
		Lap []any `json:"lap"`
	}
	b, err := os.ReadFile(filepath.Join(mirrortest.SharedTestdata(t), "test", gpAUS, quali, filepath.FromSlash(path)))
	if err == nil {
		err = json.Unmarshal(b, &doc)
	}
	if err != nil || len(doc.Lap) < 2 {
		t.Fatalf("setup: %s in the corpus: %d laps, %v; want several", path, len(doc.Lap), err)
	}
	n := len(doc.Lap)
	r := newRun(t)
	msgs := r.batch([]string{fmt.Sprintf(`f1_fetch: { base_urls: [ %q ] }`, m.URL), `f1_rows: {}`}, []string{tupleJSON(path)})
	if len(msgs) != n {
		t.Fatalf("%d rows, want %d (one per lap of %s)", len(msgs), n, path)
	}
	for k, msg := range msgs {
		if err := msg.GetError(); err != nil {
			t.Fatalf("row %d: %v", k, err)
		}
		if row, ok := msg.MetaGet(metaRow); !ok || row != strconv.Itoa(k) {
			t.Errorf("message %d: %s = %q (present %v), want %d", k, metaRow, row, ok, k)
		}
	}
	metrics := r.metrics()
	if got := counter(metrics, "f1_rows", "path", "root.pipeline.processors.1"); got != n {
		t.Fatalf("f1_rows = %d, want %d:\n%s", got, n, metrics)
	}
}
