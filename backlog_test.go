package callbill

import (
	"testing"
	"time"
)

// TestBacklogAges: a queue's age is that of its oldest queued job (running
// ones do not age the queue); a delivery's age counts from its event; no
// waiting work, or a clock behind the oldest (another node's), is age 0.
func TestBacklogAges(t *testing.T) {
	now := time.Date(2026, 11, 2, 12, 0, 0, 0, time.UTC)
	b := &Backlog{At: now, Jobs: []JobBacklog{
		{Kind: JobExport, Status: JobQueued, Count: 3, Oldest: now.Add(-90 * time.Second)},
		{Kind: JobExport, Status: JobRunning, Count: 1, Oldest: now.Add(-time.Hour)},
		{Kind: JobClose, Status: JobQueued, Count: 1, Oldest: now.Add(time.Second)},
	}, Webhooks: WebhookBacklog{Pending: 0, Retrying: 2, Failed: 5, OldestPending: now.Add(-10 * time.Minute)}}
	if got := b.OldestQueued(JobExport); got != 90*time.Second {
		t.Errorf("oldest queued export %v, want 1m30s", got)
	}
	if got := b.OldestQueued(JobClose); got != 0 {
		t.Errorf("a close queued by a node whose clock is ahead: %v, want 0", got)
	}
	if got := b.OldestQueued("other"); got != 0 {
		t.Errorf("no job of the kind: %v", got)
	}
	if b.JobCount(JobExport, JobRunning) != 1 || b.JobCount(JobClose, JobRunning) != 0 {
		t.Errorf("counts %+v", b.Jobs)
	}
	if got := b.OldestPendingDelivery(); got != 10*time.Minute {
		t.Errorf("oldest pending delivery %v, want 10m", got)
	}
	// Failed deliveries wait for a replay, not for the deliverer: no age.
	b.Webhooks = WebhookBacklog{Failed: 5, OldestPending: now.Add(-time.Hour)}
	if got := b.OldestPendingDelivery(); got != 0 {
		t.Errorf("only failed deliveries: age %v", got)
	}
}
