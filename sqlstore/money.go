package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"sort"
	"time"

	"github.com/callbill/callbill"
	"github.com/callbill/callbill/ledger"
	"github.com/shopspring/decimal"
)

// Money is persisted here; its rules are ledger.Service. accounts.cash and
// bills.paid are caches of sums over the ledger that VerifyLedger checks.

// UpdateLedger runs fn in a transaction under the writer lock and the
// accounts' locks (see ledger.Store).
func (s *Store) UpdateLedger(ctx context.Context, accounts []string, what string, fn func(tx ledger.Tx, now time.Time) error) error {
	return s.lockedTx(ctx, accounts, what, func(tx *Tx) error { return fn(ledgerTx{tx}, s.Now()) })
}

// lockedTx runs fn in a keyed transaction (keyedTx) under the writer lock
// and the accounts' locks.
func (s *Store) lockedTx(ctx context.Context, accounts []string, what string, fn func(tx *Tx) error) error {
	return s.keyedTx(ctx, what, func(tx *Tx) error {
		if err := s.lockWriter(ctx, tx); err != nil {
			return err
		}
		if err := s.lockAccounts(ctx, tx, sorted(accounts)); err != nil {
			return err
		}
		return fn(tx)
	})
}

// ViewLedger runs fn in a read-only transaction (see ledger.Store).
func (s *Store) ViewLedger(ctx context.Context, fn func(tx ledger.Tx, now time.Time) error) error {
	return s.readTx(ctx, func(tx *Tx) error { return fn(ledgerTx{tx}, s.Now()) })
}

func sorted(uids []string) []string {
	uids = append([]string(nil), uids...)
	sort.Strings(uids)
	return uids
}

// ledgerTx implements ledger.Tx on a transaction.
type ledgerTx struct{ tx *Tx }

var _ ledger.Tx = ledgerTx{}

func ledgerAccount(a *account) *ledger.Account {
	return &ledger.Account{Account: a.Account, Cash: a.Cash, State: a.State, BelowSince: a.BelowSince, LowAlerted: a.LowAlerted}
}

func (t ledgerTx) Account(ctx context.Context, uid string) (*ledger.Account, error) {
	a, err := loadAccount(ctx, t.tx, uid)
	if err != nil {
		return nil, err
	}
	return ledgerAccount(a), nil
}

func (t ledgerTx) AllAccounts(ctx context.Context) (map[string]*ledger.Account, error) {
	m, err := loadAllAccounts(ctx, t.tx)
	if err != nil {
		return nil, err
	}
	out := make(map[string]*ledger.Account, len(m))
	for u, a := range m {
		out[u] = ledgerAccount(a)
	}
	return out, nil
}

func (t ledgerTx) Accounts(ctx context.Context, uids []string) (map[string]*ledger.Account, error) {
	out := map[string]*ledger.Account{}
	for _, uid := range uids {
		m, err := loadAccounts(ctx, t.tx, uid)
		if err != nil {
			return nil, err
		}
		for u, a := range m {
			out[u] = ledgerAccount(a)
		}
	}
	return out, nil
}

func (t ledgerTx) LockAccounts(ctx context.Context, uids []string) error {
	return t.tx.s.lockAccounts(ctx, t.tx, sorted(uids))
}

// post moves a's cash by e's amount and appends e (a close's deductions).
func post(ctx context.Context, tx *Tx, a *account, e *callbill.LedgerEntry, request string) error {
	a.Cash = a.Cash.Add(e.Amount)
	e.Account, e.Balance = a.UID, a.Cash
	return ledgerTx{tx}.Post(ctx, e, request)
}

// recordStanding records the standing of accounts a close loaded and moved
// money of, by the ledger's rules.
func (s *Store) recordStanding(ctx context.Context, tx *Tx, accts map[string]*account, now time.Time, cause string) error {
	m := make(map[string]*ledger.Account, len(accts))
	for uid, a := range accts {
		m[uid] = ledgerAccount(a)
	}
	return ledger.Record(ctx, ledgerTx{tx}, m, now, cause)
}

// Post appends e, numbered after the account's last entry; a keyed entry
// whose key the account took already fails with a unique violation.
func (t ledgerTx) Post(ctx context.Context, e *callbill.LedgerEntry, request string) error {
	if _, err := t.tx.ExecContext(ctx, `UPDATE accounts SET cash = ? WHERE uid = ?`, e.Balance.String(), e.Account); err != nil {
		return err
	}
	err := t.tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(seq), 0) + 1 FROM ledger WHERE account = ?`, e.Account).Scan(&e.Seq)
	if err != nil {
		return err
	}
	_, err = t.tx.ExecContext(ctx, `INSERT INTO ledger (account, seq, at, kind, amount, cycle, ref, key, request, reason, corrects, balance)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		e.Account, e.Seq, e.At.Unix(), string(e.Kind), e.Amount.String(), int(e.Cycle), e.Ref, e.Key, request, e.Reason, e.Corrects, e.Balance.String())
	return err
}

const entryCols = `seq, at, kind, amount, balance, cycle, ref, key, reason, corrects, request`

func scanEntry(account string, row interface{ Scan(...any) error }) (*ledger.Entry, string, error) {
	e := ledger.Entry{LedgerEntry: callbill.LedgerEntry{Account: account}}
	var at int64
	var cycle int
	var amount, balance, request string
	if err := row.Scan(&e.Seq, &at, &e.Kind, &amount, &balance, &cycle, &e.Ref, &e.Key, &e.Reason, &e.Corrects, &request); err != nil {
		return nil, "", err
	}
	e.At, e.Cycle = time.Unix(at, 0), callbill.Cycle(cycle)
	var r decReader
	e.Amount = r.parse("amount", amount)
	if e.Balanced = balance != ""; e.Balanced {
		e.Balance = r.parse("balance", balance)
	}
	return &e, request, r.err("ledger", "account %s, entry %d", account, e.Seq)
}

func (t ledgerTx) EntryByKey(ctx context.Context, account, key string) (*callbill.LedgerEntry, string, error) {
	e, request, err := scanEntry(account, t.tx.QueryRowContext(ctx, `SELECT `+entryCols+` FROM ledger WHERE account = ? AND key = ?`, account, key))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, "", nil
	}
	if err != nil {
		return nil, "", err
	}
	return &e.LedgerEntry, request, nil
}

func (t ledgerTx) Entries(ctx context.Context, account string) ([]ledger.Entry, error) {
	rows, err := t.tx.QueryContext(ctx, `SELECT `+entryCols+` FROM ledger WHERE account = ? ORDER BY seq`, account)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []ledger.Entry
	for rows.Next() {
		e, _, err := scanEntry(account, rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *e)
	}
	return out, rows.Err()
}

// Ledger returns an account's ledger, oldest first. Returns ENOTFOUND for an
// unknown account.
func (s *Store) Ledger(ctx context.Context, uid string) ([]callbill.LedgerEntry, error) {
	var out []callbill.LedgerEntry
	err := s.readTx(ctx, func(tx *Tx) error {
		if err := mustAccount(ctx, tx, uid); err != nil {
			return err
		}
		entries, err := ledgerTx{tx}.Entries(ctx, uid)
		for _, e := range entries {
			out = append(out, e.LedgerEntry)
		}
		return err
	})
	return out, err
}

func (t ledgerTx) Bills(ctx context.Context, account string) ([]ledger.BillPaid, error) {
	rows, err := t.tx.QueryContext(ctx, `SELECT cycle, postpaid_payable, paid FROM bills WHERE account = ? ORDER BY cycle`, account)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []ledger.BillPaid
	for rows.Next() {
		var c int
		var payable, paid string
		if err := rows.Scan(&c, &payable, &paid); err != nil {
			return nil, err
		}
		var r decReader
		b := ledger.BillPaid{Cycle: callbill.Cycle(c), Paid: r.parse("paid", paid), Payable: r.parse("postpaid_payable", payable)}
		if err := r.err("bills", "account %s, cycle %s", account, b.Cycle); err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, rows.Err()
}

func (t ledgerTx) SetPaid(ctx context.Context, account string, cycle callbill.Cycle, paid decimal.Decimal) error {
	_, err := t.tx.ExecContext(ctx, `UPDATE bills SET paid = ? WHERE account = ? AND cycle = ?`, paid.String(), account, int(cycle))
	return err
}

func (t ledgerTx) Outstanding(ctx context.Context, uids []string) (map[string]decimal.Decimal, error) {
	return outstanding(ctx, t.tx, uids)
}

func (t ledgerTx) SetStanding(ctx context.Context, a *ledger.Account) error {
	flag := 0
	if a.LowAlerted {
		flag = 1
	}
	_, err := t.tx.ExecContext(ctx, `UPDATE accounts SET state = ?, below_since = ?, low_alerted = ? WHERE uid = ?`,
		string(a.State), unixOrZero(a.BelowSince), flag, a.UID)
	return err
}

func (t ledgerTx) StandingChanged(ctx context.Context) error {
	_, err := t.tx.ExecContext(ctx, `INSERT INTO meta (key, value) VALUES ('standing_gen', '1')
		ON CONFLICT (key) DO UPDATE SET value = CAST(CAST(meta.value AS BIGINT) + 1 AS TEXT)`)
	return err
}

func (t ledgerTx) RecordEvent(ctx context.Context, account string, e callbill.AccountEvent) error {
	_, err := t.tx.ExecContext(ctx, `INSERT INTO account_events (account, seq, at, kind, state, cause)
		VALUES (?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM account_events WHERE account = ?), ?, ?, ?, ?)`,
		account, account, e.At.Unix(), e.Kind, string(e.State), e.Cause)
	return err
}

func (t ledgerTx) HasEvent(ctx context.Context, account, cause string) (bool, error) {
	var n int
	err := t.tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM account_events WHERE account = ? AND cause = ?`, account, cause).Scan(&n)
	return n > 0, err
}

func (t ledgerTx) Emit(ctx context.Context, account, kind string, payload any) error {
	return emitEvent(ctx, t.tx, account, kind, payload)
}

func (t ledgerTx) Location(ctx context.Context) (*time.Location, error) {
	loc, _, err := location(ctx, t.tx)
	return loc, err
}

func (t ledgerTx) NoteActivity(ctx context.Context, c callbill.Cycle) error {
	return noteActivity(ctx, t.tx, c)
}

func (t ledgerTx) ClosedThrough(ctx context.Context) (callbill.Cycle, error) {
	return closedThrough(ctx, t.tx)
}

func (t ledgerTx) PriceBook(ctx context.Context) (*callbill.PriceBook, error) {
	return loadPriceBook(ctx, t.tx)
}

func (t ledgerTx) Window(ctx context.Context, now time.Time, loc *time.Location) (callbill.Window, error) {
	return billingWindow(ctx, t.tx, now, loc)
}

func (t ledgerTx) PurchaseApplied(ctx context.Context, account, id string) (string, time.Time, error) {
	var hash string
	var at int64
	err := t.tx.QueryRowContext(ctx, `SELECT hash, at FROM purchases WHERE account = ? AND id = ?`, account, id).Scan(&hash, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return "", time.Time{}, nil
	}
	return hash, time.Unix(at, 0), err
}

func (t ledgerTx) TopUpApplied(ctx context.Context, account, id string) (string, error) {
	var hash string
	err := t.tx.QueryRowContext(ctx, `SELECT hash FROM topups WHERE account = ? AND id = ?`, account, id).Scan(&hash)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return hash, err
}

func (t ledgerTx) InsertTopUp(ctx context.Context, tu *callbill.TopUp, cycle callbill.Cycle, hash string) error {
	_, err := t.tx.ExecContext(ctx, `INSERT INTO topups (account, id, amount, at, cycle, hash) VALUES (?, ?, ?, ?, ?, ?)`,
		tu.Account, tu.ID, tu.Amount.String(), tu.At.Unix(), int(cycle), hash)
	return err
}

func (t ledgerTx) InsertPurchase(ctx context.Context, p *callbill.Purchase, cycle callbill.Cycle, hash string, l *callbill.Line) error {
	_, err := t.tx.ExecContext(ctx, `INSERT INTO purchases (account, id, at, cycle, hash, product_detail, instance, item, number,
		unit_price, price_unit, usage, usage_unit, exact_original, exact_discount, exact_payable, original, discount, payable)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		p.Account, p.ID, p.At.Unix(), int(cycle), hash, string(l.ProductDetail), l.Instance, string(l.Item), l.Number,
		callbill.FormatPrice(l.UnitPrice), l.PriceUnit, l.Usage.String(), l.UsageUnit, l.ExactOriginal.String(), l.ExactDiscount.String(),
		l.ExactPayable.String(), l.Original.String(), l.Discount.String(), l.Payable.String())
	return err
}

func (t ledgerTx) InsertPackage(ctx context.Context, p *callbill.VoicePackage) error {
	since, err := t.tx.s.nextSeq(ctx, t.tx)
	if err != nil {
		return err
	}
	_, err = t.tx.ExecContext(ctx, `INSERT INTO packages (account, id, type, minutes, remaining, from_unix, until_unix, since_seq)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, p.Account, p.ID, string(p.Type), p.Minutes, p.Remaining, p.From.Unix(), p.Until.Unix(), since)
	return err
}

func (t ledgerTx) PaidUntil(ctx context.Context, n ledger.NumberRef) (time.Time, error) {
	var until int64
	err := t.tx.QueryRowContext(ctx, `SELECT paid_until FROM numbers WHERE account = ? AND instance = ? AND number = ?`,
		n.Account, n.Instance, n.Number).Scan(&until)
	return timeOrZero(until), err
}

func (t ledgerTx) SetPaidUntil(ctx context.Context, n ledger.NumberRef, until time.Time) error {
	_, err := t.tx.ExecContext(ctx, `UPDATE numbers SET paid_until = ? WHERE account = ? AND instance = ? AND number = ?`,
		until.Unix(), n.Account, n.Instance, n.Number)
	return err
}

func (t ledgerTx) Renewals(ctx context.Context, from, to time.Time) ([]ledger.Renewal, error) {
	rows, err := t.tx.QueryContext(ctx, `SELECT account, number, paid_until FROM numbers
		WHERE auto_renew = 1 AND paid_until <> 0 AND paid_until <= ? AND paid_until > ?`, to.Unix(), from.Unix())
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []ledger.Renewal
	for rows.Next() {
		var d ledger.Renewal
		var until int64
		if err := rows.Scan(&d.Account, &d.Number, &until); err != nil {
			return nil, err
		}
		d.Until = time.Unix(until, 0)
		out = append(out, d)
	}
	return out, rows.Err()
}
