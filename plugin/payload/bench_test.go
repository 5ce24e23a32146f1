package payload

import (
	"sort"
	"strings"
	"testing"
)

// telemetryBySize returns the corpus telemetry files, smallest first.
func telemetryBySize(tb testing.TB) []corpusFile {
	var tel []corpusFile
	for _, f := range corpus(tb) {
		if KindOf(f.path) == KindTelemetry {
			tel = append(tel, f)
		}
	}
	sort.Slice(tel, func(i, j int) bool { return len(tel[i].body) < len(tel[j].body) })
	return tel
}

func benchDecode(b *testing.B, f corpusFile) {
	b.Logf("%s: %d bytes", f.rel, len(f.body))
	b.SetBytes(int64(len(f.body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Decode(f.path, f.body, Options{Validate: true, NormalizeMissing: true}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeTelemetryMedian(b *testing.B) {
	tel := telemetryBySize(b)
	benchDecode(b, tel[len(tel)/2])
}

func BenchmarkDecodeTelemetryLargest(b *testing.B) {
	tel := telemetryBySize(b)
	benchDecode(b, tel[len(tel)-1])
}

// BenchmarkDecodeTelemetryNaN is the one telemetry file Normalize has to copy.
func BenchmarkDecodeTelemetryNaN(b *testing.B) {
	for _, f := range telemetryBySize(b) {
		if strings.HasSuffix(f.rel, "Race/HAD/1_tel.json") {
			benchDecode(b, f)
			return
		}
	}
	b.Fatal("HAD/1_tel.json not in the corpus")
}

// BenchmarkNormalize: "unchanged" is the largest telemetry file, which the
// SIMD-backed check passes through; "rewrite" is the NaN telemetry file,
// scanned byte-wise (SWAR) and copied.
func BenchmarkNormalize(b *testing.B) {
	tel := telemetryBySize(b)
	var nan corpusFile
	for _, f := range tel {
		if strings.HasSuffix(f.rel, "Race/HAD/1_tel.json") {
			nan = f
		}
	}
	for _, c := range []struct {
		name string
		f    corpusFile
	}{{"unchanged", tel[len(tel)-1]}, {"rewrite", nan}} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(c.f.body)))
			b.ReportAllocs()
			for b.Loop() {
				Normalize(c.f.body, true)
			}
		})
	}
}

func BenchmarkParseTelemetryMedian(b *testing.B) {
	tel := telemetryBySize(b)
	f := tel[len(tel)/2]
	b.SetBytes(int64(len(f.body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseTelemetry(f.body); err != nil {
			b.Fatal(err)
		}
	}
}
