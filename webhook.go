package callbill

import (
	"strings"
	"time"
)

// Webhook event kinds (docs/webhooks.md).
const (
	EventBillClosed      = "bill.closed"      // an account's bill of a cycle was closed
	EventTopUpReceived   = "topup.received"   // cash came in (a top-up request or a world file's top-up)
	EventAccountOverdue  = "account.overdue"  // the account's state became overdue
	EventAccountStopped  = "account.stopped"  // the account's state became stopped
	EventBalanceLow      = "balance.low"      // available fell below the low-balance alert
	EventExportDone      = "export.done"      // a usage export finished
	EventBudgetThreshold = "budget.threshold" // a budget's threshold (or a usage trigger) was crossed in a cycle
)

// WebhookEventKinds lists every event kind, in documentation order.
var WebhookEventKinds = []string{EventBillClosed, EventTopUpReceived, EventAccountOverdue, EventAccountStopped,
	EventBalanceLow, EventExportDone, EventBudgetThreshold}

// IsWebhookEventKind reports whether kind is a known event kind.
func IsWebhookEventKind(kind string) bool {
	for _, k := range WebhookEventKinds {
		if k == kind {
			return true
		}
	}
	return false
}

// Webhook delivery statuses.
const (
	DeliveryPending   = "pending"   // due at NextAt (or being sent under a lease)
	DeliveryDelivered = "delivered" // the receiver answered 2xx: never sent again unless replayed
	DeliveryFailed    = "failed"    // WebhookMaxAttempts attempts failed: waits for a replay
)

// WebhookMaxAttempts is how many failed attempts make a delivery failed.
const WebhookMaxAttempts = 12

// WebhookBackoff is the wait after the n-th failed attempt (n ≥ 1): 1 s,
// 2 s, 4 s, … doubling, at most an hour.
func WebhookBackoff(n int) time.Duration {
	if n < 1 {
		n = 1
	}
	if n > 13 { // 2^12 s is past the cap already
		return time.Hour
	}
	return min(time.Duration(1)<<(n-1)*time.Second, time.Hour)
}

// WebhookEndpoint is a receiver of events: every account's ("" Account) or
// one account's, every kind (no Events) or the kinds listed.
type WebhookEndpoint struct {
	ID         string
	URL        string
	Account    string   // "" = every account
	Events     []string // empty = every kind
	Secret     string   // the signing secret: set only when the endpoint is created
	CreatedAt  time.Time
	DisabledAt time.Time // zero while enabled
	// Deliveries by status (set by listings).
	Pending, Delivered, Failed int64
}

// Wants reports whether the endpoint receives an event of kind for account.
func (w *WebhookEndpoint) Wants(account, kind string) bool {
	if !w.DisabledAt.IsZero() || (w.Account != "" && w.Account != account) {
		return false
	}
	if len(w.Events) == 0 {
		return true
	}
	for _, k := range w.Events {
		if k == kind {
			return true
		}
	}
	return false
}

// ParseWebhookEvents splits a comma list of event kinds ("" = every kind);
// it returns the first unknown kind, if any.
func ParseWebhookEvents(list string) ([]string, string) {
	var out []string
	seen := map[string]bool{}
	for _, k := range strings.Split(list, ",") {
		k = strings.TrimSpace(k)
		if k == "" || seen[k] {
			continue
		}
		if !IsWebhookEventKind(k) {
			return nil, k
		}
		seen[k] = true
		out = append(out, k)
	}
	return out, ""
}

// WebhookDelivery is one event for one endpoint: what a deliverer claims
// (with the endpoint's URL and secret and the event), or a row of an
// endpoint's delivery log (with its attempts).
type WebhookDelivery struct {
	Endpoint string
	Event    string // the event id
	Kind     string
	Account  string
	At       time.Time // when the event happened
	Payload  string    // the event's data, JSON
	// Set on a claim only.
	URL, Secret string
	// The delivery's state.
	Status      string
	Attempts    int // failed attempts since it was queued or replayed
	NextAt      time.Time
	LastCode    int
	LastError   string
	DeliveredAt time.Time
	Log         []WebhookAttempt // the delivery log, oldest first (set by an endpoint's log)
}

// DeliveryID is what a receiver sees in Callbill-Delivery: the same on every
// attempt of one event to one endpoint, so that duplicates can be dropped.
func (d *WebhookDelivery) DeliveryID() string { return d.Endpoint + ":" + d.Event }

// WebhookAttempt is one attempt to deliver an event: recorded by the
// deliverer, kept in the endpoint's delivery log.
type WebhookAttempt struct {
	Endpoint string
	Event    string
	N        int // 1, 2, … over the delivery's whole life, replays included
	Node     string
	At       time.Time
	Code     int    // the HTTP status, 0 when no answer came
	Error    string // "" on success
	Duration time.Duration
	// RetryIn is input only: the wait before the next attempt when this one
	// failed; 0 means the standard schedule, WebhookBackoff.
	RetryIn time.Duration
}

// OK reports whether the attempt delivered (a 2xx answer).
func (a *WebhookAttempt) OK() bool { return a.Code >= 200 && a.Code < 300 }

// DeliveryProgress is where a delivery stands when an attempt is reported.
type DeliveryProgress struct {
	Status   string // Delivery…
	Attempts int    // failed attempts that counted toward WebhookMaxAttempts
	Holder   string // the node whose lease holds it, "" when none does
	Leased   bool
}

// AttemptEffect is what an attempt does to its delivery.
type AttemptEffect int

const (
	// AttemptLogged: only logged — a late success of a delivered delivery,
	// or a failure from a node that no longer holds the lease.
	AttemptLogged AttemptEffect = iota
	// AttemptDelivered: a 2xx answer; the delivery is done, whoever held it.
	AttemptDelivered
	// AttemptCounted: a failure by the lease holder; the delivery waits for
	// its next attempt, or fails at WebhookMaxAttempts.
	AttemptCounted
)

// After returns the delivery after attempt a, reported at now: its new
// progress, when it is due next (AttemptCounted and still pending) and the
// effect, which tells the queue what to write.
func (p DeliveryProgress) After(a *WebhookAttempt, now time.Time) (DeliveryProgress, time.Time, AttemptEffect) {
	switch {
	case a.OK() && p.Status != DeliveryDelivered:
		return DeliveryProgress{Status: DeliveryDelivered, Attempts: p.Attempts}, time.Time{}, AttemptDelivered
	case !a.OK() && p.Status == DeliveryPending && p.Holder == a.Node && p.Leased:
		next := DeliveryProgress{Status: DeliveryPending, Attempts: p.Attempts + 1}
		if next.Attempts >= WebhookMaxAttempts {
			next.Status = DeliveryFailed
			return next, now, AttemptCounted
		}
		wait := a.RetryIn
		if wait <= 0 {
			wait = WebhookBackoff(next.Attempts)
		}
		return next, now.Add(wait), AttemptCounted
	}
	return p, time.Time{}, AttemptLogged
}

// Outcomes of a webhook attempt as the deliverer reports them (the
// metrics count them).
const (
	AttemptOutcomeDelivered  = "delivered"  // a 2xx answer
	AttemptOutcomeRetry      = "retry"      // it failed; the delivery is tried again (WebhookBackoff)
	AttemptOutcomeFailed     = "failed"     // it failed and was the last (WebhookMaxAttempts): the delivery waits for a replay
	AttemptOutcomeUnrecorded = "unrecorded" // the store did not record it: it is sent again once its lease runs out
)

// WebhookAttemptOutcomes lists every outcome of an attempt.
var WebhookAttemptOutcomes = []string{AttemptOutcomeDelivered, AttemptOutcomeRetry, AttemptOutcomeFailed, AttemptOutcomeUnrecorded}

// AttemptOutcome names what attempt a came to, given the delivery's status
// after it was recorded, or the error recording it.
func AttemptOutcome(a *WebhookAttempt, status string, recordErr error) string {
	switch {
	case recordErr != nil:
		return AttemptOutcomeUnrecorded
	case a.OK():
		return AttemptOutcomeDelivered
	case status == DeliveryFailed:
		return AttemptOutcomeFailed
	}
	return AttemptOutcomeRetry
}

// MaxAttemptErrorBytes bounds the error text kept in a delivery log.
const MaxAttemptErrorBytes = 1000

// AttemptErrorText is the error text of an attempt as the log keeps it: at
// most MaxAttemptErrorBytes, valid UTF-8 without NUL (a receiver's answer may
// be anything).
func AttemptErrorText(s string) string {
	if len(s) > MaxAttemptErrorBytes {
		s = s[:MaxAttemptErrorBytes]
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "")
}
