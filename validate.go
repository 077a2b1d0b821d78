package dnadb

import (
	"unicode"
	"unicode/utf8"
)

// Limits on the text a source may attach to an item.
const (
	MaxSourceLen    = 200
	MaxReferenceLen = 500
	MaxSignals      = 1000
)

// Normalize checks a signal and returns it in canonical form: a PDQ value in lowercase
// hex and an empty profile made ProfileFull. It fails with ErrInvalid or ErrUnsupported
// naming the field at fault.
func (s Signal) Normalize() (Signal, error) {
	switch s.Type {
	case SignalPDQ:
		h, err := ParseHash256(s.Value)
		if err != nil {
			return s, Errorf(ErrInvalid, "signal value: %w", err)
		}
		s.Value = h.String()
	case SignalVPDQ:
		frames, err := ParseVPDQ(s.Value)
		if err != nil {
			return s, Errorf(KindOf(err), "signal value: %w", err)
		}
		s.Value = FormatVPDQ(frames)
	case SignalMD5, SignalSHA256:
		n := 16
		if s.Type == SignalSHA256 {
			n = 32
		}
		v, err := parseHexDigest(s.Type, s.Value, n)
		if err != nil {
			return s, Errorf(ErrInvalid, "signal value: %w", err)
		}
		// A digest has no quality: it matches exactly or not at all.
		s.Value, s.Quality, s.Profile = v, 100, ""
		return s, nil
	case "":
		return s, Errorf(ErrInvalid, "signal type is missing")
	default:
		return s, Errorf(ErrUnsupported, "signal type %q is not supported (want one of %v)",
			s.Type, SignalTypes)
	}
	if s.Quality < 0 || s.Quality > 100 {
		return s, Errorf(ErrInvalid, "signal quality %d is outside 0..100", s.Quality)
	}
	if s.Type == SignalVPDQ {
		// A video signal's quality is that of its frames; the profile is a photo's.
		s.Profile = ""
		return s, nil
	}
	if s.Profile == "" {
		s.Profile = ProfileFull
	}
	if !s.Profile.Valid() {
		return s, Errorf(ErrInvalid, "signal profile %q is not %q or %q",
			s.Profile, ProfileFull, ProfileCLI512)
	}
	return s, nil
}

// Normalize checks a registration and returns it with its signals in canonical form.
// It fails with ErrInvalid or ErrUnsupported naming the field at fault.
func (n NewItem) Normalize() (NewItem, error) {
	if !n.Category.Valid() {
		return n, Errorf(ErrInvalid, "category %q is not one of %v", n.Category, Categories)
	}
	if n.Source == "" {
		return n, Errorf(ErrInvalid, "source is missing")
	}
	if len(n.Source) > MaxSourceLen {
		return n, Errorf(ErrInvalid, "source is %d bytes, limit %d", len(n.Source), MaxSourceLen)
	}
	if len(n.Reference) > MaxReferenceLen {
		return n, Errorf(ErrInvalid, "reference is %d bytes, limit %d",
			len(n.Reference), MaxReferenceLen)
	}
	if err := CheckText("reference", n.Reference); err != nil {
		return n, err
	}
	if len(n.Signals) == 0 {
		return n, Errorf(ErrInvalid, "no signals: an item needs at least one")
	}
	if len(n.Signals) > MaxSignals {
		return n, Errorf(ErrInvalid, "%d signals, limit %d", len(n.Signals), MaxSignals)
	}

	out := n
	out.Signals = make([]Signal, len(n.Signals))
	for i, s := range n.Signals {
		ns, err := s.Normalize()
		if err != nil {
			return n, Errorf(KindOf(err), "signals[%d]: %w", i, err)
		}
		out.Signals[i] = ns
	}
	return out, nil
}

// CheckText refuses text that is not valid UTF-8 or that holds control characters
// (NUL, escape sequences, line breaks), which a database may refuse and a terminal
// would obey when the text is printed, or format characters (bidirectional
// overrides, zero-width characters), which make a text display as another. It fails with ErrInvalid naming the field.
func CheckText(field, s string) error {
	if !utf8.ValidString(s) {
		return Errorf(ErrInvalid, "%s is not valid UTF-8", field)
	}
	for i, c := range s {
		// Format characters (bidirectional overrides, zero-width joiners) would
		// let a name display as another.
		if unicode.IsControl(c) || unicode.Is(unicode.Cf, c) {
			return Errorf(ErrInvalid, "%s holds a control or format character (%U) at byte %d",
				field, c, i+1)
		}
	}
	return nil
}
