// Package corpus finds the shared reference corpus for tests: reference images,
// videos and the hashes that the reference implementations produce for them.
//
// The corpus lives outside the repository, in ../shared/corpus relative to the
// repository root, or wherever DNADB_CORPUS points. It is never copied in.
package corpus

import (
	"bufio"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// Env names the environment variable that overrides the corpus location.
const Env = "DNADB_CORPUS"

// Root returns the corpus directory and whether it exists.
func Root() (string, bool) {
	dir := os.Getenv(Env)
	if dir == "" {
		_, file, _, _ := runtime.Caller(0)
		repo := filepath.Join(filepath.Dir(file), "..", "..")
		dir = filepath.Join(repo, "..", "shared", "corpus")
	}
	st, err := os.Stat(dir)
	return dir, err == nil && st.IsDir()
}

// Path returns the path of elem inside the corpus, skipping the test with a clear
// message when the corpus is absent. With DNADB_REQUIRE_TOOLS=1, as in CI, an absent
// corpus fails the test instead.
func Path(tb testing.TB, elem ...string) string {
	tb.Helper()
	root, ok := Root()
	if !ok {
		msg := "reference corpus not found at " + root + "; set " + Env
		if os.Getenv("DNADB_REQUIRE_TOOLS") == "1" {
			tb.Fatal(msg)
		}
		tb.Skip(msg)
	}
	return filepath.Join(append([]string{root}, elem...)...)
}

// TSV reads a tab-separated file from the corpus. It returns the header fields and
// one map per row, keyed by header. Lines starting with # are skipped.
func TSV(tb testing.TB, elem ...string) (header []string, rows []map[string]string) {
	tb.Helper()
	f, err := os.Open(Path(tb, elem...))
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()

	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Split(line, "\t")
		if header == nil {
			header = fields
			continue
		}
		row := make(map[string]string, len(header))
		for i, h := range header {
			if i < len(fields) {
				row[h] = fields[i]
			}
		}
		rows = append(rows, row)
	}
	if err := sc.Err(); err != nil {
		tb.Fatal(err)
	}
	return header, rows
}
