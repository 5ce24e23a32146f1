package config

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/f1fetch/f1fetch/config/configtest"
)

func lookup(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestDefaultsAreValidAndMatchTheSeed(t *testing.T) {
	d := Defaults()
	if err := d.Validate(); err != nil {
		t.Fatalf("defaults invalid: %v", err)
	}
	if d.MaxConcurrent != 20 || d.MaxRetries != 3 || d.BackoffFactor != 2.0 ||
		d.JitterMax != time.Second || d.MaxDelay != time.Minute || d.Timeout != 30*time.Second ||
		d.BreakerFailures != 5 || d.BreakerTimeout != time.Minute || d.MaxBodyBytes != 64<<20 {
		t.Fatalf("defaults drifted from SPEC.md: %+v", d)
	}
	if !d.UseCache || !d.WriteCache || !d.ValidatePayload || !d.NormalizeMissing || d.TLSSkipVerify || d.AllowInsecureHTTP {
		t.Fatalf("unsafe or wrong boolean defaults: %+v", d)
	}
}

// TestFromEnvOverridesEveryVariable sets every variable of Vars at once and
// expects each in its own setting; a variable added to Vars without a value
// in configtest.EveryVariable fails it. A duration variable also takes bare
// seconds.
func TestFromEnvOverridesEveryVariable(t *testing.T) {
	for _, v := range Vars {
		if _, ok := configtest.EveryVariable[v.Name]; !ok {
			t.Errorf("%s has no value in configtest.EveryVariable", v.Name)
		}
	}
	s, err := FromEnv(lookup(configtest.EveryVariable))
	if err != nil {
		t.Fatal(err)
	}
	want := Defaults()
	want.BaseURLs = []string{"http://127.0.0.1:8080", "https://mirror.example/{year}/{ref}/{gp}/{session}/{path}"}
	want.Ref, want.MaxConcurrent, want.Adaptive, want.AdaptiveMin, want.MaxRetries = "a530f722", 7, true, 2, 0
	want.BackoffFactor, want.JitterMax, want.MaxDelay, want.Timeout = 1.5, 250*time.Millisecond, 5*time.Second, 1500*time.Millisecond
	want.BreakerFailures, want.BreakerTimeout, want.MaxBodyBytes = 9, 7*time.Second, 1234
	want.CacheTTL, want.NotFoundTTL, want.CacheMaxBytes, want.CacheDir = 2*time.Minute, 7*time.Second, 999, "/var/cache/f1"
	want.UseCache, want.WriteCache, want.ValidatePayload, want.NormalizeMissing, want.AllowInsecureHTTP = false, false, false, false, true
	want.UserAgent, want.TLSRootCAsFile, want.TLSSkipVerify, want.CacheResource = "lap-loader/2 (data-team@example.com)", "/etc/f1/ca.pem", true, "redis_cache"
	want.Component = ComponentSettings{OnNotFound: "error", Prefetch: 64, ProgressInterval: 0, RateLimit: "cdn_quota"}
	if !reflect.DeepEqual(s, want) {
		t.Fatalf("every variable set:\n got %+v\nwant %+v", s, want)
	}
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	if s, err := FromEnv(lookup(map[string]string{"F1FETCH_TIMEOUT": "1.5"})); err != nil || s.Timeout != 1500*time.Millisecond {
		t.Errorf("F1FETCH_TIMEOUT=1.5: %v, %v; want 1.5s", s.Timeout, err)
	}
}

func TestFromEnvNamesTheBadVariable(t *testing.T) {
	for name, value := range map[string]string{
		"F1FETCH_MAX_CONCURRENT":  "many",
		"F1FETCH_TIMEOUT":         "1e12", // seconds beyond a duration's range: not a wrapped-around negative
		"F1FETCH_BREAKER_TIMEOUT": "NaN",
	} {
		_, err := FromEnv(lookup(map[string]string{name: value}))
		if err == nil || !strings.Contains(err.Error(), name) || !strings.Contains(err.Error(), strconv.Quote(value)) {
			t.Errorf("%s=%s: want an error naming variable and value, got %v", name, value, err)
		}
	}
}

func TestValidateNamesFieldAndValue(t *testing.T) {
	cases := []struct {
		mutate func(*Settings)
		field  string
		value  string
	}{
		{func(s *Settings) { s.MaxConcurrent = -1 }, "max_concurrent_requests", "-1"},
		{func(s *Settings) { s.MaxRetries = -2 }, "max_retries", "-2"},
		{func(s *Settings) { s.Timeout = 0 }, "timeout", "0s"},
		{func(s *Settings) { s.BaseURLs = []string{"http://cdn.example.com"} }, "base_urls", "http://cdn.example.com"},
		{func(s *Settings) { s.BaseURLs = []string{"ftp://cdn.example.com"} }, "base_urls", "ftp://"},
		{func(s *Settings) { s.BaseURLs = nil }, "base_urls", "[]"},
		{func(s *Settings) { s.Ref = "../x" }, "ref", "../x"},
		{func(s *Settings) { s.BackoffFactor = math.NaN() }, "backoff_factor", "NaN"},
		{func(s *Settings) { s.Component.OnNotFound = "skip" }, "on_not_found", `"skip"`},
		{func(s *Settings) { s.CacheTTL = 250 * 365 * 24 * time.Hour }, "cache_ttl", "2190000h0m0s"},
		{func(s *Settings) { s.Component.Prefetch = -1 }, "prefetch", "-1"},
		{func(s *Settings) { s.Component.Prefetch = MaxPrefetch + 1 }, "prefetch", "100001"},
		{func(s *Settings) { s.Component.Prefetch = 4000000000 }, "prefetch", "4000000000"},
		{func(s *Settings) { s.Component.ProgressInterval = -time.Second }, "progress_interval", "-1s"},
		{func(s *Settings) { s.Component.ProgressInterval = time.Nanosecond }, "progress_interval", "1ns"},
		{func(s *Settings) { s.Component.ProgressInterval = 9 * time.Millisecond }, "progress_interval", "9ms"},
		{func(s *Settings) { s.BackoffFactor = math.Inf(1) }, "backoff_factor", "+Inf"},
		{func(s *Settings) { s.MaxBodyBytes = 0 }, "max_body_bytes", "0"},
		{func(s *Settings) { s.BreakerFailures = 0 }, "breaker_failures", "0"},
		{func(s *Settings) { s.UserAgent = "job/1\r\nX-Injected: 1" }, "user_agent", `"job/1\r\nX-Injected: 1"`},
		{func(s *Settings) { s.UserAgent = "" }, "user_agent", `""`},
		{func(s *Settings) { s.UserAgent = "jöb/1" }, "user_agent", `"jöb/1"`},
		{func(s *Settings) { s.UserAgent = strings.Repeat("a", 257) }, "user_agent", "aaaa"},
	}
	for _, c := range cases {
		s := Defaults()
		c.mutate(&s)
		err := s.Validate()
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != c.field || !strings.Contains(fe.Value, c.value) {
			t.Errorf("%s: got %v", c.field, err)
		}
	}
}

func TestLoopbackHTTPAllowedRemoteHTTPOnlyWhenAllowed(t *testing.T) {
	s := Defaults()
	s.BaseURLs = []string{"http://127.0.0.1:8080", "http://localhost:9", "http://[::1]:80/gh/TracingInsights"}
	if err := s.Validate(); err != nil {
		t.Fatalf("loopback http refused: %v", err)
	}
	s.BaseURLs = []string{"http://mirror.lan:8080"}
	if s.Validate() == nil {
		t.Fatal("remote http accepted without allow_insecure_http")
	}
	s.AllowInsecureHTTP = true
	if err := s.Validate(); err != nil {
		t.Fatalf("allow_insecure_http ignored: %v", err)
	}
}

// A refused base URL is named in the error without its password.
func TestRefusedBaseIsNamedWithoutItsPassword(t *testing.T) {
	s := Defaults()
	s.BaseURLs = []string{"http://user:s3cr3t-pw@mirror.example.com:8080"}
	err := s.Validate()
	if err == nil || strings.Contains(err.Error(), "s3cr3t") || !strings.Contains(err.Error(), "@mirror.example.com:8080") {
		t.Fatalf("error %v: want the base named, without its password", err)
	}
	// A template's {year}@{ref} is no userinfo: the host stays in the error.
	s.BaseURLs = []string{"http://mirror.corp.example/gh/TracingInsights/{year}@{ref}/{gp}/{session}/{path}"}
	if err := s.Validate(); err == nil || !strings.Contains(err.Error(), "mirror.corp.example") {
		t.Fatalf("error %v: want the template named with its host", err)
	}
	s.BaseURLs = []string{"http://u:pw@mirror.corp.example/{year}@{ref}/{gp}/{session}/{path}"}
	if err := s.Validate(); err == nil || strings.Contains(err.Error(), "pw@") || !strings.Contains(err.Error(), "@mirror.corp.example/{year}@{ref}") {
		t.Fatalf("error %v: want the template named with its host, without its password", err)
	}
}

func TestKeyDiffersWhenBehaviourDiffers(t *testing.T) {
	a, b := Defaults(), Defaults()
	if a.Key() != b.Key() {
		t.Fatal("equal settings, different keys")
	}
	b.MaxConcurrent = 21
	if a.Key() == b.Key() {
		t.Fatal("different settings, same key")
	}
	// Every field, changed alone, to a large value: a key that printed
	// integers as characters (%q) gave 64 MiB and 1 GiB of max_body_bytes
	// the same key, so two components silently shared one client.
	v := reflect.ValueOf(&a).Elem()
	for i := range v.NumField() {
		c := Defaults()
		f := reflect.ValueOf(&c).Elem().Field(i)
		switch f.Kind() {
		case reflect.Int, reflect.Int64:
			f.SetInt(f.Int() + 1<<30)
		case reflect.Float64:
			f.SetFloat(f.Float() + 0.5)
		case reflect.Bool:
			f.SetBool(!f.Bool())
		case reflect.String:
			f.SetString(f.String() + "x")
		case reflect.Slice:
			f.Set(reflect.Append(f, reflect.ValueOf("https://mirror.example")))
		case reflect.Struct: // Component: each component's own, never part of the key
			f.Set(reflect.ValueOf(ComponentSettings{OnNotFound: "error", Prefetch: 7, ProgressInterval: time.Minute, RateLimit: "quota"}))
			if c.Key() != a.Key() {
				t.Errorf("field %s changed the key: components differing only in it would not share a client", v.Type().Field(i).Name)
			}
			continue
		default:
			t.Fatalf("field %s: kind %s not covered by this test", v.Type().Field(i).Name, f.Kind())
		}
		if c.Key() == a.Key() {
			t.Errorf("field %s changed, key unchanged: two components would share one client", v.Type().Field(i).Name)
		}
	}
	big := Defaults()
	big.MaxBodyBytes = 1 << 30
	if big.Key() == a.Key() {
		t.Error("max_body_bytes 64 MiB and 1 GiB share a key")
	}
}

func TestAdaptiveSettings(t *testing.T) {
	d := Defaults()
	if d.Adaptive || d.AdaptiveMin != 1 {
		t.Fatalf("adaptive must be off by default with floor 1: %+v", d)
	}
	s, err := FromEnv(lookup(map[string]string{"F1FETCH_ADAPTIVE": "true", "F1FETCH_ADAPTIVE_MIN": "4"}))
	if err != nil || !s.Adaptive || s.AdaptiveMin != 4 {
		t.Fatalf("F1FETCH_ADAPTIVE / F1FETCH_ADAPTIVE_MIN not applied: %+v, %v", s, err)
	}
	if s.Key() == d.Key() {
		t.Fatal("adaptive settings must not share a client with fixed ones")
	}
	for _, bad := range []struct{ min, max int }{{0, 20}, {21, 20}, {-3, 20}} {
		s := Defaults()
		s.Adaptive, s.AdaptiveMin, s.MaxConcurrent = true, bad.min, bad.max
		var fe *FieldError
		if err := s.Validate(); !errors.As(err, &fe) || fe.Field != "adaptive_min" || !strings.Contains(fe.Reason, "max_concurrent_requests (20)") {
			t.Errorf("adaptive_min %d with max %d: got %v", bad.min, bad.max, err)
		}
	}
}

// The README's configuration table lists every variable FromEnv reads.
func TestREADMEListsEveryVariable(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range Vars {
		if !strings.Contains(string(readme), "`"+v.Name+"`") || !strings.Contains(string(readme), "`"+v.Field+"`") {
			t.Errorf("README.md does not document %s (field %s)", v.Name, v.Field)
		}
	}
}

// A library user's Settings need no component settings: fetch.New validates
// them, and a zero Component (on_not_found "", which drops) is valid.
func TestZeroComponentSettingsAreValid(t *testing.T) {
	s := Defaults()
	s.Component = ComponentSettings{}
	if err := s.Validate(); err != nil {
		t.Fatalf("zero component settings refused: %v", err)
	}
}

func TestValidRef(t *testing.T) {
	for _, ok := range []string{"main", "a530f7222a28e997b8bb3dba6de07f351e043bd7", "v1.2.3", "my_branch-2"} {
		if !ValidRef(ok) {
			t.Errorf("ValidRef(%q) refused", ok)
		}
	}
	for _, bad := range []string{"", ".", "..", "a..b", "a/b", "a b", "a%2F", "a?b", "a#b", `a\b`, "ü", "x\x00"} {
		if ValidRef(bad) {
			t.Errorf("ValidRef(%q) accepted", bad)
		}
		s := Defaults()
		s.Ref = bad
		var fe *FieldError
		if err := s.Validate(); !errors.As(err, &fe) || fe.Field != "ref" || fe.Value != strconv.Quote(bad) {
			t.Errorf("ref %q: Validate returned %v, want a ref field error naming the value", bad, err)
		}
	}
}

// A variable whose field is set elsewhere (isSet) is neither applied nor
// parsed: its malformed value is no error, as the field wins.
func TestApplyEnvSkipsVariablesOfSetFields(t *testing.T) {
	env := lookup(map[string]string{"F1FETCH_MAX_CONCURRENT": "abc", "F1FETCH_TLS_SKIP_VERIFY": "maybe", "F1FETCH_MAX_RETRIES": "7"})
	s := Defaults()
	set := func(field string) bool { return field == "max_concurrent_requests" || field == "tls.skip_cert_verify" }
	if err := ApplyEnv(&s, env, set); err != nil {
		t.Fatalf("variables of set fields were parsed: %v", err)
	}
	if s.MaxConcurrent != Defaults().MaxConcurrent || s.MaxRetries != 7 {
		t.Fatalf("want max_concurrent_requests untouched and max_retries from the environment: %+v", s)
	}
	s = Defaults()
	if err := ApplyEnv(&s, env, nil); err == nil || !strings.Contains(err.Error(), "F1FETCH_MAX_CONCURRENT") || !strings.Contains(err.Error(), `"abc"`) {
		t.Fatalf("unset field: want an error naming F1FETCH_MAX_CONCURRENT and \"abc\", got %v", err)
	}
}

// The largest prefetch that a default can take (twice the largest
// max_concurrent_requests) is within MaxPrefetch.
func TestMaxPrefetchAdmitsTheLargestDefault(t *testing.T) {
	s := Defaults()
	s.MaxConcurrent, s.Component.Prefetch = 10000, 2*10000
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	s.Component.Prefetch = MaxPrefetch
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
}
