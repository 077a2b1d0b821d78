package cli

import (
	"context"
	"io"
	"testing"

	"github.com/dnadb/dnadb/internal/corpus"
)

// BenchmarkHashCorpus runs "dnadb hash" end to end (walk, decode, hash, print) over
// the reference corpus's original images, on one worker and on one per CPU. The
// images/s metric compares with the reference C++ CLI's about 12 images/s on this
// machine.
func BenchmarkHashCorpus(b *testing.B) {
	dir := corpus.Path(b, "pdq", "images")
	files, err := collectFiles([]string{dir})
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct{ name, jobs string }{{"jobs=1", "1"}, {"jobs=cpus", "0"}} {
		for _, profile := range []string{"cli512", "full"} {
			b.Run(bc.name+"/"+profile, func(b *testing.B) {
				for b.Loop() {
					err := Run(context.Background(),
						[]string{"hash", "--jobs", bc.jobs, "--profile", profile, dir},
						io.Discard, io.Discard)
					if err != nil && err != errReported {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(len(files)*b.N)/b.Elapsed().Seconds(), "images/s")
			})
		}
	}
}
