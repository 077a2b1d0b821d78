package pdq

import (
	"image"
	"syscall"
	"testing"
	"time"

	"github.com/dnadb/dnadb"
)

// The benchmarks report hashes/s for comparison with the reference C++ on this
// machine (notes, section 6): 137/s at 512x512 and 11.5/s at 1600x1004, single thread.

// benchImage decodes a corpus PNG once for a benchmark.
func benchImage(b *testing.B, rel string) image.Image {
	b.Helper()
	return decodePNG(b, rel)
}

// cpuTime returns the process's user plus system CPU time.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// rate measures a benchmark's loop. Besides wall-clock hashes/s it reports
// cpu-hashes/s from the process's CPU time, which is steadier on a shared machine.
type rate struct{ cpu0 time.Duration }

func startRate(b *testing.B) rate {
	b.ResetTimer()
	return rate{cpuTime(b)}
}

func (r rate) report(b *testing.B, n int) {
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "hashes/s")
	b.ReportMetric(float64(n)/(cpuTime(b)-r.cpu0).Seconds(), "cpu-hashes/s")
}

func benchmarkHashLuma(b *testing.B, rel string) {
	luma, rows, cols := lumaOf(b, benchImage(b, rel))
	r, n := startRate(b), 0
	for b.Loop() {
		HashLuma(luma, rows, cols)
		n++
	}
	r.report(b, n)
}

func BenchmarkHashLuma512(b *testing.B) {
	benchmarkHashLuma(b, "decoded/dih_bridge-1-original.cli512.png")
}

func BenchmarkHashLuma1600x1004(b *testing.B) {
	benchmarkHashLuma(b, "decoded/dih_bridge-1-original.native.png")
}

func BenchmarkDihedralLuma512(b *testing.B) {
	luma, rows, cols := lumaOf(b, benchImage(b, "decoded/dih_bridge-1-original.cli512.png"))
	r, n := startRate(b), 0
	for b.Loop() {
		DihedralLuma(luma, rows, cols)
		n++
	}
	r.report(b, n)
}

func benchmarkHashImage(b *testing.B, img image.Image, p dnadb.Profile) {
	r, n := startRate(b), 0
	for b.Loop() {
		if _, err := HashImage(img, p); err != nil {
			b.Fatal(err)
		}
		n++
	}
	r.report(b, n)
}

// BenchmarkHashImage hashes the 1600x1004 decode at full resolution, luma included.
func BenchmarkHashImage(b *testing.B) {
	img := benchImage(b, "decoded/dih_bridge-1-original.native.png")
	b.Run("full", func(b *testing.B) { benchmarkHashImage(b, img, dnadb.ProfileFull) })
	b.Run("cli512", func(b *testing.B) { benchmarkHashImage(b, img, dnadb.ProfileCLI512) })
	b.Run("512", func(b *testing.B) {
		benchmarkHashImage(b, benchImage(b, "decoded/dih_bridge-1-original.cli512.png"),
			dnadb.ProfileFull)
	})
}

// BenchmarkPlainPort is the baseline for the HashLuma benchmarks, measured in the
// same run: the test-only port that follows the C++ reference's structure (whole
// buffers, column passes walking memory with a stride of one row).
func BenchmarkPlainPort(b *testing.B) {
	for _, c := range []struct{ name, rel string }{
		{"512", "decoded/dih_bridge-1-original.cli512.png"},
		{"1600x1004", "decoded/dih_bridge-1-original.native.png"},
	} {
		b.Run(c.name, func(b *testing.B) {
			luma, rows, cols := lumaOf(b, benchImage(b, c.rel))
			r, n := startRate(b), 0
			for b.Loop() {
				refHashLuma(luma, rows, cols)
				n++
			}
			r.report(b, n)
		})
	}
}
