package callbill

import (
	"time"

	"github.com/shopspring/decimal"
)

// AccountState is an account's payment standing (docs/rules.md, "Account states").
type AccountState string

const (
	StateNormal  AccountState = "normal"
	StateOverdue AccountState = "overdue" // available below 0
	StateStopped AccountState = "stopped" // below −allowance for the grace period: pay-as-you-go calls refused
)

// Standing is what an account's money looks like at one moment.
type Standing struct {
	Cash        decimal.Decimal
	CreditLine  decimal.Decimal
	Outstanding decimal.Decimal // unpaid payables of closed bills
	Allowance   decimal.Decimal // 延期免停: how far below 0 available may go before the grace period starts
	GraceDays   int
	BelowSince  time.Time // when available fell below −allowance; zero when it is not
}

// Available is cash + credit line − outstanding.
func (s *Standing) Available() decimal.Decimal {
	return s.Cash.Add(s.CreditLine).Sub(s.Outstanding)
}

// Next returns the state at now and the BelowSince to keep. An account whose
// available is below 0 is overdue; once it has been below −allowance for
// the grace period (a grace of 0 days stops it at once) it is stopped; when
// available is back to 0 or more it is normal.
func (s *Standing) Next(now time.Time) (AccountState, time.Time) {
	avail := s.Available()
	if !avail.IsNegative() {
		return StateNormal, time.Time{}
	}
	if !avail.LessThan(s.Allowance.Neg()) {
		return StateOverdue, time.Time{}
	}
	since := s.BelowSince
	if since.IsZero() || since.After(now) {
		since = now
	}
	if !now.Before(since.AddDate(0, 0, s.GraceDays)) {
		return StateStopped, since
	}
	return StateOverdue, since
}

// LedgerKind is the kind of a money movement.
type LedgerKind string

const (
	LedgerTopUp    LedgerKind = "topup"    // cash in
	LedgerPurchase LedgerKind = "purchase" // a prepaid purchase paid from cash
	LedgerDeduct   LedgerKind = "deduct"   // a closed bill's payable taken from cash at close
	LedgerSettle   LedgerKind = "settle"   // arrears of a closed bill paid from cash later
	LedgerAdjust   LedgerKind = "adjust"   // an operator's credit (+) or debit (−), with a reason
)

// LedgerEntry is one immutable money movement. Amount is signed from the
// cash balance's point of view; Balance is the cash after it.
type LedgerEntry struct {
	Account  string
	Seq      int64
	At       time.Time
	Kind     LedgerKind
	Amount   decimal.Decimal
	Balance  decimal.Decimal
	Cycle    Cycle  // the bill it pays or was made in
	Ref      string // what it belongs to: bill:2026-10, purchase:P-1, topup:T-1
	Key      string // idempotency key of the request that made it ("" for consequences)
	Reason   string
	Corrects string // what an adjustment corrects
}

// AccountStatus is an account's money, state, packages, numbers and recent
// events, as `account show` and the API show them.
type AccountStatus struct {
	UID       string
	Name      string
	Standing  Standing
	State     AccountState // at the time asked
	Packages  []VoicePackage
	Numbers   []NumberStatus
	Events    []AccountEvent // transitions and alerts, newest first (at most 20)
	LowBelow  *decimal.Decimal
	AskedAt   time.Time
	Recorded  AccountState // the state last recorded
	GraceDays int
}

// NumberStatus is a number with its rent.
type NumberStatus struct {
	Number
	PaidUntil time.Time // zero: rent not tracked
}

// AccountEvent is a recorded transition or alert.
type AccountEvent struct {
	At    time.Time
	Kind  string
	State AccountState
	Cause string
}

// MoneyResult is the answer to a request that moves money.
type MoneyResult struct {
	Entry    *LedgerEntry
	Replayed bool            // the key was used before for the same request: nothing moved now
	Cash     decimal.Decimal // the account's cash now, after what the request settled too
}
