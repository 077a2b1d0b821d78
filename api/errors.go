package api

import (
	"net/http"

	"github.com/dnadb/dnadb"
)

// ErrorBody is the JSON body of every error response.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail says what went wrong: a stable code and a message for people.
type ErrorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// errorKinds pairs each error kind with its HTTP status and code.
var errorKinds = []struct {
	kind   error
	status int
	code   string
}{
	{dnadb.ErrInvalid, http.StatusBadRequest, "invalid"},
	{dnadb.ErrUnsupported, http.StatusUnsupportedMediaType, "unsupported"},
	{dnadb.ErrTooLarge, http.StatusRequestEntityTooLarge, "too_large"},
	{dnadb.ErrLowQuality, http.StatusUnprocessableEntity, "low_quality"},
	{dnadb.ErrNotFound, http.StatusNotFound, "not_found"},
	{dnadb.ErrConflict, http.StatusConflict, "conflict"},
	{dnadb.ErrPermission, http.StatusForbidden, "forbidden"},
	{dnadb.ErrUnauthenticated, http.StatusUnauthorized, "unauthenticated"},
	{dnadb.ErrRateLimited, http.StatusTooManyRequests, "rate_limited"},
}

// CodeInternal is the code of an error of no known kind.
const CodeInternal = "internal"

// ErrorStatus maps an error to its HTTP status and error code, by the error's kind.
// It is the only place where the server chooses a status for an error.
func ErrorStatus(err error) (status int, code string) {
	kind := dnadb.KindOf(err)
	for _, k := range errorKinds {
		if k.kind == kind {
			return k.status, k.code
		}
	}
	return http.StatusInternalServerError, CodeInternal
}

// ErrorKind returns the error kind an error code stands for, or nil for an unknown
// code.
func ErrorKind(code string) error {
	for _, k := range errorKinds {
		if k.code == code {
			return k.kind
		}
	}
	return nil
}
