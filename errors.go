package callbill

import (
	"errors"
	"fmt"
	"sort"
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

// Problem is one problem of a world file, located by its YAML path and, where
// known, its line and column in the file.
type Problem struct {
	Path   string // e.g. accounts[1].instances[0].mode
	Line   int    // 1-based; 0 when not known
	Column int    // 1-based, in characters; 0 when not known
	// More is set on the last problem of a report that was cut short (its
	// message says "and N more problems"): how many it stands for.
	More    int
	Message string
}

func (p Problem) String() string {
	s := ""
	if p.Line > 0 {
		s = fmt.Sprintf("line %d", p.Line)
		if p.Column > 0 {
			s += fmt.Sprintf(", column %d", p.Column)
		}
		s += ": "
	}
	if p.Path != "" {
		s += p.Path + ": "
	}
	return s + p.Message
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

// Count is how many problems the list stands for, those left out of a cut
// report included.
func (ps Problems) Count() int {
	n := 0
	for _, p := range ps {
		if p.More > 0 {
			n += p.More
		} else {
			n++
		}
	}
	return n
}

// MaxProblems is how many problems a report lists; one more says how many
// were left out.
const MaxProblems = 100

// MoreProblems is the last problem of a report that leaves n out.
func MoreProblems(n int) Problem {
	if n == 1 {
		return Problem{More: 1, Message: "and 1 more problem"}
	}
	return Problem{More: n, Message: fmt.Sprintf("and %d more problems", n)}
}

// MergeProblems makes one report of several: ordered by line and column
// (stable, so problems at one place keep their order, the earlier list's
// first), those without a line after those with one, at most MaxProblems
// of them and then one saying how many more there are.
func MergeProblems(lists ...Problems) Problems {
	var out Problems
	more := 0
	for _, ps := range lists {
		for _, p := range ps {
			if p.More > 0 {
				more += p.More
				continue
			}
			out = append(out, p)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if (a.Line == 0) != (b.Line == 0) {
			return b.Line == 0
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Column < b.Column
	})
	if len(out) > MaxProblems {
		more += len(out) - MaxProblems
		clear(out[MaxProblems:])
		out = out[:MaxProblems]
	}
	if more > 0 {
		out = append(out, MoreProblems(more))
	}
	return out
}

// Position is a place in a file: 1-based line and column (in characters).
type Position struct {
	Line, Column int
}
