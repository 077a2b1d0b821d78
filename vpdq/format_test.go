package vpdq

import (
	"bytes"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dnadb/dnadb"
	"github.com/dnadb/dnadb/internal/corpus"
)

func TestTextRoundTripsReferenceFiles(t *testing.T) {
	// Every hash file the reference wrote, read and written again, byte for byte.
	var files []string
	for _, dir := range []string{"sample-hashes", "reference-run-ffmpeg5.1"} {
		m, err := filepath.Glob(filepath.Join(corpus.Path(t, "vpdq", dir), "*.txt"))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	if len(files) != 45 {
		t.Fatalf("found %d hash files, want 45", len(files))
	}
	for _, path := range files {
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		frames, err := ReadText(bytes.NewReader(want))
		if err != nil {
			t.Fatalf("ReadText(%s): %v", path, err)
		}
		var got bytes.Buffer
		if err := WriteText(&got, frames); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.Bytes(), want) {
			t.Errorf("WriteText(ReadText(%s)) differs from the file", path)
		}
	}
}

func TestReadTextTolerates(t *testing.T) {
	const h = "e6cf059c4c6696362cc9d6663cd9c263714169d98327399993363d9c3d9cc666"
	for name, in := range map[string]string{
		"no final newline": "0,100," + h + ",0.000\n1,99," + h + ",0.033",
		"blank lines":      "\n0,100," + h + ",0.000\n\n1,99," + h + ",0.033\n\n",
		"CRLF":             "0,100," + h + ",0.000\r\n1,99," + h + ",0.033\r\n",
		"upper-case hex":   "0,100," + strings.ToUpper(h) + ",0\n1,99," + h + ",0.033333\n",
	} {
		frames, err := ReadText(strings.NewReader(in))
		if err != nil {
			t.Errorf("%s: ReadText = %v", name, err)
			continue
		}
		if len(frames) != 2 || frames[1].Number != 1 || frames[1].Quality != 99 ||
			frames[1].Hash.String() != h || math.Abs(frames[1].Timestamp-0.033) > 0.001 {
			t.Errorf("%s: ReadText = %v", name, frames)
		}
	}
	if frames, err := ReadText(strings.NewReader("")); err != nil || len(frames) != 0 {
		t.Errorf("ReadText(\"\") = %v, %v, want no frames", frames, err)
	}
}

func TestReadTextErrors(t *testing.T) {
	const h = "e6cf059c4c6696362cc9d6663cd9c263714169d98327399993363d9c3d9cc666"
	good := "0,100," + h + ",0.000\n"
	for _, tc := range []struct {
		name, in, want string
	}{
		{"three fields", good + "1,100," + h + "\n", "line 2: 3 fields, want 4"},
		{"five fields", good + "1,100," + h + ",0.033,x\n", "line 2: 5 fields"},
		{"frame number", good + "x,100," + h + ",0.033\n", `line 2: field 1, frame number "x"`},
		{"negative frame", "-1,100," + h + ",0\n", `line 1: field 1, frame number "-1"`},
		{"quality", good + "1,101," + h + ",0.033\n", `line 2: field 2, quality "101"`},
		{"hash", good + "1,100,abc,0.033\n", "line 2: field 3, hash"},
		{"timestamp", good + "1,100," + h + ",soon\n", `line 2: field 4, timestamp "soon"`},
		{"negative time", good + "1,100," + h + ",-1\n", `line 2: field 4, timestamp "-1"`},
		{"NaN", good + "1,100," + h + ",NaN\n", `line 2: field 4, timestamp "NaN"`},
		{"order", good + good, "line 2: frame number 0 does not follow 0"},
		{"long line", good + strings.Repeat("x", 5000) + "\n", "line 2: over 4096 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadText(strings.NewReader(tc.in))
			if !errors.Is(err, dnadb.ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("ReadText = %v, want ErrInvalid with %q", err, tc.want)
			}
		})
	}
}

func TestFormatPyG3(t *testing.T) {
	// Expected values printed by CPython 3.11's format(x, '.3').
	for _, tc := range []struct {
		x    float64
		want string
	}{
		{0, "0.0"}, {math.Copysign(0, -1), "-0.0"}, {0.5, "0.5"}, {1, "1.0"}, {10, "10.0"},
		{12.3, "12.3"}, {99.9, "99.9"}, {99.94, "99.9"}, {99.95, "1e+02"}, {100, "1e+02"},
		{123.4, "1.23e+02"}, {1234, "1.23e+03"}, {1e5, "1e+05"}, {0.1, "0.1"},
		{0.0001, "0.0001"}, {0.00012345, "0.000123"}, {0.00001, "1e-05"},
		{1.5e-5, "1.5e-05"}, {9.995, "9.99"}, {9.9949, "9.99"}, {0.125, "0.125"},
		{0.0625, "0.0625"}, {2.5, "2.5"}, {0.015, "0.015"}, {1e16, "1e+16"},
		{123456789, "1.23e+08"}, {1.005, "1.0"}, {0.000099999, "0.0001"},
		{float64(float32(1) / 30), "0.0333"}, {float64(float32(564) / 30), "18.8"},
		{float64(float32(563) / 30), "18.8"}, {float64(float32(19) / 30), "0.633"},
		{float64(float32(100) / 30), "3.33"}, {float64(float32(2999) / 30), "1e+02"},
		{math.Inf(1), "inf"}, {math.NaN(), "nan"},
	} {
		if got := formatPyG3(tc.x); got != tc.want {
			t.Errorf("formatPyG3(%v) = %q, want %q", tc.x, got, tc.want)
		}
	}
}

// pytxFrames returns frames of chair-19-sd-bar's sample hashes with the float32
// timestamps that the reference computes and pytx formats.
func pytxFrames(tb testing.TB) []Frame {
	tb.Helper()
	all := refHashes(tb, "sample-hashes/chair-19-sd-bar.txt")
	var frames []Frame
	for _, n := range []int{0, 1, 29, 30, 100, 299, 300, 563} {
		f := all[n]
		f.Timestamp = float64(float32(n) / float32(30))
		frames = append(frames, f)
	}
	return frames
}

// pytxGolden is what python-threatexchange's vpdq_to_json gives for pytxFrames,
// computed with CPython 3.11 (json.dumps of f"{hex},{quality},{timestamp:.3}").
const pytxGolden = `["e271017837246aaccddea259648fb7d62f435c89d9e99b2497763e216c8d055c,100,0.0", ` +
	`"c0f11178372c6aaccddea259648fbfd62f434c89c9e99b249772be216c8d055c,100,0.0333", ` +
	`"dd8bb4876a71c968169c36ad6d2f6a36ce5ed0a701e301e9cbb9fc12f80b8154,100,0.967", ` +
	`"df83b48f2ad34d68169c36bc6d2f6b36ce5ed08701a301e9cbb9fc12f80b8154,100,1.0", ` +
	`"42dc7e4cd1a7fe877a35c9c9681366a5ca06937c9605b4c4a71b2daf892f8453,100,3.33", ` +
	`"f6e56867e26334d3327be4d997113e196161c609cc1578c1299d1cbc96b25b5e,100,9.97", ` +
	`"f6e56867e26334d330fbe4d9961334196161c609cc1578c1299d1cbc96b2df5e,100,10.0", ` +
	`"ebcc8b06b0266ea34cf9b85972a983a4f94669af05fc9d52aa9662f975499514,100,18.8"]`

func TestMarshalPyTX(t *testing.T) {
	frames := pytxFrames(t)
	got, err := MarshalPyTX(frames)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != pytxGolden {
		t.Errorf("MarshalPyTX =\n%s\nwant\n%s", got, pytxGolden)
	}
	if got, err := MarshalPyTX(nil); err != nil || string(got) != "[]" {
		t.Errorf("MarshalPyTX(nil) = %q, %v, want []", got, err)
	}

	for _, f := range []Frame{{Quality: 101}, {Quality: -1}, {Timestamp: -1},
		{Timestamp: math.NaN()}, {Timestamp: math.Inf(1)}} {
		if _, err := MarshalPyTX([]Frame{f}); !errors.Is(err, dnadb.ErrInvalid) {
			t.Errorf("MarshalPyTX(%+v) = %v, want ErrInvalid", f, err)
		}
	}
}

func TestUnmarshalPyTX(t *testing.T) {
	frames, err := UnmarshalPyTX([]byte(pytxGolden))
	if err != nil {
		t.Fatal(err)
	}
	want := pytxFrames(t)
	if len(frames) != len(want) {
		t.Fatalf("UnmarshalPyTX: %d frames, want %d", len(frames), len(want))
	}
	for i, f := range frames {
		w := want[i]
		if f.Number != i || f.Hash != w.Hash || f.Quality != w.Quality ||
			formatPyG3(f.Timestamp) != formatPyG3(w.Timestamp) {
			t.Errorf("frame %d = %+v, want %+v numbered %d", i, f, w, i)
		}
	}

	// Indented JSON, as vpdq_to_json(indent=2) writes it, and no input at all.
	if frames, err := UnmarshalPyTX([]byte("[\n  \"" + want[0].Hash.String() +
		",100,0.0\"\n]")); err != nil || len(frames) != 1 {
		t.Errorf("UnmarshalPyTX(indented) = %v, %v", frames, err)
	}
	for _, in := range []string{"", " \n", "[]"} {
		if frames, err := UnmarshalPyTX([]byte(in)); err != nil || len(frames) != 0 {
			t.Errorf("UnmarshalPyTX(%q) = %v, %v, want no frames", in, frames, err)
		}
	}

	h := want[0].Hash.String()
	for _, tc := range []struct{ in, want string }{
		{`{"0": {}}`, "not a JSON array of strings"},
		{`[1, 2]`, "not a JSON array of strings"},
		{`["` + h + `,100"]`, "entry 0: 2 fields, want 3"},
		{`["` + h + `,100,0.0", "xyz,100,0.0"]`, "entry 1: field 1, hash"},
		{`["` + h + `,x,0.0"]`, `entry 0: field 2, quality "x"`},
		{`["` + h + `,100,-0.5"]`, `entry 0: field 3, timestamp "-0.5"`},
		{`["` + h + `,100,nan"]`, `entry 0: field 3, timestamp "nan"`},
	} {
		_, err := UnmarshalPyTX([]byte(tc.in))
		if !errors.Is(err, dnadb.ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("UnmarshalPyTX(%s) = %v, want ErrInvalid with %q", tc.in, err, tc.want)
		}
	}
}

func FuzzReadText(f *testing.F) {
	f.Add("0,100,e6cf059c4c6696362cc9d6663cd9c263714169d98327399993363d9c3d9cc666,0.000\n")
	f.Add("1,5,E6CF059C4C6696362CC9D6663CD9C263714169D98327399993363D9C3D9CC666,1e3\r\n\n")
	f.Fuzz(func(t *testing.T, in string) {
		frames, err := ReadText(strings.NewReader(in))
		if err != nil {
			if !errors.Is(err, dnadb.ErrInvalid) {
				t.Fatalf("ReadText = %v, not ErrInvalid", err)
			}
			return
		}
		// What was read writes back to text that reads as the same frames, but
		// for timestamps rounded to three decimals.
		var b bytes.Buffer
		if err := WriteText(&b, frames); err != nil {
			t.Fatal(err)
		}
		again, err := ReadText(&b)
		if err != nil || len(again) != len(frames) {
			t.Fatalf("ReadText(WriteText(frames)) = %d frames, %v; want %d", len(again), err,
				len(frames))
		}
		for i := range again {
			a, b := again[i], frames[i]
			if a.Number != b.Number || a.Quality != b.Quality || a.Hash != b.Hash ||
				math.Abs(a.Timestamp-b.Timestamp) > 0.0005*(1+b.Timestamp*1e-12) {
				t.Fatalf("frame %d: %+v after a round trip, want %+v", i, a, b)
			}
		}
	})
}

func FuzzUnmarshalPyTX(f *testing.F) {
	f.Add([]byte(pytxGolden))
	f.Add([]byte(`["e6cf059c4c6696362cc9d6663cd9c263714169d98327399993363d9c3d9cc666,0,1e+02"]`))
	f.Fuzz(func(t *testing.T, in []byte) {
		frames, err := UnmarshalPyTX(in)
		if err != nil {
			if !errors.Is(err, dnadb.ErrInvalid) {
				t.Fatalf("UnmarshalPyTX = %v, not ErrInvalid", err)
			}
			return
		}
		out, err := MarshalPyTX(frames)
		if err != nil {
			t.Fatalf("MarshalPyTX(UnmarshalPyTX(%q)) = %v", in, err)
		}
		again, err := UnmarshalPyTX(out)
		if err != nil || len(again) != len(frames) {
			t.Fatalf("UnmarshalPyTX(MarshalPyTX(frames)) = %d frames, %v; want %d",
				len(again), err, len(frames))
		}
	})
}
