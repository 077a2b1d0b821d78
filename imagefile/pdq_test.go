package imagefile

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/dnadb/dnadb"
	"github.com/dnadb/dnadb/internal/corpus"
	"github.com/dnadb/dnadb/pdq"
)

// TestPDQNearReference hashes every corpus JPEG decoded by this package and compares
// the hash with the reference C++ hash of the same file, under both conventions. The
// reference port rule (ThreatExchange pdq/README.md) is that a port using its own
// decoder stays within 10 bits of the reference for images of quality 80 or more.
func TestPDQNearReference(t *testing.T) {
	for _, tc := range []struct {
		file    string
		profile dnadb.Profile
	}{
		{"expected.tsv", dnadb.ProfileCLI512},
		{"expected_fullres.tsv", dnadb.ProfileFull},
	} {
		t.Run(string(tc.profile), func(t *testing.T) {
			_, rows := corpus.TSV(t, "pdq", tc.file)
			hist := map[int]int{}
			for _, row := range rows {
				file := row["file"]
				if !strings.HasSuffix(file, ".jpg") && !strings.HasSuffix(file, ".jpeg") {
					continue
				}
				want, err := dnadb.ParseHash256(row["hash"])
				if err != nil {
					t.Fatal(err)
				}
				quality, err := strconv.Atoi(row["quality"])
				if err != nil {
					t.Fatal(err)
				}

				img, err := Decoder{}.DecodeFile(corpus.Path(t, "pdq", file))
				if err != nil {
					t.Fatal(err)
				}
				got, err := pdq.HashImage(img.Pixels, tc.profile)
				if err != nil {
					t.Fatalf("HashImage(%s) error: %v", file, err)
				}

				dist := got.Hash.Distance(want)
				hist[dist]++
				t.Logf("%-40s quality %3d (ours %3d)  distance %2d", file, quality, got.Quality, dist)
				if quality >= 80 && dist > 10 {
					t.Errorf("HashImage(%s) is %d bits from the reference, want at most 10",
						file, dist)
				}
			}
			t.Logf("distances: %s", histogram(hist))
		})
	}
}

// histogram writes a distance histogram as "distance:count" pairs in order.
func histogram(h map[int]int) string {
	keys := make([]int, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	sort.Ints(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%d:%d", k, h[k]))
	}
	return strings.Join(parts, " ")
}
