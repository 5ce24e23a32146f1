package fetch

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/eapache/go-resiliency/breaker"
	"golang.org/x/net/http2"

	"github.com/f1fetch/f1fetch/config"
	"github.com/f1fetch/f1fetch/plugin/retry"
	"github.com/f1fetch/f1fetch/plugin/tuple"
)

// maxHeaderBytes bounds the response headers a source may send.
const maxHeaderBytes = 64 << 10

// errBodyTooLarge is a body over max_body_bytes: never retried.
var errBodyTooLarge = errors.New("body exceeds max_body_bytes")

// errNotJSON is an HTML answer (an error page, a captive portal): never retried.
var errNotJSON = errors.New("content type is not JSON")

// errEncoding is a body in a content coding other than gzip, which no
// request asked for, or gzip that does not decode: never retried.
var errEncoding = errors.New("content encoding not supported or not valid")

// badGzip reports whether err is a gzip body that does not decode (by the
// transport or by readBody), as opposed to one cut short in transfer.
func badGzip(err error) bool {
	var corrupt flate.CorruptInputError
	return errors.Is(err, gzip.ErrHeader) || errors.Is(err, gzip.ErrChecksum) || errors.As(err, &corrupt)
}

// errProbeAbandoned is the breaker's verdict on a half-open probe whose
// caller gave up before the source answered: it proves nothing, so the
// breaker opens again rather than close on a source that may still be dead.
var errProbeAbandoned = errors.New("half-open probe abandoned by its caller")

// source is one entry of base_urls with its own HTTP/2 transport (one
// multiplexed connection reused by all requests) and circuit breaker.
type source struct {
	base      tuple.Source
	name      string
	transport *http2.Transport
	conns     *connSet // every connection the transport has open, for Close
	client    *http.Client
	breaker   *breaker.Breaker
	probing   atomic.Bool // a call is past the breaker while it is not closed (see call)
}

func newSource(base string, s config.Settings, roots *x509.CertPool) (*source, error) {
	src, err := tuple.ParseSource(base)
	if err != nil {
		return nil, fmt.Errorf("base_urls: %w", err)
	}
	t := &http2.Transport{
		MaxHeaderListSize: maxHeaderBytes,
		MaxReadFrameSize:  1 << 20,          // fewer DATA frames (and syscalls) per 100 KB-2 MB body
		ReadIdleTimeout:   30 * time.Second, // ping a silent connection, drop it when dead
		PingTimeout:       10 * time.Second,
		IdleConnTimeout:   90 * time.Second,
	}
	// Compression saves bandwidth on real networks; on loopback (a local
	// mirror) inflating gzip is pure CPU, half of it at 0 ms latency.
	t.DisableCompression = config.IsLoopback(src.Hostname())
	dialer := &net.Dialer{Timeout: s.Timeout, KeepAlive: 30 * time.Second}
	conns := &connSet{}
	dialTCP := func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dialer.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return conns.track(c)
	}
	if src.Scheme() == "http" {
		// h2c: HTTP/2 with prior knowledge over plain TCP, for loopback mirrors.
		t.AllowHTTP = true
		t.DialTLSContext = func(ctx context.Context, network, addr string, _ *tls.Config) (net.Conn, error) {
			return dialTCP(ctx, network, addr)
		}
	} else {
		t.TLSClientConfig = &tls.Config{
			RootCAs:            roots,
			InsecureSkipVerify: s.TLSSkipVerify, //nolint:gosec // opt-in, documented
			NextProtos:         []string{"h2"},
			MinVersion:         tls.VersionTLS12,
		}
		t.DialTLSContext = func(ctx context.Context, network, addr string, cfg *tls.Config) (net.Conn, error) {
			raw, err := dialTCP(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			tc := tls.Client(raw, cfg)
			if err := tc.HandshakeContext(ctx); err != nil {
				_ = raw.Close()
				return nil, err
			}
			// The transport checks ALPN only when it dials itself.
			if p := tc.ConnectionState().NegotiatedProtocol; p != http2.NextProtoTLS {
				_ = tc.Close()
				return nil, fmt.Errorf("%s: the TLS server did not negotiate HTTP/2 (ALPN %q, want %q)", addr, p, http2.NextProtoTLS)
			}
			return tc, nil
		}
	}
	return &source{
		base:      src,
		name:      src.String(),
		transport: t,
		conns:     conns,
		client: &http.Client{
			Transport: t,
			CheckRedirect: func(req *http.Request, via []*http.Request) error {
				if tuple.HostPort(req.URL) != src.Host() || len(via) >= 5 {
					return retry.Permanent(fmt.Errorf("redirect to %s refused: only redirects within %s are followed", tuple.Redact(req.URL.String()), src.Host()))
				}
				return nil
			},
		},
		breaker: breaker.New(s.BreakerFailures, 1, s.BreakerTimeout),
	}, nil
}

// loadRoots returns the system pool plus an optional PEM file, or nil for
// the system pool alone.
func loadRoots(caFile string) (*x509.CertPool, error) {
	if caFile == "" {
		return nil, nil
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("tls.root_cas_file: %w", err)
	}
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("tls.root_cas_file %q: no PEM certificate found", caFile)
	}
	return pool, nil
}

// answer is what one HTTP exchange produced.
type answer struct {
	status       int
	body         []byte
	etag         string
	lastModified string
}

// get performs one GET with its own timeout. Non-2xx answers other than 304
// come back as *retry.StatusError with the body discarded.
func (s *source) get(ctx context.Context, rawURL string, set config.Settings, validators *answer) (answer, error) {
	ctx, cancel := context.WithTimeout(ctx, set.Timeout)
	defer cancel()
	shown := tuple.Redact(rawURL) // errors never carry a source's password
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return answer{}, retry.Permanent(fmt.Errorf("build request %s: %w", shown, err))
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", set.UserAgent)
	if validators != nil {
		if validators.etag != "" {
			req.Header.Set("If-None-Match", validators.etag)
		}
		if validators.lastModified != "" {
			req.Header.Set("If-Modified-Since", validators.lastModified)
		}
	}
	resp, err := s.client.Do(req)
	if err != nil {
		// net/http wraps the cause in a url.Error whose URL keeps the user
		// (a token, often); shown names the request without it.
		if uerr, ok := errors.AsType[*url.Error](err); ok {
			err = uerr.Err
		}
		return answer{}, fmt.Errorf("GET %s: %w", shown, err)
	}
	defer func() {
		// Cancel first: once the body is read, Close would otherwise wait for
		// the transport's stream goroutine to be scheduled and finish its
		// bookkeeping (measured: 0.8 ms on average on 2 busy cores, holding
		// the slot). A cancelled context ends that wait, as net/http does
		// (golang/go#49366). The body is complete by then, so nothing is
		// lost; an unread one (an error answer) is reset, as it should be.
		cancel()
		_ = resp.Body.Close()
	}()
	a := answer{status: resp.StatusCode, etag: resp.Header.Get("ETag"), lastModified: resp.Header.Get("Last-Modified")}
	switch {
	case resp.StatusCode == http.StatusNotModified:
		return a, nil
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // let the stream be reused
		se := &retry.StatusError{URL: shown, Status: resp.StatusCode}
		if d, ok := retry.ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
			se.RetryAfter = d
		}
		return a, se
	}
	if ct := resp.Header.Get("Content-Type"); strings.HasPrefix(ct, "text/html") {
		return a, retry.Permanent(fmt.Errorf("GET %s: %w: %q", shown, errNotJSON, ct))
	}
	encoding := contentEncoding(resp)
	if encoding == "" && resp.ContentLength > set.MaxBodyBytes {
		return a, retry.Permanent(fmt.Errorf("GET %s: %w (%d > %d)", shown, errBodyTooLarge, resp.ContentLength, set.MaxBodyBytes))
	}
	if encoding != "" && encoding != "gzip" {
		return a, retry.Permanent(fmt.Errorf("GET %s: %w: Content-Encoding %q", shown, errEncoding, encoding))
	}
	// gzip is decoded by the transport, or by readBody when the request
	// did not ask for it, so the limit counts decoded bytes: a
	// decompression bomb stops at max_body_bytes.
	body, err := readBody(resp, encoding == "gzip", set.MaxBodyBytes)
	if err != nil {
		if badGzip(err) {
			// What was sent is broken, not the transfer: as a body that is
			// not JSON, invalid and not retried.
			return a, retry.Permanent(fmt.Errorf("GET %s: %w: %w", shown, errEncoding, err))
		}
		return a, fmt.Errorf("GET %s: read body: %w", shown, err)
	}
	if int64(len(body)) > set.MaxBodyBytes {
		return a, retry.Permanent(fmt.Errorf("GET %s: %w (limit %d)", shown, errBodyTooLarge, set.MaxBodyBytes))
	}
	a.body = body
	return a, nil
}

// call runs work through the source's breaker, which counts the error work
// returns against the source. probe tells work that the breaker is half
// open: go-resiliency then closes the breaker on a nil, opens it again on
// any error, where a closed breaker ignores a nil.
//
// go-resiliency lets every call through while half open, so a batch would
// send all its requests to a source that may still be dead, each waiting
// out the attempt timeout. One call at a time probes; the others get
// breaker.ErrBreakerOpen, as while open, and go to the next source.
func (s *source) call(work func(probe bool) error) error {
	if s.breaker.GetState() == breaker.Closed {
		return s.breaker.Run(func() error { return work(false) })
	}
	// Open or half open: an open breaker may turn half open (its
	// breaker_timeout ending) between a look at its state and Run, so the
	// one call let past this point is chosen before either.
	if !s.probing.CompareAndSwap(false, true) {
		return breaker.ErrBreakerOpen
	}
	defer s.probing.Store(false)
	return s.breaker.Run(func() error { return work(s.breaker.GetState() == breaker.HalfOpen) })
}

// state names a breaker state for metrics and logs.
func (s *source) state() string {
	switch s.breaker.GetState() {
	case breaker.Open:
		return "open"
	case breaker.HalfOpen:
		return "half_open"
	default:
		return "closed"
	}
}

// maxPrealloc caps the buffer allocated up front from a Content-Length, so a
// server announcing a large body cannot make us reserve memory it never sends.
const maxPrealloc = 8 << 20

// contentEncoding is the coding of a body the transport did not decode,
// lower case, "" for none. A source the request did not ask for gzip (a
// loopback mirror, see newSource) may send it anyway: with no
// Accept-Encoding, RFC 9110 (12.5.3) lets a server choose any coding.
func contentEncoding(resp *http.Response) string {
	if resp.Uncompressed {
		return ""
	}
	enc := strings.ToLower(strings.TrimSpace(resp.Header.Get("Content-Encoding")))
	switch enc {
	case "identity":
		return ""
	case "x-gzip": // RFC 9110 (8.4.1.3): the same as gzip
		return "gzip"
	}
	return enc
}

// readBody reads at most limit+1 bytes of the body, decoded from gzip when
// gunzip says so, in one allocation when the length is announced (the
// common case on CDNs) instead of growing a buffer. A limit of MaxInt64 (no
// limit) must not wrap to a negative one.
func readBody(resp *http.Response, gunzip bool, limit int64) ([]byte, error) {
	limit = min(limit, math.MaxInt64-1) + 1
	if gunzip {
		zr, err := gzip.NewReader(resp.Body)
		if err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
		return io.ReadAll(io.LimitReader(zr, limit))
	}
	r := io.LimitReader(resp.Body, limit)
	if n := resp.ContentLength; n > 0 && !resp.Uncompressed {
		// bytes.Buffer wants MinRead spare bytes to read the final EOF
		// without growing.
		buf := bytes.NewBuffer(make([]byte, 0, min(n, maxPrealloc)+bytes.MinRead))
		_, err := buf.ReadFrom(r)
		return buf.Bytes(), err
	}
	return io.ReadAll(r)
}
