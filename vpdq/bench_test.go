package vpdq

import (
	"context"
	"os/exec"
	"testing"
	"time"
)

// benchVideos are the corpus videos the benchmarks hash: SD and HD H.264.
var benchVideos = []struct{ name, video string }{
	{"sd", "chair-19-sd-bar"},   // 480x720, 564 frames
	{"hd", "pattern-hd-no-bar"}, // 720x1280, 206 frames
}

// decodeOnly decodes every frame of path and throws it away, as
// `ffmpeg -i path -f null -` does: the floor under any hashing of it.
func decodeOnly(tb testing.TB, path string) time.Duration {
	tb.Helper()
	start := time.Now()
	cmd := exec.Command("ffmpeg", "-nostdin", "-loglevel", "error", "-i", path, "-f", "null", "-")
	if out, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("ffmpeg -f null: %v: %s", err, out)
	}
	return time.Since(start)
}

// BenchmarkHash1PerSecond hashes one frame a second. Its x-decode metric is its
// time over that of BenchmarkDecodeOnly's command, run between its iterations
// with the timer stopped, so that both see the same machine load.
func BenchmarkHash1PerSecond(b *testing.B) {
	for _, bv := range benchVideos {
		b.Run(bv.name, func(b *testing.B) {
			path := corpusVideo(b, bv.video)
			var hashing, decoding time.Duration
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				decoding += decodeOnly(b, path)
				b.StartTimer()

				start := time.Now()
				if _, err := Hash(context.Background(), path,
					HashOptions{SecondsPerHash: 1}); err != nil {
					b.Fatal(err)
				}
				hashing += time.Since(start)
			}
			b.ReportMetric(hashing.Seconds()/decoding.Seconds(), "x-decode")
		})
	}
}

// BenchmarkDecodeOnly is the baseline of BenchmarkHash1PerSecond:
// `ffmpeg -i X -f null -` on the same files.
func BenchmarkDecodeOnly(b *testing.B) {
	for _, bv := range benchVideos {
		b.Run(bv.name, func(b *testing.B) {
			path := corpusVideo(b, bv.video)
			for i := 0; i < b.N; i++ {
				decodeOnly(b, path)
			}
		})
	}
}

// BenchmarkHashEveryFrame hashes every frame, reporting frames hashed a second.
func BenchmarkHashEveryFrame(b *testing.B) {
	for _, bv := range benchVideos {
		b.Run(bv.name, func(b *testing.B) {
			path := corpusVideo(b, bv.video)
			frames := 0
			for i := 0; i < b.N; i++ {
				v, err := Hash(context.Background(), path, HashOptions{})
				if err != nil {
					b.Fatal(err)
				}
				frames += len(v.Frames)
			}
			b.ReportMetric(float64(frames)/b.Elapsed().Seconds(), "frames/s")
		})
	}
}
