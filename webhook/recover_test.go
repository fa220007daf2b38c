package webhook_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/callbill/callbill"
	"github.com/callbill/callbill/webhook"
)

// flakyStore hands out one batch per claim from a script; a nil batch in
// the script is a claim that panics. Recording the attempt of event "rec"
// panics too.
type flakyStore struct {
	mu       sync.Mutex
	script   [][]callbill.WebhookDelivery
	attempts []callbill.WebhookAttempt
}

func (f *flakyStore) ClaimDeliveries(ctx context.Context, node string, lease time.Duration, limit int) ([]callbill.WebhookDelivery, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.script) == 0 {
		return nil, nil
	}
	b := f.script[0]
	f.script = f.script[1:]
	if b == nil {
		panic("claim bug")
	}
	return b, nil
}

func (f *flakyStore) RecordAttempt(ctx context.Context, a callbill.WebhookAttempt) (string, error) {
	if a.Event == "rec" {
		panic("record bug")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.attempts = append(f.attempts, a)
	return callbill.DeliveryDelivered, nil
}

func (f *flakyStore) recorded() []callbill.WebhookAttempt {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]callbill.WebhookAttempt(nil), f.attempts...)
}

// panicTransport panics on requests to /boom, as a buggy client might.
type panicTransport struct{}

func (panicTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Path == "/boom" {
		panic("transport bug")
	}
	return http.DefaultTransport.RoundTrip(r)
}

type lockedLog struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestDelivererSurvivesPanics: a claim that panics, an attempt that panics
// and a record that panics are logged with their stacks; the panicked
// attempt is recorded as failed ("internal error") so that it is retried;
// the deliverer goes on delivering.
func TestDelivererSurvivesPanics(t *testing.T) {
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) }))
	defer recv.Close()
	dl := func(event, path string) callbill.WebhookDelivery {
		return callbill.WebhookDelivery{Endpoint: "wh_1", Event: event, Kind: "bill.closed", Account: "1001", At: time.Now(),
			Payload: `{}`, URL: recv.URL + path, Secret: "s"}
	}
	store := &flakyStore{script: [][]callbill.WebhookDelivery{
		nil, // the claim panics
		{dl("boom", "/boom"), dl("rec", "/ok")},
		nil,
		{dl("fine", "/ok")},
	}}
	var logs lockedLog
	d := &webhook.Deliverer{Store: store, Node: "n1", Log: slog.New(slog.NewTextHandler(&logs, nil)), Poll: 5 * time.Millisecond,
		Client: &http.Client{Transport: panicTransport{}}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { d.Run(ctx); close(done) }()
	for deadline := time.Now().Add(10 * time.Second); len(store.recorded()) < 2; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("recorded %+v", store.recorded())
		}
	}
	cancel()
	<-done
	got := map[string]callbill.WebhookAttempt{}
	for _, a := range store.recorded() {
		got[a.Event] = a
	}
	if a := got["boom"]; a.Code != 0 || a.Error != "internal error" || a.OK() {
		t.Errorf("the panicked attempt was recorded as %+v", a)
	}
	if a := got["fine"]; a.Code != 204 {
		t.Errorf("the next delivery: %+v", a)
	}
	l := logs.String()
	for _, want := range []string{"claim bug", "transport bug", "record bug", "runtime/debug.Stack", `msg="webhook deliverer panicked"`,
		`msg="webhook attempt panicked"`, `msg="webhook delivery panicked"`} {
		if !strings.Contains(l, want) {
			t.Errorf("the log lacks %q", want)
		}
	}
}
