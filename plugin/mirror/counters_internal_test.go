package mirror

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// A long-running mirror sent endless distinct URLs keeps at most MaxPaths
// entries; the rest is counted under OtherPaths, and known paths go on.
func TestCountersBoundThePathsTheyTellApart(t *testing.T) {
	k := newCounters()
	for i := range MaxPaths + 5 {
		k.record(fmt.Sprintf("/junk/%d", i), http.StatusNotFound, nil)
	}
	k.record("/junk/0", http.StatusNotFound, nil)
	c := k.snapshot()
	if len(c.ByPath) != MaxPaths+1 || c.ByPath[OtherPaths][http.StatusNotFound] != 5 {
		t.Fatalf("%d paths, %v under %q; want %d paths and 5 others", len(c.ByPath), c.ByPath[OtherPaths], OtherPaths, MaxPaths+1)
	}
	if c.Path("/junk/0") != 2 || c.Total != MaxPaths+6 {
		t.Fatalf("a known path counted %d times (want 2), total %d (want %d)", c.Path("/junk/0"), c.Total, MaxPaths+6)
	}
}

// A path is a key of at most MaxKeyBytes (and a mark): a request line may
// be a MiB, and 10,000 of them in the counters were gigabytes. The
// fail_first_n state is bounded as the counters are.
func TestPathKeysAreBounded(t *testing.T) {
	s, err := New(Config{Root: t.TempDir(), Faults: Faults{Rules: []Rule{{FailFirstN: 1}}}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	long := strings.Repeat("a", 256<<10)
	for i := range 20 {
		s.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", fmt.Sprintf("/%d/%s", i, long), nil))
	}
	for p := range s.Counts().ByPath {
		if len(p) > MaxKeyBytes+len(cutMark) {
			t.Fatalf("a counted path of %d bytes, want at most %d", len(p), MaxKeyBytes+len(cutMark))
		}
	}
	for i := range MaxPaths + 10 {
		s.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", fmt.Sprintf("/junk/%d", i), nil))
	}
	rule := s.faults.match("/junk/0")
	rule.mu.Lock()
	seen, long0 := len(rule.seen), 0
	for p := range rule.seen {
		long0 = max(long0, len(p))
	}
	rule.mu.Unlock()
	if seen > MaxPaths+1 || long0 > MaxKeyBytes+len(cutMark) {
		t.Fatalf("fail_first_n holds %d paths, the longest %d bytes; want at most %d, of at most %d", seen, long0, MaxPaths+1, MaxKeyBytes+len(cutMark))
	}
}
