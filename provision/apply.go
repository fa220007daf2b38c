package provision

import (
	"context"
	"fmt"
	"time"

	"github.com/callbill/callbill/ledger"
)

func (a *apply) run(ctx context.Context, now time.Time) error {
	if err := a.billing(ctx); err != nil {
		return err
	}
	for i := range a.w.Prices {
		if err := a.tx.UpsertPrice(ctx, &a.w.Prices[i]); err != nil {
			return err
		}
		a.rep.Prices++
	}
	if err := a.accounts(ctx); err != nil {
		return err
	}
	if err := a.movements(ctx, now); err != nil {
		return err
	}
	if len(a.problems) > 0 {
		return nil
	}
	if err := ledger.Refresh(ctx, a.tx, touched(a.w), now, "world file applied"); err != nil {
		return err
	}
	return a.tx.WorldChanged(ctx)
}

// billing applies the time zone, fixed once anything is billed since it
// decides cycles, and billing.first_cycle, which cannot move past a cycle
// that already holds calls, purchases or top-ups: they would sit in cycles
// that are never closed.
func (a *apply) billing(ctx context.Context) error {
	w := a.w
	first, err := a.tx.FirstActivity(ctx)
	if err != nil {
		return err
	}
	cur, err := a.tx.Timezone(ctx)
	if err != nil {
		return err
	}
	if w.Timezone != "" && w.Timezone != cur {
		if first != 0 {
			a.add("billing.timezone", "cannot change from %s to %s once calls, purchases or top-ups are stored", cur, w.Timezone)
		} else if err := a.tx.SetTimezone(ctx, w.Timezone); err != nil {
			return err
		}
	}
	if w.FirstCycle != 0 {
		if first != 0 && first < w.FirstCycle {
			a.add("billing.first_cycle", "calls, purchases or top-ups are stored from %s on; the first billable cycle cannot be later than that", first)
		} else if err := a.tx.SetFirstBillable(ctx, w.FirstCycle); err != nil {
			return err
		}
	}
	if w.MaxCallSeconds != 0 {
		return a.tx.SetMaxCallSeconds(ctx, w.MaxCallSeconds)
	}
	return nil
}

// accounts upserts the file's accounts, instances and numbers. An instance
// belongs to one account, a number to one instance.
func (a *apply) accounts(ctx context.Context) error {
	stored, err := a.tx.AllAccounts(ctx)
	if err != nil {
		return err
	}
	instOwner := map[string]string{}
	numberOwner := map[string]string{} // number → instance
	for _, acct := range stored {
		for _, inst := range acct.Instances {
			instOwner[inst.ID] = acct.UID
			for _, n := range inst.Numbers {
				numberOwner[n.Number] = inst.ID
			}
		}
	}
	for ai := range a.w.Accounts {
		acct := &a.w.Accounts[ai]
		apath := a.w.AccountPaths[acct.UID]
		if apath == "" {
			apath = fmt.Sprintf("accounts[%d]", ai)
		}
		if err := a.tx.UpsertAccount(ctx, acct); err != nil {
			return err
		}
		a.rep.Accounts++
		for ii := range acct.Instances {
			inst := &acct.Instances[ii]
			ipath := fmt.Sprintf("%s.instances[%d]", apath, ii)
			if owner, ok := instOwner[inst.ID]; ok && owner != acct.UID {
				a.add(ipath+".id", "instance %s belongs to account %s", inst.ID, owner)
				continue
			}
			if err := a.tx.UpsertInstance(ctx, acct.UID, inst); err != nil {
				return err
			}
			a.rep.Instances++
			for ni := range inst.Numbers {
				n := &inst.Numbers[ni]
				if owner, ok := numberOwner[n.Number]; ok && owner != inst.ID {
					a.add(fmt.Sprintf("%s.numbers[%d].number", ipath, ni), "number %s is registered on instance %s", n.Number, owner)
					continue
				}
				if err := a.tx.UpsertNumber(ctx, acct.UID, inst.ID, n); err != nil {
					return err
				}
				a.rep.Numbers++
			}
		}
	}
	return nil
}

// movements replays the file's top-ups and purchases (ReplayOrder), each
// idempotent by its id.
func (a *apply) movements(ctx context.Context, now time.Time) error {
	accts, err := a.tx.AllAccounts(ctx)
	if err != nil {
		return err
	}
	books, err := ledger.OpenBooks(ctx, a.tx, now)
	if err != nil {
		return err
	}
	for _, m := range ReplayOrder(a.w) {
		account, path := "", ""
		if m.TopUp != nil {
			account, path = m.TopUp.Account, m.TopUp.Path
		} else {
			account, path = m.Purchase.Account, m.Purchase.Path
		}
		acct := accts[account]
		if acct == nil {
			a.add(path+".account", "account %s is neither in this file nor stored", account)
			continue
		}
		var o ledger.Outcome
		if m.TopUp != nil {
			o, err = books.TopUp(ctx, acct, m.TopUp)
		} else {
			o, err = books.Buy(ctx, acct, m.Purchase)
		}
		switch {
		case err != nil:
			return err
		case o.Problem != "":
			a.add(path+o.Where, "%s", o.Problem)
		case o.Skipped:
			a.rep.Skipped++
		case m.TopUp != nil:
			a.rep.TopUps++
		default:
			a.rep.Purchases++
		}
	}
	return nil
}
