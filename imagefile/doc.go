// Package imagefile decodes still images under limits and normalises their pixels
// for hashing, so that a PDQ hash computed from them comes as close as it can to the
// one Meta's reference C++ pdq-photo-hasher computes. That tool decodes through
// ImageMagick (`convert FILE pnm:-`), which decodes JPEG with libjpeg-turbo and WebP
// with libwebp, so where this package has to choose, it chooses what ImageMagick
// hands the reference.
//
// # Formats
//
// JPEG (baseline and progressive, grey, YCbCr, RGB, and CMYK or YCCK with an Adobe
// marker), PNG (every colour type, 8 and 16 bits), GIF, WebP (lossy and lossless,
// still only), BMP and TIFF. The format is found from the file's leading magic bytes,
// never from its name. Decoders are called directly, so nothing depends on which
// packages registered themselves with the image package.
//
// # Limits
//
// A Decoder reads at most MaxBytes of encoded data (DefaultMaxBytes, 64 MiB, when
// zero) and refuses a longer input. It then reads the image header and refuses, before
// the full decode allocates anything in proportion to the picture, an image with more
// than MaxPixels pixels (DefaultMaxPixels, 100 megapixels, when zero) or a side longer
// than MaxSide (65535) pixels, and a JPEG with more than MaxJPEGScans (256) scans,
// which would cost minutes of CPU. Each refusal wraps dnadb.ErrTooLarge and names the
// file, the size found and the limit.
//
// # Errors
//
// Every error from Decode wraps one dnadb kind and names the file:
//   - dnadb.ErrTooLarge: over one of the limits above;
//   - dnadb.ErrInvalid: an empty file, truncated or corrupt data, an image with no
//     pixels, or a decoder that panicked (the panic is recovered and never reaches
//     the caller);
//   - dnadb.ErrUnsupported: a format that is not recognised, a format that is
//     recognised but not handled (HEIF, AVIF, JPEG XL, JPEG 2000, BigTIFF, animated
//     WebP), or a valid file that uses a feature its decoder lacks, such as a 12-bit
//     or arithmetic-coded JPEG.
//
// An error reading the input itself is returned wrapped, with no kind of its own;
// DecodeFile reports a missing file as dnadb.ErrNotFound.
//
// # Normalisation
//
// The decoded picture becomes an *image.Gray or an *image.NRGBA with its origin at
// (0, 0):
//   - Single-channel sources, and sources whose every pixel has R == G == B, become
//     *image.Gray. ImageMagick hands such images to the reference as PGM, and the
//     reference then takes its grey path (luma = value) instead of the RGB weights.
//     This includes 3-component JPEGs that happen to be all grey.
//   - Alpha is dropped, not composited: the stored colour of each pixel is kept, as
//     PNM output does. Premultiplied sources are un-premultiplied with
//     color.NRGBAModel. The alpha channel stays in the NRGBA buffer but means nothing
//     to hashing.
//   - EXIF orientation is not applied, as the reference does not apply it.
//   - 16-bit samples keep their high byte. The reference truncates ImageMagick's
//     16-bit PNM into 8 bits and gets garbage, and python-threatexchange clips, so
//     this is a policy, not a match.
//   - CMYK (JPEG or TIFF) is converted with color.CMYKToRGB. ImageMagick's
//     conversion rounds differently, so a few values may differ by one.
//   - YCbCr JPEG is converted the way libjpeg-turbo does by default: chroma is
//     upsampled with its "fancy" triangle filter for 4:2:2, 4:2:0 and 4:4:0 (with
//     its rounding biases and edge replication), and converted with its 16-bit
//     fixed-point tables. Other subsamplings replicate chroma, as libjpeg-turbo
//     does. The inverse DCT is still Go's, which differs from libjpeg-turbo's by
//     one level here and there, so JPEG pixels are close to the reference's but
//     not identical.
//   - Lossy WebP is converted the way libwebp does by default: limited-range BT.601
//     with libwebp's fixed-point arithmetic and its fancy upsampler. (Treating VP8's
//     limited-range samples as full-range JFIF, as image.YCbCr does, would flatten
//     the contrast; see golang.org/issue/40173.)
//   - GIF yields its first frame, in the frame's own rectangle, not composed onto the
//     logical screen: ImageMagick's PNM output of a GIF also drops the frame offset.
//   - Images with a side shorter than 5 pixels decode normally; the hasher decides
//     what to do with them.
package imagefile
