package sqlstore

import (
	"context"
	"encoding/json"
	"sort"
	"time"

	"github.com/callbill/callbill"
	"github.com/shopspring/decimal"
)

// Accounts returns every account (uid "") or one, with instances, numbers
// and contract. Returns ENOTFOUND for an unknown uid.
func (s *Store) Accounts(ctx context.Context, uid string) ([]callbill.Account, error) {
	var out []callbill.Account
	err := s.readTx(ctx, func(tx *Tx) error {
		accts, err := loadAccounts(ctx, tx, uid)
		if err != nil {
			return err
		}
		if uid != "" && accts[uid] == nil {
			return callbill.Errorf(callbill.ENOTFOUND, "account %s not found", uid)
		}
		for _, a := range accts {
			out = append(out, a.Account)
		}
		sort.Slice(out, func(i, j int) bool { return out[i].UID < out[j].UID })
		return nil
	})
	return out, err
}

// PriceOverrides returns the price overrides applied from world files, by
// item, mode and effective time (the built-in book is callbill.BuiltinPrices).
func (s *Store) PriceOverrides(ctx context.Context) ([]callbill.Price, error) {
	var out []callbill.Price
	err := s.readTx(ctx, func(tx *Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT item, mode, from_unix, tiers FROM prices ORDER BY item, mode, from_unix`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var p callbill.Price
			var from int64
			var tiers string
			if err := rows.Scan(&p.Item, &p.Mode, &from, &tiers); err != nil {
				return err
			}
			p.From = time.Unix(from, 0)
			p.Tiers, err = decodeTiers(tiers)
			if err != nil {
				return err
			}
			out = append(out, p)
		}
		return rows.Err()
	})
	return out, err
}

// Usage returns one page of an account's calls billed in a cycle, in ingest
// order, after the sequence f.After (keyset paging: a page costs the same
// wherever it is), and the sequence to ask the next page from (0 when this
// is the last). Returns ENOTFOUND for an unknown account.
func (s *Store) Usage(ctx context.Context, uid string, f callbill.UsageFilter) ([]callbill.Call, int64, error) {
	if f.Limit <= 0 || f.Limit > 1000 {
		f.Limit = 100
	}
	var out []callbill.Call
	var next int64
	err := s.readTx(ctx, func(tx *Tx) error {
		if err := mustAccount(ctx, tx, uid); err != nil {
			return err
		}
		// The block holding f.After may hold calls after it: start there.
		rows, err := tx.QueryContext(ctx, `SELECT seq, calls, data FROM call_blocks WHERE account = ? AND cycle = ?
			AND seq + calls > ? ORDER BY seq`, uid, int(f.Cycle), f.After)
		if err != nil {
			return err
		}
		defer rows.Close()
		errFull := callbill.Errorf(callbill.EINTERNAL, "page full")
		for rows.Next() {
			var seq int64
			var n int
			var data []byte
			if err := rows.Scan(&seq, &n, &data); err != nil {
				return err
			}
			err := decodeBlock(data, uid, f.Cycle, seq, func(c *callbill.Call) error {
				if c.Seq <= f.After || !f.Match(c) {
					return nil
				}
				if len(out) == f.Limit {
					next = out[len(out)-1].Seq
					return errFull
				}
				cc := *c
				cc.Bands = append([]callbill.BandUse(nil), c.Bands...)
				cc.Packages = append([]callbill.PackageUse(nil), c.Packages...)
				out = append(out, cc)
				return nil
			})
			if err == errFull {
				return nil
			}
			if err != nil {
				return err
			}
		}
		return rows.Err()
	})
	return out, next, err
}

func decodeTiers(s string) ([]callbill.Tier, error) {
	var ts []tierJSON
	if err := json.Unmarshal([]byte(s), &ts); err != nil {
		return nil, err
	}
	out := make([]callbill.Tier, len(ts))
	for i, t := range ts {
		d, err := decimal.NewFromString(t.Price)
		if err != nil {
			return nil, err
		}
		out[i] = callbill.Tier{UpTo: t.UpTo, Price: d}
	}
	return out, nil
}
