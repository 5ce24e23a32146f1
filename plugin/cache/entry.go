// Package cache keeps answers (document bytes and validators) per key: an
// in-process TTL tier on go-cache bounded in bytes (Memory), a persistent Tier
// such as a directory (Dir) or a Benthos cache resource, and Cache layering
// the two.
package cache

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"
)

// Entry is what is cached for one key: the document bytes as the fetch
// client's decoding left them (normalised and validated JSON, the body
// itself when normalisation changed nothing), so a hit needs no parse. The
// client's key holds its decode options, so a document is only handed to a
// client that checks the same way.
type Entry struct {
	Status       int // 200 or 404 (negative entry)
	Body         []byte
	ETag         string
	LastModified string
	Source       string    // which source answered
	Expires      time.Time // fresh until, by the TTL of the run that stored it; past it the entry is stale (kept for revalidation when it has validators)
	Stored       time.Time // when the answer was fetched or last revalidated
	// Size is the body's length as the source sent it (after gzip
	// decoding), which max_body_bytes limits; Body, normalised, may differ.
	Size int
}

// Fresh reports whether the entry may be served without asking the source:
// before its own expiry and within ttl, the reader's TTL for its kind, of
// when it was stored. A run with a shorter TTL than the one that wrote an
// entry to a persistent tier (or a TTL of 0) is not served what it would
// not have kept; an entry without a stored time is stale.
func (e Entry) Fresh(now time.Time, ttl time.Duration) bool {
	return now.Before(e.Expires) && now.Before(e.Stored.Add(ttl))
}

// entryVersion is the first byte of the binary form; a new layout gets a new
// number, and an entry of another one reads as a miss and is fetched again
// (version 1 had no stored time, version 2 no size).
const entryVersion = 3

// MarshalBinary encodes the entry compactly: version byte, status, expiry and
// stored time (Unix ns, 0 for none), size, then length-prefixed ETag,
// LastModified, Source, Body.
func (e Entry) MarshalBinary() ([]byte, error) {
	if e.Status < 0 || e.Status > 999 {
		return nil, fmt.Errorf("cache: marshal entry: field Status value %d: not an HTTP status", e.Status)
	}
	b := make([]byte, 0, 1+4*binary.MaxVarintLen64+len(e.ETag)+len(e.LastModified)+len(e.Source)+len(e.Body)+16)
	b = append(b, entryVersion)
	b = binary.AppendUvarint(b, uint64(e.Status))
	b = binary.AppendVarint(b, unixNano(e.Expires))
	b = binary.AppendVarint(b, unixNano(e.Stored))
	b = binary.AppendUvarint(b, uint64(max(e.Size, 0)))
	for _, s := range []string{e.ETag, e.LastModified, e.Source} {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	b = binary.AppendUvarint(b, uint64(len(e.Body)))
	return append(b, e.Body...), nil
}

// UnmarshalBinary decodes what MarshalBinary wrote. Truncated, oversized or
// foreign input is an error, never a panic. The body is copied out of data.
func (e *Entry) UnmarshalBinary(data []byte) error {
	if err := e.decode(data); err != nil {
		return err
	}
	e.Body = bytes.Clone(e.Body)
	return nil
}

// decode is UnmarshalBinary with the body left in data, for callers that own
// data (a tier record read for this caller alone).
func (e *Entry) decode(data []byte) error {
	if len(data) == 0 {
		return errors.New("cache: unmarshal entry: empty input")
	}
	if data[0] != entryVersion {
		return fmt.Errorf("cache: unmarshal entry: version %d, want %d", data[0], entryVersion)
	}
	r := reader{b: data[1:]}
	status := r.uvarint("Status")
	expires := r.varint("Expires")
	stored := r.varint("Stored")
	size := r.uvarint("Size")
	etag := r.bytes("ETag")
	lastModified := r.bytes("LastModified")
	source := r.bytes("Source")
	body := r.bytes("Body")
	if r.err == nil && len(r.b) > 0 {
		r.err = fmt.Errorf("%d trailing bytes", len(r.b))
	}
	if r.err == nil && status > 999 {
		r.err = fmt.Errorf("field Status value %d: not an HTTP status", status)
	}
	if r.err == nil && size > math.MaxInt {
		r.err = fmt.Errorf("field Size value %d: beyond any body", size)
	}
	if r.err != nil {
		return fmt.Errorf("cache: unmarshal entry: %w", r.err)
	}
	*e = Entry{Status: int(status), ETag: string(etag), LastModified: string(lastModified), Source: string(source), Size: int(size)}
	if len(body) > 0 {
		e.Body = body
	}
	e.Expires, e.Stored = fromUnixNano(expires), fromUnixNano(stored)
	return nil
}

// unixNano is t in Unix ns, 0 for the zero time.
func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromUnixNano(ns int64) time.Time {
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, ns)
}

// reader walks a binary entry; the first failure sticks and later reads return zero values.
type reader struct {
	b   []byte
	err error
}

func (r *reader) uvarint(field string) uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err = fmt.Errorf("field %s: truncated or overlong number", field)
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) varint(field string) int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.err = fmt.Errorf("field %s: truncated or overlong number", field)
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) bytes(field string) []byte {
	n := r.uvarint(field)
	if r.err != nil {
		return nil
	}
	if n > uint64(len(r.b)) {
		r.err = fmt.Errorf("field %s: length %d exceeds the %d bytes left", field, n, len(r.b))
		return nil
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}
