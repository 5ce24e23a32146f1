package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"flag"
	"fmt"
	"net"
	"net/http"
	"runtime"
	"strconv"
	"sync"
	"time"

	"golang.org/x/net/http2"

	"github.com/f1fetch/f1fetch/plugin/payload"
	"github.com/f1fetch/f1fetch/plugin/tuple"
)

// batchFloor is the child mode `bench batchfloor`: the least a processor
// with batches of -c on one thread, -window requests in flight, needs here.
// A bare golang.org/x/net HTTP/2 client, set up as f1fetch's is for a
// loopback source (h2c, 1 MiB frames, gzip not asked for), sends a batch's
// requests -window at a time (the next as one ends), reads each
// body into one buffer of its Content-Length and, with -parse, normalises
// and validates it as f1fetch does by default (payload.Decode); the next
// batch goes when the last of this one is done. Nothing else: no limiter,
// retries, cache, metadata or Benthos. It reads as f1fetch's engine does
// (the request's context cancelled before the body is closed), so that
// what f1fetch adds is the difference. It prints the nanoseconds from the
// first request to the last body, and the documents read.
func batchFloor(args []string) error {
	fs := flag.NewFlagSet("batchfloor", flag.ContinueOnError)
	base := fs.String("base", "", "mirror URL (http://, loopback)")
	file := fs.String("tuples", "", "file of JSON tuples, one per line")
	batch := fs.Int("c", 20, "batch size")
	window := fs.Int("window", 0, "requests in flight within a batch (0: the whole batch)")
	parse := fs.Bool("parse", true, "normalise and validate every document")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ts, err := readTuples(*file)
	if err != nil {
		return err
	}
	src, err := tuple.ParseSource(*base)
	if err != nil || *batch < 1 || *window < 0 {
		return fmt.Errorf("-base %q -c %d -window %d: want a mirror URL, a batch of at least 1 and a window of 0 or more (%v)", *base, *batch, *window, err)
	}
	if *window == 0 {
		*window = *batch
	}
	client := &http.Client{Transport: &http2.Transport{
		AllowHTTP: true, MaxReadFrameSize: 1 << 20, DisableCompression: true,
		DialTLSContext: func(ctx context.Context, network, addr string, _ *tls.Config) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		},
	}}
	opts := payload.Options{Validate: true, NormalizeMissing: true}
	// get reads t's body; like f1fetch's engine, it is parsed after the
	// request's slot is free, so that the next request need not wait for it.
	get := func(t tuple.Tuple) ([]byte, error) {
		ctx, cancel := context.WithCancel(context.Background())
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, src.URL(t, "main"), nil)
		if err != nil {
			cancel()
			return nil, err
		}
		resp, err := client.Do(req)
		if err != nil {
			cancel()
			return nil, err
		}
		defer func() {
			// As f1fetch does: cancelled first, Close does not wait for the
			// transport's stream goroutine (see plugin/fetch/source.go).
			cancel()
			resp.Body.Close()
		}()
		if resp.StatusCode != http.StatusOK || resp.ContentLength < 0 {
			return nil, fmt.Errorf("%s: status %d, Content-Length %d", t, resp.StatusCode, resp.ContentLength)
		}
		// To the end of the stream, as f1fetch reads (bytes.MinRead spare
		// bytes to read the EOF without growing).
		buf := bytes.NewBuffer(make([]byte, 0, resp.ContentLength+bytes.MinRead))
		if _, err := buf.ReadFrom(resp.Body); err != nil {
			return nil, fmt.Errorf("%s: %w", t, err)
		}
		body := buf.Bytes()
		if int64(len(body)) != resp.ContentLength {
			return nil, fmt.Errorf("%s: %d bytes of Content-Length %d", t, len(body), resp.ContentLength)
		}
		return body, nil
	}
	start := time.Now()
	errs := make([]error, len(ts))
	for first := 0; first < len(ts); first += *batch {
		var wg sync.WaitGroup
		slots := make(chan struct{}, *window)
		for i := first; i < min(first+*batch, len(ts)); i++ {
			slots <- struct{}{}
			wg.Go(func() {
				body, err := get(ts[i])
				<-slots
				runtime.Gosched() // as f1fetch does: the next request goes out first
				if err == nil && *parse {
					_, err = payload.Decode(ts[i].Path, body, opts)
				}
				errs[i] = err
			})
		}
		wg.Wait()
	}
	took := time.Since(start)
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	fmt.Println(took.Nanoseconds(), strconv.Itoa(len(ts)))
	return nil
}
