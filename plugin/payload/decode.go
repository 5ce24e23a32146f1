package payload

import (
	"errors"
	"fmt"

	"github.com/segmentio/encoding/json"
)

// Options choose what Decode does beyond parsing.
type Options struct {
	Validate         bool // run the per-kind validation rules
	NormalizeMissing bool // "None", "nan", "NaN", "" inside arrays become null
}

// InvalidError is a body that is not JSON or fails validation. Reason says
// which key, which index and what was expected.
type InvalidError struct {
	Path   string
	Kind   Kind
	Reason string
	Err    error
}

func (e *InvalidError) Error() string {
	return fmt.Sprintf("invalid %s data %q: %s", e.Kind, e.Path, e.Reason)
}

func (e *InvalidError) Unwrap() error { return e.Err }

// errNotJSON is the Err of an InvalidError whose body does not parse.
var errNotJSON = errors.New("not JSON")

// Decode normalises body, checks that it is JSON (parse), validates it
// by KindOf(path) when opts.Validate, and returns the normalised document
// (RFC 8259 JSON). When normalisation changes nothing the result is body
// itself. Errors are *InvalidError. Safe for concurrent use.
func Decode(path string, body []byte, opts Options) ([]byte, error) {
	kind := KindOf(path)
	doc := Normalize(body, opts.NormalizeMissing)
	if err := parse(doc); err != nil {
		return nil, &InvalidError{Path: path, Kind: kind, Reason: err.Error(), Err: err}
	}
	if !opts.Validate {
		return doc, nil
	}
	if reason := validate(kind, doc); reason != "" {
		return nil, &InvalidError{Path: path, Kind: kind, Reason: reason}
	}
	return doc, nil
}

// parse checks that doc is one JSON value nested at most MaxDepth deep:
// wellFormed on the hot path; for a refused document, why, from tooDeep or
// else from segmentio's parser, which recurses per level and so is only
// handed documents within MaxDepth.
func parse(doc []byte) error {
	if wellFormed(doc) {
		return nil
	}
	if tooDeep(doc) {
		return fmt.Errorf("%w: nesting deeper than %d levels", errNotJSON, MaxDepth)
	}
	var v json.RawMessage
	rest, err := json.Parse(doc, &v, json.DontCopyRawMessage)
	if err == nil {
		err = fmt.Errorf("data after the top-level value")
	}
	return fmt.Errorf("%w at byte %d: %v", errNotJSON, len(doc)-len(rest), err)
}

// validate applies the SPEC "Validation" rule of kind to a parsed document
// and returns why it fails, or "".
func validate(kind Kind, doc []byte) string {
	i := skipSpace(doc, 0)
	switch {
	case kind == KindOther:
		if doc[i] != '{' && doc[i] != '[' {
			return fmt.Sprintf("top level is %s, expected an object or an array", typeName(doc[i]))
		}
		return ""
	case doc[i] != '{':
		return fmt.Sprintf("top level is %s, expected an object", typeName(doc[i]))
	case kind == KindDrivers:
		return validateDrivers(doc, i)
	case kind == KindTelemetry:
		return validateTelemetry(doc, i)
	case kind.columnar():
		if _, err := checkColumns(doc, i, kind.required()); err != nil {
			return err.Error()
		}
	}
	return ""
}

// checkColumns checks that every array member of the object at doc[i] has
// the length of the first, and that the required columns are arrays. It
// returns the index just past the object.
func checkColumns(doc []byte, i int, required []string) (int, error) {
	var first []byte
	firstLen := -1
	found := make([]bool, len(required))
	end, err := members(doc, i, func(key []byte, v int) (int, error) {
		req := -1
		for n, name := range required {
			if keyIs(key, name) {
				req = n
			}
		}
		if doc[v] != '[' {
			if req >= 0 {
				return v, fmt.Errorf("column %s is %s, expected an array", quoted(key), typeName(doc[v]))
			}
			return valueEnd(doc, v), nil
		}
		n, end := arrayLen(doc, v)
		if firstLen < 0 {
			first, firstLen = key, n
		} else if n != firstLen {
			return end, fmt.Errorf("column %s has %d values, %s has %d", quoted(key), n, quoted(first), firstLen)
		}
		if req >= 0 {
			found[req] = true
		}
		return end, nil
	})
	if err != nil {
		return end, err
	}
	for n, ok := range found {
		if !ok {
			return end, fmt.Errorf("missing column %q", required[n])
		}
	}
	return end, nil
}

// validateTelemetry: {"tel": {...}} with equal-length arrays including time,
// speed and distance. The tel object is checked as it is walked, in one pass.
func validateTelemetry(doc []byte, i int) string {
	var reason string
	seen := false
	members(doc, i, func(key []byte, v int) (int, error) {
		if !keyIs(key, "tel") {
			return valueEnd(doc, v), nil
		}
		seen = true
		if doc[v] != '{' {
			reason = fmt.Sprintf(`"tel" is %s, expected an object`, typeName(doc[v]))
			return valueEnd(doc, v), nil
		}
		end, err := checkColumns(doc, v, KindTelemetry.required())
		if reason = ""; err != nil {
			reason = "tel: " + err.Error()
			end = valueEnd(doc, v)
		}
		return end, nil
	})
	if !seen {
		return `missing "tel" object`
	}
	return reason
}

// validateDrivers: {"drivers": [...]} a non-empty list of objects, each with
// a driver code of three capital letters and a non-empty team.
func validateDrivers(doc []byte, i int) string {
	list := memberValue(doc, i, "drivers")
	switch {
	case list < 0:
		return `missing "drivers" list`
	case doc[list] != '[':
		return fmt.Sprintf(`"drivers" is %s, expected a list`, typeName(doc[list]))
	}
	records, _ := splitArray(doc, list, nil)
	if len(records) == 0 {
		return `"drivers" is an empty list`
	}
	for n, rec := range records {
		if err := checkDriver(rec); err != nil {
			return fmt.Sprintf("drivers[%d]: %v", n, err)
		}
	}
	return ""
}

func checkDriver(rec []byte) error {
	if rec[0] != '{' {
		return fmt.Errorf("is %s, expected an object", typeName(rec[0]))
	}
	driver, team := -1, -1
	members(rec, 0, func(key []byte, v int) (int, error) {
		switch {
		case keyIs(key, "driver"):
			driver = v
		case keyIs(key, "team"):
			team = v
		}
		return valueEnd(rec, v), nil
	})
	switch {
	case driver < 0:
		return errors.New(`missing "driver"`)
	case rec[driver] != '"':
		return fmt.Errorf(`"driver" is %s, expected a string`, typeName(rec[driver]))
	case team < 0:
		return errors.New(`missing "team"`)
	case rec[team] != '"':
		return fmt.Errorf(`"team" is %s, expected a string`, typeName(rec[team]))
	}
	if code := unquote(rec[driver:valueEnd(rec, driver)]); !IsDriverCode(code) {
		return fmt.Errorf(`"driver" %s does not match ^[A-Z]{3}$`, quoted(rec[driver:valueEnd(rec, driver)]))
	}
	if unquote(rec[team:valueEnd(rec, team)]) == "" {
		return errors.New(`"team" is empty`)
	}
	return nil
}

// IsDriverCode reports whether s is a driver code: ^[A-Z]{3}$, the rule of
// drivers.json and of a telemetry path's first segment.
func IsDriverCode(s string) bool {
	return len(s) == 3 && isUpper(s[0]) && isUpper(s[1]) && isUpper(s[2])
}

func isUpper(c byte) bool { return c >= 'A' && c <= 'Z' }
