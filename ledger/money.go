package ledger

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/callbill/callbill"
	"github.com/shopspring/decimal"
)

// TopUpInput adds Amount to an account's cash; Key makes it idempotent.
type TopUpInput struct {
	Account string
	Amount  decimal.Decimal
	Key     string
}

// Validate says what is wrong with the input, every problem joined.
func (in *TopUpInput) Validate() error {
	var errs []error
	if !in.Amount.IsPositive() || !in.Amount.Equal(in.Amount.Truncate(2)) {
		errs = append(errs, callbill.Errorf(callbill.EINVALID, "a top-up must be a positive amount in fen (2 decimals), not %s", in.Amount))
	}
	if strings.TrimSpace(in.Key) == "" {
		errs = append(errs, callbill.Errorf(callbill.EINVALID, "a top-up needs an idempotency key"))
	}
	return errors.Join(errs...)
}

// AdjustInput moves an account's cash by Amount (credit > 0, debit < 0)
// for Reason, e.g. to correct the closed bill Corrects names.
type AdjustInput struct {
	Account  string
	Amount   decimal.Decimal
	Reason   string
	Corrects string
	Key      string
}

// Validate says what is wrong with the input, every problem joined.
func (in *AdjustInput) Validate() error {
	var errs []error
	if in.Amount.IsZero() || !in.Amount.Equal(in.Amount.Truncate(2)) {
		errs = append(errs, callbill.Errorf(callbill.EINVALID, "an adjustment must be a non-zero amount in fen (2 decimals), not %s", in.Amount))
	}
	if strings.TrimSpace(in.Reason) == "" {
		errs = append(errs, callbill.Errorf(callbill.EINVALID, "an adjustment needs a reason"))
	}
	if strings.TrimSpace(in.Key) == "" {
		errs = append(errs, callbill.Errorf(callbill.EINVALID, "an adjustment needs an idempotency key"))
	}
	return errors.Join(errs...)
}

// TopUp adds cash, then settles the account's arrears, oldest first.
// Returns EINVALID for a bad amount or no key, ENOTFOUND for an unknown
// account, ECONFLICT for a key reused for another request.
func (s *Service) TopUp(ctx context.Context, in TopUpInput) (*callbill.MoneyResult, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	request := callbill.RequestHash("topup", in.Account, in.Amount.String())
	return s.move(ctx, in.Account, in.Key, request, "top-up", func(tx Tx, a *Account, now time.Time, cycle callbill.Cycle) (*callbill.LedgerEntry, error) {
		e := &callbill.LedgerEntry{At: now, Kind: callbill.LedgerTopUp, Amount: in.Amount, Cycle: cycle, Ref: "topup:" + in.Key, Key: in.Key}
		if err := post(ctx, tx, a, e, request); err != nil {
			return nil, err
		}
		if err := settle(ctx, tx, a, now); err != nil {
			return nil, err
		}
		return e, tx.Emit(ctx, a.UID, callbill.EventTopUpReceived, callbill.NewTopUpEvent(a.UID, in.Amount, a.Cash, now, in.Key, "request"))
	})
}

// Adjust moves cash for a reason: a closed bill is never edited. A credit
// then settles arrears like a top-up; a debit may take cash below 0, which
// counts against available like arrears. Returns EINVALID for a bad input,
// ENOTFOUND for an unknown account, ECONFLICT for a key reused for another
// request.
func (s *Service) Adjust(ctx context.Context, in AdjustInput) (*callbill.MoneyResult, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	request := callbill.RequestHash("adjust", in.Account, in.Amount.String(), in.Reason, in.Corrects)
	return s.move(ctx, in.Account, in.Key, request, "adjustment", func(tx Tx, a *Account, now time.Time, cycle callbill.Cycle) (*callbill.LedgerEntry, error) {
		e := &callbill.LedgerEntry{At: now, Kind: callbill.LedgerAdjust, Amount: in.Amount, Cycle: cycle, Ref: "adjust:" + in.Key,
			Key: in.Key, Reason: in.Reason, Corrects: in.Corrects}
		if err := post(ctx, tx, a, e, request); err != nil {
			return nil, err
		}
		if in.Amount.IsPositive() {
			return e, settle(ctx, tx, a, now)
		}
		return e, nil
	})
}

// move runs one keyed money request under the account's lock: the same key
// and request again answers with the first entry, moving nothing.
func (s *Service) move(ctx context.Context, account, key, request, what string,
	fn func(tx Tx, a *Account, now time.Time, cycle callbill.Cycle) (*callbill.LedgerEntry, error)) (*callbill.MoneyResult, error) {
	var res *callbill.MoneyResult
	err := s.Store.UpdateLedger(ctx, []string{account}, fmt.Sprintf("idempotency key %q", key), func(tx Tx, now time.Time) error {
		res = nil
		prev, prevRequest, err := tx.EntryByKey(ctx, account, key)
		if err != nil {
			return err
		}
		if prev != nil && prevRequest != request {
			return callbill.Errorf(callbill.ECONFLICT, "idempotency key %q was used for a different request (ledger entry %d)", key, prev.Seq)
		}
		a, err := tx.Account(ctx, account)
		if err != nil {
			return err
		}
		if prev != nil {
			res = &callbill.MoneyResult{Entry: prev, Replayed: true, Cash: a.Cash}
			return nil
		}
		loc, err := tx.Location(ctx)
		if err != nil {
			return err
		}
		cycle := callbill.CycleOf(now, loc)
		e, err := fn(tx, a, now, cycle)
		if err != nil {
			return err
		}
		if err := tx.NoteActivity(ctx, cycle); err != nil {
			return err
		}
		// Cash after the request: a top-up's settlements of arrears included.
		res = &callbill.MoneyResult{Entry: e, Cash: a.Cash}
		if err := Refresh(ctx, tx, []string{account}, now, fmt.Sprintf("%s %s %s", what, callbill.FormatMoney(e.Amount), key)); err != nil {
			return err
		}
		if s.Pause > 0 {
			time.Sleep(s.Pause)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// settle pays closed bills' outstanding amounts from cash, oldest cycle
// first, while there is cash (docs/rules.md, "Balances, payments and arrears").
func settle(ctx context.Context, tx Tx, a *Account, at time.Time) error {
	bills, err := tx.Bills(ctx, a.UID)
	if err != nil {
		return err
	}
	sort.Slice(bills, func(i, j int) bool { return bills[i].Cycle < bills[j].Cycle })
	for _, b := range bills {
		if !a.Cash.IsPositive() {
			break
		}
		due := b.Payable.Sub(b.Paid)
		if !due.IsPositive() {
			continue
		}
		pay := decimal.Min(a.Cash, due)
		if err := tx.SetPaid(ctx, a.UID, b.Cycle, b.Paid.Add(pay)); err != nil {
			return err
		}
		if err := post(ctx, tx, a, &callbill.LedgerEntry{At: at, Kind: callbill.LedgerSettle, Amount: pay.Neg(), Cycle: b.Cycle,
			Ref: "bill:" + b.Cycle.String()}, ""); err != nil {
			return err
		}
	}
	return nil
}
