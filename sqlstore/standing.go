package sqlstore

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"github.com/callbill/callbill"
	"github.com/shopspring/decimal"
)

// Reads of accounts' money and standing: what status pages and call
// authorization show. The rules that change them are ledger.Service's.

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
		a, err := loadAccountRow(ctx, tx, uid) // its numbers are read below, with their rent
		if err != nil {
			return err
		}
		owed, err := outstanding(ctx, tx, []string{uid})
		if err != nil {
			return err
		}
		now := s.Now()
		st = &callbill.AccountStatus{UID: uid, Name: a.Name, Standing: *ledgerAccount(a).Standing(owed[uid]), AskedAt: now, Recorded: a.State,
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

// AuthSnapshot reads what call authorization answers from (see
// authz.Store): the directory, the numbers' rent, every account's standing,
// contract and voice packages, the price book, the time zone and the cap.
func (s *Store) AuthSnapshot(ctx context.Context) (*callbill.AuthSnapshot, error) {
	var snap *callbill.AuthSnapshot
	err := s.readTx(ctx, func(tx *Tx) error {
		accts, err := loadAllAccounts(ctx, tx)
		if err != nil {
			return err
		}
		snap, err = authSnapshot(ctx, tx, accts, s.Now())
		return err
	})
	return snap, err
}

// Changes returns a counter that moves whenever what authorization reads
// may have changed (a world apply, a close, a money movement). It reads
// outside any transaction, so asking it often costs no lock.
func (s *Store) Changes(ctx context.Context) (string, error) {
	db := s.reader()
	var gen, standing sql.NullString
	err := db.QueryRowContext(ctx, s.rebind(`SELECT (SELECT value FROM meta WHERE key = 'gen'), (SELECT value FROM meta WHERE key = 'standing_gen')`)).
		Scan(&gen, &standing)
	return gen.String + "/" + standing.String, err
}

// AccountExists returns ENOTFOUND for an unknown account.
func (s *Store) AccountExists(ctx context.Context, uid string) error {
	return s.readTx(ctx, func(tx *Tx) error { return mustAccount(ctx, tx, uid) })
}
