package callbill

import (
	"context"
	"time"
)

// Backlog is the work waiting in the database, read in one query for the
// metrics (docs/operations.md, "What to watch"): queued and running jobs,
// webhook deliveries not delivered yet, and where closing stands. It is
// the database's, so every node sharing one reads the same.
type Backlog struct {
	At       time.Time    // the store's clock at the read
	Jobs     []JobBacklog // by kind and status (queued, running); a group without jobs is left out
	Webhooks WebhookBacklog
	Close    CloseState
}

// JobBacklog is how many jobs of a kind are in a status, and since when
// the oldest of them was queued.
type JobBacklog struct {
	Kind   string
	Status JobStatus
	Count  int64
	Oldest time.Time // the oldest one's CreatedAt
}

// WebhookBacklog is the webhook deliveries not delivered: three disjoint
// states that add up to what is waiting.
type WebhookBacklog struct {
	Pending  int64 // pending, not attempted since queued or replayed
	Retrying int64 // pending after a failed attempt, waiting for the next (WebhookBackoff)
	Failed   int64 // failed for good (WebhookMaxAttempts), waiting for a replay; of enabled endpoints only
	// OldestPending is when the event of the oldest pending or retrying
	// delivery happened (a replayed delivery counts from its event too);
	// zero when none is.
	OldestPending time.Time
}

// CloseState is where closing stands: what the automatic close is planned
// from (closing.PlanAutoClose).
type CloseState struct {
	Closed        Cycle // the last closed cycle, 0 when none
	FirstActivity Cycle // the earliest cycle holding any call, purchase or top-up, 0 when none
	Window        Window
	Loc           *time.Location // the billing time zone
	// Accounts is how many accounts there are (nothing closes without);
	// a Backlog read only tells none (0) from some (1).
	Accounts int
}

// BacklogReader reads the Backlog (sqlstore.Store). One read is one cheap
// query: the counts of the live rows only (queued and running jobs of the
// given kinds, undelivered deliveries) and a few settings.
type BacklogReader interface {
	Backlog(ctx context.Context, jobKinds []string) (*Backlog, error)
}

// JobKinds lists every kind of job the worker runs.
var JobKinds = []string{JobExport, JobClose}

// JobStates lists the statuses of a job waiting or at work, the ones a
// Backlog counts.
var JobStates = []JobStatus{JobQueued, JobRunning}

// JobCount is how many jobs of kind are in status.
func (b *Backlog) JobCount(kind string, status JobStatus) int64 {
	for _, j := range b.Jobs {
		if j.Kind == kind && j.Status == status {
			return j.Count
		}
	}
	return 0
}

// OldestQueued is how long the oldest queued job of kind has waited; 0
// when none waits.
func (b *Backlog) OldestQueued(kind string) time.Duration {
	for _, j := range b.Jobs {
		if j.Kind == kind && j.Status == JobQueued && j.Count > 0 {
			return age(b.At, j.Oldest)
		}
	}
	return 0
}

// OldestPendingDelivery is how long ago the event of the oldest delivery
// still waiting (pending or retrying) happened; 0 when none waits.
func (b *Backlog) OldestPendingDelivery() time.Duration {
	if b.Webhooks.Pending+b.Webhooks.Retrying == 0 {
		return 0
	}
	return age(b.At, b.Webhooks.OldestPending)
}

// age is now − since, never negative (another node's clock may be ahead),
// 0 for a zero since.
func age(now, since time.Time) time.Duration {
	if since.IsZero() || !now.After(since) {
		return 0
	}
	return now.Sub(since)
}
