// Package pdq computes Meta's PDQ photo hash: a 256-bit perceptual hash with a quality
// score from 0 to 100, and the seven other dihedral hashes derived from the same DCT.
//
// The reference is the C++ implementation in Meta's ThreatExchange repository
// (pdq/cpp/hashing/pdqhashing.cpp and pdq/cpp/downscaling/downscaling.cpp), as studied
// in the project's notes (shared/notes/reference-implementations.md, section 1) and
// checked against the outputs in the shared reference corpus. Given the same decoded
// pixels, this package produces the same hash and quality bit for bit: luma, two
// rounds of the Jarosz box filter, decimation to 64x64, the quality metric, the partial
// 16x16 DCT, the median threshold and the dihedral sign and transpose rules all follow
// the reference's rules.
//
// # Float policy
//
// Every value the reference keeps in a C++ float is a Go float32 here, and every
// operation runs in the same order on the same operands, so that each rounding step
// is the same:
//
//   - luma is R*0.299 + G*0.587, then + B*0.114, with float32 coefficients;
//   - the box filter keeps a running float32 sum, adds the entering sample before it
//     subtracts the leaving one, and divides the sum by the float32 count;
//   - the DCT accumulates k = 0..63 in order in one float32 accumulator;
//   - float64 is used only where the reference uses double: building the DCT matrix,
//     whose entries are then rounded to float32, and the decimation index.
//
// Go may fuse x*y + z into one fused multiply-add (FMA) instruction, which rounds once
// instead of twice and so changes the result; the reference never fuses. Every product
// that feeds a sum is therefore wrapped in an explicit float32 conversion, which the Go
// specification says forces rounding. The results do not depend on GOAMD64 or GOARCH.
//
// Some steps are computed differently from the reference but give identical bits: a
// division by a power-of-two count is a multiplication by its exact reciprocal, luma
// products come from 256-entry tables of the same float32 products, and the filter only
// computes the outputs that the 64x64 decimation reads, while every running sum still
// goes through every step in order.
//
// # Differences from the reference
//
// Images under MinDim pixels on a side are reported as an error wrapping
// dnadb.ErrInvalid, where the reference returns an all-zero hash with quality 0.
// HashLuma and DihedralLuma, which return no error, keep the reference's behaviour.
// The 512x512 squash of the reference command-line tool is applied only under
// dnadb.ProfileCLI512; see Resize512.
package pdq
