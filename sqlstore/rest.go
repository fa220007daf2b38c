package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/callbill/callbill"
)

// Account returns an account with its instances, numbers and contract.
// Returns ENOTFOUND for an unknown uid.
func (s *Store) Account(ctx context.Context, uid string) (*callbill.Account, error) {
	var out *callbill.Account
	err := s.readTx(ctx, func(tx *Tx) error {
		a, err := loadAccount(ctx, tx, uid)
		if err == nil {
			out = &a.Account
		}
		return err
	})
	return out, err
}

// AllAccounts returns every account, by uid, with instances, numbers and
// contract.
func (s *Store) AllAccounts(ctx context.Context) ([]callbill.Account, error) {
	var out []callbill.Account
	err := s.readTx(ctx, func(tx *Tx) error {
		accts, err := loadAllAccounts(ctx, tx)
		if err != nil {
			return err
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
			p.Tiers, err = decodeTiers(p, tiers)
			if err != nil {
				return err
			}
			out = append(out, p)
		}
		return rows.Err()
	})
	return out, err
}

// Usage returns one page of an account's calls (keyset paging: a page
// costs the same wherever it is) and the sequence to ask the next page from
// (0 when this is the last). Returns ENOTFOUND for an unknown account.
func (s *Store) Usage(ctx context.Context, uid string, f callbill.UsageFilter) ([]callbill.Call, int64, error) {
	if f.Limit <= 0 || f.Limit > 1000 {
		f.Limit = 100
	}
	var out []callbill.Call
	var next int64
	errFull := errors.New("page full")
	err := s.StreamUsage(ctx, uid, f, func(_ *time.Location, c *callbill.Call) error {
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
		err = nil
	}
	return out, next, err
}

// StreamUsage calls fn with each of an account's calls that pass the
// filter, in ingest order (newest first with Desc), one block in memory at
// a time, within one read-only transaction; fn gets the billing time zone
// and a call reused for the next one. An error from fn stops it and comes
// back. Returns ENOTFOUND for an unknown account.
func (s *Store) StreamUsage(ctx context.Context, uid string, f callbill.UsageFilter, fn func(loc *time.Location, c *callbill.Call) error) error {
	return s.readTx(ctx, func(tx *Tx) error {
		loc, _, err := location(ctx, tx)
		if err != nil {
			return err
		}
		where, args := "account = ? AND cycle = ?", []any{uid, int(f.Cycle)}
		if f.Cycle == 0 {
			// By start time: a call is billed in its start cycle or later;
			// a block's time bounds skip the blocks that cannot hold one.
			where, args = `account = ? AND cycle >= ? AND (last_start = 0 OR last_start >= ?) AND (first_start = 0 OR first_start < ?)`,
				[]any{uid, int(callbill.CycleOf(f.From, loc)), f.From.Unix(), toUnix(f.To)}
		}
		order := "seq"
		if f.Desc {
			order = "seq DESC"
			if f.After > 0 {
				where, args = where+" AND seq < ?", append(args, f.After)
			}
		} else if f.After > 0 {
			where, args = where+" AND seq + calls > ?", append(args, f.After)
		}
		q, args := s.tailUnion("seq, cycle, data", where, order, args)
		rows, err := tx.QueryContext(ctx, q, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		var data sql.RawBytes    // valid until the next row: decodeBlock copies what it keeps
		var held []callbill.Call // Desc: a block's calls, to go through backwards
		blocks := 0
		for rows.Next() {
			blocks++
			var seq int64
			var cycle int
			if err := rows.Scan(&seq, &cycle, &data); err != nil {
				return err
			}
			pass := func(c *callbill.Call) bool {
				if f.After > 0 && ((!f.Desc && c.Seq <= f.After) || (f.Desc && c.Seq >= f.After)) {
					return false
				}
				return f.Match(c)
			}
			if !f.Desc {
				err := decodeBlock(data, uid, callbill.Cycle(cycle), seq, func(c *callbill.Call) error {
					if !pass(c) {
						return nil
					}
					return fn(loc, c)
				})
				if err != nil {
					return err
				}
				continue
			}
			held = held[:0]
			err := decodeBlock(data, uid, callbill.Cycle(cycle), seq, func(c *callbill.Call) error {
				if pass(c) {
					cc := *c
					cc.Bands = append([]callbill.BandUse(nil), c.Bands...)
					cc.Packages = append([]callbill.PackageUse(nil), c.Packages...)
					held = append(held, cc)
				}
				return nil
			})
			if err != nil {
				return err
			}
			for i := len(held) - 1; i >= 0; i-- {
				if err := fn(loc, &held[i]); err != nil {
					return err
				}
			}
		}
		if err := rows.Err(); err != nil || blocks > 0 {
			return err
		}
		// No calls: is there such an account? (A block says so already.)
		return mustAccount(ctx, tx, uid)
	})
}

// decodeTiers reads the stored tiers of price p (its item, mode and from
// say which row); what does not read is an error naming the row.
func decodeTiers(p callbill.Price, s string) ([]callbill.Tier, error) {
	row := "item %s, mode %s, from %s"
	from := p.From.UTC().Format(time.RFC3339)
	var ts []tierJSON
	if err := json.Unmarshal([]byte(s), &ts); err != nil {
		return nil, corrupt(fmt.Sprintf("JSON (%v)", err), "prices.tiers", row, p.Item, p.Mode, from)
	}
	out := make([]callbill.Tier, len(ts))
	var r decReader
	for i, t := range ts {
		out[i] = callbill.Tier{UpTo: t.UpTo, Price: r.parse("tiers", t.Price)}
	}
	return out, r.err("prices", row, p.Item, p.Mode, from)
}

// toUnix is t's epoch seconds, or the largest when t is zero (no end).
func toUnix(t time.Time) int64 {
	if t.IsZero() {
		return 1<<62 - 1
	}
	return t.Unix()
}
