package imagefile

import (
	"bytes"
	"image"
	"slices"
	"testing"

	"github.com/dnadb/dnadb"
	"github.com/dnadb/dnadb/internal/corpus"
)

// FuzzDecode checks that no input makes Decode panic or return an error without a
// dnadb kind, and that every image it returns is normalised.
func FuzzDecode(f *testing.F) {
	// Seeds: small corpus files, every generated format case, and the bad inputs.
	if _, ok := corpus.Root(); ok {
		for _, file := range []string{
			"images/misc-images/small.jpg", "images/labelme-subset/q0003.jpg",
			"images/pytx/random-26x28.png", "decoded/misc-images_small.png",
		} {
			f.Add(readFile(f, corpus.Path(f, "pdq", file)))
		}
		f.Add(halfJPEG(f))
		f.Add(patchedJPEG(f, 0xc1, 12))
	}
	for _, tc := range formatCases(f) {
		f.Add(tc.data)
	}
	f.Add([]byte{})
	f.Add([]byte("this is not a picture\n"))
	f.Add(pngHeader(100000, 100000))
	f.Add(pngHeader(3, 3))

	formats := []string{"jpeg", "png", "gif", "webp", "bmp", "tiff"}
	d := Decoder{MaxPixels: 1 << 20, MaxBytes: 1 << 20}
	f.Fuzz(func(t *testing.T, data []byte) {
		img, err := d.Decode("fuzz", bytes.NewReader(data))
		if err != nil {
			if dnadb.KindOf(err) == nil {
				t.Fatalf("Decode error %q has no kind", err)
			}
			return
		}
		if !slices.Contains(formats, img.Format) {
			t.Errorf("Decode().Format = %q", img.Format)
		}
		switch img.Pixels.(type) {
		case *image.Gray, *image.NRGBA:
		default:
			t.Fatalf("Decode().Pixels is %T, want *image.Gray or *image.NRGBA", img.Pixels)
		}
		if got, want := img.Pixels.Bounds(), image.Rect(0, 0, img.Width, img.Height); got != want {
			t.Errorf("Decode().Pixels.Bounds() = %v, want %v", got, want)
		}
		if int64(img.Width)*int64(img.Height) > d.MaxPixels {
			t.Errorf("Decode() returned %dx%d, over the limit", img.Width, img.Height)
		}
	})
}
