package pdq

import (
	"slices"

	"github.com/dnadb/dnadb"
)

// This file is a deliberately plain port of the reference's algorithm, with whole
// buffers, strided box passes and textbook loops, used to cross-check the fast
// streaming code on inputs the corpus does not cover.

// refBox1D is the reference's box1DFloat: n values from in starting at inStart,
// stepping by stride, into out at the same positions.
func refBox1D(in, out []float32, start, n, stride, w int) {
	half := (w + 2) / 2
	var sum float32
	li, ri, oi, count := 0, 0, 0, 0
	for i := 0; i < half-1; i++ {
		sum += in[start+ri*stride]
		ri++
		count++
	}
	for i := 0; i < w-half+1; i++ {
		sum += in[start+ri*stride]
		ri++
		count++
		out[start+oi*stride] = sum / float32(count)
		oi++
	}
	for i := 0; i < n-w; i++ {
		sum += in[start+ri*stride]
		ri++
		sum -= in[start+li*stride]
		li++
		out[start+oi*stride] = sum / float32(count)
		oi++
	}
	for i := 0; i < half-1; i++ {
		sum -= in[start+li*stride]
		li++
		count--
		out[start+oi*stride] = sum / float32(count)
		oi++
	}
}

// refDownsample filters a copy of luma with two rounds of rows-then-columns box
// passes and decimates it to 64x64.
func refDownsample(luma []float32, rows, cols int) [dim * dim]float32 {
	buf1 := slices.Clone(luma[:rows*cols])
	buf2 := make([]float32, rows*cols)
	wRow, wCol := windowSize(cols), windowSize(rows)
	for range 2 {
		for i := 0; i < rows; i++ {
			refBox1D(buf1, buf2, i*cols, cols, 1, wRow)
		}
		for j := 0; j < cols; j++ {
			refBox1D(buf2, buf1, j, rows, cols, wCol)
		}
	}
	var out [dim * dim]float32
	for i := 0; i < dim; i++ {
		ini := int(((float64(i) + 0.5) * float64(rows)) / 64)
		for j := 0; j < dim; j++ {
			inj := int(((float64(j) + 0.5) * float64(cols)) / 64)
			out[i*dim+j] = buf1[ini*cols+inj]
		}
	}
	return out
}

// refDCT is the partial DCT with textbook loops.
func refDCT(a *[dim * dim]float32) [coeffs * coeffs]float32 {
	var t [coeffs * dim]float32
	for i := 0; i < coeffs; i++ {
		for j := 0; j < dim; j++ {
			var sum float32
			for k := 0; k < dim; k++ {
				sum += float32(dctMatrix[i*dim+k] * a[k*dim+j])
			}
			t[i*dim+j] = sum
		}
	}
	var b [coeffs * coeffs]float32
	for i := 0; i < coeffs; i++ {
		for j := 0; j < coeffs; j++ {
			var sum float32
			for k := 0; k < dim; k++ {
				sum += float32(t[i*dim+k] * dctMatrix[j*dim+k])
			}
			b[i*coeffs+j] = sum
		}
	}
	return b
}

// refThreshold sets the bits above the sorted median.
func refThreshold(b [coeffs * coeffs]float32) dnadb.Hash256 {
	s := slices.Clone(b[:])
	slices.Sort(s)
	med := s[127]
	var h dnadb.Hash256
	for k, v := range b {
		if v > med {
			h.SetBit(k)
		}
	}
	return h
}

// refDihedral applies the sign and transpose table of the notes, variant by variant.
func refDihedral(a [coeffs * coeffs]float32) [NumVariants][coeffs * coeffs]float32 {
	var out [NumVariants][coeffs * coeffs]float32
	neg := func(negate bool, v float32) float32 {
		if negate {
			return -v
		}
		return v
	}
	for i := 0; i < coeffs; i++ {
		for j := 0; j < coeffs; j++ {
			v := a[i*coeffs+j]
			out[Original][i*coeffs+j] = v
			out[Rotate90][j*coeffs+i] = neg(j%2 == 0, v)
			out[Rotate180][i*coeffs+j] = neg((i+j)%2 == 1, v)
			out[Rotate270][j*coeffs+i] = neg(i%2 == 0, v)
			out[FlipX][i*coeffs+j] = neg(i%2 == 0, v)
			out[FlipY][i*coeffs+j] = neg(j%2 == 0, v)
			out[FlipPlus1][j*coeffs+i] = v
			out[FlipMinus1][j*coeffs+i] = neg((i+j)%2 == 1, v)
		}
	}
	return out
}

// refHashLuma is HashLuma by the plain port.
func refHashLuma(luma []float32, rows, cols int) Result {
	if rows < MinDim || cols < MinDim {
		return Result{}
	}
	var down [dim * dim]float32
	if rows == dim && cols == dim {
		copy(down[:], luma)
	} else {
		down = refDownsample(luma, rows, cols)
	}
	return Result{Hash: refThreshold(refDCT(&down)), Quality: quality(&down)}
}

// refDihedralLuma is DihedralLuma by the plain port.
func refDihedralLuma(luma []float32, rows, cols int) Dihedral {
	if rows < MinDim || cols < MinDim {
		return Dihedral{}
	}
	down := refDownsample(luma, rows, cols)
	d := Dihedral{Quality: quality(&down)}
	for v, b := range refDihedral(refDCT(&down)) {
		d.Hashes[v] = refThreshold(b)
	}
	return d
}
