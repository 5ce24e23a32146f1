// Package tuple is the request tuple (year, gp, session, path) that names one
// TracingInsights file: parsing it from a message, refusing bad input before any
// network traffic, and building the URL of the file for each configured source.
package tuple

import (
	"bytes"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/segmentio/encoding/json"

	"github.com/f1fetch/f1fetch/plugin/payload"
)

// Tuple names one file of one session.
type Tuple struct {
	Year    int    `json:"year"`
	GP      string `json:"gp"`
	Session string `json:"session"`
	Path    string `json:"path"`
}

// Years outside this range are refused: the data starts in 2018, and a far
// future year is always a typo or an attack.
const (
	minYear = 2018
	maxYear = 2100
)

// maxPartLen bounds each of gp, session and path: real ones are under 50
// bytes, and a megabyte-long name must be refused, not sent.
const maxPartLen = 256

// maxValueLen bounds Error.Value so that a 1 MB string never floods a log.
const maxValueLen = 80

// Error is a refused tuple. Field is "year", "gp", "session", "path" or
// "tuple" (the whole message); Value is the offending value, truncated.
type Error struct{ Field, Value, Reason string }

func (e *Error) Error() string {
	return fmt.Sprintf("invalid tuple: field %q value %q: %s", e.Field, e.Value, e.Reason)
}

func refuse(field, value, reason string, args ...any) *Error {
	return &Error{Field: field, Value: Clip(value), Reason: fmt.Sprintf(reason, args...)}
}

// Clip cuts a value shown in an error to maxValueLen bytes on a rune
// boundary.
func Clip(s string) string {
	if len(s) <= maxValueLen {
		return s
	}
	cut := maxValueLen
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// New builds a tuple and validates it.
func New(year int, gp, session, path string) (Tuple, error) {
	t := Tuple{Year: year, GP: gp, Session: session, Path: path}
	if err := t.Validate(); err != nil {
		return Tuple{}, err
	}
	return t, nil
}

// FromValues builds a tuple from decoded values, such as a config's fields:
// the year under Parse's rules (an integral number or a string of digits),
// without a JSON round trip of the whole tuple.
func FromValues(year any, gp, session, path string) (Tuple, error) {
	y, err := YearOf(year)
	if err != nil {
		return Tuple{}, err
	}
	return New(y, gp, session, path)
}

// YearOf reads a decoded year (a config's field) under Parse's rules: an
// integral number or a string of digits, within the seasons served.
func YearOf(year any) (int, error) {
	raw, err := json.Marshal(year)
	if err != nil {
		return 0, refuse("year", fmt.Sprint(year), "not a JSON value: %v", err)
	}
	y, err := parseYear(raw)
	if err != nil {
		return 0, err
	}
	if y < minYear || y > maxYear {
		return 0, refuse("year", strconv.Itoa(y), "outside %d..%d", minYear, maxYear)
	}
	return y, nil
}

// Parse reads a tuple from a JSON object {"year","gp","session","path"} (other
// keys ignored) or a JSON array [year, gp, session, path]. The year may be an
// integral number or a string of digits. Every refusal is an *Error.
func Parse(data []byte) (Tuple, error) {
	data = bytes.TrimSpace(data)
	if err := payload.CheckDepth(data); err != nil {
		return Tuple{}, refuse("tuple", string(data), "%v", err)
	}
	var raw [4]json.RawMessage
	var present [4]bool
	switch {
	case len(data) > 0 && data[0] == '{':
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(data, &obj); err != nil {
			return Tuple{}, refuse("tuple", string(data), "not a JSON object: %v", err)
		}
		for i, name := range fieldNames {
			raw[i], present[i] = obj[name]
		}
	case len(data) > 0 && data[0] == '[':
		var arr []json.RawMessage
		if err := json.Unmarshal(data, &arr); err != nil {
			return Tuple{}, refuse("tuple", string(data), "not a JSON array: %v", err)
		}
		if len(arr) != len(raw) {
			return Tuple{}, refuse("tuple", string(data), "array form needs 4 elements [year, gp, session, path], got %d", len(arr))
		}
		for i := range arr {
			raw[i], present[i] = arr[i], true
		}
	default:
		return Tuple{}, refuse("tuple", string(data), "expected a JSON object or array")
	}
	for i, name := range fieldNames {
		if !present[i] {
			return Tuple{}, refuse(name, "", "missing")
		}
	}
	var t Tuple
	var err error
	if t.Year, err = parseYear(raw[0]); err != nil {
		return Tuple{}, err
	}
	for i, dst := range []*string{&t.GP, &t.Session, &t.Path} {
		if *dst, err = parseString(fieldNames[i+1], raw[i+1]); err != nil {
			return Tuple{}, err
		}
	}
	if err := t.Validate(); err != nil {
		return Tuple{}, err
	}
	return t, nil
}

var fieldNames = [4]string{"year", "gp", "session", "path"}

// parseYear accepts an integral JSON number (2025 or 2025.0) or a string of digits.
func parseYear(raw json.RawMessage) (int, error) {
	text := string(raw)
	switch {
	case len(raw) > 0 && raw[0] == '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return 0, refuse("year", text, "not a valid JSON string: %v", err)
		}
		if s == "" || strings.TrimLeft(s, "0123456789") != "" {
			return 0, refuse("year", s, "must be a number or a string of digits")
		}
		if len(s) > 4 {
			return 0, refuse("year", s, "outside %d..%d", minYear, maxYear)
		}
		y, _ := strconv.Atoi(s)
		return y, nil
	case len(raw) > 0 && (raw[0] == '-' || raw[0] >= '0' && raw[0] <= '9'):
		f, err := strconv.ParseFloat(text, 64)
		if err != nil && !isRangeErr(err) {
			return 0, refuse("year", text, "not a number: %v", err)
		}
		if math.IsInf(f, 0) || f != math.Trunc(f) {
			return 0, refuse("year", text, "must be an integer")
		}
		if f < minYear || f > maxYear {
			return 0, refuse("year", text, "outside %d..%d", minYear, maxYear)
		}
		return int(f), nil
	default:
		return 0, refuse("year", text, "must be a number or a string of digits, got %s", jsonType(raw))
	}
}

func isRangeErr(err error) bool {
	ne, ok := err.(*strconv.NumError)
	return ok && ne.Err == strconv.ErrRange
}

func parseString(field string, raw json.RawMessage) (string, error) {
	if len(raw) == 0 || raw[0] != '"' {
		return "", refuse(field, string(raw), "must be a string, got %s", jsonType(raw))
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", refuse(field, string(raw), "not a valid JSON string: %v", err)
	}
	return s, nil
}

func jsonType(raw json.RawMessage) string {
	if len(raw) == 0 {
		return "nothing"
	}
	switch raw[0] {
	case '{':
		return "object"
	case '[':
		return "array"
	case '"':
		return "string"
	case 't', 'f':
		return "boolean"
	case 'n':
		return "null"
	default:
		return "number"
	}
}

// Validate applies the refusal rules of SPEC "The request tuple". Parts are
// checked before they become URL path segments, so every rule here is what
// keeps a tuple from leaving the base path of a source.
func (t Tuple) Validate() error {
	if t.Year < minYear || t.Year > maxYear {
		return refuse("year", strconv.Itoa(t.Year), "outside %d..%d", minYear, maxYear)
	}
	if err := checkPart("gp", t.GP, false); err != nil {
		return err
	}
	if err := checkPart("session", t.Session, false); err != nil {
		return err
	}
	if err := checkPart("path", t.Path, true); err != nil {
		return err
	}
	if !strings.HasSuffix(t.Path, ".json") {
		return refuse("path", t.Path, `does not end in ".json"`)
	}
	return nil
}

// checkPart refuses a part that is empty, absolute, escapes with "..", or holds
// characters that a URL or a file system would read as structure, '%'
// included (see below).
func checkPart(field, v string, slashes bool) error {
	switch {
	case v == "":
		return refuse(field, v, "empty")
	case len(v) > maxPartLen:
		return refuse(field, v, "longer than %d bytes (%d)", maxPartLen, len(v))
	case strings.Contains(v, "%"):
		// Real names have no "%"; refusing it keeps encoded traversal such
		// as "%2e%2e" from ever reaching a server, whatever it decodes.
		return refuse(field, v, `contains "%%": give names as plain text, not percent-encoded`)
	case v[0] == '/':
		return refuse(field, v, "absolute (starts with \"/\")")
	case strings.Contains(v, ".."):
		return refuse(field, v, `contains ".."`)
	case strings.ContainsAny(v, `\?#`):
		return refuse(field, v, `contains one of \ ? #`)
	case !utf8.ValidString(v):
		return refuse(field, v, "not valid UTF-8")
	case !slashes && strings.Contains(v, "/"):
		return refuse(field, v, `contains "/"`)
	}
	for _, r := range v {
		if unicode.IsControl(r) {
			return refuse(field, v, "contains control character %U", r)
		}
	}
	for seg := range strings.SplitSeq(v, "/") {
		switch seg {
		case "":
			return refuse(field, v, "has an empty path segment")
		case ".":
			return refuse(field, v, `has a "." path segment`)
		}
	}
	return nil
}

// String is the tuple as a readable relative path, unescaped.
func (t Tuple) String() string {
	return strconv.Itoa(t.Year) + "/" + t.GP + "/" + t.Session + "/" + t.Path
}

// Driver is the three-letter driver code when the path is "{DRV}/...", else "".
func (t Tuple) Driver() string {
	first, _, ok := strings.Cut(t.Path, "/")
	if !ok || !payload.IsDriverCode(first) {
		return ""
	}
	return first
}

// Lap is N for a path ending in "N_tel.json", else 0.
func (t Tuple) Lap() int {
	lap, _ := payload.TelemetryLap(t.Path[strings.LastIndexByte(t.Path, '/')+1:])
	return lap
}
