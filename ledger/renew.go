package ledger

import (
	"context"
	"fmt"
	"time"

	"github.com/callbill/callbill"
)

// Purchase makes one purchase now (or at p.At when set), under the
// account's lock: its id is its idempotency key, and a retry of an id made
// now keeps the time of the first. Returns whether it was applied before,
// EREFUSED when cash is short or the purchase is not allowed, ENOTFOUND for
// an unknown account.
func (s *Service) Purchase(ctx context.Context, p callbill.Purchase) (bool, error) {
	skipped := false
	asked := p
	err := s.Store.UpdateLedger(ctx, []string{p.Account}, fmt.Sprintf("purchase id %q", p.ID), func(tx Tx, now time.Time) error {
		p = asked // a second run starts from the request, not from what the first filled in
		a, err := tx.Account(ctx, p.Account)
		if err != nil {
			return err
		}
		b, err := OpenBooks(ctx, tx, now)
		if err != nil {
			return err
		}
		if p.At.IsZero() {
			_, at, err := tx.PurchaseApplied(ctx, p.Account, p.ID)
			if err != nil {
				return err
			}
			p.At = now
			if !at.IsZero() {
				p.At = at
			}
		}
		o, err := b.Buy(ctx, a, &p)
		if err != nil {
			return err
		}
		if o.Problem != "" {
			return callbill.Errorf(callbill.EREFUSED, "purchase %s: %s", p.ID, o.Problem)
		}
		if skipped = o.Skipped; skipped {
			return nil
		}
		return Refresh(ctx, tx, []string{p.Account}, now, "purchase "+p.ID)
	})
	return skipped, err
}

// RenewDue renews, from cash, the rent of every number set to auto-renew
// whose rent runs out within 7 days (and is not released yet): a one-month
// number-rent purchase whose id names the number and the date it extends,
// so that nodes doing it at once renew once. When cash is short it records
// an alert instead, once. It returns how many it renewed.
func (s *Service) RenewDue(ctx context.Context) (int, error) {
	var todo []Renewal
	var now time.Time
	err := s.Store.ViewLedger(ctx, func(tx Tx, at time.Time) error {
		var err error
		now = at
		todo, err = tx.Renewals(ctx, now.AddDate(0, 0, -callbill.NumberReleaseDays), now.AddDate(0, 0, 7))
		return err
	})
	if err != nil {
		return 0, err
	}
	renewed := 0
	for _, d := range todo {
		id := "renew:" + d.Number + ":" + d.Until.UTC().Format("20060102T150405")
		skipped, err := s.Purchase(ctx, callbill.Purchase{ID: id, Account: d.Account, Kind: callbill.PurchaseNumberRent,
			Number: d.Number, Months: 1})
		if callbill.ErrorCode(err) == callbill.EREFUSED {
			skipped = true // nothing renewed; the tenant is told
			cause := "auto-renewal " + id + " refused: " + callbill.ErrorMessage(err)
			err = s.Store.UpdateLedger(ctx, nil, "an alert", func(tx Tx, _ time.Time) error {
				told, err := tx.HasEvent(ctx, d.Account, cause)
				if err != nil || told {
					return err
				}
				return tx.RecordEvent(ctx, d.Account, callbill.AccountEvent{At: now, Kind: "alert", Cause: cause})
			})
		}
		if err != nil {
			return renewed, err
		}
		if !skipped {
			renewed++
		}
	}
	return renewed, nil
}
