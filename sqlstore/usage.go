package sqlstore

import (
	"context"
	"database/sql"
	"time"

	"github.com/callbill/callbill"
)

// Calls streams an account's rated calls billed in a cycle to fn, in key
// order, without holding them in memory. It also returns the billing time zone.
// Returns ENOTFOUND for an unknown account.
func (s *Store) Calls(ctx context.Context, uid string, c callbill.Cycle, fn func(loc *time.Location, call *callbill.Call) error) error {
	tx, err := s.begin(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return err
	}
	defer tx.Rollback()
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
	rows, err := tx.QueryContext(ctx, `SELECT instance, contact_id, direction, caller, callee, start_unix, end_unix,
		rec_seconds, rec_bytes, cycle, minutes, rating, seq FROM calls WHERE account = ? AND cycle = ?`, uid, int(c))
	if err != nil {
		return err
	}
	defer rows.Close()
	call := callbill.Call{}
	for rows.Next() {
		var dir, cy int
		var rating string
		call = callbill.Call{Account: uid}
		if err := rows.Scan(&call.InstanceID, &call.ContactID, &dir, &call.Caller, &call.Callee, &call.Start, &call.End,
			&call.RecordingSeconds, &call.RecordingBytes, &cy, &call.Minutes, &rating, &call.Seq); err != nil {
			return err
		}
		call.Direction, call.Cycle = dirFromInt(dir), callbill.Cycle(cy)
		if err := decodeRating(rating, &call); err != nil {
			return err
		}
		if err := fn(loc, &call); err != nil {
			return err
		}
	}
	return rows.Err()
}
