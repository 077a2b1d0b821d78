package imagefile

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"io"
	"io/fs"
	"os"

	"golang.org/x/image/bmp"
	"golang.org/x/image/tiff"

	"github.com/dnadb/dnadb"
)

// DefaultMaxPixels is the default pixel limit: 100 megapixels.
const DefaultMaxPixels = 100_000_000

// DefaultMaxBytes is the default limit on the encoded size: 64 MiB. That is well
// above a full-quality JPEG from a 100-megapixel camera (about 30 to 50 MB), but a
// lossless PNG or TIFF near the pixel limit can be larger; callers that accept those
// raise MaxBytes.
const DefaultMaxBytes = 64 << 20

// MaxSide is the longest side, in pixels, that a Decoder accepts: the largest side a
// JPEG or a GIF can have. A longer side within the pixel limit is a strip a few
// pixels wide, which no photo is.
const MaxSide = 1<<16 - 1

// MaxJPEGScans is the most scans a JPEG may have. Each scan of a progressive JPEG
// makes image/jpeg walk every block of the picture again, so a small file of many
// tiny scans costs minutes of CPU: 100,000 scans in 1.6 MB took 97 s on a 1004x1600
// picture. Encoders write about 10 scans (libjpeg's progressive script) and rarely
// more than a few dozen.
const MaxJPEGScans = 256

// Decoder decodes images under limits. The zero Decoder uses the default limits and
// is safe for concurrent use.
type Decoder struct {
	// MaxPixels caps width*height; zero or less means DefaultMaxPixels.
	MaxPixels int64
	// MaxBytes caps the encoded size; zero or less means DefaultMaxBytes.
	MaxBytes int64
}

// Image is a decoded picture normalised for hashing.
type Image struct {
	// Pixels is an *image.Gray when the source has one channel or every pixel is
	// grey, and an *image.NRGBA otherwise. Its bounds start at (0, 0). The NRGBA
	// alpha channel holds the source's alpha, which hashing ignores.
	Pixels image.Image
	// Format is "jpeg", "png", "gif", "webp", "bmp" or "tiff".
	Format string
	// Width and Height are the picture's size in pixels.
	Width, Height int
}

// Config is what an image's header says about it.
type Config struct {
	// Format is as in Image.
	Format string
	// Width and Height are the picture's size in pixels.
	Width, Height int
}

func (d Decoder) maxPixels() int64 {
	if d.MaxPixels <= 0 {
		return DefaultMaxPixels
	}
	return d.MaxPixels
}

func (d Decoder) maxBytes() int64 {
	if d.MaxBytes <= 0 {
		return DefaultMaxBytes
	}
	return d.MaxBytes
}

// DecodeFile decodes the image in the file at path, as Decode does. A missing file
// is dnadb.ErrNotFound, a directory is dnadb.ErrInvalid, and a file over the byte
// limit is refused before it is read.
func (d Decoder) DecodeFile(path string) (Image, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return Image{}, dnadb.Errorf(dnadb.ErrNotFound, "image: %w", err)
		}
		return Image{}, fmt.Errorf("image: %w", err)
	}
	defer f.Close()

	// Refuse a directory, and a regular file over the byte limit without reading it.
	if st, err := f.Stat(); err == nil {
		switch {
		case st.IsDir():
			return Image{}, dnadb.Errorf(dnadb.ErrInvalid, "image %q: is a directory", path)
		case st.Mode().IsRegular() && st.Size() > d.maxBytes():
			return Image{}, tooManyBytes(path, d.maxBytes())
		}
	}
	return d.Decode(path, f)
}

// Decode reads an image from r and returns it normalised for hashing, as the
// package documentation describes. It reads at most MaxBytes+1 bytes from r. The
// name is used only in error messages.
func (d Decoder) Decode(name string, r io.Reader) (Image, error) {
	// Read the whole input, but no more than the limit allows.
	// A read that fails part way, such as an upload cut off or stalled by its
	// sender, is the input's fault: the bytes that make the image never came.
	data, err := io.ReadAll(io.LimitReader(r, d.maxBytes()+1))
	if err != nil {
		return Image{}, dnadb.Errorf(dnadb.ErrInvalid, "read image %q: %w", name, err)
	}
	if int64(len(data)) > d.maxBytes() {
		return Image{}, tooManyBytes(name, d.maxBytes())
	}
	return d.decode(name, data)
}

// decode decodes an image already in memory.
func (d Decoder) decode(name string, data []byte) (Image, error) {
	// Find the format from the magic bytes.
	f, err := identify(name, data)
	if err != nil {
		return Image{}, err
	}

	// Check the header against the limits before anything is allocated for pixels.
	cfg, err := d.config(name, f, bytes.NewReader(data))
	if err != nil {
		return Image{}, err
	}

	// Refuse a JPEG with so many scans that decoding it would take minutes. A start of
	// scan marker cannot occur in entropy-coded data (0xff there is followed by 0x00
	// or a restart marker), so counting its bytes can only overcount, by the markers
	// of an embedded thumbnail.
	if f.name == "jpeg" {
		if n := bytes.Count(data, []byte{0xff, 0xda}); n > MaxJPEGScans {
			return Image{}, dnadb.Errorf(dnadb.ErrTooLarge,
				"image %q: %d jpeg scans is over the limit of %d", name, n, MaxJPEGScans)
		}
	}

	// Decode, turning a decoder's panic into an error.
	var m image.Image
	err = safely(func() (err error) {
		m, err = f.decode(bytes.NewReader(data))
		return err
	})
	if err != nil {
		return Image{}, decodeError(name, f.name, err)
	}

	// The header promised a size; a decoder that returned more broke the promise.
	b := m.Bounds()
	if b.Empty() {
		return Image{}, dnadb.Errorf(dnadb.ErrInvalid, "image %q: no pixels", name)
	}
	if b.Dx() > cfg.Width || b.Dy() > cfg.Height {
		return Image{}, dnadb.Errorf(dnadb.ErrInvalid,
			"image %q: decoded %dx%d pixels, but the header says %dx%d",
			name, b.Dx(), b.Dy(), cfg.Width, cfg.Height)
	}

	// Normalise the pixels for hashing.
	var px image.Image
	err = safely(func() error {
		px = normalise(f.name, m)
		return nil
	})
	if err != nil {
		return Image{}, decodeError(name, f.name, err)
	}
	return Image{Pixels: px, Format: f.name, Width: b.Dx(), Height: b.Dy()}, nil
}

// DecodeConfig reads only as much of r as the image header needs and returns what it
// says. It applies the same checks as Decode except the limits on bytes and JPEG
// scans, so an image it accepts may still fail to decode, but one it refuses would be
// refused by Decode.
func (d Decoder) DecodeConfig(name string, r io.Reader) (Config, error) {
	br := bufio.NewReader(io.LimitReader(r, d.maxBytes()))
	head, err := br.Peek(sniffLen)
	if err != nil && err != io.EOF {
		return Config{}, fmt.Errorf("read image %q: %w", name, err)
	}
	f, err := identify(name, head)
	if err != nil {
		return Config{}, err
	}
	return d.config(name, f, br)
}

// identify finds the format of data from its leading bytes.
func identify(name string, data []byte) (*format, error) {
	if len(data) == 0 {
		return nil, dnadb.Errorf(dnadb.ErrInvalid, "image %q: empty file", name)
	}
	f, what := sniff(data[:min(len(data), sniffLen)])
	switch {
	case f != nil:
		return f, nil
	case what != "":
		return nil, dnadb.Errorf(dnadb.ErrUnsupported,
			"image %q: %s is not supported; supported formats are %s", name, what, supported)
	}
	return nil, dnadb.Errorf(dnadb.ErrUnsupported,
		"image %q: image format not recognised; supported formats are %s", name, supported)
}

// config reads the header of an image of format f and checks its size against the
// limits.
func (d Decoder) config(name string, f *format, r io.Reader) (Config, error) {
	var c image.Config
	err := safely(func() (err error) {
		c, err = f.config(r)
		return err
	})
	if err != nil {
		return Config{}, decodeError(name, f.name, err)
	}

	cfg := Config{Format: f.name, Width: c.Width, Height: c.Height}
	switch w, h := int64(c.Width), int64(c.Height); {
	case w <= 0 || h <= 0:
		return cfg, dnadb.Errorf(dnadb.ErrInvalid, "image %q: no pixels (%dx%d)", name, w, h)
	case w*h > d.maxPixels():
		return cfg, dnadb.Errorf(dnadb.ErrTooLarge,
			"image %q: %dx%d pixels is over the limit of %d pixels", name, w, h, d.maxPixels())
	case w > MaxSide || h > MaxSide:
		return cfg, dnadb.Errorf(dnadb.ErrTooLarge,
			"image %q: %dx%d pixels has a side over the limit of %d", name, w, h, MaxSide)
	}
	return cfg, nil
}

// tooManyBytes is the error for an input over the byte limit.
func tooManyBytes(name string, limit int64) error {
	return dnadb.Errorf(dnadb.ErrTooLarge,
		"image %q: file is over the limit of %d bytes", name, limit)
}

// decodeError gives a decoder's error its kind: unsupported for a valid feature the
// decoder lacks, invalid for anything else.
func decodeError(name, format string, err error) error {
	if unsupported(err) {
		return dnadb.Errorf(dnadb.ErrUnsupported, "image %q: %w", name, err)
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return dnadb.Errorf(dnadb.ErrInvalid, "image %q: truncated %s data: %w", name, format, err)
	}
	return dnadb.Errorf(dnadb.ErrInvalid, "image %q: corrupt %s data: %w", name, format, err)
}

// unsupported reports whether err is a decoder's way of saying that the input is
// valid but uses a feature it does not implement.
func unsupported(err error) bool {
	var (
		jerr jpeg.UnsupportedError
		perr png.UnsupportedError
		terr tiff.UnsupportedError
	)
	return errors.As(err, &jerr) || errors.As(err, &perr) || errors.As(err, &terr) ||
		errors.Is(err, bmp.ErrUnsupported)
}

// errPanic marks a recovered decoder panic.
var errPanic = errors.New("decoder panic")

// safely calls fn and turns a panic inside it into an error.
func safely(fn func() error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%w: %v", errPanic, p)
		}
	}()
	return fn()
}
