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
// shows within a second; time-based changes (a grace period, a rent running
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

// Run refreshes until ctx ends.
func (a *Authorizer) Run(ctx context.Context) {
	every := a.Every
	if every == 0 {
		every = 250 * time.Millisecond
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		// A panic keeps the last snapshot and tries again at the next tick.
		recovery.Do(a.Log, "refresh call authorization panicked", func() {
			if err := a.Refresh(ctx); err != nil && ctx.Err() == nil {
				a.Log.Error("refresh call authorization", "err", err)
			}
		})
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
