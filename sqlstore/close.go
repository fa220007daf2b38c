package sqlstore

import (
	"context"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/callbill/callbill"
	"github.com/callbill/callbill/closing"
)

// closingTx is closing.Tx on a transaction. accts holds the accounts a
// close read, whose cash Post moves and whose standing CloseThrough records.
type closingTx struct {
	tx    *Tx
	accts map[string]*account
}

// UpdateClosing runs fn under the closing lock: closes are serialized, and
// serialized against every other writer.
func (s *Store) UpdateClosing(ctx context.Context, fn func(tx closing.Tx, now time.Time) error) error {
	return s.inTx(ctx, func(tx *Tx) error {
		if err := s.lockClosing(ctx, tx); err != nil {
			return err
		}
		return fn(&closingTx{tx: tx}, s.Now())
	})
}

func (t *closingTx) Location(ctx context.Context) (*time.Location, error) {
	loc, _, err := location(ctx, t.tx)
	return loc, err
}

func (t *closingTx) Window(ctx context.Context, now time.Time, loc *time.Location) (callbill.Window, error) {
	return billingWindow(ctx, t.tx, now, loc)
}

func (t *closingTx) ClosedThrough(ctx context.Context) (callbill.Cycle, error) {
	return closedThrough(ctx, t.tx)
}

func (t *closingTx) FirstActivity(ctx context.Context) (callbill.Cycle, error) {
	first, err := getMetaInt(ctx, t.tx, "first_cycle")
	return callbill.Cycle(first), err
}

func (t *closingTx) PriceBook(ctx context.Context) (*callbill.PriceBook, error) {
	return loadPriceBook(ctx, t.tx)
}

func (t *closingTx) Accounts(ctx context.Context) ([]closing.Account, error) {
	accts, err := loadAllAccounts(ctx, t.tx)
	if err != nil {
		return nil, err
	}
	t.accts = accts
	out := make([]closing.Account, 0, len(accts))
	for _, a := range accts {
		out = append(out, closing.Account{Account: a.Account, Cash: a.Cash})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].UID < out[j].UID })
	return out, nil
}

func (t *closingTx) CountAccounts(ctx context.Context) (int, error) {
	var n int
	err := t.tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM accounts`).Scan(&n)
	return n, err
}

func (t *closingTx) Account(ctx context.Context, uid string) (*callbill.Account, error) {
	a, err := loadAccount(ctx, t.tx, uid)
	if err != nil {
		return nil, err
	}
	return &a.Account, nil
}

// PostpaidInputs reads the aggregates (never the calls): of the accounts
// asked when they are a few (OpenSpend of the accounts a budget evaluation
// or an authorization reads), else of the cycle's every account at once
// (a close).
func (t *closingTx) PostpaidInputs(ctx context.Context, q closing.InputsQuery) (map[string]*callbill.PostpaidInput, error) {
	c, accounts, daily := q.Cycle, q.Accounts, q.Daily
	inputs := map[string]*callbill.PostpaidInput{}
	for _, a := range accounts {
		inputs[a.UID] = &callbill.PostpaidInput{Account: a, Cycle: c, Daily: daily, Minutes400: map[string]int64{}, RecordingBytes: map[string]int64{}}
	}
	if len(accounts) == 0 {
		return inputs, nil
	}
	dayCol, dayGroup := "0", ""
	if daily {
		dayCol, dayGroup = "day", "day, "
	}
	where, args := "cycle = ?", []any{int(c)}
	var only string // "account IN (…) AND " for a few accounts
	var onlyArgs []any
	if len(accounts) <= maxInputsIn {
		uids := make([]string, len(accounts))
		for i, a := range accounts {
			uids[i] = a.UID
		}
		in, inArgs := inArgs(uids)
		only, onlyArgs = "account IN ("+in+") AND ", inArgs
		where, args = where+" AND "+everyDay+" AND account IN ("+in+")", append(args, inArgs...)
	}
	// Summed per line, then named: the lines are a few thousand, the
	// aggregates a line per day (migration 0016).
	rows, err := t.tx.QueryContext(ctx, `SELECT a.account, a.day, l.pd, l.instance, l.item, l.number, l.micro, l.price_from, l.band,
		a.usage, a.covered
		FROM (SELECT account, `+dayCol+` AS day, line, CAST(SUM(usage) AS BIGINT) AS usage, CAST(SUM(covered) AS BIGINT) AS covered
			FROM usage_agg WHERE `+where+` GROUP BY account, `+dayGroup+`line) a
		JOIN usage_lines l ON l.id = a.line`, args...)
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
	where, args = only+"start_cycle BETWEEN ? AND ?", append(onlyArgs, int(c)-maxRetention+1, int(c))
	rows, err = t.tx.QueryContext(ctx, `SELECT account, start_cycle, instance, bytes FROM recording_agg WHERE `+where, args...)
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

// maxInputsIn is how many accounts PostpaidInputs names in its queries; it
// reads the whole cycle for more.
const maxInputsIn = 200

// maxRetention is the longest recording retention a world file may set.
const maxRetention = 120

func (t *closingTx) Post(ctx context.Context, e *callbill.LedgerEntry) error {
	return post(ctx, t.tx, t.accts[e.Account], e, "")
}

// InsertBills writes the bills and their lines in multi-row statements: a
// close's cost grows with accounts and lines, not with calls.
func (t *closingTx) InsertBills(ctx context.Context, c callbill.Cycle, bills []closing.Frozen, now time.Time) error {
	var billArgs, lineArgs []any
	for _, b := range bills {
		billArgs = append(billArgs, b.Account, int(c), b.Total.String(), b.RoundDown.String(), b.Paid.String(), now.Unix())
		for i := range b.Lines {
			l := &b.Lines[i]
			lineArgs = append(lineArgs, b.Account, int(c), i, string(l.ProductDetail), l.Instance, string(l.Item), l.Number,
				callbill.FormatPrice(l.UnitPrice), l.PriceUnit, l.Usage.String(), l.UsageUnit, l.Covered.String(), l.Band,
				l.PriceFrom, l.ExactOriginal.String(), l.ExactDiscount.String(), l.ExactPayable.String(), l.Original.String(),
				l.Discount.String(), l.Payable.String())
		}
		if p := t.tx.s.ClosePause; p > 0 {
			time.Sleep(p)
		}
	}
	if err := execRows(ctx, t.tx, `INSERT INTO bills (account, cycle, postpaid_payable, round_down, paid, closed_at) VALUES `, "", 6, billArgs); err != nil {
		return err
	}
	return execRows(ctx, t.tx, `INSERT INTO bill_lines (account, cycle, idx, product_detail, instance, item, number,
		unit_price, price_unit, usage, usage_unit, covered, band, price_from, exact_original, exact_discount, exact_payable,
		original, discount, payable) VALUES `, "", 20, lineArgs)
}

func (t *closingTx) Emit(ctx context.Context, events []callbill.Event, now time.Time) error {
	return emitEvents(ctx, t.tx, now, events)
}

func (t *closingTx) CloseThrough(ctx context.Context, c callbill.Cycle, now time.Time, cause string) error {
	if err := setMeta(ctx, t.tx, "closed_through", strconv.Itoa(int(c))); err != nil {
		return err
	}
	if err := t.tx.s.recordStanding(ctx, t.tx, t.accts, now, cause); err != nil {
		return err
	}
	return bumpGen(ctx, t.tx)
}

// execRows runs head + "(?,…),(?,…)…" + tail over rows of width values each
// (args holds them flat), in as few statements as the parameter limit allows.
func execRows(ctx context.Context, tx *Tx, head, tail string, width int, args []any) error {
	if tx.s.dialect == dialectPostgres {
		if ok, err := unnestRows(ctx, tx, head, tail, width, args); ok {
			return err
		}
	}
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
