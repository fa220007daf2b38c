package worker

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/callbill/callbill"
	"github.com/callbill/callbill/internal/recovery"
)

// AuthStore is what the authorizer reads (sqlstore.Store).
type AuthStore interface {
	AuthSnapshot(ctx context.Context) (*callbill.AuthSnapshot, error)
	Changes(ctx context.Context) (string, error)
}

// Authorizer answers call authorization from memory. Run keeps its snapshot
// fresh: it polls the store's change counter every Every (250 ms by default)
// and reads a new snapshot when it moved, so a state change shows within a
// second; time-based changes (a grace period or a rent running out) are
// worked out at the moment of the question.
type Authorizer struct {
	Store AuthStore
	Every time.Duration
	Log   *slog.Logger
	Now   func() time.Time

	snap    atomic.Pointer[callbill.AuthSnapshot]
	seen    string
	version atomic.Pointer[string]
}

// Version returns the store's change counter as of the last refresh (at
// most Every old): what caches of closed bills are keyed by.
func (a *Authorizer) Version(ctx context.Context) (string, error) {
	if v := a.version.Load(); v != nil {
		return *v, nil
	}
	return a.Store.Changes(ctx)
}

// Refresh reads a new snapshot if the store changed since the last one.
func (a *Authorizer) Refresh(ctx context.Context) error {
	v, err := a.Store.Changes(ctx)
	if err != nil {
		return err
	}
	defer a.version.Store(&v)
	if v == a.seen && a.snap.Load() != nil {
		return nil
	}
	snap, err := a.Store.AuthSnapshot(ctx)
	if err != nil {
		return err
	}
	a.snap.Store(snap)
	a.seen = v
	return nil
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

// Authorize decides whether a call may start now.
func (a *Authorizer) Authorize(instance, number string, dir callbill.Direction) callbill.Decision {
	snap := a.snap.Load()
	if snap == nil {
		return callbill.Decision{Reason: "call authorization is not ready yet"}
	}
	now := time.Now()
	if a.Now != nil {
		now = a.Now()
	}
	return snap.Authorize(instance, callbill.Digits(number), dir, now)
}
