package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/f1fetch/f1fetch/plugin/mirror"
	"github.com/f1fetch/f1fetch/plugin/mirror/mirrortest"
)

func TestSessionToFilesWritesAServableCopy(t *testing.T) {
	m := startBundledMirror(t)
	out := t.TempDir()
	errs := filepath.Join(t.TempDir(), "errors.jsonl")
	ok(t, cmd{args: []string{"run", pipeline("session_to_files.yaml")},
		env: map[string]string{"F1FETCH_BASE_URLS": m.URL, "OUT_DIR": out, "F1_ERRORS_FILE": errs}})
	if e := readErrorsFile(t, errs); len(e) > 0 {
		t.Fatalf("rejected messages: %+v", e)
	}

	// Every file of the session, at its CDN path, meaning what the source means.
	src := bundledRace(t)
	copyDir := filepath.Join(out, "2025@main", gpAUS, "Race")
	want, got := filesUnder(t, src), filesUnder(t, copyDir)
	if len(want) != 58 || !reflect.DeepEqual(got, want) {
		t.Fatalf("written files:\n%v\nwant the %d files of the session:\n%v", got, len(want), want)
	}
	if all := filesUnder(t, out); len(all) != len(want) {
		t.Fatalf("%d files under OUT_DIR, want only the %d of the session: %v", len(all), len(want), all)
	}
	for _, f := range want {
		b, err := os.ReadFile(filepath.Join(copyDir, f))
		if err != nil {
			t.Fatal(err)
		}
		sameDocument(t, b, filepath.Join(src, f))
	}

	// The copy is a CDN root: a second mirror serves it and the same
	// pipeline, fetching from it, writes the same bytes.
	m2 := mirrortest.Start(t, mirror.Config{Root: out})
	before := m.Counts().Total
	out2 := t.TempDir()
	ok(t, cmd{args: []string{"run", pipeline("session_to_files.yaml")},
		env: map[string]string{"F1FETCH_BASE_URLS": m2.URL, "OUT_DIR": out2, "F1_ERRORS_FILE": errs}})
	if n := m.Counts().Total; n != before {
		t.Fatalf("the first mirror answered %d more requests; the rerun must read the copy only", n-before)
	}
	if c := m2.Counts(); c.ByStatus[200] != int64(len(want)) {
		t.Fatalf("the copy's mirror served %d files, want %d: %+v", c.ByStatus[200], len(want), c.ByStatus)
	}
	for _, f := range want {
		a, _ := os.ReadFile(filepath.Join(copyDir, f))
		b, err := os.ReadFile(filepath.Join(out2, "2025@main", gpAUS, "Race", f))
		if err != nil || !bytes.Equal(a, b) {
			t.Fatalf("%s fetched from the copy differs from the copy (%v)", f, err)
		}
	}
}

func TestFastestLapsToStdout(t *testing.T) {
	m := mirrortest.Start(t, mirrortest.SharedConfig(t))
	r := ok(t, cmd{args: []string{"run", pipeline("fastest_laps_to_stdout.yaml")},
		env: map[string]string{"F1FETCH_BASE_URLS": m.URL, "F1_LOG_LEVEL": "INFO"}}) // logs must stay off stdout
	if e := errorLines(t, r.stderr); len(e) > 0 {
		t.Fatalf("error lines on stderr: %+v\n%s", e, r)
	}
	src := sharedQualifying(t)
	docs := lines(r.stdout)
	if len(docs) == 0 {
		t.Fatalf("nothing on stdout:\n%s", r)
	}
	sameDocument(t, []byte(docs[0]), filepath.Join(src, "drivers.json"))

	// Then each driver's fastest lap, in drivers.json order; BEA's laptimes
	// are empty (no timed lap), so 19 of the 20 drivers have one.
	var wantKeys []string
	for _, d := range driverCodes(t, filepath.Join(src, "drivers.json")) {
		if lap, _ := fastestLap(t, filepath.Join(src, d, "laptimes.json")); lap > 0 {
			wantKeys = append(wantKeys, fmt.Sprintf("2025-%s-Qualifying-%s-%d", gpAUS, d, lap))
		}
	}
	if len(wantKeys) != 19 {
		t.Fatalf("the corpus has %d drivers with a timed lap, the test expects 19", len(wantKeys))
	}
	var gotKeys []string
	for _, doc := range docs[1:] {
		var tel struct {
			Tel struct{ DataKey string }
		}
		if err := json.Unmarshal([]byte(doc), &tel); err != nil {
			t.Fatalf("stdout line is not a document: %v\n%.200s", err, doc)
		}
		gotKeys = append(gotKeys, tel.Tel.DataKey)
		var drv string
		var lap int
		if _, err := fmt.Sscanf(tel.Tel.DataKey[strings.LastIndex(tel.Tel.DataKey, "-")-3:], "%3s-%d", &drv, &lap); err == nil {
			sameDocument(t, []byte(doc), filepath.Join(src, drv, fmt.Sprintf("%d_tel.json", lap)))
		}
	}
	if !reflect.DeepEqual(gotKeys, wantKeys) {
		t.Fatalf("fastest-lap documents, by dataKey:\n%q\nwant:\n%q", gotKeys, wantKeys)
	}
}

func TestTuplesStdinToStdout(t *testing.T) {
	m := startBundledMirror(t)
	race := bundledRace(t)
	type line struct {
		text string
		file string // the expected document, "" when the line fails or is dropped
		kind string // the expected error_kind on stderr
	}
	input := []line{
		{text: `[2025, "Australian Grand Prix", "Race", "drivers.json"]`, file: "drivers.json"},
		{text: `{"year": 1999, "gp": "Australian Grand Prix", "session": "Race", "path": "drivers.json"}`, kind: "bad_request"},
		{text: `not a tuple`, kind: "bad_request"},
		{text: `[2025, "Australian Grand Prix", "Race", "VER/99_tel.json"]`, kind: "not_found"},
		{text: `[2025, "Australian Grand Prix", "Race", "../drivers.json"]`, kind: "bad_request"},
		{text: `{"year": "2025", "gp": "Australian Grand Prix", "session": "Race", "path": "HAD/1_tel.json"}`, file: "HAD/1_tel.json"},
		// Over the 64 KiB Benthos' stdin reads by default: refused, and
		// the lines after it are read.
		{text: `[2025, "` + strings.Repeat("G", 100<<10) + `", "Race", "drivers.json"]`, kind: "bad_request"},
	}
	// Then ALO's 33 laps backwards, interleaved with lap times: fetched
	// concurrently, printed in input order.
	for lap := 33; lap >= 1; lap-- {
		f := fmt.Sprintf("ALO/%d_tel.json", lap)
		input = append(input, line{text: fmt.Sprintf(`[2025, "Australian Grand Prix", "Race", %q]`, f), file: f})
		if lap%11 == 0 {
			input = append(input, line{text: `[2025, "Australian Grand Prix", "Race", "NOR/laptimes.json"]`, file: "NOR/laptimes.json"})
		}
	}
	var stdin strings.Builder
	for _, l := range input {
		stdin.WriteString(l.text + "\n")
	}

	// One batch of all lines; then batches of 5 lines answered after random
	// delays, so that batches finish out of order: the output order holds.
	for _, run := range []struct {
		onNotFound, batch string
		jitterMS          float64
	}{{"drop", "64", 0}, {"error", "5", 40}} {
		onNotFound := run.onNotFound
		t.Run("on_not_found="+onNotFound+",batch="+run.batch, func(t *testing.T) {
			m.Reset()
			m.SetFaults(mirror.Faults{Seed: 7, Rules: []mirror.Rule{{JitterMS: run.jitterMS}}})
			r := ok(t, cmd{args: []string{"run", pipeline("tuples_stdin_to_stdout.yaml")}, stdin: stdin.String(),
				env: map[string]string{"F1FETCH_BASE_URLS": m.URL, "F1_ON_NOT_FOUND": onNotFound, "F1_BATCH": run.batch, "F1_LOG_LEVEL": "INFO"}}) // logs must stay off stdout
			var wantDocs []string
			var wantErrs []line
			distinct := map[string]bool{}
			for _, l := range input {
				switch {
				case l.file != "":
					wantDocs = append(wantDocs, l.file)
					distinct[l.file] = true
				case l.kind != "not_found" || onNotFound == "error":
					wantErrs = append(wantErrs, l)
				}
			}
			docs := lines(r.stdout)
			if len(docs) != len(wantDocs) {
				t.Fatalf("%d documents on stdout, want %d:\n%s", len(docs), len(wantDocs), r)
			}
			for i, f := range wantDocs {
				sameDocument(t, []byte(docs[i]), filepath.Join(race, f))
			}
			errs := errorLines(t, r.stderr)
			if len(errs) != len(wantErrs) {
				t.Fatalf("%d error lines on stderr, want %d:\n%s", len(errs), len(wantErrs), r)
			}
			for i, w := range wantErrs {
				if errs[i].ErrorKind != w.kind || errs[i].Content != w.text || errs[i].Error == "" {
					t.Errorf("error line %d: %+v\nwant kind %s and the input line %q as content", i, errs[i], w.kind, w.text)
				}
			}
			// Refused tuples never reach the network: one request per distinct
			// good file (repeats come from the cache) and one for the missing lap.
			if c := m.Counts(); c.Total != int64(len(distinct)+1) {
				t.Errorf("the mirror answered %d requests, want %d (bad tuples must make none): %+v", c.Total, len(distinct)+1, c.ByStatus)
			}
		})
	}
}

// Under systemd with its stderr to the journal, a process's stderr is a
// socket, which no path opens ("/dev/stderr": no such device or address).
// The two stdout pipelines log to /dev/stderr by default; with F1_LOG_FILE
// and F1_ERRORS_FILE set to files they run there, and their documents still
// go to stdout. The binary runs as the other tests run it (f1fetch: the
// caller's F1_* and F1FETCH_* left out, a timeout); the socket is close-on-exec,
// so that only the child's stderr holds it, and what the child writes on it
// is read (a full socket would block the child) and shown on failure.
func TestStdoutPipelinesRunWithStderrASocket(t *testing.T) {
	m := startBundledMirror(t)
	for _, c := range []struct{ pipeline, stdin string }{
		{"tuples_stdin_to_stdout.yaml", `[2025, "Australian Grand Prix", "Race", "drivers.json"]` + "\n"},
		{"fastest_laps_to_stdout.yaml", ""},
	} {
		t.Run(c.pipeline, func(t *testing.T) {
			fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
			if err != nil {
				t.Fatal(err)
			}
			stderr, peer := os.NewFile(uintptr(fds[0]), "stderr"), os.NewFile(uintptr(fds[1]), "peer")
			defer peer.Close()
			written := make(chan []byte, 1)
			go func() {
				b, _ := io.ReadAll(peer)
				written <- b
			}()
			dir := t.TempDir()
			r := f1fetch(t, cmd{args: []string{"run", pipeline(c.pipeline)}, stdin: c.stdin, stderr: stderr, env: map[string]string{
				"F1FETCH_BASE_URLS": m.URL, "F1_SESSION": "Race",
				"F1_LOG_FILE": filepath.Join(dir, "log"), "F1_ERRORS_FILE": filepath.Join(dir, "errors")}})
			stderr.Close() // the child has exited: the socket's other end reads to its end
			var onStderr []byte
			select {
			case onStderr = <-written:
			case <-time.After(10 * time.Second):
				t.Fatalf("%s: the socket never closed: a process still holds the child's stderr", c.pipeline)
			}
			if r.err != nil || !strings.HasPrefix(r.stdout, `{"drivers":`) {
				log, _ := os.ReadFile(filepath.Join(dir, "log"))
				t.Fatalf("%s with stderr a socket:\n%s\n--- on the socket ---\n%s\n--- F1_LOG_FILE ---\n%s", c.pipeline, r, tail(string(onStderr)), tail(string(log)))
			}
		})
	}
}
