package pdq

// The row passes follow the reference's box1DFloat along one row of n values with
// window w and half = (w+2)/2, in four phases:
//
//  1. half-1 steps: add the entering value; no output.
//  2. w-half+1 steps: add the entering value, output sum / count (count = values added).
//  3. n-w steps: add the entering value, then subtract the leaving one; output sum / w.
//  4. half-1 steps: subtract the leaving value, decrement count; output sum / count.
//
// Step by step, output o is produced after entering value o+half-1, so for even w the
// window is off-centre. The running sum's chain of dependent additions is what limits
// speed, so rows go through in groups of four with independent sums.

// boxRows filters each row of in into the row of out with the same index, writing
// every output.
func boxRows(in, out [][]float32, w int) {
	if len(in) == 4 {
		boxRow4(in[0], in[1], in[2], in[3], out[0], out[1], out[2], out[3], w)
		return
	}
	for r := range in {
		boxRow(in[r], out[r], w)
	}
}

// boxRow filters one row.
func boxRow(in, out []float32, w int) {
	n, half := len(in), boxHalf(w)
	out = out[:n]
	var s float32

	// Phases 1 and 2: fill the window.
	for ri := 0; ri < half-1; ri++ {
		s += in[ri]
	}
	for ri := half - 1; ri < w; ri++ {
		s += in[ri]
		out[ri-(half-1)] = s / float32(ri+1)
	}

	// Phase 3: slide the full window.
	enter, leave := in[w:n], in[:n-w]
	dst := out[w-half+1 : n-half+1]
	dst, leave = dst[:len(enter)], leave[:len(enter)]
	if isPow2(w) {
		inv := 1 / float32(w)
		for i, v := range enter {
			s += v
			s -= leave[i]
			dst[i] = s * inv
		}
	} else {
		d := float32(w)
		for i, v := range enter {
			s += v
			s -= leave[i]
			dst[i] = s / d
		}
	}

	// Phase 4: empty the window.
	count := w
	for m := 0; m < half-1; m++ {
		s -= in[n-w+m]
		count--
		out[n-half+1+m] = s / float32(count)
	}
}

// boxRow4 filters four rows of the same length at once.
func boxRow4(in0, in1, in2, in3, out0, out1, out2, out3 []float32, w int) {
	n, half := len(in0), boxHalf(w)
	in1, in2, in3 = in1[:n], in2[:n], in3[:n]
	out0, out1, out2, out3 = out0[:n], out1[:n], out2[:n], out3[:n]
	var s0, s1, s2, s3 float32

	// Phases 1 and 2: fill the window.
	for ri := 0; ri < half-1; ri++ {
		s0 += in0[ri]
		s1 += in1[ri]
		s2 += in2[ri]
		s3 += in3[ri]
	}
	for ri := half - 1; ri < w; ri++ {
		s0 += in0[ri]
		s1 += in1[ri]
		s2 += in2[ri]
		s3 += in3[ri]
		d, o := float32(ri+1), ri-(half-1)
		out0[o], out1[o], out2[o], out3[o] = s0/d, s1/d, s2/d, s3/d
	}

	// Phase 3: slide the full window, one step of each row at a time.
	lo, hi := w-half+1, n-half+1
	if isPow2(w) {
		inv := 1 / float32(w)
		for ri := w; ri < n; ri++ {
			li, o := ri-w, ri-w+lo
			s0 += in0[ri]
			s0 -= in0[li]
			s1 += in1[ri]
			s1 -= in1[li]
			s2 += in2[ri]
			s2 -= in2[li]
			s3 += in3[ri]
			s3 -= in3[li]
			out0[o], out1[o], out2[o], out3[o] = s0*inv, s1*inv, s2*inv, s3*inv
		}
	} else {
		d := float32(w)
		for ri := w; ri < n; ri++ {
			li, o := ri-w, ri-w+lo
			s0 += in0[ri]
			s0 -= in0[li]
			s1 += in1[ri]
			s1 -= in1[li]
			s2 += in2[ri]
			s2 -= in2[li]
			s3 += in3[ri]
			s3 -= in3[li]
			out0[o], out1[o], out2[o], out3[o] = s0/d, s1/d, s2/d, s3/d
		}
	}

	// Phase 4: empty the window.
	count := w
	for m := 0; m < half-1; m++ {
		li, o := n-w+m, hi+m
		s0 -= in0[li]
		s1 -= in1[li]
		s2 -= in2[li]
		s3 -= in3[li]
		count--
		d := float32(count)
		out0[o], out1[o], out2[o], out3[o] = s0/d, s1/d, s2/d, s3/d
	}
}

// boxRowsSampled filters each row of in like boxRows but writes only the outputs at
// the increasing positions at: out[r][k] is output at[k] of row r. The running sums
// still take every step; only the divisions are skipped.
func boxRowsSampled(in, out [][]float32, w int, at []int) {
	if len(in) == 4 {
		boxRowSampled4(in, out, w, at)
		return
	}
	for r := range in {
		boxRowSampled(in[r], out[r], w, at)
	}
}

// boxRowSampled filters one row, keeping the outputs at positions at.
func boxRowSampled(in, out []float32, w int, at []int) {
	n, half := len(in), boxHalf(w)
	out = out[:len(at)]
	var s float32
	k := 0

	// Phases 1 and 2: fill the window.
	for ri := 0; ri < half-1; ri++ {
		s += in[ri]
	}
	for ri := half - 1; ri < w; ri++ {
		s += in[ri]
		if k < len(at) && at[k] == ri-(half-1) {
			out[k] = s / float32(ri+1)
			k++
		}
	}

	// Phase 3: slide up to each wanted output, then to the end if phase 4 has any.
	ri, d := w, float32(w)
	for ; k < len(at) && at[k] <= n-half; k++ {
		end := at[k] + half
		s = slideSum(s, in[ri:end], in[ri-w:end-w])
		ri = end
		out[k] = s / d
	}
	if k == len(at) {
		return
	}
	s = slideSum(s, in[ri:n], in[ri-w:n-w])

	// Phase 4: empty the window.
	count := w
	for m := 0; k < len(at); m++ {
		s -= in[n-w+m]
		count--
		if at[k] == n-half+1+m {
			out[k] = s / float32(count)
			k++
		}
	}
}

// slideSum runs phase 3 steps on one running sum without output.
func slideSum(s float32, enter, leave []float32) float32 {
	leave = leave[:len(enter)]
	for i, v := range enter {
		s += v
		s -= leave[i]
	}
	return s
}

// boxRowSampled4 is boxRowSampled on four rows of the same length at once.
func boxRowSampled4(in, out [][]float32, w int, at []int) {
	in0, in1, in2, in3 := in[0], in[1], in[2], in[3]
	n, half := len(in0), boxHalf(w)
	in1, in2, in3 = in1[:n], in2[:n], in3[:n]
	out0, out1, out2, out3 := out[0][:len(at)], out[1][:len(at)], out[2][:len(at)],
		out[3][:len(at)]
	var s0, s1, s2, s3 float32
	k := 0

	// Phases 1 and 2: fill the window.
	for ri := 0; ri < half-1; ri++ {
		s0 += in0[ri]
		s1 += in1[ri]
		s2 += in2[ri]
		s3 += in3[ri]
	}
	for ri := half - 1; ri < w; ri++ {
		s0 += in0[ri]
		s1 += in1[ri]
		s2 += in2[ri]
		s3 += in3[ri]
		if k < len(at) && at[k] == ri-(half-1) {
			d := float32(ri + 1)
			out0[k], out1[k], out2[k], out3[k] = s0/d, s1/d, s2/d, s3/d
			k++
		}
	}

	// Phase 3: slide up to each wanted output, then to the end if phase 4 has any.
	ri, d := w, float32(w)
	for ; k < len(at) && at[k] <= n-half; k++ {
		end := at[k] + half
		s0, s1, s2, s3 = slideSum4(s0, s1, s2, s3, in0, in1, in2, in3, ri, end, w)
		ri = end
		out0[k], out1[k], out2[k], out3[k] = s0/d, s1/d, s2/d, s3/d
	}
	if k == len(at) {
		return
	}
	s0, s1, s2, s3 = slideSum4(s0, s1, s2, s3, in0, in1, in2, in3, ri, n, w)

	// Phase 4: empty the window.
	count := w
	for m := 0; k < len(at); m++ {
		li := n - w + m
		s0 -= in0[li]
		s1 -= in1[li]
		s2 -= in2[li]
		s3 -= in3[li]
		count--
		if at[k] == n-half+1+m {
			d := float32(count)
			out0[k], out1[k], out2[k], out3[k] = s0/d, s1/d, s2/d, s3/d
			k++
		}
	}
}

// slideSum4 runs phase 3 steps ri = from..to-1 on four running sums without output.
func slideSum4(s0, s1, s2, s3 float32, in0, in1, in2, in3 []float32,
	from, to, w int) (float32, float32, float32, float32) {
	e0, l0 := in0[from:to], in0[from-w:to-w]
	n := len(e0)
	l0 = l0[:n]
	e1, l1 := in1[from:to][:n], in1[from-w : to-w][:n]
	e2, l2 := in2[from:to][:n], in2[from-w : to-w][:n]
	e3, l3 := in3[from:to][:n], in3[from-w : to-w][:n]
	for i := range e0 {
		s0 += e0[i]
		s0 -= l0[i]
		s1 += e1[i]
		s1 -= l1[i]
		s2 += e2[i]
		s2 -= l2[i]
		s3 += e3[i]
		s3 -= l3[i]
	}
	return s0, s1, s2, s3
}
