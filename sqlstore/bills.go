package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"time"

	"github.com/callbill/callbill"
	"github.com/callbill/callbill/closing"
	"github.com/shopspring/decimal"
)

// Bill views: the closed bills and the purchases of a cycle as stored.

// ViewBills runs fn in a read-only transaction.
func (s *Store) ViewBills(ctx context.Context, fn func(tx closing.Tx, now time.Time) error) error {
	return s.readTx(ctx, func(tx *Tx) error { return fn(&closingTx{tx: tx}, s.Now()) })
}

// lineCols are the columns of a stored line, as scanLine reads them.
const lineCols = `product_detail, instance, item, number, unit_price, price_unit, usage, usage_unit, exact_original, exact_discount,
	exact_payable, original, discount, payable`

// scanLine reads lineCols after extra into l; covered, when not nil, is
// one of the extra columns.
func scanLine(rows *sql.Rows, l *callbill.Line, covered *string, extra ...any) (decReader, error) {
	var r decReader
	var up, usage, eo, ed, ep, o, d, p string
	dest := append(extra, &l.ProductDetail, &l.Instance, &l.Item, &l.Number, &up, &l.PriceUnit, &usage, &l.UsageUnit, &eo, &ed, &ep, &o, &d, &p)
	if err := rows.Scan(dest...); err != nil {
		return r, err
	}
	l.UnitPrice, l.Usage, l.Covered = r.parse("unit_price", up), r.parse("usage", usage), decimal.Zero
	if covered != nil {
		l.Covered = r.parse("covered", *covered)
	}
	l.ExactOriginal, l.ExactDiscount, l.ExactPayable = r.parse("exact_original", eo), r.parse("exact_discount", ed), r.parse("exact_payable", ep)
	l.Original, l.Discount, l.Payable = r.parse("original", o), r.parse("discount", d), r.parse("payable", p)
	return r, nil
}

func (t *closingTx) Purchases(ctx context.Context, account string, c callbill.Cycle, loc *time.Location) ([]callbill.Line, error) {
	m, err := t.purchases(ctx, loc, "account = ? AND cycle = ?", account, int(c))
	return m[account], err
}

func (t *closingTx) AllPurchases(ctx context.Context, c callbill.Cycle, loc *time.Location) (map[string][]callbill.Line, error) {
	return t.purchases(ctx, loc, "cycle = ?", int(c))
}

// purchases reads the purchase lines that match where, by account.
func (t *closingTx) purchases(ctx context.Context, loc *time.Location, where string, args ...any) (map[string][]callbill.Line, error) {
	rows, err := t.tx.QueryContext(ctx, `SELECT account, id, at, `+lineCols+` FROM purchases WHERE `+where+` ORDER BY account, at, id`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string][]callbill.Line{}
	for rows.Next() {
		var l callbill.Line
		var uid string
		var at int64
		r, err := scanLine(rows, &l, nil, &uid, &l.PurchaseID, &at)
		if err != nil {
			return nil, err
		}
		if err := r.err("purchases", "account %s, purchase %s", uid, l.PurchaseID); err != nil {
			return nil, err
		}
		l.PurchaseAt = time.Unix(at, 0).In(loc)
		l.SubscriptionType = callbill.SubscriptionTypeSubscription
		out[uid] = append(out[uid], l)
	}
	return out, rows.Err()
}

func (t *closingTx) ClosedBill(ctx context.Context, account string, c callbill.Cycle) (*closing.Frozen, error) {
	f := &closing.Frozen{Account: account, Total: decimal.Zero, RoundDown: decimal.Zero, Paid: decimal.Zero}
	var total, rd, paid string
	err := t.tx.QueryRowContext(ctx, `SELECT postpaid_payable, round_down, paid FROM bills WHERE account = ? AND cycle = ?`, account, int(c)).
		Scan(&total, &rd, &paid)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, err
	}
	if err == nil {
		var r decReader
		f.Total, f.RoundDown, f.Paid = r.parse("postpaid_payable", total), r.parse("round_down", rd), r.parse("paid", paid)
		if err := r.err("bills", "account %s, cycle %s", account, c); err != nil {
			return nil, err
		}
	}
	return f, nil
}

func (t *closingTx) ClosedLines(ctx context.Context, account string, c callbill.Cycle) ([]callbill.Line, error) {
	var lines []callbill.Line
	rows, err := t.tx.QueryContext(ctx, `SELECT idx, covered, band, price_from, `+lineCols+`
		FROM bill_lines WHERE account = ? AND cycle = ? ORDER BY idx`, account, int(c))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var l callbill.Line
		var idx int
		var covered string
		r, err := scanLine(rows, &l, &covered, &idx, &covered, &l.Band, &l.PriceFrom)
		if err != nil {
			return nil, err
		}
		if err := r.err("bill_lines", "account %s, cycle %s, line %d", account, c, idx); err != nil {
			return nil, err
		}
		l.SubscriptionType = callbill.SubscriptionTypePayAsYouGo
		lines = append(lines, l)
	}
	return lines, rows.Err()
}

func (t *closingTx) Adjustments(ctx context.Context, account string, c callbill.Cycle) ([]callbill.LedgerEntry, error) {
	rows, err := t.tx.QueryContext(ctx, `SELECT seq, at, amount, key, reason, corrects FROM ledger
		WHERE account = ? AND kind = 'adjust' AND cycle = ? ORDER BY seq`, account, int(c))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []callbill.LedgerEntry
	for rows.Next() {
		e := callbill.LedgerEntry{Account: account, Kind: callbill.LedgerAdjust, Cycle: c}
		var at int64
		var amount string
		if err := rows.Scan(&e.Seq, &at, &amount, &e.Key, &e.Reason, &e.Corrects); err != nil {
			return nil, err
		}
		var r decReader
		e.At, e.Amount = time.Unix(at, 0), r.parse("amount", amount)
		if err := r.err("ledger", "account %s, entry %d", account, e.Seq); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// Location returns the billing time zone. It reads its one row outside any
// transaction, like Changes: a usage page asks for it beside its own read.
func (s *Store) Location(ctx context.Context) (*time.Location, error) {
	var name string
	err := s.reader().QueryRowContext(ctx, s.rebind(`SELECT value FROM meta WHERE key = 'timezone'`)).Scan(&name)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, err
	}
	loc, _, err := billingLocation(name)
	return loc, err
}

// CallsVersion says when the account's calls billed in cycle c last changed:
// a counter every import batch that stores calls of theirs moves in its
// transaction (table call_versions). It reads outside any transaction.
func (s *Store) CallsVersion(ctx context.Context, uid string, c callbill.Cycle) (string, error) {
	db := s.reader()
	var n int64
	err := db.QueryRowContext(ctx, s.rebind(`SELECT version FROM call_versions WHERE account = ? AND cycle = ?`), uid, int(c)).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return "0", nil
	}
	return strconv.FormatInt(n, 10), err
}
