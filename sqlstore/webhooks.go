package sqlstore

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/callbill/callbill"
	"github.com/callbill/callbill/events"
)

// Webhooks (issue 5; docs/webhooks.md). An event is written to the outbox
// (webhook_events) in the transaction of what caused it, with one pending
// delivery per enabled endpoint that wants it: an event exists exactly when
// its cause committed, and is never lost by a crash after. Deliverers claim
// due deliveries under a lease (FOR UPDATE SKIP LOCKED on PostgreSQL, the
// one writer on SQLite), send them and record each attempt: a delivered one
// is never sent again unless the operator replays it; a claim whose node
// died is sent again once its lease runs out (at least once, with the same
// delivery id). Times in the webhook tables are unix milliseconds.

// emitEvent writes an event and its deliveries in the caller's transaction.
func emitEvent(ctx context.Context, tx *Tx, account, kind string, payload any) error {
	return emitEvents(ctx, tx, tx.s.Now(), []callbill.Event{{Account: account, Kind: kind, Data: payload}})
}

// emitEvents writes events, at now, and their deliveries in multi-row statements.
func emitEvents(ctx context.Context, tx *Tx, at time.Time, evs []callbill.Event) error {
	if len(evs) == 0 {
		return nil
	}
	eps, err := enabledEndpoints(ctx, tx)
	if err != nil {
		return err
	}
	now := at.UnixMilli()
	var evArgs, dlArgs []any
	for _, e := range evs {
		body, err := compactJSON(e.Data)
		if err != nil {
			return err
		}
		id := "evt_" + randomString(24)
		evArgs = append(evArgs, id, e.Account, e.Kind, body, now)
		for i := range eps {
			if eps[i].Wants(e.Account, e.Kind) {
				dlArgs = append(dlArgs, eps[i].ID, id, callbill.DeliveryPending, 0, 0, now, "", 0, 0, "", 0)
			}
		}
	}
	if err := execRows(ctx, tx, `INSERT INTO webhook_events (id, account, kind, payload, at) VALUES `, "", 5, evArgs); err != nil {
		return err
	}
	return execRows(ctx, tx, `INSERT INTO webhook_deliveries (endpoint, event, status, attempts, tries, next_at,
		lease_node, lease_until, last_code, last_error, delivered_at) VALUES `, "", 11, dlArgs)
}

func compactJSON(v any) (string, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return "", err
	}
	return strings.TrimSuffix(buf.String(), "\n"), nil
}

func enabledEndpoints(ctx context.Context, q querier) ([]callbill.WebhookEndpoint, error) {
	rows, err := q.QueryContext(ctx, `SELECT id, account, events FROM webhook_endpoints WHERE disabled_at = 0`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []callbill.WebhookEndpoint
	for rows.Next() {
		var w callbill.WebhookEndpoint
		var events string
		if err := rows.Scan(&w.ID, &w.Account, &events); err != nil {
			return nil, err
		}
		w.Events = splitEvents(events)
		out = append(out, w)
	}
	return out, rows.Err()
}

func splitEvents(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

// emitJobDone emits export.done when job id, just finished, is an export.
func emitJobDone(ctx context.Context, tx *Tx, id int64) error {
	var kind, account, params, result string
	if err := tx.QueryRowContext(ctx, `SELECT kind, account, params, result FROM jobs WHERE id = ?`, id).
		Scan(&kind, &account, &params, &result); err != nil {
		return err
	}
	if kind != callbill.JobExport {
		return nil
	}
	var p struct{ Cycle string }
	var r struct{ Rows, Bytes int64 }
	json.Unmarshal([]byte(params), &p)
	json.Unmarshal([]byte(result), &r)
	e := callbill.NewExportDoneEvent(account, id, p.Cycle, r.Rows, r.Bytes)
	return emitEvent(ctx, tx, e.Account, e.Kind, e.Data)
}

// Endpoints: events.Tx on a transaction.

type webhookTx struct{ tx *Tx }

// UpdateWebhooks runs fn in a transaction.
func (s *Store) UpdateWebhooks(ctx context.Context, fn func(tx events.Tx, now time.Time) error) error {
	return s.inTx(ctx, func(tx *Tx) error { return fn(webhookTx{tx}, s.Now()) })
}

// ViewWebhooks runs fn in a read-only transaction.
func (s *Store) ViewWebhooks(ctx context.Context, fn func(tx events.Tx) error) error {
	return s.readTx(ctx, func(tx *Tx) error { return fn(webhookTx{tx}) })
}

func (t webhookTx) AccountExists(ctx context.Context, account string) error {
	return mustAccount(ctx, t.tx, account)
}

func (t webhookTx) InsertEndpoint(ctx context.Context, w *callbill.WebhookEndpoint) error {
	w.ID, w.Secret = "wh_"+randomString(20), "whsec_"+randomString(32)
	sealed, err := t.tx.s.seal(w.ID, w.Secret)
	if err != nil {
		return err
	}
	_, err = t.tx.ExecContext(ctx, `INSERT INTO webhook_endpoints (id, account, url, sealed, events, created_at, disabled_at)
		VALUES (?, ?, ?, ?, ?, ?, 0)`, w.ID, w.Account, w.URL, sealed, strings.Join(w.Events, ","), w.CreatedAt.UnixMilli())
	return err
}

const endpointCols = `w.id, w.account, w.url, w.events, w.created_at, w.disabled_at,
	(SELECT COUNT(*) FROM webhook_deliveries d WHERE d.endpoint = w.id AND d.status = 'pending'),
	(SELECT COUNT(*) FROM webhook_deliveries d WHERE d.endpoint = w.id AND d.status = 'delivered'),
	(SELECT COUNT(*) FROM webhook_deliveries d WHERE d.endpoint = w.id AND d.status = 'failed')`

func scanEndpoint(row interface{ Scan(...any) error }) (*callbill.WebhookEndpoint, error) {
	var w callbill.WebhookEndpoint
	var events string
	var created, disabled int64
	if err := row.Scan(&w.ID, &w.Account, &w.URL, &events, &created, &disabled, &w.Pending, &w.Delivered, &w.Failed); err != nil {
		return nil, err
	}
	w.Events, w.CreatedAt = splitEvents(events), time.UnixMilli(created)
	if disabled != 0 {
		w.DisabledAt = time.UnixMilli(disabled)
	}
	return &w, nil
}

func (t webhookTx) Endpoints(ctx context.Context) ([]callbill.WebhookEndpoint, error) {
	rows, err := t.tx.QueryContext(ctx, `SELECT `+endpointCols+` FROM webhook_endpoints w ORDER BY w.created_at, w.id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []callbill.WebhookEndpoint
	for rows.Next() {
		w, err := scanEndpoint(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *w)
	}
	return out, rows.Err()
}

func (t webhookTx) Endpoint(ctx context.Context, id string) (*callbill.WebhookEndpoint, error) {
	w, err := scanEndpoint(t.tx.QueryRowContext(ctx, `SELECT `+endpointCols+` FROM webhook_endpoints w WHERE w.id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, callbill.Errorf(callbill.ENOTFOUND, "webhook %s not found", id)
	}
	return w, err
}

func (t webhookTx) DisableEndpoint(ctx context.Context, id string, at time.Time) (bool, error) {
	res, err := t.tx.ExecContext(ctx, `UPDATE webhook_endpoints SET disabled_at = ? WHERE id = ? AND disabled_at = 0`, at.UnixMilli(), id)
	if err != nil {
		return false, err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return false, nil
	}
	_, err = t.tx.ExecContext(ctx, `UPDATE webhook_deliveries SET status = 'failed', last_error = 'webhook disabled',
		lease_node = '', lease_until = 0 WHERE endpoint = ? AND status = 'pending'`, id)
	return err == nil, err
}

func (t webhookTx) Deliveries(ctx context.Context, endpoint string, limit int) ([]callbill.WebhookDelivery, error) {
	rows, err := t.tx.QueryContext(ctx, `SELECT `+deliveryCols+` FROM webhook_deliveries d JOIN webhook_events e ON e.id = d.event
		WHERE d.endpoint = ? ORDER BY e.at DESC, d.event DESC LIMIT ?`, endpoint, limit)
	if err != nil {
		return nil, err
	}
	var out []callbill.WebhookDelivery
	idx := map[string]int{}
	for rows.Next() {
		d, err := scanDelivery(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		idx[d.Event] = len(out)
		out = append(out, *d)
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(out) == 0 {
		return out, err
	}
	args := []any{endpoint}
	for i := range out {
		args = append(args, out[i].Event)
	}
	rows, err = t.tx.QueryContext(ctx, `SELECT event, n, node, at, code, error, duration_ms FROM webhook_attempts
		WHERE endpoint = ? AND event IN (?`+strings.Repeat(",?", len(out)-1)+`) ORDER BY event, n`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		a := callbill.WebhookAttempt{Endpoint: endpoint}
		var at, ms int64
		if err := rows.Scan(&a.Event, &a.N, &a.Node, &at, &a.Code, &a.Error, &ms); err != nil {
			return nil, err
		}
		a.At, a.Duration = time.UnixMilli(at), time.Duration(ms)*time.Millisecond
		d := &out[idx[a.Event]]
		d.Log = append(d.Log, a)
	}
	return out, rows.Err()
}

func (t webhookTx) Requeue(ctx context.Context, endpoint, event string, at time.Time) (int, error) {
	q, args := `UPDATE webhook_deliveries SET status = 'pending', attempts = 0, next_at = ?, lease_node = '', lease_until = 0
		WHERE endpoint = ?`, []any{at.UnixMilli(), endpoint}
	if event != "" {
		q, args = q+` AND event = ?`, append(args, event)
	} else {
		q += ` AND status = 'failed'`
	}
	res, err := t.tx.ExecContext(ctx, q, args...)
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}
