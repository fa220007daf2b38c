package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/callbill/callbill"
	"github.com/callbill/callbill/invoice"
	"github.com/shopspring/decimal"
)

// Invoice titles and applications are persisted here; their workflow is
// invoice.Service.

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

func (t invoiceTx) Titles(ctx context.Context, account string) ([]callbill.InvoiceTitle, error) {
	if err := mustAccount(ctx, t.tx, account); err != nil {
		return nil, err
	}
	return queryAll(ctx, t.tx, scanTitle, `SELECT `+titleCols+` FROM invoice_titles WHERE account = ? ORDER BY created_at, id`, account)
}

func (t invoiceTx) Title(ctx context.Context, account, id string) (*callbill.InvoiceTitle, error) {
	ti, err := scanTitle(t.tx.QueryRowContext(ctx, `SELECT `+titleCols+` FROM invoice_titles WHERE account = ? AND id = ?`, account, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, callbill.Errorf(callbill.ENOTFOUND, "invoice title %s not found", id)
	}
	return ti, err
}

func (t invoiceTx) CountTitles(ctx context.Context, account string) (int, error) {
	var n int
	err := t.tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM invoice_titles WHERE account = ?`, account).Scan(&n)
	return n, err
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
	return queryAll(ctx, t.tx, func(row interface{ Scan(...any) error }) (*decimal.Decimal, error) {
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
	type sum struct {
		state callbill.InvoiceState
		fen   int64
	}
	sums, err := queryAll(ctx, t.tx, func(row interface{ Scan(...any) error }) (*sum, error) {
		var s sum
		return &s, row.Scan(&s.state, &s.fen)
	}, `SELECT state, COALESCE(SUM(amount_fen), 0) FROM invoice_applications WHERE account = ? GROUP BY state`, account)
	out := map[callbill.InvoiceState]int64{}
	for _, s := range sums {
		out[s.state] = s.fen
	}
	return out, err
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

func notFound(err error, id string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return callbill.Errorf(callbill.ENOTFOUND, "invoice application %s not found", id)
	}
	return err
}

func (t invoiceTx) ApplicationAccount(ctx context.Context, id string) (string, error) {
	var account string
	err := t.tx.QueryRowContext(ctx, `SELECT account FROM invoice_applications WHERE id = ?`, id).Scan(&account)
	return account, notFound(err, id)
}

func (t invoiceTx) Application(ctx context.Context, account, id string) (*callbill.InvoiceApplication, error) {
	a, _, err := scanApplication(t.tx.QueryRowContext(ctx, `SELECT `+applicationCols+` FROM invoice_applications WHERE account = ? AND id = ?`, account, id))
	return a, notFound(err, id)
}

func (t invoiceTx) ApplicationByKey(ctx context.Context, account, key string) (*callbill.InvoiceApplication, string, error) {
	a, request, err := scanApplication(t.tx.QueryRowContext(ctx, `SELECT `+applicationCols+` FROM invoice_applications WHERE account = ? AND key = ?`, account, key))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, "", nil
	}
	return a, request, err
}

func (t invoiceTx) Applications(ctx context.Context, account string, all bool, state callbill.InvoiceState) ([]callbill.InvoiceApplication, error) {
	var conds []string
	var args []any
	if !all {
		if err := mustAccount(ctx, t.tx, account); err != nil {
			return nil, err
		}
		conds, args = append(conds, "account = ?"), append(args, account)
	}
	if state != "" {
		conds, args = append(conds, "state = ?"), append(args, string(state))
	}
	where := ""
	if len(conds) > 0 {
		where = " WHERE " + strings.Join(conds, " AND ")
	}
	return queryAll(ctx, t.tx, func(row interface{ Scan(...any) error }) (*callbill.InvoiceApplication, error) {
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

// queryAll runs a query and scans each row with scan.
func queryAll[T any](ctx context.Context, q querier, scan func(row interface{ Scan(...any) error }) (*T, error), query string, args ...any) ([]T, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *v)
	}
	return out, rows.Err()
}
