package imagefile

import (
	"image"
	"image/color"
)

// normalise turns a decoded picture into an *image.Gray or an *image.NRGBA with its
// origin at (0, 0), following the rules in the package documentation. format is the
// name of the format m was decoded from.
func normalise(format string, m image.Image) image.Image {
	switch m := m.(type) {
	case *image.Gray:
		return compactGray(m)
	case *image.Gray16:
		return gray16(m)
	case *image.YCbCr:
		if format == "webp" {
			return greyOrColour(vp8ToNRGBA(m, nil, 0))
		}
		return greyOrColour(jpegToNRGBA(m))
	case *image.NYCbCrA:
		if format == "webp" {
			return greyOrColour(vp8ToNRGBA(&m.YCbCr, m.A, m.AStride))
		}
	case *image.NRGBA:
		return greyOrColour(compactNRGBA(m))
	case *image.RGBA:
		return greyOrColour(rgba(m))
	case *image.NRGBA64:
		return greyOrColour(nrgba64(m))
	case *image.CMYK:
		return greyOrColour(cmyk(m))
	case *image.Paletted:
		return greyOrColour(paletted(m))
	}
	return greyOrColour(anyToNRGBA(m))
}

// compactGray returns m with its origin at (0, 0) and no padding between rows,
// copying only if it must.
func compactGray(m *image.Gray) *image.Gray {
	b := m.Bounds()
	if b.Min == (image.Point{}) && m.Stride == b.Dx() {
		return m
	}
	g := image.NewGray(image.Rect(0, 0, b.Dx(), b.Dy()))
	for y := 0; y < b.Dy(); y++ {
		i := m.PixOffset(b.Min.X, b.Min.Y+y)
		copy(g.Pix[y*g.Stride:(y+1)*g.Stride], m.Pix[i:i+b.Dx()])
	}
	return g
}

// compactNRGBA is compactGray for NRGBA.
func compactNRGBA(m *image.NRGBA) *image.NRGBA {
	b := m.Bounds()
	if b.Min == (image.Point{}) && m.Stride == 4*b.Dx() {
		return m
	}
	n := image.NewNRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	for y := 0; y < b.Dy(); y++ {
		i := m.PixOffset(b.Min.X, b.Min.Y+y)
		copy(n.Pix[y*n.Stride:(y+1)*n.Stride], m.Pix[i:i+4*b.Dx()])
	}
	return n
}

// gray16 keeps the high byte of each 16-bit sample.
func gray16(m *image.Gray16) *image.Gray {
	b := m.Bounds()
	g := image.NewGray(image.Rect(0, 0, b.Dx(), b.Dy()))
	for y := 0; y < b.Dy(); y++ {
		src := m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):]
		dst := g.Pix[y*g.Stride : (y+1)*g.Stride]
		for x := range dst {
			dst[x] = src[2*x]
		}
	}
	return g
}

// rgba converts premultiplied RGBA to NRGBA. Opaque pixels are copied unchanged;
// others are un-premultiplied by color.NRGBAModel.
func rgba(m *image.RGBA) *image.NRGBA {
	b := m.Bounds()
	n := image.NewNRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	for y := 0; y < b.Dy(); y++ {
		src := m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):]
		dst := n.Pix[y*n.Stride : (y+1)*n.Stride]
		for i := 0; i < len(dst); i += 4 {
			s := src[i : i+4 : i+4]
			if s[3] == 0xff {
				copy(dst[i:i+4], s)
				continue
			}
			c := color.NRGBAModel.Convert(color.RGBA{s[0], s[1], s[2], s[3]}).(color.NRGBA)
			dst[i], dst[i+1], dst[i+2], dst[i+3] = c.R, c.G, c.B, c.A
		}
	}
	return n
}

// nrgba64 keeps the high byte of each 16-bit sample.
func nrgba64(m *image.NRGBA64) *image.NRGBA {
	b := m.Bounds()
	n := image.NewNRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	for y := 0; y < b.Dy(); y++ {
		src := m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):]
		dst := n.Pix[y*n.Stride : (y+1)*n.Stride]
		for i := range dst {
			dst[i] = src[2*i]
		}
	}
	return n
}

// cmyk converts with color.CMYKToRGB.
func cmyk(m *image.CMYK) *image.NRGBA {
	b := m.Bounds()
	n := image.NewNRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	for y := 0; y < b.Dy(); y++ {
		src := m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):]
		dst := n.Pix[y*n.Stride : (y+1)*n.Stride]
		for i := 0; i < len(dst); i += 4 {
			r, g, bl := color.CMYKToRGB(src[i], src[i+1], src[i+2], src[i+3])
			dst[i], dst[i+1], dst[i+2], dst[i+3] = r, g, bl, 0xff
		}
	}
	return n
}

// paletted looks each index up in the palette. Entries that are already NRGBA, as
// image/png makes them for palettes with transparency, keep their stored colour;
// an index past the end of the palette is opaque black.
func paletted(m *image.Paletted) *image.NRGBA {
	var lut [256]color.NRGBA
	for i := range lut {
		lut[i] = color.NRGBA{A: 0xff}
	}
	for i, c := range m.Palette {
		if i >= len(lut) {
			break
		}
		lut[i] = color.NRGBAModel.Convert(c).(color.NRGBA)
	}

	b := m.Bounds()
	n := image.NewNRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	for y := 0; y < b.Dy(); y++ {
		src := m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):]
		dst := n.Pix[y*n.Stride : (y+1)*n.Stride]
		for x := 0; x < b.Dx(); x++ {
			c := lut[src[x]]
			dst[4*x], dst[4*x+1], dst[4*x+2], dst[4*x+3] = c.R, c.G, c.B, c.A
		}
	}
	return n
}

// anyToNRGBA converts any other image through color.NRGBAModel, which keeps the
// high byte of 16-bit samples.
func anyToNRGBA(m image.Image) *image.NRGBA {
	b := m.Bounds()
	n := image.NewNRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	for y := 0; y < b.Dy(); y++ {
		for x := 0; x < b.Dx(); x++ {
			c := color.NRGBAModel.Convert(m.At(b.Min.X+x, b.Min.Y+y)).(color.NRGBA)
			i := n.PixOffset(x, y)
			n.Pix[i], n.Pix[i+1], n.Pix[i+2], n.Pix[i+3] = c.R, c.G, c.B, c.A
		}
	}
	return n
}

// greyOrColour returns n as an *image.Gray if every pixel of n has R == G == B, and
// n itself otherwise. n must have its origin at (0, 0) and no row padding.
func greyOrColour(n *image.NRGBA) image.Image {
	p := n.Pix
	for i := 0; i+2 < len(p); i += 4 {
		if p[i] != p[i+1] || p[i] != p[i+2] {
			return n
		}
	}
	g := image.NewGray(n.Rect)
	for i := range g.Pix {
		g.Pix[i] = p[4*i]
	}
	return g
}
