package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"sort"
	"time"

	"github.com/callbill/callbill"
	"github.com/shopspring/decimal"
)

// What the web console (package console) keeps: its users, with bcrypt
// password hashes, and its sessions, shared by every node of the database.

// CreateConsoleUser adds a console user: a tenant's (account set; it must
// exist) or the operator's (account ""). The password is stored as a
// bcrypt hash. Returns EINVALID for a bad name or password, ECONFLICT when
// the name is taken.
func (s *Store) CreateConsoleUser(ctx context.Context, in callbill.NewConsoleUser) error {
	if err := in.Validate(); err != nil {
		return err
	}
	name, account := in.Name, in.Account
	hash, err := callbill.HashConsolePassword(in.Password)
	if err != nil {
		return err
	}
	return s.inTx(ctx, func(tx *Tx) error {
		if account != "" {
			if err := mustAccount(ctx, tx, account); err != nil {
				return err
			}
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO console_users (name, account, hash, created_at) VALUES (?, ?, ?, ?)`,
			name, account, hash, s.Now().Unix())
		if s.isUniqueViolation(err) {
			return callbill.Errorf(callbill.ECONFLICT, "console user %s exists", name)
		}
		return err
	})
}

// SetConsolePassword gives a console user a new password and ends its
// sessions. Returns ENOTFOUND for an unknown user.
func (s *Store) SetConsolePassword(ctx context.Context, name, password string) error {
	hash, err := callbill.HashConsolePassword(password)
	if err != nil {
		return err
	}
	return s.inTx(ctx, func(tx *Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE console_users SET hash = ? WHERE name = ?`, hash, name)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return callbill.Errorf(callbill.ENOTFOUND, "console user %s not found", name)
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM console_sessions WHERE user_name = ?`, name)
		return err
	})
}

// RemoveConsoleUser removes a console user and ends its sessions. Returns
// ENOTFOUND for an unknown user.
func (s *Store) RemoveConsoleUser(ctx context.Context, name string) error {
	return s.inTx(ctx, func(tx *Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM console_users WHERE name = ?`, name)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return callbill.Errorf(callbill.ENOTFOUND, "console user %s not found", name)
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM console_sessions WHERE user_name = ?`, name)
		return err
	})
}

// ConsoleUser returns a console user with its password hash. Returns
// ENOTFOUND for an unknown user.
func (s *Store) ConsoleUser(ctx context.Context, name string) (*callbill.ConsoleUser, error) {
	var u callbill.ConsoleUser
	err := s.readTx(ctx, func(tx *Tx) error {
		var created int64
		err := tx.QueryRowContext(ctx, `SELECT name, account, hash, created_at FROM console_users WHERE name = ?`, name).
			Scan(&u.Name, &u.Account, &u.PasswordHash, &created)
		if errors.Is(err, sql.ErrNoRows) {
			return callbill.Errorf(callbill.ENOTFOUND, "console user %s not found", name)
		}
		u.CreatedAt = time.Unix(created, 0)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &u, nil
}

// ConsoleUsers lists the console users (without their hashes), by name.
func (s *Store) ConsoleUsers(ctx context.Context) ([]callbill.ConsoleUser, error) {
	var out []callbill.ConsoleUser
	err := s.readTx(ctx, func(tx *Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT name, account, created_at FROM console_users ORDER BY name`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var u callbill.ConsoleUser
			var created int64
			if err := rows.Scan(&u.Name, &u.Account, &created); err != nil {
				return err
			}
			u.CreatedAt = time.Unix(created, 0)
			out = append(out, u)
		}
		return rows.Err()
	})
	return out, err
}

// CreateConsoleSession stores a new session.
func (s *Store) CreateConsoleSession(ctx context.Context, sess *callbill.ConsoleSession) error {
	op := 0
	if sess.Operator {
		op = 1
	}
	return s.inTx(ctx, func(tx *Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO console_sessions (id, via, user_name, key_id, operator_fp, account, operator,
			csrf, created_at, last_seen) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, sess.IDHash, sess.Via, sess.User, sess.KeyID,
			sess.OperatorFP, sess.Account, op, sess.CSRF, sess.CreatedAt.Unix(), sess.LastSeen.Unix())
		return err
	})
}

// sessionTouchEvery is how stale a session's last_seen may get before a
// request writes it again: one write a minute per active session, not one
// per request.
const sessionTouchEvery = time.Minute

// ConsoleSession returns the session stored under idHash when it was seen
// within idle and its user or AccessKey still stands (a removed user or a
// revoked key ends its sessions at once), and records that it was seen.
// Returns ENOTFOUND otherwise.
func (s *Store) ConsoleSession(ctx context.Context, idHash string, idle time.Duration) (*callbill.ConsoleSession, error) {
	now := s.Now()
	sess := callbill.ConsoleSession{IDHash: idHash}
	err := s.readTx(ctx, func(tx *Tx) error {
		var op int
		var created, seen int64
		err := tx.QueryRowContext(ctx, `SELECT via, user_name, key_id, operator_fp, account, operator, csrf, created_at, last_seen
			FROM console_sessions s WHERE id = ? AND last_seen >= ?
			AND (user_name = '' OR EXISTS (SELECT 1 FROM console_users u WHERE u.name = s.user_name))
			AND (key_id = '' OR EXISTS (SELECT 1 FROM access_keys k WHERE k.id = s.key_id AND k.revoked_at = 0))`,
			idHash, now.Add(-idle).Unix()).
			Scan(&sess.Via, &sess.User, &sess.KeyID, &sess.OperatorFP, &sess.Account, &op, &sess.CSRF, &created, &seen)
		if errors.Is(err, sql.ErrNoRows) {
			return callbill.Errorf(callbill.ENOTFOUND, "no such session")
		}
		sess.Operator, sess.CreatedAt, sess.LastSeen = op == 1, time.Unix(created, 0), time.Unix(seen, 0)
		return err
	})
	if err != nil {
		return nil, err
	}
	if now.Sub(sess.LastSeen) >= sessionTouchEvery {
		// Best effort: a missed touch only makes the idle limit come sooner.
		if _, err := s.db.ExecContext(ctx, s.rebind(`UPDATE console_sessions SET last_seen = ? WHERE id = ?`), now.Unix(), idHash); err == nil {
			sess.LastSeen = now
		}
	}
	return &sess, nil
}

// DeleteConsoleSession ends a session (signing out). Ending one that does
// not exist is no error.
func (s *Store) DeleteConsoleSession(ctx context.Context, idHash string) error {
	return s.inTx(ctx, func(tx *Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM console_sessions WHERE id = ?`, idHash)
		return err
	})
}

// PurgeConsoleSessions deletes the sessions last seen before a time and
// returns how many.
func (s *Store) PurgeConsoleSessions(ctx context.Context, before time.Time) (int64, error) {
	var n int64
	err := s.inTx(ctx, func(tx *Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM console_sessions WHERE last_seen < ?`, before.Unix())
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return n, err
}

// AccessKeys lists the AccessKeys of an account, revoked ones included,
// without their secrets, oldest first. Returns ENOTFOUND for an unknown
// account.
func (s *Store) AccessKeys(ctx context.Context, uid string) ([]callbill.AccessKeyInfo, error) {
	return s.accessKeys(ctx, uid, ` WHERE account = ?`, uid)
}

// AllAccessKeys lists the AccessKeys of every account, as AccessKeys does.
func (s *Store) AllAccessKeys(ctx context.Context) ([]callbill.AccessKeyInfo, error) {
	return s.accessKeys(ctx, "", "")
}

// accessKeys lists the keys where selects, of account uid unless uid is "".
func (s *Store) accessKeys(ctx context.Context, uid, where string, args ...any) ([]callbill.AccessKeyInfo, error) {
	var out []callbill.AccessKeyInfo
	err := s.readTx(ctx, func(tx *Tx) error {
		if uid != "" {
			if err := mustAccount(ctx, tx, uid); err != nil {
				return err
			}
		}
		rows, err := tx.QueryContext(ctx, `SELECT id, account, created_at, revoked_at FROM access_keys`+where+` ORDER BY created_at, id`, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var k callbill.AccessKeyInfo
			var created, revoked int64
			if err := rows.Scan(&k.ID, &k.Account, &created, &revoked); err != nil {
				return err
			}
			k.CreatedAt, k.RevokedAt = time.Unix(created, 0), timeOrZero(revoked)
			out = append(out, k)
		}
		return rows.Err()
	})
	return out, err
}

// AccountStandings returns every account's money and state at the store's
// time now, by UID, in two queries whatever the number of accounts (the
// operator's account list). Packages, numbers and events are left out.
func (s *Store) AccountStandings(ctx context.Context) ([]callbill.AccountStatus, error) {
	now := s.Now()
	var out []callbill.AccountStatus
	err := s.readTx(ctx, func(tx *Tx) error {
		owed := map[string]decimal.Decimal{}
		rows, err := tx.QueryContext(ctx, `SELECT account, cycle, postpaid_payable, paid FROM bills`)
		if err != nil {
			return err
		}
		for rows.Next() {
			var uid, payable, paid string
			var cycle int
			if err := rows.Scan(&uid, &cycle, &payable, &paid); err != nil {
				rows.Close()
				return err
			}
			if payable != paid {
				var r decReader
				due := r.parse("postpaid_payable", payable).Sub(r.parse("paid", paid))
				if err := r.err("bills", "account %s, cycle %s", uid, callbill.Cycle(cycle)); err != nil {
					rows.Close()
					return err
				}
				owed[uid] = owed[uid].Add(due)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		rows, err = tx.QueryContext(ctx, `SELECT uid, name, cash, credit_line, allowance, grace_days, state, below_since
			FROM accounts ORDER BY uid`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var st callbill.AccountStatus
			var cash, credit, allowance string
			var below int64
			if err := rows.Scan(&st.UID, &st.Name, &cash, &credit, &allowance, &st.GraceDays, &st.Recorded, &below); err != nil {
				return err
			}
			var r decReader
			st.Standing = callbill.Standing{Cash: r.parse("cash", cash), CreditLine: r.parse("credit_line", credit),
				Outstanding: owed[st.UID], Allowance: r.parse("allowance", allowance), GraceDays: st.GraceDays,
				BelowSince: timeOrZero(below)}
			if err := r.err("accounts", "account %s", st.UID); err != nil {
				return err
			}
			st.State, _ = st.Standing.Next(now)
			st.AskedAt = now
			out = append(out, st)
		}
		return rows.Err()
	})
	return out, err
}

// BillCycles lists the cycles in which an account has a bill, calls or
// purchases, oldest first. Returns ENOTFOUND for an unknown account.
func (s *Store) BillCycles(ctx context.Context, uid string) ([]callbill.Cycle, error) {
	var out []callbill.Cycle
	err := s.readTx(ctx, func(tx *Tx) error {
		if err := mustAccount(ctx, tx, uid); err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, `SELECT cycle FROM bills WHERE account = ?
			UNION SELECT cycle FROM call_versions v WHERE account = ? AND EXISTS (SELECT 1 FROM usage_agg u
				WHERE u.cycle = v.cycle AND u.`+everyDay+` AND u.account = v.account)
			UNION SELECT DISTINCT cycle FROM purchases WHERE account = ?`, uid, uid, uid)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var c int
			if err := rows.Scan(&c); err != nil {
				return err
			}
			out = append(out, callbill.Cycle(c))
		}
		return rows.Err()
	})
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out, err
}
