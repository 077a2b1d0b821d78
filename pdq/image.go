package pdq

import (
	"image"
	"image/color"
)

// cliSide is the side the reference command-line tool squashes large images to.
const cliSide = 512

// Luma coefficients, float32 as in the reference (static const float ... = 0.299).
var (
	lumaCoeffR float32 = 0.299
	lumaCoeffG float32 = 0.587
	lumaCoeffB float32 = 0.114
)

// lumaR, lumaG and lumaB hold the float32 products v*coefficient for every 8-bit v:
// looking them up gives the same bits as multiplying, and never fuses with the sum.
var lumaR, lumaG, lumaB, lumaGray = makeLumaTables()

func makeLumaTables() (r, g, b, gray [256]float32) {
	for v := range 256 {
		f := float32(v)
		r[v], g[v], b[v], gray[v] = f*lumaCoeffR, f*lumaCoeffG, f*lumaCoeffB, f
	}
	return r, g, b, gray
}

// rgbLuma returns the reference's luma R*0.299 + G*0.587, then + B*0.114.
func rgbLuma(r, g, b uint8) float32 {
	return float32(lumaR[r]+lumaG[g]) + lumaB[b]
}

// floatSource is a rowSource over a stored luma plane.
type floatSource struct {
	luma []float32
	cols int
}

func (s *floatSource) lumaRow(y int, _ []float32) []float32 {
	return s.luma[y*s.cols : (y+1)*s.cols]
}

// pixelSource is a rowSource that computes luma from 8-bit pixels: one byte per
// pixel (grey path) or four bytes R, G, B, A (alpha ignored). It may sample the
// pixels through row and column maps, which is how the 512x512 squash is applied
// without building the squashed image.
type pixelSource struct {
	pix    []uint8
	stride int
	bpp    int // bytes per pixel: 1 (grey) or 4 (RGBA or NRGBA)
	rows   int
	cols   int

	// With squashed set, rowOff[y] is the offset in pix of output row y's source row,
	// and colOff[x] the offset within it of output column x's source pixel.
	squashed       bool
	rowOff, colOff []int
}

// setImage points s at img, with the maps of the 512x512 squash if squash is set.
// It reports false for an image type without a fast path.
func (s *pixelSource) setImage(img image.Image, squash bool) bool {
	var b image.Rectangle
	switch m := img.(type) {
	case *image.Gray:
		s.pix, s.stride, s.bpp, b = m.Pix, m.Stride, 1, m.Rect
		s.pix = s.pix[m.PixOffset(b.Min.X, b.Min.Y):]
	case *image.NRGBA:
		s.pix, s.stride, s.bpp, b = m.Pix, m.Stride, 4, m.Rect
		s.pix = s.pix[m.PixOffset(b.Min.X, b.Min.Y):]
	case *image.RGBA:
		s.pix, s.stride, s.bpp, b = m.Pix, m.Stride, 4, m.Rect
		s.pix = s.pix[m.PixOffset(b.Min.X, b.Min.Y):]
	default:
		return false
	}
	s.rows, s.cols = b.Dy(), b.Dx()
	s.squashed, s.rowOff, s.colOff = false, s.rowOff[:0], s.colOff[:0]
	if b.Empty() {
		s.pix = nil
		return true
	}
	if squash && needsSquash(s.cols, s.rows) {
		for y := range cliSide {
			s.rowOff = append(s.rowOff, squashIndex(y, s.rows)*s.stride)
		}
		for x := range cliSide {
			s.colOff = append(s.colOff, squashIndex(x, s.cols)*s.bpp)
		}
		s.rows, s.cols, s.squashed = cliSide, cliSide, true
	}
	return true
}

// needsSquash reports whether the reference command-line tool squashes a w x h image.
func needsSquash(w, h int) bool { return w > cliSide || h > cliSide }

// squashIndex returns the source index of output index i of 512 along a side of n
// pixels: floor(i*n/512), as CImg's nearest-neighbour resize computes it in double.
// The product is exact in double and the division by 512 only moves the exponent,
// so integer arithmetic gives the same index.
func squashIndex(i, n int) int { return i * n / cliSide }

func (s *pixelSource) lumaRow(y int, buf []float32) []float32 {
	buf = buf[:s.cols]
	if !s.squashed {
		row := s.pix[y*s.stride:]
		if s.bpp == 1 {
			row = row[:len(buf)]
			for x, v := range row {
				buf[x] = lumaGray[v]
			}
			return buf
		}
		row = row[:4*len(buf)]
		for x := range buf {
			p := row[4*x : 4*x+3]
			buf[x] = rgbLuma(p[0], p[1], p[2])
		}
		return buf
	}

	row := s.pix[s.rowOff[y]:]
	colOff := s.colOff[:len(buf)]
	if s.bpp == 1 {
		for x, o := range colOff {
			buf[x] = lumaGray[row[o]]
		}
		return buf
	}
	for x, o := range colOff {
		p := row[o : o+3]
		buf[x] = rgbLuma(p[0], p[1], p[2])
	}
	return buf
}

// isGrayModel reports whether m is one of the standard library's grey models.
func isGrayModel(m color.Model) bool {
	return m == color.GrayModel || m == color.Gray16Model
}

// normalize converts an image of a type without a fast path to *image.Gray, if its
// colour model is grey, or else to *image.NRGBA, each pixel through the model's
// conversion (16-bit values keep their high 8 bits).
func normalize(img image.Image) image.Image {
	b := img.Bounds()
	if isGrayModel(img.ColorModel()) {
		g := image.NewGray(b)
		for y := b.Min.Y; y < b.Max.Y; y++ {
			for x := b.Min.X; x < b.Max.X; x++ {
				g.SetGray(x, y, color.GrayModel.Convert(img.At(x, y)).(color.Gray))
			}
		}
		return g
	}
	n := image.NewNRGBA(b)
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			n.SetNRGBA(x, y, color.NRGBAModel.Convert(img.At(x, y)).(color.NRGBA))
		}
	}
	return n
}

// Resize512 returns img squashed as the reference command-line tool does before
// hashing: if it is wider or taller than 512 pixels, to exactly 512x512 (aspect ratio
// not kept) by nearest neighbour on the 8-bit pixels, where output pixel (x, y) is
// source pixel (floor(x*W/512), floor(y*H/512)). Otherwise it returns img itself.
//
// The result is an *image.Gray for a grey image, an *image.RGBA for an *image.RGBA,
// and an *image.NRGBA otherwise, with bounds starting at (0, 0). Hashing the result
// with ProfileFull equals hashing img with ProfileCLI512, which does not build it.
func Resize512(img image.Image) image.Image {
	b := img.Bounds()
	if !needsSquash(b.Dx(), b.Dy()) {
		return img
	}
	var s pixelSource
	if !s.setImage(img, true) {
		img = normalize(img)
		s.setImage(img, true)
	}

	r := image.Rect(0, 0, cliSide, cliSide)
	var pix []uint8
	var out image.Image
	switch img.(type) {
	case *image.Gray:
		g := image.NewGray(r)
		pix, out = g.Pix, g
	case *image.RGBA:
		m := image.NewRGBA(r)
		pix, out = m.Pix, m
	default:
		m := image.NewNRGBA(r)
		pix, out = m.Pix, m
	}
	for y := range cliSide {
		row := s.pix[s.rowOff[y]:]
		dst := pix[y*cliSide*s.bpp : (y+1)*cliSide*s.bpp]
		for x, o := range s.colOff {
			copy(dst[x*s.bpp:(x+1)*s.bpp], row[o:o+s.bpp])
		}
	}
	return out
}
