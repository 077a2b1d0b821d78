package pdq

import (
	"image"
	"sync"

	"github.com/dnadb/dnadb"
)

// MinDim is the smallest side, in pixels, of an image that can be hashed: the
// reference's MIN_HASHABLE_DIM.
const MinDim = 5

// Result is one PDQ hash with its quality.
type Result struct {
	// Hash is the 256-bit hash; bit k is DCT coefficient k = 16*row+col.
	Hash dnadb.Hash256
	// Quality is the reference's image-domain quality, 0 to 100. The reference
	// advises not to trust hashes of quality under 50.
	Quality int
}

// Dihedral holds the hashes of the eight dihedral transforms of one image, all
// derived from one DCT, and the image's quality.
type Dihedral struct {
	// Hashes is indexed by Variant.
	Hashes [NumVariants]dnadb.Hash256
	// Quality is the quality of the original image, as in Result.
	Quality int
}

// hasher is the scratch space of one hash computation, kept in a pool so that
// hashing allocates little.
type hasher struct {
	filter filter
	pixels pixelSource
	floats floatSource
	down   [dim * dim]float32
	tmp    [coeffs * dim]float32
	dct    [coeffs * coeffs]float32
	sel    [coeffs * coeffs]float32
	dih    [NumVariants][coeffs * coeffs]float32
}

var hashers = sync.Pool{New: func() any { return new(hasher) }}

// HashImage returns the PDQ hash and quality of img under profile p ("" means
// dnadb.ProfileFull; dnadb.ProfileCLI512 applies Resize512 first). Luma comes from the
// 8-bit pixels: an *image.Gray, or any image whose colour model is grey, gives
// luma = value; otherwise the R, G and B bytes are weighted, alpha ignored (an
// *image.RGBA's premultiplied bytes are used as stored). Other image types are
// converted pixel by pixel through color.NRGBAModel, which is slow.
//
// It fails with dnadb.ErrInvalid for an unknown profile or an image with a side
// under MinDim. A low quality is reported, not refused.
func HashImage(img image.Image, p dnadb.Profile) (Result, error) {
	h := hashers.Get().(*hasher)
	defer h.release()

	if err := h.setImage(img, p); err != nil {
		return Result{}, err
	}
	return h.hash(&h.pixels, h.pixels.rows, h.pixels.cols), nil
}

// DihedralImage returns the hashes of the eight dihedral transforms of img, as
// derived by the reference from one DCT, and its quality. Images, profiles and
// errors are as for HashImage.
func DihedralImage(img image.Image, p dnadb.Profile) (Dihedral, error) {
	h := hashers.Get().(*hasher)
	defer h.release()

	if err := h.setImage(img, p); err != nil {
		return Dihedral{}, err
	}
	return h.dihedral(&h.pixels, h.pixels.rows, h.pixels.cols), nil
}

// HashLuma returns the PDQ hash and quality of a luma plane of rows x cols float32
// values in row-major order, as the reference's pdqHash256FromFloatLuma: a 64x64
// plane is used as the decimated buffer directly, without filtering. A plane with a
// side under MinDim gives the reference's all-zero hash and quality 0. It panics if
// luma holds fewer than rows*cols values.
func HashLuma(luma []float32, rows, cols int) Result {
	if rows < MinDim || cols < MinDim {
		return Result{}
	}
	h := hashers.Get().(*hasher)
	defer h.release()

	h.floats = floatSource{luma: luma[:rows*cols], cols: cols}
	return h.hash(&h.floats, rows, cols)
}

// DihedralLuma returns the dihedral hashes and quality of a luma plane, as
// HashLuma, but like the reference's pdqDihedralHash256esFromFloatLuma it filters
// a 64x64 plane too, which can change low bits.
func DihedralLuma(luma []float32, rows, cols int) Dihedral {
	if rows < MinDim || cols < MinDim {
		return Dihedral{}
	}
	h := hashers.Get().(*hasher)
	defer h.release()

	h.floats = floatSource{luma: luma[:rows*cols], cols: cols}
	return h.dihedral(&h.floats, rows, cols)
}

// release forgets the caller's pixels and returns h to the pool.
func (h *hasher) release() {
	h.pixels.pix = nil
	h.floats.luma = nil
	hashers.Put(h)
}

// setImage prepares h.pixels for img under profile p and checks the size.
func (h *hasher) setImage(img image.Image, p dnadb.Profile) error {
	var squash bool
	switch p {
	case "", dnadb.ProfileFull:
	case dnadb.ProfileCLI512:
		squash = true
	default:
		return dnadb.Errorf(dnadb.ErrInvalid, "pdq: unknown profile %q", p)
	}
	if !h.pixels.setImage(img, squash) {
		h.pixels.setImage(normalize(img), squash)
	}
	if h.pixels.rows < MinDim || h.pixels.cols < MinDim {
		return dnadb.Errorf(dnadb.ErrInvalid,
			"pdq: image is %dx%d pixels, smaller than the minimum %dx%d",
			h.pixels.cols, h.pixels.rows, MinDim, MinDim)
	}
	return nil
}

// hash computes the hash of the plane from src, with the 64x64 shortcut.
func (h *hasher) hash(src rowSource, rows, cols int) Result {
	h.downsample(src, rows, cols, true)
	dct64To16(&h.down, &h.tmp, &h.dct)
	return Result{Hash: threshold(&h.dct, &h.sel), Quality: quality(&h.down)}
}

// dihedral computes the dihedral hashes of the plane from src, without the 64x64
// shortcut.
func (h *hasher) dihedral(src rowSource, rows, cols int) Dihedral {
	h.downsample(src, rows, cols, false)
	dct64To16(&h.down, &h.tmp, &h.dct)
	dihedral(&h.dct, &h.dih)
	d := Dihedral{Quality: quality(&h.down)}
	for v := range h.dih {
		d.Hashes[v] = threshold(&h.dih[v], &h.sel)
	}
	return d
}

// downsample fills h.down with the decimated 64x64 buffer. With shortcut, a 64x64
// plane is copied as it is.
func (h *hasher) downsample(src rowSource, rows, cols int, shortcut bool) {
	if shortcut && rows == dim && cols == dim {
		var buf [dim]float32
		for y := 0; y < dim; y++ {
			copy(h.down[y*dim:(y+1)*dim], src.lumaRow(y, buf[:]))
		}
		return
	}
	h.filter.run(src, rows, cols, &h.down)
}
