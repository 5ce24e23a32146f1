package components

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/redpanda-data/benthos/v4/public/service"

	"github.com/f1fetch/f1fetch/plugin/mirror"
	"github.com/f1fetch/f1fetch/plugin/mirror/mirrortest"
)

// f1_expand flags a request it cannot plan (drivers.json answers 500: a
// network failure, worth retrying). The f1_fetch after it passes the
// flagged message through: its error and kind are the cause, not a
// bad_request made from reading a session request as a tuple.
func TestFetchPassesAnEarlierFailureThrough(t *testing.T) {
	m := mirrortest.Start(t, mirrortest.SharedConfig(t))
	m.SetFaults(mirror.Faults{Rules: []mirror.Rule{{PathPrefix: "/2025@main/" + gpAUS + "/" + quali + "/drivers.json", StatusRate: map[int]float64{500: 1}}}})
	request := fmt.Sprintf(`{"year": 2025, "gp": %q, "session": %q, "laps": "fastest"}`, gpAUS, quali)
	r := newRun(t)
	msgs := r.batch([]string{
		fmt.Sprintf(`f1_expand: { base_urls: [ %q ], max_retries: 0 }`, m.URL),
		fmt.Sprintf(`f1_fetch: { base_urls: [ %q ], max_retries: 0 }`, m.URL),
	}, []string{request})
	if len(msgs) != 1 || msgs[0].GetError() == nil {
		t.Fatalf("%d messages", len(msgs))
	}
	kind, _ := msgs[0].MetaGet(metaErrorKind)
	body, _ := msgs[0].AsBytes()
	if kind != "network" || !strings.Contains(msgs[0].GetError().Error(), "drivers.json") || string(body) != request {
		t.Fatalf("f1_error_kind %q, error %v, body %s; want expand's network failure and its request kept", kind, msgs[0].GetError(), body)
	}
	if n := counter(r.metrics(), "f1_requests", "outcome", "bad_request"); n > 0 {
		t.Fatalf("f1_requests{outcome=bad_request} = %d: the passed message was taken for a tuple", n)
	}
}

// directFetch is an f1_fetch processor built outside a stream.
func directFetch(t *testing.T, yaml string) *fetchProcessor {
	t.Helper()
	conf, err := fetchProcessorSpec().ParseYAML(yaml, nil)
	if err != nil {
		t.Fatal(err)
	}
	p, err := newFetchProcessor(conf, service.MockResources())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close(context.Background()) })
	return p
}

// A flagged message that is not f1_fetch's own failure goes on as it came,
// costing no request: a tuple an earlier step refused (no kind, or a kind
// of its own such as too_large, a bad_request), a document, a failure
// whose content is not a tuple. An unflagged tuple beside them is fetched,
// in its place.
func TestFetchPassesAFlaggedMessageItDidNotFail(t *testing.T) {
	m := mirrortest.Start(t, mirrortest.SharedConfig(t))
	p := directFetch(t, fmt.Sprintf(`{ base_urls: [ %q ], max_retries: 0 }`, m.URL))
	flagged := func(body, kind string) *service.Message {
		msg := service.NewMessage([]byte(body))
		if kind != "" {
			msg.MetaSetMut(metaErrorKind, kind)
		}
		msg.SetError(errors.New("an earlier step's reason"))
		return msg
	}
	batch := service.MessageBatch{
		flagged(tupleJSON("VER/laptimes.json"), ""),
		flagged(tupleJSON("VER/laptimes.json"), "too_large"),
		flagged(tupleJSON("VER/laptimes.json"), "bad_request"),
		flagged(`{"time": [80.1], "lap": [1.0]}`, "invalid"),
		flagged(`not a tuple`, "network"),
		service.NewMessage([]byte(tupleJSON("drivers.json"))),
	}
	want := make([]string, len(batch))
	for i, msg := range batch {
		b, _ := msg.AsBytes()
		want[i] = string(b)
	}
	out, err := p.ProcessBatch(context.Background(), batch)
	if err != nil || len(out) != 1 || len(out[0]) != len(batch) {
		t.Fatalf("%v, %d batches; want one of %d messages", err, len(out), len(batch))
	}
	for i, msg := range out[0][:len(batch)-1] {
		body, _ := msg.AsBytes()
		kind, _ := msg.MetaGet(metaErrorKind)
		wantKind, _ := batch[i].MetaGet(metaErrorKind)
		if msg.GetError() == nil || msg.GetError().Error() != "an earlier step's reason" || kind != wantKind || string(body) != want[i] {
			t.Errorf("message %d: error %v, f1_error_kind %q, body %s; want it as it came", i, msg.GetError(), kind, body)
		}
	}
	if last := out[0][len(batch)-1]; last.GetError() != nil {
		t.Errorf("the unflagged tuple: %v", last.GetError())
	}
	if n := m.Counts().Total; n != 1 {
		t.Errorf("the mirror answered %d requests; want 1, the unflagged tuple's", n)
	}
}

// A fetch's own failure (its tuple kept, f1_error_kind network) is fetched
// again by a later f1_fetch: inside a catch (whose processors still see the
// flag: Benthos clears it when the message leaves the block), in a switch
// on the kind, or plainly after it. The new result replaces the flag.
func TestFetchAgainAfterAFailure(t *testing.T) {
	for name, again := range map[string]string{
		"catch":  "catch:\n  - %s",
		"switch": "switch:\n  - check: '@f1_error_kind == \"network\"'\n    processors:\n      - %s",
		"plain":  "%s",
	} {
		t.Run(name, func(t *testing.T) {
			m := mirrortest.Start(t, mirrortest.SharedConfig(t))
			m.SetFaults(mirror.Faults{Rules: []mirror.Rule{{FailFirstN: 1, FailStatus: 500}}})
			fetchYAML := fmt.Sprintf(`f1_fetch: { base_urls: [ %q ], max_retries: 0 }`, m.URL)
			msgs := newRun(t).batch([]string{fetchYAML, fmt.Sprintf(again, fetchYAML)}, []string{tupleJSON("VER/laptimes.json")})
			if len(msgs) != 1 || msgs[0].GetError() != nil {
				t.Fatalf("%d messages, error %v; want one, fetched", len(msgs), firstErr(msgs))
			}
			kind, stale := msgs[0].MetaGet(metaErrorKind)
			status, _ := msgs[0].MetaGet(metaStatus)
			if stale || status != "200" || m.Counts().Total != 2 {
				t.Fatalf("fetched again: f1_error_kind %q (present %v), f1_status %q, %d requests; want no kind, 200, 2", kind, stale, status, m.Counts().Total)
			}
		})
	}
}
