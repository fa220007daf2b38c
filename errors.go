package callbill

import (
	"errors"
	"fmt"
)

// Error codes. Every error a tenant or operator sees carries one of them.
const (
	EINVALID      = "invalid"      // the input breaks a rule; the message says which
	ENOTFOUND     = "not_found"    // the named thing does not exist
	ECONFLICT     = "conflict"     // the input contradicts what is already stored
	EREFUSED      = "refused"      // valid, but the current state forbids it (cash short, cycle closed)
	EUNAUTHORIZED = "unauthorized" // no key, or a wrong one
	EFORBIDDEN    = "forbidden"    // not accepted as sent: a form without its token, or from another site
	EUNAVAILABLE  = "unavailable"  // not now: the node is shutting down; send it again
	EINTERNAL     = "internal"     // a bug or an outage; details go to the log, not the tenant
)

// Error is a domain error: a stable code and a message a tenant can act on.
// Hint, when set, says what the operator does about it (a command to run):
// Error() includes it (logs) and the console shows it to operators, while
// ErrorMessage, which every tenant-facing answer uses, leaves it out.
type Error struct {
	Code    string
	Message string
	Hint    string
}

func (e *Error) Error() string {
	if e.Hint == "" {
		return e.Message
	}
	return e.Message + " (" + e.Hint + ")"
}

// Errorf returns an *Error with the given code.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of err, EINTERNAL for anything that is not an *Error.
func ErrorCode(err error) string {
	var e *Error
	if err == nil {
		return ""
	}
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the tenant-facing message of err: "internal error" for
// anything that is not an *Error, so that internals never leak; an
// operator's Hint is left out.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}

// Problem is one problem of a world file, located by its YAML path.
type Problem struct {
	Path    string // e.g. accounts[1].instances[0].mode
	Message string
}

func (p Problem) String() string {
	if p.Path == "" {
		return p.Message
	}
	return p.Path + ": " + p.Message
}

// Problems is a list of problems; as an error it prints one per line.
type Problems []Problem

func (ps Problems) Error() string {
	s := ""
	for i, p := range ps {
		if i > 0 {
			s += "\n"
		}
		s += p.String()
	}
	return s
}
