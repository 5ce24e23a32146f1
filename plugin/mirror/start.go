package mirror

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"time"
)

// Running is a mirror listening on a socket, started by Start.
type Running struct {
	*Server
	URL  string // base for base_urls, e.g. http://127.0.0.1:40123
	Addr net.Addr

	http  *http.Server
	caPEM []byte
	errs  chan error
}

// Start serves cfg on cfg.Addr (default 127.0.0.1:0, a random loopback
// port): HTTP/2 over TLS with ALPN h2 when cfg.TLS, otherwise h2c (prior
// knowledge) and HTTP/1.1 on plain http. Close stops it.
func Start(cfg Config) (*Running, error) {
	s, err := New(cfg)
	if err != nil {
		return nil, err
	}
	r := &Running{Server: s, errs: make(chan error, 1)}
	var protocols http.Protocols
	protocols.SetHTTP1(true)
	var tlsConfig *tls.Config
	if cfg.TLS {
		cert, caPEM, err := serverCert(cfg)
		if err != nil {
			s.Close()
			return nil, err
		}
		r.caPEM = caPEM
		protocols.SetHTTP2(true)
		tlsConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	} else {
		protocols.SetUnencryptedHTTP2(true)
	}
	errorLog := io.Discard
	if cfg.Log != nil {
		errorLog = cfg.Log
	}
	r.http = &http.Server{
		Handler:   s,
		Protocols: &protocols,
		TLSConfig: tlsConfig,
		HTTP2:     &http.HTTP2Config{MaxConcurrentStreams: cfg.MaxConcurrentStreams},
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			s.counts.connected()
			return withConn(ctx, c)
		},
		ReadHeaderTimeout: 10 * time.Second,
		MaxHeaderBytes:    64 << 10, // no file path needs more; the default is a MiB
		ErrorLog:          log.New(errorLog, "mirror: ", log.LstdFlags),
	}
	addr := cfg.Addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("listen %s: %w", addr, err)
	}
	r.Addr = ln.Addr()
	serve, scheme := r.http.Serve, "http"
	if cfg.TLS { // ServeTLS adds the ALPN protocols (h2, http/1.1) to TLSConfig
		serve, scheme = func(ln net.Listener) error { return r.http.ServeTLS(ln, "", "") }, "https"
	}
	r.URL = scheme + "://" + r.Addr.String()
	go func() {
		if err := serve(ln); !errors.Is(err, http.ErrServerClosed) {
			r.errs <- fmt.Errorf("serve %s: %w", r.URL, err)
		}
		close(r.errs)
	}()
	return r, nil
}

// Err delivers the error that stopped serving, if any, and is closed when
// serving ends.
func (r *Running) Err() <-chan error { return r.errs }

// CertPool holds the certificate clients must trust; nil without TLS.
func (r *Running) CertPool() *x509.CertPool {
	if r.caPEM == nil {
		return nil
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(r.caPEM)
	return pool
}

// WriteCA writes the PEM certificate clients must trust to path.
func (r *Running) WriteCA(path string) error {
	if r.caPEM == nil {
		return errors.New("write CA: the mirror serves plain http, no TLS")
	}
	if err := os.WriteFile(path, r.caPEM, 0o644); err != nil {
		return fmt.Errorf("write CA %s: %w", path, err)
	}
	return nil
}

// Client returns an HTTP/2-only client for the mirror: TLS trusting its
// certificate, or h2c with prior knowledge.
func (r *Running) Client() *http.Client {
	var protocols http.Protocols
	t := &http.Transport{Protocols: &protocols, ForceAttemptHTTP2: true}
	if r.caPEM != nil {
		protocols.SetHTTP2(true)
		t.TLSClientConfig = &tls.Config{RootCAs: r.CertPool()}
	} else {
		protocols.SetUnencryptedHTTP2(true)
	}
	return &http.Client{Transport: t}
}

// Shutdown stops accepting requests and waits for running ones until ctx
// ends, then closes what is left and the root.
func (r *Running) Shutdown(ctx context.Context) error {
	err := r.http.Shutdown(ctx)
	if err != nil {
		r.http.Close()
	}
	return errors.Join(err, r.Server.Close())
}

// Close stops at once: connections, stalls and latencies end now. Tests
// use it; a graceful stop is Shutdown.
func (r *Running) Close() error {
	r.stopWaits()
	return errors.Join(r.http.Close(), r.Server.Close())
}
