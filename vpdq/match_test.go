package vpdq

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/dnadb/dnadb"
	"github.com/dnadb/dnadb/internal/corpus"
)

// TestComparePairwise reproduces every row of the corpus's pairwise expectations,
// computed by the C++ match-hashes-brute and by python-threatexchange's rules.
func TestComparePairwise(t *testing.T) {
	_, rows := corpus.TSV(t, "vpdq", "pairwise-match-expectations.tsv")
	if len(rows) == 0 {
		t.Fatal("pairwise-match-expectations.tsv has no rows")
	}
	videos := make(map[string][]Frame)
	load := func(name string) []Frame {
		if f, ok := videos[name]; ok {
			return f
		}
		f := readSampleHashes(t, name)
		videos[name] = f
		return f
	}

	for _, row := range rows {
		query, compared := load(row["query"]), load(row["target"])
		for _, tc := range []struct {
			sem                Semantics
			queryCol, otherCol string
		}{
			{CPP, "cpp_brute_query_pct", "cpp_brute_target_pct"},
			{PyTX, "pytx_query_pct", "pytx_compared_pct"},
		} {
			r := Compare(query, compared, MatchOptions{Semantics: tc.sem})
			gotQ := fmt.Sprintf("%.2f", r.QueryPercent)
			gotC := fmt.Sprintf("%.2f", r.ComparedPercent)
			if gotQ != row[tc.queryCol] || gotC != row[tc.otherCol] {
				t.Errorf("Compare(%s, %s, %v) = %s/%s, want %s/%s",
					row["query"], row["target"], tc.sem, gotQ, gotC,
					row[tc.queryCol], row[tc.otherCol])
			}
		}
	}
}

// TestCompareRules checks the points where the two references differ, and the
// empty cases, on hand-made frames.
func TestCompareRules(t *testing.T) {
	var zero, far31, far30 dnadb.Hash256
	for k := range 31 {
		far31.SetBit(k)
	}
	for k := range 30 {
		far30.SetBit(k)
	}
	var other dnadb.Hash256
	for k := range 128 {
		other.SetBit(2 * k)
	}
	frame := func(h dnadb.Hash256, quality int) Frame {
		return Frame{Quality: quality, Hash: h}
	}

	type compareCase struct {
		name            string
		query, compared []Frame
		opts            MatchOptions
		wantQ, wantC    float64
		wantQN, wantCN  int
	}
	tests := []compareCase{
		{
			name:     "distance 31 matches under pytx",
			query:    []Frame{frame(zero, 100)},
			compared: []Frame{frame(far31, 100)},
			wantQ:    100, wantC: 100, wantQN: 1, wantCN: 1,
		},
		{
			name:     "distance 31 does not match under cpp",
			query:    []Frame{frame(zero, 100)},
			compared: []Frame{frame(far31, 100)},
			opts:     MatchOptions{Semantics: CPP},
			wantQ:    0, wantC: 0, wantQN: 1, wantCN: 1,
		},
		{
			name:     "distance 30 matches under cpp",
			query:    []Frame{frame(zero, 100)},
			compared: []Frame{frame(far30, 100)},
			opts:     MatchOptions{Semantics: CPP},
			wantQ:    100, wantC: 100, wantQN: 1, wantCN: 1,
		},
		{
			name:     "cpp counts duplicates",
			query:    []Frame{frame(zero, 100), frame(zero, 100), frame(other, 100)},
			compared: []Frame{frame(zero, 100)},
			opts:     MatchOptions{Semantics: CPP},
			wantQ:    200.0 / 3, wantC: 100, wantQN: 3, wantCN: 1,
		},
		{
			name:     "pytx counts distinct hashes",
			query:    []Frame{frame(zero, 100), frame(zero, 100), frame(other, 100)},
			compared: []Frame{frame(zero, 100)},
			wantQ:    50, wantC: 100, wantQN: 2, wantCN: 1,
		},
		{
			name: "pytx dedupes before the quality filter",
			query: []Frame{
				frame(zero, 10), frame(zero, 100), frame(other, 100),
			},
			compared: []Frame{frame(zero, 100)},
			wantQ:    0, wantC: 0, wantQN: 1, wantCN: 1,
		},
		{
			name:     "quality floor keeps equal quality",
			query:    []Frame{frame(zero, 50), frame(other, 49)},
			compared: []Frame{frame(zero, 100)},
			opts:     MatchOptions{Semantics: CPP},
			wantQ:    100, wantC: 100, wantQN: 1, wantCN: 1,
		},
		{
			name:     "negative floor keeps every frame",
			query:    []Frame{frame(zero, 0), frame(other, 0)},
			compared: []Frame{frame(zero, 0)},
			opts:     MatchOptions{QualityFloor: -1},
			wantQ:    50, wantC: 100, wantQN: 2, wantCN: 1,
		},
		{
			name:     "custom distance",
			query:    []Frame{frame(zero, 100)},
			compared: []Frame{frame(far30, 100)},
			opts:     MatchOptions{Distance: 29},
			wantQ:    0, wantC: 0, wantQN: 1, wantCN: 1,
		},
	}
	for _, sem := range []Semantics{PyTX, CPP} {
		tests = append(tests,
			compareCase{
				name:     "empty query " + sem.String(),
				compared: []Frame{frame(zero, 100)},
				opts:     MatchOptions{Semantics: sem},
				wantCN:   1,
			},
			compareCase{
				name:     "compared all low quality " + sem.String(),
				query:    []Frame{frame(zero, 100)},
				compared: []Frame{frame(zero, 10)},
				opts:     MatchOptions{Semantics: sem},
				wantQN:   1,
			},
		)
	}

	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := Compare(tc.query, tc.compared, tc.opts)
			if r.QueryPercent != tc.wantQ || r.ComparedPercent != tc.wantC {
				t.Errorf("Compare() percents = %v/%v, want %v/%v",
					r.QueryPercent, r.ComparedPercent, tc.wantQ, tc.wantC)
			}
			if r.QueryFrames != tc.wantQN || r.ComparedFrames != tc.wantCN {
				t.Errorf("Compare() frames = %d/%d, want %d/%d",
					r.QueryFrames, r.ComparedFrames, tc.wantQN, tc.wantCN)
			}
		})
	}
}

// BenchmarkCompare matches two chair variants, about 670 frames each.
func BenchmarkCompare(b *testing.B) {
	q := readSampleHashes(b, "chair-22-sd-grey-bar.txt")
	c := readSampleHashes(b, "chair-orig-22-sd-bar.txt")
	for _, sem := range []Semantics{PyTX, CPP} {
		b.Run(sem.String(), func(b *testing.B) {
			for b.Loop() {
				Compare(q, c, MatchOptions{Semantics: sem})
			}
		})
	}
}

// readSampleHashes reads a file of the corpus's vpdq/sample-hashes folder. It has
// its own small parser of the text format (frameNumber,quality,pdqHex,timestamp) so
// that these tests do not depend on the package's reader.
func readSampleHashes(tb testing.TB, name string) []Frame {
	tb.Helper()
	f, err := os.Open(corpus.Path(tb, "vpdq", "sample-hashes", name))
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()

	var frames []Frame
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" {
			continue
		}
		fields := strings.Split(text, ",")
		if len(fields) != 4 {
			tb.Fatalf("%s:%d: %d fields, want 4", name, line, len(fields))
		}
		number, err1 := strconv.Atoi(fields[0])
		quality, err2 := strconv.Atoi(fields[1])
		hash, err3 := dnadb.ParseHash256(fields[2])
		ts, err4 := strconv.ParseFloat(fields[3], 64)
		for _, err := range []error{err1, err2, err3, err4} {
			if err != nil {
				tb.Fatalf("%s:%d: %v", name, line, err)
			}
		}
		frames = append(frames, Frame{Number: number, Quality: quality, Hash: hash, Timestamp: ts})
	}
	if err := sc.Err(); err != nil {
		tb.Fatalf("%s: %v", name, err)
	}
	if len(frames) == 0 {
		tb.Fatalf("%s: no frames", name)
	}
	return frames
}
