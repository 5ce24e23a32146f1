package mirror

import (
	"fmt"
	"net/http"
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
