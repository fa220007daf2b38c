package provision

import (
	"context"
	"fmt"
	"time"

	"github.com/callbill/callbill"
	"github.com/callbill/callbill/ledger"
)

// run applies the world inside the transaction, collecting its problems. A
// world with problems of form (a.check) goes through the same steps, its
// well-formed entries written and its other entries only checked, so that
// one report holds every problem; the transaction is then rolled back.
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
	stored, err := a.tx.AllAccounts(ctx)
	if err != nil {
		return err
	}
	a.ownership(stored)
	if err := a.accounts(ctx); err != nil {
		return err
	}
	a.references(a.view(stored))
	if err := a.movements(ctx, now); err != nil {
		return err
	}
	if len(a.problems) > 0 || a.check {
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
			a.add("billing.timezone", "cannot change from %s to %s once calls, purchases or top-ups are stored; set it back to %s or leave it out",
				cur, w.Timezone, cur)
		} else if err := a.tx.SetTimezone(ctx, w.Timezone); err != nil {
			return err
		}
	}
	if w.FirstCycle != 0 {
		if first != 0 && first < w.FirstCycle {
			a.add("billing.first_cycle", "calls, purchases or top-ups are stored from %s on; the first billable cycle cannot be later than that: set it to %s or earlier, or leave it out",
				first, first)
		} else if err := a.tx.SetFirstBillable(ctx, w.FirstCycle); err != nil {
			return err
		}
	}
	if w.MaxCallSeconds != 0 {
		return a.tx.SetMaxCallSeconds(ctx, w.MaxCallSeconds)
	}
	return nil
}

// declared is every account of the file, those with problems of form
// included (what of them could be read).
func (a *apply) declared() []*callbill.Account {
	var out []*callbill.Account
	for _, list := range [][]callbill.Account{a.w.Accounts, a.w.Unread.Accounts} {
		for i := range list {
			out = append(out, &list[i])
		}
	}
	return out
}

// ownership checks the file's instances and numbers against the store: an
// instance belongs to one account, a number to one instance. Those that
// would move are refused (and not written).
func (a *apply) ownership(stored map[string]*ledger.Account) {
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
	for _, acct := range a.declared() {
		if acct.UID == "" {
			continue
		}
		for ii := range acct.Instances {
			inst := &acct.Instances[ii]
			if inst.ID == "" {
				continue
			}
			ipath := fmt.Sprintf("%s.instances[%d]", acct.Path, ii)
			if owner, ok := instOwner[inst.ID]; ok && owner != acct.UID {
				a.add(ipath+".id", "instance %s belongs to account %s; an instance cannot move to another account: declare it under account %s, or give this one another id",
					inst.ID, owner, owner)
				a.refusedInst[inst] = true
			}
			// Its numbers too, so that fixing the instance reveals nothing new.
			for ni := range inst.Numbers {
				n := &inst.Numbers[ni]
				if owner, ok := numberOwner[n.Number]; ok && n.Number != "" && owner != inst.ID {
					a.add(fmt.Sprintf("%s.numbers[%d].number", ipath, ni), "number %s is registered on instance %s; a number cannot move to another instance: declare it under %s, or remove it here",
						n.Number, owner, owner)
					a.refusedNum[n] = true
				}
			}
		}
	}
}

// accounts upserts the file's well-formed accounts, with their instances
// and numbers but those refused.
func (a *apply) accounts(ctx context.Context) error {
	for ai := range a.w.Accounts {
		acct := &a.w.Accounts[ai]
		if err := a.tx.UpsertAccount(ctx, acct); err != nil {
			return err
		}
		a.rep.Accounts++
		for ii := range acct.Instances {
			inst := &acct.Instances[ii]
			if a.refusedInst[inst] {
				continue
			}
			if err := a.tx.UpsertInstance(ctx, acct.UID, inst); err != nil {
				return err
			}
			a.rep.Instances++
			for ni := range inst.Numbers {
				n := &inst.Numbers[ni]
				if a.refusedNum[n] {
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

// view is the accounts as the file leaves them: the stored ones, with the
// file's accounts, instances and numbers (those with problems of form too,
// as far as they could be read) upserted, the refused ones left out. What
// the top-ups and purchases name is checked against it.
func (a *apply) view(stored map[string]*ledger.Account) map[string]*callbill.Account {
	view := map[string]*callbill.Account{}
	for uid, s := range stored {
		c := callbill.Account{UID: s.UID, Instances: make([]callbill.Instance, len(s.Instances))}
		for i, inst := range s.Instances {
			c.Instances[i] = inst
			c.Instances[i].Numbers = append([]callbill.Number(nil), inst.Numbers...)
		}
		view[uid] = &c
	}
	for _, acct := range a.declared() {
		if acct.UID == "" {
			continue
		}
		v := view[acct.UID]
		if v == nil {
			v = &callbill.Account{UID: acct.UID}
			view[acct.UID] = v
		}
		for ii := range acct.Instances {
			inst := &acct.Instances[ii]
			if inst.ID == "" || a.refusedInst[inst] {
				continue
			}
			vi := instanceIndex(v, inst.ID)
			if vi < 0 {
				v.Instances = append(v.Instances, callbill.Instance{ID: inst.ID, Account: acct.UID})
				vi = len(v.Instances) - 1
			}
			if inst.Mode != "" {
				v.Instances[vi].Mode = inst.Mode
			}
			for ni := range inst.Numbers {
				n := inst.Numbers[ni]
				if n.Number == "" || a.refusedNum[&inst.Numbers[ni]] {
					continue
				}
				upsertNumber(&v.Instances[vi], n)
			}
		}
	}
	return view
}

func instanceIndex(a *callbill.Account, id string) int {
	for i := range a.Instances {
		if a.Instances[i].ID == id {
			return i
		}
	}
	return -1
}

func upsertNumber(inst *callbill.Instance, n callbill.Number) {
	for i := range inst.Numbers {
		if inst.Numbers[i].Number == n.Number {
			inst.Numbers[i] = n
			return
		}
	}
	inst.Numbers = append(inst.Numbers, n)
}

// references checks what every top-up and purchase of the file names (those
// with problems of form too, as far as they could be read) against view: its
// account, and what a purchase buys (ledger.PurchaseTarget). Those refused
// are not applied.
func (a *apply) references(view map[string]*callbill.Account) {
	account := func(uid, path string) *callbill.Account {
		if uid == "" {
			return nil
		}
		acct := view[uid]
		if acct == nil {
			a.add(path+".account", "account %s is neither in this file nor stored; declare it under accounts, or correct the uid", uid)
			a.refused[path] = true
		}
		return acct
	}
	for _, list := range [][]callbill.TopUp{a.w.TopUps, a.w.Unread.TopUps} {
		for i := range list {
			account(list[i].Account, list[i].Path)
		}
	}
	for _, list := range [][]callbill.Purchase{a.w.Purchases, a.w.Unread.Purchases} {
		for i := range list {
			p := &list[i]
			acct := account(p.Account, p.Path)
			if acct == nil || p.Kind == "" {
				continue
			}
			if _, _, o := ledger.PurchaseTarget(p, acct); o.Problem != "" {
				a.add(p.Path+o.Where, "%s", o.Problem)
				a.refused[p.Path] = true
			}
		}
	}
}

// movements replays the file's well-formed top-ups and purchases
// (ReplayOrder) that references did not refuse, each idempotent by its id.
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
		if a.refused[path] || acct == nil {
			// Refused above; or, in a check, an account of the file that
			// has problems itself and so was not written.
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
		case o.Problem != "" && o.Short && a.check:
			// Cash depends on every movement before this one, and on
			// prices: with other problems in the file it is not known.
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
