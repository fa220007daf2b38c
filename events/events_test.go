package events_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/callbill/callbill"
	"github.com/callbill/callbill/events"
)

// mem keeps endpoints and deliveries in memory: the rules run without a
// database.
type mem struct {
	now        time.Time
	accounts   map[string]bool
	endpoints  []*callbill.WebhookEndpoint
	deliveries map[string][]*callbill.WebhookDelivery // by endpoint
	lastLimit  int
}

func (m *mem) UpdateWebhooks(ctx context.Context, fn func(tx events.Tx, now time.Time) error) error {
	return fn(m, m.now)
}

func (m *mem) ViewWebhooks(ctx context.Context, fn func(tx events.Tx) error) error { return fn(m) }

func (m *mem) AccountExists(ctx context.Context, account string) error {
	if !m.accounts[account] {
		return callbill.Errorf(callbill.ENOTFOUND, "account %s not found", account)
	}
	return nil
}

func (m *mem) Endpoints(ctx context.Context) ([]callbill.WebhookEndpoint, error) {
	var out []callbill.WebhookEndpoint
	for _, w := range m.endpoints {
		out = append(out, *w)
	}
	return out, nil
}

func (m *mem) Endpoint(ctx context.Context, id string) (*callbill.WebhookEndpoint, error) {
	for _, w := range m.endpoints {
		if w.ID == id {
			c := *w
			return &c, nil
		}
	}
	return nil, callbill.Errorf(callbill.ENOTFOUND, "webhook %s not found", id)
}

func (m *mem) InsertEndpoint(ctx context.Context, w *callbill.WebhookEndpoint) error {
	w.ID, w.Secret = fmt.Sprintf("wh_%d", len(m.endpoints)+1), "whsec_x"
	c := *w
	m.endpoints = append(m.endpoints, &c)
	return nil
}

func (m *mem) DisableEndpoint(ctx context.Context, id string, at time.Time) (bool, error) {
	for _, w := range m.endpoints {
		if w.ID == id && w.DisabledAt.IsZero() {
			w.DisabledAt = at
			return true, nil
		}
	}
	return false, nil
}

func (m *mem) Deliveries(ctx context.Context, endpoint string, limit int) ([]callbill.WebhookDelivery, error) {
	m.lastLimit = limit
	var out []callbill.WebhookDelivery
	for _, d := range m.deliveries[endpoint] {
		out = append(out, *d)
	}
	return out, nil
}

func (m *mem) Requeue(ctx context.Context, endpoint, event string, at time.Time) (int, error) {
	n := 0
	for _, d := range m.deliveries[endpoint] {
		if (event != "" && d.Event == event) || (event == "" && d.Status == callbill.DeliveryFailed) {
			d.Status, d.Attempts, d.NextAt = callbill.DeliveryPending, 0, at
			n++
		}
	}
	return n, nil
}

func fixture() (*mem, *events.Service) {
	m := &mem{now: time.Date(2026, 11, 3, 1, 2, 3, 456789000, time.UTC), accounts: map[string]bool{"1001": true},
		deliveries: map[string][]*callbill.WebhookDelivery{}}
	return m, &events.Service{Store: m}
}

func code(err error) string { return callbill.ErrorCode(err) }

func TestAddValidates(t *testing.T) {
	ctx := context.Background()
	m, s := fixture()
	for _, bad := range []events.AddInput{
		{URL: "ftp://x/y", AllAccounts: true}, {URL: "/relative", AllAccounts: true}, {URL: "http://", AllAccounts: true},
		{URL: "http://x/y", AllAccounts: true, Events: []string{"bill.opened"}},
		{URL: "http://x/y"}, {URL: "http://x/y", Account: "1001", AllAccounts: true},
	} {
		if _, err := s.Add(ctx, bad); code(err) != callbill.EINVALID {
			t.Errorf("%+v: %v", bad, err)
		}
	}
	// Every problem is told at once.
	_, err := s.Add(ctx, events.AddInput{URL: "ftp://x", Events: []string{"nope"}, AllAccounts: true})
	if msg := err.Error(); !strings.Contains(msg, "http:// or https://") || !strings.Contains(msg, `unknown event kind "nope"`) {
		t.Errorf("joined problems: %q", msg)
	}
	if _, err := s.Add(ctx, events.AddInput{URL: "http://x/y", Account: "9999"}); code(err) != callbill.ENOTFOUND {
		t.Errorf("an unknown account: %v", err)
	}
	w, err := s.Add(ctx, events.AddInput{URL: "https://x/y", Account: "1001",
		Events: []string{" bill.closed", "bill.closed", callbill.EventExportDone}})
	if err != nil || w.Secret == "" || len(w.Events) != 2 || !w.CreatedAt.Equal(time.UnixMilli(m.now.UnixMilli())) {
		t.Fatalf("added %+v, %v", w, err)
	}
	if len(m.endpoints) != 1 {
		t.Errorf("%d endpoints stored", len(m.endpoints))
	}
}

func TestDisableOnce(t *testing.T) {
	ctx := context.Background()
	m, s := fixture()
	w, _ := s.Add(ctx, events.AddInput{URL: "http://x/y", AllAccounts: true})
	if err := s.Disable(ctx, w.ID); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Get(ctx, w.ID); !got.DisabledAt.Equal(m.now) {
		t.Errorf("disabled at %v", got.DisabledAt)
	}
	if err := s.Disable(ctx, w.ID); code(err) != callbill.ENOTFOUND || !strings.Contains(err.Error(), "already disabled") {
		t.Errorf("disabling again: %v", err)
	}
	if err := s.Disable(ctx, "wh_nope"); code(err) != callbill.ENOTFOUND {
		t.Errorf("an unknown endpoint: %v", err)
	}
}

func TestReplayDecisions(t *testing.T) {
	ctx := context.Background()
	m, s := fixture()
	w, _ := s.Add(ctx, events.AddInput{URL: "http://x/y", AllAccounts: true})
	m.deliveries[w.ID] = []*callbill.WebhookDelivery{
		{Endpoint: w.ID, Event: "evt_1", Status: callbill.DeliveryFailed, Attempts: 12},
		{Endpoint: w.ID, Event: "evt_2", Status: callbill.DeliveryDelivered},
	}
	if _, err := s.Replay(ctx, events.ReplayInput{Endpoint: w.ID}); code(err) != callbill.EINVALID {
		t.Errorf("neither an event nor all failed: %v", err)
	}
	if n, err := s.Replay(ctx, events.ReplayInput{Endpoint: w.ID, AllFailed: true}); err != nil || n != 1 {
		t.Errorf("every failed one: %d, %v", n, err)
	}
	if n, err := s.Replay(ctx, events.ReplayInput{Endpoint: w.ID, AllFailed: true}); err != nil || n != 0 {
		t.Errorf("none failed is no error: %d, %v", n, err)
	}
	if n, err := s.Replay(ctx, events.ReplayInput{Endpoint: w.ID, Event: "evt_2"}); err != nil || n != 1 {
		t.Errorf("a delivered one, again: %d, %v", n, err)
	}
	if _, err := s.Replay(ctx, events.ReplayInput{Endpoint: w.ID, Event: "evt_nope"}); code(err) != callbill.ENOTFOUND {
		t.Errorf("an unknown event: %v", err)
	}
	if _, err := s.Replay(ctx, events.ReplayInput{Endpoint: "wh_nope", AllFailed: true}); code(err) != callbill.ENOTFOUND {
		t.Errorf("an unknown endpoint: %v", err)
	}
	s.Disable(ctx, w.ID)
	if _, err := s.Replay(ctx, events.ReplayInput{Endpoint: w.ID, AllFailed: true}); code(err) != callbill.EREFUSED {
		t.Errorf("a disabled endpoint: %v", err)
	}
}

func TestDeliveriesLimit(t *testing.T) {
	ctx := context.Background()
	m, s := fixture()
	w, _ := s.Add(ctx, events.AddInput{URL: "http://x/y", AllAccounts: true})
	for limit, want := range map[int]int{0: 100, -1: 100, 1: 1, 1000: 1000, 1001: 100} {
		if _, err := s.Deliveries(ctx, events.DeliveriesInput{Endpoint: w.ID, Limit: limit}); err != nil || m.lastLimit != want {
			t.Errorf("limit %d: read %d, %v", limit, m.lastLimit, err)
		}
	}
	if _, err := s.Deliveries(ctx, events.DeliveriesInput{Endpoint: "wh_nope"}); code(err) != callbill.ENOTFOUND {
		t.Errorf("an unknown endpoint: %v", err)
	}
}
