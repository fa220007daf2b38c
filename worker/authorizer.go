package worker

import (
	"context"
	"log/slog"
	"time"

	"github.com/callbill/callbill"
	"github.com/callbill/callbill/authz"
	"github.com/callbill/callbill/internal/recovery"
)

// Authorizer answers call authorization from memory (docs/authorization.md).
// Run keeps its snapshot fresh: every Every (250 ms by default) it reads the
// store's change counter, the live reservations and the accounts' calls
// versions, and reads again only what moved (authz.Live), so that a change
// shows within a second (later while refreshing is slow: see Run); time-based changes (a grace period, a rent running
// out, a reservation expiring) are worked out at the moment of the question.
type Authorizer struct {
	Live  *authz.Live
	Every time.Duration
	Log   *slog.Logger
	Now   func() time.Time
}

// Version returns the store's change counter as of the last refresh (at
// most Every old): what caches of closed bills are keyed by.
func (a *Authorizer) Version(ctx context.Context) (string, error) {
	if v := a.Live.Changes(); v != "" {
		return v, nil
	}
	return a.Live.Service.Store.Changes(ctx)
}

// Refresh brings the snapshot up to date.
func (a *Authorizer) Refresh(ctx context.Context) error {
	if a.Live.Now == nil && a.Now != nil {
		a.Live.Now = a.Now
	}
	return a.Live.Refresh(ctx)
}

// refreshShare bounds the share of one core that refreshing takes: after
// a refresh that took d, the next starts no sooner than refreshShare × d
// later. Under a stream of imports most accounts' calls move every tick,
// and reading all their open spends every 250 ms took a quarter of a core
// from the importing (docs/benchmarks.md, "Ingest at the limit (issue 13)").
const refreshShare = 10

// Run refreshes until ctx ends: every Every, or less often while a refresh
// is slow (at most a tenth of a core).
func (a *Authorizer) Run(ctx context.Context) {
	every := a.Every
	if every == 0 {
		every = 250 * time.Millisecond
	}
	t := time.NewTimer(every)
	defer t.Stop()
	for {
		start := time.Now()
		// A panic keeps the last snapshot and tries again at the next tick.
		recovery.Do(a.Log, "refresh call authorization panicked", func() {
			if err := a.Refresh(ctx); err != nil && ctx.Err() == nil {
				a.Log.Error("refresh call authorization", "err", err)
			}
		})
		t.Reset(max(every, refreshShare*time.Since(start)) - time.Since(start))
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Authorize decides whether a call may start now, and for how long.
func (a *Authorizer) Authorize(instance, number string, dir callbill.Direction) callbill.Decision {
	snap := a.Live.Snapshot()
	if snap == nil {
		return callbill.Decision{Reason: "call authorization is not ready yet"}
	}
	now := time.Now()
	if a.Now != nil {
		now = a.Now()
	}
	return snap.Authorize(instance, callbill.Digits(number), dir, now)
}
