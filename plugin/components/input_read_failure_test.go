package components

import (
	"fmt"
	"testing"

	"github.com/f1fetch/f1fetch/plugin/mirror"
	"github.com/f1fetch/f1fetch/plugin/mirror/mirrortest"
)

// A document the plan only reads (drivers.json left out of files) that
// fails is emitted flagged in its place: its one request counts once in
// f1_requests, where the read was made, not again when the flagged
// message is emitted.
func TestInputFailedReadIsCountedOnce(t *testing.T) {
	m := mirrortest.Start(t, mirrortest.SharedConfig(t))
	m.SetFaults(mirror.Faults{Rules: []mirror.Rule{{PathPrefix: "/2025@main/" + gpAUS + "/" + quali + "/drivers.json", StatusRate: map[int]float64{500: 1}}}})
	r, metrics := tallyRun(t)
	got := r.input(fmt.Sprintf(`
f1_fetch:
  base_urls: [ %q ]
  max_retries: 0
  sessions:
    - { year: 2025, gp: %q, session: %q, files: [ corners.json ], laps: fastest }
`, m.URL, gpAUS, quali))
	if len(got) != 2 || got[1].GetError() == nil {
		t.Fatalf("%d messages; want corners.json and the failed drivers.json, flagged", len(got))
	}
	c := m.Counts()
	tl := metrics()
	if ok, network := tl.count("f1_requests", "outcome", "ok"), tl.count("f1_requests", "outcome", "network"); ok != 1 || network != 1 || c.Total != 2 {
		t.Fatalf("f1_requests ok %d, network %d for the mirror's %v; want one each", ok, network, c.ByStatus)
	}
	if n := tl.timings("f1_request_latency_ns"); n != 2 {
		t.Fatalf("f1_request_latency_ns has %d samples for 2 requests", n)
	}
}
