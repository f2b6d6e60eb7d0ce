package server

import (
	"errors"
	"fmt"
)

// Error codes. Each maps to one HTTP status in httpd.
const (
	ECONFLICT     = "conflict"
	EINTERNAL     = "internal"
	EINVALID      = "invalid"
	ENOTFOUND     = "not_found"
	EUNAUTHORIZED = "unauthorized"
	EFORBIDDEN    = "forbidden"
	ETOOMANY      = "too_many_requests"
	EUNAVAILABLE  = "unavailable"
)

// Error is an error meant for the person or program that caused it: Message
// says what was wrong and what to do. Internal details stay in the log.
type Error struct {
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Message }

// Errorf returns an *Error with the given code.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of err: its own when it is (or wraps) an
// *Error, EINTERNAL otherwise, "" for nil.
func ErrorCode(err error) string {
	var e *Error
	switch {
	case err == nil:
		return ""
	case errors.As(err, &e):
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the message a person may see for err: its own for an
// *Error, a generic one otherwise (details belong in the log).
func ErrorMessage(err error) string {
	var e *Error
	switch {
	case err == nil:
		return ""
	case errors.As(err, &e):
		return e.Message
	}
	return "Internal error."
}

// ErrNotFound is returned by a Store for a missing record.
var ErrNotFound = &Error{Code: ENOTFOUND, Message: "not found"}

// IsNotFound reports whether err means that a record does not exist.
func IsNotFound(err error) bool { return ErrorCode(err) == ENOTFOUND }
