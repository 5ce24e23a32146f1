package components

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/redpanda-data/benthos/v4/public/service"

	"github.com/f1fetch/f1fetch/plugin/mirror"
	"github.com/f1fetch/f1fetch/plugin/mirror/mirrortest"
)

// rowsOf runs one message through an f1_rows processor built directly.
func rowsOf(t *testing.T, skipErrored bool, msg *service.Message) service.MessageBatch {
	t.Helper()
	p := &rowsProcessor{skipErrored: skipErrored, rows: service.MockResources().Metrics().NewCounter("f1_rows")}
	out, err := p.ProcessBatch(context.Background(), service.MessageBatch{msg})
	if err != nil {
		t.Fatal(err)
	}
	var all service.MessageBatch
	for _, b := range out {
		all = append(all, b...)
	}
	return all
}

// documentMessage is a message as f1_fetch emits path's document body.
func documentMessage(path, body string) *service.Message {
	msg := service.NewMessage([]byte(body))
	msg.MetaSetMut(metaYear, 2025)
	msg.MetaSetMut(metaGP, gpAUS)
	msg.MetaSetMut(metaSession, quali)
	msg.MetaSetMut(metaPath, path)
	return msg
}

// A failed fetch keeps its tuple as content and is flagged. f1_rows with
// skip_errored: false finds no column document in it: the message is kept,
// still carrying the fetch's own error and kind, never acked away.
func TestRowsKeepAFailedFetchWhenNotSkippingErrors(t *testing.T) {
	m := mirrortest.Start(t, mirrortest.SharedConfig(t))
	m.SetFaults(mirror.Faults{Rules: []mirror.Rule{{PathPrefix: "/2025@main/" + gpAUS + "/" + quali + "/VER/laptimes.json", StatusRate: map[int]float64{500: 1}}}})
	msgs := newRun(t).batch([]string{
		fmt.Sprintf(`f1_fetch: { base_urls: [ %q ], max_retries: 0 }`, m.URL),
		`f1_rows: { skip_errored: false }`,
	}, []string{tupleJSON("VER/laptimes.json")})
	if len(msgs) != 1 || msgs[0].GetError() == nil {
		t.Fatalf("%d messages out of one failed fetch; want it kept, flagged", len(msgs))
	}
	kind, _ := msgs[0].MetaGet(metaErrorKind)
	body, _ := msgs[0].AsBytes()
	if kind != "network" || !strings.Contains(msgs[0].GetError().Error(), "500") || string(body) != tupleJSON("VER/laptimes.json") {
		t.Fatalf("f1_error_kind %q, error %v, body %s; want the fetch's network failure and its tuple kept", kind, msgs[0].GetError(), body)
	}
}

// A document whose object has no array at all is no column document: it is
// kept and flagged (invalid), not taken for an empty laptimes file.
func TestRowsFlagADocumentWithoutColumns(t *testing.T) {
	out := rowsOf(t, true, documentMessage("session_info.json", `{"meeting": "Australian Grand Prix", "start": "2025-03-15T05:00:00Z"}`))
	if len(out) != 1 || out[0].GetError() == nil {
		t.Fatalf("%d messages out of one document with no arrays; want it kept, flagged", len(out))
	}
	if kind, _ := out[0].MetaGet(metaErrorKind); kind != "invalid" || !strings.Contains(out[0].GetError().Error(), "no array") {
		t.Fatalf("f1_error_kind %q, error %v; want invalid, saying it has no array", kind, out[0].GetError())
	}
	// The empty laptimes file of the corpus still gives no row, as documented.
	if out := rowsOf(t, true, documentMessage("BEA/laptimes.json", `{"time": [], "lap": [], "compound": []}`)); len(out) != 0 {
		t.Fatalf("an empty laptimes file gave %d messages, want none", len(out))
	}
}

// With skip_errored: false, a flagged message is exploded when it can be;
// when it gives no row (an empty document) or cannot be exploded, it is
// kept with its earlier error and kind: an error never vanishes with it.
func TestRowsNeverDropAnErroredMessage(t *testing.T) {
	for _, c := range []struct{ name, path, body string }{
		{"empty laptimes", "BEA/laptimes.json", `{"time": [], "lap": [], "compound": []}`},
		{"not a column document", "VER/laptimes.json", `{"year": 2025, "path": "VER/laptimes.json"}`},
		{"no metadata", "", `{"time": [1.0], "lap": [1.0]}`},
	} {
		msg := documentMessage(c.path, c.body)
		if c.path == "" {
			msg.MetaDelete(metaPath)
		}
		msg.MetaSetMut(metaErrorKind, "network")
		msg.SetError(fmt.Errorf("an earlier failure"))
		out := rowsOf(t, false, msg)
		if len(out) != 1 || out[0].GetError() == nil {
			t.Errorf("%s: %d messages out of one flagged message; want it kept", c.name, len(out))
			continue
		}
		kind, _ := out[0].MetaGet(metaErrorKind)
		body, _ := out[0].AsBytes()
		if kind != "network" || out[0].GetError().Error() != "an earlier failure" || string(body) != c.body {
			t.Errorf("%s: f1_error_kind %q, error %v, body %s; want the message as it came", c.name, kind, out[0].GetError(), body)
		}
	}
	// A flagged column document is still exploded, each row keeping the flag.
	msg := documentMessage("VER/laptimes.json", `{"time": [80.1, 79.9], "lap": [1.0, 2.0]}`)
	msg.SetError(fmt.Errorf("an earlier failure"))
	out := rowsOf(t, false, msg)
	if len(out) != 2 || out[0].GetError() == nil || out[1].GetError() == nil {
		t.Fatalf("%d rows of a flagged two-lap document; want 2, flagged", len(out))
	}
}

// A document column named as a field f1_rows adds (driver, year, gp,
// session, row; lap for telemetry) that holds another value was replaced
// by the added one without a word (found by a review): the message is now
// kept and flagged invalid, naming the column. A column that holds the
// added value is written once.
func TestRowsFlagAColumnThatDiffersFromAnAddedField(t *testing.T) {
	doc := `{"time":[1.0],"lap":[7],"driver":["XXX"],"year":[1999],"gp":["g"]}`
	out := rowsOf(t, true, documentMessage("ALO/laptimes.json", doc))
	if len(out) != 1 || out[0].GetError() == nil {
		t.Fatalf("%d messages out of a document whose driver column is not the path's; want it kept, flagged", len(out))
	}
	kind, _ := out[0].MetaGet(metaErrorKind)
	body, _ := out[0].AsBytes()
	if msg := out[0].GetError().Error(); kind != "invalid" || string(body) != doc ||
		!strings.HasPrefix(msg, "f1_rows: ") || !strings.Contains(msg, `column "driver" row 0 holds "XXX", but the row's added "driver" is "ALO"`) {
		t.Fatalf("f1_error_kind %q, error %v, body %s; want invalid, naming the column, the document kept", kind, out[0].GetError(), body)
	}

	out = rowsOf(t, true, documentMessage("ALO/laptimes.json", `{"time":[1.0],"lap":[7],"driver":["ALO"],"year":[2025.0],"session":"`+quali+`"}`))
	if len(out) != 1 || out[0].GetError() != nil {
		t.Fatalf("%d messages, %v; want one row", len(out), out[0].GetError())
	}
	want := `{"time":1.0,"year":2025,"gp":"` + gpAUS + `","session":"` + quali + `","driver":"ALO","lap":7,"row":0}`
	if b, _ := out[0].AsBytes(); string(b) != want {
		t.Fatalf("row %s, want %s", b, want)
	}
}
