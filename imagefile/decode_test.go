package imagefile

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/image/bmp"
	"golang.org/x/image/tiff"

	"github.com/dnadb/dnadb"
	"github.com/dnadb/dnadb/internal/corpus"
)

// formatCase is one small image in one format, with the pixels decoding must give.
type formatCase struct {
	name   string
	data   []byte
	format string
	grey   bool                       // want an *image.Gray rather than an *image.NRGBA
	w, h   int                        // want this size
	want   func(x, y int) color.NRGBA // want these pixels; nil for lossy formats
}

// formatCases builds one case per format and per kind of pixel that matters.
func formatCases(tb testing.TB) []formatCase {
	tb.Helper()
	const w, h = 6, 5
	src := pattern(w, h)

	opaque := image.NewRGBA(src.Rect)
	premul := image.NewRGBA(src.Rect)
	grey := image.NewGray(src.Rect)
	greyRGB := image.NewRGBA(src.Rect)
	grey16 := image.NewGray16(src.Rect)
	nrgba16 := image.NewNRGBA64(src.Rect)
	rgb16 := image.NewRGBA64(src.Rect)
	for y := range h {
		for x := range w {
			c := src.NRGBAAt(x, y)
			opaque.SetRGBA(x, y, color.RGBA{c.R, c.G, c.B, 0xff})
			premul.Set(x, y, c)
			grey.SetGray(x, y, color.Gray{c.R})
			greyRGB.SetRGBA(x, y, color.RGBA{c.G, c.G, c.G, 0xff})
			// 16-bit samples whose low byte differs from the high byte.
			grey16.SetGray16(x, y, color.Gray16{uint16(c.R)<<8 | uint16(c.B)})
			nrgba16.SetNRGBA64(x, y, color.NRGBA64{
				uint16(c.R)<<8 | 0x80, uint16(c.G)<<8 | 0xff, uint16(c.B) << 8, uint16(c.A)<<8 | 1,
			})
			rgb16.SetRGBA64(x, y, color.RGBA64{
				uint16(c.R)<<8 | 0x7f, uint16(c.G)<<8 | 0x01, uint16(c.B)<<8 | 0xfe, 0xffff,
			})
		}
	}
	palette := color.Palette{
		color.NRGBA{10, 20, 30, 0xff}, color.NRGBA{200, 100, 50, 0x80},
		color.NRGBA{1, 2, 3, 0}, color.NRGBA{250, 250, 0, 0xff},
	}
	pal := image.NewPaletted(src.Rect, palette)
	gifPal := image.NewPaletted(src.Rect, color.Palette{
		color.RGBA{10, 20, 30, 0xff}, color.RGBA{200, 100, 50, 0xff},
		color.RGBA{0, 0, 255, 0xff}, color.RGBA{250, 250, 0, 0xff},
	})
	for i := range pal.Pix {
		pal.Pix[i] = uint8(i*7) % 4
		gifPal.Pix[i] = uint8(i*5) % 4
	}

	// A GIF whose one frame is smaller than its logical screen and offset in it.
	frame := image.NewPaletted(image.Rect(3, 2, 7, 6), gifPal.Palette)
	for i := range frame.Pix {
		frame.Pix[i] = uint8(i) % 4
	}
	var offsetGIF bytes.Buffer
	err := gif.EncodeAll(&offsetGIF, &gif.GIF{
		Image: []*image.Paletted{frame}, Delay: []int{0},
		Config: image.Config{ColorModel: frame.Palette, Width: 10, Height: 10},
	})
	if err != nil {
		tb.Fatal(err)
	}

	pngEnc := png.Encode
	gifEnc := func(w io.Writer, m image.Image) error { return gif.Encode(w, m, nil) }
	tiffEnc := func(w io.Writer, m image.Image) error { return tiff.Encode(w, m, nil) }
	jpegEnc := func(w io.Writer, m image.Image) error { return jpeg.Encode(w, m, nil) }
	at := func(m image.Image) func(x, y int) color.NRGBA {
		return func(x, y int) color.NRGBA { return color.NRGBAModel.Convert(m.At(x, y)).(color.NRGBA) }
	}
	opaqueAt := func(m image.Image) func(x, y int) color.NRGBA {
		return func(x, y int) color.NRGBA { c := at(m)(x, y); c.A = 0xff; return c }
	}
	highByte := func(m image.Image) func(x, y int) color.NRGBA {
		return func(x, y int) color.NRGBA {
			c := m.(*image.NRGBA64).NRGBA64At(x, y)
			return color.NRGBA{uint8(c.R >> 8), uint8(c.G >> 8), uint8(c.B >> 8), uint8(c.A >> 8)}
		}
	}
	red := color.NRGBA{200, 100, 50, 0xff}

	return []formatCase{
		{"png/nrgba8", encode(tb, pngEnc, src), "png", false, w, h, src.NRGBAAt},
		{"png/rgb8", encode(tb, pngEnc, opaque), "png", false, w, h, at(opaque)},
		{"png/grey8", encode(tb, pngEnc, grey), "png", true, w, h, at(grey)},
		{"png/grey-as-rgb8", encode(tb, pngEnc, greyRGB), "png", true, w, h, at(greyRGB)},
		{"png/grey16", encode(tb, pngEnc, grey16), "png", true, w, h, func(x, y int) color.NRGBA {
			v := uint8(grey16.Gray16At(x, y).Y >> 8)
			return color.NRGBA{v, v, v, 0xff}
		}},
		{"png/nrgba16", encode(tb, pngEnc, nrgba16), "png", false, w, h, highByte(nrgba16)},
		{"png/rgb16", encode(tb, pngEnc, rgb16), "png", false, w, h, func(x, y int) color.NRGBA {
			c := rgb16.RGBA64At(x, y)
			return color.NRGBA{uint8(c.R >> 8), uint8(c.G >> 8), uint8(c.B >> 8), 0xff}
		}},
		{"png/palette-with-transparency", encode(tb, pngEnc, pal), "png", false, w, h,
			func(x, y int) color.NRGBA { return palette[pal.ColorIndexAt(x, y)].(color.NRGBA) }},
		{"png/1x1", encode(tb, pngEnc, src.SubImage(image.Rect(0, 0, 1, 1))), "png", false, 1, 1,
			src.NRGBAAt},
		{"gif/palette", encode(tb, gifEnc, gifPal), "gif", false, w, h, at(gifPal)},
		{"gif/offset-frame", offsetGIF.Bytes(), "gif", false, 4, 4, func(x, y int) color.NRGBA {
			return at(frame)(x+3, y+2)
		}},
		{"bmp/rgb", encode(tb, bmp.Encode, opaque), "bmp", false, w, h, at(opaque)},
		{"bmp/grey", encode(tb, bmp.Encode, grey), "bmp", true, w, h, at(grey)},
		{"tiff/nrgba8", encode(tb, tiffEnc, src), "tiff", false, w, h, src.NRGBAAt},
		{"tiff/premultiplied-rgba8", encode(tb, tiffEnc, premul), "tiff", false, w, h, at(premul)},
		{"tiff/grey16", encode(tb, tiffEnc, grey16), "tiff", true, w, h, func(x, y int) color.NRGBA {
			v := uint8(grey16.Gray16At(x, y).Y >> 8)
			return color.NRGBA{v, v, v, 0xff}
		}},
		{"tiff/palette", encode(tb, tiffEnc, gifPal), "tiff", false, w, h, opaqueAt(gifPal)},
		{"webp/lossless", losslessWebP(3, 2, red), "webp", false, 3, 2,
			func(x, y int) color.NRGBA { return red }},
		{"jpeg/grey", encode(tb, jpegEnc, grey), "jpeg", true, w, h, nil},
		{"jpeg/colour", encode(tb, jpegEnc, opaque), "jpeg", false, w, h, nil},
	}
}

func TestDecodeFormats(t *testing.T) {
	for _, tc := range formatCases(t) {
		t.Run(tc.name, func(t *testing.T) {
			name := strings.ReplaceAll(tc.name, "/", "-")
			img, err := Decoder{}.Decode(name, bytes.NewReader(tc.data))
			if err != nil {
				t.Fatalf("Decode(%s) error: %v", tc.name, err)
			}
			if got, want := img.Format, tc.format; got != want {
				t.Errorf("Decode(%s).Format = %q, want %q", tc.name, got, want)
			}
			if img.Width != tc.w || img.Height != tc.h {
				t.Errorf("Decode(%s) size = %dx%d, want %dx%d", tc.name, img.Width, img.Height, tc.w, tc.h)
			}
			if got, want := img.Pixels.Bounds(), image.Rect(0, 0, tc.w, tc.h); got != want {
				t.Errorf("Decode(%s).Pixels.Bounds() = %v, want %v", tc.name, got, want)
			}
			wantType := "*image.NRGBA"
			if tc.grey {
				wantType = "*image.Gray"
			}
			if got := fmt.Sprintf("%T", img.Pixels); got != wantType {
				t.Fatalf("Decode(%s).Pixels is %s, want %s", tc.name, got, wantType)
			}
			if tc.want == nil {
				return
			}
			for y := range tc.h {
				for x := range tc.w {
					got, want := nrgbaAt(img.Pixels, x, y), tc.want(x, y)
					if tc.grey {
						want.A = 0xff
					}
					if got != want {
						t.Fatalf("Decode(%s) pixel (%d,%d) = %v, want %v", tc.name, x, y, got, want)
					}
				}
			}
		})
	}
}

// halfJPEG returns the first half of a corpus JPEG.
func halfJPEG(tb testing.TB) []byte {
	b := readFile(tb, corpus.Path(tb, "pdq", "images", "misc-images", "wee.jpg"))
	return b[:len(b)/2]
}

// patchedJPEG returns a corpus baseline JPEG with its SOF0 marker changed to sof and
// its sample precision to precision.
func patchedJPEG(tb testing.TB, sof, precision byte) []byte {
	b := bytes.Clone(readFile(tb, corpus.Path(tb, "pdq", "images", "labelme-subset", "q0122.jpg")))
	// Walk the marker segments after SOI to the frame header.
	for i := 2; i+4 < len(b) && b[i] == 0xff; i += 2 + (int(b[i+2])<<8 | int(b[i+3])) {
		if b[i+1] == 0xc0 {
			b[i+1], b[i+4] = sof, precision
			return b
		}
	}
	tb.Fatal("q0122.jpg has no SOF0 segment")
	return nil
}

// manyScans returns a corpus progressive JPEG followed by n more scans, each of one
// AC band of the first component, coded as a single run of empty blocks.
func manyScans(tb testing.TB, n int) []byte {
	b := readFile(tb, corpus.Path(tb, "pdq", "images", "misc-images", "wee.jpg"))
	end := bytes.LastIndex(b, []byte{0xff, 0xd9}) // EOI

	var buf bytes.Buffer
	buf.Write(b[:end])
	// An AC Huffman table (class 1, id 0) whose one code, "0", is EOBRUN of 2^14+.
	buf.Write([]byte{0xff, 0xc4, 0x00, 0x14, 0x10, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		0, 0, 0xe0})
	// SOS: 1 component (id 1, tables 0/0), bands 1 to 63, no approximation; then the
	// code "0" and 14 one bits of run length, padded with ones (0xff stuffed).
	scan := []byte{0xff, 0xda, 0x00, 0x08, 0x01, 0x01, 0x00, 0x01, 0x3f, 0x00, 0x7f, 0xff, 0x00}
	for range n {
		buf.Write(scan)
	}
	buf.Write(b[end:])
	return buf.Bytes()
}

func TestDecodeErrors(t *testing.T) {
	animated := []byte("RIFF\x00\x00\x00\x00WEBPVP8X\x0a\x00\x00\x00\x02\x00\x00\x00" +
		"\x00\x00\x00\x00\x00\x00")
	tests := []struct {
		name     string
		data     []byte
		d        Decoder
		kind     error
		contains []string
	}{
		{"empty.jpg", nil, Decoder{}, dnadb.ErrInvalid, []string{"empty file"}},
		{"text.jpg", []byte("this is not a picture\n"), Decoder{}, dnadb.ErrUnsupported,
			[]string{"not recognised", "JPEG, PNG, GIF, WebP, BMP and TIFF"}},
		{"truncated.jpg", halfJPEG(t), Decoder{}, dnadb.ErrInvalid, []string{"truncated jpeg"}},
		// image/jpeg reports a baseline scan cut short as "short Huffman data".
		{"truncated-baseline.jpg", patchedJPEG(t, 0xc0, 8)[:3000], Decoder{}, dnadb.ErrInvalid,
			[]string{"corrupt jpeg data"}},
		{"garbage.jpg", []byte("\xff\xd8\xff\x00garbage garbage"), Decoder{}, dnadb.ErrInvalid,
			[]string{"jpeg"}},
		{"garbage.png", append(pngHeader(8, 8), "garbage"...), Decoder{}, dnadb.ErrInvalid,
			[]string{"png"}},
		{"huge.png", pngHeader(100000, 100000), Decoder{}, dnadb.ErrTooLarge,
			[]string{"100000x100000", "100000000 pixels"}},
		{"over-pixel-limit.png", pngHeader(101, 100), Decoder{MaxPixels: 10000}, dnadb.ErrTooLarge,
			[]string{"101x100", "10000 pixels"}},
		{"long-side.png", pngHeader(70000, 2), Decoder{}, dnadb.ErrTooLarge,
			[]string{"70000x2", "65535"}},
		{"zero-width.gif", []byte("GIF89a\x00\x00\x05\x00\x00\x00\x00;"), Decoder{},
			dnadb.ErrInvalid, []string{"no pixels"}},
		{"over-byte-limit.jpg", halfJPEG(t), Decoder{MaxBytes: 100}, dnadb.ErrTooLarge,
			[]string{"100 bytes"}},
		{"many-scans.jpg", manyScans(t, MaxJPEGScans), Decoder{}, dnadb.ErrTooLarge,
			[]string{"jpeg scans", "limit of 256"}},
		{"12-bit.jpg", patchedJPEG(t, 0xc1, 12), Decoder{}, dnadb.ErrUnsupported,
			[]string{"unsupported JPEG feature"}},
		{"arithmetic.jpg", patchedJPEG(t, 0xc9, 8), Decoder{}, dnadb.ErrUnsupported,
			[]string{"unsupported JPEG feature"}},
		{"photo.heic", []byte("\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic"), Decoder{},
			dnadb.ErrUnsupported, []string{"HEIF is not supported"}},
		{"anim.webp", animated, Decoder{}, dnadb.ErrUnsupported,
			[]string{"animated WebP is not supported"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			check := func(how string, err error) {
				t.Helper()
				if !errors.Is(err, tc.kind) {
					t.Fatalf("%s(%s) error = %v, want kind %v", how, tc.name, err, tc.kind)
				}
				for _, s := range append([]string{tc.name}, tc.contains...) {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("%s(%s) error = %q, want it to contain %q", how, tc.name, err, s)
					}
				}
			}
			_, err := tc.d.Decode(tc.name, bytes.NewReader(tc.data))
			check("Decode", err)
			_, err = tc.d.DecodeFile(writeTemp(t, tc.name, tc.data))
			check("DecodeFile", err)
		})
	}
}

// TestManyScansUnderLimit checks that the scans added by manyScans decode, so that
// TestDecodeErrors refuses them for their number and nothing else.
func TestManyScansUnderLimit(t *testing.T) {
	if _, err := (Decoder{}).Decode("some-scans.jpg", bytes.NewReader(manyScans(t, 10))); err != nil {
		t.Fatalf("Decode(some-scans.jpg) error: %v", err)
	}
}

func TestDecodeFileDirectory(t *testing.T) {
	_, err := Decoder{}.DecodeFile(t.TempDir())
	if !errors.Is(err, dnadb.ErrInvalid) {
		t.Fatalf("DecodeFile(directory) error = %v, want kind %v", err, dnadb.ErrInvalid)
	}
}

func TestDecodeFileMissing(t *testing.T) {
	_, err := Decoder{}.DecodeFile("/nonexistent/photo.jpg")
	if !errors.Is(err, dnadb.ErrNotFound) {
		t.Fatalf("DecodeFile(missing) error = %v, want kind %v", err, dnadb.ErrNotFound)
	}
	if !strings.Contains(err.Error(), "photo.jpg") {
		t.Errorf("DecodeFile(missing) error = %q, want it to name the file", err)
	}
}

// TestHugeHeaderAllocatesLittle checks that an image whose header claims 10^10 pixels
// is refused before the decoder allocates anything in proportion.
func TestHugeHeaderAllocatesLittle(t *testing.T) {
	data := pngHeader(100000, 100000)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := Decoder{}.Decode("huge.png", bytes.NewReader(data))
	runtime.ReadMemStats(&after)

	if !errors.Is(err, dnadb.ErrTooLarge) {
		t.Fatalf("Decode(huge.png) error = %v, want kind %v", err, dnadb.ErrTooLarge)
	}
	const limit = 64 << 20
	if got := after.TotalAlloc - before.TotalAlloc; got > limit {
		t.Errorf("Decode(huge.png) allocated %d bytes, want at most %d", got, limit)
	}
}

func TestDecodeConfig(t *testing.T) {
	path := corpus.Path(t, "pdq", "images", "bridge-mods", "aaa-orig.jpg")
	got, err := Decoder{}.DecodeConfig("aaa-orig.jpg", bytes.NewReader(readFile(t, path)))
	if err != nil {
		t.Fatal(err)
	}
	if want := (Config{Format: "jpeg", Width: 1600, Height: 1004}); got != want {
		t.Errorf("DecodeConfig(aaa-orig.jpg) = %+v, want %+v", got, want)
	}

	_, err = Decoder{}.DecodeConfig("huge.png", bytes.NewReader(pngHeader(100000, 100000)))
	if !errors.Is(err, dnadb.ErrTooLarge) {
		t.Errorf("DecodeConfig(huge.png) error = %v, want kind %v", err, dnadb.ErrTooLarge)
	}
	_, err = Decoder{}.DecodeConfig("empty", strings.NewReader(""))
	if !errors.Is(err, dnadb.ErrInvalid) {
		t.Errorf("DecodeConfig(empty) error = %v, want kind %v", err, dnadb.ErrInvalid)
	}
}

// TestPanicBecomesInvalid checks the recovery that keeps a decoder's panic from
// reaching the caller.
func TestPanicBecomesInvalid(t *testing.T) {
	err := safely(func() error { panic("index out of range") })
	if !errors.Is(err, errPanic) {
		t.Fatalf("safely(panic) = %v, want errPanic", err)
	}
	err = decodeError("x.tiff", "tiff", err)
	if !errors.Is(err, dnadb.ErrInvalid) || !strings.Contains(err.Error(), "index out of range") {
		t.Errorf("decodeError(panic) = %v, want ErrInvalid with the panic value", err)
	}
}
