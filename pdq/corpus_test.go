package pdq

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"image"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dnadb/dnadb"
	"github.com/dnadb/dnadb/internal/corpus"
)

// The corpus's pdq/decoded PNGs hold the exact pixels the reference C++ hashed,
// and its TSVs the hashes it produced (see pdq/README.txt there).

// decodePNG decodes the PNG at pdq/<rel> in the corpus.
func decodePNG(tb testing.TB, rel string) image.Image {
	tb.Helper()
	b, err := os.ReadFile(corpus.Path(tb, "pdq", rel))
	if err != nil {
		tb.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		tb.Fatalf("decode %s: %v", rel, err)
	}
	return img
}

// lumaOf returns the luma plane of img as HashImage computes it.
func lumaOf(tb testing.TB, img image.Image) (luma []float32, rows, cols int) {
	tb.Helper()
	var s pixelSource
	if !s.setImage(img, false) {
		tb.Fatalf("no fast path for %T", img)
	}
	luma = make([]float32, s.rows*s.cols)
	for y := 0; y < s.rows; y++ {
		s.lumaRow(y, luma[y*s.cols:(y+1)*s.cols])
	}
	return luma, s.rows, s.cols
}

// readF32 reads a little-endian float32 dump from the corpus.
func readF32(tb testing.TB, elem ...string) []float32 {
	tb.Helper()
	b, err := os.ReadFile(corpus.Path(tb, elem...))
	if err != nil {
		tb.Fatal(err)
	}
	out := make([]float32, len(b)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return out
}

// parseHash parses a corpus hash.
func parseHash(tb testing.TB, s string) dnadb.Hash256 {
	tb.Helper()
	h, err := dnadb.ParseHash256(s)
	if err != nil {
		tb.Fatal(err)
	}
	return h
}

// parseQuality parses a corpus quality.
func parseQuality(tb testing.TB, s string) int {
	tb.Helper()
	var q int
	if _, err := fmt.Sscan(s, &q); err != nil {
		tb.Fatalf("quality %q: %v", s, err)
	}
	return q
}

// isNative reports whether a decoded file holds native pixels of an image over 512
// pixels, whose CLI hash needs the 512x512 squash.
func isNative(decoded string) bool { return strings.HasSuffix(decoded, ".native.png") }

func TestDecodedCorpus(t *testing.T) {
	_, rows := corpus.TSV(t, "pdq", "decoded.tsv")
	if len(rows) == 0 {
		t.Fatal("decoded.tsv has no rows")
	}
	for _, row := range rows {
		name := row["decoded_file"]
		t.Run(filepath.Base(name), func(t *testing.T) {
			// Native pixels of a large image carry the CLI hash, which needs the squash;
			// every other file is already what the CLI hashed.
			profile := dnadb.ProfileFull
			if isNative(name) {
				profile = dnadb.ProfileCLI512
			}
			img := decodePNG(t, name)
			got, err := HashImage(img, profile)
			if err != nil {
				t.Fatal(err)
			}
			want := Result{parseHash(t, row["hash"]), parseQuality(t, row["quality"])}
			if got != want {
				t.Errorf("HashImage(%s, %s) = %v q%d, want %v q%d (distance %d)",
					name, profile, got.Hash, got.Quality, want.Hash, want.Quality,
					got.Hash.Distance(want.Hash))
			}
		})
	}
}

// pixelsFor returns the decoded pixels of a corpus source image for the given
// convention (CLI or full resolution), and false if the corpus has none: a
// decoded PNG listed in decoded.tsv, or the source itself if it is a PNG that Go
// decodes to the bytes the reference saw.
func pixelsFor(t *testing.T, decoded []map[string]string, source string, cli bool) (
	image.Image, dnadb.Profile, bool) {
	t.Helper()
	if alias, ok := sameBytes[source]; ok {
		source = alias
	}
	for _, row := range decoded {
		if row["source_file"] != source {
			continue
		}
		name := row["decoded_file"]
		switch {
		case isNative(name):
			if cli {
				return decodePNG(t, name), dnadb.ProfileCLI512, true
			}
			return decodePNG(t, name), dnadb.ProfileFull, true
		case strings.HasSuffix(name, ".cli512.png"):
			if cli {
				return decodePNG(t, name), dnadb.ProfileFull, true
			}
		default:
			return decodePNG(t, name), dnadb.ProfileFull, true
		}
	}
	profile := dnadb.ProfileFull
	if cli {
		profile = dnadb.ProfileCLI512
	}
	if goDecodesLikeReference[source] {
		return decodePNG(t, source), profile, true
	}
	if greyAlphaPNG[source] {
		return dropAlpha(t, decodePNG(t, source)), profile, true
	}
	return nil, "", false
}

// sameBytes maps corpus sources to a byte-identical source with decoded pixels
// (see the corpus's SOURCES.md).
var sameBytes = map[string]string{
	"images/bridge-mods/aaa-orig.jpg": "images/dih/bridge-1-original.jpg",
}

// greyAlphaPNG lists 8-bit grey+alpha PNG sources. ImageMagick hands their grey
// channel to the reference as a single-channel image, alpha dropped, so they take
// the grey path; image/png decodes them to *image.NRGBA.
var greyAlphaPNG = map[string]bool{
	"images/pytx/LA.png": true,
}

// dropAlpha returns the grey channel of an *image.NRGBA whose pixels are grey.
func dropAlpha(t *testing.T, img image.Image) *image.Gray {
	t.Helper()
	m, ok := img.(*image.NRGBA)
	if !ok {
		t.Fatalf("grey+alpha PNG decoded to %T, want *image.NRGBA", img)
	}
	g := image.NewGray(m.Rect)
	for i := range g.Pix {
		g.Pix[i] = m.Pix[4*i]
	}
	return g
}

// goDecodesLikeReference lists corpus sources that are 8-bit RGB(A) PNGs: image/png
// gives the reference's bytes for them, alpha dropped. (LA.png is grey+alpha, which
// the reference hashes by the grey path, and I16.png is 16-bit.)
var goDecodesLikeReference = map[string]bool{
	"images/misc-images/c.png":               true,
	"images/misc-images/pen-and-coaster.png": true,
	"images/pytx/random-26x28.png":           true,
}

func TestDihedralCorpus(t *testing.T) {
	_, decoded := corpus.TSV(t, "pdq", "decoded.tsv")
	for _, tc := range []struct {
		file string
		cli  bool
	}{
		{"dihedral.tsv", true},
		{"dihedral_fullres.tsv", false},
	} {
		t.Run(tc.file, func(t *testing.T) {
			_, rows := corpus.TSV(t, "pdq", tc.file)
			checked := 0
			for _, row := range rows {
				img, profile, ok := pixelsFor(t, decoded, row["file"], tc.cli)
				if !ok {
					continue
				}
				checked++
				t.Run(filepath.Base(row["file"]), func(t *testing.T) {
					got, err := DihedralImage(img, profile)
					if err != nil {
						t.Fatal(err)
					}
					var want Dihedral
					want.Quality = parseQuality(t, row["quality"])
					for v := range want.Hashes {
						want.Hashes[v] = parseHash(t, row[Variant(v).String()])
					}
					if got.Quality != want.Quality {
						t.Errorf("DihedralImage(%s).Quality = %d, want %d",
							row["file"], got.Quality, want.Quality)
					}
					for v := range want.Hashes {
						if got.Hashes[v] != want.Hashes[v] {
							t.Errorf("DihedralImage(%s)[%v] = %v, want %v", row["file"],
								Variant(v), got.Hashes[v], want.Hashes[v])
						}
					}
				})
			}
			t.Logf("%s: checked %d of %d rows", tc.file, checked, len(rows))
			if checked == 0 {
				t.Error("no rows had pixels")
			}
		})
	}
}

func TestExpectedPNGSources(t *testing.T) {
	// The PNG sources are hashed straight from image/png's output: with the squash
	// for the CLI convention, without it for the full-resolution one.
	for _, tc := range []struct {
		file    string
		profile dnadb.Profile
	}{
		{"expected.tsv", dnadb.ProfileCLI512},
		{"expected_fullres.tsv", dnadb.ProfileFull},
	} {
		_, rows := corpus.TSV(t, "pdq", tc.file)
		for _, row := range rows {
			var img func(t *testing.T) image.Image
			switch {
			case goDecodesLikeReference[row["file"]]:
				img = func(t *testing.T) image.Image { return decodePNG(t, row["file"]) }
			case greyAlphaPNG[row["file"]]:
				img = func(t *testing.T) image.Image {
					return dropAlpha(t, decodePNG(t, row["file"]))
				}
			default:
				continue
			}
			t.Run(tc.file+"/"+filepath.Base(row["file"]), func(t *testing.T) {
				got, err := HashImage(img(t), tc.profile)
				if err != nil {
					t.Fatal(err)
				}
				want := Result{parseHash(t, row["hash"]), parseQuality(t, row["quality"])}
				if got != want {
					t.Errorf("HashImage(%s, %s) = %v q%d, want %v q%d", row["file"],
						tc.profile, got.Hash, got.Quality, want.Hash, want.Quality)
				}
			})
		}
	}
}

func TestNativeFullRes(t *testing.T) {
	// The 1600x1004 decode hashed at full resolution, against expected_fullres.tsv.
	const source = "images/dih/bridge-1-original.jpg"
	img := decodePNG(t, "decoded/dih_bridge-1-original.native.png")
	_, rows := corpus.TSV(t, "pdq", "expected_fullres.tsv")
	for _, row := range rows {
		if row["file"] != source {
			continue
		}
		got, err := HashImage(img, dnadb.ProfileFull)
		if err != nil {
			t.Fatal(err)
		}
		want := Result{parseHash(t, row["hash"]), parseQuality(t, row["quality"])}
		if got != want {
			t.Errorf("HashImage(native, full) = %v q%d, want %v q%d",
				got.Hash, got.Quality, want.Hash, want.Quality)
		}
		return
	}
	t.Fatalf("%s not in expected_fullres.tsv", source)
}

func TestResize512Corpus(t *testing.T) {
	// The squash of the native decode must give exactly the pixels the CLI hashed.
	native := decodePNG(t, "decoded/dih_bridge-1-original.native.png")
	want := decodePNG(t, "decoded/dih_bridge-1-original.cli512.png")
	got := Resize512(native)
	if got.Bounds() != want.Bounds() {
		t.Fatalf("Resize512 bounds = %v, want %v", got.Bounds(), want.Bounds())
	}
	gl, _, _ := lumaOf(t, got)
	wl, _, _ := lumaOf(t, want)
	for i := range wl {
		if gl[i] != wl[i] {
			t.Fatalf("Resize512 pixel %d has luma %v, want %v", i, gl[i], wl[i])
		}
	}
	gr, err := HashImage(got, dnadb.ProfileFull)
	if err != nil {
		t.Fatal(err)
	}
	gc, err := HashImage(native, dnadb.ProfileCLI512)
	if err != nil {
		t.Fatal(err)
	}
	if gr != gc {
		t.Errorf("HashImage(Resize512(native), full) = %v, HashImage(native, cli512) = %v",
			gr.Hash, gc.Hash)
	}
}

// intermediateInput returns the pixels the reference dumped intermediates/<name> for.
func intermediateInput(t *testing.T, name string) image.Image {
	t.Helper()
	if _, err := os.Stat(corpus.Path(t, "pdq", "decoded", name+".png")); err == nil {
		return decodePNG(t, "decoded/"+name+".png")
	}
	dir, file, _ := strings.Cut(name, "_")
	return decodePNG(t, "images/"+dir+"/"+file+".png")
}

func TestIntermediates(t *testing.T) {
	entries, err := os.ReadDir(corpus.Path(t, "pdq", "intermediates"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		name := e.Name()
		t.Run(name, func(t *testing.T) {
			dir := []string{"pdq", "intermediates", name}
			file := func(f string) []string { return append(dir[:3:3], f) }
			luma, rows, cols := lumaOf(t, intermediateInput(t, name))

			// Window sizes.
			b, err := os.ReadFile(corpus.Path(t, file("windows.txt")...))
			if err != nil {
				t.Fatal(err)
			}
			gotWin := fmt.Sprintf("window_along_rows=%d window_along_cols=%d",
				windowSize(cols), windowSize(rows))
			if want := strings.TrimSpace(string(b)); gotWin != want {
				t.Errorf("windows = %q, want %q", gotWin, want)
			}

			// Luma, where dumped.
			if _, err := os.Stat(corpus.Path(t, file("luma.f32")...)); err == nil {
				compareF32(t, "luma", luma, readF32(t, file("luma.f32")...))
			}

			// The 64x64 buffer, by the fast path and the plain port.
			var h hasher
			h.floats = floatSource{luma: luma, cols: cols}
			h.downsample(&h.floats, rows, cols, true)
			wantDown := readF32(t, file("down64.f32")...)
			compareF32(t, "down64", h.down[:], wantDown)
			ref := refDownsample(luma, rows, cols)
			compareF32(t, "refDownsample", ref[:], wantDown)

			// The DCT.
			dct64To16(&h.down, &h.tmp, &h.dct)
			compareF32(t, "dct16", h.dct[:], readF32(t, file("dct16.f32")...))

			// Hash, quality, size and dihedral hashes.
			b, err = os.ReadFile(corpus.Path(t, file("hash.txt")...))
			if err != nil {
				t.Fatal(err)
			}
			f := strings.Split(strings.TrimSpace(string(b)), ",")
			if len(f) != 3+NumVariants {
				t.Fatalf("hash.txt has %d fields, want %d", len(f), 3+NumVariants)
			}
			got := HashLuma(luma, rows, cols)
			want := Result{parseHash(t, f[0]), parseQuality(t, f[1])}
			if got != want {
				t.Errorf("HashLuma = %v q%d, want %v q%d", got.Hash, got.Quality,
					want.Hash, want.Quality)
			}
			if size := fmt.Sprintf("%dx%d", cols, rows); size != f[2] {
				t.Errorf("size = %s, want %s", size, f[2])
			}
			dih := DihedralLuma(luma, rows, cols)
			for v := range dih.Hashes {
				if want := parseHash(t, f[3+v]); dih.Hashes[v] != want {
					t.Errorf("DihedralLuma[%v] = %v, want %v", Variant(v), dih.Hashes[v], want)
				}
			}
		})
	}
}

// compareF32 fails unless got and want are bit-identical.
func compareF32(t *testing.T, what string, got, want []float32) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s has %d values, want %d", what, len(got), len(want))
		return
	}
	bad := 0
	for i := range want {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			if bad < 3 {
				t.Errorf("%s[%d] = %v (%#08x), want %v (%#08x)", what, i, got[i],
					math.Float32bits(got[i]), want[i], math.Float32bits(want[i]))
			}
			bad++
		}
	}
	if bad > 0 {
		t.Errorf("%s: %d of %d values differ", what, bad, len(want))
	}
}

func TestHashBitOrder(t *testing.T) {
	// Bit k of a corpus hash is set iff DCT coefficient k (16*row+col) of the dumped
	// reference DCT exceeds the median, and the hex text round-trips.
	dir := []string{"pdq", "intermediates", "labelme-subset_q0122"}
	dct := readF32(t, append(dir, "dct16.f32")...)
	b, err := os.ReadFile(corpus.Path(t, append(dir, "hash.txt")...))
	if err != nil {
		t.Fatal(err)
	}
	text, _, _ := strings.Cut(string(b), ",")
	h := parseHash(t, text)
	if got := h.String(); got != text {
		t.Errorf("ParseHash256(%q).String() = %q", text, got)
	}
	var block [coeffs * coeffs]float32
	copy(block[:], dct)
	sorted := block
	med := selectKth(sorted[:], 127)
	set := 0
	for k, v := range block {
		if got, want := h.Bit(k), v > med; got != want {
			t.Errorf("bit %d = %v, want %v (coefficient %v, median %v)", k, got, want, v, med)
		}
		if h.Bit(k) {
			set++
		}
	}
	if set != 128 {
		t.Errorf("%d bits set, want 128", set)
	}
	if got := threshold(&block, &sorted); got != h {
		t.Errorf("threshold(dct16) = %v, want %v", got, h)
	}
}
