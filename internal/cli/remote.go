package cli

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strconv"

	"github.com/dnadb/dnadb"
	"github.com/dnadb/dnadb/api"
	"github.com/dnadb/dnadb/client"
	"github.com/dnadb/dnadb/fingerprint"
	"github.com/dnadb/dnadb/server"
	"github.com/dnadb/dnadb/vpdq"
)

// remoteFlags adds the --server and --token flags every remote command takes, and
// returns a function that makes the client once the flags are parsed.
func remoteFlags(fs *flag.FlagSet) func() (*client.Client, error) {
	srv := fs.String("server", "http://"+server.DefaultAddr, "dnadb server URL")
	token := fs.String("token", "", "access token (better set as DNADB_TOKEN, out of ps)")
	return func() (*client.Client, error) {
		if *token == "" {
			return nil, usagef("--token is required (or set DNADB_TOKEN)")
		}
		c, err := client.New(*srv, nil)
		if err != nil {
			return nil, usagef("--server: %v", err)
		}
		return c.WithToken(*token), nil
	}
}

func runRegister(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("register", "--category C [flags] PATH...", stderr)
	connect := remoteFlags(fs)
	category := fs.String("category", "", "category: illegal_filming, csam, synthetic or other")
	ref := fs.String("ref", "", "your own case reference (opaque text)")
	profile := fs.String("profile", string(dnadb.ProfileFull), "PDQ profile: full or cli512")
	vo := videoFlags(fs, server.DefaultRegisterSecondsPerHash)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return usagef("register: name at least one file or directory")
	}
	if !dnadb.Category(*category).Valid() {
		return usagef("--category %q is not one of %v", *category, dnadb.Categories)
	}
	if !dnadb.Profile(*profile).Valid() {
		return usagef("--profile %q is not full or cli512", *profile)
	}
	c, err := connect()
	if err != nil {
		return err
	}
	floor, err := qualityFloor(ctx, c)
	if err != nil {
		return err
	}
	files, err := collectFiles(fs.Args())
	if err != nil {
		return err
	}

	// Hash locally, so that only the signals leave this machine, and register each
	// photo or video as one item as soon as its fingerprint is ready.
	failed := 0
	h := fingerprint.Hasher{Profile: dnadb.Profile(*profile)}
	hashFiles(ctx, files, h, vo(0), 0, stderr, func(r hashed) {
		signals, fp, err := registrable(r, floor)
		if err == nil {
			var reg api.Registration
			reg, err = c.CreateItem(ctx, dnadb.NewItem{
				Category: dnadb.Category(*category), Reference: *ref, Signals: signals,
			})
			if err == nil {
				known := "new"
				if reg.Duplicate {
					known = "known"
				}
				fmt.Fprintf(stdout, "%d\t%s\t%s\t%s\t%s\n", reg.Item.ID, reg.Item.Status,
					known, fp, r.path)
				return
			}
			err = fmt.Errorf("%s: %w", r.path, err)
		}
		failed++
		fmt.Fprintf(stderr, "dnadb: %v\n", err)
	})
	if failed > 0 {
		fmt.Fprintf(stderr, "dnadb: %d of %d files not registered\n", failed, len(files))
		return errReported
	}
	return nil
}

// registrable returns the signals of a hashed file and a short form of its
// fingerprint to print, or why it cannot be registered.
func registrable(r hashed, floor int) ([]dnadb.Signal, string, error) {
	switch {
	case r.err != nil:
		return nil, "", r.err
	case r.video != nil:
		if err := r.video.Usable(r.path, floor); err != nil {
			return nil, "", fmt.Errorf("%w, not registered", err)
		}
		return r.video.Signals(), "sha256:" + r.video.SHA256, nil
	case r.photo.Quality < floor:
		return nil, "", dnadb.Errorf(dnadb.ErrLowQuality,
			"%s: quality %d is under the server's floor %d, not registered",
			r.path, r.photo.Quality, floor)
	}
	return []dnadb.Signal{r.photo.Signal()}, r.photo.Hash.String(), nil
}

func runMatch(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("match", "[flags] PATH...", stderr)
	connect := remoteFlags(fs)
	dihedral := fs.Bool("dihedral", false, "also match rotated and flipped versions")
	threshold := fs.Int("threshold", 0, "largest distance; 0 means the server's")
	profile := fs.String("profile", string(dnadb.ProfileFull), "PDQ profile: full or cli512")
	format := fs.String("format", "text", "output: text or json")
	semantics := fs.String("semantics", "pytx", "video percentages: pytx or cpp")
	vo := videoFlags(fs, vpdq.DefaultSecondsPerHash)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return usagef("match: name at least one file or directory")
	}
	if *semantics != "pytx" && *semantics != "cpp" {
		return usagef("--semantics %q is not pytx or cpp", *semantics)
	}
	if *format != "text" && *format != "json" {
		return usagef("--format %q is not text or json", *format)
	}
	c, err := connect()
	if err != nil {
		return err
	}
	floor, err := qualityFloor(ctx, c)
	if err != nil {
		return err
	}
	files, err := collectFiles(fs.Args())
	if err != nil {
		return err
	}

	// Hash every file locally, keeping the ones that hashed well enough to match.
	h := fingerprint.Hasher{Profile: dnadb.Profile(*profile), Dihedral: *dihedral}
	var queries []api.MatchQuery
	var paths []string // the file of each query
	failed := 0
	enc := json.NewEncoder(stdout)
	hashFiles(ctx, files, h, vo(0), 0, stderr, func(r hashed) {
		if r.err != nil {
			failed++
			fmt.Fprintf(stderr, "dnadb: %v\n", r.err)
			return
		}

		// A video is matched on its own as soon as it is hashed.
		if v := r.video; v != nil {
			resp, err := c.MatchVideo(ctx, api.VideoMatchRequest{
				VPDQ: dnadb.FormatVPDQ(v.Frames), MD5: v.MD5, SHA256: v.SHA256,
				Semantics: *semantics, Threshold: *threshold,
			})
			if err != nil {
				failed++
				fmt.Fprintf(stderr, "dnadb: %s: %v\n", r.path, err)
				return
			}
			resp.Ref = r.path
			if *format == "json" {
				enc.Encode(resp)
				return
			}
			printVideoMatch(stdout, resp)
			return
		}

		q := r.photo.Quality
		if q < floor {
			failed++
			fmt.Fprintf(stderr, "dnadb: %s: quality %d is under the server's floor %d, "+
				"too weak to match\n", r.path, q, floor)
			return
		}
		// The ref sent is the file's place in the batch, never its path: a file
		// name may say whose photo it is.
		mq := api.MatchQuery{Ref: strconv.Itoa(len(queries)), Hash: r.photo.Hash.String(),
			Quality: &q}
		paths = append(paths, r.path)
		if *dihedral {
			for _, v := range r.photo.Dihedral {
				mq.Dihedral = append(mq.Dihedral, v.String())
			}
		}
		queries = append(queries, mq)
	})

	// Match the photos in batches the server accepts.
	for start := 0; start < len(queries); start += server.DefaultMaxBatch {
		batch := queries[start:min(start+server.DefaultMaxBatch, len(queries))]
		results, err := matchBatch(ctx, c, batch, *threshold)
		if err != nil {
			return fmt.Errorf("match %s to %s: %w", paths[start],
				paths[start+len(batch)-1], err)
		}
		for _, r := range results {
			if i, err := strconv.Atoi(r.Ref); err == nil && i >= 0 && i < len(paths) {
				r.Ref = paths[i]
			}
			if *format == "json" {
				enc.Encode(r)
				continue
			}
			printMatch(stdout, r)
		}
	}
	if failed > 0 {
		fmt.Fprintf(stderr, "dnadb: %d of %d files not matched\n", failed, len(files))
		return errReported
	}
	return nil
}

// matchBatch sends one batch.
func matchBatch(ctx context.Context, c *client.Client, batch []api.MatchQuery,
	threshold int) ([]api.MatchResult, error) {
	resp, err := c.Match(ctx, api.MatchRequest{Queries: batch, Threshold: threshold})
	return resp.Results, err
}

// qualityFloor asks the server for the lowest quality it stores or matches.
func qualityFloor(ctx context.Context, c *client.Client) (int, error) {
	h, err := c.Health(ctx)
	if err != nil {
		return 0, fmt.Errorf("ask the server for its quality floor: %w", err)
	}
	return h.QualityFloor, nil
}

// printVideoMatch prints one video's matches as text, a line per match with its
// segments as query range = item range.
func printVideoMatch(w io.Writer, r api.VideoMatchResponse) {
	if len(r.Matches) == 0 {
		fmt.Fprintf(w, "%s: no match\n", r.Ref)
		return
	}
	for _, m := range r.Matches {
		fmt.Fprintf(w, "%s: item %d (%s) query %.2f%% item %.2f%%", r.Ref, m.ItemID, m.Category,
			m.QueryPercent, m.ComparedPercent)
		if m.Exact {
			fmt.Fprint(w, " exact copy")
		}
		for _, sg := range m.Segments {
			fmt.Fprintf(w, " %s-%s=%s-%s", clock(sg.QueryStart), clock(sg.QueryEnd),
				clock(sg.ItemStart), clock(sg.ItemEnd))
		}
		fmt.Fprintln(w)
	}
}

// clock writes seconds as m:ss.s.
func clock(s float64) string {
	m := int(s) / 60
	return fmt.Sprintf("%d:%04.1f", m, s-float64(60*m))
}

// printMatch prints one result as text.
func printMatch(w io.Writer, r api.MatchResult) {
	if len(r.Matches) == 0 {
		fmt.Fprintf(w, "%s: no match\n", r.Ref)
		return
	}
	for _, m := range r.Matches {
		fmt.Fprintf(w, "%s: item %d (%s) distance %d variant %s\n", r.Ref, m.ItemID,
			m.Category, m.Distance, m.Variant)
	}
}

func runDecide(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("decide", "[flags] ID confirm|reject|withdraw", stderr)
	connect := remoteFlags(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 2 {
		return usagef("decide: want ID and a decision (confirm, reject or withdraw)")
	}
	id, err := strconv.ParseInt(fs.Arg(0), 10, 64)
	if err != nil || id <= 0 {
		return usagef("decide: item id %q is not a positive integer", fs.Arg(0))
	}
	d := dnadb.Decision(fs.Arg(1))
	if _, ok := d.Status(); !ok {
		return usagef("decide: %q is not confirm, reject or withdraw", fs.Arg(1))
	}
	c, err := connect()
	if err != nil {
		return err
	}

	it, err := c.Decide(ctx, id, d)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%d\t%s\n", it.ID, it.Status)
	return nil
}
