package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/callbill/callbill"
	"github.com/shopspring/decimal"
)

// CloseCycle closes cycle c and, oldest first, every earlier cycle not yet
// closed from the first cycle holding any activity (DESIGN §3.10). It is
// atomic and idempotent. Closing a cycle that has not ended yet is refused.
func (s *Store) CloseCycle(ctx context.Context, c callbill.Cycle) (*callbill.CloseReport, error) {
	rep := &callbill.CloseReport{}
	err := s.inTx(ctx, func(tx *Tx) error {
		if err := s.lockClosing(ctx, tx); err != nil {
			return err
		}
		closed, err := closedThrough(ctx, tx)
		if err != nil {
			return err
		}
		if c <= closed {
			// A cycle before the first billable one was never closed, even
			// when a later one was: say so rather than "already closed".
			loc, _, err := location(ctx, tx)
			if err != nil {
				return err
			}
			if err := checkView(ctx, tx, s.Now(), loc, c, closed); err != nil {
				return err
			}
			rep.AlreadyClosed = true
			return nil
		}
		loc, _, err := location(ctx, tx)
		if err != nil {
			return err
		}
		now := s.Now() // one clock reading for the whole close
		if now.Before(c.End(loc)) {
			return callbill.Errorf(callbill.EREFUSED, "cycle %s has not ended yet (it ends %s); its live preview is on the open bill",
				c, c.End(loc).Format(time.RFC3339))
		}
		window, err := billingWindow(ctx, tx, now, loc)
		if err != nil {
			return err
		}
		if c < window.FirstCycle {
			return callbill.Errorf(callbill.EINVALID, "cycle %s is before the first billable cycle %s (billing.first_cycle): there is nothing to close",
				c, window.FirstCycle)
		}
		first, err := getMetaInt(ctx, tx, "first_cycle") // the earliest cycle holding activity
		if err != nil {
			return err
		}
		start := c
		if closed != 0 {
			start = closed + 1
		} else if first != 0 && callbill.Cycle(first) < c {
			start = callbill.Cycle(first)
		}
		// Closing never reaches before the first billable cycle, whatever an
		// older release let in.
		start = max(start, window.FirstCycle)
		book, err := loadPriceBook(ctx, tx)
		if err != nil {
			return err
		}
		accts, err := loadAccounts(ctx, tx, "")
		if err != nil {
			return err
		}
		uids := make([]string, 0, len(accts))
		for uid := range accts {
			uids = append(uids, uid)
		}
		sort.Strings(uids)
		for cy := start; cy <= c; cy++ {
			if err := s.closeAccounts(ctx, tx, accts, uids, cy, loc, book, now); err != nil {
				return err
			}
			rep.Closed = append(rep.Closed, cy)
		}
		if err := setMeta(ctx, tx, "closed_through", strconv.Itoa(int(c))); err != nil {
			return err
		}
		if err := s.recordStanding(ctx, tx, accts, now, "bill "+c.String()+" closed"); err != nil {
			return err
		}
		return bumpGen(ctx, tx)
	})
	if err != nil {
		return nil, err
	}
	return rep, nil
}

// closeAccounts freezes every account's postpaid lines for a cycle and
// deducts each total payable from cash as far as it goes; the rest is
// outstanding. It reads the cycle's aggregates for all accounts at once and
// writes the bills in multi-row statements: its cost grows with accounts and
// lines, not with calls.
func (s *Store) closeAccounts(ctx context.Context, tx *Tx, accts map[string]*account, uids []string, c callbill.Cycle, loc *time.Location, book *callbill.PriceBook, now time.Time) error {
	inputs, err := postpaidInputs(ctx, tx, accts, "", c, loc, book, false)
	if err != nil {
		return err
	}
	var billArgs, lineArgs []any
	events := newBillEvents(c)
	for _, uid := range uids {
		a := accts[uid]
		lines, err := callbill.PostpaidLines(inputs[uid])
		if err != nil {
			return err
		}
		total, roundDown := callbill.RoundPostpaid(lines)
		paid := decimal.Zero
		if a.Cash.IsPositive() && total.IsPositive() {
			paid = decimal.Min(a.Cash, total)
			if err := post(ctx, tx, a, &callbill.LedgerEntry{At: now, Kind: callbill.LedgerDeduct, Amount: paid.Neg(), Cycle: c,
				Ref: "bill:" + c.String()}, ""); err != nil {
				return err
			}
		}
		billArgs = append(billArgs, a.UID, int(c), total.String(), roundDown.String(), paid.String(), now.Unix())
		events.add(a.UID, lines, roundDown, total, paid)
		for i := range lines {
			l := &lines[i]
			lineArgs = append(lineArgs, a.UID, int(c), i, string(l.ProductDetail), l.Instance, string(l.Item), l.Number,
				callbill.FormatPrice(l.UnitPrice), l.PriceUnit, l.Usage.String(), l.UsageUnit, l.Covered.String(), l.Band,
				l.PriceFrom, l.ExactOriginal.String(), l.ExactDiscount.String(), l.ExactPayable.String(), l.Original.String(),
				l.Discount.String(), l.Payable.String())
		}
		if s.ClosePause > 0 {
			time.Sleep(s.ClosePause)
		}
	}
	if err := execRows(ctx, tx, `INSERT INTO bills (account, cycle, postpaid_payable, round_down, paid, closed_at) VALUES `, "", 6, billArgs); err != nil {
		return err
	}
	if err := execRows(ctx, tx, `INSERT INTO bill_lines (account, cycle, idx, product_detail, instance, item, number,
		unit_price, price_unit, usage, usage_unit, covered, band, price_from, exact_original, exact_discount, exact_payable,
		original, discount, payable) VALUES `, "", 20, lineArgs); err != nil {
		return err
	}
	return events.emit(ctx, tx)
}

// postpaidInputs reads what closing or previewing a cycle needs from the
// aggregates (never from calls): for one account, or for all when uid is "".
func postpaidInputs(ctx context.Context, q querier, accts map[string]*account, uid string, c callbill.Cycle, loc *time.Location, book *callbill.PriceBook, daily bool) (map[string]*callbill.PostpaidInput, error) {
	inputs := map[string]*callbill.PostpaidInput{}
	for id, a := range accts {
		if uid == "" || id == uid {
			inputs[id] = &callbill.PostpaidInput{Account: &a.Account, Cycle: c, Loc: loc, Book: book, Daily: daily,
				Minutes400: map[string]int64{}, RecordingBytes: map[string]int64{}}
		}
	}
	dayCol, dayGroup := "0", ""
	if daily {
		dayCol, dayGroup = "day", "day, "
	}
	where, args := "cycle = ?", []any{int(c)}
	if uid != "" {
		where, args = "account = ? AND cycle = ?", []any{uid, int(c)}
	}
	rows, err := q.QueryContext(ctx, `SELECT account, `+dayCol+`, pd, instance, item, number, micro, price_from, band,
		CAST(SUM(usage) AS BIGINT), CAST(SUM(covered) AS BIGINT)
		FROM usage_agg WHERE `+where+`
		GROUP BY account, `+dayGroup+`pd, instance, item, number, micro, price_from, band`, args...)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var acct string
		var u callbill.UsageRow
		if err := rows.Scan(&acct, &u.Day, &u.PD, &u.Instance, &u.Item, &u.Number, &u.Micro, &u.PriceFrom, &u.Band, &u.Usage, &u.Covered); err != nil {
			rows.Close()
			return nil, err
		}
		in := inputs[acct]
		if in == nil {
			continue
		}
		if u.Item == callbill.ItemInbound400 {
			in.Minutes400[u.Number] += u.Usage + u.Covered
		}
		in.Usage = append(in.Usage, u)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	// Recording bytes of the retention window, which is per account: read
	// the widest window and keep each account's own.
	where, args = "start_cycle BETWEEN ? AND ?", []any{int(c) - maxRetention + 1, int(c)}
	if uid != "" {
		where, args = "account = ? AND "+where, append([]any{uid}, args...)
	}
	rows, err = q.QueryContext(ctx, `SELECT account, start_cycle, instance, bytes FROM recording_agg WHERE `+where, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var acct, inst string
		var start int
		var b int64
		if err := rows.Scan(&acct, &start, &inst, &b); err != nil {
			return nil, err
		}
		in := inputs[acct]
		if in == nil {
			continue
		}
		retention := in.Account.RecordingRetentionMonths
		if retention <= 0 {
			retention = callbill.DefaultRetentionMonths
		}
		if start > int(c)-retention {
			in.RecordingBytes[inst] += b
		}
	}
	return inputs, rows.Err()
}

// maxRetention is the longest recording retention a world file may set.
const maxRetention = 120

// postpaidLines computes one account's postpaid lines for a cycle, exact, in line order.
func postpaidLines(ctx context.Context, q querier, a *account, c callbill.Cycle, loc *time.Location, book *callbill.PriceBook, daily bool) ([]callbill.Line, error) {
	inputs, err := postpaidInputs(ctx, q, map[string]*account{a.UID: a}, a.UID, c, loc, book, daily)
	if err != nil {
		return nil, err
	}
	return callbill.PostpaidLines(inputs[a.UID])
}

// execRows runs head + "(?,…),(?,…)…" + tail over rows of width values each
// (args holds them flat), in as few statements as the parameter limit allows.
func execRows(ctx context.Context, tx *Tx, head, tail string, width int, args []any) error {
	per := maxParams / width
	for start := 0; start < len(args); start += per * width {
		part := args[start:min(start+per*width, len(args))]
		if _, err := tx.ExecContext(ctx, rowsSQL(head, tail, width, len(part)/width), part...); err != nil {
			return err
		}
	}
	return nil
}

// rowsSQL builds a multi-row statement of n rows.
func rowsSQL(head, tail string, width, n int) string {
	row := "(?" + strings.Repeat(",?", width-1) + ")"
	return head + row + strings.Repeat(","+row, n-1) + tail
}

// checkView refuses a bill view of a cycle no bill can exist in.
func checkView(ctx context.Context, q querier, now time.Time, loc *time.Location, c, closed callbill.Cycle) error {
	window, err := billingWindow(ctx, q, now, loc)
	if err != nil {
		return err
	}
	first, err := getMetaInt(ctx, q, "first_cycle")
	if err != nil {
		return err
	}
	return window.CheckView(c, callbill.Cycle(first), closed)
}

// Location returns the billing time zone.
func (s *Store) Location(ctx context.Context) (*time.Location, error) {
	var loc *time.Location
	err := s.readTx(ctx, func(tx *Tx) error {
		var err error
		loc, _, err = location(ctx, tx)
		return err
	})
	return loc, err
}

// Bill returns an account's bill for a cycle: the frozen bill of a closed
// cycle or the live preview of an open one. With daily set, the postpaid
// lines are split per day (Line.Day), rounded together so that the days add
// up to the cycle's total. Returns ENOTFOUND for an unknown account.
func (s *Store) Bill(ctx context.Context, uid string, c callbill.Cycle, daily bool) (*callbill.Bill, error) {
	var bill *callbill.Bill
	err := s.readTx(ctx, func(tx *Tx) error {
		a, err := loadAccount(ctx, tx, uid)
		if err != nil {
			return err
		}
		loc, _, err := location(ctx, tx)
		if err != nil {
			return err
		}
		closed, err := closedThrough(ctx, tx)
		if err != nil {
			return err
		}
		if err := checkView(ctx, tx, s.Now(), loc, c, closed); err != nil {
			return err
		}
		purchases, err := purchaseLines(ctx, tx, uid, c, loc)
		if err != nil {
			return err
		}
		status := callbill.BillStatusOpen
		var lines []callbill.Line
		total, roundDown, paid := decimal.Zero, decimal.Zero, decimal.Zero
		if c <= closed {
			status = callbill.BillStatusClosed
			var t, rd, p string
			err := tx.QueryRowContext(ctx, `SELECT postpaid_payable, round_down, paid FROM bills WHERE account = ? AND cycle = ?`, uid, int(c)).Scan(&t, &rd, &p)
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return err
			}
			if err == nil {
				total, roundDown, paid = decimal.RequireFromString(t), decimal.RequireFromString(rd), decimal.RequireFromString(p)
			}
			if !daily {
				if lines, err = frozenLines(ctx, tx, uid, c); err != nil {
					return err
				}
			}
		}
		if status == callbill.BillStatusOpen || daily {
			book, err := loadPriceBook(ctx, tx)
			if err != nil {
				return err
			}
			if lines, err = postpaidLines(ctx, tx, a, c, loc, book, daily); err != nil {
				return err
			}
			t, rd := callbill.RoundPostpaid(lines)
			if status == callbill.BillStatusOpen {
				total, roundDown = t, rd
			}
		}
		if daily {
			for i := range purchases {
				purchases[i].Day = purchases[i].PurchaseAt.In(loc).Day()
			}
		}
		bill = callbill.AssembleBill(uid, c, status, lines, roundDown, total, paid, purchases)
		bill.Adjustments, err = adjustments(ctx, tx, uid, c)
		return err
	})
	return bill, err
}

func frozenLines(ctx context.Context, q querier, uid string, c callbill.Cycle) ([]callbill.Line, error) {
	rows, err := q.QueryContext(ctx, `SELECT product_detail, instance, item, number, unit_price, price_unit, usage, usage_unit,
		covered, band, price_from, exact_original, exact_discount, exact_payable, original, discount, payable
		FROM bill_lines WHERE account = ? AND cycle = ? ORDER BY idx`, uid, int(c))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []callbill.Line
	for rows.Next() {
		var l callbill.Line
		var up, usage, covered, eo, ed, ep, o, d, p string
		if err := rows.Scan(&l.ProductDetail, &l.Instance, &l.Item, &l.Number, &up, &l.PriceUnit, &usage, &l.UsageUnit,
			&covered, &l.Band, &l.PriceFrom, &eo, &ed, &ep, &o, &d, &p); err != nil {
			return nil, err
		}
		l.SubscriptionType = callbill.SubscriptionTypePayAsYouGo
		l.UnitPrice, l.Usage, l.Covered = decimal.RequireFromString(up), decimal.RequireFromString(usage), decimal.RequireFromString(covered)
		l.ExactOriginal, l.ExactDiscount, l.ExactPayable = decimal.RequireFromString(eo), decimal.RequireFromString(ed), decimal.RequireFromString(ep)
		l.Original, l.Discount, l.Payable = decimal.RequireFromString(o), decimal.RequireFromString(d), decimal.RequireFromString(p)
		out = append(out, l)
	}
	return out, rows.Err()
}

func purchaseLines(ctx context.Context, q querier, uid string, c callbill.Cycle, loc *time.Location) ([]callbill.Line, error) {
	rows, err := q.QueryContext(ctx, `SELECT id, at, product_detail, instance, item, number, unit_price, price_unit, usage, usage_unit,
		exact_original, exact_discount, exact_payable, original, discount, payable
		FROM purchases WHERE account = ? AND cycle = ? ORDER BY at, id`, uid, int(c))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []callbill.Line
	for rows.Next() {
		var l callbill.Line
		var at int64
		var up, usage, eo, ed, ep, o, d, p string
		if err := rows.Scan(&l.PurchaseID, &at, &l.ProductDetail, &l.Instance, &l.Item, &l.Number, &up, &l.PriceUnit, &usage,
			&l.UsageUnit, &eo, &ed, &ep, &o, &d, &p); err != nil {
			return nil, err
		}
		l.PurchaseAt = time.Unix(at, 0).In(loc)
		l.SubscriptionType = callbill.SubscriptionTypeSubscription
		l.UnitPrice, l.Usage, l.Covered = decimal.RequireFromString(up), decimal.RequireFromString(usage), decimal.Zero
		l.ExactOriginal, l.ExactDiscount, l.ExactPayable = decimal.RequireFromString(eo), decimal.RequireFromString(ed), decimal.RequireFromString(ep)
		l.Original, l.Discount, l.Payable = decimal.RequireFromString(o), decimal.RequireFromString(d), decimal.RequireFromString(p)
		out = append(out, l)
	}
	return out, rows.Err()
}

// adjustments returns the adjustments made in an account's cycle.
func adjustments(ctx context.Context, tx *Tx, uid string, c callbill.Cycle) ([]callbill.LedgerEntry, error) {
	rows, err := tx.QueryContext(ctx, `SELECT seq, at, amount, key, reason, corrects FROM ledger
		WHERE account = ? AND kind = 'adjust' AND cycle = ? ORDER BY seq`, uid, int(c))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []callbill.LedgerEntry
	for rows.Next() {
		e := callbill.LedgerEntry{Account: uid, Kind: callbill.LedgerAdjust, Cycle: c}
		var at int64
		var amount string
		if err := rows.Scan(&e.Seq, &at, &amount, &e.Key, &e.Reason, &e.Corrects); err != nil {
			return nil, err
		}
		e.At, e.Amount = time.Unix(at, 0), decimal.RequireFromString(amount)
		out = append(out, e)
	}
	return out, rows.Err()
}
