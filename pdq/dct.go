package pdq

import (
	"math"

	"github.com/dnadb/dnadb"
)

// coeffs is the side of the kept DCT block: frequencies 1 to 16 on each axis.
const coeffs = 16

// dctMatrix is the reference's 16x64 DCT matrix, row-major: entry (i, j) is
// float32(float32(sqrt(2/64)) * cos((pi/2/64) * (i+1) * (2j+1))), the scale rounded to
// float32 first, the product formed in double and then rounded to float32.
// dctMatrixT is its transpose, 64x16.
var dctMatrix, dctMatrixT = makeDCTMatrix()

func makeDCTMatrix() (m, t [coeffs * dim]float32) {
	scale := float64(float32(math.Sqrt(2.0 / dim)))
	for i := 0; i < coeffs; i++ {
		for j := 0; j < dim; j++ {
			v := float32(scale * math.Cos((math.Pi/2/dim)*float64(i+1)*float64(2*j+1)))
			m[i*dim+j] = v
			t[j*coeffs+i] = v
		}
	}
	return m, t
}

// dct64To16 computes the reference's partial DCT of the 64x64 buffer a: first
// T = D·A (16x64), then B = T·Dᵀ (16x16), each entry a float32 sum over k = 0..63 in
// order, starting from zero. Eight entries of a row are accumulated side by side,
// which changes the order in which entries are computed but not the order of any
// entry's own additions.
func dct64To16(a *[dim * dim]float32, t *[coeffs * dim]float32, b *[coeffs * coeffs]float32) {
	for i := 0; i < coeffs; i++ {
		d := dctMatrix[i*dim : (i+1)*dim]
		for j := 0; j < dim; j += 8 {
			dotColumns8(t[i*dim+j:i*dim+j+8], d, a[j:], dim)
		}
	}
	for i := 0; i < coeffs; i++ {
		ti := t[i*dim : (i+1)*dim]
		for j := 0; j < coeffs; j += 8 {
			dotColumns8(b[i*coeffs+j:i*coeffs+j+8], ti, dctMatrixT[j:], coeffs)
		}
	}
}

// dotColumns8 sets out[c] = Σ_k float32(v[k] * m[k*stride+c]) for c = 0..7, adding
// k = 0..len(v)-1 in order. Each product is rounded to float32 before it is added, so
// that it cannot fuse into a multiply-add.
func dotColumns8(out, v, m []float32, stride int) {
	out = out[:8]
	var a0, a1, a2, a3, a4, a5, a6, a7 float32
	for k, x := range v {
		r := m[k*stride : k*stride+8]
		a0 += float32(x * r[0])
		a1 += float32(x * r[1])
		a2 += float32(x * r[2])
		a3 += float32(x * r[3])
		a4 += float32(x * r[4])
		a5 += float32(x * r[5])
		a6 += float32(x * r[6])
		a7 += float32(x * r[7])
	}
	out[0], out[1], out[2], out[3] = a0, a1, a2, a3
	out[4], out[5], out[6], out[7] = a4, a5, a6, a7
}

// quality is the reference's pdqImageDomainQualityMetric on the 64x64 buffer: the sum
// of |(int)(((u - v) * 100) / 255)| over vertical and horizontal neighbours, computed
// in float32 and truncated toward zero, divided by 90 and capped at 100.
func quality(a *[dim * dim]float32) int {
	sum := 0
	for i := 0; i < dim-1; i++ {
		for j := 0; j < dim; j++ {
			sum += gradient(a[i*dim+j], a[(i+1)*dim+j])
		}
	}
	for i := 0; i < dim; i++ {
		for j := 0; j < dim-1; j++ {
			sum += gradient(a[i*dim+j], a[i*dim+j+1])
		}
	}
	return min(sum/90, 100)
}

// gradient returns |(int)(((u - v) * 100) / 255)| in float32. Luma from pixels
// keeps the value within ±100; for values no image gives (NaN, or beyond the range of
// a C int, where the C conversion is undefined) it returns 0 for NaN and saturates
// at math.MaxInt32 otherwise, so that the quality stays within 0 to 100.
func gradient(u, v float32) int {
	f := float32((u-v)*100) / 255
	switch {
	case f != f:
		return 0
	case f >= math.MaxInt32 || f <= -math.MaxInt32:
		return math.MaxInt32
	case f < 0:
		return -int(f)
	}
	return int(f)
}

// threshold returns the hash of a 16x16 coefficient block: bit 16*i+j is set when
// coefficient (i, j) is strictly greater than the median, the 128th smallest of the
// 256 values. scratch is overwritten.
func threshold(b, scratch *[coeffs * coeffs]float32) dnadb.Hash256 {
	*scratch = *b
	med := selectKth(scratch[:], coeffs*coeffs/2-1)
	var h dnadb.Hash256
	for k, v := range b {
		if v > med {
			h.SetBit(k)
		}
	}
	return h
}

// selectKth returns the value that would sit at index k if s were sorted ascending,
// reordering s. This is the value the reference's Torben median returns for k = 127.
// It terminates for any input, NaNs included.
func selectKth(s []float32, k int) float32 {
	lo, hi := 0, len(s)-1
	for lo < hi {
		// Partition s[lo..hi] around the median of three (Lomuto scheme).
		mid := lo + (hi-lo)/2
		if s[mid] < s[lo] {
			s[mid], s[lo] = s[lo], s[mid]
		}
		if s[hi] < s[lo] {
			s[hi], s[lo] = s[lo], s[hi]
		}
		if s[mid] < s[hi] {
			s[mid], s[hi] = s[hi], s[mid]
		}
		pivot := s[hi]
		p := lo
		for i := lo; i < hi; i++ {
			if s[i] < pivot {
				s[i], s[p] = s[p], s[i]
				p++
			}
		}
		s[p], s[hi] = s[hi], s[p]

		switch {
		case k < p:
			hi = p - 1
		case k > p:
			lo = p + 1
		default:
			return s[p]
		}
	}
	return s[k]
}

// dihedral fills out with the coefficient blocks of the eight dihedral transforms of
// the image whose block is a, following the reference's sign and transpose rules:
// for (i, j) the coefficient of vertical frequency i+1 and horizontal frequency j+1,
// a transpose swaps i and j, and a sign change applies where the parity rule says.
func dihedral(a *[coeffs * coeffs]float32, out *[NumVariants][coeffs * coeffs]float32) {
	for i := 0; i < coeffs; i++ {
		for j := 0; j < coeffs; j++ {
			v := a[i*coeffs+j]
			ij, ji := i*coeffs+j, j*coeffs+i
			iOdd, jOdd, sumEven := i%2 == 1, j%2 == 1, (i+j)%2 == 0
			out[Original][ij] = v
			out[Rotate90][ji] = keepIf(jOdd, v)
			out[Rotate180][ij] = keepIf(sumEven, v)
			out[Rotate270][ji] = keepIf(iOdd, v)
			out[FlipX][ij] = keepIf(iOdd, v)
			out[FlipY][ij] = keepIf(jOdd, v)
			out[FlipPlus1][ji] = v
			out[FlipMinus1][ji] = keepIf(sumEven, v)
		}
	}
}

// keepIf returns v if keep is true and -v otherwise.
func keepIf(keep bool, v float32) float32 {
	if keep {
		return v
	}
	return -v
}
