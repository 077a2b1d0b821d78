package cli

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/dnadb/dnadb"
	"github.com/dnadb/dnadb/fingerprint"
	"github.com/dnadb/dnadb/imagefile"
	"github.com/dnadb/dnadb/pdq"
	"github.com/dnadb/dnadb/server"
	"github.com/dnadb/dnadb/vpdq"
)

func runHash(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("hash", "[flags] PATH...", stderr)
	profile := fs.String("profile", string(dnadb.ProfileFull),
		"pixel preparation: full (native size) or cli512 (the reference CLI's 512 squash)")
	dihedral := fs.Bool("dihedral", false, "also print the 8 dihedral variant hashes")
	format := fs.String("format", "text", "output: text (hash,quality,path), tsv or json")
	jobs := fs.Int("jobs", 0, "files hashed at once; 0 means one per CPU")
	maxPixels := fs.Int64("max-pixels", imagefile.DefaultMaxPixels,
		"largest photo or video frame, in pixels")
	videoFormat := fs.String("video-format", "vpdq",
		"how video frames print: vpdq (the reference's lines) or pytx (python-threatexchange's JSON)")
	vo := videoFlags(fs, vpdq.DefaultSecondsPerHash)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *videoFormat != "vpdq" && *videoFormat != "pytx" {
		return usagef("--video-format %q is not vpdq or pytx", *videoFormat)
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
	outVideo := newVideoWriter(*format, *videoFormat, stdout)

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
	hashFiles(ctx, files, h, vo(*maxPixels), *jobs, stderr, func(r hashed) {
		if r.err != nil {
			failed++
			fmt.Fprintf(stderr, "dnadb: %v\n", r.err)
			return
		}
		if r.video != nil {
			if err := r.video.Usable(r.path, server.DefaultQualityFloor); err != nil {
				fmt.Fprintf(stderr, "dnadb: %v: too weak to register or match\n", err)
			}
			outVideo(r)
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

// videoFlags adds the flags of video hashing and returns a function that makes
// the options once they are parsed.
func videoFlags(fs *flag.FlagSet, every0 float64) func(maxPixels int64) vpdq.HashOptions {
	every := fs.Float64("seconds-per-hash", every0,
		"video sampling: one vPDQ hash every so many seconds; 0 hashes every frame")
	timeout := fs.Duration("video-timeout", 0, "longest a video may take to decode; 0 means 10m")
	return func(maxPixels int64) vpdq.HashOptions {
		return vpdq.HashOptions{SecondsPerHash: *every, MaxPixels: maxPixels, Timeout: *timeout}
	}
}

// newVideoWriter returns a function printing one hashed video. In the text
// format a header line "# path md5=... sha256=... fps=... frames=N" comes first,
// then the frames in the video format; tsv prints one row per frame; json one
// object per video.
func newVideoWriter(format, videoFormat string, w io.Writer) func(hashed) {
	frames := func(v *fingerprint.Video) any {
		if videoFormat == "pytx" {
			data, _ := vpdq.MarshalPyTX(v.Frames)
			return json.RawMessage(data)
		}
		return dnadb.FormatVPDQ(v.Frames)
	}
	switch format {
	case "tsv":
		return func(r hashed) {
			// One row per frame, in the photo columns: no profile, the format
			// naming the frame and its time, the video's size.
			v := r.video
			for _, f := range v.Frames {
				fmt.Fprintf(w, "%s\t%s\t%d\t\tvpdq:frame=%d:t=%.3f\t%d\t%d\n", r.path, f.Hash,
					f.Quality, f.Number, f.Timestamp, v.Width, v.Height)
			}
		}
	case "json":
		enc := json.NewEncoder(w)
		return func(r hashed) {
			v := r.video
			enc.Encode(map[string]any{
				"path": r.path, "md5": v.MD5, "sha256": v.SHA256, "fps": v.FPS,
				"width": v.Width, "height": v.Height, "duration": v.Duration,
				videoFormat: frames(v),
			})
		}
	}
	return func(r hashed) {
		v := r.video
		fmt.Fprintf(w, "# %s md5=%s sha256=%s fps=%g frames=%d\n", r.path, v.MD5, v.SHA256,
			v.FPS, len(v.Frames))
		switch f := frames(v).(type) {
		case string:
			fmt.Fprint(w, f)
		case json.RawMessage:
			fmt.Fprintf(w, "%s\n", f)
		}
	}
}
