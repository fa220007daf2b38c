package invoice

import (
	"context"
	"errors"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/callbill/callbill"
)

// An application is pending until the operator issues or rejects it or the
// tenant withdraws it; each is final. Doing the same again (same number and
// date, same reason) changes nothing and answers Replayed.

// decide moves an application out of pending under its account's lock; the
// operator names it by id alone (account ""). same reports whether it
// already is in state to with the same details (a retried request); it
// runs first, so that its problems are reported whatever the state. set
// fills in the transition's details.
func (s *Service) decide(ctx context.Context, account, id, what string, to callbill.InvoiceState,
	same func(tx Tx, a *callbill.InvoiceApplication, now time.Time) (bool, error), set func(a *callbill.InvoiceApplication)) (*callbill.InvoiceApplication, error) {
	if account == "" {
		var err error
		if account, err = view(ctx, s, func(tx Tx) (string, error) { return tx.ApplicationAccount(ctx, id) }); err != nil {
			return nil, err
		}
	}
	var out *callbill.InvoiceApplication
	err := s.Store.UpdateInvoices(ctx, account, what, func(tx Tx, now time.Time) error {
		out = nil
		a, err := tx.Application(ctx, account, id)
		if err != nil {
			return err
		}
		ok, err := same(tx, a, now)
		if err != nil {
			return err
		}
		if a.State == to && ok {
			a.Replayed, out = true, a
			return nil
		}
		if a.State != callbill.InvoicePending {
			return callbill.Errorf(callbill.EREFUSED, "invoice application %s is %s, not pending: only a pending application can be %s", a.ID, a.State, to)
		}
		a.State, a.DecidedAt = to, now
		set(a)
		if err := tx.UpdateApplication(ctx, a); err != nil {
			return err
		}
		out = a
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// WithdrawInput withdraws one of the account's applications.
type WithdrawInput struct {
	Account string
	ID      string
}

// Validate says what is wrong with the input.
func (in *WithdrawInput) Validate() error {
	if in.Account == "" {
		return callbill.Errorf(callbill.EINVALID, "withdrawing needs the account")
	}
	return nil
}

// Withdraw withdraws one of the account's pending applications; its amount
// becomes invoiceable again. Withdrawing a withdrawn one changes nothing.
// Returns ENOTFOUND if the account has no such application, EREFUSED
// unless it is pending.
func (s *Service) Withdraw(ctx context.Context, in WithdrawInput) (*callbill.InvoiceApplication, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	return s.decide(ctx, in.Account, in.ID, "invoice application "+in.ID, callbill.InvoiceWithdrawn,
		func(Tx, *callbill.InvoiceApplication, time.Time) (bool, error) { return true, nil },
		func(*callbill.InvoiceApplication) {})
}

// IssueInput records the invoice the operator issued for an application.
type IssueInput struct {
	ID     string
	Number string // 8 to 20 digits, never used before
	Date   string // YYYY-MM-DD, not before the application, not in the future
}

// Validate says what is wrong with the (trimmed) input, every problem joined.
func (in *IssueInput) Validate() error {
	var problems []error
	if err := callbill.CheckInvoiceNumber(in.Number); err != nil {
		problems = append(problems, err)
	}
	if _, err := callbill.ParseInvoiceDate(in.Date, time.UTC); err != nil {
		problems = append(problems, err)
	}
	return errors.Join(problems...)
}

// Issue records that the operator issued a pending application's invoice:
// its number and date. The same number and date again change nothing.
// Returns EINVALID for a bad input or a date before the application or in
// the future, ENOTFOUND for no such application, ECONFLICT for a number
// issued before, EREFUSED unless it is pending.
func (s *Service) Issue(ctx context.Context, in IssueInput) (*callbill.InvoiceApplication, error) {
	in.Number, in.Date = strings.TrimSpace(in.Number), strings.TrimSpace(in.Date)
	if err := in.Validate(); err != nil {
		return nil, err
	}
	return s.decide(ctx, "", in.ID, "invoice number "+in.Number, callbill.InvoiceIssued,
		func(tx Tx, a *callbill.InvoiceApplication, now time.Time) (bool, error) {
			loc, err := tx.Location(ctx)
			if err != nil {
				return false, err
			}
			d, err := callbill.ParseInvoiceDate(in.Date, loc)
			if err != nil {
				return false, err
			}
			created := a.CreatedAt.In(loc)
			if d.Before(time.Date(created.Year(), created.Month(), created.Day(), 0, 0, 0, 0, loc)) {
				return false, callbill.Errorf(callbill.EINVALID, "invoice date %s is before the application (%s)", in.Date, created.Format("2006-01-02"))
			}
			if d.After(now) {
				return false, callbill.Errorf(callbill.EINVALID, "invoice date %s is in the future", in.Date)
			}
			if a.State == callbill.InvoiceIssued {
				return a.InvoiceNo == in.Number && a.InvoiceDate == in.Date, nil
			}
			// A concurrent issue of the number is a unique violation: the
			// run again finds it here.
			other, err := tx.IssuedAs(ctx, in.Number)
			if err != nil {
				return false, err
			}
			if other != "" {
				return false, callbill.Errorf(callbill.ECONFLICT, "invoice number %s was issued before (application %s)", in.Number, other)
			}
			return false, nil
		},
		func(a *callbill.InvoiceApplication) { a.InvoiceNo, a.InvoiceDate = in.Number, in.Date })
}

// RejectInput refuses an application.
type RejectInput struct {
	ID     string
	Reason string // the tenant sees it
}

// Validate says what is wrong with the (trimmed) input.
func (in *RejectInput) Validate() error {
	switch {
	case in.Reason == "":
		return callbill.Errorf(callbill.EINVALID, "rejecting an application needs a reason")
	case utf8.RuneCountInString(in.Reason) > 500:
		return callbill.Errorf(callbill.EINVALID, "the reason is longer than 500 characters")
	}
	return nil
}

// Reject refuses a pending application, with a reason the tenant sees; its
// amount becomes invoiceable again. The same reason again changes nothing.
// Returns EINVALID for a bad input, ENOTFOUND for no such application,
// EREFUSED unless it is pending.
func (s *Service) Reject(ctx context.Context, in RejectInput) (*callbill.InvoiceApplication, error) {
	in.Reason = strings.TrimSpace(in.Reason)
	if err := in.Validate(); err != nil {
		return nil, err
	}
	return s.decide(ctx, "", in.ID, "invoice application "+in.ID, callbill.InvoiceRejected,
		func(_ Tx, a *callbill.InvoiceApplication, _ time.Time) (bool, error) {
			return a.Reason == in.Reason, nil
		},
		func(a *callbill.InvoiceApplication) { a.Reason = in.Reason })
}
