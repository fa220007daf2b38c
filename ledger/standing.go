package ledger

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/callbill/callbill"
	"github.com/shopspring/decimal"
)

// Refresh re-evaluates the accounts' standing at now and records every
// transition and low-balance alert, with its cause, in the caller's
// transaction.
func Refresh(ctx context.Context, tx Tx, uids []string, now time.Time, cause string) error {
	if len(uids) == 0 {
		return nil
	}
	accts, err := tx.Accounts(ctx, uids)
	if err != nil {
		return err
	}
	return Record(ctx, tx, accts, now, cause)
}

// Record is Refresh of accounts the caller has loaded (and moved money of).
func Record(ctx context.Context, tx Tx, accts map[string]*Account, now time.Time, cause string) error {
	uids := make([]string, 0, len(accts))
	for uid := range accts {
		uids = append(uids, uid)
	}
	sort.Strings(uids)
	owed, err := tx.Outstanding(ctx, uids)
	if err != nil {
		return err
	}
	for _, uid := range uids {
		if err := record(ctx, tx, accts[uid], owed[uid], now, cause); err != nil {
			return err
		}
	}
	return tx.StandingChanged(ctx)
}

// stateEvents are the webhook events of entering a state.
var stateEvents = map[callbill.AccountState]string{callbill.StateOverdue: callbill.EventAccountOverdue, callbill.StateStopped: callbill.EventAccountStopped}

// record records a's transition and low-balance alert at now, if any: an
// event for each, and the webhook events overdue, stopped (a return to
// normal has none) and balance.low, the alert once per crossing.
func record(ctx context.Context, tx Tx, a *Account, owed decimal.Decimal, now time.Time, cause string) error {
	st := a.Standing(owed)
	state, below := st.Next(now)
	avail := st.Available()
	low := a.LowBalanceAlert != nil && avail.LessThan(*a.LowBalanceAlert)
	if state == a.State && below.Equal(a.BelowSince) && low == a.LowAlerted {
		return nil
	}
	if state != a.State {
		if err := tx.RecordEvent(ctx, a.UID, callbill.AccountEvent{At: now, Kind: "state", State: state,
			Cause: fmt.Sprintf("%s: available %s (cash %s + credit %s − outstanding %s)", cause,
				callbill.FormatMoney(avail), callbill.FormatMoney(a.Cash), callbill.FormatMoney(a.CreditLine), callbill.FormatMoney(owed))}); err != nil {
			return err
		}
		if kind := stateEvents[state]; kind != "" {
			d := callbill.NewStandingEvent(a.UID, st, state, cause)
			d.Previous = string(a.State)
			if err := tx.Emit(ctx, a.UID, kind, d); err != nil {
				return err
			}
		}
	}
	if low && !a.LowAlerted {
		if err := tx.RecordEvent(ctx, a.UID, callbill.AccountEvent{At: now, Kind: "alert", State: state,
			Cause: fmt.Sprintf("low balance: available %s is below %s (%s)", callbill.FormatMoney(avail), callbill.FormatMoney(*a.LowBalanceAlert), cause)}); err != nil {
			return err
		}
		d := callbill.NewStandingEvent(a.UID, st, state, cause)
		d.Threshold = callbill.FormatMoney(*a.LowBalanceAlert)
		if err := tx.Emit(ctx, a.UID, callbill.EventBalanceLow, d); err != nil {
			return err
		}
	}
	a.State, a.BelowSince, a.LowAlerted = state, below, low
	return tx.SetStanding(ctx, a)
}

// Sweep re-evaluates the accounts whose grace period ran out by now,
// recording the transitions that time alone brings. The server runs it
// often.
func (s *Service) Sweep(ctx context.Context) error {
	return s.Store.UpdateLedger(ctx, nil, "a sweep", func(tx Tx, now time.Time) error {
		accts, err := tx.AllAccounts(ctx)
		if err != nil {
			return err
		}
		var due []string
		for uid, a := range accts {
			if a.State == callbill.StateOverdue && !a.BelowSince.IsZero() && !now.Before(a.BelowSince.AddDate(0, 0, a.GraceDays)) {
				due = append(due, uid)
			}
		}
		if len(due) == 0 {
			return nil
		}
		sort.Strings(due)
		if err := tx.LockAccounts(ctx, due); err != nil {
			return err
		}
		return Refresh(ctx, tx, due, now, "grace period over")
	})
}
