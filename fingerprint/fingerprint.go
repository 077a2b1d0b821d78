// Package fingerprint turns a photo file into its PDQ signal: it decodes the file
// under the decoder's limits and hashes the pixels under a profile. The media itself
// is read once and never kept.
package fingerprint

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/dnadb/dnadb"
	"github.com/dnadb/dnadb/imagefile"
	"github.com/dnadb/dnadb/pdq"
)

// Photo is the fingerprint of one photo.
type Photo struct {
	Hash    dnadb.Hash256
	Quality int
	Profile dnadb.Profile
	// Dihedral holds the hashes of the eight dihedral variants, when asked for;
	// Dihedral[0] equals Hash.
	Dihedral *[pdq.NumVariants]dnadb.Hash256
	Format   string
	Width    int
	Height   int
}

// Signal returns the photo's PDQ signal.
func (p Photo) Signal() dnadb.Signal {
	return dnadb.Signal{
		Type:    dnadb.SignalPDQ,
		Value:   p.Hash.String(),
		Quality: p.Quality,
		Profile: p.Profile,
	}
}

// Hasher computes photo fingerprints. The zero value decodes under the default
// limits and hashes under dnadb.ProfileFull.
type Hasher struct {
	Decoder imagefile.Decoder
	// Profile is the PDQ profile; empty means dnadb.ProfileFull.
	Profile dnadb.Profile
	// Dihedral asks for the eight dihedral variants as well.
	Dihedral bool
}

// HashFile fingerprints the photo at path.
func (h Hasher) HashFile(path string) (Photo, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return Photo{}, dnadb.Errorf(dnadb.ErrNotFound, "%w", err)
	}
	if err != nil {
		return Photo{}, dnadb.Errorf(dnadb.ErrInvalid, "%w", err)
	}
	defer f.Close()
	return h.Hash(path, f)
}

// Hash fingerprints the photo read from r; name identifies it in errors. A panic in
// decoding or hashing is returned as an error naming the photo, never passed on.
func (h Hasher) Hash(name string, r io.Reader) (p Photo, err error) {
	defer func() {
		if v := recover(); v != nil {
			p, err = Photo{}, fmt.Errorf("%s: internal error hashing photo: %v", name, v)
		}
	}()
	profile := h.Profile
	if profile == "" {
		profile = dnadb.ProfileFull
	}
	if !profile.Valid() {
		return Photo{}, dnadb.Errorf(dnadb.ErrInvalid, "profile %q is not %q or %q",
			profile, dnadb.ProfileFull, dnadb.ProfileCLI512)
	}

	// Decode under the limits; the decoder names the file in its errors.
	img, err := h.Decoder.Decode(name, r)
	if err != nil {
		return Photo{}, err
	}
	p = Photo{Profile: profile, Format: img.Format, Width: img.Width, Height: img.Height}

	// Hash, with the variants if asked: they come from the same DCT.
	if h.Dihedral {
		d, err := pdq.DihedralImage(img.Pixels, profile)
		if err != nil {
			return Photo{}, fmt.Errorf("%s: %w", name, err)
		}
		p.Hash, p.Quality, p.Dihedral = d.Hashes[0], d.Quality, &d.Hashes
		return p, nil
	}
	res, err := pdq.HashImage(img.Pixels, profile)
	if err != nil {
		return Photo{}, fmt.Errorf("%s: %w", name, err)
	}
	p.Hash, p.Quality = res.Hash, res.Quality
	return p, nil
}
