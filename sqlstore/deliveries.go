package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/callbill/callbill"
)

// The delivery queue: what webhook.Deliverer claims and reports on
// (docs/webhooks.md).

const deliveryCols = `d.endpoint, d.event, e.kind, e.account, e.at, e.payload, d.status, d.attempts, d.next_at,
	d.last_code, d.last_error, d.delivered_at`

func scanDelivery(row interface{ Scan(...any) error }, extra ...any) (*callbill.WebhookDelivery, error) {
	var d callbill.WebhookDelivery
	var at, next, delivered int64
	dest := append([]any{&d.Endpoint, &d.Event, &d.Kind, &d.Account, &at, &d.Payload, &d.Status, &d.Attempts, &next,
		&d.LastCode, &d.LastError, &delivered}, extra...)
	if err := row.Scan(dest...); err != nil {
		return nil, err
	}
	d.At, d.NextAt = time.UnixMilli(at), time.UnixMilli(next)
	if delivered != 0 {
		d.DeliveredAt = time.UnixMilli(delivered)
	}
	return &d, nil
}

// ClaimDeliveries gives node up to limit due deliveries (pending, due, not
// held under another claim's lease, of an enabled endpoint), oldest due
// first, each with the endpoint's URL and secret and the event, and leases
// them for lease: until it runs out no other claim takes them. Nodes never
// claim the same delivery at once: PostgreSQL skips rows another claim holds
// locked, and SQLite has one writer.
func (s *Store) ClaimDeliveries(ctx context.Context, node string, lease time.Duration, limit int) ([]callbill.WebhookDelivery, error) {
	if limit <= 0 {
		limit = 1
	}
	lock := ""
	if s.dialect == dialectPostgres {
		lock = " FOR UPDATE OF d SKIP LOCKED"
	}
	// Most polls find nothing due: a read says so without taking a write
	// transaction (SQLite's write lock, a PostgreSQL transaction).
	var due int
	now := s.Now().UnixMilli()
	err := s.db.QueryRowContext(ctx, s.rebind(`SELECT COUNT(*) FROM (SELECT 1 FROM webhook_deliveries
		WHERE status = 'pending' AND next_at <= ? AND lease_until <= ? LIMIT 1) AS due`), now, now).Scan(&due)
	if err != nil || due == 0 {
		return nil, err
	}
	var out []callbill.WebhookDelivery
	err = s.inTx(ctx, func(tx *Tx) error {
		out = out[:0]
		now := s.Now().UnixMilli()
		rows, err := tx.QueryContext(ctx, `SELECT `+deliveryCols+`, w.url, w.sealed
			FROM webhook_deliveries d JOIN webhook_events e ON e.id = d.event JOIN webhook_endpoints w ON w.id = d.endpoint
			WHERE d.status = 'pending' AND d.next_at <= ? AND d.lease_until <= ? AND w.disabled_at = 0
			ORDER BY d.next_at, e.at, d.event LIMIT ?`+lock, now, now, limit)
		if err != nil {
			return err
		}
		sealed := map[string]string{}
		for rows.Next() {
			var addr, seal string
			d, err := scanDelivery(rows, &addr, &seal)
			if err != nil {
				rows.Close()
				return err
			}
			d.URL = addr
			sealed[d.Endpoint] = seal
			out = append(out, *d)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		secrets := map[string]string{}
		for ep, seal := range sealed {
			secret, err := s.unseal(ep, seal)
			if err != nil {
				return callbill.Errorf(callbill.EINTERNAL, "webhook %s: its secret cannot be opened: is this the master key it was sealed with?", ep)
			}
			secrets[ep] = secret
		}
		for i := range out {
			d := &out[i]
			d.Secret = secrets[d.Endpoint]
			if _, err := tx.ExecContext(ctx, `UPDATE webhook_deliveries SET lease_node = ?, lease_until = ? WHERE endpoint = ? AND event = ?`,
				node, now+lease.Milliseconds(), d.Endpoint, d.Event); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// RecordAttempt logs an attempt to deliver and moves the delivery on: a 2xx
// answer makes it delivered (whoever held it); a failure by the node holding
// it counts, and schedules the next attempt after a.RetryIn (0: the standard
// schedule, callbill.WebhookBackoff) or, at callbill.WebhookMaxAttempts,
// makes it failed. A failure reported by a node that lost its lease is only
// logged. It returns the delivery's status after. Returns ENOTFOUND for an
// unknown delivery.
func (s *Store) RecordAttempt(ctx context.Context, a callbill.WebhookAttempt) (string, error) {
	lock := ""
	if s.dialect == dialectPostgres {
		lock = " FOR UPDATE"
	}
	status := ""
	err := s.inTx(ctx, func(tx *Tx) error {
		now := s.Now()
		var attempts, tries int
		var holder string
		var until int64
		err := tx.QueryRowContext(ctx, `SELECT status, attempts, tries, lease_node, lease_until FROM webhook_deliveries
			WHERE endpoint = ? AND event = ?`+lock, a.Endpoint, a.Event).Scan(&status, &attempts, &tries, &holder, &until)
		if errors.Is(err, sql.ErrNoRows) {
			return callbill.Errorf(callbill.ENOTFOUND, "no delivery of event %s to webhook %s", a.Event, a.Endpoint)
		}
		if err != nil {
			return err
		}
		tries++
		errText := callbill.AttemptErrorText(a.Error)
		if _, err := tx.ExecContext(ctx, `INSERT INTO webhook_attempts (endpoint, event, n, node, at, code, error, duration_ms)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, a.Endpoint, a.Event, tries, a.Node, now.UnixMilli(), a.Code, errText, a.Duration.Milliseconds()); err != nil {
			return err
		}
		p, next, effect := callbill.DeliveryProgress{Status: status, Attempts: attempts, Holder: holder, Leased: until != 0}.After(&a, now)
		status = p.Status
		switch effect {
		case callbill.AttemptDelivered:
			_, err = tx.ExecContext(ctx, `UPDATE webhook_deliveries SET status = ?, tries = ?, last_code = ?, last_error = '',
				delivered_at = ?, lease_node = '', lease_until = 0 WHERE endpoint = ? AND event = ?`,
				status, tries, a.Code, now.UnixMilli(), a.Endpoint, a.Event)
		case callbill.AttemptCounted:
			_, err = tx.ExecContext(ctx, `UPDATE webhook_deliveries SET status = ?, attempts = ?, tries = ?, next_at = ?,
				last_code = ?, last_error = ?, lease_node = '', lease_until = 0 WHERE endpoint = ? AND event = ?`,
				status, p.Attempts, tries, next.UnixMilli(), a.Code, errText, a.Endpoint, a.Event)
		default:
			_, err = tx.ExecContext(ctx, `UPDATE webhook_deliveries SET tries = ? WHERE endpoint = ? AND event = ?`, tries, a.Endpoint, a.Event)
		}
		return err
	})
	return status, err
}
