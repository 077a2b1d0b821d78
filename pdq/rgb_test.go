package pdq

import (
	"errors"
	"fmt"
	"image"
	"math/rand/v2"
	"testing"

	"github.com/dnadb/dnadb"
)

// rgbFixture returns a w x h RGB24 buffer with rows stride bytes apart, filled with
// smooth gradients plus noise so that the hash has structure, and the same pixels
// as an *image.RGBA with opaque alpha.
func rgbFixture(r *rand.Rand, w, h, stride int) ([]byte, *image.RGBA) {
	pix := make([]byte, (h-1)*stride+3*w)
	for i := range pix {
		pix[i] = byte(r.IntN(256)) // padding bytes hold garbage too
	}
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			p := pix[y*stride+3*x:]
			p[0] = byte(x*255/w) ^ byte(r.IntN(16))
			p[1] = byte(y*255/h) ^ byte(r.IntN(16))
			p[2] = byte((x+y)*127/(w+h)) ^ byte(r.IntN(64))
			q := img.Pix[img.PixOffset(x, y):]
			q[0], q[1], q[2], q[3] = p[0], p[1], p[2], 255
		}
	}
	return pix, img
}

func TestHashRGBEqualsHashImage(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, tc := range []struct{ w, h, pad int }{
		{5, 5, 0},
		{7, 5, 1},
		{64, 64, 0},
		{64, 64, 5},
		{63, 65, 2},
		{127, 33, 3},
		{480, 720, 0},
		{481, 271, 7},
		{1080, 1080, 64},
	} {
		stride := 3*tc.w + tc.pad
		t.Run(fmt.Sprintf("%dx%d/stride=%d", tc.w, tc.h, stride), func(t *testing.T) {
			pix, img := rgbFixture(r, tc.w, tc.h, stride)
			want, err := HashImage(img, dnadb.ProfileFull)
			if err != nil {
				t.Fatal(err)
			}
			got, err := HashRGB(pix, tc.w, tc.h, stride)
			if err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Errorf("HashRGB = %v q%d, want HashImage's %v q%d",
					got.Hash, got.Quality, want.Hash, want.Quality)
			}
		})
	}
}

func TestHashRGBErrors(t *testing.T) {
	for _, tc := range []struct {
		name          string
		n, w, h, strd int
	}{
		{"narrow", 4 * 3 * 10, 4, 10, 12},
		{"short", 9 * 3 * 10, 10, 10, 30},
		{"stride under width", 10 * 3 * 10, 10, 10, 29},
		{"empty", 0, 0, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := HashRGB(make([]byte, tc.n), tc.w, tc.h, tc.strd)
			if !errors.Is(err, dnadb.ErrInvalid) {
				t.Errorf("HashRGB(%d bytes, %dx%d, stride %d) = %v, want ErrInvalid",
					tc.n, tc.w, tc.h, tc.strd, err)
			}
		})
	}
}
