package imagefile

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// encode returns m encoded by enc.
func encode(tb testing.TB, enc func(io.Writer, image.Image) error, m image.Image) []byte {
	tb.Helper()
	var buf bytes.Buffer
	if err := enc(&buf, m); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// writeTemp writes data to a file called name in a fresh temporary directory and
// returns its path.
func writeTemp(tb testing.TB, name string, data []byte) string {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), name)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		tb.Fatal(err)
	}
	return path
}

// readFile returns the contents of path.
func readFile(tb testing.TB, path string) []byte {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// nrgbaAt returns pixel (x, y) of a normalised image, whichever type it has.
func nrgbaAt(m image.Image, x, y int) color.NRGBA {
	switch m := m.(type) {
	case *image.Gray:
		v := m.GrayAt(x, y).Y
		return color.NRGBA{v, v, v, 0xff}
	case *image.NRGBA:
		return m.NRGBAAt(x, y)
	}
	return color.NRGBAModel.Convert(m.At(x, y)).(color.NRGBA)
}

// pngHeader returns a PNG signature and a valid IHDR chunk for an 8-bit RGB image of
// the given size, and nothing else.
func pngHeader(w, h uint32) []byte {
	var ihdr [13]byte
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 8, 2 // bit depth 8, colour type RGB

	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	binary.Write(&b, binary.BigEndian, uint32(len(ihdr)))
	chunk := append([]byte("IHDR"), ihdr[:]...)
	b.Write(chunk)
	binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(chunk))
	return b.Bytes()
}

// bitWriter writes bits least significant first, as VP8L reads them.
type bitWriter struct {
	buf   []byte
	nbits uint
}

func (w *bitWriter) write(v uint32, n uint) {
	for i := uint(0); i < n; i++ {
		if w.nbits%8 == 0 {
			w.buf = append(w.buf, 0)
		}
		w.buf[len(w.buf)-1] |= byte(v>>i&1) << (w.nbits % 8)
		w.nbits++
	}
}

// losslessWebP builds, field by field, a lossless (VP8L) WebP file of w x h pixels
// all of colour c, following the WebP lossless bitstream specification. Each of
// the five prefix codes is a "simple" code with one symbol, which takes zero bits to
// read, so every pixel decodes to the same literal and no pixel data follows.
func losslessWebP(w, h int, c color.NRGBA) []byte {
	var bw bitWriter
	bw.write(0x2f, 8)         // signature
	bw.write(uint32(w-1), 14) // image_width - 1
	bw.write(uint32(h-1), 14) // image_height - 1
	bw.write(0, 1)            // alpha_is_used (a hint)
	bw.write(0, 3)            // version_number
	bw.write(0, 1)            // no transform
	bw.write(0, 1)            // no colour cache
	bw.write(0, 1)            // no meta prefix codes
	for _, sym := range []uint8{c.G, c.R, c.B, c.A} {
		bw.write(1, 1)           // simple code
		bw.write(0, 1)           // num_symbols - 1 = 0
		bw.write(1, 1)           // is_first_8bits
		bw.write(uint32(sym), 8) // the one symbol
	}
	bw.write(1, 1) // distance code: simple,
	bw.write(0, 1) // one symbol,
	bw.write(0, 1) // 1-bit symbol:
	bw.write(0, 1) // distance code 0

	vp8l := bw.buf
	var b bytes.Buffer
	b.WriteString("RIFF")
	size := 4 + 8 + len(vp8l) + len(vp8l)%2
	binary.Write(&b, binary.LittleEndian, uint32(size))
	b.WriteString("WEBPVP8L")
	binary.Write(&b, binary.LittleEndian, uint32(len(vp8l)))
	b.Write(vp8l)
	if len(vp8l)%2 == 1 {
		b.WriteByte(0) // RIFF chunks are padded to an even length
	}
	return b.Bytes()
}

// pattern returns a colourful, partly transparent w x h test image.
func pattern(w, h int) *image.NRGBA {
	m := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			m.SetNRGBA(x, y, color.NRGBA{
				R: uint8(x * 37), G: uint8(y * 53), B: uint8(x*y + 7), A: uint8(255 - 40*x),
			})
		}
	}
	return m
}
