package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/f1fetch/f1fetch/internal/testkit"
	"github.com/f1fetch/f1fetch/plugin/mirror/mirrortest"
)

// Helpers of the tests that rebuild components while the process lives on
// (streams mode, watch mode): a long-running f1fetch, its HTTP API, and the
// TCP connections between it and the mirror as the kernel sees them.

// daemon is a long-running f1fetch (streams, run -w) whose logs the test reads.
type daemon struct {
	cmd            *exec.Cmd
	stdout, stderr *testkit.LogBuffer
	api            string // http://127.0.0.1:port of its HTTP server
	done           chan struct{}
	exitErr        error
}

// freePort is a loopback port free a moment ago, for the daemon's HTTP server
// (Benthos does not report the port it got for :0).
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// startDaemon runs the binary with args until the test ends (SIGINT, then
// SIGKILL), and waits for its HTTP server at port to answer /ping.
func startDaemon(t *testing.T, port int, args ...string) *daemon {
	t.Helper()
	d := &daemon{stdout: &testkit.LogBuffer{}, stderr: &testkit.LogBuffer{}, done: make(chan struct{}),
		api: fmt.Sprintf("http://127.0.0.1:%d", port)}
	d.cmd = exec.Command(binary, args...)
	d.cmd.Dir = t.TempDir()
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "F1FETCH_") && !strings.HasPrefix(kv, "F1_") {
			d.cmd.Env = append(d.cmd.Env, kv)
		}
	}
	d.cmd.Stdout, d.cmd.Stderr = d.stdout, d.stderr
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		d.exitErr = d.cmd.Wait()
		close(d.done)
	}()
	t.Cleanup(func() {
		select {
		case <-d.done:
			return
		default:
		}
		_ = d.cmd.Process.Signal(syscall.SIGINT)
		select {
		case <-d.done:
		case <-time.After(10 * time.Second):
			_ = d.cmd.Process.Kill()
			<-d.done
		}
	})
	waitUntil(t, 20*time.Second, "the daemon's HTTP server answers /ping", func() bool {
		select {
		case <-d.done:
			t.Fatalf("f1fetch %s exited: %v\n%s", strings.Join(args, " "), d.exitErr, d.logs())
		default:
		}
		code, _ := d.call(t, "GET", "/ping", "")
		return code == http.StatusOK
	}, d.logs)
	return d
}

func (d *daemon) logs() string {
	return "--- stdout ---\n" + tail(d.stdout.String()) + "\n--- stderr ---\n" + tail(d.stderr.String())
}

// apiClient opens a connection per call, so that no idle API connection
// keeps a server goroutine in the goroutine dumps.
var apiClient = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 30 * time.Second}

// call sends one request to the daemon's HTTP API; a transport error is
// status 0 with the error as body.
func (d *daemon) call(t *testing.T, method, path, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, d.api+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := apiClient.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// mustCall fails the test unless the call answers 200; it returns how long it took.
func (d *daemon) mustCall(t *testing.T, method, path, body string) time.Duration {
	t.Helper()
	start := time.Now()
	code, resp := d.call(t, method, path, body)
	took := time.Since(start)
	if code != http.StatusOK {
		t.Fatalf("%s %s: %d %s after %s\n%s", method, path, code, resp, took.Round(time.Millisecond), d.logs())
	}
	return took
}

// stop sends SIGINT and waits for the exit.
func (d *daemon) stop(t *testing.T, within time.Duration) (time.Duration, error) {
	t.Helper()
	start := time.Now()
	if err := d.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case <-d.done:
		return time.Since(start), d.exitErr
	case <-time.After(within):
		dump := d.goroutines(t)
		t.Fatalf("f1fetch did not exit within %s of SIGINT\n%s\n--- goroutines ---\n%s", within, d.logs(), dump)
		return 0, nil
	}
}

// goroutines is the daemon's full goroutine dump (http.debug_endpoints).
func (d *daemon) goroutines(t *testing.T) string {
	t.Helper()
	code, body := d.call(t, "GET", "/debug/pprof/goroutine?debug=2", "")
	if code != http.StatusOK {
		return fmt.Sprintf("(no goroutine dump: %d %s)", code, body)
	}
	return body
}

// leftovers are the goroutines of the dump that belong to a fetch client or
// a component of ours: none may outlive the components.
func leftovers(dump string) []string {
	var left []string
	for _, g := range strings.Split(dump, "\n\n") {
		if strings.Contains(g, "github.com/f1fetch/f1fetch/") || strings.Contains(g, "golang.org/x/net/http2.") {
			left = append(left, g)
		}
	}
	return left
}

// errorLogLines are the daemon's log lines at level error or warning, and
// any panic.
func (d *daemon) errorLogLines() []string {
	var bad []string
	for _, l := range lines(d.stdout.String() + "\n" + d.stderr.String()) {
		if strings.Contains(l, "level=error") || strings.Contains(l, "level=warn") || strings.Contains(l, "panic") ||
			strings.Contains(l, "level=fatal") {
			bad = append(bad, l)
		}
	}
	return bad
}

// tcpConn is one row of /proc/net/tcp{,6}.
type tcpConn struct {
	localIP               string // hex, as the kernel prints it: 0100007F is 127.0.0.1
	localPort, remotePort int
	state                 string // hex, as the kernel prints it: 01 established, 0A listen, 06 time wait
	inode                 string
}

func tcpConns(t *testing.T) []tcpConn {
	t.Helper()
	var out []tcpConn
	for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		file, err := os.Open(f)
		if err != nil {
			if f == "/proc/net/tcp" {
				t.Fatalf("cannot read the TCP table: %v", err)
			}
			continue
		}
		sc := bufio.NewScanner(file)
		sc.Scan() // header
		for sc.Scan() {
			fs := strings.Fields(sc.Text())
			if len(fs) < 10 {
				continue
			}
			out = append(out, tcpConn{localIP: fs[1][:strings.LastIndexByte(fs[1], ':')], localPort: hexPort(fs[1]), remotePort: hexPort(fs[2]), state: fs[3], inode: fs[9]})
		}
		file.Close()
	}
	return out
}

func hexPort(addr string) int {
	i := strings.LastIndexByte(addr, ':')
	p, _ := strconv.ParseInt(addr[i+1:], 16, 32)
	return int(p)
}

// serverSideOpen counts the connections the mirror at 127.0.0.1:port still holds:
// every socket of that local port but the listener. A connection the
// client closed leaves this count once the mirror has closed its end too.
func serverSideOpen(t *testing.T, port int) int {
	n := 0
	for _, c := range tcpConns(t) {
		if c.localPort == port && c.localIP == "0100007F" && c.state != "0A" {
			n++
		}
	}
	return n
}

// clientSideOpen counts the sockets process pid holds to port (any state:
// a socket its owner has not closed stays in its file table).
func clientSideOpen(t *testing.T, pid, port int) int {
	inodes := map[string]bool{}
	fds, _ := filepath.Glob(fmt.Sprintf("/proc/%d/fd/*", pid))
	for _, fd := range fds {
		if l, err := os.Readlink(fd); err == nil && strings.HasPrefix(l, "socket:[") {
			inodes[strings.TrimSuffix(strings.TrimPrefix(l, "socket:["), "]")] = true
		}
	}
	n := 0
	for _, c := range tcpConns(t) {
		if c.remotePort == port && inodes[c.inode] {
			n++
		}
	}
	return n
}

// waitUntil polls cond every 20 ms until it holds or within passes, then
// fails the test with what and the extra context.
func waitUntil(t *testing.T, within time.Duration, what string, cond func() bool, context ...func() string) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		if cond() {
			return
		}
		if time.Now().After(deadline) {
			var extra []string
			for _, c := range context {
				extra = append(extra, c())
			}
			t.Fatalf("after %s: not so: %s\n%s", within, what, strings.Join(extra, "\n"))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// jsonlKeys reads a file written with codec lines: every line a document,
// named by its tel.dataKey (telemetry) or, for other documents, "doc".
func jsonlKeys(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, l := range lines(string(b)) {
		var doc struct {
			Tel *struct {
				DataKey string `json:"dataKey"`
			} `json:"tel"`
		}
		if err := json.Unmarshal([]byte(l), &doc); err != nil {
			keys = append(keys, "(not JSON: "+err.Error()+")")
			continue
		}
		if doc.Tel == nil {
			keys = append(keys, "doc")
			continue
		}
		keys = append(keys, doc.Tel.DataKey)
	}
	sort.Strings(keys)
	return keys
}

// countLines is the number of complete (newline-terminated) non-empty
// lines of path, 0 when it does not exist yet: a document being written is
// not counted.
func countLines(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	s := string(b)
	return len(lines(s[:strings.LastIndexByte(s, '\n')+1]))
}

// telKeys are the dataKeys of laps 1..n of a driver in the 2025 Australian GP Qualifying.
func telKeys(driver string, n int) []string {
	var keys []string
	for lap := 1; lap <= n; lap++ {
		keys = append(keys, fmt.Sprintf("2025-%s-Qualifying-%s-%d", gpAUS, driver, lap))
	}
	sort.Strings(keys)
	return keys
}

// watcher checks what a rebuild test waits for: documents in an output
// file, and the connections the mirror accepted and both sides hold open.
type watcher struct {
	t     *testing.T
	m     *mirrortest.Mirror
	port  int
	pid   int           // the f1fetch process
	state func() string // what a failure prints
}

// wantDocs waits for file to hold want's documents, and checks them.
func (w watcher) wantDocs(file string, want []string) {
	w.t.Helper()
	waitUntil(w.t, 15*time.Second, fmt.Sprintf("%s holds %d documents", filepath.Base(file), len(want)),
		func() bool { return countLines(file) >= len(want) }, w.state)
	if got := jsonlKeys(w.t, file); !reflect.DeepEqual(got, want) {
		w.t.Fatalf("%s: documents %q\nwant %q", filepath.Base(file), got, want)
	}
}

// conns waits for the mirror to have accepted accepted connections and for
// open of them to be open on both sides, and logs the counts.
func (w watcher) conns(accepted, open int, when string) {
	w.t.Helper()
	since := time.Now()
	waitUntil(w.t, 10*time.Second, fmt.Sprintf("%s: the mirror accepted %d connections and %d are open on both sides", when, accepted, open),
		func() bool {
			return w.m.Counts().Connections == int64(accepted) && serverSideOpen(w.t, w.port) == open && clientSideOpen(w.t, w.pid, w.port) == open
		}, w.state)
	w.t.Logf("%s: connections accepted %d, open %d (mirror side %d, f1fetch side %d), closed %d (settled in %s)",
		when, accepted, open, serverSideOpen(w.t, w.port), clientSideOpen(w.t, w.pid, w.port), accepted-open, time.Since(since).Round(time.Millisecond))
}

// startStreamsMode starts `f1fetch streams` with its HTTP API on a free
// loopback port, its observability config written in dir.
func startStreamsMode(t *testing.T, dir string) *daemon {
	t.Helper()
	apiPort := freePort(t)
	obs := filepath.Join(dir, "observability.yaml")
	if err := os.WriteFile(obs, []byte(observability(apiPort)), 0o644); err != nil {
		t.Fatal(err)
	}
	return startDaemon(t, apiPort, "streams", "-o", obs)
}
