package ingest

import (
	"context"
	"errors"
	"sort"

	"github.com/callbill/callbill"
)

// errReplan says a batch rated ahead cannot be written as it is: the state
// it was rated from changed (another writer, a world apply, a close).
var errReplan = errors.New("the batch must be rated again")

func (im *importer) pipeline(ctx context.Context, batches <-chan decoded) error {
	// Statements run to the end once started: a cancellable context would
	// make the driver watch each one from a goroutine of its own.
	wctx := context.WithoutCancel(ctx)
	type flight struct {
		w    *work
		d    decoded // the batch as decoded: its rows, the decoder's rejects, the rows as read
		read int64
		done chan error
	}
	var prev *flight
	var read int64
	// land waits for the batch in flight and records it; a batch that could
	// not be written as rated is done again in sequence.
	land := func() error {
		if prev == nil {
			return nil
		}
		err := <-prev.done
		if errors.Is(err, errReplan) || errors.Is(err, ErrStoredBefore) {
			// Rated ahead of state that no longer holds, or it holds calls
			// stored before (then look every row up straight away).
			im.rater = nil
			w := &work{rows: prev.w.rows}
			err = im.batch(wctx, w, errors.Is(err, ErrStoredBefore))
			prev.w = w
		}
		if err != nil {
			return err
		}
		im.notify(ctx, prev.w)
		if err := im.merge(&prev.d, &prev.w.rep); err != nil {
			return err
		}
		if im.opts.Progress != nil {
			im.opts.Progress(prev.read)
		}
		prev = nil
		return nil
	}
	for d := range batches {
		if err := ctx.Err(); err != nil {
			land()
			return err
		}
		if d.err != nil {
			land()
			return d.err
		}
		read += d.read
		if len(d.rows) == 0 {
			// Only bad rows: they follow the batch in flight.
			if err := land(); err != nil {
				return err
			}
			if err := im.merge(&d, &batchReport{}); err != nil {
				return err
			}
			continue
		}
		// Rate batch N+1 while batch N is being written.
		var w *work
		if im.rater != nil {
			w = im.rateAhead(d.rows, nil)
		}
		if err := land(); err != nil {
			return err
		}
		if im.rater == nil || (w != nil && w.gen != im.gen) {
			// No trusted state (first batch, or the last one was redone):
			// read everything once, then rate.
			if err := im.loadAll(wctx); err != nil {
				return err
			}
			w = im.rateAhead(d.rows, nil)
		}
		f := &flight{w: w, d: d, read: read, done: make(chan error, 1)}
		go func() { f.done <- im.commitAhead(wctx, f.w) }()
		prev = f
	}
	return land()
}

// loadAll reads the world and every account's rating state.
func (im *importer) loadAll(ctx context.Context) error {
	return im.sess.Read(ctx, func(tx Tx) error {
		im.rater = nil
		if err := im.prepareRater(ctx, tx); err != nil {
			return err
		}
		all := make([]string, 0, len(im.rater.Instances))
		seen := map[string]bool{}
		for _, inst := range im.rater.Instances {
			if !seen[inst.Account] {
				seen[inst.Account] = true
				all = append(all, inst.Account)
			}
		}
		sort.Strings(all)
		return im.loadState(ctx, tx, all)
	})
}

// rateAhead screens and rates a batch (a Group round's requests, or nil)
// on the in-memory state, noting the touched accounts' state first.
func (im *importer) rateAhead(rows []pending, reqs []*groupRequest) *work {
	w := &work{rows: rows, gen: im.gen, closed: im.rater.ClosedThrough, reqs: reqs}
	im.screen(w)
	w.start = im.rater.State(w.accounts)
	im.rate(w)
	return w
}

// commitAhead writes a batch rated ahead, if the state it was rated from
// still holds under the accounts' locks; otherwise it rolls back with
// errReplan and leaves the batch to be done again.
func (im *importer) commitAhead(ctx context.Context, w *work) error {
	err := im.sess.Write(ctx, func(tx Tx) error {
		gen, err := tx.Generation(ctx)
		if err != nil {
			return err
		}
		if gen != w.gen {
			return errReplan // a world apply or a close came in between
		}
		if err := tx.LockAccounts(ctx, w.accounts); err != nil {
			return err
		}
		st, err := tx.RatingState(ctx, w.accounts, w.closed)
		if err != nil {
			return err
		}
		if !sameState(st, w.start) {
			return errReplan
		}
		return im.store(ctx, tx, w)
	})
	if errors.Is(err, ErrRetry) {
		return errReplan
	}
	return err // errReplan, ErrStoredBefore or a failure
}

// sameState reports whether two states agree; a platform count of zero is
// the same as none.
func sameState(a, b callbill.RaterState) bool {
	for k, v := range a.PlatformUsed {
		if v != 0 && b.PlatformUsed[k] != v {
			return false
		}
	}
	for k, v := range b.PlatformUsed {
		if v != 0 && a.PlatformUsed[k] != v {
			return false
		}
	}
	if len(a.Packages) != len(b.Packages) {
		return false
	}
	left := make(map[string]int64, len(b.Packages))
	for _, p := range b.Packages {
		left[p.ID] = p.Remaining
	}
	for _, p := range a.Packages {
		if left[p.ID] != p.Remaining {
			return false
		}
	}
	return true
}

// batch imports one batch in sequence, in its own transaction: unless
// careful, first rating every row as new, and if the database already holds
// one of them, again the careful way, looking every row up.
func (im *importer) batch(ctx context.Context, w *work, careful bool) error {
	tries := 0
	rows := w.rows
	for ; ; careful = true {
		*w = work{rows: rows}
		err := im.sess.Write(ctx, func(tx Tx) error { return im.sequential(ctx, tx, w, careful) })
		im.rater = nil // it holds only this batch's accounts now (or a rolled-back batch)
		if errors.Is(err, ErrStoredBefore) && !careful {
			continue
		}
		if errors.Is(err, ErrRetry) && tries < 5 { // lost a race with another writer: again, carefully
			tries++
			continue
		}
		return err
	}
}

// sequential dedupes, rates and writes one batch inside tx, reading the
// state of its accounts under their locks. careful looks every row up before
// rating; otherwise a row stored before fails the write with ErrStoredBefore.
func (im *importer) sequential(ctx context.Context, tx Tx, w *work, careful bool) error {
	if err := im.prepareRater(ctx, tx); err != nil {
		return err
	}
	im.screen(w)
	if len(w.cand) == 0 {
		return nil
	}
	if err := tx.LockAccounts(ctx, w.accounts); err != nil {
		return err
	}
	if err := im.loadState(ctx, tx, w.accounts); err != nil {
		return err
	}
	// Under the accounts' locks nobody else stores their calls, so what the
	// careful path looks up stays true until the batch commits.
	if careful {
		if err := im.filterStored(ctx, tx, w); err != nil {
			return err
		}
	}
	im.rate(w)
	return im.store(ctx, tx, w)
}

// prepareRater (re)loads the world when a world apply or a close changed it
// since (the generation differs); imports do not change it.
func (im *importer) prepareRater(ctx context.Context, tx Tx) error {
	gen, err := tx.Generation(ctx)
	if err != nil {
		return err
	}
	if im.rater != nil && gen == im.gen {
		return nil
	}
	r, err := tx.Rater(ctx)
	if err != nil {
		return err
	}
	im.rater, im.gen = r, gen
	return nil
}

// loadState loads, for the accounts a batch touches, what rating consumes.
// It is read inside the batch's transaction after the accounts are locked,
// so several importers never rate from stale state.
func (im *importer) loadState(ctx context.Context, tx Tx, accounts []string) error {
	st, err := tx.RatingState(ctx, accounts, im.rater.ClosedThrough)
	if err != nil {
		return err
	}
	im.rater.Load(st)
	return nil
}

// store writes a rated batch in tx, its calls recorded as their import's: a
// file's running import, or for a Group's round each request's, whose
// records are written here, with their counts, so that they exist exactly
// when the round committed. A batch of no call writes no call.
func (im *importer) store(ctx context.Context, tx Tx, w *work) error {
	ids := []int64{0}
	if w.reqs != nil {
		recs := roundRecords(w)
		if err := tx.AddImports(ctx, recs); err != nil {
			return err
		}
		ids = make([]int64, len(recs))
		for k, r := range recs {
			ids[k] = r.ID
		}
	} else if im.rec != nil {
		ids[0] = im.rec.ID
	}
	if w.rated == nil || w.rated.Calls.Len() == 0 {
		return nil
	}
	w.rated.Imports, w.rated.Running = ids, w.reqs == nil
	if err := tx.StoreBatch(ctx, w.rated); err != nil {
		return err
	}
	if err := release(ctx, tx, w); err != nil {
		return err
	}
	w.rep.imported = int64(w.rated.Calls.Len())
	return nil
}
