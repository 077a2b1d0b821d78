package pdq

import (
	"errors"
	"image"
	"image/color"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/dnadb/dnadb"
)

func TestBoxRowExamples(t *testing.T) {
	// Worked by hand from the four phases of box1DFloat.
	for _, tc := range []struct {
		name string
		in   []float32
		w    int
		want []float32
	}{
		{"w=1 integers", []float32{1, 2, 3, 4, 5}, 1, []float32{1, 2, 3, 4, 5}},
		// With w = 1 the running sum is not an identity: 1 + 1e-8 rounds to 1, so
		// the second output is (1 + 1e-8) - 1 = 0, and the error carries on.
		{"w=1 rounding", []float32{1, 1e-8, 0}, 1, []float32{1, 0, -1e-8}},
		// Even windows are off-centre: output i averages inputs i-(w/2-1)..i+w/2.
		{"w=2", []float32{1, 2, 3, 4, 5}, 2, []float32{1.5, 2.5, 3.5, 4.5, 5}},
		{"w=4", []float32{0, 4, 8, 12, 16, 20}, 4, []float32{4, 6, 10, 14, 16, 18}},
		{"w=3", []float32{1, 2, 3, 4, 5}, 3, []float32{1.5, 2, 3, 4, 4.5}},
		{"w=n=5", []float32{1, 2, 3, 4, 5}, 5, []float32{2, 2.5, 3, 3.5, 4}},
		{"n=1", []float32{7}, 1, []float32{7}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := len(tc.in)
			got := make([]float32, n)
			boxRow(tc.in, got, tc.w)
			if !slices.Equal(got, tc.want) {
				t.Errorf("boxRow(%v, w=%d) = %v, want %v", tc.in, tc.w, got, tc.want)
			}
			ref := make([]float32, n)
			refBox1D(tc.in, ref, 0, n, 1, tc.w)
			if !slices.Equal(ref, tc.want) {
				t.Errorf("refBox1D(%v, w=%d) = %v, want %v", tc.in, tc.w, ref, tc.want)
			}
		})
	}
}

// randomRow returns n pseudo-random luma-like values.
func randomRow(r *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = r.Float32() * 255
	}
	return s
}

func TestBoxPassesMatchReference(t *testing.T) {
	// Every pass implementation against the plain port, bit for bit, for every
	// window up to 20 and row lengths around it.
	r := rand.New(rand.NewPCG(1, 2))
	for w := 1; w <= 20; w++ {
		for n := w; n <= w+70; n += 1 + n%7 {
			in := [4][]float32{randomRow(r, n), randomRow(r, n), randomRow(r, n),
				randomRow(r, n)}
			var want [4][]float32
			for k := range in {
				want[k] = make([]float32, n)
				refBox1D(in[k], want[k], 0, n, 1, w)
			}

			// Full row passes, one and four rows at a time.
			var got [4][]float32
			for k := range got {
				got[k] = make([]float32, n)
			}
			boxRows(in[:], got[:], w)
			boxRows(in[:1], got[:1], w)
			for k := range got {
				if !bitsEqual(got[k], want[k]) {
					t.Fatalf("boxRows(n=%d, w=%d) row %d = %v, want %v", n, w, k, got[k],
						want[k])
				}
			}

			// Sampled row passes, at the decimation positions and at every position.
			var pos [dim]int
			samples := dedupSamples(nil, &pos, n)
			every := make([]int, n)
			for i := range every {
				every[i] = i
			}
			for _, at := range [][]int{samples, every} {
				for _, rows := range []int{1, 3, 4} {
					var outs [4][]float32
					for k := range outs {
						outs[k] = make([]float32, len(at))
					}
					boxRowsSampled(in[:rows], outs[:rows], w, at)
					for k := 0; k < rows; k++ {
						for i, p := range at {
							if math.Float32bits(outs[k][i]) != math.Float32bits(want[k][p]) {
								t.Fatalf("boxRowsSampled(n=%d, w=%d) row %d at %d = %v, want %v",
									n, w, k, p, outs[k][i], want[k][p])
							}
						}
					}
				}
			}

			// The column pass, treating the four rows as four columns.
			var c colBox
			c.reset(n, w, 4)
			col := make([][]float32, n)
			next := func(out []float32) {
				if o := c.nextOutput(); o >= 0 {
					col[o] = out
				}
			}
			for y := 0; y < n; y++ {
				copy(c.slot(y), []float32{in[0][y], in[1][y], in[2][y], in[3][y]})
				out := make([]float32, 4)
				next(out)
				c.push(out)
			}
			for c.pending() {
				out := make([]float32, 4)
				next(out)
				c.pop(out)
			}
			for y := 0; y < n; y++ {
				for k := range 4 {
					if math.Float32bits(col[y][k]) != math.Float32bits(want[k][y]) {
						t.Fatalf("colBox(n=%d, w=%d) column %d row %d = %v, want %v",
							n, w, k, y, col[y][k], want[k][y])
					}
				}
			}
		}
	}
}

// bitsEqual reports whether two float32 slices are bit-identical, counting any two
// NaNs as equal: which NaN an operation on two NaNs returns depends on the operand
// order, which the compiler may swap for a commutative operation.
func bitsEqual(a, b []float32) bool {
	return slices.EqualFunc(a, b, func(x, y float32) bool {
		return math.Float32bits(x) == math.Float32bits(y) || isNaN(x) && isNaN(y)
	})
}

func TestLumaMatchesReference(t *testing.T) {
	// Sizes around the block of four rows, the 64 grid, 128 (window 1 to 2) and
	// odd and even windows.
	r := rand.New(rand.NewPCG(3, 4))
	sizes := [][2]int{
		{5, 5}, {5, 200}, {200, 5}, {6, 7}, {63, 65}, {64, 64}, {128, 129},
		{130, 257}, {257, 130}, {300, 401}, {403, 385}, {640, 130},
	}
	for _, sz := range sizes {
		rows, cols := sz[0], sz[1]
		luma := randomRow(r, rows*cols)

		var h hasher
		h.floats = floatSource{luma: luma, cols: cols}
		h.downsample(&h.floats, rows, cols, false)
		want := refDownsample(luma, rows, cols)
		if !bitsEqual(h.down[:], want[:]) {
			t.Errorf("downsample(%dx%d) differs from the plain port", rows, cols)
		}
		if got, want := HashLuma(luma, rows, cols), refHashLuma(luma, rows, cols); got != want {
			t.Errorf("HashLuma(%dx%d) = %v, want %v", rows, cols, got, want)
		}
		got, wantD := DihedralLuma(luma, rows, cols), refDihedralLuma(luma, rows, cols)
		if got != wantD {
			t.Errorf("DihedralLuma(%dx%d) = %v, want %v", rows, cols, got, wantD)
		}
	}
}

func TestShortcut64(t *testing.T) {
	// HashLuma uses a 64x64 plane as it is; DihedralLuma filters it with w = 1.
	r := rand.New(rand.NewPCG(5, 6))
	luma := randomRow(r, dim*dim)
	var down [dim * dim]float32
	copy(down[:], luma)
	want := Result{Hash: refThreshold(refDCT(&down)), Quality: quality(&down)}
	if got := HashLuma(luma, dim, dim); got != want {
		t.Errorf("HashLuma(64x64) = %v, want the unfiltered %v", got, want)
	}
	if got, want := DihedralLuma(luma, dim, dim), refDihedralLuma(luma, dim, dim); got != want {
		t.Errorf("DihedralLuma(64x64) = %v, want the filtered %v", got, want)
	}
}

func TestSelectKth(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for range 200 {
		s := make([]float32, 256)
		for i := range s {
			s[i] = float32(r.IntN(20)) // many ties
		}
		sorted := slices.Sorted(slices.Values(s))
		if got, want := selectKth(slices.Clone(s), 127), sorted[127]; got != want {
			t.Fatalf("selectKth(%v, 127) = %v, want %v", s, got, want)
		}
	}
	nan := float32(math.NaN())
	selectKth([]float32{nan, 1, nan, 0, 2}, 2) // must return
}

func TestSmallImages(t *testing.T) {
	for _, tc := range []struct {
		w, h    int
		profile dnadb.Profile
		ok      bool
	}{
		{4, 10, dnadb.ProfileFull, false},
		{10, 4, dnadb.ProfileFull, false},
		{0, 0, dnadb.ProfileFull, false},
		{4, 4, dnadb.ProfileCLI512, false},
		{5, 5, dnadb.ProfileFull, true},
		// The CLI squashes first, as the reference tool does, so a long thin image
		// becomes 512x512 and can be hashed.
		{1000, 3, dnadb.ProfileCLI512, true},
		{1000, 3, dnadb.ProfileFull, false},
	} {
		img := image.NewGray(image.Rect(0, 0, tc.w, tc.h))
		_, err := HashImage(img, tc.profile)
		_, derr := DihedralImage(img, tc.profile)
		if tc.ok {
			if err != nil || derr != nil {
				t.Errorf("HashImage(%dx%d, %s) = %v, %v; want no error", tc.w, tc.h,
					tc.profile, err, derr)
			}
			continue
		}
		if !errors.Is(err, dnadb.ErrInvalid) || !errors.Is(derr, dnadb.ErrInvalid) {
			t.Errorf("HashImage(%dx%d, %s) = %v, %v; want ErrInvalid", tc.w, tc.h,
				tc.profile, err, derr)
			continue
		}
		size := strings.Contains(err.Error(), "x") && strings.Contains(err.Error(), "5x5")
		if !size {
			t.Errorf("HashImage(%dx%d) error %q does not give the size and minimum",
				tc.w, tc.h, err)
		}
	}
	for _, sz := range [][2]int{{4, 10}, {10, 4}, {0, 0}, {1, 1}} {
		luma := make([]float32, sz[0]*sz[1])
		if got := HashLuma(luma, sz[0], sz[1]); got != (Result{}) {
			t.Errorf("HashLuma(%dx%d) = %v, want the zero Result", sz[0], sz[1], got)
		}
		if got := DihedralLuma(luma, sz[0], sz[1]); got != (Dihedral{}) {
			t.Errorf("DihedralLuma(%dx%d) = %v, want the zero Dihedral", sz[0], sz[1], got)
		}
	}
}

func TestUnknownProfile(t *testing.T) {
	img := image.NewGray(image.Rect(0, 0, 8, 8))
	if _, err := HashImage(img, "thumbnail"); !errors.Is(err, dnadb.ErrInvalid) {
		t.Errorf("HashImage(profile thumbnail) = %v, want ErrInvalid", err)
	}
}

func TestVariantNames(t *testing.T) {
	want := []string{"original", "rotate90", "rotate180", "rotate270", "flipx", "flipy",
		"flipplus1", "flipminus1"}
	for v := Variant(0); v < NumVariants; v++ {
		if got := v.String(); got != want[v] {
			t.Errorf("Variant(%d).String() = %q, want %q", int(v), got, want[v])
		}
		if got, err := ParseVariant(want[v]); got != v || err != nil {
			t.Errorf("ParseVariant(%q) = %v, %v; want %v", want[v], got, err, v)
		}
	}
	if _, err := ParseVariant("rotate45"); !errors.Is(err, dnadb.ErrInvalid) {
		t.Errorf("ParseVariant(rotate45) = %v, want ErrInvalid", err)
	}
	if got, want := Variant(9).String(), "Variant(9)"; got != want {
		t.Errorf("Variant(9).String() = %q, want %q", got, want)
	}
}

// randomNRGBA returns a w x h image of random pixels with random alpha.
func randomNRGBA(r *rand.Rand, w, h int) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = uint8(r.IntN(256))
	}
	return img
}

// textbookLuma is the reference's luma written out, each product rounded.
func textbookLuma(r, g, b uint8) float32 {
	return float32(float32(float32(r)*0.299)+float32(float32(g)*0.587)) +
		float32(float32(b)*0.114)
}

func TestImageTypes(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	src := randomNRGBA(r, 150, 97)
	b := src.Bounds()

	// The luma plane the reference would compute, and its hash.
	luma := make([]float32, b.Dx()*b.Dy())
	for y := 0; y < b.Dy(); y++ {
		for x := 0; x < b.Dx(); x++ {
			p := src.Pix[src.PixOffset(x, y):]
			luma[y*b.Dx()+x] = textbookLuma(p[0], p[1], p[2])
		}
	}
	want := HashLuma(luma, b.Dy(), b.Dx())

	// The same stored bytes as RGBA (alpha ignored, not composited).
	rgba := &image.RGBA{Pix: src.Pix, Stride: src.Stride, Rect: src.Rect}
	// 16-bit non-premultiplied pixels whose high bytes are the same.
	n64 := image.NewNRGBA64(b)
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			c := src.NRGBAAt(x, y)
			n64.SetNRGBA64(x, y, color.NRGBA64{uint16(c.R)<<8 | 0x7f,
				uint16(c.G)<<8 | 0x7f, uint16(c.B)<<8 | 0x7f, 0xffff})
		}
	}
	// The image inside a larger canvas, at an offset.
	canvas := randomNRGBA(r, 200, 150)
	sub := canvas.SubImage(image.Rect(20, 30, 20+b.Dx(), 30+b.Dy())).(*image.NRGBA)
	for y := 0; y < b.Dy(); y++ {
		copy(sub.Pix[y*sub.Stride:y*sub.Stride+4*b.Dx()], src.Pix[y*src.Stride:])
	}

	for _, tc := range []struct {
		name string
		img  image.Image
	}{
		{"NRGBA", src}, {"RGBA", rgba}, {"NRGBA64", n64}, {"SubImage", sub},
	} {
		got, err := HashImage(tc.img, "")
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("HashImage(%s) = %v, want %v", tc.name, got, want)
		}
	}
}

func TestGrayImageTypes(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	g := image.NewGray(image.Rect(0, 0, 90, 140))
	for i := range g.Pix {
		g.Pix[i] = uint8(r.IntN(256))
	}
	luma := make([]float32, len(g.Pix))
	for i, v := range g.Pix {
		luma[i] = float32(v)
	}
	want := HashLuma(luma, 140, 90)

	g16 := image.NewGray16(g.Rect)
	for i, v := range g.Pix {
		g16.Pix[2*i], g16.Pix[2*i+1] = v, 0xa5
	}
	for _, tc := range []struct {
		name string
		img  image.Image
	}{
		{"Gray", g}, {"Gray16", g16},
	} {
		got, err := HashImage(tc.img, dnadb.ProfileFull)
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("HashImage(%s) = %v, want %v", tc.name, got, want)
		}
	}
}

func TestResize512(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	for _, sz := range [][2]int{{1000, 600}, {513, 20}, {20, 777}, {1600, 1004}} {
		w, h := sz[0], sz[1]
		src := randomNRGBA(r, w, h)
		got := Resize512(src).(*image.NRGBA)
		if got.Rect != image.Rect(0, 0, 512, 512) {
			t.Fatalf("Resize512(%dx%d) bounds = %v", w, h, got.Rect)
		}
		for y := 0; y < 512; y++ {
			for x := 0; x < 512; x++ {
				sx := int(math.Floor(float64(x) * float64(w) / 512))
				sy := int(math.Floor(float64(y) * float64(h) / 512))
				if g, s := got.NRGBAAt(x, y), src.NRGBAAt(sx, sy); g != s {
					t.Fatalf("Resize512(%dx%d) at (%d,%d) = %v, want source (%d,%d) %v",
						w, h, x, y, g, sx, sy, s)
				}
			}
		}
		a, err := HashImage(got, dnadb.ProfileFull)
		if err != nil {
			t.Fatal(err)
		}
		b, err := HashImage(src, dnadb.ProfileCLI512)
		if err != nil {
			t.Fatal(err)
		}
		if a != b {
			t.Errorf("HashImage(Resize512(%dx%d)) = %v, HashImage(cli512) = %v", w, h, a, b)
		}
	}
	small := image.NewGray(image.Rect(0, 0, 512, 300))
	if got := Resize512(small); got != image.Image(small) {
		t.Errorf("Resize512(512x300) returned a new image")
	}
	if got, ok := Resize512(image.NewGray(image.Rect(0, 0, 600, 10))).(*image.Gray); !ok ||
		got.Rect.Dx() != 512 {
		t.Errorf("Resize512(Gray 600x10) = %T, want a 512x512 *image.Gray", got)
	}
}

func TestAllocations(t *testing.T) {
	r := rand.New(rand.NewPCG(15, 16))
	luma := randomRow(r, 300*200)
	img := randomNRGBA(r, 300, 200)
	HashLuma(luma, 300, 200) // fill the pool
	for _, tc := range []struct {
		name string
		f    func()
	}{
		{"HashLuma", func() { HashLuma(luma, 300, 200) }},
		{"DihedralLuma", func() { DihedralLuma(luma, 300, 200) }},
		{"HashImage", func() { HashImage(img, dnadb.ProfileFull) }},
		{"HashImage cli512", func() { HashImage(img, dnadb.ProfileCLI512) }},
	} {
		// A garbage collection may empty the pool and cost one hasher now and then.
		if got := testing.AllocsPerRun(50, tc.f); got > 1 {
			t.Errorf("%s allocates %.1f times per call, want at most 1", tc.name, got)
		}
	}
}

func FuzzHashLuma(f *testing.F) {
	f.Add([]byte{1, 2, 3}, uint8(5), uint8(5), false)
	f.Add([]byte{255, 0}, uint8(63), uint8(199), false)
	f.Add([]byte{0x7f, 0x80, 0, 0, 0xff, 0xff, 0xff, 0xff}, uint8(130), uint8(64), true)
	f.Add([]byte{}, uint8(0), uint8(1), false)
	f.Fuzz(func(t *testing.T, data []byte, r, c uint8, raw bool) {
		rows, cols := int(r)%200+1, int(c)%200+1
		luma := make([]float32, rows*cols)
		for i := range luma {
			switch {
			case len(data) == 0:
			case raw && len(data) >= 4:
				j := 4 * (i % (len(data) / 4))
				bits := uint32(data[j]) | uint32(data[j+1])<<8 | uint32(data[j+2])<<16 |
					uint32(data[j+3])<<24
				luma[i] = math.Float32frombits(bits)
			default:
				luma[i] = float32(data[i%len(data)])
			}
		}
		got := HashLuma(luma, rows, cols)
		dih := DihedralLuma(luma, rows, cols)
		if got.Quality < 0 || got.Quality > 100 {
			t.Errorf("HashLuma(%dx%d).Quality = %d, want 0..100", rows, cols, got.Quality)
		}

		// The filter matches the plain port bit for bit, whatever the values.
		var h hasher
		h.floats = floatSource{luma: luma, cols: cols}
		h.downsample(&h.floats, rows, cols, false)
		down := refDownsample(luma, rows, cols)
		if !bitsEqual(h.down[:], down[:]) {
			t.Fatalf("downsample(%dx%d) differs from the plain port", rows, cols)
		}

		// The hashes match too, unless a NaN makes the median depend on the
		// selection algorithm.
		if dct := refDCT(&down); slices.ContainsFunc(dct[:], isNaN) {
			return
		}
		if want := refDihedralLuma(luma, rows, cols); dih != want {
			t.Errorf("DihedralLuma(%dx%d) = %v, want %v", rows, cols, dih, want)
		}
		if rows == dim && cols == dim {
			return
		}
		if want := refHashLuma(luma, rows, cols); got != want {
			t.Errorf("HashLuma(%dx%d) = %v, want %v", rows, cols, got, want)
		}
	})
}

func isNaN(v float32) bool { return v != v }
