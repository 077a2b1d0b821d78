package vpdq

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/dnadb/dnadb"
	"github.com/dnadb/dnadb/ffmpeg"
	"github.com/dnadb/dnadb/ffmpeg/ffmpegtest"
	"github.com/dnadb/dnadb/internal/corpus"
)

// The reference's regression rule (regtest.py with match-hashes-byline): frame i
// against frame i, skipping pairs where either quality is under 50, each within a
// distance under 31.
const (
	regressionQuality  = 50
	regressionDistance = 31
)

// corpusVideo returns the path of a corpus video, skipping the test without
// ffmpeg.
func corpusVideo(tb testing.TB, name string) string {
	tb.Helper()
	ffmpegtest.Require(tb)
	return corpus.Path(tb, "videos", name+".mp4")
}

// refHashes reads a hash file of the corpus's vpdq folder, such as
// "sample-hashes/chair-19-sd-bar.txt".
func refHashes(tb testing.TB, rel string) []Frame {
	tb.Helper()
	f, err := os.Open(corpus.Path(tb, "vpdq", rel))
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	frames, err := ReadText(f)
	if err != nil {
		tb.Fatalf("%s: %v", rel, err)
	}
	return frames
}

// distances compares got with want frame by frame: the frame numbers and the
// timestamps to three decimals must be equal, and frames of quality 50 or more on
// both sides within the regression distance. It returns the mean and the largest
// distance over all frames and the number of identical hashes.
func distances(tb testing.TB, what string, got, want []Frame) (mean float64, most, same int) {
	tb.Helper()
	if len(got) != len(want) {
		tb.Fatalf("%s: %d frames, want %d", what, len(got), len(want))
	}
	sum := 0
	for i, g := range got {
		w := want[i]
		if g.Number != w.Number {
			tb.Fatalf("%s: frame %d is number %d, want %d", what, i, g.Number, w.Number)
		}
		if gt, wt := fmt.Sprintf("%.3f", g.Timestamp), fmt.Sprintf("%.3f", w.Timestamp); gt != wt {
			tb.Errorf("%s: frame %d at %s s, want %s s", what, g.Number, gt, wt)
		}
		d := g.Hash.Distance(w.Hash)
		if g.Quality >= regressionQuality && w.Quality >= regressionQuality &&
			d >= regressionDistance {
			tb.Errorf("%s: frame %d (quality %d and %d) at distance %d, want under %d",
				what, g.Number, g.Quality, w.Quality, d, regressionDistance)
		}
		sum += d
		most = max(most, d)
		if d == 0 {
			same++
		}
	}
	return float64(sum) / float64(max(len(got), 1)), most, same
}

func TestHashCorpus(t *testing.T) {
	ffmpegtest.Require(t)
	_, rows := corpus.TSV(t, "vpdq", "comparison-ffmpeg5.1-vs-sample.tsv")
	if len(rows) != 14 {
		t.Fatalf("comparison TSV has %d rows, want 14", len(rows))
	}

	var table strings.Builder
	tw := tabwriter.NewWriter(&table, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "video\tframes\tvs sample mean\tmax\tsame\tvs ref build mean\tmax\tsame\t"+
		"ref build vs sample mean\tmax\t")
	for _, row := range rows {
		name := strings.TrimSuffix(row["file"], ".txt")
		t.Run(name, func(t *testing.T) {
			v, err := Hash(context.Background(), corpusVideo(t, name), HashOptions{})
			if err != nil {
				t.Fatal(err)
			}
			sample := refHashes(t, "sample-hashes/"+name+".txt")
			build := refHashes(t, "reference-run-ffmpeg5.1/"+name+".txt")
			if v.FPS != 30 || v.FrameCount != len(sample) {
				t.Errorf("Hash: %v fps, %d frames, want 30 fps, %d frames", v.FPS, v.FrameCount,
					len(sample))
			}
			sMean, sMax, sSame := distances(t, "against sample-hashes", v.Frames, sample)
			bMean, bMax, bSame := distances(t, "against the reference build", v.Frames, build)
			fmt.Fprintf(tw, "%s\t%d\t%.3f\t%d\t%d\t%.3f\t%d\t%d\t%s\t%s\t\n", name,
				len(v.Frames), sMean, sMax, sSame, bMean, bMax, bSame,
				row["mean_hamming"], row["max_hamming"])
		})
	}
	tw.Flush()
	t.Logf("Hamming distances, every frame (ours against sample-hashes, against the "+
		"reference C++ build on FFmpeg 5.1, and that build against sample-hashes):\n%s",
		table.String())
}

func TestHashKeepsLowQuality(t *testing.T) {
	v, err := Hash(context.Background(), corpusVideo(t, "doorknob-hd-no-bar"), HashOptions{
		SecondsPerHash: 0.1,
	})
	if err != nil {
		t.Fatal(err)
	}
	low := 0
	for _, f := range v.Frames {
		if f.Quality < regressionQuality {
			low++
		}
	}
	if len(v.Frames) != 40 || low == 0 {
		t.Errorf("Hash(doorknob, every 3rd frame) = %d frames, %d under quality %d; "+
			"want 40, some low", len(v.Frames), low, regressionQuality)
	}
}

func TestHashNoSIMDReproducesSamples(t *testing.T) {
	// The sample hashes but test-padded-dimensions' were made on libswscale's C
	// conversion path: with the SIMD paths off, every frame comes out identical,
	// even doorknob's low-quality ones, which differ by up to 76 bits on this
	// machine's SIMD path.
	v, err := Hash(context.Background(), corpusVideo(t, "doorknob-hd-no-bar"),
		HashOptions{NoSIMD: true})
	if err != nil {
		t.Fatal(err)
	}
	sample := refHashes(t, "sample-hashes/doorknob-hd-no-bar.txt")
	mean, most, same := distances(t, "NoSIMD against sample-hashes", v.Frames, sample)
	t.Logf("NoSIMD against sample-hashes: mean %.3f, max %d, %d of %d identical",
		mean, most, same, len(sample))
	for i, f := range v.Frames {
		if f.Quality != sample[i].Quality {
			t.Errorf("frame %d: quality %d, want %d", f.Number, f.Quality, sample[i].Quality)
		}
	}
	if same != len(sample) {
		t.Errorf("NoSIMD: %d of %d frames identical to sample-hashes, want all", same,
			len(sample))
	}
}

func TestHashDownscale(t *testing.T) {
	for _, name := range []string{"chair-19-sd-bar", "pattern-hd-no-bar"} {
		t.Run(name, func(t *testing.T) {
			v, err := Hash(context.Background(), corpusVideo(t, name),
				HashOptions{Downscale: 128})
			if err != nil {
				t.Fatal(err)
			}
			sample := refHashes(t, "sample-hashes/"+name+"-128x128.txt")
			mean, most, same := distances(t, "128x128 against sample-hashes", v.Frames, sample)
			t.Logf("128x128 against sample-hashes: mean %.3f, max %d, %d of %d identical",
				mean, most, same, len(sample))
		})
	}
}

func TestHashSampling(t *testing.T) {
	path := corpusVideo(t, "pattern-sd-grey-bar") // 206 frames at 30 fps
	all, err := Hash(context.Background(), path, HashOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		seconds float64
		every   int
	}{
		{DefaultSecondsPerHash, 30},
		{0.5, 15},
		{0.1, 3},
		{0.01, 1}, // int(0.3) is 0, which becomes 1
		{100, 3000},
	} {
		t.Run(strconv.FormatFloat(tc.seconds, 'g', -1, 64), func(t *testing.T) {
			v, err := Hash(context.Background(), path, HashOptions{SecondsPerHash: tc.seconds})
			if err != nil {
				t.Fatal(err)
			}
			var want []Frame
			for n := 0; n < len(all.Frames); n += tc.every {
				want = append(want, all.Frames[n])
			}
			if got, want := fmt.Sprint(v.Frames), fmt.Sprint(want); got != want {
				t.Errorf("Hash(every %v s) = %s, want every %d-th frame of the full hash: %s",
					tc.seconds, got, tc.every, want)
			}
			if v.FrameCount != 206 {
				t.Errorf("FrameCount = %d, want 206", v.FrameCount)
			}
		})
	}
}

func TestHashGIF(t *testing.T) {
	// A 2 s endless loop at 10 fps, made from frames 0, 3, 6... of a corpus video.
	name := "pattern-sd-grey-bar"
	gif := ffmpegtest.Make(t, "loop.gif", "-i", corpusVideo(t, name), "-t", "2",
		"-vf", "fps=10", "-loop", "0")
	v, err := Hash(context.Background(), gif, HashOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if v.FPS != 10 || len(v.Frames) != 20 || v.Width != 480 || v.Height != 720 {
		t.Fatalf("Hash(gif) = %v fps, %d frames of %dx%d, want 10 fps, 20 frames of 480x720",
			v.FPS, len(v.Frames), v.Width, v.Height)
	}

	// The 256-colour palette changes some bits, but nearly every frame must still
	// match its source frame.
	sample := refHashes(t, "sample-hashes/"+name+".txt")
	var ds []string
	near := 0
	for i, f := range v.Frames {
		if f.Number != i || f.Timestamp != float64(float32(i)/10) {
			t.Errorf("gif frame %d: number %d at %v s, want %d at %v s", i, f.Number,
				f.Timestamp, i, float32(i)/10)
		}
		d := f.Hash.Distance(sample[3*i].Hash)
		ds = append(ds, strconv.Itoa(d))
		if d < regressionDistance {
			near++
		}
	}
	t.Logf("gif frames against their video frames: distances %s", strings.Join(ds, " "))
	if near < 18 {
		t.Errorf("%d of 20 gif frames within distance %d of their video frames, want 18 or more",
			near, regressionDistance)
	}

	// One frame a second of a 10 fps loop: frames 0 and 10.
	v, err = Hash(context.Background(), gif, HashOptions{SecondsPerHash: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Frames) != 2 || v.Frames[1].Number != 10 || v.Frames[1].Timestamp != 1 {
		t.Errorf("Hash(gif, 1 s) = %v, want frames 0 and 10 (at 1 s)", v.Frames)
	}
}

// mediaFiles makes the broken and unwanted inputs of the error tests.
func mediaFiles(t *testing.T) map[string]string {
	t.Helper()
	ffmpegtest.Require(t)
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	mp4, err := os.ReadFile(corpusVideo(t, "chair-19-sd-bar")) // moov first, 2 MB
	if err != nil {
		t.Fatal(err)
	}
	return map[string]string{
		"missing":         filepath.Join(dir, "missing.mp4"),
		"text":            write("notes.txt", []byte("frame,quality,hash\n")),
		"truncated moov":  write("cut1.mp4", mp4[:15000]),
		"truncated media": write("cut2.mp4", mp4[:len(mp4)/2]),
		"audio only": ffmpegtest.Make(t, "audio.m4a", "-f", "lavfi",
			"-i", "anullsrc=r=8000:cl=mono", "-t", "1", "-c:a", "aac"),
		"zero frames": write("zero.y4m", []byte("YUV4MPEG2 W64 H64 F25:1 Ip A1:1 C420jpeg\n")),
		"tiny frames": ffmpegtest.Make(t, "tiny.y4m", "-f", "lavfi",
			"-i", "testsrc=s=4x4:r=5", "-t", "1", "-pix_fmt", "yuv420p"),
	}
}

func TestHashErrors(t *testing.T) {
	files := mediaFiles(t)
	for _, tc := range []struct {
		file string
		opts HashOptions
		kind error
		is   error // another error it must wrap, if not nil
	}{
		{"missing", HashOptions{}, dnadb.ErrNotFound, nil},
		{"text", HashOptions{}, dnadb.ErrInvalid, nil},
		{"truncated moov", HashOptions{}, dnadb.ErrInvalid, nil},
		{"truncated media", HashOptions{}, dnadb.ErrInvalid, nil},
		{"audio only", HashOptions{}, dnadb.ErrUnsupported, ffmpeg.ErrNoVideo},
		{"zero frames", HashOptions{}, dnadb.ErrInvalid, ffmpeg.ErrNoFrames},
		{"tiny frames", HashOptions{}, dnadb.ErrInvalid, nil},
		{"zero frames", HashOptions{MaxPixels: 4095}, dnadb.ErrTooLarge, nil},
		{"zero frames", HashOptions{SecondsPerHash: -1}, dnadb.ErrInvalid, nil},
		{"zero frames", HashOptions{SecondsPerHash: math.NaN()}, dnadb.ErrInvalid, nil},
		{"zero frames", HashOptions{SecondsPerHash: math.Inf(1)}, dnadb.ErrInvalid, nil},
		{"zero frames", HashOptions{Downscale: 4}, dnadb.ErrInvalid, nil},
		{"zero frames", HashOptions{Workers: -1}, dnadb.ErrInvalid, nil},
	} {
		t.Run(fmt.Sprintf("%s/%+v", tc.file, tc.opts), func(t *testing.T) {
			_, err := Hash(context.Background(), files[tc.file], tc.opts)
			t.Log(err)
			if got := dnadb.KindOf(err); got != tc.kind {
				t.Fatalf("Hash(%s) = %v, of kind %v, want %v", tc.file, err, got, tc.kind)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("Hash(%s) = %v, want it to wrap %v", tc.file, err, tc.is)
			}
			checkNoChildren(t)
		})
	}
}

func TestHashTimeoutAndCancel(t *testing.T) {
	path := corpusVideo(t, "pattern-longer-no-bar") // seconds of work at every frame

	start := time.Now()
	_, err := Hash(context.Background(), path, HashOptions{Timeout: 300 * time.Millisecond})
	t.Logf("after %v: %v", time.Since(start), err)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Hash(300ms limit) = %v, want context.DeadlineExceeded", err)
	}
	checkNoChildren(t)

	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(300*time.Millisecond, cancel)
	_, err = Hash(ctx, path, HashOptions{})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Hash(cancelled after 300ms) = %v, want context.Canceled", err)
	}
	checkNoChildren(t)

	_, err = Hash(ctx, path, HashOptions{})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Hash(cancelled) = %v, want context.Canceled", err)
	}
}

// checkNoChildren fails the test if this process has a child process left,
// running or not yet waited for (a zombie).
func checkNoChildren(tb testing.TB) {
	tb.Helper()
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return // not Linux
	}
	me := strconv.Itoa(os.Getpid())
	for _, e := range ents {
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...; comm may hold spaces, so cut after its ')'.
		s := string(b)
		fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(fields) > 1 && fields[1] == me {
			tb.Errorf("child process left: %s", strings.TrimSpace(s))
		}
	}
}

func TestDigests(t *testing.T) {
	// The MD5 is the one ThreatExchange's PDQMD5TestData.csv gives; the SHA-256
	// is coreutils sha256sum's.
	md5hex, sha, err := Digests(corpus.Path(t, "videos", "chair-19-sd-bar.mp4"))
	if err != nil {
		t.Fatal(err)
	}
	if want := "0a21c8f85a55a9e276ffc2c53f6887c4"; md5hex != want {
		t.Errorf("MD5 = %s, want %s", md5hex, want)
	}
	if want := "13e290f217e19427f959b9cd629c336eeb04b035ae8fe0e28c345d37ec906882"; sha != want {
		t.Errorf("SHA-256 = %s, want %s", sha, want)
	}

	_, _, err = Digests(filepath.Join(t.TempDir(), "missing.mp4"))
	if !errors.Is(err, dnadb.ErrNotFound) {
		t.Errorf("Digests(missing) = %v, want ErrNotFound", err)
	}
}

func TestFrameMod(t *testing.T) {
	for _, tc := range []struct {
		seconds, fps float64
		want         int
	}{
		{0, 30, 1}, {1, 30, 30}, {1, 29.97, 29}, {1, 0.5, 1}, {0.5, 25, 12},
		{1, 30000.0 / 1001, 29}, {2, 30000.0 / 1001, 59}, {1e300, 30, math.MaxInt32},
	} {
		if got := frameMod(tc.seconds, tc.fps); got != tc.want {
			t.Errorf("frameMod(%v, %v) = %d, want %d", tc.seconds, tc.fps, got, tc.want)
		}
	}
}
