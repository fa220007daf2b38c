package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"time"

	"github.com/callbill/callbill"
	"github.com/callbill/callbill/contract"
)

// E-contracts are persisted here; their workflow is contract.Service.

// UpdateContracts runs fn in a transaction under the account's lock (see
// contract.Store).
func (s *Store) UpdateContracts(ctx context.Context, account, what string, fn func(tx contract.Tx, now time.Time) error) error {
	return s.keyedTx(ctx, what, func(tx *Tx) error {
		if err := s.lockWriter(ctx, tx); err != nil {
			return err
		}
		if err := s.lockAccounts(ctx, tx, []string{account}); err != nil {
			return err
		}
		if err := mustAccount(ctx, tx, account); err != nil {
			return err
		}
		return fn(contractTx{tx}, s.Now())
	})
}

// ViewContracts runs fn in a read-only transaction (see contract.Store).
func (s *Store) ViewContracts(ctx context.Context, fn func(tx contract.Tx, now time.Time) error) error {
	return s.readTx(ctx, func(tx *Tx) error { return fn(contractTx{tx}, s.Now()) })
}

// SetContractProvider sets the provider side of contracts. Drafts take it
// when they are made, edited or confirmed; formal contracts keep theirs.
func (s *Store) SetContractProvider(ctx context.Context, p callbill.ContractParty) error {
	p.Normalize()
	if err := p.CheckProvider(); err != nil {
		return err
	}
	b, _ := json.Marshal(p)
	return s.inTx(ctx, func(tx *Tx) error { return setMeta(ctx, tx, "contract_provider", string(b)) })
}

// contractTx implements contract.Tx on a transaction.
type contractTx struct{ tx *Tx }

func (t contractTx) Provider(ctx context.Context) (*callbill.ContractParty, error) {
	v, err := getMeta(ctx, t.tx, "contract_provider")
	if err != nil || v == "" {
		return nil, err
	}
	var p callbill.ContractParty
	if err := json.Unmarshal([]byte(v), &p); err != nil {
		return nil, err
	}
	return &p, nil
}

func (t contractTx) AccountName(ctx context.Context, account string) (string, error) {
	a, err := accountInfo(ctx, t.tx, account)
	if err != nil {
		return "", err
	}
	return a.name, nil
}

const contractCols = `id, account, kind, purchase, from_cycle, to_cycle, state, customer, provider, items, original, discount, payable,
	key, request, created_at, confirmed_at, ended_at, voided_by, void_reason`

func scanContract(row interface{ Scan(...any) error }) (*callbill.EContract, string, error) {
	var c callbill.EContract
	var from, to int
	var customer, provider, items, original, discount, payable, request string
	var created, confirmed, ended int64
	if err := row.Scan(&c.ID, &c.Account, &c.Kind, &c.Purchase, &from, &to, &c.State, &customer, &provider, &items,
		&original, &discount, &payable, &c.Key, &request, &created, &confirmed, &ended, &c.VoidedBy, &c.VoidReason); err != nil {
		return nil, "", err
	}
	c.From, c.To = callbill.Cycle(from), callbill.Cycle(to)
	for _, j := range []struct {
		s string
		v any
	}{{customer, &c.Customer}, {provider, &c.Provider}, {items, &c.Items}} {
		if err := json.Unmarshal([]byte(j.s), j.v); err != nil {
			return nil, "", err
		}
	}
	var r decReader
	c.Original, c.Discount, c.Payable = r.parse("original", original), r.parse("discount", discount), r.parse("payable", payable)
	if err := r.err("econtracts", "account %s, contract %s", c.Account, c.ID); err != nil {
		return nil, "", err
	}
	c.CreatedAt, c.Confirmed, c.Ended = time.Unix(created, 0), timeOrZero(confirmed), timeOrZero(ended)
	return &c, request, nil
}

func (t contractTx) ContractAccount(ctx context.Context, id string) (string, error) {
	var uid string
	err := t.tx.QueryRowContext(ctx, `SELECT account FROM econtracts WHERE id = ?`, id).Scan(&uid)
	if errors.Is(err, sql.ErrNoRows) {
		return "", callbill.Errorf(callbill.ENOTFOUND, "contract %s not found", id)
	}
	return uid, err
}

func (t contractTx) Contract(ctx context.Context, account, id string) (*callbill.EContract, error) {
	c, _, err := scanContract(t.tx.QueryRowContext(ctx, `SELECT `+contractCols+` FROM econtracts WHERE account = ? AND id = ?`, account, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, callbill.Errorf(callbill.ENOTFOUND, "contract %s not found", id)
	}
	return c, err
}

func (t contractTx) ContractByKey(ctx context.Context, account, key string) (*callbill.EContract, string, error) {
	c, request, err := scanContract(t.tx.QueryRowContext(ctx, `SELECT `+contractCols+` FROM econtracts WHERE account = ? AND key = ?`, account, key))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, "", nil
	}
	return c, request, err
}

func (t contractTx) Contracts(ctx context.Context, account string) ([]callbill.EContract, error) {
	if err := mustAccount(ctx, t.tx, account); err != nil {
		return nil, err
	}
	return t.query(ctx, `SELECT `+contractCols+` FROM econtracts WHERE account = ? ORDER BY created_at DESC, id DESC`, account)
}

func (t contractTx) AllContracts(ctx context.Context) ([]callbill.EContract, error) {
	return t.query(ctx, `SELECT `+contractCols+` FROM econtracts ORDER BY created_at DESC, id DESC`)
}

func (t contractTx) LiveContracts(ctx context.Context, account, purchase string, from, to callbill.Cycle) ([]callbill.EContract, error) {
	live := []any{account, string(callbill.ContractDraft), string(callbill.ContractFormal)}
	if purchase != "" {
		return t.query(ctx, `SELECT `+contractCols+` FROM econtracts WHERE account = ? AND state IN (?, ?) AND purchase = ?`,
			append(live, purchase)...)
	}
	return t.query(ctx, `SELECT `+contractCols+` FROM econtracts WHERE account = ? AND state IN (?, ?) AND kind = ?
		AND from_cycle <= ? AND to_cycle >= ? ORDER BY created_at, id`, append(live, string(callbill.ContractService), int(to), int(from))...)
}

func (t contractTx) query(ctx context.Context, query string, args ...any) ([]callbill.EContract, error) {
	rows, err := t.tx.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []callbill.EContract
	for rows.Next() {
		c, _, err := scanContract(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *c)
	}
	return out, rows.Err()
}

func (t contractTx) Purchase(ctx context.Context, account, id string) (*contract.BilledLine, error) {
	var cycle int
	var pd, inst, item, number, up, pu, usage, uu, o, d, p string
	err := t.tx.QueryRowContext(ctx, `SELECT cycle, product_detail, instance, item, number, unit_price, price_unit, usage, usage_unit,
		original, discount, payable FROM purchases WHERE account = ? AND id = ?`, account, id).
		Scan(&cycle, &pd, &inst, &item, &number, &up, &pu, &usage, &uu, &o, &d, &p)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, callbill.Errorf(callbill.ENOTFOUND, "purchase %s not found", id)
	}
	if err != nil {
		return nil, err
	}
	var r decReader
	l := &contract.BilledLine{Cycle: callbill.Cycle(cycle), ProductDetail: callbill.ProductDetail(pd), Instance: inst, Number: number,
		Item: callbill.Item(item), UnitPrice: up, PriceUnit: pu, UsageUnit: uu,
		Usage: r.parse("usage", usage), Original: r.parse("original", o), Discount: r.parse("discount", d), Payable: r.parse("payable", p)}
	return l, r.err("purchases", "account %s, purchase %s", account, id)
}

func (t contractTx) PostpaidLines(ctx context.Context, account string, from, to callbill.Cycle) ([]contract.BilledLine, error) {
	rows, err := t.tx.QueryContext(ctx, `SELECT cycle, idx, product_detail, item, unit_price, price_unit, usage, usage_unit, original, discount, payable
		FROM bill_lines WHERE account = ? AND cycle >= ? AND cycle <= ? ORDER BY cycle, idx`, account, int(from), int(to))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []contract.BilledLine
	for rows.Next() {
		var cycle, idx int
		var pd, item, up, pu, usage, uu, o, d, p string
		if err := rows.Scan(&cycle, &idx, &pd, &item, &up, &pu, &usage, &uu, &o, &d, &p); err != nil {
			return nil, err
		}
		var r decReader
		out = append(out, contract.BilledLine{Cycle: callbill.Cycle(cycle), ProductDetail: callbill.ProductDetail(pd), Item: callbill.Item(item),
			UnitPrice: up, PriceUnit: pu, UsageUnit: uu,
			Usage: r.parse("usage", usage), Original: r.parse("original", o), Discount: r.parse("discount", d), Payable: r.parse("payable", p)})
		if err := r.err("bill_lines", "account %s, cycle %s, line %d", account, callbill.Cycle(cycle), idx); err != nil {
			return nil, err
		}
	}
	return out, rows.Err()
}

func (t contractTx) ClosedThrough(ctx context.Context) (callbill.Cycle, error) {
	return closedThrough(ctx, t.tx)
}

func (t contractTx) LapseDrafts(ctx context.Context, account string, createdBy time.Time) error {
	days := int64(callbill.ContractDraftDays * 24 * 3600)
	_, err := t.tx.ExecContext(ctx, `UPDATE econtracts SET state = ?, ended_at = created_at + ?
		WHERE account = ? AND state = ? AND created_at <= ?`,
		string(callbill.ContractLapsed), days, account, string(callbill.ContractDraft), createdBy.Unix())
	return err
}

func (t contractTx) InsertContract(ctx context.Context, c *callbill.EContract, request string) error {
	customer, _ := json.Marshal(c.Customer)
	provider, _ := json.Marshal(c.Provider)
	items, _ := json.Marshal(c.Items)
	_, err := t.tx.ExecContext(ctx, `INSERT INTO econtracts (`+contractCols+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, 0, '', '')`,
		c.ID, c.Account, string(c.Kind), c.Purchase, int(c.From), int(c.To), string(c.State), string(customer), string(provider),
		string(items), callbill.FormatMoney(c.Original), callbill.FormatMoney(c.Discount), callbill.FormatMoney(c.Payable), c.Key, request, c.CreatedAt.Unix())
	return err
}

func (t contractTx) UpdateContract(ctx context.Context, c *callbill.EContract) error {
	customer, _ := json.Marshal(c.Customer)
	provider, _ := json.Marshal(c.Provider)
	_, err := t.tx.ExecContext(ctx, `UPDATE econtracts SET state = ?, customer = ?, provider = ?, confirmed_at = ?, ended_at = ?,
		voided_by = ?, void_reason = ? WHERE account = ? AND id = ?`,
		string(c.State), string(customer), string(provider), unixOrZero(c.Confirmed), unixOrZero(c.Ended), c.VoidedBy, c.VoidReason,
		c.Account, c.ID)
	return err
}
