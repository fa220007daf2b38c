package callbill

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// The delivery state machine, without a queue: who may move a delivery,
// the backoff, the last attempt.
func TestDeliveryProgressAfter(t *testing.T) {
	now := time.Date(2026, 11, 3, 10, 0, 0, 0, time.UTC)
	held := DeliveryProgress{Status: DeliveryPending, Attempts: 2, Holder: "n1", Leased: true}
	ok := &WebhookAttempt{Node: "n2", Code: 204}
	fail := &WebhookAttempt{Node: "n1", Code: 500}

	// A 2xx delivers, whoever sends it; a second 2xx is only logged.
	p, _, e := held.After(ok, now)
	if e != AttemptDelivered || p.Status != DeliveryDelivered || p.Attempts != 2 {
		t.Errorf("2xx: %+v %v", p, e)
	}
	if _, _, e := p.After(ok, now); e != AttemptLogged {
		t.Errorf("2xx after delivered: %v", e)
	}
	// A failure by the holder counts and waits the standard backoff.
	p, next, e := held.After(fail, now)
	if e != AttemptCounted || p.Status != DeliveryPending || p.Attempts != 3 || !next.Equal(now.Add(WebhookBackoff(3))) {
		t.Errorf("failure: %+v %v %v", p, next, e)
	}
	// ... or the wait the deliverer asks for.
	p, next, _ = held.After(&WebhookAttempt{Node: "n1", Code: 429, RetryIn: time.Minute}, now)
	if !next.Equal(now.Add(time.Minute)) {
		t.Errorf("retry-in: %v", next)
	}
	// A failure from a node that lost the lease (or of an unleased one) is only logged.
	for _, q := range []DeliveryProgress{{Status: DeliveryPending, Holder: "n2", Leased: true}, {Status: DeliveryPending, Holder: "n1"}} {
		if got, _, e := q.After(fail, now); e != AttemptLogged || got != q {
			t.Errorf("%+v: %+v %v", q, got, e)
		}
	}
	// The last attempt fails the delivery, due now (for a replay).
	last := DeliveryProgress{Status: DeliveryPending, Attempts: WebhookMaxAttempts - 1, Holder: "n1", Leased: true}
	p, next, e = last.After(fail, now)
	if e != AttemptCounted || p.Status != DeliveryFailed || p.Attempts != WebhookMaxAttempts || !next.Equal(now) {
		t.Errorf("last: %+v %v %v", p, next, e)
	}
	// A failed delivery takes a late 2xx.
	if p, _, e := p.After(ok, now); e != AttemptDelivered || p.Status != DeliveryDelivered {
		t.Errorf("failed then 2xx: %+v %v", p, e)
	}
}

func TestAttemptErrorText(t *testing.T) {
	if got := AttemptErrorText("a\x00b\xffc"); got != "ab\uFFFDc" {
		t.Errorf("got %q", got)
	}
	if got := AttemptErrorText(strings.Repeat("x", 5000)); len(got) != MaxAttemptErrorBytes {
		t.Errorf("len %d", len(got))
	}
}

// TestAttemptOutcome: what an attempt came to, as the metrics count it.
func TestAttemptOutcome(t *testing.T) {
	ok, bad := &WebhookAttempt{Code: 204}, &WebhookAttempt{Code: 500}
	for _, c := range []struct {
		a      *WebhookAttempt
		status string
		err    error
		want   string
	}{
		{ok, DeliveryDelivered, nil, AttemptOutcomeDelivered},
		{bad, DeliveryPending, nil, AttemptOutcomeRetry},
		{bad, DeliveryFailed, nil, AttemptOutcomeFailed},
		{ok, "", errors.New("database is locked"), AttemptOutcomeUnrecorded},
	} {
		if got := AttemptOutcome(c.a, c.status, c.err); got != c.want {
			t.Errorf("code %d, status %q, err %v: %s, want %s", c.a.Code, c.status, c.err, got, c.want)
		}
	}
}
