package dnadb

import (
	"errors"
	"fmt"
)

// The kinds of error. Every error a dnadb package returns to a user wraps one of them,
// so that callers, and the single function that maps errors to HTTP statuses, can tell
// them apart with errors.Is.
var (
	// ErrInvalid means the input is malformed: a bad hash string, a corrupt image,
	// a missing field.
	ErrInvalid = errors.New("invalid input")
	// ErrUnsupported means the input is well formed but of a kind dnadb does not handle,
	// such as an unknown image format.
	ErrUnsupported = errors.New("unsupported input")
	// ErrTooLarge means the input exceeds a configured limit.
	ErrTooLarge = errors.New("input too large")
	// ErrLowQuality means a fingerprint was computed but is too weak to store or match.
	ErrLowQuality = errors.New("quality too low")
	// ErrNotFound means the requested object does not exist.
	ErrNotFound = errors.New("not found")
	// ErrConflict means the request contradicts the current state, such as confirming
	// an item that was already rejected.
	ErrConflict = errors.New("conflict")
	// ErrPermission means the caller may not do what it asked.
	ErrPermission = errors.New("permission denied")
	// ErrUnauthenticated means the caller gave no valid credentials: no token, an
	// unknown one, or one expired or revoked.
	ErrUnauthenticated = errors.New("unauthenticated")
	// ErrRateLimited means the caller sent more requests than its limit allows.
	ErrRateLimited = errors.New("rate limited")
)

// kinds lists the error kinds from the most to the least specific.
var kinds = []error{
	ErrInvalid, ErrUnsupported, ErrTooLarge, ErrLowQuality,
	ErrNotFound, ErrConflict, ErrPermission, ErrUnauthenticated, ErrRateLimited,
}

// kindError is an error of a known kind whose message is written for a user.
type kindError struct {
	kind error
	msg  string
	err  error
}

func (e *kindError) Error() string { return e.msg }

func (e *kindError) Unwrap() []error {
	if e.err != nil {
		return []error{e.kind, e.err}
	}
	return []error{e.kind}
}

// Errorf returns an error of the given kind with a formatted message. If the arguments
// include an error wrapped with %w, the result wraps it too.
func Errorf(kind error, format string, args ...any) error {
	err := fmt.Errorf(format, args...)
	return &kindError{kind: kind, msg: err.Error(), err: errors.Unwrap(err)}
}

// KindOf returns the kind of err, or nil if err is nil or of no known kind, which
// callers treat as an internal error.
func KindOf(err error) error {
	if err == nil {
		return nil
	}
	for _, k := range kinds {
		if errors.Is(err, k) {
			return k
		}
	}
	return nil
}
