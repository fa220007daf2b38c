package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/callbill/callbill"
	"github.com/shopspring/decimal"
)

// Money (DESIGN §3.10, issue 4). Every movement of cash is an immutable
// ledger entry; accounts.cash and bills.paid are caches of sums over the
// ledger that VerifyLedger checks. A request that moves money carries an
// idempotency key, stored with the hash of the request: the same key again
// returns the first result, the same key with another request is refused.

// post appends a ledger entry and moves the account's cash by its amount.
// A keyed entry whose key the account took already fails with a unique
// violation (the callers look the key up first, under the account's lock,
// and retryUnique answers a violation that gets past them).
func post(ctx context.Context, tx *Tx, a *account, e *callbill.LedgerEntry, request string) error {
	a.Cash = a.Cash.Add(e.Amount)
	e.Account, e.Balance = a.UID, a.Cash
	if _, err := tx.ExecContext(ctx, `UPDATE accounts SET cash = ? WHERE uid = ?`, a.Cash.String(), a.UID); err != nil {
		return err
	}
	err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(seq), 0) + 1 FROM ledger WHERE account = ?`, a.UID).Scan(&e.Seq)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO ledger (account, seq, at, kind, amount, cycle, ref, key, request, reason, corrects, balance)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		a.UID, e.Seq, e.At.Unix(), string(e.Kind), e.Amount.String(), int(e.Cycle), e.Ref, e.Key, request, e.Reason, e.Corrects, a.Cash.String())
	return err
}

// topUp adds cash, then settles outstanding bills oldest cycle first; the
// rest stays as cash (DESIGN §3.10).
func topUp(ctx context.Context, tx *Tx, a *account, amount decimal.Decimal, at time.Time, cycle callbill.Cycle, ref, key, request string) error {
	if err := post(ctx, tx, a, &callbill.LedgerEntry{At: at, Kind: callbill.LedgerTopUp, Amount: amount, Cycle: cycle, Ref: ref, Key: key}, request); err != nil {
		return err
	}
	return settleOutstanding(ctx, tx, a, at)
}

// settleOutstanding pays closed bills' outstanding amounts from cash, oldest first.
func settleOutstanding(ctx context.Context, tx *Tx, a *account, at time.Time) error {
	rows, err := tx.QueryContext(ctx, `SELECT cycle, postpaid_payable, paid FROM bills WHERE account = ? ORDER BY cycle`, a.UID)
	if err != nil {
		return err
	}
	type owed struct {
		cycle     callbill.Cycle
		paid, due decimal.Decimal
	}
	var bills []owed
	for rows.Next() {
		var c int
		var payable, paid string
		if err := rows.Scan(&c, &payable, &paid); err != nil {
			rows.Close()
			return err
		}
		var r decReader
		p, d := r.parse("paid", paid), r.parse("postpaid_payable", payable)
		if err := r.err("bills", "account %s, cycle %s", a.UID, callbill.Cycle(c)); err != nil {
			rows.Close()
			return err
		}
		if p.LessThan(d) {
			bills = append(bills, owed{callbill.Cycle(c), p, d.Sub(p)})
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, b := range bills {
		if !a.Cash.IsPositive() {
			break
		}
		pay := decimal.Min(a.Cash, b.due)
		if _, err := tx.ExecContext(ctx, `UPDATE bills SET paid = ? WHERE account = ? AND cycle = ?`,
			b.paid.Add(pay).String(), a.UID, int(b.cycle)); err != nil {
			return err
		}
		if err := post(ctx, tx, a, &callbill.LedgerEntry{At: at, Kind: callbill.LedgerSettle, Amount: pay.Neg(), Cycle: b.cycle,
			Ref: "bill:" + b.cycle.String()}, ""); err != nil {
			return err
		}
	}
	return nil
}

// keyed looks an idempotency key of the account uid up (keys are each
// account's own). It returns the entry the key made when the request is the
// same, ECONFLICT when it is another request, and nil when the key is new.
func keyed(ctx context.Context, tx *Tx, uid, key, request string) (*callbill.LedgerEntry, error) {
	var e callbill.LedgerEntry
	var at int64
	var cycle int
	var amount, balance, req string
	err := tx.QueryRowContext(ctx, `SELECT account, seq, at, kind, amount, balance, cycle, ref, key, reason, corrects, request
		FROM ledger WHERE account = ? AND key = ?`, uid, key).Scan(&e.Account, &e.Seq, &at, &e.Kind, &amount, &balance, &cycle, &e.Ref, &e.Key,
		&e.Reason, &e.Corrects, &req)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if req != request {
		return nil, callbill.Errorf(callbill.ECONFLICT, "idempotency key %q was used for a different request (ledger entry %d)", key, e.Seq)
	}
	e.At, e.Cycle = time.Unix(at, 0), callbill.Cycle(cycle)
	var r decReader
	e.Amount = r.parse("amount", amount)
	if balance != "" {
		e.Balance = r.parse("balance", balance)
	}
	return &e, r.err("ledger", "account %s, entry %d", uid, e.Seq)
}

// TopUp adds amount to an account's cash (and settles its arrears, oldest
// first). key makes it idempotent. Returns ENOTFOUND for an unknown account,
// EINVALID for a bad amount, ECONFLICT for a key reused for another request.
func (s *Store) TopUp(ctx context.Context, uid string, amount decimal.Decimal, key string) (*callbill.MoneyResult, error) {
	if !amount.IsPositive() || !amount.Equal(amount.Truncate(2)) {
		return nil, callbill.Errorf(callbill.EINVALID, "a top-up must be a positive amount in fen (2 decimals), not %s", amount)
	}
	request := callbill.RequestHash("topup", uid, amount.String())
	return s.money(ctx, uid, key, request, func(tx *Tx, a *account, now time.Time, cycle callbill.Cycle) (*callbill.LedgerEntry, error) {
		e := &callbill.LedgerEntry{At: now, Kind: callbill.LedgerTopUp, Amount: amount, Cycle: cycle, Ref: "topup:" + key, Key: key}
		if err := post(ctx, tx, a, e, request); err != nil {
			return nil, err
		}
		if err := settleOutstanding(ctx, tx, a, now); err != nil {
			return nil, err
		}
		return e, emitEvent(ctx, tx, uid, callbill.EventTopUpReceived, topUpEvent(a, amount, now, key, "request"))
	}, "top-up")
}

// Adjust moves an account's cash by amount (credit > 0, debit < 0) for a
// reason, e.g. to correct a closed bill (corrects names it): a closed bill is
// never edited. A credit then settles arrears like a top-up; a debit may take
// cash below 0, which counts against available like arrears.
func (s *Store) Adjust(ctx context.Context, uid string, amount decimal.Decimal, reason, corrects, key string) (*callbill.MoneyResult, error) {
	if amount.IsZero() || !amount.Equal(amount.Truncate(2)) {
		return nil, callbill.Errorf(callbill.EINVALID, "an adjustment must be a non-zero amount in fen (2 decimals), not %s", amount)
	}
	if strings.TrimSpace(reason) == "" {
		return nil, callbill.Errorf(callbill.EINVALID, "an adjustment needs a reason")
	}
	request := callbill.RequestHash("adjust", uid, amount.String(), reason, corrects)
	return s.money(ctx, uid, key, request, func(tx *Tx, a *account, now time.Time, cycle callbill.Cycle) (*callbill.LedgerEntry, error) {
		e := &callbill.LedgerEntry{At: now, Kind: callbill.LedgerAdjust, Amount: amount, Cycle: cycle, Ref: "adjust:" + key,
			Key: key, Reason: reason, Corrects: corrects}
		if err := post(ctx, tx, a, e, request); err != nil {
			return nil, err
		}
		if amount.IsPositive() {
			return e, settleOutstanding(ctx, tx, a, now)
		}
		return e, nil
	}, "adjustment")
}

// money runs one keyed money request under the account's lock. A request
// that loses its key to a concurrent one runs again and answers as a retry.
func (s *Store) money(ctx context.Context, uid, key, request string,
	move func(tx *Tx, a *account, now time.Time, cycle callbill.Cycle) (*callbill.LedgerEntry, error), what string) (*callbill.MoneyResult, error) {
	if strings.TrimSpace(key) == "" {
		return nil, callbill.Errorf(callbill.EINVALID, "a %s needs an idempotency key", what)
	}
	var res *callbill.MoneyResult
	err := s.keyedTx(ctx, fmt.Sprintf("idempotency key %q", key), func(tx *Tx) error {
		if err := s.lockWriter(ctx, tx); err != nil {
			return err
		}
		if err := s.lockAccounts(ctx, tx, []string{uid}); err != nil {
			return err
		}
		prev, err := keyed(ctx, tx, uid, key, request)
		if err != nil {
			return err
		}
		a, err := loadAccount(ctx, tx, uid)
		if err != nil {
			return err
		}
		if prev != nil {
			res = &callbill.MoneyResult{Entry: prev, Replayed: true, Cash: a.Cash}
			return nil
		}
		loc, _, err := location(ctx, tx)
		if err != nil {
			return err
		}
		now := s.Now()
		e, err := move(tx, a, now, callbill.CycleOf(now, loc))
		if err != nil {
			return err
		}
		if err := noteActivity(ctx, tx, callbill.CycleOf(now, loc)); err != nil {
			return err
		}
		// Cash after the request: a top-up's settlements of arrears included.
		res = &callbill.MoneyResult{Entry: e, Cash: a.Cash}
		if err := s.refreshStanding(ctx, tx, []string{uid}, now, fmt.Sprintf("%s %s %s", what, callbill.FormatMoney(e.Amount), key)); err != nil {
			return err
		}
		if s.MoneyPause > 0 {
			time.Sleep(s.MoneyPause)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// outstanding sums the unpaid payables of the accounts' closed bills.
func outstanding(ctx context.Context, tx *Tx, uids []string) (map[string]decimal.Decimal, error) {
	out := map[string]decimal.Decimal{}
	for start := 0; start < len(uids); start += 500 {
		part := uids[start:min(start+500, len(uids))]
		args := make([]any, len(part))
		for i, u := range part {
			args[i] = u
		}
		rows, err := tx.QueryContext(ctx, `SELECT account, postpaid_payable, paid FROM bills WHERE account IN (?`+
			strings.Repeat(",?", len(part)-1)+`)`, args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var uid, payable, paid string
			if err := rows.Scan(&uid, &payable, &paid); err != nil {
				rows.Close()
				return nil, err
			}
			var r decReader
			owed := r.parse("postpaid_payable", payable).Sub(r.parse("paid", paid))
			if err := r.err("bills", "account %s", uid); err != nil {
				rows.Close()
				return nil, err
			}
			out[uid] = out[uid].Add(owed)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func standingOf(a *account, outstanding decimal.Decimal) *callbill.Standing {
	return &callbill.Standing{Cash: a.Cash, CreditLine: a.CreditLine, Outstanding: outstanding, Allowance: a.Allowance,
		GraceDays: a.GraceDays, BelowSince: a.BelowSince}
}

// refreshStanding re-evaluates the accounts' state at now and records every
// transition and low-balance alert, with its cause.
func (s *Store) refreshStanding(ctx context.Context, tx *Tx, uids []string, now time.Time, cause string) error {
	if len(uids) == 0 {
		return nil
	}
	accts := map[string]*account{}
	for _, uid := range uids {
		m, err := loadAccounts(ctx, tx, uid)
		if err != nil {
			return err
		}
		if a := m[uid]; a != nil {
			accts[uid] = a
		}
	}
	return s.recordStanding(ctx, tx, accts, now, cause)
}

func (s *Store) recordStanding(ctx context.Context, tx *Tx, accts map[string]*account, now time.Time, cause string) error {
	uids := make([]string, 0, len(accts))
	for uid := range accts {
		uids = append(uids, uid)
	}
	sort.Strings(uids)
	owed, err := outstanding(ctx, tx, uids)
	if err != nil {
		return err
	}
	for _, uid := range uids {
		a := accts[uid]
		st := standingOf(a, owed[uid])
		state, below := st.Next(now)
		avail := st.Available()
		low := a.LowBalanceAlert != nil && avail.LessThan(*a.LowBalanceAlert)
		if state == a.State && below.Equal(a.BelowSince) && low == a.LowAlerted {
			continue
		}
		if state != a.State {
			if err := event(ctx, tx, uid, now, "state", string(state),
				fmt.Sprintf("%s: available %s (cash %s + credit %s − outstanding %s)", cause,
					callbill.FormatMoney(avail), callbill.FormatMoney(a.Cash), callbill.FormatMoney(a.CreditLine), callbill.FormatMoney(owed[uid]))); err != nil {
				return err
			}
			if err := emitStateChange(ctx, tx, a, state, owed[uid], cause); err != nil {
				return err
			}
		}
		if low && !a.LowAlerted {
			if err := event(ctx, tx, uid, now, "alert", string(state),
				fmt.Sprintf("low balance: available %s is below %s (%s)", callbill.FormatMoney(avail), callbill.FormatMoney(*a.LowBalanceAlert), cause)); err != nil {
				return err
			}
			if err := emitLowBalance(ctx, tx, a, state, owed[uid], cause); err != nil {
				return err
			}
		}
		flag := 0
		if low {
			flag = 1
		}
		if _, err := tx.ExecContext(ctx, `UPDATE accounts SET state = ?, below_since = ?, low_alerted = ? WHERE uid = ?`,
			string(state), unixOrZero(below), flag, uid); err != nil {
			return err
		}
		a.State, a.BelowSince, a.LowAlerted = state, below, low
	}
	return bumpMeta(ctx, tx, "standing_gen")
}

func event(ctx context.Context, tx *Tx, uid string, at time.Time, kind, state, cause string) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO account_events (account, seq, at, kind, state, cause)
		VALUES (?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM account_events WHERE account = ?), ?, ?, ?, ?)`,
		uid, uid, at.Unix(), kind, state, cause)
	return err
}

// bumpMeta increments a counter in meta.
func bumpMeta(ctx context.Context, q querier, key string) error {
	_, err := q.ExecContext(ctx, `INSERT INTO meta (key, value) VALUES (?, '1')
		ON CONFLICT (key) DO UPDATE SET value = CAST(CAST(meta.value AS BIGINT) + 1 AS TEXT)`, key)
	return err
}

// Sweep re-evaluates every account at now, recording the transitions that
// time alone brings (a grace period running out). The server runs it often.
func (s *Store) Sweep(ctx context.Context) error {
	return s.inTx(ctx, func(tx *Tx) error {
		if err := s.lockWriter(ctx, tx); err != nil {
			return err
		}
		accts, err := loadAccounts(ctx, tx, "")
		if err != nil {
			return err
		}
		var due map[string]*account
		now := s.Now()
		for uid, a := range accts {
			if a.State == callbill.StateOverdue && !a.BelowSince.IsZero() && !now.Before(a.BelowSince.AddDate(0, 0, a.GraceDays)) {
				if due == nil {
					due = map[string]*account{}
				}
				due[uid] = a
			}
		}
		if len(due) == 0 {
			return nil
		}
		uids := make([]string, 0, len(due))
		for uid := range due {
			uids = append(uids, uid)
		}
		sort.Strings(uids)
		if err := s.lockAccounts(ctx, tx, uids); err != nil {
			return err
		}
		return s.refreshStanding(ctx, tx, uids, now, "grace period over")
	})
}

// extendRent moves a number's paid-until date by a rent purchase's months,
// from the purchase or from the end of what was paid, whichever is later.
func extendRent(ctx context.Context, tx *Tx, uid string, p *callbill.Purchase, loc *time.Location) error {
	var until int64
	if err := tx.QueryRowContext(ctx, `SELECT paid_until FROM numbers WHERE account = ? AND instance = ? AND number = ?`,
		uid, p.Instance, p.Number).Scan(&until); err != nil {
		return err
	}
	from := p.At
	if t := time.Unix(until, 0); until != 0 && t.After(from) {
		from = t
	}
	_, err := tx.ExecContext(ctx, `UPDATE numbers SET paid_until = ? WHERE account = ? AND instance = ? AND number = ?`,
		callbill.AddMonthsClamped(from, int(p.Months), loc).Unix(), uid, p.Instance, p.Number)
	return err
}

// Ledger returns an account's ledger, oldest first. Returns ENOTFOUND for an
// unknown account.
func (s *Store) Ledger(ctx context.Context, uid string) ([]callbill.LedgerEntry, error) {
	var out []callbill.LedgerEntry
	err := s.readTx(ctx, func(tx *Tx) error {
		if err := mustAccount(ctx, tx, uid); err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, `SELECT seq, at, kind, amount, balance, cycle, ref, key, reason, corrects
			FROM ledger WHERE account = ? ORDER BY seq`, uid)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			e := callbill.LedgerEntry{Account: uid}
			var at int64
			var cycle int
			var amount, balance string
			if err := rows.Scan(&e.Seq, &at, &e.Kind, &amount, &balance, &cycle, &e.Ref, &e.Key, &e.Reason, &e.Corrects); err != nil {
				return err
			}
			e.At, e.Cycle = time.Unix(at, 0), callbill.Cycle(cycle)
			var r decReader
			e.Amount = r.parse("amount", amount)
			if balance != "" {
				e.Balance = r.parse("balance", balance)
			}
			if err := r.err("ledger", "account %s, entry %d", uid, e.Seq); err != nil {
				return err
			}
			out = append(out, e)
		}
		return rows.Err()
	})
	return out, err
}

func mustAccount(ctx context.Context, tx *Tx, uid string) error {
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM accounts WHERE uid = ?`, uid).Scan(&n); err != nil {
		return err
	}
	if n == 0 {
		return callbill.Errorf(callbill.ENOTFOUND, "account %s not found", uid)
	}
	return nil
}

// Status returns an account's money, state, packages, numbers and recent
// events. Returns ENOTFOUND for an unknown account.
func (s *Store) Status(ctx context.Context, uid string) (*callbill.AccountStatus, error) {
	var st *callbill.AccountStatus
	err := s.readTx(ctx, func(tx *Tx) error {
		a, err := loadAccount(ctx, tx, uid)
		if err != nil {
			return err
		}
		owed, err := outstanding(ctx, tx, []string{uid})
		if err != nil {
			return err
		}
		now := s.Now()
		st = &callbill.AccountStatus{UID: uid, Name: a.Name, Standing: *standingOf(a, owed[uid]), AskedAt: now, Recorded: a.State,
			LowBelow: a.LowBalanceAlert, GraceDays: a.GraceDays}
		st.State, _ = st.Standing.Next(now)
		rows, err := tx.QueryContext(ctx, `SELECT id, type, minutes, remaining, from_unix, until_unix FROM packages
			WHERE account = ? AND until_unix > ? ORDER BY until_unix, from_unix, id`, uid, now.Unix())
		if err != nil {
			return err
		}
		for rows.Next() {
			p := callbill.VoicePackage{Account: uid}
			var from, until int64
			if err := rows.Scan(&p.ID, &p.Type, &p.Minutes, &p.Remaining, &from, &until); err != nil {
				rows.Close()
				return err
			}
			p.From, p.Until = time.Unix(from, 0), time.Unix(until, 0)
			st.Packages = append(st.Packages, p)
		}
		rows.Close()
		rows, err = tx.QueryContext(ctx, `SELECT instance, number, kind, source, tier, since, until, paid_until FROM numbers
			WHERE account = ? ORDER BY instance, number`, uid)
		if err != nil {
			return err
		}
		for rows.Next() {
			var n callbill.NumberStatus
			var since, until, paid int64
			if err := rows.Scan(&n.Instance, &n.Number.Number, &n.Kind, &n.Source, &n.Tier, &since, &until, &paid); err != nil {
				rows.Close()
				return err
			}
			n.Since, n.Until, n.PaidUntil = timeOrZero(since), timeOrZero(until), timeOrZero(paid)
			st.Numbers = append(st.Numbers, n)
		}
		rows.Close()
		rows, err = tx.QueryContext(ctx, `SELECT at, kind, state, cause FROM account_events WHERE account = ? ORDER BY seq DESC LIMIT 20`, uid)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var e callbill.AccountEvent
			var at int64
			if err := rows.Scan(&at, &e.Kind, &e.State, &e.Cause); err != nil {
				return err
			}
			e.At = time.Unix(at, 0)
			st.Events = append(st.Events, e)
		}
		return rows.Err()
	})
	return st, err
}

// VerifyLedger checks, for one account or all (uid ""), that the cached cash
// equals the sum of the ledger, that every entry's balance follows from the
// one before, and that every bill's paid amount equals what the ledger paid
// toward it and never exceeds its payable. It returns what does not add up.
func (s *Store) VerifyLedger(ctx context.Context, uid string) ([]string, int, error) {
	var problems []string
	checked := 0
	err := s.readTx(ctx, func(tx *Tx) error {
		accts, err := loadAccounts(ctx, tx, uid)
		if err != nil {
			return err
		}
		if uid != "" && accts[uid] == nil {
			return callbill.Errorf(callbill.ENOTFOUND, "account %s not found", uid)
		}
		uids := make([]string, 0, len(accts))
		for u := range accts {
			uids = append(uids, u)
		}
		sort.Strings(uids)
		for _, u := range uids {
			a := accts[u]
			checked++
			rows, err := tx.QueryContext(ctx, `SELECT seq, kind, amount, balance, cycle, ref FROM ledger WHERE account = ? ORDER BY seq`, u)
			if err != nil {
				return err
			}
			sum := decimal.Zero
			paidBy := map[string]decimal.Decimal{}
			for rows.Next() {
				var seq int64
				var kind, amount, balance, ref string
				var cycle int
				if err := rows.Scan(&seq, &kind, &amount, &balance, &cycle, &ref); err != nil {
					rows.Close()
					return err
				}
				var r decReader
				amt, bal := r.parse("amount", amount), decimal.Zero
				if balance != "" {
					bal = r.parse("balance", balance)
				}
				if err := r.err("ledger", "account %s, entry %d", u, seq); err != nil {
					rows.Close()
					return err
				}
				sum = sum.Add(amt)
				if balance != "" && !bal.Equal(sum) {
					problems = append(problems, fmt.Sprintf("account %s: entry %d says balance %s, the entries up to it sum to %s", u, seq, balance, sum))
				}
				if kind == string(callbill.LedgerDeduct) || kind == string(callbill.LedgerSettle) {
					paidBy[ref] = paidBy[ref].Sub(amt)
				}
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
			if !sum.Equal(a.Cash) {
				problems = append(problems, fmt.Sprintf("account %s: cash is %s, the ledger sums to %s", u, a.Cash, sum))
			}
			rows, err = tx.QueryContext(ctx, `SELECT cycle, postpaid_payable, paid FROM bills WHERE account = ? ORDER BY cycle`, u)
			if err != nil {
				return err
			}
			for rows.Next() {
				var c int
				var payable, paid string
				if err := rows.Scan(&c, &payable, &paid); err != nil {
					rows.Close()
					return err
				}
				ref := "bill:" + callbill.Cycle(c).String()
				var r decReader
				p, d := r.parse("paid", paid), r.parse("postpaid_payable", payable)
				if err := r.err("bills", "account %s, cycle %s", u, callbill.Cycle(c)); err != nil {
					rows.Close()
					return err
				}
				if !p.Equal(paidBy[ref]) {
					problems = append(problems, fmt.Sprintf("account %s: bill %s says paid %s, the ledger paid %s", u, callbill.Cycle(c), p, paidBy[ref]))
				}
				if p.GreaterThan(d) || p.IsNegative() {
					problems = append(problems, fmt.Sprintf("account %s: bill %s paid %s of a payable of %s", u, callbill.Cycle(c), p, d))
				}
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
		}
		return nil
	})
	return problems, checked, err
}

// AuthSnapshot reads what call authorization answers from: the directory,
// the numbers' rent and every account's standing.
func (s *Store) AuthSnapshot(ctx context.Context) (*callbill.AuthSnapshot, error) {
	snap := &callbill.AuthSnapshot{Instances: map[string]*callbill.AuthInstance{}, Standing: map[string]*callbill.Standing{}, Built: s.Now()}
	err := s.readTx(ctx, func(tx *Tx) error {
		accts, err := loadAccounts(ctx, tx, "")
		if err != nil {
			return err
		}
		uids := make([]string, 0, len(accts))
		for uid := range accts {
			uids = append(uids, uid)
		}
		owed, err := outstanding(ctx, tx, uids)
		if err != nil {
			return err
		}
		paid := map[[2]string]int64{}
		rows, err := tx.QueryContext(ctx, `SELECT instance, number, paid_until FROM numbers WHERE paid_until <> 0`)
		if err != nil {
			return err
		}
		for rows.Next() {
			var inst, num string
			var until int64
			if err := rows.Scan(&inst, &num, &until); err != nil {
				rows.Close()
				return err
			}
			paid[[2]string{inst, num}] = until
		}
		rows.Close()
		for uid, a := range accts {
			snap.Standing[uid] = standingOf(a, owed[uid])
			for _, inst := range a.Instances {
				ai := &callbill.AuthInstance{Account: uid, Mode: inst.Mode, Numbers: map[string]*callbill.AuthNumber{}}
				for _, n := range inst.Numbers {
					ai.Numbers[n.Number] = &callbill.AuthNumber{Number: n, PaidUntil: timeOrZero(paid[[2]string{inst.ID, n.Number}])}
				}
				snap.Instances[inst.ID] = ai
			}
		}
		snap.Prepare()
		return nil
	})
	return snap, err
}

// Changes returns a counter that moves whenever what authorization reads
// may have changed (a world apply, a close, a money movement). It reads
// outside any transaction, so asking it often costs no lock.
func (s *Store) Changes(ctx context.Context) (string, error) {
	db := s.db
	if s.rdb != nil {
		db = s.rdb
	}
	var gen, standing sql.NullString
	err := db.QueryRowContext(ctx, s.rebind(`SELECT (SELECT value FROM meta WHERE key = 'gen'), (SELECT value FROM meta WHERE key = 'standing_gen')`)).
		Scan(&gen, &standing)
	return gen.String + "/" + standing.String, err
}

// RenewDue renews, from cash, the rent of every number set to auto-renew
// whose rent runs out within 7 days (and is not released yet): a one-month
// number-rent purchase whose id names the number and the date it extends,
// so that nodes doing it at once renew once. When cash is short it records
// an alert instead. It returns how many it renewed.
func (s *Store) RenewDue(ctx context.Context) (int, error) {
	now := s.Now()
	type due struct {
		account, number string
		until           time.Time
	}
	var todo []due
	err := s.inTx(ctx, func(tx *Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT account, number, paid_until FROM numbers
			WHERE auto_renew = 1 AND paid_until <> 0 AND paid_until <= ? AND paid_until > ?`,
			now.AddDate(0, 0, 7).Unix(), now.AddDate(0, 0, -callbill.NumberReleaseDays).Unix())
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var d due
			var until int64
			if err := rows.Scan(&d.account, &d.number, &until); err != nil {
				return err
			}
			d.until = time.Unix(until, 0)
			todo = append(todo, d)
		}
		return rows.Err()
	})
	if err != nil {
		return 0, err
	}
	renewed := 0
	for _, d := range todo {
		id := "renew:" + d.number + ":" + d.until.UTC().Format("20060102T150405")
		skipped, err := s.Purchase(ctx, callbill.Purchase{ID: id, Account: d.account, Kind: callbill.PurchaseNumberRent,
			Number: d.number, Months: 1})
		if callbill.ErrorCode(err) == callbill.EREFUSED {
			skipped = true // nothing renewed; the tenant is told
			err = s.inTx(ctx, func(tx *Tx) error {
				var n int
				cause := "auto-renewal " + id + " refused: " + callbill.ErrorMessage(err)
				if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM account_events WHERE account = ? AND cause = ?`, d.account, cause).Scan(&n); err != nil {
					return err
				}
				if n > 0 {
					return nil
				}
				return event(ctx, tx, d.account, now, "alert", "", cause)
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

// AccountExists returns ENOTFOUND for an unknown account.
func (s *Store) AccountExists(ctx context.Context, uid string) error {
	return s.readTx(ctx, func(tx *Tx) error { return mustAccount(ctx, tx, uid) })
}
