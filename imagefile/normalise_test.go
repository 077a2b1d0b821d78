package imagefile

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/dnadb/dnadb/internal/corpus"
)

func TestCMYK(t *testing.T) {
	m := image.NewCMYK(image.Rect(0, 0, 3, 1))
	m.SetCMYK(0, 0, color.CMYK{0, 0, 0, 0})
	m.SetCMYK(1, 0, color.CMYK{255, 0, 128, 10})
	m.SetCMYK(2, 0, color.CMYK{12, 200, 3, 99})
	got, ok := normalise("jpeg", m).(*image.NRGBA)
	if !ok {
		t.Fatalf("normalise(CMYK) is %T, want *image.NRGBA", got)
	}
	for x := range 3 {
		c := m.CMYKAt(x, 0)
		r, g, b := color.CMYKToRGB(c.C, c.M, c.Y, c.K)
		if got, want := got.NRGBAAt(x, 0), (color.NRGBA{r, g, b, 0xff}); got != want {
			t.Errorf("normalise(CMYK %v) = %v, want %v", c, got, want)
		}
	}

	// Black ink alone is grey.
	m = image.NewCMYK(image.Rect(0, 0, 2, 1))
	m.SetCMYK(1, 0, color.CMYK{K: 100})
	if got := normalise("jpeg", m); fmt.Sprintf("%T", got) != "*image.Gray" {
		t.Errorf("normalise(CMYK, K only) is %T, want *image.Gray", got)
	}
}

// ycbcr builds a YCbCr picture with constant luma and the given chroma plane
// (used for both Cb and Cr).
func ycbcr(w, h int, r image.YCbCrSubsampleRatio, luma uint8, chroma [][]uint8) *image.YCbCr {
	m := image.NewYCbCr(image.Rect(0, 0, w, h), r)
	for i := range m.Y {
		m.Y[i] = luma
	}
	for y, row := range chroma {
		copy(m.Cb[y*m.CStride:], row)
		copy(m.Cr[y*m.CStride:], row)
	}
	return m
}

// TestJPEGUpsampling checks the chroma upsampling against values worked out by hand
// from libjpeg-turbo's jdsample.c: weights 3/4 and 1/4 per dimension, rounding
// biases that alternate between neighbouring outputs, and edge rows repeated.
func TestJPEGUpsampling(t *testing.T) {
	tests := []struct {
		name   string
		w, h   int
		ratio  image.YCbCrSubsampleRatio
		chroma [][]uint8
		want   [][]uint8 // upsampled chroma, row by row
	}{
		{"h2v1", 6, 1, image.YCbCrSubsampleRatio422, [][]uint8{{10, 11, 13}},
			[][]uint8{{10, 10, 11, 12, 12, 13}}},
		{"h2v1/odd-width", 5, 1, image.YCbCrSubsampleRatio422, [][]uint8{{10, 11, 13}},
			[][]uint8{{10, 10, 11, 12, 12}}},
		{"h2v2/horizontal", 6, 2, image.YCbCrSubsampleRatio420, [][]uint8{{0, 100, 200}},
			[][]uint8{{0, 25, 75, 125, 175, 200}, {0, 25, 75, 125, 175, 200}}},
		{"h2v2/vertical", 6, 4, image.YCbCrSubsampleRatio420,
			[][]uint8{{0, 0, 0}, {160, 160, 160}},
			[][]uint8{{0, 0, 0, 0, 0, 0}, {40, 40, 40, 40, 40, 40},
				{120, 120, 120, 120, 120, 120}, {160, 160, 160, 160, 160, 160}}},
		// Two chroma samples across: libjpeg-turbo replicates instead.
		{"h2v2/narrow", 4, 2, image.YCbCrSubsampleRatio420, [][]uint8{{0, 100}},
			[][]uint8{{0, 0, 100, 100}, {0, 0, 100, 100}}},
		{"h1v2", 1, 4, image.YCbCrSubsampleRatio440, [][]uint8{{0}, {2}},
			[][]uint8{{0}, {1}, {1}, {2}}},
		{"h4v1/replicated", 6, 1, image.YCbCrSubsampleRatio411, [][]uint8{{10, 200}},
			[][]uint8{{10, 10, 10, 10, 200, 200}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := ycbcr(tc.w, tc.h, tc.ratio, 0, tc.chroma)
			hs, vs := subsampling(tc.ratio)
			up := chromaUpsampler{hs: hs, vs: vs, w: tc.w, h: tc.h, stride: m.CStride}
			for y, want := range tc.want {
				got := make([]uint8, tc.w+1)
				up.jpegRow(got, m.Cb, y)
				if !slices.Equal(got[:tc.w], want) {
					t.Errorf("jpegRow(%s, row %d) = %v, want %v", tc.name, y, got[:tc.w], want)
				}
			}
		})
	}
}

// TestJPEGColour checks the colour conversion against values worked out by hand
// from libjpeg-turbo's jdcolor.c tables.
func TestJPEGColour(t *testing.T) {
	tests := []struct {
		y, cb, cr uint8
		want      color.NRGBA
	}{
		{128, 128, 128, color.NRGBA{128, 128, 128, 255}},
		{100, 128, 255, color.NRGBA{255, 9, 100, 255}},
		{200, 0, 128, color.NRGBA{200, 244, 0, 255}},
	}
	for _, tc := range tests {
		m := ycbcr(1, 1, image.YCbCrSubsampleRatio444, tc.y, [][]uint8{{tc.cb}})
		m.Cr[0] = tc.cr
		if got := jpegToNRGBA(m).NRGBAAt(0, 0); got != tc.want {
			t.Errorf("jpegToNRGBA(%d, %d, %d) = %v, want %v", tc.y, tc.cb, tc.cr, got, tc.want)
		}
	}
}

// TestVP8Colour checks libwebp's conversion against BT.601 limited range: black at
// Y=16, white at Y=235, and within one level of the exact formula elsewhere.
func TestVP8Colour(t *testing.T) {
	tests := []struct {
		y, u, v uint8
		want    [3]uint8
	}{
		{16, 128, 128, [3]uint8{0, 0, 0}},
		{235, 128, 128, [3]uint8{255, 255, 255}},
	}
	for _, tc := range tests {
		r, g, b := vp8ToRGB(tc.y, tc.u, tc.v)
		if got := [3]uint8{r, g, b}; got != tc.want {
			t.Errorf("vp8ToRGB(%d, %d, %d) = %v, want %v", tc.y, tc.u, tc.v, got, tc.want)
		}
	}

	clip := func(v float64) float64 { return math.Max(0, math.Min(255, v)) }
	for y := 16; y <= 235; y += 3 {
		for u := 16; u <= 240; u += 7 {
			for v := 16; v <= 240; v += 7 {
				fy, fu, fv := 1.164*float64(y-16), float64(u-128), float64(v-128)
				want := [3]float64{
					clip(fy + 1.596*fv), clip(fy - 0.391*fu - 0.813*fv), clip(fy + 2.018*fu),
				}
				r, g, b := vp8ToRGB(uint8(y), uint8(u), uint8(v))
				for i, got := range [3]uint8{r, g, b} {
					if math.Abs(float64(got)-want[i]) > 1 {
						t.Fatalf("vp8ToRGB(%d, %d, %d)[%d] = %d, want %.2f ± 1",
							y, u, v, i, got, want[i])
					}
				}
			}
		}
	}
}

// TestVP8Upsampling checks libwebp's upsampler against values worked out by hand
// from its UPSAMPLE_FUNC.
func TestVP8Upsampling(t *testing.T) {
	m := ycbcr(4, 4, image.YCbCrSubsampleRatio420, 0, [][]uint8{{0, 160}, {160, 160}})
	up := chromaUpsampler{hs: 2, vs: 2, w: 4, h: 4, stride: m.CStride}
	want := [][]uint8{{0, 40, 120, 160}, {40, 70, 130, 160}, {120, 130, 150, 160},
		{160, 160, 160, 160}}
	for y := range want {
		got := make([]uint8, 5)
		up.vp8Row(got, m.Cb, y)
		if !slices.Equal(got[:4], want[y]) {
			t.Errorf("vp8Row(row %d) = %v, want %v", y, got[:4], want[y])
		}
	}
}

// TestGreyJPEG checks the two corpus JPEGs that have three components but only grey
// pixels, which ImageMagick hands to the reference as PGM.
func TestGreyJPEG(t *testing.T) {
	tests := []struct {
		file string
		want string
	}{
		{"labelme-subset/q2821.jpg", "*image.Gray"},
		{"misc-images/small.jpg", "*image.Gray"},
		{"labelme-subset/q0122.jpg", "*image.NRGBA"},
		{"pytx/rgb.jpeg", "*image.NRGBA"},
	}
	for _, tc := range tests {
		img, err := Decoder{}.DecodeFile(corpus.Path(t, "pdq", "images", tc.file))
		if err != nil {
			t.Fatal(err)
		}
		if got := fmt.Sprintf("%T", img.Pixels); got != tc.want {
			t.Errorf("DecodeFile(%s).Pixels is %s, want %s", tc.file, got, tc.want)
		}
	}
}

// TestCorpusPNG checks that the corpus PNGs decode to exactly the pixels image/png
// gives, with alpha dropped and 16 bits cut to their high byte.
func TestCorpusPNG(t *testing.T) {
	_, rows := corpus.TSV(t, "pdq", "decoded.tsv")
	files := []string{"images/pytx/LA.png", "images/pytx/I16.png", "images/pytx/random-26x28.png"}
	for _, row := range rows {
		files = append(files, row["decoded_file"])
	}
	for _, file := range files {
		t.Run(file, func(t *testing.T) {
			data := readFile(t, corpus.Path(t, "pdq", file))
			ref, err := png.Decode(bytes.NewReader(data))
			if err != nil {
				t.Fatal(err)
			}
			img, err := Decoder{}.Decode(file, bytes.NewReader(data))
			if err != nil {
				t.Fatal(err)
			}
			_, grey := ref.(*image.Gray)
			_, grey16 := ref.(*image.Gray16)
			if _, ok := img.Pixels.(*image.Gray); (grey || grey16) && !ok {
				t.Errorf("Decode(%s).Pixels is %T, want *image.Gray", file, img.Pixels)
			}
			b := ref.Bounds()
			for y := range b.Dy() {
				for x := range b.Dx() {
					got, want := nrgbaAt(img.Pixels, x, y), high(ref.At(x, y))
					if got.R != want.R || got.G != want.G || got.B != want.B {
						t.Fatalf("Decode(%s) pixel (%d,%d) = %v, want %v", file, x, y, got, want)
					}
				}
			}
		})
	}
}

// high returns the stored colour of c, 8 bits a channel: the high byte of a 16-bit
// sample, and no premultiplication.
func high(c color.Color) color.NRGBA {
	switch c := c.(type) {
	case color.Gray16:
		v := uint8(c.Y >> 8)
		return color.NRGBA{v, v, v, 0xff}
	case color.NRGBA:
		return c
	}
	return color.NRGBAModel.Convert(c).(color.NRGBA)
}

// TestJPEGNearReference compares decoded corpus JPEGs with the pixels libjpeg-turbo
// gave the reference (corpus pdq/decoded/, after the CLI's 512x512 squash where the
// file name says cli512). Upsampling and colour conversion follow libjpeg-turbo
// exactly, but the inverse DCT is Go's, so a few samples differ by a level or three.
func TestJPEGNearReference(t *testing.T) {
	_, rows := corpus.TSV(t, "pdq", "decoded.tsv")
	for _, row := range rows {
		src := row["source_file"]
		if !strings.HasSuffix(src, ".jpg") && !strings.HasSuffix(src, ".jpeg") {
			continue
		}
		ref, err := png.Decode(bytes.NewReader(readFile(t, corpus.Path(t, "pdq", row["decoded_file"]))))
		if err != nil {
			t.Fatal(err)
		}
		img, err := Decoder{}.DecodeFile(corpus.Path(t, "pdq", src))
		if err != nil {
			t.Fatal(err)
		}

		squash := strings.Contains(row["decoded_file"], ".cli512.")
		same, total, worst := 0, 0, 0
		b := ref.Bounds()
		for y := range b.Dy() {
			for x := range b.Dx() {
				sx, sy := x, y
				if squash {
					sx, sy = x*img.Width/512, y*img.Height/512
				}
				got, want := nrgbaAt(img.Pixels, sx, sy), high(ref.At(x, y))
				for _, d := range []int{
					int(got.R) - int(want.R), int(got.G) - int(want.G), int(got.B) - int(want.B),
				} {
					d = max(d, -d)
					if d == 0 {
						same++
					}
					worst = max(worst, d)
					total++
				}
			}
		}
		frac := float64(same) / float64(total)
		t.Logf("%-42s %5.1f%% of samples equal, largest difference %d", row["decoded_file"],
			100*frac, worst)
		if worst > 4 || frac < 0.94 {
			t.Errorf("DecodeFile(%s): %.1f%% of samples equal, largest difference %d; "+
				"want at least 94%% and at most 4", src, 100*frac, worst)
		}
	}
}
