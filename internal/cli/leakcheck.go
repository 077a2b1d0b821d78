package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/dnadb/dnadb"
)

// runLeakCheck names the consumer organisation whose copy of the distributable set
// a file of hashes found elsewhere came from, by the leak markers it holds.
func runLeakCheck(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("leak-check", "FILE [flags]", stderr)
	open := storeFlags(fs)

	// Take FILE before or after the flags.
	var file string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		file, args = args[0], args[1:]
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if file == "" && fs.NArg() == 1 {
		file = fs.Arg(0)
	} else if file == "" || fs.NArg() > 0 {
		return usagef("leak-check: want one FILE of hashes, one 64-hex PDQ a line " +
			"or feed and snapshot lines")
	}

	// Read the hashes, then the markers, and match them.
	f, err := os.Open(file)
	if err != nil {
		return fmt.Errorf("leak-check: %w", err)
	}
	defer f.Close()
	hashes, err := dnadb.ScanHashes(f)
	if err != nil {
		return fmt.Errorf("leak-check %s: %w", file, err)
	}
	st, err := open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	markers, err := st.LeakMarkers(ctx)
	if err != nil {
		return err
	}
	findings := dnadb.TraceLeak(markers, hashes)

	// Name the organisations, the likeliest first.
	if len(findings) == 0 {
		fmt.Fprintf(stdout, "none: no consumer's markers among %d hashes\n", len(hashes))
		return nil
	}
	for _, fd := range findings {
		name := "?"
		if o, err := st.Org(ctx, fd.OrgID); err == nil {
			name = o.Name
		}
		fmt.Fprintf(stdout, "leaked by %s (org %d): %d of %d markers found among %d hashes\n",
			name, fd.OrgID, fd.Found, fd.Markers, len(hashes))
	}
	return nil
}
