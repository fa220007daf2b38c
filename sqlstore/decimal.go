package sqlstore

import (
	"fmt"

	"github.com/shopspring/decimal"
)

// decReader parses the decimals of one stored row and keeps the first that
// does not parse: a corrupt value is an error naming its table, column and
// row, never a panic.
//
//	var r decReader
//	paid := r.parse("paid", s)
//	if err := r.err("bills", "account %s, cycle %s", uid, cycle); err != nil { … }
type decReader struct {
	col, val string
	bad      bool
}

// parse returns s as a decimal, zero when it does not parse.
func (r *decReader) parse(col, s string) decimal.Decimal {
	d, err := decimal.NewFromString(s)
	if err != nil && !r.bad {
		r.col, r.val, r.bad = col, s, true
	}
	return d
}

// err is nil when every value parsed, else the error for the first that did
// not; row says which row of table, formatted only then.
func (r *decReader) err(table, row string, args ...any) error {
	if !r.bad {
		return nil
	}
	return corrupt(fmt.Sprintf("decimal %q", r.val), table+"."+r.col, row, args...)
}

// corrupt is the error for a stored value that does not read, e.g.
// corrupt decimal "x" in bills.paid (account 1001, cycle 2026-10). It is a
// plain error, so an internal one: the log gets the details, a tenant only
// "internal error" (the data is wrong, not the request).
func corrupt(what, column, row string, args ...any) error {
	return fmt.Errorf("corrupt %s in %s (%s)", what, column, fmt.Sprintf(row, args...))
}
