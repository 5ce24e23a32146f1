// Package configtest holds test data about config for the tests of config
// and of the components, which must agree on it.
package configtest

// EveryVariable holds a value, not the default, for each F1FETCH_*
// variable, written so that the variable and its component field (the
// same text in YAML; base_urls as a list) both take it.
var EveryVariable = map[string]string{
	"F1FETCH_BASE_URLS":           "http://127.0.0.1:8080, https://mirror.example/{year}/{ref}/{gp}/{session}/{path}",
	"F1FETCH_REF":                 "a530f722",
	"F1FETCH_MAX_CONCURRENT":      "7",
	"F1FETCH_ADAPTIVE":            "true",
	"F1FETCH_ADAPTIVE_MIN":        "2",
	"F1FETCH_MAX_RETRIES":         "0",
	"F1FETCH_BACKOFF_FACTOR":      "1.5",
	"F1FETCH_JITTER_MAX":          "250ms",
	"F1FETCH_MAX_DELAY":           "5s",
	"F1FETCH_TIMEOUT":             "1500ms",
	"F1FETCH_BREAKER_FAILURES":    "9",
	"F1FETCH_BREAKER_TIMEOUT":     "7s",
	"F1FETCH_MAX_BODY_BYTES":      "1234",
	"F1FETCH_CACHE_TTL":           "2m",
	"F1FETCH_NOT_FOUND_TTL":       "7s",
	"F1FETCH_CACHE_MAX_BYTES":     "999",
	"F1FETCH_CACHE_DIR":           "/var/cache/f1",
	"F1FETCH_USE_CACHE":           "false",
	"F1FETCH_WRITE_CACHE":         "false",
	"F1FETCH_VALIDATE":            "false",
	"F1FETCH_NORMALIZE_MISSING":   "false",
	"F1FETCH_ALLOW_INSECURE_HTTP": "true",
	"F1FETCH_USER_AGENT":          "lap-loader/2 (data-team@example.com)",
	"F1FETCH_TLS_CA_FILE":         "/etc/f1/ca.pem",
	"F1FETCH_TLS_SKIP_VERIFY":     "true",
	"F1FETCH_CACHE_RESOURCE":      "redis_cache",
	"F1FETCH_RATE_LIMIT":          "cdn_quota",
	"F1FETCH_ON_NOT_FOUND":        "error",
	"F1FETCH_PREFETCH":            "64",
	"F1FETCH_PROGRESS_INTERVAL":   "0s",
}
