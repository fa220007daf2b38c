package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"time"

	"github.com/callbill/callbill"
	"github.com/callbill/callbill/invoice"
	"github.com/shopspring/decimal"
)

// Invoice titles and applications are persisted here; invoice.Service decides.

// UpdateInvoices runs fn in a transaction under the account's lock (see
// invoice.Store).
func (s *Store) UpdateInvoices(ctx context.Context, account, what string, fn func(tx invoice.Tx, now time.Time) error) error {
	return s.keyedTx(ctx, what, func(tx *Tx) error {
		if err := s.lockWriter(ctx, tx); err != nil {
			return err
		}
		if err := s.lockAccounts(ctx, tx, []string{account}); err != nil {
			return err
		}
		return fn(invoiceTx{tx}, s.Now())
	})
}

// ViewInvoices runs fn in a read-only transaction (see invoice.Store).
func (s *Store) ViewInvoices(ctx context.Context, fn func(tx invoice.Tx, now time.Time) error) error {
	return s.readTx(ctx, func(tx *Tx) error { return fn(invoiceTx{tx}, s.Now()) })
}

// invoiceTx implements invoice.Tx on a transaction.
type invoiceTx struct{ tx *Tx }

func (t invoiceTx) Account(ctx context.Context, account string) (*invoice.Account, error) {
	a, err := accountInfo(ctx, t.tx, account)
	if err != nil {
		return nil, err
	}
	return &invoice.Account{Kind: a.kind, Cash: a.cash}, nil
}

func (t invoiceTx) Location(ctx context.Context) (*time.Location, error) {
	loc, _, err := location(ctx, t.tx)
	return loc, err
}

const titleCols = `id, account, kind, type, name, tax_id, bank, bank_account, address, phone, created_at, updated_at`

func scanTitle(row scanner) (*callbill.InvoiceTitle, error) {
	var t callbill.InvoiceTitle
	var created, updated int64
	if err := row.Scan(&t.ID, &t.Account, &t.Kind, &t.Type, &t.Name, &t.TaxID, &t.Bank, &t.BankAccount, &t.Address, &t.Phone,
		&created, &updated); err != nil {
		return nil, err
	}
	t.CreatedAt, t.UpdatedAt = time.Unix(created, 0), time.Unix(updated, 0)
	return &t, nil
}

func (t invoiceTx) Titles(ctx context.Context, account string) ([]callbill.InvoiceTitle, error) {
	if err := mustAccount(ctx, t.tx, account); err != nil {
		return nil, err
	}
	return queryAll(ctx, t.tx, scanTitle, `SELECT `+titleCols+` FROM invoice_titles WHERE account = ? ORDER BY created_at, id`, account)
}

func (t invoiceTx) Title(ctx context.Context, account, id string) (*callbill.InvoiceTitle, error) {
	ti, err := scanTitle(t.tx.QueryRowContext(ctx, `SELECT `+titleCols+` FROM invoice_titles WHERE account = ? AND id = ?`, account, id))
	return ti, orNotFound(err, "invoice title", id)
}

func (t invoiceTx) InsertTitle(ctx context.Context, ti *callbill.InvoiceTitle) error {
	_, err := t.tx.ExecContext(ctx, `INSERT INTO invoice_titles (`+titleCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		ti.ID, ti.Account, string(ti.Kind), string(ti.Type), ti.Name, ti.TaxID, ti.Bank, ti.BankAccount, ti.Address, ti.Phone,
		ti.CreatedAt.Unix(), ti.UpdatedAt.Unix())
	return err
}

func (t invoiceTx) UpdateTitle(ctx context.Context, ti *callbill.InvoiceTitle) error {
	_, err := t.tx.ExecContext(ctx, `UPDATE invoice_titles SET kind = ?, type = ?, name = ?, tax_id = ?, bank = ?, bank_account = ?,
		address = ?, phone = ?, updated_at = ? WHERE account = ? AND id = ?`,
		string(ti.Kind), string(ti.Type), ti.Name, ti.TaxID, ti.Bank, ti.BankAccount, ti.Address, ti.Phone, ti.UpdatedAt.Unix(), ti.Account, ti.ID)
	return err
}

func (t invoiceTx) DeleteTitle(ctx context.Context, account, id string) error {
	res, err := t.tx.ExecContext(ctx, `DELETE FROM invoice_titles WHERE account = ? AND id = ?`, account, id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return callbill.Errorf(callbill.ENOTFOUND, "invoice title %s not found", id)
	}
	return nil
}

func (t invoiceTx) LedgerAmounts(ctx context.Context, account string, except callbill.LedgerKind) ([]decimal.Decimal, error) {
	return queryAll(ctx, t.tx, func(row scanner) (*decimal.Decimal, error) {
		var seq int64
		var amount string
		if err := row.Scan(&seq, &amount); err != nil {
			return nil, err
		}
		var r decReader
		amt := r.parse("amount", amount)
		return &amt, r.err("ledger", "account %s, entry %d", account, seq)
	}, `SELECT seq, amount FROM ledger WHERE account = ? AND kind <> ?`, account, string(except))
}

func (t invoiceTx) Outstanding(ctx context.Context, account string) (decimal.Decimal, error) {
	owed, err := outstanding(ctx, t.tx, []string{account})
	return owed[account], err
}

func (t invoiceTx) AppliedFen(ctx context.Context, account string) (map[callbill.InvoiceState]int64, error) {
	rows, err := t.tx.QueryContext(ctx, `SELECT state, SUM(amount_fen) FROM invoice_applications WHERE account = ? GROUP BY state`, account)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[callbill.InvoiceState]int64{}
	for rows.Next() {
		var state callbill.InvoiceState
		var fen int64
		if err := rows.Scan(&state, &fen); err != nil {
			return nil, err
		}
		out[state] = fen
	}
	return out, rows.Err()
}

const applicationCols = `id, account, title, type, amount_fen, remark, state, key, request, created_at, invoice_no, invoice_date, reason, decided_at`

func scanApplication(row scanner) (*callbill.InvoiceApplication, string, error) {
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

// orNotFound makes a query that found no row ENOTFOUND, naming what.
func orNotFound(err error, what, id string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return callbill.Errorf(callbill.ENOTFOUND, "%s %s not found", what, id)
	}
	return err
}

func (t invoiceTx) ApplicationAccount(ctx context.Context, id string) (string, error) {
	var account string
	err := t.tx.QueryRowContext(ctx, `SELECT account FROM invoice_applications WHERE id = ?`, id).Scan(&account)
	return account, orNotFound(err, "invoice application", id)
}

func (t invoiceTx) Application(ctx context.Context, account, id string) (*callbill.InvoiceApplication, error) {
	a, _, err := scanApplication(t.tx.QueryRowContext(ctx, `SELECT `+applicationCols+` FROM invoice_applications WHERE account = ? AND id = ?`, account, id))
	return a, orNotFound(err, "invoice application", id)
}

func (t invoiceTx) ApplicationByKey(ctx context.Context, account, key string) (*callbill.InvoiceApplication, string, error) {
	a, request, err := scanApplication(t.tx.QueryRowContext(ctx, `SELECT `+applicationCols+` FROM invoice_applications WHERE account = ? AND key = ?`, account, key))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, "", nil
	}
	return a, request, err
}

func (t invoiceTx) Applications(ctx context.Context, q invoice.ListInput) ([]callbill.InvoiceApplication, error) {
	account, state := q.Account, q.State
	where, args := " WHERE 1 = 1", []any{}
	if !q.AllAccounts {
		if err := mustAccount(ctx, t.tx, account); err != nil {
			return nil, err
		}
		where, args = where+" AND account = ?", append(args, account)
	}
	if state != "" {
		where, args = where+" AND state = ?", append(args, string(state))
	}
	return queryAll(ctx, t.tx, func(row scanner) (*callbill.InvoiceApplication, error) {
		a, _, err := scanApplication(row)
		return a, err
	}, `SELECT `+applicationCols+` FROM invoice_applications`+where+` ORDER BY created_at DESC, id DESC`, args...)
}

func (t invoiceTx) IssuedAs(ctx context.Context, number string) (string, error) {
	var id string
	err := t.tx.QueryRowContext(ctx, `SELECT id FROM invoice_applications WHERE invoice_no = ?`, number).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return id, err
}

func (t invoiceTx) InsertApplication(ctx context.Context, a *callbill.InvoiceApplication, request string) error {
	tj, _ := json.Marshal(a.Title)
	_, err := t.tx.ExecContext(ctx, `INSERT INTO invoice_applications (id, account, title_id, title, type, amount_fen, remark, state, key,
		request, created_at, invoice_no, invoice_date, reason, decided_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '', '', '', 0)`,
		a.ID, a.Account, a.Title.ID, string(tj), string(a.Type), a.AmountFen, a.Remark, string(a.State), a.Key, request, a.CreatedAt.Unix())
	return err
}

func (t invoiceTx) UpdateApplication(ctx context.Context, a *callbill.InvoiceApplication) error {
	_, err := t.tx.ExecContext(ctx, `UPDATE invoice_applications SET state = ?, invoice_no = ?, invoice_date = ?, reason = ?, decided_at = ?
		WHERE account = ? AND id = ?`, string(a.State), a.InvoiceNo, a.InvoiceDate, a.Reason, unixOrZero(a.DecidedAt), a.Account, a.ID)
	return err
}
