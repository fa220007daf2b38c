package budget

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/callbill/callbill"
)

// Watcher evaluates budgets at import time. Its Committed is the import's
// hook (ingest.Service.Committed): called after each batch's transaction
// commits, with the accounts it stored calls for, it only notes them and
// wakes the watcher's goroutine (Run), so an import never waits for an
// evaluation and never fails for one. The goroutine keeps in memory which
// accounts have budgets — read again when BudgetsVersion moves — so the
// accounts without any cost a map look-up; it evaluates the others, all
// those noted since its last round together (a short queue that coalesces
// the batches of a file and the rounds of the stream).
//
// A failed evaluation is logged and counted, and its accounts are noted
// again for the next import's round; the periodic Pass catches whatever is
// still missed (a process that died between commit and evaluation), since
// those accounts' marks are stale.
type Watcher struct {
	Service *Service
	Log     *slog.Logger
	// OnFailure, when set, is told of each failed evaluation (a metric).
	OnFailure func()
	// OnFired, when set, is told of each alert fired (a metric).
	OnFired func(n int)

	mu      sync.Mutex
	pending map[string]bool
	wake    chan struct{}
	idle    *sync.Cond // signalled when a round ends
	busy    bool

	version int64           // BudgetsVersion the set below was read at
	have    map[string]bool // the accounts with budgets in force; nil until read
	failed  atomic.Int64
}

// NewWatcher returns a watcher on svc; run its goroutine with Run (serve),
// or call Flush after an import (the command line).
func NewWatcher(svc *Service, log *slog.Logger) *Watcher {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	w := &Watcher{Service: svc, Log: log, pending: map[string]bool{}, wake: make(chan struct{}, 1)}
	w.idle = sync.NewCond(&w.mu)
	return w
}

// Committed notes the accounts a committed batch stored calls for. It
// does no I/O and never blocks on an evaluation.
func (w *Watcher) Committed(_ context.Context, accounts []string) {
	if len(accounts) == 0 {
		return
	}
	w.mu.Lock()
	for _, a := range accounts {
		w.pending[a] = true
	}
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// Failures returns how many evaluations failed since the watcher started.
func (w *Watcher) Failures() int64 { return w.failed.Load() }

// Gap is the least time between the starts of two rounds of Run; a round
// that took longer than Gap is followed by as long a pause.
const Gap = 200 * time.Millisecond

// Run evaluates what Committed notes until ctx ends. The batches of a
// large file commit every few hundred milliseconds, each with most
// accounts: a round after each would keep a core busy beside the import.
// So rounds are Gap apart at least and busy half the time at most, which
// keeps an alert within a second of the commit that crossed it while the
// notes of the commits in between are evaluated together.
func (w *Watcher) Run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-w.wake:
		}
		start := time.Now()
		w.safeRound(ctx)
		took := time.Since(start)
		select {
		case <-ctx.Done():
			return
		case <-time.After(max(Gap, 2*took) - took):
		}
	}
}

// safeRound is a round whose panic (a bug) is logged and counted like a
// failure, so that the goroutine goes on; its accounts wait for the pass.
func (w *Watcher) safeRound(ctx context.Context) {
	defer func() {
		if p := recover(); p != nil {
			w.mu.Lock()
			w.busy = false
			w.idle.Broadcast()
			w.mu.Unlock()
			w.Log.Error("budget evaluation panicked", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			w.fail("budget evaluation", errors.New("panic"), nil)
		}
	}()
	w.round(ctx)
}

// Flush evaluates what Committed noted, in the caller, and then runs a
// Pass; it returns the first failure (already logged and counted). The
// command line calls it once its import is done.
func (w *Watcher) Flush(ctx context.Context) error {
	err := w.round(ctx)
	if perr := w.Pass(ctx); perr != nil && err == nil {
		err = perr
	}
	return err
}

// Pass runs the periodic pass (Service.Pass), logging and counting what
// it fired and a failure; the worker calls it every PassEvery.
func (w *Watcher) Pass(ctx context.Context) error {
	rep, err := w.Service.Pass(ctx)
	if rep != nil {
		w.fired(rep.Fired)
	}
	if err != nil {
		w.fail("budget pass", err, nil)
	}
	return err
}

// fired logs and counts alerts fired.
func (w *Watcher) fired(alerts []callbill.BudgetAlert) {
	if len(alerts) == 0 {
		return
	}
	if w.OnFired != nil {
		w.OnFired(len(alerts))
	}
	for _, a := range alerts {
		w.Log.Info("budget threshold crossed", "account", a.Budget.Account, "budget", a.Budget.ID, "cycle", a.Cycle.String(),
			"threshold", a.Threshold, "actual", FormatAmount(a.Budget.Measure, a.Actual))
	}
}

// Wait waits until no round is running and nothing is noted (tests,
// shutdown), or ctx ends.
func (w *Watcher) Wait(ctx context.Context) error {
	stop := context.AfterFunc(ctx, func() {
		w.mu.Lock()
		w.idle.Broadcast()
		w.mu.Unlock()
	})
	defer stop()
	w.mu.Lock()
	defer w.mu.Unlock()
	for (w.busy || len(w.pending) > 0) && ctx.Err() == nil {
		w.idle.Wait()
	}
	return ctx.Err()
}

// round evaluates the accounts noted so far that have budgets.
func (w *Watcher) round(ctx context.Context) error {
	w.mu.Lock()
	for w.busy { // Flush beside Run: one round at a time
		w.idle.Wait()
	}
	w.busy = true
	noted := w.pending
	w.pending = map[string]bool{}
	w.mu.Unlock()
	var accts []string
	err := w.refresh(ctx)
	if err == nil {
		for a := range noted {
			if w.have[a] {
				accts = append(accts, a)
			}
		}
		if len(accts) > 0 {
			slices.Sort(accts)
			var rep *EvalReport
			rep, err = w.Service.Evaluate(ctx, accts)
			if rep != nil {
				w.fired(rep.Fired)
			}
		}
	}
	w.mu.Lock()
	if err != nil && ctx.Err() == nil {
		// Again at the next import's round (and by the pass meanwhile).
		for a := range noted {
			w.pending[a] = true
		}
	}
	w.busy = false
	w.idle.Broadcast()
	w.mu.Unlock()
	if err != nil {
		w.fail("budget evaluation", err, accts)
	}
	return err
}

// refresh reads which accounts have budgets when BudgetsVersion moved.
func (w *Watcher) refresh(ctx context.Context) error {
	v, err := w.Service.Store.BudgetsVersion(ctx)
	if err != nil {
		return err
	}
	if w.have != nil && v == w.version {
		return nil
	}
	bs, err := w.Service.List(ctx, ListInput{AllAccounts: true})
	if err != nil {
		return err
	}
	have := make(map[string]bool, len(bs))
	for _, b := range bs {
		have[b.Account] = true
	}
	w.have, w.version = have, v
	return nil
}

// fail logs and counts a failed evaluation.
func (w *Watcher) fail(what string, err error, accts []string) {
	if errors.Is(err, context.Canceled) {
		return
	}
	w.failed.Add(1)
	if w.OnFailure != nil {
		w.OnFailure()
	}
	w.Log.Error(what+" failed; retried at the next import and by the periodic pass", "accounts", len(accts), "err", err)
}

// PassEvery is how often a serving node runs the periodic pass.
const PassEvery = 10 * time.Second
