package sqlstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/callbill/callbill"
	"github.com/callbill/callbill/closing"
	"github.com/callbill/callbill/events"
	"github.com/callbill/callbill/jobs"
	"github.com/callbill/callbill/sqlstore"
)

// TestBacklogCountsTheLiveQueues: one read counts queued and running jobs
// by kind with the oldest queued one's time, the webhook deliveries
// waiting (never attempted, retrying, failed for good — of enabled
// endpoints only) with the oldest waiting event's time, and where closing
// stands, as NextAutoClose reads it; done jobs and delivered events are not
// counted.
func TestBacklogCountsTheLiveQueues(t *testing.T) {
	each(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		s.MasterKey = testMasterKey
		start := time.Date(2026, 11, 3, 0, 0, 0, 0, time.UTC)
		clk := &clock{now: start}
		s.Now = clk.Now
		kinds := callbill.JobKinds

		b, err := s.Backlog(ctx, kinds)
		if err != nil {
			t.Fatal(err)
		}
		if len(b.Jobs) != 0 || b.Webhooks != (callbill.WebhookBacklog{}) || b.Close.Accounts != 0 || b.Close.Closed != 0 ||
			b.Close.Loc.String() != callbill.DefaultTimezone || !b.At.Equal(start) {
			t.Fatalf("an empty database: %+v", b)
		}

		mustApply(t, s, moneyWorld)
		live := addWebhook(t, s, "")
		off := addWebhook(t, s, "")
		topUps(t, s, 3) // every event at start
		firstEvent := start
		clk.Add(time.Minute)
		enqueue := func(kind, key string) *callbill.Job {
			t.Helper()
			j, _, err := (jobs.Service{Store: s}).Enqueue(ctx, callbill.JobRequest{Kind: kind, Key: key, Account: "2001", Params: `{}`})
			if err != nil {
				t.Fatal(err)
			}
			clk.Add(time.Second)
			return j
		}
		e1 := enqueue(callbill.JobExport, "e1") // claimed below: running
		e2 := enqueue(callbill.JobExport, "e2") // failed: not waiting
		e3 := enqueue(callbill.JobExport, "e3") // done: not counted
		e4 := enqueue(callbill.JobExport, "e4") // the oldest queued export
		enqueue(callbill.JobExport, "e5")
		enqueue(callbill.JobClose, "c1")
		for _, want := range []int64{e1.ID, e2.ID, e3.ID} {
			j, err := s.ClaimJob(ctx, callbill.JobExport, "n1", time.Minute)
			if err != nil || j == nil || j.ID != want {
				t.Fatalf("claim: %+v %v", j, err)
			}
		}
		if err := s.FailJob(ctx, e2.ID, "n1", "boom"); err != nil {
			t.Fatal(err)
		}
		if err := s.FinishJob(ctx, e3.ID, "n1", `{}`); err != nil {
			t.Fatal(err)
		}

		// live's deliveries: one delivered, one retrying, one failed for
		// good; the rest waiting. off's become failed when it is disabled:
		// not counted, nobody waits for them.
		ds := deliveries(t, s, live.ID)
		if len(ds) < 3 {
			t.Fatalf("%d deliveries, want 3 or more", len(ds))
		}
		claimAll := func() {
			t.Helper()
			if _, err := s.ClaimDeliveries(ctx, "n1", time.Minute, 1000); err != nil {
				t.Fatal(err)
			}
		}
		attempt := func(d callbill.WebhookDelivery, code int) {
			t.Helper()
			if _, err := s.RecordAttempt(ctx, callbill.WebhookAttempt{Endpoint: live.ID, Event: d.Event, Node: "n1", Code: code, RetryIn: time.Second}); err != nil {
				t.Fatal(err)
			}
		}
		claimAll()
		attempt(ds[0], 204)
		attempt(ds[1], 500)
		for range callbill.WebhookMaxAttempts {
			attempt(ds[2], 500)
			clk.Add(2 * time.Minute) // past the backoff and every lease
			claimAll()
		}
		if err := (&events.Service{Store: s}).Disable(ctx, off.ID); err != nil {
			t.Fatal(err)
		}

		b, err = s.Backlog(ctx, kinds)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			kind   string
			status callbill.JobStatus
			want   int64
		}{{callbill.JobExport, callbill.JobQueued, 2}, {callbill.JobExport, callbill.JobRunning, 1},
			{callbill.JobClose, callbill.JobQueued, 1}, {callbill.JobClose, callbill.JobRunning, 0}} {
			if got := b.JobCount(c.kind, c.status); got != c.want {
				t.Errorf("%s %s: %d, want %d", c.kind, c.status, got, c.want)
			}
		}
		if got, want := b.OldestQueued(callbill.JobExport), b.At.Sub(e4.CreatedAt); got != want || got < 24*time.Minute {
			t.Errorf("oldest queued export %v, want %v", got, want)
		}
		want := callbill.WebhookBacklog{Pending: int64(len(ds) - 3), Retrying: 1, Failed: 1, OldestPending: firstEvent}
		if !b.Webhooks.OldestPending.Equal(want.OldestPending) {
			t.Errorf("oldest pending %v, want %v", b.Webhooks.OldestPending, want.OldestPending)
		}
		b.Webhooks.OldestPending, want.OldestPending = time.Time{}, time.Time{}
		if b.Webhooks != want {
			t.Errorf("webhooks %+v, want %+v", b.Webhooks, want)
		}

		// Closing: the read's state plans what NextAutoClose plans.
		if _, err := (&closing.Service{Store: s}).Close(ctx, closing.CloseInput{Cycle: callbill.NewCycle(2026, time.October)}); err != nil {
			t.Fatal(err)
		}
		b, err = s.Backlog(ctx, kinds)
		if err != nil {
			t.Fatal(err)
		}
		plan, err := (&closing.Service{Store: s}).NextAutoClose(ctx)
		if err != nil {
			t.Fatal(err)
		}
		got := closing.PlanAutoClose(b.At, b.Close)
		if b.Close.Closed != callbill.NewCycle(2026, time.October) || b.Close.Accounts != 1 ||
			got.Cycle != plan.Cycle || got.From != plan.From || !got.At.Equal(plan.At) || !got.DueSince().Equal(plan.DueSince()) {
			t.Errorf("close state %+v plans %+v, NextAutoClose %+v", b.Close, got, plan)
		}
	})
}
