package closing

import (
	"context"
	"slices"
	"sort"
	"time"

	"github.com/callbill/callbill"
)

// MaxSpendAccounts bounds one OpenSpend request.
const MaxSpendAccounts = 10_000

// OpenSpend returns the postpaid spend of accounts in every open cycle (the
// cycles after the last closed one, up to the current one), by uid, each
// account's cycles in order; a cycle without a line is left out. It is the
// live bill's estimate, built from the aggregates every import keeps
// current, never from the calls. Returns ENOTFOUND for an unknown account.
func (s *Service) OpenSpend(ctx context.Context, accounts []string) (map[string][]*callbill.Spend, error) {
	var out map[string][]*callbill.Spend
	err := s.Store.ViewBills(ctx, func(tx Tx, now time.Time) error {
		var err error
		out, err = OpenSpendIn(ctx, tx, now, accounts)
		return err
	})
	return out, err
}

// OpenSpendIn is OpenSpend inside a transaction the caller holds (call
// authorization reads it under the account's lock, docs/authorization.md).
func OpenSpendIn(ctx context.Context, tx Tx, now time.Time, accounts []string) (map[string][]*callbill.Spend, error) {
	if len(accounts) > MaxSpendAccounts {
		return nil, callbill.Errorf(callbill.EINVALID, "at most %d accounts per spend request, not %d", MaxSpendAccounts, len(accounts))
	}
	out := make(map[string][]*callbill.Spend, len(accounts))
	loc, err := tx.Location(ctx)
	if err != nil {
		return nil, err
	}
	closed, err := tx.ClosedThrough(ctx)
	if err != nil {
		return nil, err
	}
	book, err := tx.PriceBook(ctx)
	if err != nil {
		return nil, err
	}
	accts, err := spendAccounts(ctx, tx, accounts)
	if err != nil {
		return nil, err
	}
	current := callbill.CycleOf(now, loc)
	first := closed + 1
	if closed == 0 {
		// Nothing closed yet: the open cycles are those with activity.
		if first, err = tx.FirstActivity(ctx); err != nil {
			return nil, err
		}
		if first == 0 {
			first = current
		}
	}
	for c := first; c <= current; c++ {
		inputs, err := tx.PostpaidInputs(ctx, InputsQuery{Cycle: c, Accounts: accts})
		if err != nil {
			return nil, err
		}
		for _, a := range accts {
			in := inputs[a.UID]
			if in == nil {
				continue
			}
			in.Loc, in.Book = loc, book
			lines, err := callbill.PostpaidLines(in)
			if err != nil {
				return nil, err
			}
			if len(lines) == 0 {
				continue
			}
			total, _ := callbill.RoundPostpaid(lines)
			out[a.UID] = append(out[a.UID], &callbill.Spend{Account: a.UID, Cycle: c, Payable: total, Lines: lines})
		}
	}
	return out, nil
}

// accountsOneByOne is how many accounts a spend request reads one query at
// a time; more are picked from one read of every account (a budget pass
// after a large import asks for most of them).
const accountsOneByOne = 32

// spendAccounts reads the accounts named, once each, in uid order.
// Returns ENOTFOUND for an unknown one.
func spendAccounts(ctx context.Context, tx Tx, accounts []string) ([]*callbill.Account, error) {
	uids := append([]string(nil), accounts...)
	sort.Strings(uids)
	uids = slices.Compact(uids)
	accts := make([]*callbill.Account, 0, len(uids))
	if len(uids) <= accountsOneByOne {
		for _, uid := range uids {
			a, err := tx.Account(ctx, uid)
			if err != nil {
				return nil, err
			}
			accts = append(accts, a)
		}
		return accts, nil
	}
	all, err := tx.Accounts(ctx)
	if err != nil {
		return nil, err
	}
	byUID := make(map[string]*callbill.Account, len(all))
	for i := range all {
		byUID[all[i].UID] = &all[i].Account
	}
	for _, uid := range uids {
		a := byUID[uid]
		if a == nil {
			return nil, callbill.Errorf(callbill.ENOTFOUND, "account %s not found", uid)
		}
		accts = append(accts, a)
	}
	return accts, nil
}
