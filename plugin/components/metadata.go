package components

import (
	"errors"

	"github.com/redpanda-data/benthos/v4/public/service"

	"github.com/f1fetch/f1fetch/plugin/fetch"
	"github.com/f1fetch/f1fetch/plugin/tuple"
)

// Metadata keys set on every emitted message.
const (
	metaYear      = "f1_year"
	metaGP        = "f1_gp"
	metaSession   = "f1_session"
	metaPath      = "f1_path"
	metaKind      = "f1_kind"
	metaDriver    = "f1_driver"
	metaLap       = "f1_lap"
	metaURL       = "f1_url"
	metaSource    = "f1_source"
	metaStatus    = "f1_status"
	metaCache     = "f1_cache"
	metaAttempts  = "f1_attempts"
	metaDuration  = "f1_duration_ms"
	metaBytes     = "f1_bytes"
	metaErrorKind = "f1_error_kind"
	metaRow       = "f1_row"
)

// setTupleMeta names the file a message is about.
func setTupleMeta(msg *service.Message, t tuple.Tuple) {
	msg.MetaSetMut(metaYear, t.Year)
	msg.MetaSetMut(metaGP, t.GP)
	msg.MetaSetMut(metaSession, t.Session)
	msg.MetaSetMut(metaPath, t.Path)
	if d := t.Driver(); d != "" {
		msg.MetaSetMut(metaDriver, d)
	}
	if l := t.Lap(); l > 0 {
		msg.MetaSetMut(metaLap, l)
	}
}

// applyResult turns msg into the result: the document as its body, or, on
// failure, its content kept and a Benthos error set, so that catch, switch
// and dead-letter outputs can route it. Metadata an earlier result left (a
// message fetched again in a catch, a tuple with a driver before one
// without) is replaced, never kept beside this result's.
func applyResult(msg *service.Message, r fetch.Result) {
	for _, key := range []string{metaURL, metaSource, metaStatus, metaCache, metaErrorKind} {
		msg.MetaDelete(key)
	}
	if r.Tuple != (tuple.Tuple{}) { // a refused message has no tuple to describe
		msg.MetaDelete(metaDriver)
		msg.MetaDelete(metaLap)
		setTupleMeta(msg, r.Tuple)
		msg.MetaSetMut(metaKind, string(r.Kind))
	}
	if r.URL != "" {
		msg.MetaSetMut(metaURL, r.URL)
	}
	if r.Source != "" {
		msg.MetaSetMut(metaSource, r.Source)
	}
	if r.Status != 0 {
		msg.MetaSetMut(metaStatus, r.Status)
	}
	switch r.Cache {
	case "":
	case fetch.CacheRevalidated:
		// SPEC: f1_cache is hit or miss. The document is the cache's; its
		// f1_status 304 says the source confirmed it.
		msg.MetaSetMut(metaCache, fetch.CacheHit)
	default:
		msg.MetaSetMut(metaCache, r.Cache)
	}
	msg.MetaSetMut(metaAttempts, r.Attempts)
	msg.MetaSetMut(metaDuration, r.Duration.Milliseconds())
	msg.MetaSetMut(metaBytes, r.Bytes)
	if r.Err != nil {
		msg.MetaSetMut(metaErrorKind, fetch.ErrorKind(r.Err))
		msg.SetError(r.Err)
		return
	}
	msg.SetBytes(r.Doc)
}

// isNotFound reports a 404 outcome.
func isNotFound(err error) bool {
	var nf *fetch.NotFoundError
	return errors.As(err, &nf)
}
