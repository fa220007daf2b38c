package sqlstore

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"net/url"
	"strings"
	"time"

	"github.com/callbill/callbill"
	"github.com/shopspring/decimal"
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

// The payloads of money events ("data" in the body a receiver gets; docs/webhooks.md).

type topUpData struct {
	Account string `json:"account"`
	Amount  string `json:"amount"`
	Cash    string `json:"cash"` // after the top-up and the arrears it settled
	At      string `json:"at"`
	Key     string `json:"key"`    // the idempotency key (topup:ID for a world file's)
	Source  string `json:"source"` // "request" (CLI or API) or "world" (a world file)
}

// topUpEvent is the topup.received event of a top-up already posted (and
// settled) to a.
func topUpEvent(a *account, amount decimal.Decimal, at time.Time, key, source string) topUpData {
	return topUpData{Account: a.UID, Amount: callbill.FormatMoney(amount), Cash: callbill.FormatMoney(a.Cash),
		At: at.UTC().Format(time.RFC3339), Key: key, Source: source}
}

type standingData struct {
	Account     string `json:"account"`
	State       string `json:"state"`
	Previous    string `json:"previous,omitempty"`
	Available   string `json:"available"`
	Cash        string `json:"cash"`
	CreditLine  string `json:"credit_line"`
	Outstanding string `json:"outstanding"`
	Threshold   string `json:"threshold,omitempty"` // balance.low: the alert level
	Cause       string `json:"cause"`
}

func standingOfData(a *account, state callbill.AccountState, owed decimal.Decimal, cause string) standingData {
	st := standingOf(a, owed)
	return standingData{Account: a.UID, State: string(state), Available: callbill.FormatMoney(st.Available()),
		Cash: callbill.FormatMoney(a.Cash), CreditLine: callbill.FormatMoney(a.CreditLine),
		Outstanding: callbill.FormatMoney(owed), Cause: cause}
}

// emitStateChange emits account.overdue or account.stopped when a's state
// (still the recorded one) changes to it; a return to normal has no event.
func emitStateChange(ctx context.Context, tx *Tx, a *account, state callbill.AccountState, owed decimal.Decimal, cause string) error {
	kind := ""
	switch state {
	case callbill.StateOverdue:
		kind = callbill.EventAccountOverdue
	case callbill.StateStopped:
		kind = callbill.EventAccountStopped
	}
	if kind == "" || state == a.State {
		return nil
	}
	d := standingOfData(a, state, owed, cause)
	d.Previous = string(a.State)
	return emitEvent(ctx, tx, a.UID, kind, d)
}

// emitLowBalance emits balance.low.
func emitLowBalance(ctx context.Context, tx *Tx, a *account, state callbill.AccountState, owed decimal.Decimal, cause string) error {
	d := standingOfData(a, state, owed, cause)
	if a.LowBalanceAlert != nil {
		d.Threshold = callbill.FormatMoney(*a.LowBalanceAlert)
	}
	return emitEvent(ctx, tx, a.UID, callbill.EventBalanceLow, d)
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

// Endpoints.

// AddWebhook registers an endpoint: url (http or https), for one account
// or every one (""), for some event kinds or every one (none). The signing
// secret is returned this once; only its sealed form is stored. Returns
// EINVALID for a bad URL or event kind, ENOTFOUND for an unknown account.
func (s *Store) AddWebhook(ctx context.Context, rawURL, account string, events []string) (*callbill.WebhookEndpoint, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, callbill.Errorf(callbill.EINVALID, "webhook URL %q must be an absolute http:// or https:// URL", rawURL)
	}
	kinds, bad := callbill.ParseWebhookEvents(strings.Join(events, ","))
	if bad != "" {
		return nil, callbill.Errorf(callbill.EINVALID, "unknown event kind %q (kinds: %s)", bad, strings.Join(callbill.WebhookEventKinds, ", "))
	}
	w := &callbill.WebhookEndpoint{ID: "wh_" + randomString(20), URL: rawURL, Account: account, Events: kinds,
		Secret: "whsec_" + randomString(32), CreatedAt: time.UnixMilli(s.Now().UnixMilli())}
	sealed, err := s.seal(w.ID, w.Secret)
	if err != nil {
		return nil, err
	}
	err = s.inTx(ctx, func(tx *Tx) error {
		if account != "" {
			if err := mustAccount(ctx, tx, account); err != nil {
				return err
			}
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO webhook_endpoints (id, account, url, sealed, events, created_at, disabled_at)
			VALUES (?, ?, ?, ?, ?, ?, 0)`, w.ID, account, rawURL, sealed, strings.Join(kinds, ","), w.CreatedAt.UnixMilli())
		return err
	})
	if err != nil {
		return nil, err
	}
	return w, nil
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

// Webhooks lists every endpoint, disabled ones too, oldest first, with
// their deliveries counted by status (no secrets).
func (s *Store) Webhooks(ctx context.Context) ([]callbill.WebhookEndpoint, error) {
	var out []callbill.WebhookEndpoint
	err := s.readTx(ctx, func(tx *Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT `+endpointCols+` FROM webhook_endpoints w ORDER BY w.created_at, w.id`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			w, err := scanEndpoint(rows)
			if err != nil {
				return err
			}
			out = append(out, *w)
		}
		return rows.Err()
	})
	return out, err
}

// Webhook returns one endpoint (no secret). Returns ENOTFOUND for an unknown one.
func (s *Store) Webhook(ctx context.Context, id string) (*callbill.WebhookEndpoint, error) {
	var w *callbill.WebhookEndpoint
	err := s.readTx(ctx, func(tx *Tx) error {
		var err error
		w, err = webhook(ctx, tx, id)
		return err
	})
	return w, err
}

func webhook(ctx context.Context, tx *Tx, id string) (*callbill.WebhookEndpoint, error) {
	w, err := scanEndpoint(tx.QueryRowContext(ctx, `SELECT `+endpointCols+` FROM webhook_endpoints w WHERE w.id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, callbill.Errorf(callbill.ENOTFOUND, "webhook %s not found", id)
	}
	return w, err
}

// DisableWebhook stops an endpoint at once: no new deliveries are made for
// it and its pending ones are not sent: they become failed ("webhook
// disabled") and stay in its log. Returns ENOTFOUND for an unknown or
// already disabled endpoint.
func (s *Store) DisableWebhook(ctx context.Context, id string) error {
	return s.inTx(ctx, func(tx *Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE webhook_endpoints SET disabled_at = ? WHERE id = ? AND disabled_at = 0`, s.Now().UnixMilli(), id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return callbill.Errorf(callbill.ENOTFOUND, "webhook %s not found or already disabled", id)
		}
		_, err = tx.ExecContext(ctx, `UPDATE webhook_deliveries SET status = 'failed', last_error = 'webhook disabled',
			lease_node = '', lease_until = 0 WHERE endpoint = ? AND status = 'pending'`, id)
		return err
	})
}

// Deliveries.

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
		now := s.Now().UnixMilli()
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
		errText := a.Error
		if len(errText) > 1000 {
			errText = errText[:1000]
		}
		// A receiver's answer may be anything; PostgreSQL text takes valid UTF-8 without NUL.
		errText = strings.ReplaceAll(strings.ToValidUTF8(errText, "\uFFFD"), "\x00", "")
		if _, err := tx.ExecContext(ctx, `INSERT INTO webhook_attempts (endpoint, event, n, node, at, code, error, duration_ms)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, a.Endpoint, a.Event, tries, a.Node, now, a.Code, errText, a.Duration.Milliseconds()); err != nil {
			return err
		}
		switch {
		case a.OK() && status != callbill.DeliveryDelivered:
			status = callbill.DeliveryDelivered
			_, err = tx.ExecContext(ctx, `UPDATE webhook_deliveries SET status = ?, tries = ?, last_code = ?, last_error = '',
				delivered_at = ?, lease_node = '', lease_until = 0 WHERE endpoint = ? AND event = ?`,
				status, tries, a.Code, now, a.Endpoint, a.Event)
		case !a.OK() && status == callbill.DeliveryPending && holder == a.Node && until != 0:
			attempts++
			next := now
			if attempts >= callbill.WebhookMaxAttempts {
				status = callbill.DeliveryFailed
			} else {
				wait := a.RetryIn
				if wait <= 0 {
					wait = callbill.WebhookBackoff(attempts)
				}
				next += wait.Milliseconds()
			}
			_, err = tx.ExecContext(ctx, `UPDATE webhook_deliveries SET status = ?, attempts = ?, tries = ?, next_at = ?,
				last_code = ?, last_error = ?, lease_node = '', lease_until = 0 WHERE endpoint = ? AND event = ?`,
				status, attempts, tries, next, a.Code, errText, a.Endpoint, a.Event)
		default: // a late success of a delivered one, or a failure from a node that lost its lease: logged only
			_, err = tx.ExecContext(ctx, `UPDATE webhook_deliveries SET tries = ? WHERE endpoint = ? AND event = ?`, tries, a.Endpoint, a.Event)
		}
		return err
	})
	return status, err
}

// Deliveries returns an endpoint's delivery log: its deliveries, newest
// event first (at most limit; 0 means 100), each with its attempts.
// Returns ENOTFOUND for an unknown endpoint.
func (s *Store) Deliveries(ctx context.Context, endpoint string, limit int) ([]callbill.WebhookDelivery, error) {
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	var out []callbill.WebhookDelivery
	err := s.readTx(ctx, func(tx *Tx) error {
		if _, err := webhook(ctx, tx, endpoint); err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, `SELECT `+deliveryCols+` FROM webhook_deliveries d JOIN webhook_events e ON e.id = d.event
			WHERE d.endpoint = ? ORDER BY e.at DESC, d.event DESC LIMIT ?`, endpoint, limit)
		if err != nil {
			return err
		}
		idx := map[string]int{}
		for rows.Next() {
			d, err := scanDelivery(rows)
			if err != nil {
				rows.Close()
				return err
			}
			idx[d.Event] = len(out)
			out = append(out, *d)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if len(out) == 0 {
			return nil
		}
		args := []any{endpoint}
		for i := range out {
			args = append(args, out[i].Event)
		}
		rows, err = tx.QueryContext(ctx, `SELECT event, n, node, at, code, error, duration_ms FROM webhook_attempts
			WHERE endpoint = ? AND event IN (?`+strings.Repeat(",?", len(out)-1)+`) ORDER BY event, n`, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			a := callbill.WebhookAttempt{Endpoint: endpoint}
			var at, ms int64
			if err := rows.Scan(&a.Event, &a.N, &a.Node, &at, &a.Code, &a.Error, &ms); err != nil {
				return err
			}
			a.At, a.Duration = time.UnixMilli(at), time.Duration(ms)*time.Millisecond
			d := &out[idx[a.Event]]
			d.Log = append(d.Log, a)
		}
		return rows.Err()
	})
	return out, err
}

// Replay sends deliveries again: one event's (whatever its status: a
// delivered one is sent once more, with the same delivery id), or, with
// event "", every failed one of the endpoint. They become pending, due now,
// with a fresh count of attempts. It returns how many. Returns ENOTFOUND for
// an unknown endpoint or delivery, EREFUSED for a disabled endpoint.
func (s *Store) Replay(ctx context.Context, endpoint, event string) (int, error) {
	n := 0
	err := s.inTx(ctx, func(tx *Tx) error {
		w, err := webhook(ctx, tx, endpoint)
		if err != nil {
			return err
		}
		if !w.DisabledAt.IsZero() {
			return callbill.Errorf(callbill.EREFUSED, "webhook %s is disabled", endpoint)
		}
		q, args := `UPDATE webhook_deliveries SET status = 'pending', attempts = 0, next_at = ?, lease_node = '', lease_until = 0
			WHERE endpoint = ?`, []any{s.Now().UnixMilli(), endpoint}
		if event != "" {
			q, args = q+` AND event = ?`, append(args, event)
		} else {
			q += ` AND status = 'failed'`
		}
		res, err := tx.ExecContext(ctx, q, args...)
		if err != nil {
			return err
		}
		k, err := res.RowsAffected()
		if err != nil {
			return err
		}
		if k == 0 && event != "" {
			return callbill.Errorf(callbill.ENOTFOUND, "no delivery of event %s to webhook %s", event, endpoint)
		}
		n = int(k)
		return nil
	})
	return n, err
}
