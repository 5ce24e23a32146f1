package fetch

import (
	"errors"
	"fmt"

	"github.com/f1fetch/f1fetch/plugin/payload"
	"github.com/f1fetch/f1fetch/plugin/tuple"
)

// The outcome kinds, as emitted in the f1_error_kind metadata and used as
// the metric label of request outcomes.
const (
	KindOK         = "ok"
	KindNotFound   = "not_found"
	KindNetwork    = "network"
	KindInvalid    = "invalid"
	KindBadRequest = "bad_request"
)

// NotFoundError is a 404 from the source that answered (the seed's
// DataNotFoundError).
type NotFoundError struct {
	Tuple tuple.Tuple
	URL   string
}

func (e *NotFoundError) Error() string {
	return fmt.Sprintf("not found: %s (%s)", e.Tuple, e.URL)
}

// NetworkError means retries were exhausted on transport errors, timeouts,
// 429, 5xx or other 4xx, or every source's breaker was open (the seed's
// NetworkError).
type NetworkError struct {
	Tuple      tuple.Tuple
	URL        string // last URL tried ("" when no source could be tried)
	LastStatus int    // last HTTP status seen, 0 for transport errors
	Attempts   int
	Err        error
}

func (e *NetworkError) Error() string {
	status := ""
	if e.LastStatus != 0 {
		status = fmt.Sprintf(", last status %d", e.LastStatus)
	}
	if e.Attempts == 0 {
		return fmt.Sprintf("fetch %s failed before a request was sent: %v", e.Tuple, e.Err)
	}
	return fmt.Sprintf("fetch %s failed after %d attempt(s)%s: %v", e.Tuple, e.Attempts, status, e.Err)
}

func (e *NetworkError) Unwrap() error { return e.Err }

// InvalidDataError is a body that is not JSON or fails validation (the
// seed's InvalidDataError).
type InvalidDataError struct {
	Tuple  tuple.Tuple
	URL    string
	Reason string
	Err    error
}

func (e *InvalidDataError) Error() string {
	return fmt.Sprintf("invalid data for %s: %s", e.Tuple, e.Reason)
}

func (e *InvalidDataError) Unwrap() error { return e.Err }

// BadRequestError is a tuple refused before any network traffic.
type BadRequestError struct {
	Err error // a *tuple.Error
}

func (e *BadRequestError) Error() string { return "bad request: " + e.Err.Error() }

func (e *BadRequestError) Unwrap() error { return e.Err }

// ErrorKind maps an error of this package to its outcome kind; nil is "ok".
// An unknown error counts as network.
func ErrorKind(err error) string {
	var (
		nf  *NotFoundError
		inv *InvalidDataError
		br  *BadRequestError
		te  *tuple.Error
		pe  *payload.InvalidError
	)
	switch {
	case err == nil:
		return KindOK
	case errors.As(err, &nf):
		return KindNotFound
	case errors.As(err, &br), errors.As(err, &te):
		return KindBadRequest
	case errors.As(err, &inv), errors.As(err, &pe):
		return KindInvalid
	default:
		return KindNetwork
	}
}
