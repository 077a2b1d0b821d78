package ffmpeg

import (
	"bufio"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dnadb/dnadb"
	"github.com/dnadb/dnadb/ffmpeg/ffmpegtest"
	"github.com/dnadb/dnadb/imagefile"
	"github.com/dnadb/dnadb/internal/corpus"
)

// No test here runs in parallel: several check that no child process is left,
// which another test's ffmpeg would spoil.

// video returns the path of a corpus video, skipping the test without ffmpeg.
func video(tb testing.TB, name string) string {
	tb.Helper()
	ffmpegtest.Require(tb)
	return corpus.Path(tb, "videos", name+".mp4")
}

// corpusVideo is a line of the corpus's videos/README.txt table.
type corpusVideo struct {
	name          string
	width, height int
	frames        int
	duration      float64
}

// corpusVideos reads the table of videos/README.txt: "file | WxH | frames |
// duration", as FFmpeg 5.1.9's ffprobe reported them.
func corpusVideos(tb testing.TB) []corpusVideo {
	tb.Helper()
	f, err := os.Open(corpus.Path(tb, "videos", "README.txt"))
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()

	var vs []corpusVideo
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		cols := strings.Split(sc.Text(), " | ")
		if len(cols) != 4 || !strings.HasSuffix(cols[0], ".mp4") {
			continue
		}
		var v corpusVideo
		v.name = strings.TrimSuffix(cols[0], ".mp4")
		_, err1 := fmt.Sscanf(cols[1], "%dx%d", &v.width, &v.height)
		v.frames, err = strconv.Atoi(cols[2])
		v.duration, _ = strconv.ParseFloat(cols[3], 64)
		if err1 != nil || err != nil {
			tb.Fatalf("videos/README.txt: bad line %q", sc.Text())
		}
		vs = append(vs, v)
	}
	if len(vs) != 14 {
		tb.Fatalf("videos/README.txt lists %d videos, want 14", len(vs))
	}
	return vs
}

func TestProbeCorpus(t *testing.T) {
	for _, v := range corpusVideos(t) {
		t.Run(v.name, func(t *testing.T) {
			info, err := Probe(context.Background(), video(t, v.name))
			if err != nil {
				t.Fatal(err)
			}
			want := Info{Stream: 0, Width: v.width, Height: v.height, FPS: 30, Codec: "h264",
				PixelFormat: "yuv420p", Format: "mov,mp4,m4a,3gp,3g2,mj2",
				Duration: v.duration, Frames: v.frames}
			if info != want {
				t.Errorf("Probe = %+v, want %+v", info, want)
			}
		})
	}
}

// collect runs Frames and returns the numbers of the frames and a digest of each.
func collect(tb testing.TB, path string, opts Options) ([]int, []string, error) {
	tb.Helper()
	var numbers []int
	var sums []string
	_, err := Frames(context.Background(), path, opts, func(f Frame) error {
		if len(f.Pix) != 3*f.Width*f.Height {
			tb.Fatalf("frame %d: %d bytes for %dx%d", f.Number, len(f.Pix), f.Width, f.Height)
		}
		numbers = append(numbers, f.Number)
		sums = append(sums, fmt.Sprintf("%x", sha256.Sum256(f.Pix)))
		return nil
	})
	return numbers, sums, err
}

func TestFramesSelection(t *testing.T) {
	path := video(t, "test-padded-dimensions") // 150 frames, 1080x1080
	all, allSums, err := collect(t, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 150 || all[0] != 0 || all[149] != 149 {
		t.Fatalf("every frame: got %d frames numbered %d..%d, want 150 numbered 0..149",
			len(all), all[0], all[len(all)-1])
	}

	// Every 30th frame: the same pixels as those frames decoded with all others.
	got, sums, err := collect(t, path, Options{Every: 30})
	if err != nil {
		t.Fatal(err)
	}
	if want := []int{0, 30, 60, 90, 120}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("Every 30: frames %v, want %v", got, want)
	}
	for i, n := range got {
		if sums[i] != allSums[n] {
			t.Errorf("Every 30: frame %d differs from frame %d of the full decode", n, n)
		}
	}

	// Downscaled frames have the asked size.
	var sizes []string
	_, err = Frames(context.Background(), path, Options{Every: 100, Size: 64},
		func(f Frame) error {
			sizes = append(sizes, fmt.Sprintf("%d:%dx%d", f.Number, f.Width, f.Height))
			return nil
		})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(sizes, " "), "0:64x64 100:64x64"; got != want {
		t.Errorf("Size 64: frames %s, want %s", got, want)
	}
}

func TestFramesIgnoreColourMatrix(t *testing.T) {
	// The same H.264 pictures tagged BT.709 in the bitstream: the reference
	// converts them with libswscale's default BT.601 all the same, and so must
	// Frames.
	path := video(t, "pattern-sd-grey-bar")
	tagged := ffmpegtest.Make(t, "bt709.mp4", "-i", path, "-map", "0:v", "-c", "copy",
		"-bsf:v", "h264_metadata=colour_primaries=1:transfer_characteristics=1:"+
			"matrix_coefficients=1")
	_, want, err := collect(t, path, Options{Every: 10})
	if err != nil {
		t.Fatal(err)
	}
	_, got, err := collect(t, tagged, Options{Every: 10})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("frames of the BT.709-tagged copy differ from the original's")
	}
}

func TestFilterGraph(t *testing.T) {
	// The range is libswscale's default for the decoder's pixel format, which is
	// what the reference gets: full for the JPEG and grey formats (a full-range
	// H.264 stream decodes to yuvj420p), limited for the others.
	const scale = "scale=64:48:flags=area:in_color_matrix=bt601"
	for _, tc := range []struct {
		pixfmt string
		every  int
		want   string
	}{
		{"yuv420p", 1, "[0:2]" + scale + ":in_range=tv,format=rgb24[v]"},
		{"yuv420p", 30, `[0:2]select='not(mod(n\,30))',` + scale + ":in_range=tv,format=rgb24[v]"},
		{"yuvj420p", 1, "[0:2]" + scale + ":in_range=pc,format=rgb24[v]"},
		{"gray", 1, "[0:2]" + scale + ":in_range=pc,format=rgb24[v]"},
		{"bgra", 1, "[0:2]" + scale + ":in_range=tv,format=rgb24[v]"},
	} {
		got := filterGraph(Info{Stream: 2, PixelFormat: tc.pixfmt}, tc.every, 64, 48)
		if got != tc.want {
			t.Errorf("filterGraph(%s, every %d) = %s, want %s", tc.pixfmt, tc.every, got, tc.want)
		}
	}
}

func TestFramesGIF(t *testing.T) {
	gif := ffmpegtest.Make(t, "loop.gif", "-i", video(t, "pattern-sd-grey-bar"),
		"-t", "2", "-vf", "fps=10,scale=120:180", "-loop", "0")
	info, err := Probe(context.Background(), gif)
	if err != nil {
		t.Fatal(err)
	}
	if info.Codec != "gif" || info.FPS != 10 || info.Width != 120 || info.Height != 180 {
		t.Errorf("Probe(gif) = %+v, want a 120x180 gif at 10 fps", info)
	}
	numbers, _, err := collect(t, gif, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(numbers) != 20 {
		t.Errorf("Frames(gif) gave %d frames, want 20 (an endless loop is decoded once)",
			len(numbers))
	}
}

// mediaFixtures makes the broken and unwanted inputs of the error tests.
func mediaFixtures(t *testing.T) map[string]string {
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
	prefix := func(name string, n int) []byte {
		b, err := os.ReadFile(video(t, name))
		if err != nil {
			t.Fatal(err)
		}
		return b[:n]
	}
	return map[string]string{
		"missing": filepath.Join(dir, "missing.mp4"),
		"empty":   write("empty.mp4", nil),
		"text":    write("notes.txt", []byte("not a video at all\n")),
		// test-padded-dimensions has its moov atom last, chair-19 first.
		"truncated, no moov": write("cut1.mp4", prefix("test-padded-dimensions", 20000)),
		"truncated in data":  write("cut2.mp4", prefix("chair-19-sd-bar", 1000000)),
		"audio only": ffmpegtest.Make(t, "audio.m4a", "-f", "lavfi",
			"-i", "anullsrc=r=8000:cl=mono", "-t", "1", "-c:a", "aac"),
		"png image": ffmpegtest.Make(t, "still.png", "-f", "lavfi", "-i", "testsrc=s=64x64",
			"-frames:v", "1"),
		// A YUV4MPEG header and no frame.
		"zero frames": write("zero.y4m", []byte("YUV4MPEG2 W64 H64 F25:1 Ip A1:1 C420jpeg\n")),
	}
}

func TestFramesErrors(t *testing.T) {
	files := mediaFixtures(t)
	for _, tc := range []struct {
		file   string
		opts   Options
		kind   error
		is     error  // another error it must wrap, if not nil
		stderr string // what the *Error's Stderr must contain, if not ""
	}{
		{file: "missing", kind: dnadb.ErrNotFound},
		{file: "empty", kind: dnadb.ErrInvalid, stderr: "Invalid data found"},
		{file: "text", kind: dnadb.ErrInvalid, stderr: "Invalid data found"},
		{file: "truncated, no moov", kind: dnadb.ErrInvalid, stderr: "moov atom not found"},
		{file: "truncated in data", kind: dnadb.ErrInvalid, stderr: "Error while decoding"},
		{file: "audio only", kind: dnadb.ErrUnsupported, is: ErrNoVideo},
		{file: "png image", kind: dnadb.ErrUnsupported, stderr: "not on whitelist"},
		{file: "zero frames", kind: dnadb.ErrInvalid, is: ErrNoFrames},
	} {
		t.Run(tc.file, func(t *testing.T) {
			_, _, err := collect(t, files[tc.file], tc.opts)
			t.Log(err)
			if got := dnadb.KindOf(err); got != tc.kind {
				t.Fatalf("Frames(%s) = %v, of kind %v, want %v", tc.file, err, got, tc.kind)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("Frames(%s) = %v, want it to wrap %v", tc.file, err, tc.is)
			}
			if tc.stderr != "" {
				var e *Error
				if !errors.As(err, &e) || !strings.Contains(e.Stderr, tc.stderr) {
					t.Errorf("Frames(%s) = %v, want an *Error whose Stderr has %q",
						tc.file, err, tc.stderr)
				}
				if strings.Contains(err.Error(), filepath.Dir(files[tc.file])) {
					t.Errorf("Frames(%s) = %v, which names the file's directory", tc.file, err)
				}
			}
			assertNoChildren(t)
		})
	}
}

func TestFramesLimits(t *testing.T) {
	path := video(t, "chair-19-sd-bar") // 480x720 = 345600 pixels
	for _, tc := range []struct {
		name string
		opts Options
		kind error
	}{
		{"over MaxPixels", Options{MaxPixels: 345599}, dnadb.ErrTooLarge},
		{"at MaxPixels", Options{MaxPixels: 345600, Every: 1000}, nil},
		{"Size over MaxPixels", Options{MaxPixels: 345600, Size: 600}, dnadb.ErrTooLarge},
		{"negative Every", Options{Every: -1}, dnadb.ErrInvalid},
		{"negative Size", Options{Size: -1}, dnadb.ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			_, _, err := collect(t, path, tc.opts)
			if got := dnadb.KindOf(err); got != tc.kind || (tc.kind == nil) != (err == nil) {
				t.Fatalf("Frames(%+v) = %v, want kind %v", tc.opts, err, tc.kind)
			}
			if tc.kind == dnadb.ErrTooLarge && time.Since(start) > 2*time.Second {
				t.Errorf("refusing took %v: it should not decode", time.Since(start))
			}
		})
	}
}

func TestFramesTimeout(t *testing.T) {
	path := video(t, "pattern-longer-no-bar") // 235 frames of 720x1280: seconds of work
	frames := 0
	start := time.Now()
	_, err := Frames(context.Background(), path, Options{Timeout: 400 * time.Millisecond},
		func(Frame) error { frames++; return nil })
	t.Logf("after %v and %d frames: %v", time.Since(start), frames, err)
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "timed out") {
		t.Fatalf("Frames = %v, want a time-out wrapping context.DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("Frames returned after %v, want soon after the 400ms limit", d)
	}
	assertNoChildren(t)
}

func TestFramesCancel(t *testing.T) {
	path := video(t, "pattern-longer-no-bar")

	// A context cancelled before the call.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Frames(ctx, path, Options{}, func(Frame) error { return nil })
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Frames(cancelled) = %v, want context.Canceled", err)
	}

	// A context cancelled while frames come.
	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	frames := 0
	_, err = Frames(ctx, path, Options{}, func(Frame) error {
		if frames++; frames == 3 {
			cancel()
		}
		return nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Frames(cancelled at frame 3) = %v, want context.Canceled", err)
	}
	assertNoChildren(t)

	// A callback that gives up.
	errStop := errors.New("enough")
	frames = 0
	_, err = Frames(context.Background(), path, Options{}, func(Frame) error {
		if frames++; frames == 2 {
			return errStop
		}
		return nil
	})
	if err != errStop || frames != 2 {
		t.Errorf("Frames(callback fails at frame 2) = %v after %d frames, want %v after 2",
			err, frames, errStop)
	}
	assertNoChildren(t)
}

func TestNotInstalled(t *testing.T) {
	saved := lookups["ffprobe"]
	t.Cleanup(func() { lookups["ffprobe"] = saved })
	lookups["ffprobe"] = func() (string, error) { return "", exec.ErrNotFound }

	_, err := Probe(context.Background(), "testdata-does-not-matter.mp4")
	if err == nil {
		t.Fatal("Probe without ffprobe succeeded")
	}
	path := filepath.Join(t.TempDir(), "x.mp4")
	if err := os.WriteFile(path, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = Probe(context.Background(), path)
	if !errors.Is(err, ErrNotInstalled) || dnadb.KindOf(err) != nil {
		t.Errorf("Probe without ffprobe = %v, want ErrNotInstalled and no kind", err)
	}
	if err := Available(); !errors.Is(err, ErrNotInstalled) {
		t.Errorf("Available() = %v, want ErrNotInstalled", err)
	}
}

func TestProcessGroupKilled(t *testing.T) {
	// A stand-in for ffmpeg that starts a child of its own and then hangs: when
	// the time limit passes, the child must die with it.
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc")
	}
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "child.pid")
	script := filepath.Join(dir, "ffmpeg")
	body := "#!/bin/sh\nsleep 60 &\necho $! > " + pidFile + "\nwait\n"
	if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	saved := lookups["ffmpeg"]
	t.Cleanup(func() { lookups["ffmpeg"] = saved })
	lookups["ffmpeg"] = func() (string, error) { return script, nil }

	input := filepath.Join(dir, "in.mp4")
	if err := os.WriteFile(input, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	info := &Info{Width: 64, Height: 64, FPS: 25}
	_, err := Frames(context.Background(), input,
		Options{Info: info, Timeout: 500 * time.Millisecond},
		func(Frame) error { return nil })
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Frames(hanging tool) = %v, want context.DeadlineExceeded", err)
	}

	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pid := strings.TrimSpace(string(b))
	for deadline := time.Now().Add(3 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		state, alive := procState(pid)
		if !alive || state == "Z" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the tool's child %s is still running (state %s)", pid, state)
		}
	}
	assertNoChildren(t)
}

// procState returns the state letter of process pid from /proc, and whether it
// exists.
func procState(pid string) (string, bool) {
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return "", false
	}
	// pid (comm) state ppid ...; comm may hold spaces, so cut after its ')'.
	s := string(b)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	return fields[0], true
}

// assertNoChildren fails the test if this process has a child process left,
// running or not yet waited for (a zombie).
func assertNoChildren(tb testing.TB) {
	tb.Helper()
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return // not Linux
	}
	me := strconv.Itoa(os.Getpid())
	for _, e := range ents {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		s := string(b)
		fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(fields) > 1 && fields[1] == me {
			tb.Errorf("child process left: %s", strings.TrimSpace(s))
		}
	}
}

func TestTailBuffer(t *testing.T) {
	tb := &tailBuffer{max: 16}
	fmt.Fprint(tb, "line one\n")
	if got, want := tb.String(), "line one\n"; got != want {
		t.Errorf("under the cap: %q, want %q", got, want)
	}
	fmt.Fprint(tb, "line two\nthree\n")
	if got, want := tb.String(), "line two\nthree\n"; got != want {
		t.Errorf("over the cap: %q, want %q (the tail, from a line start)", got, want)
	}
	fmt.Fprint(tb, strings.Repeat("x", 40)+"\nend\n")
	if got, want := tb.String(), "end\n"; got != want {
		t.Errorf("one write over the cap: %q, want %q", got, want)
	}
}

func TestParseRate(t *testing.T) {
	for in, want := range map[string]float64{
		"30/1": 30, "30000/1001": 30000.0 / 1001, "0/0": 0, "": 0, "25": 0, "-1/2": 0,
		"1/0": 0,
	} {
		if got := parseRate(in); got != want {
			t.Errorf("parseRate(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestDefaultMaxPixels(t *testing.T) {
	if DefaultMaxPixels != imagefile.DefaultMaxPixels {
		t.Errorf("DefaultMaxPixels = %d, want imagefile's %d", DefaultMaxPixels,
			imagefile.DefaultMaxPixels)
	}
}

func TestLastLines(t *testing.T) {
	got := lastLines("a\nb\nc\nd\ne\n", 3, 100)
	if want := "c; d; e"; got != want {
		t.Errorf("lastLines = %q, want %q", got, want)
	}
}
