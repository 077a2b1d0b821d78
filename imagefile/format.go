package imagefile

import (
	"bytes"
	"image"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"

	"golang.org/x/image/bmp"
	"golang.org/x/image/tiff"
	"golang.org/x/image/webp"
)

// A format is one supported image format: how to recognise it, read its header and
// decode it.
type format struct {
	// name is the value of Image.Format.
	name string
	// magic lists the byte prefixes that identify the format; '?' matches any byte.
	magic []string
	// config reads the header only.
	config func(io.Reader) (image.Config, error)
	// decode decodes the whole picture.
	decode func(io.Reader) (image.Image, error)
}

// formats lists the supported formats, in the order they are tried.
var formats = []format{
	{"jpeg", []string{"\xff\xd8"}, jpeg.DecodeConfig, jpeg.Decode},
	{"png", []string{"\x89PNG\r\n\x1a\n"}, png.DecodeConfig, png.Decode},
	{"gif", []string{"GIF87a", "GIF89a"}, gif.DecodeConfig, gif.Decode},
	{"webp", []string{"RIFF????WEBP"}, webp.DecodeConfig, webp.Decode},
	{"bmp", []string{"BM"}, bmp.DecodeConfig, bmp.Decode},
	{"tiff", []string{"II*\x00", "MM\x00*"}, tiff.DecodeConfig, tiff.Decode},
}

// supported names the supported formats for error messages.
const supported = "JPEG, PNG, GIF, WebP, BMP and TIFF"

// sniffLen is how many leading bytes sniff needs to see.
const sniffLen = 32

// sniff returns the format whose magic bytes begin head, or nil. When it finds none,
// or finds a format it cannot decode, what names the format if it is known.
func sniff(head []byte) (f *format, what string) {
	for i := range formats {
		for _, m := range formats[i].magic {
			if match(head, m) {
				if formats[i].name == "webp" && animatedWebP(head) {
					return nil, "animated WebP"
				}
				return &formats[i], ""
			}
		}
	}
	return nil, unsupportedFormat(head)
}

// match reports whether head begins with magic, where '?' in magic matches any byte.
func match(head []byte, magic string) bool {
	if len(head) < len(magic) {
		return false
	}
	for i := 0; i < len(magic); i++ {
		if magic[i] != '?' && magic[i] != head[i] {
			return false
		}
	}
	return true
}

// animatedWebP reports whether a WebP file's header announces an animation: an
// extended (VP8X) header with the animation flag set. x/image/webp decodes only still
// images.
func animatedWebP(head []byte) bool {
	const animationBit = 1 << 1
	return match(head, "RIFF????WEBPVP8X") && len(head) > 20 && head[20]&animationBit != 0
}

// unsupportedFormat names a format that head identifies but that this package does
// not decode, or returns "" if head is not recognised at all.
func unsupportedFormat(head []byte) string {
	switch {
	case match(head, "????ftypavif"), match(head, "????ftypavis"):
		return "AVIF"
	case match(head, "????ftyphei"), match(head, "????ftypmif1"), match(head, "????ftyphev"),
		match(head, "????ftypmsf1"):
		return "HEIF"
	case match(head, "\xff\x0a"), match(head, "\x00\x00\x00\x0cJXL \r\n\x87\n"):
		return "JPEG XL"
	case match(head, "\x00\x00\x00\x0cjP  \r\n\x87\n"), match(head, "\xff\x4f\xff\x51"):
		return "JPEG 2000"
	case match(head, "II+\x00"), match(head, "MM\x00+"):
		return "BigTIFF"
	case bytes.HasPrefix(head, []byte("%PDF-")):
		return "PDF"
	}
	return ""
}
