package invoice

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/callbill/callbill"
)

// ApplyInput is a tenant's invoice application.
type ApplyInput struct {
	Account   string
	TitleID   string
	Type      callbill.InvoiceType // "" = the title's type
	AmountFen int64
	Remark    string
	Key       string // idempotency key: the same key again is the same application
}

// Validate says what is wrong with the (trimmed) input, every problem joined.
func (in *ApplyInput) Validate() error {
	var problems []error
	if in.AmountFen <= 0 {
		problems = append(problems, callbill.Errorf(callbill.EINVALID, "an invoice amount must be a positive number of fen, not %d", in.AmountFen))
	}
	if utf8.RuneCountInString(in.Remark) > 200 {
		problems = append(problems, callbill.Errorf(callbill.EINVALID, "the remark is longer than 200 characters"))
	}
	if len(in.Key) > 200 {
		problems = append(problems, callbill.Errorf(callbill.EINVALID, "the idempotency key is longer than 200 characters"))
	}
	if in.Type != "" && in.Type != callbill.InvoiceGeneral && in.Type != callbill.InvoiceSpecial {
		problems = append(problems, callbill.Errorf(callbill.EINVALID, "invoice type must be general or special, not %q", in.Type))
	}
	return errors.Join(problems...)
}

// Apply applies for an invoice. The key (optional) makes a retried request
// one application: the same key with the same request returns the first
// (Replayed), with another request it is ECONFLICT. The check against the
// invoiceable amount and the insert are one transaction under the
// account's lock, so two applications at once never together exceed it.
// Returns EINVALID for a bad input or a title that cannot take the invoice
// type, ENOTFOUND for an unknown account or title, EREFUSED while the
// account owes arrears (the message says how much) and when the amount
// exceeds the invoiceable amount.
func (s *Service) Apply(ctx context.Context, in ApplyInput) (*callbill.InvoiceApplication, error) {
	in.Key, in.Remark = strings.TrimSpace(in.Key), strings.TrimSpace(in.Remark)
	if err := in.Validate(); err != nil {
		return nil, err
	}
	request := callbill.RequestHash("invoice", in.Account, in.TitleID, string(in.Type), strconv.FormatInt(in.AmountFen, 10), in.Remark)
	what := fmt.Sprintf("idempotency key %q", in.Key)
	if in.Key == "" {
		what = "the application's id"
	}
	var out *callbill.InvoiceApplication
	err := s.Store.UpdateInvoices(ctx, in.Account, what, func(tx Tx, now time.Time) error {
		out = nil
		a, err := tx.Account(ctx, in.Account)
		if err != nil {
			return err
		}
		if in.Key != "" {
			prev, prevReq, err := tx.ApplicationByKey(ctx, in.Account, in.Key)
			switch {
			case err != nil:
				return err
			case prev != nil && prevReq == request:
				prev.Replayed, out = true, prev
				return nil
			case prev != nil:
				return callbill.Errorf(callbill.ECONFLICT, "idempotency key %q was used for a different request (application %s)", in.Key, prev.ID)
			}
		}
		title, err := tx.Title(ctx, in.Account, in.TitleID)
		if err != nil {
			return err
		}
		typ := in.Type
		if typ == "" {
			typ = title.Type
		}
		if typ == callbill.InvoiceSpecial {
			if err := callbill.SpecialInvoiceAllowed(title, a.Kind); err != nil {
				return err
			}
		}
		inv, err := invoiceable(ctx, tx, in.Account, a)
		if err != nil {
			return err
		}
		if inv.OwedFen > 0 {
			return callbill.Errorf(callbill.EREFUSED, "the account owes %s (欠费); pay it before applying for an invoice", callbill.FormatFen(inv.OwedFen))
		}
		if in.AmountFen > inv.InvoiceableFen {
			return callbill.Errorf(callbill.EREFUSED, "the amount %s is more than the invoiceable %s (paid for consumption %s, invoiced %s, pending %s)",
				callbill.FormatFen(in.AmountFen), callbill.FormatFen(inv.InvoiceableFen), callbill.FormatFen(inv.PaidFen),
				callbill.FormatFen(inv.IssuedFen), callbill.FormatFen(inv.PendingFen))
		}
		app := &callbill.InvoiceApplication{ID: callbill.NewDocumentID("INV", now), Account: in.Account, Title: *title, Type: typ,
			AmountFen: in.AmountFen, Remark: in.Remark, State: callbill.InvoicePending, Key: in.Key, CreatedAt: now}
		// A concurrent request that took the key makes this a unique
		// violation: the run again answers as a retry.
		if err := tx.InsertApplication(ctx, app, request); err != nil {
			return err
		}
		out = app
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// ListInput selects applications: of one account, or of every account (the
// operator's queue), in one state or all ("").
type ListInput struct {
	Account     string
	AllAccounts bool
	State       callbill.InvoiceState
}

// Validate says what is wrong with the input, every problem joined.
func (in *ListInput) Validate() error {
	var problems []error
	if err := callbill.CheckAccountScope(in.Account, in.AllAccounts); err != nil {
		problems = append(problems, err)
	}
	if in.State != "" && !callbill.ValidInvoiceState(in.State) {
		problems = append(problems, callbill.Errorf(callbill.EINVALID, "status must be pending, issued, rejected or withdrawn, not %q", in.State))
	}
	return errors.Join(problems...)
}

// List returns applications newest first; pending ones, a queue, oldest
// first. Returns EINVALID for a bad input, ENOTFOUND for an unknown account.
func (s *Service) List(ctx context.Context, in ListInput) ([]callbill.InvoiceApplication, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	return view(ctx, s, func(tx Tx) ([]callbill.InvoiceApplication, error) {
		out, err := tx.Applications(ctx, in)
		if in.State == callbill.InvoicePending {
			slices.Reverse(out) // a queue: oldest first
		}
		return out, err
	})
}

// Get returns one of the account's applications. Returns ENOTFOUND if the
// account has no such application (another account's is not found either).
func (s *Service) Get(ctx context.Context, account, id string) (*callbill.InvoiceApplication, error) {
	return view(ctx, s, func(tx Tx) (*callbill.InvoiceApplication, error) { return tx.Application(ctx, account, id) })
}
