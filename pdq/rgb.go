package pdq

import "github.com/dnadb/dnadb"

// HashRGB returns the PDQ hash and quality of a width x height image of packed RGB24
// pixels: three bytes R, G, B per pixel, rows stride bytes apart. This is the layout
// of an RGB24 frame from libswscale or ffmpeg's rawvideo output, and the reference
// vPDQ hasher reads its frames this way (rowStride = linesize, colStride = 3). Luma
// and hash are those HashImage gives for the same pixels in an *image.RGBA with
// ProfileFull; the last row needs only 3*width bytes, not a whole stride.
//
// It fails with dnadb.ErrInvalid for a side under MinDim, a stride under 3*width,
// or a buffer too short for the geometry.
func HashRGB(pix []byte, width, height, stride int) (Result, error) {
	if width < MinDim || height < MinDim {
		return Result{}, dnadb.Errorf(dnadb.ErrInvalid,
			"pdq: image is %dx%d pixels, smaller than the minimum %dx%d",
			width, height, MinDim, MinDim)
	}
	if stride < 3*width {
		return Result{}, dnadb.Errorf(dnadb.ErrInvalid,
			"pdq: rgb stride %d is under 3*width=%d", stride, 3*width)
	}
	if need := (height-1)*stride + 3*width; len(pix) < need {
		return Result{}, dnadb.Errorf(dnadb.ErrInvalid,
			"pdq: rgb buffer holds %d bytes, %dx%d at stride %d needs %d",
			len(pix), width, height, stride, need)
	}

	h := hashers.Get().(*hasher)
	defer h.release()

	src := rgbSource{pix: pix, stride: stride, cols: width}
	return h.hash(&src, height, width), nil
}

// rgbSource is a rowSource over packed RGB24 pixels.
type rgbSource struct {
	pix    []byte
	stride int
	cols   int
}

func (s *rgbSource) lumaRow(y int, buf []float32) []float32 {
	buf = buf[:s.cols]
	row := s.pix[y*s.stride:]
	row = row[:3*s.cols]
	for x := range buf {
		p := row[3*x : 3*x+3]
		buf[x] = rgbLuma(p[0], p[1], p[2])
	}
	return buf
}
