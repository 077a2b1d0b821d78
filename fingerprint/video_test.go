package fingerprint

import (
	"bytes"
	"image"
	"image/color/palette"
	"image/gif"
	"testing"
)

// TestGIFFrames checks the block walk against GIFs written by image/gif: one
// frame, three frames, and frames with local colour tables.
func TestGIFFrames(t *testing.T) {
	frame := func() *image.Paletted {
		return image.NewPaletted(image.Rect(0, 0, 8, 8), palette.Plan9)
	}
	for _, tc := range []struct {
		name   string
		frames int
		want   int
	}{{"still", 1, 1}, {"animated", 3, 2}} {
		g := &gif.GIF{}
		for range tc.frames {
			g.Image = append(g.Image, frame())
			g.Delay = append(g.Delay, 10)
		}
		var b bytes.Buffer
		if err := gif.EncodeAll(&b, g); err != nil {
			t.Fatal(err)
		}
		got, err := gifFrames(&b)
		if err != nil || got != tc.want {
			t.Errorf("%s: gifFrames = %d, %v; want %d", tc.name, got, err, tc.want)
		}
	}
	if _, err := gifFrames(bytes.NewReader([]byte("GIF89a"))); err == nil {
		t.Error("gifFrames(truncated) succeeded")
	}
}
