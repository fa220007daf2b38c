// Package webhook delivers callbill's events to the operator's endpoints
// (docs/webhooks.md) and checks their signatures for receivers.
//
// Events are written to the store's outbox in the transaction that caused
// them. A Deliverer claims due deliveries under a lease, POSTs each event's
// JSON body, signed with the endpoint's secret (HMAC-SHA256 over
// "<timestamp>.<body>"), and records every attempt: a 2xx answer makes the
// delivery delivered, never sent again unless the operator replays it; any
// other outcome schedules a retry (1 s, 2 s, 4 s, … at most an hour) until
// it fails for good after 12 attempts. A delivery claimed by a node that
// died is sent again when its lease runs out: delivery is at least once, and
// every attempt of one event to one endpoint carries the same
// Callbill-Delivery id, so that a receiver can drop duplicates.
package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/callbill/callbill"
	"github.com/callbill/callbill/internal/recovery"
)

// Headers of a delivery.
const (
	HeaderEvent     = "Callbill-Event"     // the event kind, e.g. bill.closed
	HeaderDelivery  = "Callbill-Delivery"  // endpoint:event, the same on every attempt
	HeaderSignature = "Callbill-Signature" // t=<unix seconds>,v1=<hex HMAC-SHA256>
	HeaderAttempt   = "Callbill-Attempt"   // 1, 2, …: this attempt's number (not signed)
)

// DefaultTolerance is how far a signature's timestamp may be from the
// receiver's clock before Verify refuses it.
const DefaultTolerance = 5 * time.Minute

// Store is what a Deliverer needs of the store (sqlstore.Store).
type Store interface {
	ClaimDeliveries(ctx context.Context, node string, lease time.Duration, limit int) ([]callbill.WebhookDelivery, error)
	RecordAttempt(ctx context.Context, a callbill.WebhookAttempt) (string, error)
}

// Envelope is the JSON body of a delivery.
type Envelope struct {
	ID      string          `json:"id"` // the event id
	Kind    string          `json:"kind"`
	Account string          `json:"account"`
	At      string          `json:"at"` // RFC 3339, UTC
	Data    json.RawMessage `json:"data"`
}

// Body is the body sent for a delivery: the same bytes on every attempt.
func Body(d *callbill.WebhookDelivery) []byte {
	data := json.RawMessage(d.Payload)
	if !json.Valid(data) {
		data = json.RawMessage("null")
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.Encode(Envelope{ID: d.Event, Kind: d.Kind, Account: d.Account, At: d.At.UTC().Format(time.RFC3339), Data: data})
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

// mac is hex(HMAC-SHA256(secret, "<t>.<body>")).
func mac(secret string, t int64, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(strconv.FormatInt(t, 10)))
	m.Write([]byte("."))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// Sign returns the Callbill-Signature header value of body signed at unix
// time t: "t=<t>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>".
func Sign(secret string, t int64, body []byte) string {
	return "t=" + strconv.FormatInt(t, 10) + ",v1=" + mac(secret, t, body)
}

// Errors of Verify.
var (
	ErrNoSignature  = errors.New("webhook: no valid Callbill-Signature header (t=…,v1=…)")
	ErrBadSignature = errors.New("webhook: the signature does not match the body")
	ErrStale        = errors.New("webhook: the signature's timestamp is outside the tolerance")
)

// Verify checks a Callbill-Signature header value against the raw body as
// received: the HMAC must match (any v1 value may, so that a header may
// carry several), and the timestamp must be within tolerance of now
// (0: DefaultTolerance), which keeps an old delivery from being replayed to
// the receiver by someone who recorded it.
func Verify(secret, header string, body []byte, now time.Time, tolerance time.Duration) error {
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	var t int64
	haveT := false
	var sigs []string
	for _, part := range strings.Split(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			continue
		}
		switch k {
		case "t":
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return ErrNoSignature
			}
			t, haveT = n, true
		case "v1":
			sigs = append(sigs, v)
		}
	}
	if !haveT || len(sigs) == 0 {
		return ErrNoSignature
	}
	want := []byte(mac(secret, t, body))
	ok := false
	for _, s := range sigs {
		if hmac.Equal([]byte(s), want) {
			ok = true
		}
	}
	if !ok {
		return ErrBadSignature
	}
	if d := now.Sub(time.Unix(t, 0)); d > tolerance || d < -tolerance {
		return ErrStale
	}
	return nil
}

// Deliverer sends due deliveries until its context ends. Several may run
// on one store (one per node): each delivery is claimed by one at a time.
type Deliverer struct {
	Store  Store
	Client *http.Client // nil: a client that follows no redirects
	Node   string       // this node's name in claims and the delivery log
	Log    *slog.Logger
	Poll   time.Duration // how often to look for due deliveries (500 ms)
	// Lease is how long a claim holds (1 min); it must outlast Timeout.
	Lease time.Duration
	// Timeout bounds one attempt (10 s).
	Timeout time.Duration
	// Batch is how many deliveries are claimed, and sent in parallel, at once (16).
	Batch int
	// Backoff, when set, is the wait after the n-th failed attempt instead
	// of the standard schedule (callbill.WebhookBackoff); tests shorten it.
	Backoff func(n int) time.Duration
	// Now is the clock of signature timestamps (time.Now).
	Now func() time.Time
	// OnAttempt, when set, is told each attempt's outcome
	// (callbill.AttemptOutcome) once it is recorded: the metrics.
	OnAttempt func(outcome string)
}

func (d *Deliverer) defaults() {
	if d.Poll <= 0 {
		d.Poll = 500 * time.Millisecond
	}
	if d.Lease <= 0 {
		d.Lease = time.Minute
	}
	if d.Timeout <= 0 {
		d.Timeout = 10 * time.Second
	}
	if d.Batch <= 0 {
		d.Batch = 16
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Log == nil {
		d.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if d.Client == nil {
		d.Client = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
}

// Run delivers until ctx ends. Attempts in flight when it ends are finished
// and recorded (each within Timeout) before Run returns, so that a stop
// never leaves a delivered event to be sent again.
func (d *Deliverer) Run(ctx context.Context) {
	d.defaults()
	t := time.NewTicker(d.Poll)
	defer t.Stop()
	for {
		for ctx.Err() == nil {
			n, panicked, err := d.round(ctx)
			if panicked {
				break // logged; the next poll tries again
			}
			if err != nil {
				if ctx.Err() == nil {
					d.Log.Error("claim webhook deliveries", "err", err)
				}
				break
			}
			if n < d.Batch {
				break
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// round runs RunOnce, recovering a panic. Its context ends with it, so that
// a transaction a panic left open is rolled back then instead of holding
// the database's write lock.
func (d *Deliverer) round(ctx context.Context) (n int, panicked bool, err error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	panicked = recovery.Do(d.Log, "webhook deliverer panicked", func() { n, err = d.RunOnce(ctx) })
	return n, panicked, err
}

// RunOnce claims one batch of due deliveries and sends them, in parallel;
// it returns how many it claimed.
func (d *Deliverer) RunOnce(ctx context.Context) (int, error) {
	d.defaults()
	batch, err := d.Store.ClaimDeliveries(ctx, d.Node, d.Lease, d.Batch)
	if err != nil || len(batch) == 0 {
		return 0, err
	}
	// Once claimed, a delivery is sent and recorded even if ctx ends meanwhile.
	work := context.WithoutCancel(ctx)
	var wg sync.WaitGroup
	for i := range batch {
		wg.Add(1)
		go func(dl *callbill.WebhookDelivery) {
			defer wg.Done()
			// A panic in a goroutine would end the process: log it instead.
			recovery.Do(d.Log, "webhook delivery panicked", func() { d.deliver(work, dl) },
				"webhook", dl.Endpoint, "event", dl.Event)
		}(&batch[i])
	}
	wg.Wait()
	return len(batch), nil
}

// deliver makes one attempt and records it.
func (d *Deliverer) deliver(ctx context.Context, dl *callbill.WebhookDelivery) {
	log := d.Log.With("webhook", dl.Endpoint, "event", dl.Event, "kind", dl.Kind)
	started := time.Now()
	var code int
	var errText string
	if recovery.Do(log, "webhook attempt panicked", func() { code, errText = d.post(ctx, dl, Body(dl)) }) {
		// The delivery is claimed: record a failed attempt, so that it is
		// retried on the usual schedule, not only once its lease runs out.
		code, errText = 0, "internal error"
	}
	a := callbill.WebhookAttempt{Endpoint: dl.Endpoint, Event: dl.Event, Node: d.Node, Code: code, Error: errText,
		Duration: time.Since(started)}
	if !a.OK() && d.Backoff != nil {
		a.RetryIn = d.Backoff(dl.Attempts + 1)
	}
	rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	status, err := d.Store.RecordAttempt(rctx, a)
	if d.OnAttempt != nil {
		d.OnAttempt(callbill.AttemptOutcome(&a, status, err))
	}
	switch {
	case err != nil:
		log.Error("record webhook attempt", "err", err)
	case status == callbill.DeliveryFailed:
		log.Warn("webhook delivery failed for good", "code", code, "err", errText)
	case !a.OK():
		log.Info("webhook attempt failed", "code", code, "err", errText, "attempt", dl.Attempts+1)
	}
}

// post sends body; it returns the answer's status (0 when none came) and,
// unless it is 2xx, what went wrong.
func (d *Deliverer) post(ctx context.Context, dl *callbill.WebhookDelivery, body []byte) (int, string) {
	ctx, cancel := context.WithTimeout(ctx, d.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, dl.URL, bytes.NewReader(body))
	if err != nil {
		return 0, err.Error()
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "callbill-webhook/1")
	req.Header.Set(HeaderEvent, dl.Kind)
	req.Header.Set(HeaderDelivery, dl.DeliveryID())
	req.Header.Set(HeaderAttempt, strconv.Itoa(dl.Attempts+1))
	req.Header.Set(HeaderSignature, Sign(dl.Secret, d.Now().Unix(), body))
	resp, err := d.Client.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return resp.StatusCode, ""
	}
	msg := fmt.Sprintf("HTTP %d", resp.StatusCode)
	if s := strings.TrimSpace(string(snippet)); s != "" {
		msg += ": " + s
	}
	return resp.StatusCode, msg
}
