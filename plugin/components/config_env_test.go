package components

import (
	"strings"
	"testing"
)

// A field set in the config wins over its F1FETCH_* variable whatever the
// variable holds: a malformed one is not even parsed (README: the variable
// is "used when the field is not set"), as an out-of-range one is ignored.
// Unset, the field takes the variable, and a malformed one is an error
// naming the variable and the value.
func TestSetFieldIgnoresItsMalformedVariable(t *testing.T) {
	for _, v := range []string{"abc", "2.5", "100000"} {
		t.Setenv("F1FETCH_MAX_CONCURRENT", v)
		conf, err := fetchProcessorSpec().ParseYAML(`max_concurrent_requests: 5`, nil)
		if err != nil {
			t.Fatal(err)
		}
		s, err := settingsFrom(conf)
		if err != nil || s.MaxConcurrent != 5 {
			t.Errorf("F1FETCH_MAX_CONCURRENT=%s, field 5: got %d, %v; want 5 and no error", v, s.MaxConcurrent, err)
		}
	}
	t.Setenv("F1FETCH_MAX_CONCURRENT", "abc")
	conf, err := fetchProcessorSpec().ParseYAML(`max_retries: 1`, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := settingsFrom(conf); err == nil || !strings.Contains(err.Error(), "F1FETCH_MAX_CONCURRENT") || !strings.Contains(err.Error(), `"abc"`) {
		t.Fatalf("F1FETCH_MAX_CONCURRENT=abc, field unset: want an error naming the variable and the value, got %v", err)
	}
}
