// Package ledger is money (docs/rules.md, "Balances, payments and arrears"; issue 4): top-ups, adjustments,
// purchases paid from cash, settlement of closed bills' arrears, account
// standing with its transitions and alerts, auto-renewal of number rent and
// the ledger's reconciliation. Every movement of cash is an immutable ledger
// entry; a request that moves money carries an idempotency key, stored with
// the hash of the request: the same key again returns the first result, the
// same key with another request is refused. The rules live here; Store
// persists inside one transaction and decides nothing.
package ledger

import (
	"context"
	"time"

	"github.com/callbill/callbill"
	"github.com/shopspring/decimal"
)

// Store opens the transactions the service works in.
type Store interface {
	// UpdateLedger runs fn in one transaction holding the writer lock and
	// the locks of accounts, with the transaction's one clock reading. When
	// a write of fn meets a unique violation (a concurrent request took the
	// same key), fn runs once more in a new transaction, whose reads then
	// find the winner; a second violation is ECONFLICT naming what.
	UpdateLedger(ctx context.Context, accounts []string, what string, fn func(tx Tx, now time.Time) error) error
	// ViewLedger runs fn in a read-only transaction.
	ViewLedger(ctx context.Context, fn func(tx Tx, now time.Time) error) error
}

// Account is an account with its money and its standing as last recorded.
type Account struct {
	callbill.Account
	Cash       decimal.Decimal
	State      callbill.AccountState // as last recorded
	BelowSince time.Time
	LowAlerted bool
}

// Standing is the account's standing with outstanding owed.
func (a *Account) Standing(owed decimal.Decimal) *callbill.Standing {
	return &callbill.Standing{Cash: a.Cash, CreditLine: a.CreditLine, Outstanding: owed, Allowance: a.Allowance,
		GraceDays: a.GraceDays, BelowSince: a.BelowSince}
}

// BillPaid is a closed bill's postpaid payable and what is paid of it.
type BillPaid struct {
	Cycle         callbill.Cycle
	Payable, Paid decimal.Decimal
}

// Entry is a ledger entry as stored; Balanced is false for an entry
// recorded before entries carried their balance.
type Entry struct {
	callbill.LedgerEntry
	Balanced bool
}

// Renewal is a number whose rent runs out at Until and renews itself.
type Renewal struct {
	Account, Number string
	Until           time.Time
}

// NumberRef names an account's number on one of its instances.
type NumberRef struct {
	Account, Instance, Number string
}

// Tx is what the service reads and writes inside a transaction. Every
// method is scoped to the account it names.
type Tx interface {
	// Account returns the account. Returns ENOTFOUND if it does not exist.
	Account(ctx context.Context, account string) (*Account, error)
	// Accounts returns the accounts of uids that exist.
	Accounts(ctx context.Context, uids []string) (map[string]*Account, error)
	// AllAccounts returns every account (a sweep, the operator's checks).
	AllAccounts(ctx context.Context) (map[string]*Account, error)
	// LockAccounts takes the locks of accounts (sorted) for the rest of
	// the transaction.
	LockAccounts(ctx context.Context, accounts []string) error
	// EntryByKey returns the account's entry made with idempotency key and
	// the hash of its request, or nil when there is none.
	EntryByKey(ctx context.Context, account, key string) (*callbill.LedgerEntry, string, error)
	// Entries returns the account's ledger, oldest first.
	Entries(ctx context.Context, account string) ([]Entry, error)
	// Post appends e, with the hash of its request, numbering it (e.Seq),
	// and sets the account's cash to e.Balance. Returns a unique violation
	// if the account took e.Key already.
	Post(ctx context.Context, e *callbill.LedgerEntry, request string) error
	// Bills returns the account's closed bills, in any order.
	Bills(ctx context.Context, account string) ([]BillPaid, error)
	// SetPaid sets what is paid of the account's bill of cycle.
	SetPaid(ctx context.Context, account string, cycle callbill.Cycle, paid decimal.Decimal) error
	// Outstanding sums the unpaid payables of the accounts' closed bills.
	Outstanding(ctx context.Context, accounts []string) (map[string]decimal.Decimal, error)
	// SetStanding records a's State, BelowSince and LowAlerted.
	SetStanding(ctx context.Context, a *Account) error
	// StandingChanged moves the counter authorization watches.
	StandingChanged(ctx context.Context) error
	// RecordEvent appends a transition or alert to the account's events.
	RecordEvent(ctx context.Context, account string, e callbill.AccountEvent) error
	// HasEvent tells whether the account has an event with cause.
	HasEvent(ctx context.Context, account, cause string) (bool, error)
	// Emit queues webhook event kind with payload for the account.
	Emit(ctx context.Context, account, kind string, payload any) error
	// Location returns the billing time zone.
	Location(ctx context.Context) (*time.Location, error)
	// NoteActivity records that cycle holds calls, purchases or top-ups.
	NoteActivity(ctx context.Context, cycle callbill.Cycle) error
	// ClosedThrough returns the last closed cycle, 0 when none is closed.
	ClosedThrough(ctx context.Context) (callbill.Cycle, error)
	// Window returns the plausibility window in force at now.
	Window(ctx context.Context, now time.Time, loc *time.Location) (callbill.Window, error)
	// PriceBook returns the price book.
	PriceBook(ctx context.Context) (*callbill.PriceBook, error)
	// PurchaseApplied returns the hash and time of the account's purchase
	// id, "" when there is none.
	PurchaseApplied(ctx context.Context, account, id string) (string, time.Time, error)
	// TopUpApplied returns the hash of the account's world file top-up
	// id, "" when there is none.
	TopUpApplied(ctx context.Context, account, id string) (string, error)
	// InsertTopUp stores a world file's top-up t of cycle with the hash of
	// its content.
	InsertTopUp(ctx context.Context, t *callbill.TopUp, cycle callbill.Cycle, hash string) error
	// InsertPurchase stores purchase p of cycle as billed (line), with the
	// hash of its content.
	InsertPurchase(ctx context.Context, p *callbill.Purchase, cycle callbill.Cycle, hash string, line *callbill.Line) error
	// InsertPackage stores a voice package.
	InsertPackage(ctx context.Context, p *callbill.VoicePackage) error
	// PaidUntil returns when the rent of the account's number on instance
	// runs out, zero when it is not tracked.
	PaidUntil(ctx context.Context, n NumberRef) (time.Time, error)
	// SetPaidUntil sets it.
	SetPaidUntil(ctx context.Context, n NumberRef, until time.Time) error
	// Renewals returns the numbers set to auto-renew whose rent runs out
	// after from and by to.
	Renewals(ctx context.Context, from, to time.Time) ([]Renewal, error)
}

// Service runs the workflows.
type Service struct {
	Store Store
	// Pause, when set, is slept inside a money request before it commits:
	// crash tests kill the process midway.
	Pause time.Duration
}

// post appends a ledger entry and moves the account's cash by its amount.
func post(ctx context.Context, tx Tx, a *Account, e *callbill.LedgerEntry, request string) error {
	a.Cash = a.Cash.Add(e.Amount)
	e.Account, e.Balance = a.UID, a.Cash
	return tx.Post(ctx, e, request)
}
