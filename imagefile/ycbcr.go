package imagefile

import (
	"image"
	"image/color"
)

// This file converts the YCbCr pictures that image/jpeg and x/image/webp return the
// way the C libraries under ImageMagick do by default, since the reference hashes
// what they produce: libjpeg-turbo 2.1 (jdsample.c, jdcolor.c) for JPEG and libwebp
// (dsp/upsampling.c, dsp/yuv.h, dec/io_dec.c) for lossy WebP. The arithmetic below
// follows their fixed-point rules, rounding biases and edge handling; the code is
// our own.

// jpegTables are libjpeg-turbo's YCbCr to RGB tables: 16-bit fixed point, with the
// Cr->R and Cb->B terms rounded in advance and the two G terms summed before
// rounding (build_ycc_rgb_table).
var jpegTables = func() (t struct{ crR, cbB, crG, cbG [256]int32 }) {
	const (
		scaleBits = 16
		half      = 1 << (scaleBits - 1)
	)
	fix := func(x float64) int32 { return int32(x*(1<<scaleBits) + 0.5) }
	for i := range 256 {
		x := int32(i) - 128
		t.crR[i] = (fix(1.40200)*x + half) >> scaleBits
		t.cbB[i] = (fix(1.77200)*x + half) >> scaleBits
		t.crG[i] = -fix(0.71414) * x
		t.cbG[i] = -fix(0.34414)*x + half
	}
	return t
}()

// clamp8 limits v to 0..255.
func clamp8(v int32) uint8 {
	switch {
	case v < 0:
		return 0
	case v > 255:
		return 255
	}
	return uint8(v)
}

// jpegToNRGBA converts a JPEG's YCbCr picture to RGB as libjpeg-turbo does by
// default: fancy (triangle-filter) upsampling of 4:2:2, 4:2:0 and 4:4:0 chroma,
// replication of other subsampled chroma, then its table-driven colour conversion.
func jpegToNRGBA(m *image.YCbCr) *image.NRGBA {
	b := m.Bounds()
	w, h := b.Dx(), b.Dy()
	n := image.NewNRGBA(image.Rect(0, 0, w, h))
	hs, vs := subsampling(m.SubsampleRatio)
	if hs == 0 || b.Min != (image.Point{}) {
		// Not a layout image/jpeg returns; convert pixel by pixel.
		return nearestYCbCr(m, n)
	}

	// Upsample one row of chroma at a time, then convert that row.
	up := chromaUpsampler{hs: hs, vs: vs, w: w, h: h, stride: m.CStride}
	cb, cr := make([]uint8, w+1), make([]uint8, w+1)
	t := &jpegTables
	for y := range h {
		up.jpegRow(cb, m.Cb, y)
		up.jpegRow(cr, m.Cr, y)
		ys := m.Y[y*m.YStride : y*m.YStride+w]
		dst := n.Pix[y*n.Stride : (y+1)*n.Stride]
		for x, yy := range ys {
			Y, u, v := int32(yy), cb[x], cr[x]
			d := dst[4*x : 4*x+4 : 4*x+4]
			d[0] = clamp8(Y + t.crR[v])
			d[1] = clamp8(Y + (t.cbG[u]+t.crG[v])>>16)
			d[2] = clamp8(Y + t.cbB[u])
			d[3] = 0xff
		}
	}
	return n
}

// subsampling returns the horizontal and vertical chroma subsampling factors of r,
// or zeros for a ratio it does not know.
func subsampling(r image.YCbCrSubsampleRatio) (hs, vs int) {
	switch r {
	case image.YCbCrSubsampleRatio444:
		return 1, 1
	case image.YCbCrSubsampleRatio422:
		return 2, 1
	case image.YCbCrSubsampleRatio420:
		return 2, 2
	case image.YCbCrSubsampleRatio440:
		return 1, 2
	case image.YCbCrSubsampleRatio411:
		return 4, 1
	case image.YCbCrSubsampleRatio410:
		return 4, 2
	}
	return 0, 0
}

// nearestYCbCr converts m into n pixel by pixel, with each pixel taking the chroma
// sample that covers it and libjpeg-turbo's colour tables.
func nearestYCbCr(m *image.YCbCr, n *image.NRGBA) *image.NRGBA {
	b := m.Bounds()
	t := &jpegTables
	for y := 0; y < b.Dy(); y++ {
		for x := 0; x < b.Dx(); x++ {
			Y := int32(m.Y[m.YOffset(b.Min.X+x, b.Min.Y+y)])
			ci := m.COffset(b.Min.X+x, b.Min.Y+y)
			u, v := m.Cb[ci], m.Cr[ci]
			i := n.PixOffset(x, y)
			n.Pix[i] = clamp8(Y + t.crR[v])
			n.Pix[i+1] = clamp8(Y + (t.cbG[u]+t.crG[v])>>16)
			n.Pix[i+2] = clamp8(Y + t.cbB[u])
			n.Pix[i+3] = 0xff
		}
	}
	return n
}

// chromaUpsampler upsamples a chroma plane whose origin is at (0, 0) to full
// resolution, one output row at a time.
type chromaUpsampler struct {
	hs, vs int // subsampling factors
	w, h   int // picture size
	stride int // chroma row stride
	sums   []int32
}

// cw and ch are the size of the chroma plane that holds real samples, as libjpeg
// computes downsampled_width and downsampled_height. Go's planes may extend further,
// into the padding of the last MCU, and those samples must not be used.
func (u *chromaUpsampler) cw() int { return (u.w + u.hs - 1) / u.hs }
func (u *chromaUpsampler) ch() int { return (u.h + u.vs - 1) / u.vs }

// rows returns the chroma row nearest output row y and the next nearest one: the
// row above for the upper output row of a pair, the row below for the lower. Rows
// past the top or the bottom repeat the edge row, as libjpeg's context rows and
// libwebp's first and last rows do.
func (u *chromaUpsampler) rows(plane []uint8, y int) (near, far []uint8) {
	r := y / 2
	f := r + 1
	if y%2 == 0 {
		f = r - 1
	}
	f = max(0, min(f, u.ch()-1))
	cw := u.cw()
	return plane[r*u.stride : r*u.stride+cw], plane[f*u.stride : f*u.stride+cw]
}

// jpegRow writes the chroma of output row y to dst (at least w+1 long), following
// jdsample.c: h2v1_fancy_upsample, h2v2_fancy_upsample and h1v2_fancy_upsample,
// each used only where libjpeg-turbo uses it, and replication otherwise.
func (u *chromaUpsampler) jpegRow(dst, plane []uint8, y int) {
	cw := u.cw()
	switch {
	case u.hs == 2 && u.vs == 1 && cw > 2:
		// 4:2:2: 3/4 nearer + 1/4 further sample, with biases 1 and 2 alternating.
		in := plane[y*u.stride : y*u.stride+cw]
		dst[0] = in[0]
		dst[1] = uint8((int32(in[0])*3 + int32(in[1]) + 2) >> 2)
		for c := 1; c < cw-1; c++ {
			v := int32(in[c]) * 3
			dst[2*c] = uint8((v + int32(in[c-1]) + 1) >> 2)
			dst[2*c+1] = uint8((v + int32(in[c+1]) + 2) >> 2)
		}
		last := cw - 1
		dst[2*last] = uint8((int32(in[last])*3 + int32(in[last-1]) + 1) >> 2)
		dst[2*last+1] = in[last]

	case u.hs == 2 && u.vs == 2 && cw > 2:
		// 4:2:0: vertical then horizontal 3/4, 1/4 weights (9/16, 3/16, 3/16, 1/16).
		near, far := u.rows(plane, y)
		if cap(u.sums) < cw {
			u.sums = make([]int32, cw)
		}
		s := u.sums[:cw]
		for c := range s {
			s[c] = int32(near[c])*3 + int32(far[c])
		}
		dst[0] = uint8((s[0]*4 + 8) >> 4)
		dst[1] = uint8((s[0]*3 + s[1] + 7) >> 4)
		for c := 1; c < cw-1; c++ {
			dst[2*c] = uint8((s[c]*3 + s[c-1] + 8) >> 4)
			dst[2*c+1] = uint8((s[c]*3 + s[c+1] + 7) >> 4)
		}
		last := cw - 1
		dst[2*last] = uint8((s[last]*3 + s[last-1] + 8) >> 4)
		dst[2*last+1] = uint8((s[last]*4 + 7) >> 4)

	case u.hs == 1 && u.vs == 2:
		// 4:4:0: vertical 3/4, 1/4 weights.
		near, far := u.rows(plane, y)
		bias := int32(1)
		if y%2 == 1 {
			bias = 2
		}
		for c := range cw {
			dst[c] = uint8((int32(near[c])*3 + int32(far[c]) + bias) >> 2)
		}

	default:
		// Full-size chroma, or replication (int_upsample, h2v1_upsample and
		// h2v2_upsample, used for 4:1:1, 4:1:0 and planes two samples wide).
		row := plane[(y/u.vs)*u.stride:]
		for x := range u.w {
			dst[x] = row[x/u.hs]
		}
	}
}

// vp8ToNRGBA converts a lossy WebP (VP8) picture, which is always 4:2:0 with
// limited-range BT.601 samples, to RGB as libwebp's default RGBA output does: its
// "fancy" upsampler (UpsampleRgbaLinePair) and its fixed-point VP8YuvToRgb. alpha,
// if not nil, is the alpha plane with the given stride; otherwise the result is
// opaque.
func vp8ToNRGBA(m *image.YCbCr, alpha []uint8, astride int) *image.NRGBA {
	b := m.Bounds()
	w, h := b.Dx(), b.Dy()
	n := image.NewNRGBA(image.Rect(0, 0, w, h))
	if m.SubsampleRatio != image.YCbCrSubsampleRatio420 || b.Min != (image.Point{}) {
		// Not a layout x/image/vp8 returns; convert pixel by pixel.
		for y := range h {
			for x := range w {
				c := m.YCbCrAt(b.Min.X+x, b.Min.Y+y)
				r, g, bl := vp8ToRGB(c.Y, c.Cb, c.Cr)
				n.SetNRGBA(x, y, color.NRGBA{r, g, bl, alphaAt(alpha, astride, x, y)})
			}
		}
		return n
	}

	up := chromaUpsampler{hs: 2, vs: 2, w: w, h: h, stride: m.CStride}
	cb, cr := make([]uint8, w+1), make([]uint8, w+1)
	for y := range h {
		up.vp8Row(cb, m.Cb, y)
		up.vp8Row(cr, m.Cr, y)
		ys := m.Y[y*m.YStride : y*m.YStride+w]
		dst := n.Pix[y*n.Stride : (y+1)*n.Stride]
		for x, yy := range ys {
			d := dst[4*x : 4*x+4 : 4*x+4]
			d[0], d[1], d[2] = vp8ToRGB(yy, cb[x], cr[x])
			d[3] = alphaAt(alpha, astride, x, y)
		}
	}
	return n
}

// alphaAt returns the alpha of pixel (x, y), or opaque if there is no alpha plane.
func alphaAt(alpha []uint8, stride, x, y int) uint8 {
	if alpha == nil {
		return 0xff
	}
	if i := y*stride + x; i < len(alpha) {
		return alpha[i]
	}
	return 0xff
}

// vp8Row writes the chroma of output row y to dst (at least w+1 long), following
// libwebp's UPSAMPLE_FUNC: the nearer chroma row weighs 3/4 and the further 1/4, and
// between columns the four samples weigh 9/16, 3/16, 3/16 and 1/16, computed through
// its two "diagonal" averages.
func (u *chromaUpsampler) vp8Row(dst, plane []uint8, y int) {
	near, far := u.rows(plane, y)
	edge := func(c int) uint8 {
		return uint8((3*int32(near[c]) + int32(far[c]) + 2) >> 2)
	}
	dst[0] = edge(0)
	for x := 1; x <= (u.w-1)>>1; x++ {
		a, b := int32(near[x-1]), int32(near[x])
		c, d := int32(far[x-1]), int32(far[x])
		avg := a + b + c + d + 8
		dst[2*x-1] = uint8((((avg + 2*(b+c)) >> 3) + a) >> 1)
		dst[2*x] = uint8((((avg + 2*(a+d)) >> 3) + b) >> 1)
	}
	if u.w%2 == 0 {
		dst[u.w-1] = edge(u.cw() - 1)
	}
}

// vp8ToRGB is libwebp's VP8YuvToRgb: limited-range BT.601 in 14-bit fixed point,
// with its mulhi emulation ((v * coeff) >> 8) and its clipping.
func vp8ToRGB(y, u, v uint8) (r, g, b uint8) {
	mulHi := func(v uint8, coeff int32) int32 { return int32(v) * coeff >> 8 }
	clip := func(v int32) uint8 {
		const mask = 256<<6 - 1
		switch {
		case v&^mask == 0:
			return uint8(v >> 6)
		case v < 0:
			return 0
		}
		return 255
	}
	yy := mulHi(y, 19077)
	r = clip(yy + mulHi(v, 26149) - 14234)
	g = clip(yy - mulHi(u, 6419) - mulHi(v, 13320) + 8708)
	b = clip(yy + mulHi(u, 33050) - 17685)
	return r, g, b
}
