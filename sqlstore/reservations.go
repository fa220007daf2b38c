package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/callbill/callbill"
	"github.com/callbill/callbill/authz"
	"github.com/callbill/callbill/closing"
	"github.com/callbill/callbill/ingest"
)

// Call authorization's reads and reservations (docs/authorization.md); the
// rules are authz.Service's and the root package's AuthSnapshot.

// authSnapshot reads what authorization needs of accts: their standing,
// contract, voice packages with minutes left and numbers' rent, with the
// price book, the time zone and the world's billing.max_call_seconds.
func authSnapshot(ctx context.Context, tx *Tx, accts map[string]*account, now time.Time) (*callbill.AuthSnapshot, error) {
	snap := &callbill.AuthSnapshot{Instances: map[string]*callbill.AuthInstance{}, Standing: map[string]*callbill.Standing{},
		Accounts: map[string]*callbill.AuthAccount{}, Built: now}
	loc, _, err := location(ctx, tx)
	if err != nil {
		return nil, err
	}
	window, err := billingWindow(ctx, tx, now, loc)
	if err != nil {
		return nil, err
	}
	if snap.Book, err = loadPriceBook(ctx, tx); err != nil {
		return nil, err
	}
	snap.Loc, snap.Cap = loc, window.MaxCallSeconds
	uids := make([]string, 0, len(accts))
	for uid := range accts {
		uids = append(uids, uid)
	}
	owed, err := outstanding(ctx, tx, uids)
	if err != nil {
		return nil, err
	}
	where, args := "", []any(nil)
	if len(accts) == 1 {
		where, args = " AND account = ?", []any{uids[0]}
	}
	paid := map[[2]string]int64{}
	rows, err := tx.QueryContext(ctx, `SELECT instance, number, paid_until FROM numbers WHERE paid_until <> 0`+where, args...)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var inst, num string
		var until int64
		if err := rows.Scan(&inst, &num, &until); err != nil {
			rows.Close()
			return nil, err
		}
		paid[[2]string{inst, num}] = until
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	packages, err := livePackages(ctx, tx, uids, len(accts) != 1, now)
	if err != nil {
		return nil, err
	}
	for uid, a := range accts {
		snap.Standing[uid] = ledgerAccount(a).Standing(owed[uid])
		snap.Accounts[uid] = &callbill.AuthAccount{Contract: a.Contract, Packages: packages[uid]}
		for _, inst := range a.Instances {
			ai := &callbill.AuthInstance{Account: uid, Mode: inst.Mode, Numbers: map[string]*callbill.AuthNumber{}}
			for _, n := range inst.Numbers {
				ai.Numbers[n.Number] = &callbill.AuthNumber{Number: n, PaidUntil: timeOrZero(paid[[2]string{inst.ID, n.Number}])}
			}
			snap.Instances[inst.ID] = ai
		}
	}
	return snap, nil
}

// livePackages reads the voice packages with minutes left that have not
// expired by now, of uids or of every account (all).
func livePackages(ctx context.Context, q querier, uids []string, all bool, now time.Time) (map[string][]callbill.VoicePackage, error) {
	out := map[string][]callbill.VoicePackage{}
	read := func(where string, args ...any) error {
		rows, err := q.QueryContext(ctx, `SELECT account, id, type, minutes, remaining, from_unix, until_unix FROM packages
			WHERE remaining > 0 AND until_unix > ?`+where, append([]any{now.Unix()}, args...)...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var p callbill.VoicePackage
			var from, until int64
			if err := rows.Scan(&p.Account, &p.ID, &p.Type, &p.Minutes, &p.Remaining, &from, &until); err != nil {
				return err
			}
			p.From, p.Until = time.Unix(from, 0), time.Unix(until, 0)
			out[p.Account] = append(out[p.Account], p)
		}
		return rows.Err()
	}
	if all {
		return out, read("")
	}
	for start := 0; start < len(uids); start += 500 {
		part := uids[start:min(start+500, len(uids))]
		args := make([]any, len(part))
		for i, u := range part {
			args[i] = u
		}
		if err := read(` AND account IN (?`+strings.Repeat(",?", len(part)-1)+`)`, args...); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Packages returns the voice packages with minutes left of accounts.
func (s *Store) Packages(ctx context.Context, accounts []string) (map[string][]callbill.VoicePackage, error) {
	var out map[string][]callbill.VoicePackage
	err := s.readTx(ctx, func(tx *Tx) error {
		var err error
		out, err = livePackages(ctx, tx, accounts, false, s.Now())
		return err
	})
	return out, err
}

// SpendVersions returns the world's generation with the last closed cycle,
// and every account's calls versions in the open cycles (one query; see
// authz.Live). It reads outside any transaction.
func (s *Store) SpendVersions(ctx context.Context) (*authz.SpendVersions, error) {
	db := s.reader()
	var gen, closed sql.NullString
	if err := db.QueryRowContext(ctx, s.rebind(`SELECT (SELECT value FROM meta WHERE key = 'gen'), (SELECT value FROM meta WHERE key = 'closed_through')`)).
		Scan(&gen, &closed); err != nil {
		return nil, err
	}
	closedAt, _ := strconv.Atoi(closed.String)
	rows, err := db.QueryContext(ctx, s.rebind(`SELECT account, cycle, version FROM call_versions WHERE cycle > ? ORDER BY account, cycle`), closedAt)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	v := &authz.SpendVersions{World: gen.String + "/" + closed.String, Calls: map[string]string{}}
	var b []byte
	var last string
	flush := func() {
		if last != "" {
			v.Calls[last] = string(b)
		}
	}
	for rows.Next() {
		var acct string
		var cycle, version int64
		if err := rows.Scan(&acct, &cycle, &version); err != nil {
			return nil, err
		}
		if acct != last {
			flush()
			last, b = acct, b[:0]
		}
		b = appendVersion(b, cycle, version)
	}
	flush()
	return v, rows.Err()
}

// appendVersion writes one cycle's calls version as SpendVersions holds it.
func appendVersion(b []byte, cycle, version int64) []byte {
	if len(b) > 0 {
		b = append(b, ',')
	}
	b = strconv.AppendInt(b, cycle, 10)
	b = append(b, ':')
	return strconv.AppendInt(b, version, 10)
}

const reservationCols = `instance, contact_id, account, number, direction, amount, seconds, expires_at, created_at, node`

// queryReservations reads the reservations a query returns (reservationCols).
func queryReservations(ctx context.Context, q querier, query string, args ...any) ([]callbill.Reservation, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+reservationCols+` FROM reservations `+query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []callbill.Reservation
	for rows.Next() {
		var r callbill.Reservation
		var amount string
		var expires, created int64
		if err := rows.Scan(&r.Instance, &r.ContactID, &r.Account, &r.Number, &r.Direction, &amount, &r.Seconds, &expires, &created, &r.Node); err != nil {
			return nil, err
		}
		var d decReader
		r.Amount = d.parse("amount", amount)
		if err := d.err("reservations", "instance %s, contact %s", r.Instance, r.ContactID); err != nil {
			return nil, err
		}
		r.ExpiresAt, r.CreatedAt = time.Unix(expires, 0), time.Unix(created, 0)
		out = append(out, r)
	}
	return out, rows.Err()
}

// LiveReservations returns every reservation not expired at now.
func (s *Store) LiveReservations(ctx context.Context, now time.Time) ([]callbill.Reservation, error) {
	var out []callbill.Reservation
	err := s.readTx(ctx, func(tx *Tx) error {
		var err error
		out, err = queryReservations(ctx, tx, `WHERE expires_at > ?`, now.Unix())
		return err
	})
	return out, err
}

// DeleteExpiredReservations deletes the reservations expired at now.
func (s *Store) DeleteExpiredReservations(ctx context.Context, now time.Time) (int64, error) {
	var n int64
	err := s.inTx(ctx, func(tx *Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM reservations WHERE expires_at <= ?`, now.Unix())
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return n, err
}

// UpdateReservations runs fn under the writer lock and account's lock, the
// lock an import batch takes for the account's calls (see authz.Store).
func (s *Store) UpdateReservations(ctx context.Context, account string, fn func(tx authz.Tx, now time.Time) error) error {
	return s.lockedTx(ctx, []string{account}, "the reservation", func(tx *Tx) error { return fn(reservationTx{tx}, s.Now()) })
}

// ViewReservations runs fn in a read-only transaction.
func (s *Store) ViewReservations(ctx context.Context, fn func(tx authz.Tx, now time.Time) error) error {
	return s.readTx(ctx, func(tx *Tx) error { return fn(reservationTx{tx}, s.Now()) })
}

// reservationTx is authz.Tx on a transaction.
type reservationTx struct{ tx *Tx }

var _ authz.Tx = reservationTx{}

func (t reservationTx) Closing() closing.Tx { return &closingTx{tx: t.tx} }

func (t reservationTx) InstanceAccount(ctx context.Context, instance string) (string, error) {
	var account string
	err := t.tx.QueryRowContext(ctx, `SELECT account FROM instances WHERE id = ?`, instance).Scan(&account)
	if errors.Is(err, sql.ErrNoRows) {
		return "", callbill.Errorf(callbill.ENOTFOUND, "unknown instance %s", instance)
	}
	return account, err
}

func (t reservationTx) AccountSnapshot(ctx context.Context, uid string, now time.Time) (*callbill.AuthSnapshot, error) {
	a, err := loadAccount(ctx, t.tx, uid)
	if err != nil {
		return nil, err
	}
	return authSnapshot(ctx, t.tx, map[string]*account{uid: a}, now)
}

func (t reservationTx) SpendVersion(ctx context.Context, account string) (string, error) {
	gen, err := getMeta(ctx, t.tx, "gen")
	if err != nil {
		return "", err
	}
	closed, err := getMeta(ctx, t.tx, "closed_through")
	if err != nil {
		return "", err
	}
	closedAt, _ := strconv.Atoi(closed)
	rows, err := t.tx.QueryContext(ctx, `SELECT cycle, version FROM call_versions WHERE account = ? AND cycle > ? ORDER BY cycle`, account, closedAt)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	var b []byte
	for rows.Next() {
		var cycle, version int64
		if err := rows.Scan(&cycle, &version); err != nil {
			return "", err
		}
		b = appendVersion(b, cycle, version)
	}
	return gen + "/" + closed + "|" + string(b), rows.Err()
}

func (t reservationTx) Reservation(ctx context.Context, instance, contactID string) (*callbill.Reservation, error) {
	rs, err := queryReservations(ctx, t.tx, `WHERE instance = ? AND contact_id = ?`, instance, contactID)
	if err != nil || len(rs) == 0 {
		return nil, err
	}
	return &rs[0], nil
}

func (t reservationTx) Reservations(ctx context.Context, account string, now time.Time) ([]callbill.Reservation, error) {
	return queryReservations(ctx, t.tx, `WHERE account = ? AND expires_at > ?`, account, now.Unix())
}

func (t reservationTx) CallStored(ctx context.Context, instance, contactID string) (bool, error) {
	var n int
	err := t.tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM call_keys WHERE instance = ? AND contact_id = ?`, instance, contactID).Scan(&n)
	return n > 0, err
}

func (t reservationTx) InsertReservation(ctx context.Context, r *callbill.Reservation) error {
	_, err := t.tx.ExecContext(ctx, `INSERT INTO reservations (`+reservationCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.Instance, r.ContactID, r.Account, r.Number, string(r.Direction), r.Amount.String(), r.Seconds, r.ExpiresAt.Unix(), r.CreatedAt.Unix(), r.Node)
	return err
}

func (t reservationTx) DeleteReservation(ctx context.Context, instance, contactID string) (bool, error) {
	res, err := t.tx.ExecContext(ctx, `DELETE FROM reservations WHERE instance = ? AND contact_id = ?`, instance, contactID)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// ReservedAccounts returns which of accounts (sorted) hold a reservation,
// expired or not (see ingest.Tx): an import batch releases the reservations
// of the calls it stores, and skips that work when none of its accounts
// holds any.
func (t ingestTx) ReservedAccounts(ctx context.Context, accounts []string) (map[string]bool, error) {
	out := map[string]bool{}
	err := t.im.s.accountsIn("account", accounts, func(in string, args []any) error {
		rows, err := t.tx.QueryContext(ctx, `SELECT DISTINCT account FROM reservations WHERE `+in, args...)
		if err != nil {
			return err
		}
		for rows.Next() {
			var a string
			if err := rows.Scan(&a); err != nil {
				rows.Close()
				return err
			}
			out[a] = true
		}
		rows.Close()
		return rows.Err()
	})
	return out, err
}

// ReleaseReservations deletes the reservations of calls (see ingest.Tx).
func (t ingestTx) ReleaseReservations(ctx context.Context, calls []ingest.Identity) error {
	args := t.im.args[:0]
	defer func() { t.im.args = args[:0] }()
	for _, c := range calls {
		args = append(args, c.Instance, c.Contact)
	}
	per := maxParams / 2
	for start := 0; start < len(calls); start += per {
		part := args[2*start : 2*min(start+per, len(calls))]
		n := len(part) / 2
		// A list of row values, not a chain of ORs (SQLite bounds an
		// expression's depth at 1,000).
		rows := strings.TrimSuffix(strings.Repeat("(?, ?), ", n), ", ")
		if _, err := t.tx.ExecContext(ctx, `DELETE FROM reservations WHERE (instance, contact_id) IN (VALUES `+rows+`)`, part...); err != nil {
			return err
		}
	}
	return nil
}
