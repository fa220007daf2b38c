package webhook_test

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
	"net/http/httptest"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/callbill/callbill"
	"github.com/callbill/callbill/events"
	"github.com/callbill/callbill/internal/testpg"
	"github.com/callbill/callbill/ledger"
	"github.com/callbill/callbill/provision"
	"github.com/callbill/callbill/sqlstore"
	"github.com/callbill/callbill/webhook"
	"github.com/callbill/callbill/world"
	"github.com/shopspring/decimal"
)

func TestSignAndVerify(t *testing.T) {
	body := []byte(`{"id":"evt_1","kind":"topup.received"}`)
	now := time.Unix(1_800_000_000, 0)
	h := webhook.Sign("s3cret", now.Unix(), body)
	// The documented scheme, computed independently.
	m := hmac.New(sha256.New, []byte("s3cret"))
	m.Write([]byte("1800000000." + string(body)))
	if want := "t=1800000000,v1=" + hex.EncodeToString(m.Sum(nil)); h != want {
		t.Fatalf("header %q, want %q", h, want)
	}
	// The test vector of docs/webhooks.md.
	doc := []byte(`{"id":"evt_Qm3xT0aZk9LfVb2RcW8yHn1D","kind":"topup.received","account":"1000000000000001","at":"2026-11-03T02:15:00Z","data":{"account":"1000000000000001","amount":"100.00","cash":"100.00","at":"2026-11-03T02:15:00Z","key":"pay-2026-11-03-001","source":"request"}}`)
	if got := webhook.Sign("whsec_test", 1800000000, doc); got != "t=1800000000,v1=770529f352c55c9f11a5d0a00cde5e1cca4d517e92e5e94c9587bd8761e91d5c" {
		t.Errorf("the documented test vector: %s", got)
	}
	if err := webhook.Verify("s3cret", h, body, now.Add(4*time.Minute), 0); err != nil {
		t.Fatalf("a good signature: %v", err)
	}
	for name, c := range map[string]struct {
		secret, header string
		body           []byte
		now            time.Time
		want           error
	}{
		"wrong secret":      {"other", h, body, now, webhook.ErrBadSignature},
		"changed body":      {"s3cret", h, append([]byte(" "), body...), now, webhook.ErrBadSignature},
		"stale":             {"s3cret", h, body, now.Add(6 * time.Minute), webhook.ErrStale},
		"from the future":   {"s3cret", h, body, now.Add(-6 * time.Minute), webhook.ErrStale},
		"no header":         {"s3cret", "", body, now, webhook.ErrNoSignature},
		"no timestamp":      {"s3cret", "v1=00", body, now, webhook.ErrNoSignature},
		"another timestamp": {"s3cret", "t=1800000001," + h[len("t=1800000000,"):], body, now, webhook.ErrBadSignature},
	} {
		if err := webhook.Verify(c.secret, c.header, c.body, c.now, 0); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", name, err, c.want)
		}
	}
	// Several v1 values (a secret being rotated): any may match.
	if err := webhook.Verify("s3cret", "t=1800000000,v1=deadbeef,"+h[len("t=1800000000,"):], body, now, 0); err != nil {
		t.Errorf("two signatures: %v", err)
	}
}

// stores opens a store per backend, with one account and the master key.
func stores(t *testing.T) map[string]func(t *testing.T) (*sqlstore.Store, string) {
	open := func(t *testing.T, dsn string) (*sqlstore.Store, string) {
		s, err := sqlstore.Open(context.Background(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		s.MasterKey = bytes.Repeat([]byte{7}, 32)
		w, ps := world.Parse([]byte(`
accounts:
  - uid: "1001"
    name: 甲
    instances:
      - id: inst-p
        mode: payg
        numbers: [{number: "0571001", kind: fixed, source: ccc}]
`))
		if len(ps) > 0 {
			t.Fatal(ps)
		}
		if _, err := (&provision.Service{Store: s}).Apply(context.Background(), provision.ApplyInput{World: w}); err != nil {
			t.Fatal(err)
		}
		return s, dsn
	}
	return map[string]func(t *testing.T) (*sqlstore.Store, string){
		"sqlite":   func(t *testing.T) (*sqlstore.Store, string) { return open(t, filepath.Join(t.TempDir(), "wh.db")) },
		"postgres": func(t *testing.T) (*sqlstore.Store, string) { return open(t, testpg.DSN(t)) },
	}
}

func each(t *testing.T, fn func(t *testing.T, s *sqlstore.Store, dsn string)) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			s, dsn := open(t)
			fn(t, s, dsn)
		})
	}
}

// receiver records what it is sent and answers with the next status of its script (then 200).
type receiver struct {
	mu     sync.Mutex
	got    []*http.Request
	bodies [][]byte
	script []int
	delay  time.Duration
	srv    *httptest.Server
}

func newReceiver(t *testing.T, script ...int) *receiver {
	rc := &receiver{script: script}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.got = append(rc.got, r)
		rc.bodies = append(rc.bodies, body)
		code := 200
		if len(rc.script) > 0 {
			code, rc.script = rc.script[0], rc.script[1:]
		}
		delay := rc.delay
		rc.mu.Unlock()
		time.Sleep(delay)
		w.WriteHeader(code)
		w.Write([]byte("answer"))
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) count() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return len(rc.got)
}

func deliverer(s *sqlstore.Store, node string) *webhook.Deliverer {
	return &webhook.Deliverer{Store: s, Node: node, Poll: 10 * time.Millisecond, Lease: 2 * time.Second,
		Log:     slog.New(slog.NewTextHandler(io.Discard, nil)),
		Backoff: func(n int) time.Duration { return time.Duration(n) * 30 * time.Millisecond }}
}

// start runs d until the returned stop is called; stop waits for Run to return.
func start(d *webhook.Deliverer) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { d.Run(ctx); close(done) }()
	return func() { cancel(); <-done }
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func topUp(t *testing.T, s *sqlstore.Store, key string) {
	t.Helper()
	if _, err := (&ledger.Service{Store: s}).TopUp(context.Background(), ledger.TopUpInput{Account: "1001", Amount: decimal.RequireFromString("12.50"), Key: key}); err != nil {
		t.Fatal(err)
	}
}

func log(t *testing.T, s *sqlstore.Store, endpoint string) []callbill.WebhookDelivery {
	t.Helper()
	ds, err := (&events.Service{Store: s}).Deliveries(context.Background(), events.DeliveriesInput{Endpoint: endpoint, Limit: 0})
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

func delivered(t *testing.T, s *sqlstore.Store, endpoint string) func() bool {
	return func() bool {
		ds := log(t, s, endpoint)
		return len(ds) == 1 && ds[0].Status == callbill.DeliveryDelivered
	}
}

func TestDeliveryIsSignedAndShaped(t *testing.T) {
	each(t, func(t *testing.T, s *sqlstore.Store, _ string) {
		rc := newReceiver(t)
		ep, err := (&events.Service{Store: s}).Add(context.Background(), events.AddInput{URL: rc.srv.URL + "/hook", AllAccounts: true})
		if err != nil {
			t.Fatal(err)
		}
		topUp(t, s, "k1")
		stop := start(deliverer(s, "n1"))
		defer stop()
		waitFor(t, "the delivery", delivered(t, s, ep.ID))
		rc.mu.Lock()
		r, body := rc.got[0], rc.bodies[0]
		rc.mu.Unlock()
		ev := log(t, s, ep.ID)[0].Event
		if r.Method != "POST" || r.URL.Path != "/hook" || r.Header.Get("Content-Type") != "application/json" ||
			r.Header.Get(webhook.HeaderEvent) != callbill.EventTopUpReceived || r.Header.Get(webhook.HeaderDelivery) != ep.ID+":"+ev {
			t.Fatalf("request: %s %s %v", r.Method, r.URL, r.Header)
		}
		if err := webhook.Verify(ep.Secret, r.Header.Get(webhook.HeaderSignature), body, time.Now(), time.Minute); err != nil {
			t.Fatalf("the receiver cannot verify: %v", err)
		}
		if err := webhook.Verify("whsec_wrong", r.Header.Get(webhook.HeaderSignature), body, time.Now(), time.Minute); !errors.Is(err, webhook.ErrBadSignature) {
			t.Fatalf("a wrong secret verifies: %v", err)
		}
		if err := webhook.Verify(ep.Secret, r.Header.Get(webhook.HeaderSignature), body, time.Now().Add(time.Hour), time.Minute); !errors.Is(err, webhook.ErrStale) {
			t.Fatalf("an hour later: %v", err)
		}
		var env struct {
			ID, Kind, Account, At string
			Data                  struct{ Account, Amount, Cash, Key, Source string }
		}
		if err := json.Unmarshal(body, &env); err != nil {
			t.Fatalf("body %s: %v", body, err)
		}
		if env.ID != ev || env.Kind != callbill.EventTopUpReceived || env.Account != "1001" || env.At == "" ||
			env.Data.Amount != "12.50" || env.Data.Cash != "12.50" || env.Data.Key != "k1" || env.Data.Source != "request" {
			t.Fatalf("body: %s", body)
		}
	})
}

func TestRetryAfterAFailingReceiver(t *testing.T) {
	each(t, func(t *testing.T, s *sqlstore.Store, _ string) {
		rc := newReceiver(t, 500, 503) // fails twice, then 200
		ep, err := (&events.Service{Store: s}).Add(context.Background(), events.AddInput{URL: rc.srv.URL, Account: "1001", AllAccounts: false, Events: []string{callbill.EventTopUpReceived}})
		if err != nil {
			t.Fatal(err)
		}
		topUp(t, s, "k1")
		dl := deliverer(s, "n1")
		outcomes := countOutcomes(dl)
		stop := start(dl)
		waitFor(t, "the delivery", delivered(t, s, ep.ID))
		time.Sleep(100 * time.Millisecond) // nothing more comes
		stop()
		if got := outcomes(); got != "delivered 1, retry 2" {
			t.Errorf("outcomes told: %s", got)
		}
		if n := rc.count(); n != 3 {
			t.Fatalf("the receiver got %d requests, want 3", n)
		}
		rc.mu.Lock()
		for i, r := range rc.got {
			if r.Header.Get(webhook.HeaderDelivery) != rc.got[0].Header.Get(webhook.HeaderDelivery) || !bytes.Equal(rc.bodies[i], rc.bodies[0]) {
				t.Errorf("attempt %d differs: %v %s", i+1, r.Header, rc.bodies[i])
			}
			if r.Header.Get(webhook.HeaderAttempt) != string(rune('1'+i)) {
				t.Errorf("attempt %d says %s", i+1, r.Header.Get(webhook.HeaderAttempt))
			}
			if err := webhook.Verify(ep.Secret, r.Header.Get(webhook.HeaderSignature), rc.bodies[i], time.Now(), 0); err != nil {
				t.Errorf("attempt %d: %v", i+1, err)
			}
		}
		rc.mu.Unlock()
		d := log(t, s, ep.ID)[0]
		if d.Status != callbill.DeliveryDelivered || len(d.Log) != 3 || d.Log[0].Code != 500 || d.Log[1].Code != 503 ||
			d.Log[2].Code != 200 || d.Log[0].Error != "HTTP 500: answer" || d.Log[2].Error != "" || d.Log[2].Node != "n1" {
			t.Fatalf("log: %+v", d)
		}
		// The waits follow the Backoff: 30 ms after the first failure, 60 ms after the second.
		if g := d.Log[1].At.Sub(d.Log[0].At); g < 30*time.Millisecond {
			t.Errorf("second attempt %s after the first", g)
		}
		if g := d.Log[2].At.Sub(d.Log[1].At); g < 60*time.Millisecond {
			t.Errorf("third attempt %s after the second", g)
		}
	})
}

func TestNoDuplicateAfterARestart(t *testing.T) {
	each(t, func(t *testing.T, s *sqlstore.Store, dsn string) {
		ctx := context.Background()
		rc := newReceiver(t)
		ep, err := (&events.Service{Store: s}).Add(ctx, events.AddInput{URL: rc.srv.URL, AllAccounts: true})
		if err != nil {
			t.Fatal(err)
		}
		topUp(t, s, "k1")
		stop := start(deliverer(s, "n1"))
		waitFor(t, "the delivery", delivered(t, s, ep.ID))
		stop()

		// A stop while an attempt is in flight: Run finishes and records it before returning.
		rc.mu.Lock()
		rc.delay = 300 * time.Millisecond
		rc.mu.Unlock()
		topUp(t, s, "k2")
		stop = start(deliverer(s, "n1"))
		waitFor(t, "the second request", func() bool { return rc.count() == 2 })
		stop()
		for _, d := range log(t, s, ep.ID) {
			if d.Status != callbill.DeliveryDelivered {
				t.Fatalf("after a stop mid-attempt: %+v", d)
			}
		}

		// The node "restarts": a new store on the same database, a new deliverer.
		s2, err := sqlstore.Open(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer s2.Close()
		s2.MasterKey = s.MasterKey
		stop = start(deliverer(s2, "n1"))
		time.Sleep(300 * time.Millisecond) // 30 polls
		stop()
		if n := rc.count(); n != 2 {
			t.Fatalf("after the restart the receiver got %d requests, want 2", n)
		}
	})
}

func TestADeadNodesClaimIsSentAfterItsLease(t *testing.T) {
	each(t, func(t *testing.T, s *sqlstore.Store, _ string) {
		ctx := context.Background()
		rc := newReceiver(t)
		ep, err := (&events.Service{Store: s}).Add(ctx, events.AddInput{URL: rc.srv.URL, AllAccounts: true})
		if err != nil {
			t.Fatal(err)
		}
		topUp(t, s, "k1")
		// A node claims and dies before sending.
		claimed, err := s.ClaimDeliveries(ctx, "dead", 400*time.Millisecond, 10)
		if err != nil || len(claimed) != 1 {
			t.Fatalf("claim: %v %v", claimed, err)
		}
		at := time.Now()
		stop := start(deliverer(s, "n2"))
		defer stop()
		waitFor(t, "the delivery", delivered(t, s, ep.ID))
		if waited := time.Since(at); waited < 300*time.Millisecond {
			t.Errorf("sent %s after the claim, before its lease ran out", waited)
		}
		time.Sleep(100 * time.Millisecond)
		if n := rc.count(); n != 1 {
			t.Fatalf("the receiver got %d requests", n)
		}
		rc.mu.Lock()
		id := rc.got[0].Header.Get(webhook.HeaderDelivery)
		rc.mu.Unlock()
		if id != claimed[0].DeliveryID() {
			t.Errorf("delivery id %s, the dead node's claim was %s", id, claimed[0].DeliveryID())
		}
	})
}

func TestFailedForGoodThenReplayed(t *testing.T) {
	each(t, func(t *testing.T, s *sqlstore.Store, _ string) {
		ctx := context.Background()
		script := make([]int, callbill.WebhookMaxAttempts)
		for i := range script {
			script[i] = 500
		}
		rc := newReceiver(t, script...)
		ep, err := (&events.Service{Store: s}).Add(ctx, events.AddInput{URL: rc.srv.URL, AllAccounts: true})
		if err != nil {
			t.Fatal(err)
		}
		topUp(t, s, "k1")
		d := deliverer(s, "n1")
		d.Backoff = func(int) time.Duration { return time.Millisecond }
		outcomes := countOutcomes(d)
		stop := start(d)
		defer stop()
		waitFor(t, "failure", func() bool {
			ds := log(t, s, ep.ID)
			return len(ds) == 1 && ds[0].Status == callbill.DeliveryFailed
		})
		if n := rc.count(); n != callbill.WebhookMaxAttempts {
			t.Fatalf("%d attempts before failing", n)
		}
		if n, err := (&events.Service{Store: s}).Replay(ctx, events.ReplayInput{Endpoint: ep.ID, AllFailed: true}); err != nil || n != 1 {
			t.Fatalf("replay: %d %v", n, err)
		}
		waitFor(t, "the replayed delivery", delivered(t, s, ep.ID))
		if n := rc.count(); n != callbill.WebhookMaxAttempts+1 {
			t.Fatalf("%d requests", n)
		}
		if got, want := outcomes(), fmt.Sprintf("delivered 1, failed 1, retry %d", callbill.WebhookMaxAttempts-1); got != want {
			t.Errorf("outcomes told: %s, want %s", got, want)
		}
	})
}

// countOutcomes counts the outcomes d tells OnAttempt; the function returned
// lists them ("delivered 1, retry 2").
func countOutcomes(d *webhook.Deliverer) func() string {
	var mu sync.Mutex
	n := map[string]int{}
	d.OnAttempt = func(outcome string) {
		if !slices.Contains(callbill.WebhookAttemptOutcomes, outcome) {
			outcome = "unknown " + outcome
		}
		mu.Lock()
		n[outcome]++
		mu.Unlock()
	}
	return func() string {
		mu.Lock()
		defer mu.Unlock()
		var out []string
		for k, v := range n {
			out = append(out, fmt.Sprintf("%s %d", k, v))
		}
		sort.Strings(out)
		return strings.Join(out, ", ")
	}
}
