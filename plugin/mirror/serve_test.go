package mirror_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2"

	"github.com/f1fetch/f1fetch/internal/testkit"
	"github.com/f1fetch/f1fetch/plugin/mirror"
	"github.com/f1fetch/f1fetch/plugin/mirror/mirrortest"
)

// urlPath escapes each segment as the fetch client does: a space becomes %20.
func urlPath(segs ...string) string {
	var b strings.Builder
	for _, s := range segs {
		b.WriteString("/" + url.PathEscape(s))
	}
	return b.String()
}

// get sends GET base+rawPath with rawPath put on the wire untouched.
func get(t *testing.T, c *http.Client, base, rawPath string, header ...string) (*http.Response, []byte, error) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, base, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.URL.Opaque = rawPath
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp, body, err
}

// mustGet is get for requests that must complete.
func mustGet(t *testing.T, c *http.Client, base, rawPath string, header ...string) (*http.Response, []byte) {
	t.Helper()
	resp, body, err := get(t, c, base, rawPath, header...)
	if err != nil {
		t.Fatalf("GET %s: %v", rawPath, err)
	}
	return resp, body
}

func readFile(t *testing.T, parts ...string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(parts...))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var qualiDrivers = urlPath("2025@main", "Australian Grand Prix", "Qualifying", "drivers.json")

func TestServesSharedTestdataWithAlias(t *testing.T) {
	m := mirrortest.Start(t, mirrortest.SharedConfig(t))
	shared := mirrortest.SharedTestdata(t)
	want := readFile(t, shared, "test", "Australian Grand Prix", "Qualifying", "drivers.json")
	for _, p := range []string{
		qualiDrivers,
		urlPath("2025", "main", "Australian Grand Prix", "Qualifying", "drivers.json"),
		"/gh/TracingInsights" + qualiDrivers,
		"/TracingInsights" + urlPath("2025", "main", "Australian Grand Prix", "Qualifying", "drivers.json"),
	} {
		resp, body := mustGet(t, m.Client(), m.URL, p, "Accept-Encoding", "identity")
		if resp.StatusCode != 200 || !bytes.Equal(body, want) {
			t.Fatalf("%s: status %d, %d bytes, want 200 and the %d bytes of test/", p, resp.StatusCode, len(body), len(want))
		}
		if resp.ProtoMajor != 2 {
			t.Errorf("%s: protocol %s, want HTTP/2", p, resp.Proto)
		}
		if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("%s: Content-Type %q", p, ct)
		}
		if resp.ContentLength != int64(len(want)) || resp.Header.Get("ETag") == "" || resp.Header.Get("Last-Modified") == "" {
			t.Errorf("%s: Content-Length %d, ETag %q, Last-Modified %q", p, resp.ContentLength, resp.Header.Get("ETag"), resp.Header.Get("Last-Modified"))
		}
	}
	// A year without alias is its own folder; a pinned ref needs its {year}@{ref} folder.
	resp, body := mustGet(t, m.Client(), m.URL, urlPath("2024@main", "Abu Dhabi Grand Prix", "Qualifying", "VER", "laptimes.json"))
	if want := readFile(t, shared, "2024", "Abu Dhabi Grand Prix", "Qualifying", "VER", "laptimes.json"); resp.StatusCode != 200 || !bytes.Equal(body, want) {
		t.Errorf("2024@main: status %d, body %q", resp.StatusCode, body)
	}
	resp, _ = mustGet(t, m.Client(), m.URL, urlPath("2024@deadbeef", "Abu Dhabi Grand Prix", "Qualifying", "VER", "laptimes.json"))
	if resp.StatusCode != 404 {
		t.Errorf("2024@deadbeef: status %d, want 404 (no such ref folder, no fallback off main)", resp.StatusCode)
	}
	resp, _ = mustGet(t, m.Client(), m.URL, urlPath("2025@main", "Australian Grand Prix", "Qualifying", "XYZ", "laptimes.json"))
	if resp.StatusCode != 404 || resp.Header.Get("Content-Type") == "application/json" {
		t.Errorf("missing file: status %d, Content-Type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
}

func TestRefFolderWinsOverMain(t *testing.T) {
	root := t.TempDir()
	for dir, body := range map[string]string{"2025@main": `{"v":"pinned"}`, "2025": `{"v":"plain"}`, "2025@abc": `{"v":"abc"}`} {
		mustWrite(t, filepath.Join(root, dir, "GP", "S", "f.json"), body)
	}
	m := mirrortest.Start(t, mirror.Config{Root: root})
	for p, want := range map[string]string{"/2025@main/GP/S/f.json": "pinned", "/2025/abc/GP/S/f.json": "abc", "/2025@abc/GP/S/f.json": "abc"} {
		if _, body := mustGet(t, m.Client(), m.URL, p); !strings.Contains(string(body), want) {
			t.Errorf("%s: %s, want %s", p, body, want)
		}
	}
}

func mustWrite(t *testing.T, path, body string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestTLSNegotiatesHTTP2WithWrittenCA(t *testing.T) {
	m := mirrortest.Start(t, mirror.Config{Root: mirrortest.BundledData(t), TLS: true})
	if !strings.HasPrefix(m.URL, "https://127.0.0.1:") {
		t.Fatalf("URL %s", m.URL)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(readFile(t, m.CAFile)) {
		t.Fatalf("CA file %s holds no certificate", m.CAFile)
	}
	// A client that also speaks HTTP/1.1: ALPN must pick h2.
	for name, tr := range map[string]http.RoundTripper{
		"net/http":  &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true},
		"x/net":     &http2.Transport{TLSClientConfig: &tls.Config{RootCAs: m.CertPool()}},
		"localhost": &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: "localhost"}, ForceAttemptHTTP2: true},
	} {
		resp, body := mustGet(t, &http.Client{Transport: tr}, m.URL, urlPath("2025@main", "Australian Grand Prix", "Race", "drivers.json"))
		if resp.StatusCode != 200 || resp.ProtoMajor != 2 || resp.TLS == nil || resp.TLS.NegotiatedProtocol != "h2" {
			t.Errorf("%s: status %d, protocol %s, want 200 over h2", name, resp.StatusCode, resp.Proto)
		}
		if !strings.Contains(string(body), `"driver"`) {
			t.Errorf("%s: body %q", name, body)
		}
	}
	// An untrusting client fails: the certificate is really checked.
	if _, _, err := get(t, &http.Client{Transport: &http.Transport{}}, m.URL, "/_mirror/health"); err == nil {
		t.Error("a client without the CA trusted the mirror")
	}
}

// TestH2CWithXNetTransport uses the client form the fetch package uses for http:// bases.
func TestH2CWithXNetTransport(t *testing.T) {
	m := mirrortest.Start(t, mirror.Config{Root: mirrortest.BundledData(t)})
	c := &http.Client{Transport: &http2.Transport{
		AllowHTTP: true,
		DialTLSContext: func(ctx context.Context, network, addr string, _ *tls.Config) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		},
	}}
	resp, _ := mustGet(t, c, m.URL, urlPath("2025@main", "Australian Grand Prix", "Race", "corners.json"))
	if resp.StatusCode != 200 || resp.ProtoMajor != 2 {
		t.Fatalf("status %d, protocol %s, want 200 over h2c", resp.StatusCode, resp.Proto)
	}
	// Plain HTTP/1.1 clients are served too.
	resp, _ = mustGet(t, http.DefaultClient, m.URL, urlPath("2025@main", "Australian Grand Prix", "Race", "corners.json"))
	if resp.StatusCode != 200 || resp.ProtoMajor != 1 {
		t.Fatalf("HTTP/1.1: status %d, protocol %s", resp.StatusCode, resp.Proto)
	}
}

func TestServesBundledData(t *testing.T) {
	m := mirrortest.Start(t, mirror.Config{Root: mirrortest.BundledData(t)})
	shared := filepath.Join(mirrortest.SharedTestdata(t), "test", "Australian Grand Prix", "Race")
	for _, f := range [][]string{{"drivers.json"}, {"ALO", "33_tel.json"}, {"HAD", "1_tel.json"}, {"VER", "laptimes.json"}} {
		resp, body := mustGet(t, m.Client(), m.URL, urlPath(append([]string{"2025@main", "Australian Grand Prix", "Race"}, f...)...))
		if want := readFile(t, append([]string{shared}, f...)...); resp.StatusCode != 200 || !bytes.Equal(body, want) {
			t.Errorf("%v: status %d, %d bytes, want the %d bytes of the shared corpus", f, resp.StatusCode, len(body), len(want))
		}
	}
}

// TestBundledDataChecksums checks data/mirror against SHA256SUMS: every
// listed file matches, none is missing or extra, the total stays under 10 MB.
func TestBundledDataChecksums(t *testing.T) {
	dir := mirrortest.BundledData(t)
	sums, err := os.Open(filepath.Join(dir, "SHA256SUMS"))
	if err != nil {
		t.Fatal(err)
	}
	defer sums.Close()
	listed := map[string]bool{}
	sc := bufio.NewScanner(sums)
	for sc.Scan() {
		sum, name, ok := strings.Cut(sc.Text(), "  ")
		if !ok {
			t.Fatalf("SHA256SUMS line %q", sc.Text())
		}
		got := sha256.Sum256(readFile(t, dir, filepath.FromSlash(name)))
		if hex.EncodeToString(got[:]) != sum {
			t.Errorf("%s: sha256 %x, SHA256SUMS says %s", name, got, sum)
		}
		listed[name] = true
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	var total int64
	err = filepath.WalkDir(filepath.Join(dir, "2025"), func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if !listed[filepath.ToSlash(rel)] {
			t.Errorf("%s is not in SHA256SUMS", rel)
		}
		delete(listed, filepath.ToSlash(rel))
		info, err := d.Info()
		total += info.Size()
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for name := range listed {
		t.Errorf("%s is in SHA256SUMS but missing", name)
	}
	if total >= 10<<20 {
		t.Errorf("bundled data is %d bytes, want under 10 MB", total)
	}
}

func TestTraversalAndDirectoriesAre404(t *testing.T) {
	base := t.TempDir()
	root := filepath.Join(base, "root")
	mustWrite(t, filepath.Join(root, "2025", "GP", "S", "ok.json"), `{"ok":true}`)
	mustWrite(t, filepath.Join(base, "outside", "secret.json"), `{"secret":true}`)
	session := filepath.Join(root, "2025", "GP", "S")
	for link, target := range map[string]string{
		"rel.json": "../../../../outside/secret.json",
		"abs.json": filepath.Join(base, "outside", "secret.json"),
		"dir":      filepath.Join(base, "outside"),
		"reldir":   "../../../../outside",
		"in.json":  "ok.json",
	} {
		if err := os.Symlink(target, filepath.Join(session, link)); err != nil {
			t.Fatal(err)
		}
	}
	m := mirrortest.Start(t, mirror.Config{Root: root})
	if resp, _ := mustGet(t, m.Client(), m.URL, "/2025@main/GP/S/ok.json"); resp.StatusCode != 200 {
		t.Fatalf("control request: status %d", resp.StatusCode)
	}
	if resp, _ := mustGet(t, m.Client(), m.URL, "/2025@main/GP/S/in.json"); resp.StatusCode != 200 {
		t.Errorf("symlink inside the root: status %d, want 200", resp.StatusCode)
	}
	for _, p := range []string{
		"/2025@main/GP/S/../../../../outside/secret.json",
		"/2025@main/../outside/secret.json",
		"/../outside/secret.json",
		"/..@main/outside/secret.json",
		"/../main/outside/secret.json",
		"/2025@main/GP/S/%2e%2e/%2e%2e/%2e%2e/%2e%2e/outside/secret.json",
		"/2025@main/GP/S/%2E%2E/%2E%2E/%2E%2E/%2E%2E/outside/secret.json",
		"/2025@main/GP%2F..%2F..%2F..%2F..%2Foutside/secret.json",
		"/2025@main/GP/S/..%2F..%2F..%2F..%2Foutside%2Fsecret.json",
		"/2025@main/GP/S/%252e%252e/%252e%252e/%252e%252e/%252e%252e/outside/secret.json",
		"/2025@main/GP/S/..%5C..%5C..%5C..%5Coutside%5Csecret.json",
		`/2025@main/GP/S/..\..\..\..\outside\secret.json`,
		"/2025@main/GP/S/ok.json%00",
		"/2025@main/GP/S//ok.json",
		"/2025@main/GP/S/./ok.json",
		"/2025@main/GP/S/rel.json",
		"/2025@main/GP/S/abs.json",
		"/2025@main/GP/S/dir/secret.json",
		"/2025@main/GP/S/reldir/secret.json",
		"/2025@main/GP/S",
		"/2025@main/GP/S/",
		"/2025@main/GP",
		"/2025@main/",
		"/2025/main",
		"/",
	} {
		resp, body := mustGet(t, m.Client(), m.URL, p)
		if resp.StatusCode != 404 || strings.Contains(string(body), "secret") || strings.Contains(string(body), "ok.json") {
			t.Errorf("%s: status %d, body %q, want 404 revealing nothing", p, resp.StatusCode, body)
		}
	}
}

func TestConditionalRequests(t *testing.T) {
	m := mirrortest.Start(t, mirrortest.SharedConfig(t))
	c := m.Client()
	resp, body := mustGet(t, c, m.URL, qualiDrivers, "Accept-Encoding", "identity")
	etag, lastMod := resp.Header.Get("ETag"), resp.Header.Get("Last-Modified")
	if len(body) == 0 || etag == "" || lastMod == "" {
		t.Fatalf("first GET: %d bytes, ETag %q, Last-Modified %q", len(body), etag, lastMod)
	}
	gz, _ := mustGet(t, c, m.URL, qualiDrivers, "Accept-Encoding", "gzip")
	if gz.Header.Get("ETag") == etag || gz.Header.Get("ETag") == "" {
		t.Fatalf("gzip ETag %q, identity %q: want two tags", gz.Header.Get("ETag"), etag)
	}
	old := time.Unix(0, 0).UTC().Format(http.TimeFormat)
	for _, tc := range []struct {
		name   string
		header []string
		want   int
	}{
		{"If-None-Match", []string{"If-None-Match", etag}, 304},
		{"If-None-Match weak in a list", []string{"If-None-Match", `"nope", W/` + etag}, 304},
		{"If-None-Match other", []string{"If-None-Match", `"nope"`}, 200},
		{"If-Modified-Since same", []string{"If-Modified-Since", lastMod}, 304},
		{"If-Modified-Since older", []string{"If-Modified-Since", old}, 200},
		{"If-None-Match wins", []string{"If-None-Match", `"nope"`, "If-Modified-Since", lastMod}, 200},
		// RFC 9110 13.1.2: the tag of the gzip form does not validate the
		// identity form this request selects.
		{"If-None-Match of the other encoding", []string{"If-None-Match", gz.Header.Get("ETag")}, 200},
	} {
		resp, body := mustGet(t, c, m.URL, qualiDrivers, append(tc.header, "Accept-Encoding", "identity")...)
		if resp.StatusCode != tc.want {
			t.Errorf("%s: status %d, want %d", tc.name, resp.StatusCode, tc.want)
		}
		if tc.want == 304 && len(body) != 0 {
			t.Errorf("%s: 304 with %d body bytes", tc.name, len(body))
		}
	}
}

func TestGzipWhenAsked(t *testing.T) {
	m := mirrortest.Start(t, mirrortest.SharedConfig(t))
	tel := urlPath("2025@main", "Australian Grand Prix", "Qualifying", "VER", "3_tel.json")
	want := readFile(t, mirrortest.SharedTestdata(t), "test", "Australian Grand Prix", "Qualifying", "VER", "3_tel.json")
	resp, body := mustGet(t, m.Client(), m.URL, tel, "Accept-Encoding", "br, gzip;q=0.8")
	if resp.Header.Get("Content-Encoding") != "gzip" || resp.ContentLength != int64(len(body)) || len(body) >= len(want) {
		t.Fatalf("Content-Encoding %q, Content-Length %d, %d bytes of %d", resp.Header.Get("Content-Encoding"), resp.ContentLength, len(body), len(want))
	}
	zr, err := gzip.NewReader(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	plain, err := io.ReadAll(zr)
	if err != nil || !bytes.Equal(plain, want) {
		t.Fatalf("gunzip: %v, equal %v", err, bytes.Equal(plain, want))
	}
	for _, ae := range []string{"identity", "gzip;q=0"} {
		resp, body = mustGet(t, m.Client(), m.URL, tel, "Accept-Encoding", ae)
		if resp.Header.Get("Content-Encoding") != "" || !bytes.Equal(body, want) {
			t.Errorf("Accept-Encoding %q: Content-Encoding %q", ae, resp.Header.Get("Content-Encoding"))
		}
	}
}

func TestHead(t *testing.T) {
	m := mirrortest.Start(t, mirrortest.SharedConfig(t))
	req, _ := http.NewRequest(http.MethodHead, m.URL+qualiDrivers, nil)
	req.Header.Set("Accept-Encoding", "identity")
	resp, err := m.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	want := readFile(t, mirrortest.SharedTestdata(t), "test", "Australian Grand Prix", "Qualifying", "drivers.json")
	if resp.StatusCode != 200 || resp.ContentLength != int64(len(want)) {
		t.Errorf("HEAD: status %d, Content-Length %d, want 200 and %d", resp.StatusCode, resp.ContentLength, len(want))
	}
	req, _ = http.NewRequest(http.MethodPost, m.URL+qualiDrivers, nil)
	if resp, err = m.Client().Do(req); err != nil || resp.StatusCode != 405 {
		t.Errorf("POST: %v %v, want 405", resp, err)
	}
}

func TestCountsAndCache(t *testing.T) {
	var log testkit.LogBuffer
	root := t.TempDir()
	mustWrite(t, filepath.Join(root, "2025", "GP", "S", "a.json"), `{"v":1}`)
	cached := mirrortest.Start(t, mirror.Config{Root: root, Log: &log})
	uncached := mirrortest.Start(t, mirror.Config{Root: root, NoCache: true})
	paths := []string{"/2025@main/GP/S/a.json", "/2025@main/GP/S/missing.json"}
	for _, p := range paths {
		mustGet(t, cached.Client(), cached.URL, p)
		mustGet(t, uncached.Client(), uncached.URL, p)
	}
	mustGet(t, cached.Client(), cached.URL, "/_mirror/health") // control requests are not counted
	c := cached.Counts()
	if c.Total != 2 || c.ByStatus[200] != 1 || c.ByStatus[404] != 1 || cached.Count(paths[0]) != 1 || c.ByPath[paths[1]][404] != 1 || c.InFlightMax != 1 {
		t.Errorf("counts %+v", c)
	}
	log.WaitFor(t, `GET "/2025@main/GP/S/a.json" 200 `, time.Second)
	// The cache keeps the first bytes; NoCache reads the file again.
	mustWrite(t, filepath.Join(root, "2025", "GP", "S", "a.json"), `{"v":2}`)
	if _, body := mustGet(t, cached.Client(), cached.URL, paths[0]); string(body) != `{"v":1}` {
		t.Errorf("cached: %s", body)
	}
	if _, body := mustGet(t, uncached.Client(), uncached.URL, paths[0]); string(body) != `{"v":2}` {
		t.Errorf("uncached: %s", body)
	}
	cached.Reset()
	if c := cached.Counts(); c.Total != 0 || len(c.ByPath) != 0 || cached.Count(paths[0]) != 0 {
		t.Errorf("after Reset: %+v", c)
	}
}

func TestNewRefusesBadConfig(t *testing.T) {
	root := t.TempDir()
	for name, cfg := range map[string]mirror.Config{
		"empty root":     {},
		"missing root":   {Root: filepath.Join(root, "nope")},
		"alias traverse": {Root: root, Aliases: map[string]string{"2025": ".."}},
		"alias slash":    {Root: root, Aliases: map[string]string{"2025": "a/b"}},
		"streams":        {Root: root, MaxConcurrentStreams: -1},
		"faults":         {Root: root, Faults: mirror.Faults{Rules: []mirror.Rule{{ResetRate: 2}}}},
		"cert":           {Root: root, TLS: true, CertFile: filepath.Join(root, "none.pem"), KeyFile: filepath.Join(root, "none.key")},
	} {
		if r, err := mirror.Start(cfg); err == nil {
			r.Close()
			t.Errorf("%s: started", name)
		}
	}
}

// MaxConcurrentStreams past 32 bits is refused, naming the value: net/http
// cut it to 32 bits, so 2^32 served its default and 2^32+1 one stream.
// 2^32-1 is taken.
func TestNewRefusesStreamsPast32Bits(t *testing.T) {
	past := uint64(math.MaxUint32) + 1
	for _, n := range []uint64{past, past + 1} {
		r, err := mirror.Start(mirror.Config{Root: t.TempDir(), MaxConcurrentStreams: int(n)})
		if err == nil {
			r.Close()
			t.Errorf("%d streams: started", n)
		} else if want := fmt.Sprintf("max concurrent streams %d: not in 0..4294967295", n); !strings.Contains(err.Error(), want) {
			t.Errorf("%d streams: %v, want %q", n, err, want)
		}
	}
	r, err := mirror.Start(mirror.Config{Root: t.TempDir(), MaxConcurrentStreams: math.MaxUint32})
	if err != nil {
		t.Fatalf("2^32-1 streams: %v", err)
	}
	r.Close()
}
