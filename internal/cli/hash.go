package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/dnadb/dnadb"
	"github.com/dnadb/dnadb/fingerprint"
	"github.com/dnadb/dnadb/imagefile"
	"github.com/dnadb/dnadb/pdq"
	"github.com/dnadb/dnadb/server"
)

func runHash(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("hash", "[flags] PATH...", stderr)
	profile := fs.String("profile", string(dnadb.ProfileFull),
		"pixel preparation: full (native size) or cli512 (the reference CLI's 512 squash)")
	dihedral := fs.Bool("dihedral", false, "also print the 8 dihedral variant hashes")
	format := fs.String("format", "text", "output: text (hash,quality,path), tsv or json")
	jobs := fs.Int("jobs", 0, "files hashed at once; 0 means one per CPU")
	maxPixels := fs.Int64("max-pixels", imagefile.DefaultMaxPixels, "largest photo, in pixels")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *jobs < 0 {
		return usagef("--jobs %d is negative; 0 means one per CPU", *jobs)
	}
	if *maxPixels <= 0 {
		return usagef("--max-pixels %d is not positive", *maxPixels)
	}
	if fs.NArg() == 0 {
		return usagef("hash: name at least one file or directory")
	}
	if !dnadb.Profile(*profile).Valid() {
		return usagef("--profile %q is not full or cli512", *profile)
	}
	out, err := newHashWriter(*format, *dihedral, stdout)
	if err != nil {
		return err
	}

	files, err := collectFiles(fs.Args())
	if err != nil {
		return err
	}
	h := fingerprint.Hasher{
		Decoder:  imagefile.Decoder{MaxPixels: *maxPixels},
		Profile:  dnadb.Profile(*profile),
		Dihedral: *dihedral,
	}

	failed := 0
	hashFiles(ctx, files, h, *jobs, stderr, func(r hashed) {
		if r.err != nil {
			failed++
			fmt.Fprintf(stderr, "dnadb: %v\n", r.err)
			return
		}
		if r.photo.Quality < server.DefaultQualityFloor {
			fmt.Fprintf(stderr, "dnadb: %s: quality %d is under %d: too weak to register or match\n",
				r.path, r.photo.Quality, server.DefaultQualityFloor)
		}
		out(r)
	})
	if failed > 0 {
		fmt.Fprintf(stderr, "dnadb: %d of %d files failed\n", failed, len(files))
		return errReported
	}
	return nil
}

// newHashWriter returns a function printing one hashed file in the given format.
func newHashWriter(format string, dihedral bool, w io.Writer) (func(hashed), error) {
	variants := func(p fingerprint.Photo) []string {
		out := make([]string, pdq.NumVariants)
		for i, h := range p.Dihedral {
			out[i] = h.String()
		}
		return out
	}
	switch format {
	case "text":
		return func(r hashed) {
			hashes := r.photo.Hash.String()
			if dihedral {
				hashes = strings.Join(variants(r.photo), ",")
			}
			fmt.Fprintf(w, "%s,%d,%s\n", hashes, r.photo.Quality, r.path)
		}, nil
	case "tsv":
		cols := []string{"path", "hash", "quality", "profile", "format", "width", "height"}
		if dihedral {
			for v := range pdq.NumVariants {
				cols = append(cols, pdq.Variant(v).String())
			}
		}
		fmt.Fprintln(w, strings.Join(cols, "\t"))
		return func(r hashed) {
			p := r.photo
			fmt.Fprintf(w, "%s\t%s\t%d\t%s\t%s\t%d\t%d", r.path, p.Hash, p.Quality,
				p.Profile, p.Format, p.Width, p.Height)
			if dihedral {
				fmt.Fprint(w, "\t"+strings.Join(variants(p), "\t"))
			}
			fmt.Fprintln(w)
		}, nil
	case "json":
		enc := json.NewEncoder(w)
		return func(r hashed) {
			p := r.photo
			v := map[string]any{
				"path": r.path, "hash": p.Hash.String(), "quality": p.Quality,
				"profile": p.Profile, "format": p.Format, "width": p.Width, "height": p.Height,
			}
			if dihedral {
				d := map[string]string{}
				for i, h := range variants(p) {
					d[pdq.Variant(i).String()] = h
				}
				v["dihedral"] = d
			}
			enc.Encode(v)
		}, nil
	}
	return nil, usagef("--format %q is not text, tsv or json", format)
}
