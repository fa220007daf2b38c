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

// E-contracts (DESIGN §3.12, docs/invoices.md). A draft is made for a
// purchase (one live contract per purchase) or for the postpaid usage of
// closed cycles; the tenant may edit its party details, void it or confirm
// it, which makes it formal; a formal contract only the operator may void.
// A draft not confirmed within 30 days lapses. Changes run under the
// account's lock; a draft past its 30 days is marked lapsed by the next
// change to the account's contracts and shown lapsed by every read.

// ContractProvider returns the provider side of contracts (乙方): what the
// operator set, else callbill.DefaultProvider.
func (s *Store) ContractProvider(ctx context.Context) (callbill.ContractParty, error) {
	var p callbill.ContractParty
	err := s.readTx(ctx, func(tx *Tx) error {
		var err error
		p, err = contractProvider(ctx, tx)
		return err
	})
	return p, err
}

func contractProvider(ctx context.Context, q querier) (callbill.ContractParty, error) {
	v, err := getMeta(ctx, q, "contract_provider")
	if err != nil || v == "" {
		return callbill.DefaultProvider, err
	}
	var p callbill.ContractParty
	return p, json.Unmarshal([]byte(v), &p)
}

// SetContractProvider sets the provider side of contracts. Drafts take it
// when they are made, edited or confirmed; formal contracts keep theirs.
func (s *Store) SetContractProvider(ctx context.Context, p callbill.ContractParty) error {
	p.Normalize()
	if err := p.Check("provider"); err != nil {
		return err
	}
	b, _ := json.Marshal(p)
	return s.inTx(ctx, func(tx *Tx) error { return setMeta(ctx, tx, "contract_provider", string(b)) })
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

// loadContract reads a contract of the account uid (any account's with
// uid ""), lapsed as of now when it is a stale draft.
func loadContract(ctx context.Context, q querier, uid, id string, now time.Time) (*callbill.EContract, error) {
	where, args := ` WHERE id = ?`, []any{id}
	if uid != "" {
		where, args = ` WHERE account = ? AND id = ?`, []any{uid, id}
	}
	c, _, err := scanContract(q.QueryRowContext(ctx, `SELECT `+contractCols+` FROM econtracts`+where, args...))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, callbill.Errorf(callbill.ENOTFOUND, "contract %s not found", id)
	}
	if err != nil {
		return nil, err
	}
	c.Lapse(now)
	return c, nil
}

// lapseDrafts marks the account's drafts past their 30 days lapsed.
func lapseDrafts(ctx context.Context, tx *Tx, uid string, now time.Time) error {
	days := int64(callbill.ContractDraftDays * 24 * 3600)
	_, err := tx.ExecContext(ctx, `UPDATE econtracts SET state = ?, ended_at = created_at + ?
		WHERE account = ? AND state = ? AND created_at <= ?`,
		string(callbill.ContractLapsed), days, uid, string(callbill.ContractDraft), now.Unix()-days)
	return err
}

// contractTx runs fn under the account's lock, with stale drafts lapsed; a
// unique violation runs it once more (keyedTx; what names the key).
func (s *Store) contractTx(ctx context.Context, uid, what string, fn func(tx *Tx, now time.Time) error) error {
	return s.keyedTx(ctx, what, func(tx *Tx) error {
		if err := s.lockWriter(ctx, tx); err != nil {
			return err
		}
		if err := s.lockAccounts(ctx, tx, []string{uid}); err != nil {
			return err
		}
		if err := mustAccount(ctx, tx, uid); err != nil {
			return err
		}
		now := s.Now()
		if err := lapseDrafts(ctx, tx, uid, now); err != nil {
			return err
		}
		return fn(tx, now)
	})
}

// CreateContract makes a draft for a purchase or for the postpaid usage of
// closed cycles From..To. The customer's name is the account's (its
// real-name identity); the other details are the request's. The key makes a
// retried request one contract. ENOTFOUND for an unknown purchase;
// ECONFLICT when the purchase, or a cycle of the period, already has a live
// contract; EREFUSED for a period with an open cycle or without charges.
func (s *Store) CreateContract(ctx context.Context, req callbill.ContractRequest) (*callbill.EContract, error) {
	req.Key, req.Purchase = strings.TrimSpace(req.Key), strings.TrimSpace(req.Purchase)
	kind := callbill.ContractService
	switch {
	case req.Purchase != "" && (req.From != 0 || req.To != 0):
		return nil, callbill.Errorf(callbill.EINVALID, "a contract is for a purchase or for a period (from, to), not both")
	case req.Purchase != "":
		kind = callbill.ContractPurchase
	case req.From == 0 || req.To == 0:
		return nil, callbill.Errorf(callbill.EINVALID, "a contract needs a purchase, or a period: from and to (YYYY-MM)")
	case req.From > req.To:
		return nil, callbill.Errorf(callbill.EINVALID, "the period's first cycle %s is after its last %s", req.From, req.To)
	case int(req.To-req.From) >= callbill.MaxServiceCycles:
		return nil, callbill.Errorf(callbill.EINVALID, "a service contract covers at most %d cycles", callbill.MaxServiceCycles)
	}
	var customer callbill.ContractParty
	if req.Customer != nil {
		customer = *req.Customer
	}
	cj, _ := json.Marshal(customer)
	request := hashOf("contract", req.Account, req.Purchase, strconv.Itoa(int(req.From)), strconv.Itoa(int(req.To)), string(cj))
	what := fmt.Sprintf("idempotency key %q", req.Key)
	if req.Key == "" {
		what = "the contract's purchase or period"
	}
	var out *callbill.EContract
	err := s.contractTx(ctx, req.Account, what, func(tx *Tx, now time.Time) error {
		out = nil
		if req.Key != "" {
			prev, prevReq, err := scanContract(tx.QueryRowContext(ctx, `SELECT `+contractCols+` FROM econtracts WHERE account = ? AND key = ?`,
				req.Account, req.Key))
			switch {
			case err == nil && prevReq == request:
				prev.Lapse(now)
				prev.Replayed, out = true, prev
				return nil
			case err == nil:
				return callbill.Errorf(callbill.ECONFLICT, "idempotency key %q was used for a different request (contract %s)", req.Key, prev.ID)
			case !errors.Is(err, sql.ErrNoRows):
				return err
			}
		}
		a, err := accountInfo(ctx, tx, req.Account)
		if err != nil {
			return err
		}
		customer.Name = a.name
		customer.Normalize()
		if err := customer.Check("customer"); err != nil {
			return err
		}
		provider, err := contractProvider(ctx, tx)
		if err != nil {
			return err
		}
		c := &callbill.EContract{ID: newID("CT", now), Account: req.Account, Kind: kind, Purchase: req.Purchase, From: req.From, To: req.To,
			State: callbill.ContractDraft, Customer: customer, Provider: provider, Key: req.Key, CreatedAt: now}
		if kind == callbill.ContractPurchase {
			err = purchaseItems(ctx, tx, c)
		} else {
			err = serviceItems(ctx, tx, c)
		}
		if err != nil {
			return err
		}
		// A concurrent request that took the key or the purchase makes
		// this a unique violation: the run again answers as a retry.
		if err := insertContract(ctx, tx, c, request); err != nil {
			return err
		}
		out = c
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func insertContract(ctx context.Context, tx *Tx, c *callbill.EContract, request string) error {
	customer, _ := json.Marshal(c.Customer)
	provider, _ := json.Marshal(c.Provider)
	items, _ := json.Marshal(c.Items)
	_, err := tx.ExecContext(ctx, `INSERT INTO econtracts (`+contractCols+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, 0, '', '')`,
		c.ID, c.Account, string(c.Kind), c.Purchase, int(c.From), int(c.To), string(c.State), string(customer), string(provider),
		string(items), callbill.FormatMoney(c.Original), callbill.FormatMoney(c.Discount), callbill.FormatMoney(c.Payable), c.Key, request, c.CreatedAt.Unix())
	return err
}

func describe(pd callbill.ProductDetail, item callbill.Item, instance, number string) string {
	d := callbill.ProductDetailName[pd] + " " + callbill.ItemName[item]
	if number != "" {
		return d + " " + number
	}
	if instance != "" {
		return d + " " + instance
	}
	return d
}

// purchaseItems fills a purchase contract's line: the purchase as billed.
func purchaseItems(ctx context.Context, tx *Tx, c *callbill.EContract) error {
	var cycle int
	var pd, inst, item, number, up, pu, usage, uu, o, d, p string
	err := tx.QueryRowContext(ctx, `SELECT cycle, product_detail, instance, item, number, unit_price, price_unit, usage, usage_unit,
		original, discount, payable FROM purchases WHERE account = ? AND id = ?`, c.Account, c.Purchase).
		Scan(&cycle, &pd, &inst, &item, &number, &up, &pu, &usage, &uu, &o, &d, &p)
	if errors.Is(err, sql.ErrNoRows) {
		return callbill.Errorf(callbill.ENOTFOUND, "purchase %s not found", c.Purchase)
	}
	if err != nil {
		return err
	}
	var other, state string
	err = tx.QueryRowContext(ctx, `SELECT id, state FROM econtracts WHERE account = ? AND purchase = ? AND state IN (?, ?)`,
		c.Account, c.Purchase, string(callbill.ContractDraft), string(callbill.ContractFormal)).Scan(&other, &state)
	if err == nil {
		return callbill.Errorf(callbill.ECONFLICT, "purchase %s already has contract %s (%s): one contract per purchase", c.Purchase, other, state)
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	var r decReader
	c.Original, c.Discount, c.Payable = r.parse("original", o), r.parse("discount", d), r.parse("payable", p)
	if err := r.err("purchases", "account %s, purchase %s", c.Account, c.Purchase); err != nil {
		return err
	}
	c.Items = []callbill.ContractItem{{Cycle: callbill.Cycle(cycle).String(), ProductDetail: pd, Item: item,
		Description: describe(callbill.ProductDetail(pd), callbill.Item(item), inst, number), Usage: usage, UsageUnit: uu,
		UnitPrice: up, PriceUnit: pu, Original: callbill.FormatMoney(c.Original), Discount: callbill.FormatMoney(c.Discount), Payable: callbill.FormatMoney(c.Payable)}}
	return nil
}

// serviceItems fills a service contract's lines: the closed bills' postpaid
// lines of the period, summed per cycle, product detail and billing item.
func serviceItems(ctx context.Context, tx *Tx, c *callbill.EContract) error {
	closed, err := closedThrough(ctx, tx)
	if err != nil {
		return err
	}
	if c.To > closed {
		if closed == 0 {
			return callbill.Errorf(callbill.EREFUSED, "cycle %s is not closed yet: a service contract covers closed bills (none is closed)", c.To)
		}
		return callbill.Errorf(callbill.EREFUSED, "cycle %s is not closed yet: a service contract covers closed bills (closed through %s)", c.To, closed)
	}
	var other string
	var from, to int
	err = tx.QueryRowContext(ctx, `SELECT id, from_cycle, to_cycle FROM econtracts WHERE account = ? AND kind = ? AND state IN (?, ?)
		AND from_cycle <= ? AND to_cycle >= ?`, c.Account, string(callbill.ContractService), string(callbill.ContractDraft),
		string(callbill.ContractFormal), int(c.To), int(c.From)).Scan(&other, &from, &to)
	if err == nil {
		return callbill.Errorf(callbill.ECONFLICT, "contract %s already covers %s..%s: a cycle's usage is under one contract at a time",
			other, callbill.Cycle(from), callbill.Cycle(to))
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	rows, err := tx.QueryContext(ctx, `SELECT cycle, idx, product_detail, item, unit_price, price_unit, usage, usage_unit, original, discount, payable
		FROM bill_lines WHERE account = ? AND cycle >= ? AND cycle <= ? ORDER BY cycle, idx`, c.Account, int(c.From), int(c.To))
	if err != nil {
		return err
	}
	type agg struct {
		item                       callbill.ContractItem
		usage, orig, disc, payable decimal.Decimal
		mixed                      bool
	}
	var order []string
	groups := map[string]*agg{}
	c.Original, c.Discount, c.Payable = decimal.Zero, decimal.Zero, decimal.Zero
	for rows.Next() {
		var cycle, idx int
		var pd, item, up, pu, usage, uu, o, d, p string
		if err := rows.Scan(&cycle, &idx, &pd, &item, &up, &pu, &usage, &uu, &o, &d, &p); err != nil {
			rows.Close()
			return err
		}
		var r decReader
		use, orig, disc, pay := r.parse("usage", usage), r.parse("original", o), r.parse("discount", d), r.parse("payable", p)
		if err := r.err("bill_lines", "account %s, cycle %s, line %d", c.Account, callbill.Cycle(cycle), idx); err != nil {
			rows.Close()
			return err
		}
		k := strconv.Itoa(cycle) + "\x00" + pd + "\x00" + item
		g := groups[k]
		if g == nil {
			g = &agg{item: callbill.ContractItem{Cycle: callbill.Cycle(cycle).String(), ProductDetail: pd, Item: item,
				Description: describe(callbill.ProductDetail(pd), callbill.Item(item), "", ""), UsageUnit: uu, UnitPrice: up, PriceUnit: pu}}
			groups[k] = g
			order = append(order, k)
		}
		if g.item.UnitPrice != up || g.item.PriceUnit != pu || g.item.UsageUnit != uu {
			g.mixed = true
		}
		g.usage = g.usage.Add(use)
		g.orig, g.disc, g.payable = g.orig.Add(orig), g.disc.Add(disc), g.payable.Add(pay)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, k := range order {
		g := groups[k]
		if g.payable.IsZero() && g.orig.IsZero() {
			continue
		}
		it := g.item
		it.Usage = g.usage.String()
		if g.mixed {
			it.UnitPrice, it.PriceUnit = "", "" // several bands or prices: the amounts say it
		}
		it.Original, it.Discount, it.Payable = callbill.FormatMoney(g.orig), callbill.FormatMoney(g.disc), callbill.FormatMoney(g.payable)
		c.Items = append(c.Items, it)
		c.Original, c.Discount, c.Payable = c.Original.Add(g.orig), c.Discount.Add(g.disc), c.Payable.Add(g.payable)
	}
	if len(c.Items) == 0 {
		return callbill.Errorf(callbill.EREFUSED, "account %s has no postpaid charges in %s..%s: nothing to contract", c.Account, c.From, c.To)
	}
	return nil
}

// Contracts lists contracts newest first: an account's (uid "" = every
// account's), of one state or all ("").
func (s *Store) Contracts(ctx context.Context, uid string, state callbill.ContractState) ([]callbill.EContract, error) {
	if state != "" && !callbill.ValidContractState(state) {
		return nil, callbill.Errorf(callbill.EINVALID, "state must be draft, formal, void or lapsed, not %q", state)
	}
	var out []callbill.EContract
	err := s.readTx(ctx, func(tx *Tx) error {
		where, args := "", []any{}
		if uid != "" {
			if err := mustAccount(ctx, tx, uid); err != nil {
				return err
			}
			where, args = " WHERE account = ?", []any{uid}
		}
		rows, err := tx.QueryContext(ctx, `SELECT `+contractCols+` FROM econtracts`+where+` ORDER BY created_at DESC, id DESC`, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		now := s.Now()
		for rows.Next() {
			c, _, err := scanContract(rows)
			if err != nil {
				return err
			}
			c.Lapse(now)
			if state == "" || c.State == state {
				out = append(out, *c)
			}
		}
		return rows.Err()
	})
	return out, err
}

// EContract returns a contract of the account uid (another account's is
// ENOTFOUND), or of any account with uid "".
func (s *Store) EContract(ctx context.Context, uid, id string) (*callbill.EContract, error) {
	var c *callbill.EContract
	err := s.readTx(ctx, func(tx *Tx) error {
		var err error
		c, err = loadContract(ctx, tx, uid, id, s.Now())
		return err
	})
	return c, err
}

// changeContract loads one of the account's contracts under its lock and
// lets fn change it; fn returns the columns to set.
func (s *Store) changeContract(ctx context.Context, uid, id string, fn func(tx *Tx, c *callbill.EContract, now time.Time) (map[string]any, error)) (*callbill.EContract, error) {
	if uid == "" {
		var err error
		if uid, err = s.contractAccount(ctx, id); err != nil {
			return nil, err
		}
	}
	var out *callbill.EContract
	err := s.contractTx(ctx, uid, "contract "+id, func(tx *Tx, now time.Time) error {
		c, err := loadContract(ctx, tx, uid, id, now)
		if err != nil {
			return err
		}
		set, err := fn(tx, c, now)
		if err != nil || len(set) == 0 {
			out = c
			return err
		}
		var cols []string
		var args []any
		for _, k := range []string{"state", "customer", "provider", "confirmed_at", "ended_at", "voided_by", "void_reason"} {
			if v, ok := set[k]; ok {
				cols, args = append(cols, k+" = ?"), append(args, v)
			}
		}
		args = append(args, uid, id)
		if _, err := tx.ExecContext(ctx, `UPDATE econtracts SET `+strings.Join(cols, ", ")+` WHERE account = ? AND id = ?`, args...); err != nil {
			return err
		}
		out = c
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (s *Store) contractAccount(ctx context.Context, id string) (string, error) {
	var uid string
	err := s.readTx(ctx, func(tx *Tx) error {
		err := tx.QueryRowContext(ctx, `SELECT account FROM econtracts WHERE id = ?`, id).Scan(&uid)
		if errors.Is(err, sql.ErrNoRows) {
			return callbill.Errorf(callbill.ENOTFOUND, "contract %s not found", id)
		}
		return err
	})
	return uid, err
}

func notDraft(c *callbill.EContract, what string) error {
	switch c.State {
	case callbill.ContractFormal:
		return callbill.Errorf(callbill.EREFUSED, "contract %s is formal: only a draft can be %s", c.ID, what)
	case callbill.ContractLapsed:
		return callbill.Errorf(callbill.EREFUSED, "contract %s lapsed on %s (a draft is valid %d days): ask for a new one",
			c.ID, c.Ended.UTC().Format("2006-01-02"), callbill.ContractDraftDays)
	}
	return callbill.Errorf(callbill.EREFUSED, "contract %s is %s: only a draft can be %s", c.ID, c.State, what)
}

// EditContract replaces a draft's customer details (the name stays the
// account's) and takes the current provider details.
func (s *Store) EditContract(ctx context.Context, uid, id string, party callbill.ContractParty) (*callbill.EContract, error) {
	return s.changeContract(ctx, uid, id, func(tx *Tx, c *callbill.EContract, now time.Time) (map[string]any, error) {
		if c.State != callbill.ContractDraft {
			return nil, notDraft(c, "edited")
		}
		party.Name = c.Customer.Name
		party.Normalize()
		if err := party.Check("customer"); err != nil {
			return nil, err
		}
		provider, err := contractProvider(ctx, tx)
		if err != nil {
			return nil, err
		}
		c.Customer, c.Provider = party, provider
		cj, _ := json.Marshal(party)
		pj, _ := json.Marshal(provider)
		return map[string]any{"customer": string(cj), "provider": string(pj)}, nil
	})
}

// ConfirmContract makes a draft formal (with the current provider details);
// confirming a formal contract again changes nothing.
func (s *Store) ConfirmContract(ctx context.Context, uid, id string) (*callbill.EContract, error) {
	return s.changeContract(ctx, uid, id, func(tx *Tx, c *callbill.EContract, now time.Time) (map[string]any, error) {
		if c.State == callbill.ContractFormal {
			c.Replayed = true
			return nil, nil
		}
		if c.State != callbill.ContractDraft {
			return nil, notDraft(c, "confirmed")
		}
		provider, err := contractProvider(ctx, tx)
		if err != nil {
			return nil, err
		}
		pj, _ := json.Marshal(provider)
		c.State, c.Confirmed, c.Provider = callbill.ContractFormal, now, provider
		return map[string]any{"state": string(c.State), "confirmed_at": now.Unix(), "provider": string(pj)}, nil
	})
}

// VoidContract voids a contract: a draft by the tenant or the operator, a
// formal one by the operator only (operator set), with a reason. Voiding a
// void contract changes nothing. A voided purchase contract frees its
// purchase for a new one.
func (s *Store) VoidContract(ctx context.Context, uid, id, reason string, operator bool) (*callbill.EContract, error) {
	reason = strings.TrimSpace(reason)
	if len([]rune(reason)) > 500 {
		return nil, callbill.Errorf(callbill.EINVALID, "the reason is longer than 500 characters")
	}
	return s.changeContract(ctx, uid, id, func(tx *Tx, c *callbill.EContract, now time.Time) (map[string]any, error) {
		switch c.State {
		case callbill.ContractVoid:
			c.Replayed = true
			return nil, nil
		case callbill.ContractLapsed:
			return nil, notDraft(c, "voided")
		case callbill.ContractFormal:
			if !operator {
				return nil, callbill.Errorf(callbill.EREFUSED, "contract %s is formal: only the operator can void it (ask through a ticket)", c.ID)
			}
			if reason == "" {
				return nil, callbill.Errorf(callbill.EINVALID, "voiding a formal contract needs a reason")
			}
		}
		by := "tenant"
		if operator {
			by = "operator"
		}
		c.State, c.Ended, c.VoidedBy, c.VoidReason = callbill.ContractVoid, now, by, reason
		return map[string]any{"state": string(c.State), "ended_at": now.Unix(), "voided_by": by, "void_reason": reason}, nil
	})
}
