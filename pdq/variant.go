package pdq

import (
	"strconv"

	"github.com/dnadb/dnadb"
)

// Variant names a dihedral transform of an image: one of the eight rotations and
// reflections of a square. The names and directions are the reference's.
type Variant int

// The dihedral variants, in the reference's order.
const (
	// Original is the image as it is.
	Original Variant = iota
	// Rotate90 is the image rotated 90 degrees counter-clockwise.
	Rotate90
	// Rotate180 is the image rotated 180 degrees.
	Rotate180
	// Rotate270 is the image rotated 270 degrees counter-clockwise.
	Rotate270
	// FlipX is the image flipped top to bottom.
	FlipX
	// FlipY is the image mirrored left to right.
	FlipY
	// FlipPlus1 is the image transposed about its main diagonal.
	FlipPlus1
	// FlipMinus1 is the image transposed about its anti-diagonal.
	FlipMinus1
)

// NumVariants is the number of dihedral variants.
const NumVariants = 8

var variantNames = [NumVariants]string{
	"original", "rotate90", "rotate180", "rotate270",
	"flipx", "flipy", "flipplus1", "flipminus1",
}

// String returns the variant's lowercase name, such as "rotate90".
func (v Variant) String() string {
	if v < 0 || v >= NumVariants {
		return "Variant(" + strconv.Itoa(int(v)) + ")"
	}
	return variantNames[v]
}

// ParseVariant returns the variant named s, as String writes it. An unknown name
// fails with dnadb.ErrInvalid.
func ParseVariant(s string) (Variant, error) {
	for v, name := range variantNames {
		if s == name {
			return Variant(v), nil
		}
	}
	return 0, dnadb.Errorf(dnadb.ErrInvalid, "pdq: unknown variant %q", s)
}
