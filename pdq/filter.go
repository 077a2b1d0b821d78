package pdq

// The Jarosz tent filter of the reference (jaroszFilterFloat in downscaling.cpp) runs
// two rounds of a box filter along every row and then along every column, over the
// whole image, and then samples 64x64 points. This file computes the same sampled
// values without whole-image buffers:
//
//   - round 1, rows: every output is needed, 4 rows at a time for parallelism;
//   - round 1, columns: every output is needed; the column sums are a vector updated
//     once per input row, so memory is walked row by row;
//   - round 2, rows: only the sampled columns are read later, so the running sums go
//     through every step but only the sampled outputs are divided and stored;
//   - round 2, columns: only the sampled columns exist, and only the sampled rows are
//     divided and stored.
//
// Each running sum sees the same operands in the same order as in the reference's
// box1DFloat, so every kept value is bit-identical.

// dim is the side of the decimated buffer.
const dim = 64

// blockRows is how many rows the row passes process together.
const blockRows = 4

// windowSize returns the box window for a side of n pixels: the reference's
// (n + 2*64 - 1) / (2*64), that is ceil(n/128).
func windowSize(n int) int { return (n + 2*dim - 1) / (2 * dim) }

// sampleIndex returns the decimation index of output i of 64 along a side of n pixels:
// (int)(((i + 0.5) * n) / 64), evaluated in double as the reference does.
func sampleIndex(i, n int) int { return int(((float64(i) + 0.5) * float64(n)) / dim) }

// isPow2 reports whether n is a power of two. Division by such a count equals
// multiplication by its reciprocal exactly, because both are correctly rounded
// results of the same real number.
func isPow2(n int) bool { return n > 0 && n&(n-1) == 0 }

// boxHalf returns the reference's half = (w + 2) / 2 for window w.
func boxHalf(w int) int { return (w + 2) / 2 }

// A rowSource yields the luma plane one row at a time, in any order.
type rowSource interface {
	// lumaRow returns row y, computing it into buf if it is not stored.
	lumaRow(y int, buf []float32) []float32
}

// filter holds the state and scratch space of one filter run. The zero value is
// ready to use, and a filter may be reused for images of any size.
type filter struct {
	rows, cols int
	wRow, wCol int // windows of the row passes (from cols) and column passes (from rows)

	// sampled rows and columns, deduplicated (they repeat when a side is under 64),
	// and the position of each of the 64 samples among them.
	uRows, uCols     []int
	rowOf, colOf     [dim]int
	nextSample       int // next entry of uRows that round 2's column pass produces
	compact          []float32
	lumaBuf, rowOuts [blockRows][]float32

	col1 colBox // round 1 column pass, over all columns
	col2 colBox // round 2 column pass, over the sampled columns

	pend      []float32 // round 1 output rows waiting for round 2's row pass
	pendRows  int
	pendFirst int
}

// run filters the rows x cols luma plane from src and writes the decimated 64x64
// buffer to out (row-major). Both sides must be at least 1.
func (f *filter) run(src rowSource, rows, cols int, out *[dim * dim]float32) {
	f.setup(rows, cols)

	// Round 1 along rows, feeding round 1's column pass as rows come out.
	for y := 0; y < rows; y += blockRows {
		n := min(blockRows, rows-y)
		var in, outs [blockRows][]float32
		for r := 0; r < n; r++ {
			in[r] = src.lumaRow(y+r, f.lumaBuf[r])
			outs[r] = f.col1.slot(y + r)
		}
		boxRows(in[:n], outs[:n], f.wRow)
		for r := 0; r < n; r++ {
			f.pushCol1()
		}
	}
	for f.col1.pending() {
		f.popCol1()
	}
	f.flushPending()
	for f.col2.pending() {
		f.popCol2()
	}

	// Decimate: expand the deduplicated samples to 64x64.
	nc := len(f.uCols)
	for i := 0; i < dim; i++ {
		src := f.compact[f.rowOf[i]*nc : (f.rowOf[i]+1)*nc]
		dst := out[i*dim : (i+1)*dim]
		for j := range dst {
			dst[j] = src[f.colOf[j]]
		}
	}
}

// setup sizes the buffers and sample tables for a rows x cols plane.
func (f *filter) setup(rows, cols int) {
	f.rows, f.cols = rows, cols
	f.wRow, f.wCol = windowSize(cols), windowSize(rows)
	f.uRows = dedupSamples(f.uRows[:0], &f.rowOf, rows)
	f.uCols = dedupSamples(f.uCols[:0], &f.colOf, cols)
	f.nextSample = 0
	f.compact = grow(f.compact, len(f.uRows)*len(f.uCols))
	for r := range f.lumaBuf {
		f.lumaBuf[r] = grow(f.lumaBuf[r], cols)
	}
	f.col1.reset(rows, f.wCol, cols)
	f.col2.reset(rows, f.wCol, len(f.uCols))
	f.pend = grow(f.pend, blockRows*cols)
	f.pendRows, f.pendFirst = 0, 0
}

// dedupSamples appends the distinct decimation indices along a side of n pixels to
// dst, and records in pos where each of the 64 samples sits among them.
func dedupSamples(dst []int, pos *[dim]int, n int) []int {
	for i := 0; i < dim; i++ {
		s := sampleIndex(i, n)
		if len(dst) == 0 || dst[len(dst)-1] != s {
			dst = append(dst, s)
		}
		pos[i] = len(dst) - 1
	}
	return dst
}

// pushCol1 feeds the next round 1 row to round 1's column pass.
func (f *filter) pushCol1() {
	if f.col1.nextOutput() < 0 {
		f.col1.push(nil)
		return
	}
	f.col1.push(f.pendSlot())
	f.pendRows++
	if f.pendRows == blockRows {
		f.flushPending()
	}
}

// popCol1 produces one of the last outputs of round 1's column pass.
func (f *filter) popCol1() {
	f.col1.pop(f.pendSlot())
	f.pendRows++
	if f.pendRows == blockRows {
		f.flushPending()
	}
}

// pendSlot returns the buffer for the next pending row.
func (f *filter) pendSlot() []float32 {
	return f.pend[f.pendRows*f.cols : (f.pendRows+1)*f.cols]
}

// flushPending runs round 2's row pass over the pending rows, sampled at the
// decimated columns, and feeds the results to round 2's column pass.
func (f *filter) flushPending() {
	n := f.pendRows
	if n == 0 {
		return
	}
	var in, outs [blockRows][]float32
	for r := 0; r < n; r++ {
		in[r] = f.pend[r*f.cols : (r+1)*f.cols]
		outs[r] = f.col2.slot(f.pendFirst + r)
	}
	boxRowsSampled(in[:n], outs[:n], f.wRow, f.uCols)
	f.pendFirst += n
	f.pendRows = 0
	for r := 0; r < n; r++ {
		f.col2.push(f.sampleSlot(f.col2.nextOutput()))
	}
}

// popCol2 produces one of the last outputs of round 2's column pass.
func (f *filter) popCol2() {
	f.col2.pop(f.sampleSlot(f.col2.nextOutput()))
}

// sampleSlot returns where output row o of round 2's column pass goes, or nil if the
// decimation does not read it.
func (f *filter) sampleSlot(o int) []float32 {
	if o < 0 || f.nextSample >= len(f.uRows) || f.uRows[f.nextSample] != o {
		return nil
	}
	nc := len(f.uCols)
	s := f.compact[f.nextSample*nc : (f.nextSample+1)*nc]
	f.nextSample++
	return s
}

// colBox is the reference's box1DFloat run down every column at once: it takes the
// input one row at a time, keeps one running sum per column, and gives the output one
// row at a time. The last input rows stay in a ring for subtraction.
type colBox struct {
	n, w, half, width int
	slots             int
	ring              []float32
	sum               []float32
	t                 int // input rows pushed so far
	popped            int // phase 4 steps taken
	count             int
}

// reset prepares the box to filter n rows of width values with window w.
func (c *colBox) reset(n, w, width int) {
	c.n, c.w, c.half, c.width = n, w, boxHalf(w), width
	c.slots = w + blockRows
	c.ring = grow(c.ring, c.slots*width)
	c.sum = grow(c.sum, width)
	clear(c.sum)
	c.t, c.popped, c.count = 0, 0, 0
}

// slot returns the ring buffer row that holds input row t.
func (c *colBox) slot(t int) []float32 {
	i := t % c.slots
	return c.ring[i*c.width : (i+1)*c.width]
}

// nextOutput returns the index of the output row that the next push or pop produces,
// or -1 if the next push produces none.
func (c *colBox) nextOutput() int {
	if c.t < c.n {
		if c.t < c.half-1 {
			return -1
		}
		return c.t - (c.half - 1)
	}
	return c.n - c.half + 1 + c.popped
}

// pending reports whether outputs remain after the last push.
func (c *colBox) pending() bool { return c.t == c.n && c.popped < c.half-1 }

// push adds the next input row, which the caller wrote to slot(t), and writes the
// output row it completes to out, unless out is nil.
func (c *colBox) push(out []float32) {
	in := c.slot(c.t)
	sum := c.sum[:len(in)]
	switch {
	case c.t < c.half-1:
		// Phase 1: fill the leading half window; no output.
		for j, v := range in {
			sum[j] += v
		}
		c.count++
	case c.t < c.w:
		// Phase 2: grow to the full window, dividing by the count so far.
		for j, v := range in {
			sum[j] += v
		}
		c.count++
		if out != nil {
			divideRow(out, sum, c.count)
		}
	default:
		// Phase 3: add the entering row, then subtract the leaving one.
		slide(sum, in, c.slot(c.t-c.w), out, c.count)
	}
	c.t++
}

// pop produces one of the last half-1 outputs: it subtracts the leaving row and
// shrinks the count, and writes the output to out unless out is nil.
func (c *colBox) pop(out []float32) {
	old := c.slot(c.n - c.w + c.popped)
	sum := c.sum[:len(old)]
	for j, v := range old {
		sum[j] -= v
	}
	c.count--
	c.popped++
	if out != nil {
		divideRow(out, sum, c.count)
	}
}

// slide is one phase 3 step of a column pass: sum = (sum + in) - old, and, unless out
// is nil, out = sum / count.
func slide(sum, in, old, out []float32, count int) {
	sum = sum[:len(in)]
	old = old[:len(in)]
	switch {
	case out == nil:
		for j, v := range in {
			s := sum[j] + v
			s -= old[j]
			sum[j] = s
		}
	case isPow2(count):
		inv := 1 / float32(count)
		out = out[:len(in)]
		for j, v := range in {
			s := sum[j] + v
			s -= old[j]
			sum[j] = s
			out[j] = s * inv
		}
	default:
		d := float32(count)
		out = out[:len(in)]
		for j, v := range in {
			s := sum[j] + v
			s -= old[j]
			sum[j] = s
			out[j] = s / d
		}
	}
}

// divideRow sets out = sum / count.
func divideRow(out, sum []float32, count int) {
	out = out[:len(sum)]
	if isPow2(count) {
		inv := 1 / float32(count)
		for j, s := range sum {
			out[j] = s * inv
		}
		return
	}
	d := float32(count)
	for j, s := range sum {
		out[j] = s / d
	}
}

// grow returns s resized to n elements, reallocating only when it is too small.
// The contents are unspecified.
func grow(s []float32, n int) []float32 {
	if cap(s) < n {
		return make([]float32, n)
	}
	return s[:n]
}
