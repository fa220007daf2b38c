// Package invoice is the invoice workflow (docs/rules.md, "Invoices"; docs/invoices.md):
// a tenant keeps invoice titles and applies for invoices up to what it may
// still invoice; the operator issues or rejects a pending application and
// the tenant may withdraw it. The rules live here (the title and amount
// rules in the root invoice.go); Store persists inside one transaction and
// decides nothing.
package invoice

import (
	"context"
	"time"

	"github.com/callbill/callbill"
	"github.com/shopspring/decimal"
)

// MaxTitles is how many titles an account may keep.
const MaxTitles = 50

// Store opens the transactions the service works in.
type Store interface {
	// UpdateInvoices runs fn in one transaction under account's lock,
	// with the transaction's one clock reading. It does not check that the
	// account exists (Tx.Account does). When a write of fn meets a unique
	// violation (a concurrent request took the same key or invoice
	// number), fn runs once more in a new transaction, whose reads then
	// find the winner; a second violation is ECONFLICT naming what.
	UpdateInvoices(ctx context.Context, account, what string, fn func(tx Tx, now time.Time) error) error
	// ViewInvoices runs fn in a read-only transaction.
	ViewInvoices(ctx context.Context, fn func(tx Tx, now time.Time) error) error
}

// Tx is what the service reads and writes inside a transaction. Every
// method but ApplicationAccount and IssuedAs is scoped to the account it
// names.
type Tx interface {
	// Account returns the account's real-name kind and cash. Returns
	// ENOTFOUND if the account does not exist.
	Account(ctx context.Context, account string) (*Account, error)
	// Location returns the billing time zone, in which invoice dates are.
	Location(ctx context.Context) (*time.Location, error)

	// Titles returns the account's titles, oldest first. Returns
	// ENOTFOUND if the account does not exist.
	Titles(ctx context.Context, account string) ([]callbill.InvoiceTitle, error)
	// Title returns one of the account's titles. Returns ENOTFOUND if the
	// account has no such title.
	Title(ctx context.Context, account, id string) (*callbill.InvoiceTitle, error)
	// InsertTitle stores a new title.
	InsertTitle(ctx context.Context, t *callbill.InvoiceTitle) error
	// UpdateTitle stores t's fields and UpdatedAt over the account's title t.ID.
	UpdateTitle(ctx context.Context, t *callbill.InvoiceTitle) error
	// DeleteTitle deletes one of the account's titles. Returns ENOTFOUND
	// if the account has no such title.
	DeleteTitle(ctx context.Context, account, id string) error

	// LedgerAmounts returns the amounts of the account's ledger entries
	// but those of kind except, in no order.
	LedgerAmounts(ctx context.Context, account string, except callbill.LedgerKind) ([]decimal.Decimal, error)
	// Outstanding returns what the account's closed bills leave unpaid.
	Outstanding(ctx context.Context, account string) (decimal.Decimal, error)
	// AppliedFen returns the sum in fen of the account's applications per
	// state; a state without one is absent.
	AppliedFen(ctx context.Context, account string) (map[callbill.InvoiceState]int64, error)

	// ApplicationAccount returns the account holding application id.
	// Returns ENOTFOUND if there is no such application.
	ApplicationAccount(ctx context.Context, id string) (string, error)
	// Application returns one of the account's applications. Returns
	// ENOTFOUND if the account has no such application.
	Application(ctx context.Context, account, id string) (*callbill.InvoiceApplication, error)
	// ApplicationByKey returns the account's application made with
	// idempotency key and the hash of its request, or nil when there is none.
	ApplicationByKey(ctx context.Context, account, key string) (*callbill.InvoiceApplication, string, error)
	// Applications returns the applications that q asks for (q.Account's,
	// or every account's with q.AllAccounts; in q.State, or every state
	// with ""), newest first. Returns ENOTFOUND if q.Account does not exist.
	Applications(ctx context.Context, q ListInput) ([]callbill.InvoiceApplication, error)
	// IssuedAs returns the id of the application (of any account) issued
	// with invoice number, "" when there is none.
	IssuedAs(ctx context.Context, number string) (string, error)
	// InsertApplication stores a new application with the hash of its request.
	InsertApplication(ctx context.Context, a *callbill.InvoiceApplication, requestHash string) error
	// UpdateApplication stores a's state, invoice number and date, reason
	// and decision time.
	UpdateApplication(ctx context.Context, a *callbill.InvoiceApplication) error
}

// Account is what the workflow reads of an account.
type Account struct {
	Kind callbill.AccountKind // titles must match it
	Cash decimal.Decimal      // below 0 after a debit beyond cash
}

// Service runs the workflow.
type Service struct {
	Store Store
}

// view returns what fn reads in a read-only transaction.
func view[T any](ctx context.Context, s *Service, fn func(tx Tx) (T, error)) (T, error) {
	var out T
	err := s.Store.ViewInvoices(ctx, func(tx Tx, _ time.Time) error {
		var err error
		out, err = fn(tx)
		return err
	})
	return out, err
}

// Location returns the billing time zone, in which invoice dates are given
// and times are shown.
func (s *Service) Location(ctx context.Context) (*time.Location, error) {
	return view(ctx, s, func(tx Tx) (*time.Location, error) { return tx.Location(ctx) })
}

// Titles lists an account's titles, oldest first. Returns ENOTFOUND for an
// unknown account.
func (s *Service) Titles(ctx context.Context, account string) ([]callbill.InvoiceTitle, error) {
	return view(ctx, s, func(tx Tx) ([]callbill.InvoiceTitle, error) { return tx.Titles(ctx, account) })
}

// Title returns one of an account's titles. Returns ENOTFOUND if the
// account has no such title (another account's is not found either).
func (s *Service) Title(ctx context.Context, account, id string) (*callbill.InvoiceTitle, error) {
	return view(ctx, s, func(tx Tx) (*callbill.InvoiceTitle, error) { return tx.Title(ctx, account, id) })
}

// SaveTitle creates a title (t.ID "") or replaces one of the account's. It
// is checked against the account's real-name identity; applications keep
// the title as it was when they were made. Returns ENOTFOUND for an
// unknown account or title, EINVALID for a bad title, EREFUSED when the
// account already keeps MaxTitles.
func (s *Service) SaveTitle(ctx context.Context, t callbill.InvoiceTitle) (*callbill.InvoiceTitle, error) {
	t.Normalize()
	err := s.Store.UpdateInvoices(ctx, t.Account, "the invoice title", func(tx Tx, now time.Time) error {
		a, err := tx.Account(ctx, t.Account)
		if err != nil {
			return err
		}
		if err := t.Check(a.Kind); err != nil {
			return err
		}
		if t.ID == "" {
			ts, err := tx.Titles(ctx, t.Account)
			if err != nil {
				return err
			}
			if len(ts) >= MaxTitles {
				return callbill.Errorf(callbill.EREFUSED, "account %s has %d invoice titles, the most it may keep: delete one first", t.Account, len(ts))
			}
			t.ID, t.CreatedAt, t.UpdatedAt = callbill.NewDocumentID("TI", now), now, now
			return tx.InsertTitle(ctx, &t)
		}
		old, err := tx.Title(ctx, t.Account, t.ID)
		if err != nil {
			return err
		}
		t.CreatedAt, t.UpdatedAt = old.CreatedAt, now
		return tx.UpdateTitle(ctx, &t)
	})
	if err != nil {
		return nil, err
	}
	return &t, nil
}

// DeleteTitle deletes one of the account's titles; applications made with
// it keep their copy. Returns ENOTFOUND if the account has no such title.
func (s *Service) DeleteTitle(ctx context.Context, account, id string) error {
	return s.Store.UpdateInvoices(ctx, account, "invoice title "+id, func(tx Tx, _ time.Time) error {
		return tx.DeleteTitle(ctx, account, id)
	})
}

// Invoiceable returns what an account may still invoice, and its arrears.
// Returns ENOTFOUND for an unknown account.
func (s *Service) Invoiceable(ctx context.Context, account string) (*callbill.Invoiceable, error) {
	return view(ctx, s, func(tx Tx) (*callbill.Invoiceable, error) {
		a, err := tx.Account(ctx, account)
		if err != nil {
			return nil, err
		}
		return invoiceable(ctx, tx, account, a)
	})
}

// invoiceable reads what Amounts needs.
func invoiceable(ctx context.Context, tx Tx, account string, a *Account) (*callbill.Invoiceable, error) {
	amounts, err := tx.LedgerAmounts(ctx, account, callbill.LedgerTopUp) // top-ups count only once consumed
	if err != nil {
		return nil, err
	}
	applied, err := tx.AppliedFen(ctx, account)
	if err != nil {
		return nil, err
	}
	owed, err := tx.Outstanding(ctx, account)
	if err != nil {
		return nil, err
	}
	return Amounts(account, amounts, a.Cash, owed, applied), nil
}

// Amounts works out what an account may still invoice (docs/invoices.md):
// what its cash paid for consumption — the ledger entries other than
// top-ups (purchases, bill deductions at close, settlements of arrears, net
// of adjustments: a credit gives money back, a debit charges more), less
// any part a debit left unpaid (cash below 0) — minus what is issued or
// pending. What it owes is the unpaid bills plus that unpaid debit.
func Amounts(account string, ledger []decimal.Decimal, cash, unpaidBills decimal.Decimal, applied map[callbill.InvoiceState]int64) *callbill.Invoiceable {
	paid := decimal.Zero
	for _, amt := range ledger {
		paid = paid.Sub(amt)
	}
	unpaidDebit := decimal.Max(decimal.Zero, cash.Neg())
	paid = decimal.Max(decimal.Zero, paid.Sub(unpaidDebit))
	inv := &callbill.Invoiceable{Account: account, PaidFen: callbill.Fen(paid),
		IssuedFen: applied[callbill.InvoiceIssued], PendingFen: applied[callbill.InvoicePending]}
	inv.InvoiceableFen = max(0, inv.PaidFen-inv.IssuedFen-inv.PendingFen)
	inv.OwedFen = callbill.Fen(unpaidBills.Add(unpaidDebit))
	return inv
}
