package sqlstore

import (
	"context"
	"time"

	"github.com/callbill/callbill"
)

// Calls streams an account's rated calls billed in a cycle to fn, in ingest
// order, one block in memory at a time. fn gets the billing time zone and a
// call that is reused for the next one. Returns ENOTFOUND for an unknown account.
func (s *Store) Calls(ctx context.Context, uid string, c callbill.Cycle, fn func(loc *time.Location, call *callbill.Call) error) error {
	return s.readTx(ctx, func(tx *Tx) error { return s.calls(ctx, tx, uid, c, fn) })
}

func (s *Store) calls(ctx context.Context, tx *Tx, uid string, c callbill.Cycle, fn func(loc *time.Location, call *callbill.Call) error) error {
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM accounts WHERE uid = ?`, uid).Scan(&n); err != nil {
		return err
	}
	if n == 0 {
		return callbill.Errorf(callbill.ENOTFOUND, "account %s not found", uid)
	}
	loc, _, err := location(ctx, tx)
	if err != nil {
		return err
	}
	rows, err := tx.QueryContext(ctx, `SELECT seq, data FROM call_blocks WHERE account = ? AND cycle = ? ORDER BY seq`, uid, int(c))
	if err != nil {
		return err
	}
	defer rows.Close()
	var data []byte
	for rows.Next() {
		var seq int64
		if err := rows.Scan(&seq, &data); err != nil {
			return err
		}
		if err := decodeBlock(data, uid, c, seq, func(call *callbill.Call) error { return fn(loc, call) }); err != nil {
			return err
		}
	}
	return rows.Err()
}
