package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/callbill/callbill"
	"github.com/shopspring/decimal"
)

// Invoices (DESIGN §3.11, docs/invoices.md): titles, the invoiceable amount
// and applications. An application is checked against the invoiceable
// amount and inserted in one transaction under the account's lock, so two
// applications at once can never together exceed it.

// MaxInvoiceTitles is how many titles an account may keep.
const MaxInvoiceTitles = 50

// newID makes an id: a prefix, the date and 40 random bits, e.g. INV20270601-3F9A2B7C01.
// acctInfo is what invoices and contracts read of an account.
type acctInfo struct {
	name string
	kind callbill.AccountKind
	cash decimal.Decimal
}

func accountInfo(ctx context.Context, q querier, uid string) (*acctInfo, error) {
	var a acctInfo
	var cash string
	err := q.QueryRowContext(ctx, `SELECT name, kind, cash FROM accounts WHERE uid = ?`, uid).Scan(&a.name, &a.kind, &cash)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, callbill.Errorf(callbill.ENOTFOUND, "account %s not found", uid)
	}
	if err != nil {
		return nil, err
	}
	var r decReader
	a.cash = r.parse("cash", cash)
	return &a, r.err("accounts", "account %s", uid)
}

const titleCols = `id, account, kind, type, name, tax_id, bank, bank_account, address, phone, created_at, updated_at`

func scanTitle(row interface{ Scan(...any) error }) (*callbill.InvoiceTitle, error) {
	var t callbill.InvoiceTitle
	var created, updated int64
	if err := row.Scan(&t.ID, &t.Account, &t.Kind, &t.Type, &t.Name, &t.TaxID, &t.Bank, &t.BankAccount, &t.Address, &t.Phone,
		&created, &updated); err != nil {
		return nil, err
	}
	t.CreatedAt, t.UpdatedAt = time.Unix(created, 0), time.Unix(updated, 0)
	return &t, nil
}

func loadTitle(ctx context.Context, q querier, uid, id string) (*callbill.InvoiceTitle, error) {
	t, err := scanTitle(q.QueryRowContext(ctx, `SELECT `+titleCols+` FROM invoice_titles WHERE account = ? AND id = ?`, uid, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, callbill.Errorf(callbill.ENOTFOUND, "invoice title %s not found", id)
	}
	return t, err
}

// InvoiceTitles lists an account's titles, oldest first.
func (s *Store) InvoiceTitles(ctx context.Context, uid string) ([]callbill.InvoiceTitle, error) {
	var out []callbill.InvoiceTitle
	err := s.readTx(ctx, func(tx *Tx) error {
		if err := mustAccount(ctx, tx, uid); err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, `SELECT `+titleCols+` FROM invoice_titles WHERE account = ? ORDER BY created_at, id`, uid)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			t, err := scanTitle(rows)
			if err != nil {
				return err
			}
			out = append(out, *t)
		}
		return rows.Err()
	})
	return out, err
}

// InvoiceTitle returns one of an account's titles (ENOTFOUND for another
// account's).
func (s *Store) InvoiceTitle(ctx context.Context, uid, id string) (*callbill.InvoiceTitle, error) {
	var t *callbill.InvoiceTitle
	err := s.readTx(ctx, func(tx *Tx) error {
		var err error
		t, err = loadTitle(ctx, tx, uid, id)
		return err
	})
	return t, err
}

// SaveInvoiceTitle creates a title (t.ID "") or replaces one of the
// account's. It is validated against the account's real-name identity.
// Applications keep the title as it was when they were made.
func (s *Store) SaveInvoiceTitle(ctx context.Context, t callbill.InvoiceTitle) (*callbill.InvoiceTitle, error) {
	t.Normalize()
	err := s.inTx(ctx, func(tx *Tx) error {
		a, err := accountInfo(ctx, tx, t.Account)
		if err != nil {
			return err
		}
		if err := t.Check(a.kind); err != nil {
			return err
		}
		now := s.Now()
		if t.ID == "" {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM invoice_titles WHERE account = ?`, t.Account).Scan(&n); err != nil {
				return err
			}
			if n >= MaxInvoiceTitles {
				return callbill.Errorf(callbill.EREFUSED, "account %s has %d invoice titles, the most it may keep: delete one first", t.Account, n)
			}
			t.ID, t.CreatedAt, t.UpdatedAt = callbill.NewDocumentID("TI", now), now, now
			_, err := tx.ExecContext(ctx, `INSERT INTO invoice_titles (`+titleCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				t.ID, t.Account, string(t.Kind), string(t.Type), t.Name, t.TaxID, t.Bank, t.BankAccount, t.Address, t.Phone,
				now.Unix(), now.Unix())
			return err
		}
		old, err := loadTitle(ctx, tx, t.Account, t.ID)
		if err != nil {
			return err
		}
		t.CreatedAt, t.UpdatedAt = old.CreatedAt, now
		_, err = tx.ExecContext(ctx, `UPDATE invoice_titles SET kind = ?, type = ?, name = ?, tax_id = ?, bank = ?, bank_account = ?,
			address = ?, phone = ?, updated_at = ? WHERE account = ? AND id = ?`,
			string(t.Kind), string(t.Type), t.Name, t.TaxID, t.Bank, t.BankAccount, t.Address, t.Phone, now.Unix(), t.Account, t.ID)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &t, nil
}

// DeleteInvoiceTitle deletes one of the account's titles; applications made
// with it keep their copy.
func (s *Store) DeleteInvoiceTitle(ctx context.Context, uid, id string) error {
	return s.inTx(ctx, func(tx *Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM invoice_titles WHERE account = ? AND id = ?`, uid, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return callbill.Errorf(callbill.ENOTFOUND, "invoice title %s not found", id)
		}
		return nil
	})
}

// invoiceable works out what an account may still invoice (docs/invoices.md):
// what its cash paid for consumption — purchases, bill deductions at close,
// settlements of arrears, net of adjustments (a credit gives money back, a
// debit charges more) and less any part a debit left unpaid (cash below 0) —
// minus what is issued or pending. Top-ups count only once consumed.
func invoiceable(ctx context.Context, tx *Tx, uid string, a *acctInfo) (*callbill.Invoiceable, error) {
	rows, err := tx.QueryContext(ctx, `SELECT seq, amount FROM ledger WHERE account = ? AND kind <> ?`, uid, string(callbill.LedgerTopUp))
	if err != nil {
		return nil, err
	}
	paid := decimal.Zero
	for rows.Next() {
		var seq int64
		var amount string
		if err := rows.Scan(&seq, &amount); err != nil {
			rows.Close()
			return nil, err
		}
		var r decReader
		amt := r.parse("amount", amount)
		if err := r.err("ledger", "account %s, entry %d", uid, seq); err != nil {
			rows.Close()
			return nil, err
		}
		paid = paid.Sub(amt)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	unpaidDebit := decimal.Max(decimal.Zero, a.cash.Neg())
	paid = decimal.Max(decimal.Zero, paid.Sub(unpaidDebit))
	inv := &callbill.Invoiceable{Account: uid, PaidFen: callbill.Fen(paid)}
	rows, err = tx.QueryContext(ctx, `SELECT state, COALESCE(SUM(amount_fen), 0) FROM invoice_applications
		WHERE account = ? AND state IN (?, ?) GROUP BY state`, uid, string(callbill.InvoiceIssued), string(callbill.InvoicePending))
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var state string
		var sum int64
		if err := rows.Scan(&state, &sum); err != nil {
			rows.Close()
			return nil, err
		}
		if state == string(callbill.InvoiceIssued) {
			inv.IssuedFen = sum
		} else {
			inv.PendingFen = sum
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	inv.InvoiceableFen = max(0, inv.PaidFen-inv.IssuedFen-inv.PendingFen)
	owed, err := outstanding(ctx, tx, []string{uid})
	if err != nil {
		return nil, err
	}
	inv.OwedFen = callbill.Fen(owed[uid].Add(unpaidDebit))
	return inv, nil
}

// Invoiceable returns what an account may still invoice, and its arrears.
func (s *Store) Invoiceable(ctx context.Context, uid string) (*callbill.Invoiceable, error) {
	var inv *callbill.Invoiceable
	err := s.readTx(ctx, func(tx *Tx) error {
		a, err := accountInfo(ctx, tx, uid)
		if err != nil {
			return err
		}
		inv, err = invoiceable(ctx, tx, uid, a)
		return err
	})
	return inv, err
}

const applicationCols = `id, account, title, type, amount_fen, remark, state, key, request, created_at, invoice_no, invoice_date, reason, decided_at`

func scanApplication(row interface{ Scan(...any) error }) (*callbill.InvoiceApplication, string, error) {
	var a callbill.InvoiceApplication
	var title, request string
	var created, decided int64
	if err := row.Scan(&a.ID, &a.Account, &title, &a.Type, &a.AmountFen, &a.Remark, &a.State, &a.Key, &request, &created,
		&a.InvoiceNo, &a.InvoiceDate, &a.Reason, &decided); err != nil {
		return nil, "", err
	}
	if err := json.Unmarshal([]byte(title), &a.Title); err != nil {
		return nil, "", err
	}
	a.CreatedAt, a.DecidedAt = time.Unix(created, 0), timeOrZero(decided)
	return &a, request, nil
}

// loadApplication reads an application: of the account uid, or of any account with uid "".
func loadApplication(ctx context.Context, q querier, uid, id string) (*callbill.InvoiceApplication, error) {
	where, args := ` WHERE id = ?`, []any{id}
	if uid != "" {
		where, args = ` WHERE account = ? AND id = ?`, []any{uid, id}
	}
	a, _, err := scanApplication(q.QueryRowContext(ctx, `SELECT `+applicationCols+` FROM invoice_applications`+where, args...))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, callbill.Errorf(callbill.ENOTFOUND, "invoice application %s not found", id)
	}
	return a, err
}

// ApplyInvoice applies for an invoice. The key (optional) makes a retried
// request one application: the same key with the same request returns the
// first (Replayed), with another request it is ECONFLICT. It is EREFUSED
// while the account owes arrears (the message says how much) and when the
// amount exceeds the invoiceable amount; EINVALID for a bad amount or a
// title that cannot take the invoice type; ENOTFOUND for an unknown title.
func (s *Store) ApplyInvoice(ctx context.Context, req callbill.InvoiceRequest) (*callbill.InvoiceApplication, error) {
	req.Key, req.Remark = strings.TrimSpace(req.Key), strings.TrimSpace(req.Remark)
	if req.AmountFen <= 0 {
		return nil, callbill.Errorf(callbill.EINVALID, "an invoice amount must be a positive number of fen, not %d", req.AmountFen)
	}
	if len([]rune(req.Remark)) > 200 {
		return nil, callbill.Errorf(callbill.EINVALID, "the remark is longer than 200 characters")
	}
	if len(req.Key) > 200 {
		return nil, callbill.Errorf(callbill.EINVALID, "the idempotency key is longer than 200 characters")
	}
	if req.Type != "" && req.Type != callbill.InvoiceGeneral && req.Type != callbill.InvoiceSpecial {
		return nil, callbill.Errorf(callbill.EINVALID, "invoice type must be general or special, not %q", req.Type)
	}
	request := callbill.RequestHash("invoice", req.Account, req.TitleID, string(req.Type), strconv.FormatInt(req.AmountFen, 10), req.Remark)
	what := fmt.Sprintf("idempotency key %q", req.Key)
	if req.Key == "" {
		what = "the application's id"
	}
	var out *callbill.InvoiceApplication
	err := s.keyedTx(ctx, what, func(tx *Tx) error {
		out = nil
		if err := s.lockWriter(ctx, tx); err != nil {
			return err
		}
		if err := s.lockAccounts(ctx, tx, []string{req.Account}); err != nil {
			return err
		}
		a, err := accountInfo(ctx, tx, req.Account)
		if err != nil {
			return err
		}
		if req.Key != "" {
			prev, prevReq, err := scanApplication(tx.QueryRowContext(ctx, `SELECT `+applicationCols+` FROM invoice_applications
				WHERE account = ? AND key = ?`, req.Account, req.Key))
			switch {
			case err == nil && prevReq == request:
				prev.Replayed = true
				out = prev
				return nil
			case err == nil:
				return callbill.Errorf(callbill.ECONFLICT, "idempotency key %q was used for a different request (application %s)", req.Key, prev.ID)
			case !errors.Is(err, sql.ErrNoRows):
				return err
			}
		}
		title, err := loadTitle(ctx, tx, req.Account, req.TitleID)
		if err != nil {
			return err
		}
		typ := req.Type
		if typ == "" {
			typ = title.Type
		}
		if typ == callbill.InvoiceSpecial {
			if err := callbill.SpecialInvoiceAllowed(title, a.kind); err != nil {
				return err
			}
		}
		inv, err := invoiceable(ctx, tx, req.Account, a)
		if err != nil {
			return err
		}
		if inv.OwedFen > 0 {
			return callbill.Errorf(callbill.EREFUSED, "the account owes %s (欠费); pay it before applying for an invoice", callbill.FormatFen(inv.OwedFen))
		}
		if req.AmountFen > inv.InvoiceableFen {
			return callbill.Errorf(callbill.EREFUSED, "the amount %s is more than the invoiceable %s (paid for consumption %s, invoiced %s, pending %s)",
				callbill.FormatFen(req.AmountFen), callbill.FormatFen(inv.InvoiceableFen), callbill.FormatFen(inv.PaidFen),
				callbill.FormatFen(inv.IssuedFen), callbill.FormatFen(inv.PendingFen))
		}
		now := s.Now()
		app := &callbill.InvoiceApplication{ID: callbill.NewDocumentID("INV", now), Account: req.Account, Title: *title, Type: typ, AmountFen: req.AmountFen,
			Remark: req.Remark, State: callbill.InvoicePending, Key: req.Key, CreatedAt: now}
		tj, _ := json.Marshal(title)
		if _, err := tx.ExecContext(ctx, `INSERT INTO invoice_applications (id, account, title_id, title, type, amount_fen, remark, state, key,
			request, created_at, invoice_no, invoice_date, reason, decided_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '', '', '', 0)`,
			app.ID, app.Account, title.ID, string(tj), string(typ), app.AmountFen, app.Remark, string(app.State), app.Key, request,
			now.Unix()); err != nil {
			return err
		}
		out = app
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// InvoiceApplications lists applications newest first: an account's (uid
// "" = every account's), of one state or all ("").
func (s *Store) InvoiceApplications(ctx context.Context, uid string, state callbill.InvoiceState) ([]callbill.InvoiceApplication, error) {
	if state != "" && !callbill.ValidInvoiceState(state) {
		return nil, callbill.Errorf(callbill.EINVALID, "status must be pending, issued, rejected or withdrawn, not %q", state)
	}
	var out []callbill.InvoiceApplication
	err := s.readTx(ctx, func(tx *Tx) error {
		var conds []string
		var args []any
		if uid != "" {
			if err := mustAccount(ctx, tx, uid); err != nil {
				return err
			}
			conds, args = append(conds, "account = ?"), append(args, uid)
		}
		if state != "" {
			conds, args = append(conds, "state = ?"), append(args, string(state))
		}
		where := ""
		if len(conds) > 0 {
			where = " WHERE " + strings.Join(conds, " AND ")
		}
		order := " ORDER BY created_at DESC, id DESC"
		if state == callbill.InvoicePending {
			order = " ORDER BY created_at, id" // a queue: oldest first
		}
		rows, err := tx.QueryContext(ctx, `SELECT `+applicationCols+` FROM invoice_applications`+where+order, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			a, _, err := scanApplication(rows)
			if err != nil {
				return err
			}
			out = append(out, *a)
		}
		return rows.Err()
	})
	return out, err
}

// InvoiceApplication returns one application: of the account uid (another
// account's is ENOTFOUND), or of any account with uid "".
func (s *Store) InvoiceApplication(ctx context.Context, uid, id string) (*callbill.InvoiceApplication, error) {
	var a *callbill.InvoiceApplication
	err := s.readTx(ctx, func(tx *Tx) error {
		var err error
		a, err = loadApplication(ctx, tx, uid, id)
		return err
	})
	return a, err
}

// decide moves an application out of pending under its account's lock.
// same reports whether the application already is in the target state with
// the same details (a retried request: nothing changes); change applies the
// transition's columns.
func (s *Store) decide(ctx context.Context, uid, id string, to callbill.InvoiceState,
	check func(tx *Tx, a *callbill.InvoiceApplication) (same bool, err error),
	change func(tx *Tx, a *callbill.InvoiceApplication, now time.Time) error) (*callbill.InvoiceApplication, error) {
	var out *callbill.InvoiceApplication
	err := s.inTx(ctx, func(tx *Tx) error {
		if err := s.lockWriter(ctx, tx); err != nil {
			return err
		}
		a, err := loadApplication(ctx, tx, uid, id)
		if err != nil {
			return err
		}
		if err := s.lockAccounts(ctx, tx, []string{a.Account}); err != nil {
			return err
		}
		if a, err = loadApplication(ctx, tx, a.Account, id); err != nil {
			return err
		}
		same, err := check(tx, a)
		if err != nil {
			return err
		}
		out = a
		if a.State == to && same {
			a.Replayed = true
			return nil
		}
		if a.State != callbill.InvoicePending {
			return callbill.Errorf(callbill.EREFUSED, "invoice application %s is %s, not pending: only a pending application can be %s", a.ID, a.State, to)
		}
		now := s.Now()
		a.State, a.DecidedAt = to, now
		return change(tx, a, now)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// WithdrawInvoice withdraws one of the account's pending applications; its
// amount becomes invoiceable again. Withdrawing a withdrawn one changes nothing.
func (s *Store) WithdrawInvoice(ctx context.Context, uid, id string) (*callbill.InvoiceApplication, error) {
	if uid == "" {
		return nil, callbill.Errorf(callbill.EINVALID, "withdrawing needs the account")
	}
	return s.decide(ctx, uid, id, callbill.InvoiceWithdrawn,
		func(*Tx, *callbill.InvoiceApplication) (bool, error) { return true, nil },
		func(tx *Tx, a *callbill.InvoiceApplication, now time.Time) error {
			_, err := tx.ExecContext(ctx, `UPDATE invoice_applications SET state = ?, decided_at = ? WHERE id = ?`,
				string(a.State), now.Unix(), a.ID)
			return err
		})
}

// IssueInvoice records that the operator issued a pending application's
// invoice: its number (8 to 20 digits, never used before) and date (not
// before the application, not in the future). The same number and date
// again change nothing.
func (s *Store) IssueInvoice(ctx context.Context, id, number, date string) (*callbill.InvoiceApplication, error) {
	number, date = strings.TrimSpace(number), strings.TrimSpace(date)
	if err := callbill.CheckInvoiceNumber(number); err != nil {
		return nil, err
	}
	return s.decide(ctx, "", id, callbill.InvoiceIssued,
		func(tx *Tx, a *callbill.InvoiceApplication) (bool, error) {
			loc, _, err := location(ctx, tx)
			if err != nil {
				return false, err
			}
			d, err := callbill.ParseInvoiceDate(date, loc)
			if err != nil {
				return false, err
			}
			created := a.CreatedAt.In(loc)
			if d.Before(time.Date(created.Year(), created.Month(), created.Day(), 0, 0, 0, 0, loc)) {
				return false, callbill.Errorf(callbill.EINVALID, "invoice date %s is before the application (%s)", date, created.Format("2006-01-02"))
			}
			if d.After(s.Now()) {
				return false, callbill.Errorf(callbill.EINVALID, "invoice date %s is in the future", date)
			}
			if a.State == callbill.InvoiceIssued {
				return a.InvoiceNo == number && a.InvoiceDate == date, nil
			}
			var other string
			err = tx.QueryRowContext(ctx, `SELECT id FROM invoice_applications WHERE invoice_no = ?`, number).Scan(&other)
			if err == nil {
				return false, callbill.Errorf(callbill.ECONFLICT, "invoice number %s was issued before (application %s)", number, other)
			}
			if !errors.Is(err, sql.ErrNoRows) {
				return false, err
			}
			return false, nil
		},
		func(tx *Tx, a *callbill.InvoiceApplication, now time.Time) error {
			a.InvoiceNo, a.InvoiceDate = number, date
			_, err := tx.ExecContext(ctx, `UPDATE invoice_applications SET state = ?, invoice_no = ?, invoice_date = ?, decided_at = ?
				WHERE id = ?`, string(a.State), number, date, now.Unix(), a.ID)
			if s.isUniqueViolation(err) {
				return callbill.Errorf(callbill.ECONFLICT, "invoice number %s was issued before", number)
			}
			return err
		})
}

// RejectInvoice refuses a pending application, with a reason the tenant
// sees; its amount becomes invoiceable again.
func (s *Store) RejectInvoice(ctx context.Context, id, reason string) (*callbill.InvoiceApplication, error) {
	reason = strings.TrimSpace(reason)
	if reason == "" {
		return nil, callbill.Errorf(callbill.EINVALID, "rejecting an application needs a reason")
	}
	if len([]rune(reason)) > 500 {
		return nil, callbill.Errorf(callbill.EINVALID, "the reason is longer than 500 characters")
	}
	return s.decide(ctx, "", id, callbill.InvoiceRejected,
		func(_ *Tx, a *callbill.InvoiceApplication) (bool, error) { return a.Reason == reason, nil },
		func(tx *Tx, a *callbill.InvoiceApplication, now time.Time) error {
			a.Reason = reason
			_, err := tx.ExecContext(ctx, `UPDATE invoice_applications SET state = ?, reason = ?, decided_at = ? WHERE id = ?`,
				string(a.State), reason, now.Unix(), a.ID)
			return err
		})
}
