package cli

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/dnadb/dnadb"
	"github.com/dnadb/dnadb/fingerprint"
	"github.com/dnadb/dnadb/vpdq"
)

// mediaExts are the file name extensions taken from a directory walk. A file named
// on the command line is hashed whatever its name.
var mediaExts = map[string]bool{
	".jpg": true, ".jpeg": true, ".jpe": true, ".png": true, ".gif": true,
	".webp": true, ".bmp": true, ".tif": true, ".tiff": true,
	// Videos, which ffmpeg decodes.
	".mp4": true, ".m4v": true, ".mov": true, ".mkv": true, ".webm": true, ".avi": true,
	".wmv": true, ".flv": true, ".mpg": true, ".mpeg": true, ".ts": true, ".3gp": true,
}

// progressMin is the smallest batch that shows a progress bar.
const progressMin = 50

// collectFiles expands paths: files as given, directories walked recursively for
// files named as photos or videos (mediaExts), in name order; symbolic links in a directory
// are not followed. A named file is hashed whatever its name, since the decoder
// goes by content. A directory without photo files is an error.
func collectFiles(paths []string) ([]string, error) {
	var files []string
	for _, p := range paths {
		// A path that cannot be read is kept, so that it fails as one file of the
		// batch, named on stderr, while the others go on.
		st, err := os.Stat(p)
		if err != nil || !st.IsDir() {
			files = append(files, p)
			continue
		}
		var found []string
		err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.Type().IsRegular() && mediaExts[strings.ToLower(filepath.Ext(path))] {
				found = append(found, path)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("walk %s: %w", p, err)
		}
		if len(found) == 0 {
			return nil, dnadb.Errorf(dnadb.ErrNotFound,
				"%s: no photo or video files in it (looked for %s)", p, mediaExtList())
		}
		sort.Strings(found)
		files = append(files, found...)
	}
	return files, nil
}

// mediaExtList lists the file name extensions a directory walk picks, in order.
func mediaExtList() string {
	exts := make([]string, 0, len(mediaExts))
	for e := range mediaExts {
		exts = append(exts, e)
	}
	sort.Strings(exts)
	return strings.Join(exts, " ")
}

// hashed is the outcome of hashing one file.
type hashed struct {
	path  string
	photo fingerprint.Photo
	// video is set when the file is a video; photo is then zero.
	video *fingerprint.Video
	err   error
}

// hashFiles hashes files on jobs workers (zero means one per CPU) and calls emit
// for each outcome in the order of files, as soon as it and every earlier one are
// done. A progress bar goes to stderr when it is a terminal and the batch is large.
func hashFiles(ctx context.Context, files []string, h fingerprint.Hasher,
	vo vpdq.HashOptions, jobs int, stderr io.Writer, emit func(hashed)) {
	if jobs <= 0 {
		jobs = runtime.GOMAXPROCS(0)
	}
	var bar *progressbar.ProgressBar
	if f, ok := stderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) &&
		len(files) >= progressMin {
		bar = progressbar.NewOptions(len(files), progressbar.OptionSetWriter(stderr),
			progressbar.OptionSetDescription("hashing"), progressbar.OptionShowCount(),
			progressbar.OptionClearOnFinish())
	}

	// Workers take indexes from next and fill their slot; each slot has a channel
	// closed when it is done, so emit runs in input order.
	results := make([]hashed, len(files))
	done := make([]chan struct{}, len(files))
	for i := range done {
		done[i] = make(chan struct{})
	}
	next := make(chan int)
	var wg sync.WaitGroup
	for range jobs {
		wg.Go(func() {
			for i := range next {
				r := hashed{path: files[i]}
				switch {
				case ctx.Err() != nil:
					r.err = ctx.Err()
				case h.Kind(ctx, files[i]) == fingerprint.MediaVideo:
					v, err := fingerprint.HashVideo(ctx, files[i], vo)
					r.video, r.err = &v, err
				default:
					r.photo, r.err = h.HashFile(files[i])
				}
				results[i] = r
				close(done[i])
			}
		})
	}
	go func() {
		for i := range files {
			next <- i
		}
		close(next)
	}()

	for i := range files {
		<-done[i]
		emit(results[i])
		if bar != nil {
			bar.Add(1)
		}
	}
	wg.Wait()
	if bar != nil {
		bar.Finish()
	}
}
