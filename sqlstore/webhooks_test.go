package sqlstore_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/callbill/callbill"
	"github.com/callbill/callbill/cdr"
	"github.com/callbill/callbill/events"
	"github.com/callbill/callbill/ingest"
	"github.com/callbill/callbill/jobs"
	"github.com/callbill/callbill/ledger"
	"github.com/callbill/callbill/sqlstore"
)

var testMasterKey = bytes.Repeat([]byte{7}, 32)

// clock is a settable clock for a store.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func addWebhook(t *testing.T, s *sqlstore.Store, account string, kinds ...string) *callbill.WebhookEndpoint {
	t.Helper()
	w, err := (&events.Service{Store: s}).Add(context.Background(), events.AddInput{URL: "http://127.0.0.1:1/hook", Account: account, AllAccounts: account == "", Events: kinds})
	if err != nil {
		t.Fatalf("add webhook: %v", err)
	}
	return w
}

func deliveries(t *testing.T, s *sqlstore.Store, endpoint string) []callbill.WebhookDelivery {
	t.Helper()
	ds, err := (&events.Service{Store: s}).Deliveries(context.Background(), events.DeliveriesInput{Endpoint: endpoint, Limit: 0})
	if err != nil {
		t.Fatalf("deliveries: %v", err)
	}
	return ds
}

// kinds lists "kind account" of deliveries, sorted.
func kinds(ds []callbill.WebhookDelivery) string {
	var out []string
	for _, d := range ds {
		out = append(out, d.Kind+" "+d.Account)
	}
	sort.Strings(out)
	return strings.Join(out, "\n")
}

func TestWebhookEventsFromTheirCauses(t *testing.T) {
	each(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		s.MasterKey = testMasterKey
		clk := &clock{now: time.Date(2026, 11, 3, 0, 0, 0, 0, time.UTC)}
		s.Now = clk.Now
		all := addWebhook(t, s, "")
		off := addWebhook(t, s, "")
		if err := (&events.Service{Store: s}).Disable(ctx, off.ID); err != nil {
			t.Fatal(err)
		}
		if err := (&events.Service{Store: s}).Disable(ctx, off.ID); callbill.ErrorCode(err) != callbill.ENOTFOUND {
			t.Fatalf("disable twice: %v", err)
		}

		mustApply(t, s, moneyWorld) // 2001 at available 0, below its alert of 100: balance.low
		bills2001 := addWebhook(t, s, "2001", callbill.EventBillClosed)
		mustApply(t, s, baseWorld) // 1001
		owe(t, s)                  // closes 2026-10: a bill each; 2001 overdue (−9.98), 1001 stopped at once (400 number fee, no grace)
		clk.Add(49 * time.Hour)    // past 2001's 2 days of grace
		if err := money(s).Sweep(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := money(s).TopUp(ctx, ledger.TopUpInput{Account: "2001", Amount: dec("20.00"), Key: "k1"}); err != nil {
			t.Fatal(err)
		}
		if r, err := money(s).TopUp(ctx, ledger.TopUpInput{Account: "2001", Amount: dec("20.00"), Key: "k1"}); err != nil || !r.Replayed {
			t.Fatalf("replayed top-up: %+v %v", r, err)
		}
		// A world file's top-up; then a refused file, whose top-up must leave no event.
		mustApply(t, s, `
topups:
  - {id: W-1, account: "2001", amount: "1.00", at: "2026-11-04T08:00:00+08:00"}
`)
		if _, err := apply(t, s, `
topups:
  - {id: W-2, account: "2001", amount: "1.00", at: "2026-11-04T08:00:00+08:00"}
  - {id: W-3, account: "9999", amount: "1.00", at: "2026-11-04T08:00:00+08:00"}
`); err == nil {
			t.Fatal("a world file naming an unknown account was applied")
		}
		// An export finishing, and a close job finishing (no event).
		for _, kind := range []string{callbill.JobExport, callbill.JobClose} {
			if _, _, err := (jobs.Service{Store: s}).Enqueue(ctx, callbill.JobRequest{Kind: kind, Key: kind + ":1", Account: "2001", Params: `{"account":"2001","cycle":"2026-10"}`}); err != nil {
				t.Fatal(err)
			}
			j, err := s.ClaimJob(ctx, kind, "n1", time.Minute)
			if err != nil || j == nil {
				t.Fatalf("claim %s: %v %v", kind, j, err)
			}
			if err := s.FinishJob(ctx, j.ID, "n1", `{"path":"/x/usage.csv","rows":3,"bytes":120}`); err != nil {
				t.Fatal(err)
			}
		}

		ds := deliveries(t, s, all.ID)
		want := strings.Join([]string{
			"account.overdue 2001", "account.stopped 1001", "account.stopped 2001", "balance.low 2001", "bill.closed 1001", "bill.closed 2001",
			"export.done 2001", "topup.received 2001", "topup.received 2001"}, "\n")
		if got := kinds(ds); got != want {
			t.Fatalf("events for every account:\n%s\nwant\n%s", got, want)
		}
		data := map[string][]map[string]any{}
		for _, d := range ds {
			if d.Status != callbill.DeliveryPending || d.Attempts != 0 || len(d.Log) != 0 {
				t.Errorf("a new delivery: %+v", d)
			}
			var m map[string]any
			if err := json.Unmarshal([]byte(d.Payload), &m); err != nil {
				t.Fatalf("payload %q: %v", d.Payload, err)
			}
			data[d.Kind] = append(data[d.Kind], m)
		}
		for _, m := range data[callbill.EventBillClosed] {
			if m["account"] == "2001" {
				tot, _ := json.Marshal(m["totals"])
				if m["cycle"] != "2026-10" || string(tot) != `{"discount":"0.00","original":"9.98","outstanding":"9.98","paid":"0.00","payable":"9.98","round_down":"0.00"}` {
					t.Errorf("bill.closed of 2001: %v", m)
				}
			}
		}
		for _, m := range data[callbill.EventAccountStopped] {
			if m["account"] == "2001" && (m["previous"] != "overdue" || m["available"] != "-9.98" || m["cause"] != "grace period over") ||
				m["account"] == "1001" && (m["previous"] != "normal" || m["cause"] != "bill 2026-10 closed") {
				t.Errorf("account.stopped: %v", m)
			}
		}
		if m := data[callbill.EventBalanceLow][0]; m["threshold"] != "100.00" || m["available"] != "0.00" {
			t.Errorf("balance.low: %v", m)
		}
		sources := ""
		for _, m := range data[callbill.EventTopUpReceived] {
			sources += fmt.Sprintf("%s %s %s %s;", m["source"], m["key"], m["amount"], m["cash"])
		}
		if sources != "request k1 20.00 10.02;world topup:W-1 1.00 11.02;" && sources != "world topup:W-1 1.00 11.02;request k1 20.00 10.02;" {
			t.Errorf("top-ups: %s", sources)
		}
		if m := data[callbill.EventExportDone][0]; m["rows"] != 3.0 || m["cycle"] != "2026-10" || !strings.HasSuffix(m["file"].(string), "/file") {
			t.Errorf("export.done: %v", m)
		}
		if got := kinds(deliveries(t, s, bills2001.ID)); got != "bill.closed 2001" {
			t.Errorf("2001's bills only: %s", got)
		}
		if got := deliveries(t, s, off.ID); len(got) != 0 {
			t.Errorf("a disabled endpoint got deliveries: %v", kinds(got))
		}
		eps, err := (&events.Service{Store: s}).List(ctx)
		if err != nil || len(eps) != 3 {
			t.Fatalf("webhooks: %+v %v", eps, err)
		}
		byID := map[string]callbill.WebhookEndpoint{}
		for _, e := range eps {
			byID[e.ID] = e
		}
		if e := byID[all.ID]; e.Pending != 9 || e.Secret != "" || e.Account != "" || len(e.Events) != 0 || !e.DisabledAt.IsZero() {
			t.Errorf("every account's: %+v", e)
		}
		if e := byID[bills2001.ID]; e.Pending != 1 || e.Account != "2001" || strings.Join(e.Events, ",") != callbill.EventBillClosed {
			t.Errorf("2001's bills: %+v", e)
		}
		if e := byID[off.ID]; e.DisabledAt.IsZero() || e.Pending != 0 {
			t.Errorf("disabled: %+v", e)
		}
	})
}

func TestWebhookSecretSealedAndValidated(t *testing.T) {
	each(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		s.MasterKey = testMasterKey
		mustApply(t, s, moneyWorld)
		w := addWebhook(t, s, "2001", callbill.EventTopUpReceived)
		if !strings.HasPrefix(w.ID, "wh_") || len(w.Secret) < 32 {
			t.Fatalf("endpoint: %+v", w)
		}
		var sealed string
		if err := s.DB().QueryRow(`SELECT sealed FROM webhook_endpoints`).Scan(&sealed); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(sealed, w.Secret) {
			t.Fatal("the secret is stored in the clear")
		}
		if _, err := money(s).TopUp(ctx, ledger.TopUpInput{Account: "2001", Amount: dec("1.00"), Key: "k"}); err != nil {
			t.Fatal(err)
		}
		ds, err := s.ClaimDeliveries(ctx, "n1", time.Minute, 10)
		if err != nil || len(ds) != 1 || ds[0].Secret != w.Secret || ds[0].URL != "http://127.0.0.1:1/hook" ||
			ds[0].DeliveryID() != w.ID+":"+ds[0].Event || !strings.HasPrefix(ds[0].Event, "evt_") {
			t.Fatalf("claim: %+v %v", ds, err)
		}
		for _, bad := range []struct{ url, account, event string }{
			{"ftp://x/y", "", ""}, {"/relative", "", ""}, {"http://", "", ""},
			{"http://x/y", "", "bill.opened"}, {"http://x/y", "9999", ""},
		} {
			var kinds []string
			if bad.event != "" {
				kinds = []string{bad.event}
			}
			_, err := (&events.Service{Store: s}).Add(ctx, events.AddInput{URL: bad.url, Account: bad.account, AllAccounts: bad.account == "", Events: kinds})
			want := callbill.EINVALID
			if bad.account == "9999" {
				want = callbill.ENOTFOUND
			}
			if callbill.ErrorCode(err) != want {
				t.Errorf("%+v: %v", bad, err)
			}
		}
		s.MasterKey = bytes.Repeat([]byte{8}, 32)
		if _, err := money(s).TopUp(ctx, ledger.TopUpInput{Account: "2001", Amount: dec("1.00"), Key: "k2"}); err != nil {
			t.Fatal(err) // emitting needs no key
		}
		if _, err := s.ClaimDeliveries(ctx, "n1", time.Minute, 10); err == nil || !strings.Contains(err.Error(), "master key") {
			t.Fatalf("claim under another master key: %v", err)
		}
	})
}

// topUps makes n topup.received events for 2001.
func topUps(t *testing.T, s *sqlstore.Store, n int) {
	t.Helper()
	for i := range n {
		if _, err := money(s).TopUp(context.Background(), ledger.TopUpInput{Account: "2001", Amount: dec("1.00"), Key: fmt.Sprint("t", i)}); err != nil {
			t.Fatal(err)
		}
	}
}

func TestWebhookClaimsAreExclusiveAndLeased(t *testing.T) {
	for name, dsn := range dsns(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			db := dsn(t)
			clk := &clock{now: time.Date(2026, 11, 3, 0, 0, 0, 0, time.UTC)}
			stores := make([]*sqlstore.Store, 2)
			for i := range stores {
				s, err := sqlstore.Open(ctx, db)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { s.Close() })
				s.MasterKey, s.Now = testMasterKey, clk.Now
				stores[i] = s
			}
			s := stores[0]
			mustApply(t, s, moneyWorld)
			w := addWebhook(t, s, "")
			topUps(t, s, 40)
			// Both nodes claim at once, several claimers each, until nothing is left.
			var mu sync.Mutex
			got := map[string]string{}
			var wg sync.WaitGroup
			errs := make(chan error, 8)
			for i := range 8 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					node := fmt.Sprint("n", i)
					for {
						ds, err := stores[i%2].ClaimDeliveries(ctx, node, time.Minute, 3)
						if err != nil {
							errs <- err
							return
						}
						if len(ds) == 0 {
							return
						}
						mu.Lock()
						for _, d := range ds {
							if prev, ok := got[d.Event]; ok {
								errs <- fmt.Errorf("event %s claimed by %s and %s", d.Event, prev, node)
							}
							got[d.Event] = node
						}
						mu.Unlock()
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			if len(got) != 40 {
				t.Fatalf("%d events claimed, want 40", len(got))
			}
			// Held under lease: nothing to claim until it runs out.
			clk.Add(59 * time.Second)
			if ds, _ := s.ClaimDeliveries(ctx, "n9", time.Minute, 100); len(ds) != 0 {
				t.Fatalf("claimed %d deliveries held under lease", len(ds))
			}
			// Deliver 10 (one of them by a node that lost its lease: still delivered).
			for i, d := range deliveries(t, s, w.ID)[:10] {
				node := got[d.Event]
				if i == 0 {
					node = "late"
				}
				st, err := s.RecordAttempt(ctx, callbill.WebhookAttempt{Endpoint: w.ID, Event: d.Event, Node: node, Code: 204})
				if err != nil || st != callbill.DeliveryDelivered {
					t.Fatalf("record: %s %v", st, err)
				}
			}
			// The lease runs out: the other 30 (their nodes died) are claimed again, the delivered never.
			clk.Add(2 * time.Second)
			ds, err := stores[1].ClaimDeliveries(ctx, "n9", time.Minute, 100)
			if err != nil || len(ds) != 30 {
				t.Fatalf("after the lease: %d %v", len(ds), err)
			}
			// A dead node's late failure is only logged; the new holder's counts.
			st, err := s.RecordAttempt(ctx, callbill.WebhookAttempt{Endpoint: w.ID, Event: ds[0].Event, Node: got[ds[0].Event], Code: 500})
			if err != nil || st != callbill.DeliveryPending {
				t.Fatal(st, err)
			}
			st, err = s.RecordAttempt(ctx, callbill.WebhookAttempt{Endpoint: w.ID, Event: ds[0].Event, Node: "n9", Code: 502, Error: "HTTP 502"})
			if err != nil || st != callbill.DeliveryPending {
				t.Fatal(st, err)
			}
			for _, d := range deliveries(t, s, w.ID) {
				if d.Event == ds[0].Event && (d.Attempts != 1 || len(d.Log) != 2 || d.Log[1].N != 2 || d.Log[1].Node != "n9" ||
					d.LastCode != 502 || !d.NextAt.Equal(clk.Now().Add(time.Second))) {
					t.Errorf("after a lost lease's failure and the holder's: %+v", d)
				}
			}
			clk.Add(time.Hour)
			ds, _ = s.ClaimDeliveries(ctx, "n9", time.Minute, 100)
			if len(ds) != 30 {
				t.Fatalf("an hour later %d are due, want 30", len(ds))
			}
		})
	}
}

func TestWebhookBackoffFailureAndReplay(t *testing.T) {
	each(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		s.MasterKey = testMasterKey
		clk := &clock{now: time.Date(2026, 11, 3, 0, 0, 0, 0, time.UTC)}
		s.Now = clk.Now
		mustApply(t, s, moneyWorld)
		w := addWebhook(t, s, "", callbill.EventTopUpReceived)
		topUps(t, s, 1)
		var waits []string
		for i := 1; i <= callbill.WebhookMaxAttempts; i++ {
			ds, err := s.ClaimDeliveries(ctx, "n1", time.Minute, 10)
			if err != nil || len(ds) != 1 {
				t.Fatalf("attempt %d: claimed %d %v", i, len(ds), err)
			}
			if ds[0].Attempts != i-1 {
				t.Fatalf("attempt %d: %d failed before", i, ds[0].Attempts)
			}
			st, err := s.RecordAttempt(ctx, callbill.WebhookAttempt{Endpoint: w.ID, Event: ds[0].Event, Node: "n1", Code: 503,
				Error: "HTTP 503: busy \xff\x00", Duration: 15 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			d := deliveries(t, s, w.ID)[0]
			if i == callbill.WebhookMaxAttempts {
				if st != callbill.DeliveryFailed || d.Status != callbill.DeliveryFailed {
					t.Fatalf("after %d attempts: %s", i, st)
				}
				break
			}
			wait := d.NextAt.Sub(clk.Now())
			waits = append(waits, wait.String())
			clk.Add(wait - time.Millisecond)
			if ds, _ := s.ClaimDeliveries(ctx, "n1", time.Minute, 10); len(ds) != 0 {
				t.Fatalf("attempt %d: claimed before it was due", i)
			}
			clk.Add(time.Millisecond)
		}
		if got := strings.Join(waits, " "); got != "1s 2s 4s 8s 16s 32s 1m4s 2m8s 4m16s 8m32s 17m4s" {
			t.Errorf("waits: %s", got)
		}
		if callbill.WebhookBackoff(13) != time.Hour || callbill.WebhookBackoff(40) != time.Hour {
			t.Error("the backoff is not capped at an hour")
		}
		clk.Add(48 * time.Hour)
		if ds, _ := s.ClaimDeliveries(ctx, "n1", time.Minute, 10); len(ds) != 0 {
			t.Fatal("a failed delivery was claimed")
		}
		d := deliveries(t, s, w.ID)[0]
		if len(d.Log) != 12 || d.Log[11].N != 12 || d.Log[0].Code != 503 || d.Log[0].Duration != 15*time.Millisecond ||
			!strings.HasPrefix(d.Log[0].Error, "HTTP 503: busy") {
			t.Fatalf("log: %+v", d.Log)
		}
		// Replay every failed one: pending now, a fresh count; then delivered.
		if n, err := (&events.Service{Store: s}).Replay(ctx, events.ReplayInput{Endpoint: w.ID, AllFailed: true}); err != nil || n != 1 {
			t.Fatalf("replay failed: %d %v", n, err)
		}
		ds, err := s.ClaimDeliveries(ctx, "n2", time.Minute, 10)
		if err != nil || len(ds) != 1 || ds[0].Attempts != 0 {
			t.Fatalf("after replay: %+v %v", ds, err)
		}
		if st, err := s.RecordAttempt(ctx, callbill.WebhookAttempt{Endpoint: w.ID, Event: d.Event, Node: "n2", Code: 200}); err != nil || st != callbill.DeliveryDelivered {
			t.Fatal(st, err)
		}
		if n, _ := (&events.Service{Store: s}).Replay(ctx, events.ReplayInput{Endpoint: w.ID, AllFailed: true}); n != 0 {
			t.Fatalf("replaying failed ones replayed %d delivered", n)
		}
		// Replay one event, even delivered: sent once more.
		if n, err := (&events.Service{Store: s}).Replay(ctx, events.ReplayInput{Endpoint: w.ID, Event: d.Event}); err != nil || n != 1 {
			t.Fatalf("replay one: %d %v", n, err)
		}
		if ds, _ := s.ClaimDeliveries(ctx, "n3", time.Minute, 10); len(ds) != 1 {
			t.Fatal("a replayed delivery was not claimed")
		}
		s.RecordAttempt(ctx, callbill.WebhookAttempt{Endpoint: w.ID, Event: d.Event, Node: "n3", Code: 200})
		d = deliveries(t, s, w.ID)[0]
		if d.Status != callbill.DeliveryDelivered || len(d.Log) != 14 || d.Log[13].N != 14 || d.DeliveredAt.IsZero() {
			t.Fatalf("after two replays: %+v", d)
		}
		if _, err := (&events.Service{Store: s}).Replay(ctx, events.ReplayInput{Endpoint: w.ID, Event: "evt_nope"}); callbill.ErrorCode(err) != callbill.ENOTFOUND {
			t.Errorf("replay of an unknown event: %v", err)
		}
		if _, err := (&events.Service{Store: s}).Replay(ctx, events.ReplayInput{Endpoint: "wh_nope", AllFailed: true}); callbill.ErrorCode(err) != callbill.ENOTFOUND {
			t.Errorf("replay of an unknown webhook: %v", err)
		}
		if _, err := (&events.Service{Store: s}).Deliveries(ctx, events.DeliveriesInput{Endpoint: "wh_nope", Limit: 0}); callbill.ErrorCode(err) != callbill.ENOTFOUND {
			t.Errorf("log of an unknown webhook: %v", err)
		}
		// A disabled endpoint: its pending deliveries are not sent, it cannot be replayed.
		topUps(t, s, 2) // t0 again is a replayed key: one new event
		if err := (&events.Service{Store: s}).Disable(ctx, w.ID); err != nil {
			t.Fatal(err)
		}
		if ds, _ := s.ClaimDeliveries(ctx, "n1", time.Minute, 10); len(ds) != 0 {
			t.Fatal("a disabled endpoint's delivery was claimed")
		}
		if _, err := (&events.Service{Store: s}).Replay(ctx, events.ReplayInput{Endpoint: w.ID, AllFailed: true}); callbill.ErrorCode(err) != callbill.EREFUSED {
			t.Errorf("replay on a disabled webhook: %v", err)
		}
		if ep, err := (&events.Service{Store: s}).Get(ctx, w.ID); err != nil || ep.Pending != 0 || ep.Failed != 1 || ep.Delivered != 1 {
			t.Errorf("webhook: %+v %v", ep, err)
		}
		for _, d := range deliveries(t, s, w.ID) {
			if d.Status != callbill.DeliveryDelivered && (d.Status != callbill.DeliveryFailed || d.LastError != "webhook disabled") {
				t.Errorf("a disabled endpoint's pending delivery: %+v", d)
			}
		}
	})
}

// TestBillClosedTotalsAreTheBills closes the golden scenario's cycles and
// compares every bill.closed event with the closed bill it announces.
func TestBillClosedTotalsAreTheBills(t *testing.T) {
	each(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		s.MasterKey = testMasterKey
		s.Now = func() time.Time { return time.Date(2026, 11, 3, 0, 0, 0, 0, time.UTC) }
		w := addWebhook(t, s, "", callbill.EventBillClosed)
		yaml, err := os.ReadFile(filepath.Join("..", "testdata", "scenario", "world.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		mustApply(t, s, string(yaml))
		f, err := os.Open(filepath.Join("..", "testdata", "scenario", "calls.csv"))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		dec, err := cdr.NewDecoder(f)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := (&ingest.Service{Store: s}).Import(ctx, ingest.Input{Source: cdr.Source(dec, 0), ImportOptions: callbill.ImportOptions{}}); err != nil {
			t.Fatal(err)
		}
		closeCycle(t, s, "2026-10") // closes 2026-09 too
		ds := deliveries(t, s, w.ID)
		if len(ds) != 4 {
			t.Fatalf("%d bill.closed events, want 2 accounts × 2 cycles", len(ds))
		}
		for _, d := range ds {
			var ev struct {
				Account, Cycle string
				Totals         callbill.TotalsJSON
			}
			if err := json.Unmarshal([]byte(d.Payload), &ev); err != nil {
				t.Fatal(err)
			}
			b := bill(t, s, ev.Account, ev.Cycle)
			if ev.Account != d.Account || b.Status != callbill.BillStatusClosed || ev.Totals != b.Totals {
				t.Errorf("%s %s: event %+v, bill %+v", ev.Account, ev.Cycle, ev.Totals, b.Totals)
			}
		}
	})
}
