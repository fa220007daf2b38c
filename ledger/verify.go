package ledger

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/callbill/callbill"
	"github.com/shopspring/decimal"
)

// VerifyInput names the account to verify, or all accounts.
type VerifyInput struct {
	Account     string
	AllAccounts bool
}

// Validate says what is wrong with the input.
func (in *VerifyInput) Validate() error {
	return callbill.CheckAccountScope(in.Account, in.AllAccounts)
}

// Verification is what VerifyLedger found: the problems, of how many
// accounts checked.
type Verification struct {
	Problems []string
	Checked  int
}

// VerifyLedger checks that each account's cached cash equals the sum of
// its ledger, that every entry's balance follows from the one before, and
// that every bill's paid amount equals what the ledger paid toward it and
// never exceeds its payable. Returns ENOTFOUND for an unknown account.
func (s *Service) VerifyLedger(ctx context.Context, in VerifyInput) (*Verification, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	v := &Verification{}
	err := s.Store.ViewLedger(ctx, func(tx Tx, _ time.Time) error {
		*v = Verification{}
		var accts map[string]*Account
		var err error
		if in.AllAccounts {
			accts, err = tx.AllAccounts(ctx)
		} else {
			accts, err = tx.Accounts(ctx, []string{in.Account})
		}
		if err != nil {
			return err
		}
		if !in.AllAccounts && accts[in.Account] == nil {
			return callbill.Errorf(callbill.ENOTFOUND, "account %s not found", in.Account)
		}
		uids := make([]string, 0, len(accts))
		for u := range accts {
			uids = append(uids, u)
		}
		sort.Strings(uids)
		for _, u := range uids {
			v.Checked++
			entries, err := tx.Entries(ctx, u)
			if err != nil {
				return err
			}
			bills, err := tx.Bills(ctx, u)
			if err != nil {
				return err
			}
			v.Problems = append(v.Problems, reconcile(accts[u], entries, bills)...)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return v, nil
}

// reconcile returns what does not add up in an account's ledger and bills.
func reconcile(a *Account, entries []Entry, bills []BillPaid) []string {
	var problems []string
	sum := decimal.Zero
	paidBy := map[string]decimal.Decimal{}
	for _, e := range entries {
		sum = sum.Add(e.Amount)
		if e.Balanced && !e.Balance.Equal(sum) {
			problems = append(problems, fmt.Sprintf("account %s: entry %d says balance %s, the entries up to it sum to %s", a.UID, e.Seq, e.Balance, sum))
		}
		if e.Kind == callbill.LedgerDeduct || e.Kind == callbill.LedgerSettle {
			paidBy[e.Ref] = paidBy[e.Ref].Sub(e.Amount)
		}
	}
	if !sum.Equal(a.Cash) {
		problems = append(problems, fmt.Sprintf("account %s: cash is %s, the ledger sums to %s", a.UID, a.Cash, sum))
	}
	sort.Slice(bills, func(i, j int) bool { return bills[i].Cycle < bills[j].Cycle })
	for _, b := range bills {
		ref := "bill:" + b.Cycle.String()
		if !b.Paid.Equal(paidBy[ref]) {
			problems = append(problems, fmt.Sprintf("account %s: bill %s says paid %s, the ledger paid %s", a.UID, b.Cycle, b.Paid, paidBy[ref]))
		}
		if b.Paid.GreaterThan(b.Payable) || b.Paid.IsNegative() {
			problems = append(problems, fmt.Sprintf("account %s: bill %s paid %s of a payable of %s", a.UID, b.Cycle, b.Paid, b.Payable))
		}
	}
	return problems
}
