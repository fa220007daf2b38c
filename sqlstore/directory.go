package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/callbill/callbill"
	"github.com/shopspring/decimal"
)

// contractJSON is how a contract is stored.
type contractJSON struct {
	Discount string            `json:"discount"`
	Items    map[string]string `json:"items,omitempty"`
	From     string            `json:"from,omitempty"`
	To       string            `json:"to,omitempty"`
}

func encodeContract(c *callbill.Contract) string {
	if c == nil {
		return ""
	}
	j := contractJSON{Discount: c.Discount.String()}
	if len(c.Items) > 0 {
		j.Items = map[string]string{}
		for k, v := range c.Items {
			j.Items[string(k)] = v.String()
		}
	}
	if c.From != 0 {
		j.From = c.From.String()
	}
	if c.To != 0 {
		j.To = c.To.String()
	}
	b, _ := json.Marshal(j)
	return string(b)
}

// decodeContract reads the stored contract of account uid; what does not
// read is an error naming the account.
func decodeContract(uid, s string) (*callbill.Contract, error) {
	if s == "" {
		return nil, nil
	}
	var j contractJSON
	if err := json.Unmarshal([]byte(s), &j); err != nil {
		return nil, corrupt(fmt.Sprintf("JSON (%v)", err), "accounts.contract", "account %s", uid)
	}
	c := &callbill.Contract{Items: map[callbill.Item]decimal.Decimal{}}
	var r decReader
	c.Discount = r.parse("contract", j.Discount)
	for k, v := range j.Items {
		c.Items[callbill.Item(k)] = r.parse("contract", v)
	}
	if err := r.err("accounts", "account %s", uid); err != nil {
		return nil, err
	}
	var err error
	if j.From != "" {
		if c.From, err = callbill.ParseCycle(j.From); err != nil {
			return nil, corrupt(fmt.Sprintf("from cycle %q", j.From), "accounts.contract", "account %s", uid)
		}
	}
	if j.To != "" {
		if c.To, err = callbill.ParseCycle(j.To); err != nil {
			return nil, corrupt(fmt.Sprintf("to cycle %q", j.To), "accounts.contract", "account %s", uid)
		}
	}
	return c, nil
}

type account struct {
	callbill.Account
	Cash       decimal.Decimal
	State      callbill.AccountState // as last recorded
	BelowSince time.Time
	LowAlerted bool
}

func unixOrZero(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}

func timeOrZero(u int64) time.Time {
	if u == 0 {
		return time.Time{}
	}
	return time.Unix(u, 0)
}

// loadAllAccounts loads every account with its instances and numbers.
func loadAllAccounts(ctx context.Context, q querier) (map[string]*account, error) {
	return queryAccounts(ctx, q, "", "")
}

// loadAccounts loads the account uid (none when it does not exist) with its
// instances and numbers.
func loadAccounts(ctx context.Context, q querier, uid string) (map[string]*account, error) {
	return queryAccounts(ctx, q, " WHERE uid = ?", " WHERE account = ?", uid)
}

// queryAccounts loads the accounts whose rows match where (in accounts) and
// childWhere (in instances and numbers).
func queryAccounts(ctx context.Context, q querier, where, childWhere string, args ...any) (map[string]*account, error) {
	out, err := queryAccountRows(ctx, q, where, args...)
	if err != nil {
		return nil, err
	}
	rows, err := q.QueryContext(ctx, `SELECT account, id, mode FROM instances`+childWhere+` ORDER BY account, id`, args...)
	if err != nil {
		return nil, err
	}
	pos := map[string]int{}
	for rows.Next() {
		var inst callbill.Instance
		if err := rows.Scan(&inst.Account, &inst.ID, &inst.Mode); err != nil {
			rows.Close()
			return nil, err
		}
		if a := out[inst.Account]; a != nil {
			pos[inst.ID] = len(a.Instances)
			a.Instances = append(a.Instances, inst)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows, err = q.QueryContext(ctx, `SELECT account, instance, number, kind, source, tier, since, until FROM numbers`+childWhere+` ORDER BY account, instance, number`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var acct string
		var n callbill.Number
		var since, until int64
		if err := rows.Scan(&acct, &n.Instance, &n.Number, &n.Kind, &n.Source, &n.Tier, &since, &until); err != nil {
			return nil, err
		}
		n.Since, n.Until = timeOrZero(since), timeOrZero(until)
		if a := out[acct]; a != nil {
			if i, ok := pos[n.Instance]; ok {
				a.Instances[i].Numbers = append(a.Instances[i].Numbers, n)
			}
		}
	}
	return out, rows.Err()
}

// queryAccountRows loads the accounts whose rows match where, without their
// instances and numbers.
func queryAccountRows(ctx context.Context, q querier, where string, args ...any) (map[string]*account, error) {
	rows, err := q.QueryContext(ctx, `SELECT uid, name, kind, credit_line, contract, retention, cash,
		allowance, grace_days, low_balance, state, below_since, low_alerted FROM accounts`+where, args...)
	if err != nil {
		return nil, err
	}
	out := map[string]*account{}
	for rows.Next() {
		var a account
		var credit, contract, cash, allowance, low string
		var below, alerted int64
		if err := rows.Scan(&a.UID, &a.Name, &a.Kind, &credit, &contract, &a.RecordingRetentionMonths, &cash,
			&allowance, &a.GraceDays, &low, &a.State, &below, &alerted); err != nil {
			rows.Close()
			return nil, err
		}
		var r decReader
		a.CreditLine = r.parse("credit_line", credit)
		a.Cash = r.parse("cash", cash)
		a.Allowance = r.parse("allowance", allowance)
		if low != "" {
			d := r.parse("low_balance", low)
			a.LowBalanceAlert = &d
		}
		if err := r.err("accounts", "account %s", a.UID); err != nil {
			rows.Close()
			return nil, err
		}
		a.BelowSince, a.LowAlerted = timeOrZero(below), alerted != 0
		if a.Contract, err = decodeContract(a.UID, contract); err != nil {
			rows.Close()
			return nil, err
		}
		out[a.UID] = &a
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// instanceDirectory turns accounts into what the rater looks calls up in.
func instanceDirectory(accts map[string]*account) map[string]*callbill.InstanceInfo {
	dir := map[string]*callbill.InstanceInfo{}
	for _, a := range accts {
		for i := range a.Instances {
			inst := &a.Instances[i]
			info := &callbill.InstanceInfo{ID: inst.ID, Account: a.UID, Mode: inst.Mode, Numbers: map[string]*callbill.Number{}}
			for j := range inst.Numbers {
				info.Numbers[inst.Numbers[j].Number] = &inst.Numbers[j]
			}
			dir[inst.ID] = info
		}
	}
	return dir
}

type tierJSON struct {
	UpTo  int64  `json:"upto,omitempty"`
	Price string `json:"price"`
}

// loadPriceBook builds the price book from the built-in prices and the stored overrides.
func loadPriceBook(ctx context.Context, q querier) (*callbill.PriceBook, error) {
	rows, err := q.QueryContext(ctx, `SELECT item, mode, from_unix, tiers FROM prices`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var overrides []callbill.Price
	for rows.Next() {
		var p callbill.Price
		var from int64
		var tiers string
		if err := rows.Scan(&p.Item, &p.Mode, &from, &tiers); err != nil {
			return nil, err
		}
		p.From = time.Unix(from, 0)
		var err error
		if p.Tiers, err = decodeTiers(p, tiers); err != nil {
			return nil, err
		}
		overrides = append(overrides, p)
	}
	return callbill.NewPriceBook(overrides), rows.Err()
}

func encodeTiers(ts []callbill.Tier) string {
	out := make([]tierJSON, len(ts))
	for i, t := range ts {
		out[i] = tierJSON{UpTo: t.UpTo, Price: t.Price.String()}
	}
	b, _ := json.Marshal(out)
	return string(b)
}

// AccountUIDs lists every account's UID, sorted.
func (s *Store) AccountUIDs(ctx context.Context) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT uid FROM accounts ORDER BY uid`) // no placeholders
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var uid string
		if err := rows.Scan(&uid); err != nil {
			return nil, err
		}
		out = append(out, uid)
	}
	return out, rows.Err()
}

// loadAccountRow loads one account without its instances and numbers (what
// its money and state need). Returns ENOTFOUND for an unknown account.
func loadAccountRow(ctx context.Context, q querier, uid string) (*account, error) {
	accts, err := queryAccountRows(ctx, q, " WHERE uid = ?", uid)
	return oneAccount(uid, accts, err)
}

// loadAccount loads one account with its instances and numbers. Returns
// ENOTFOUND for an unknown account.
func loadAccount(ctx context.Context, q querier, uid string) (*account, error) {
	accts, err := loadAccounts(ctx, q, uid)
	return oneAccount(uid, accts, err)
}

// oneAccount is the account uid of what a query by uid found, ENOTFOUND
// when it found none.
func oneAccount(uid string, accts map[string]*account, err error) (*account, error) {
	if err != nil {
		return nil, err
	}
	a := accts[uid]
	if a == nil {
		return nil, callbill.Errorf(callbill.ENOTFOUND, "account %s not found", uid)
	}
	return a, nil
}
