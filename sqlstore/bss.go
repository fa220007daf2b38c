package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/callbill/callbill"
)

// Reads the BSS OpenAPI endpoint (package bss) needs beyond bills and status.

// AccountName returns an account's name. Returns ENOTFOUND for an unknown
// account.
func (s *Store) AccountName(ctx context.Context, uid string) (string, error) {
	var name string
	err := s.db.QueryRowContext(ctx, s.rebind(`SELECT name FROM accounts WHERE uid = ?`), uid).Scan(&name)
	if errors.Is(err, sql.ErrNoRows) {
		return "", callbill.Errorf(callbill.ENOTFOUND, "account %s not found", uid)
	}
	return name, err
}

// VoicePackages returns every voice package of an account, expired and used
// up ones included, in purchase order (time, then id), together with the
// store's time now, against which the caller tells valid packages from
// expired ones (Store.Status lists only the valid ones). Returns ENOTFOUND
// for an unknown account.
func (s *Store) VoicePackages(ctx context.Context, uid string) ([]callbill.VoicePackage, time.Time, error) {
	now := s.Now()
	var out []callbill.VoicePackage
	err := s.readTx(ctx, func(tx *Tx) error {
		if err := mustAccount(ctx, tx, uid); err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, `SELECT id, type, minutes, remaining, from_unix, until_unix FROM packages
			WHERE account = ? ORDER BY from_unix, id`, uid)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			p := callbill.VoicePackage{Account: uid}
			var from, until int64
			if err := rows.Scan(&p.ID, &p.Type, &p.Minutes, &p.Remaining, &from, &until); err != nil {
				return err
			}
			p.From, p.Until = time.Unix(from, 0), time.Unix(until, 0)
			out = append(out, p)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, time.Time{}, err
	}
	return out, now, nil
}
