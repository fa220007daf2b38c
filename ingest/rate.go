package ingest

import (
	"context"
	"sort"

	"github.com/callbill/callbill"
)

// screen drops duplicates within the batch and the rows rating can never
// take, and finds the accounts the rest touch.
func (im *importer) screen(w *work) {
	r := im.rater
	if im.seen == nil {
		im.seen = make(map[Identity]int, len(w.rows))
	}
	seen := im.seen // kept across batches: a fresh one was a tenth of an import's garbage
	clear(seen)
	w.cand = make([]found, 0, len(w.rows))
	touched := map[string]bool{}
	for i := range w.rows {
		c := &w.rows[i].cdr
		id := Identity{c.InstanceID, c.ContactID}
		if j, ok := seen[id]; ok {
			// Judged once the first is: against what it turns out to be
			// (itself, or a call stored before), as in a later batch.
			w.followers = append(w.followers, follower{row: i, first: j})
			continue
		}
		inst, num, err := r.Lookup(c)
		if err != nil {
			// A rejected row takes no identity: a later row with it is
			// judged on its own, wherever the batch ends.
			w.reject(i, callbill.ErrorMessage(err), false)
			continue
		}
		seen[id] = i
		touched[inst.Account] = true
		w.cand = append(w.cand, found{row: i, inst: inst, num: num})
	}
	w.accounts = make([]string, 0, len(touched))
	for a := range touched {
		w.accounts = append(w.accounts, a)
	}
	sort.Strings(w.accounts)
}

// filterStored drops the candidates stored before: duplicates, or
// conflicts when the content differs.
func (im *importer) filterStored(ctx context.Context, tx Tx, w *work) error {
	ids := make([]Identity, len(w.cand))
	for n, f := range w.cand {
		c := &w.rows[f.row].cdr
		ids[n] = Identity{c.InstanceID, c.ContactID}
	}
	stored, err := tx.Stored(ctx, ids)
	if err != nil {
		return err
	}
	fresh := w.cand[:0:0]
	for n, f := range w.cand {
		if old, ok := stored[ids[n]]; ok {
			w.dupOrConflict(f.row, &old)
			if w.storedAs == nil {
				w.storedAs = map[int]*callbill.CDR{}
			}
			w.storedAs[f.row] = &old
			continue
		}
		fresh = append(fresh, f)
	}
	w.cand = fresh
	return nil
}

// rate rates the candidates in input order on the rater's state, adds them
// to the batch's aggregates, hands them to the store's packing, and takes
// the state the batch changed. Nothing per call outlives it but what the
// packing keeps.
func (im *importer) rate(w *work) {
	w.judgeFollowers()
	r := im.rater
	// About one aggregate per three calls in a file's batch: sized so, the
	// map is not rebuilt as it grows.
	b := &Rated{Calls: im.calls(len(w.cand)), Agg: make(map[callbill.AggKey]*callbill.AggValue, len(w.cand)/3),
		Rec: map[callbill.RecKey]int64{}}
	call := new(callbill.Call) // one for the batch: Add does not keep it
	stored := make(map[string]struct{}, len(w.accounts))
	w.stored, w.insts = make([]int32, 0, len(w.cand)), r.Instances
	for _, f := range w.cand {
		row := &w.rows[f.row]
		var err error
		*call, err = r.RateFound(&row.cdr, f.inst, f.num)
		if err != nil { // screen let it through, so this does not happen; still, never lose a row
			w.reject(f.row, callbill.ErrorMessage(err), false)
			continue
		}
		call.Aggregate(b.Agg)
		if n := call.StoredBytes(); n > 0 {
			b.Rec[callbill.RecKey{Account: call.Account, StartCycle: call.StartCycle, Instance: call.InstanceID}] += n
		}
		if b.MinCycle == 0 || call.Cycle < b.MinCycle {
			b.MinCycle = call.Cycle
		}
		part := 0
		if w.reqs != nil {
			part = row.pos.File // a Group round's: the request's
		}
		b.Calls.Add(call, part)
		stored[call.Account] = struct{}{}
		w.stored = append(w.stored, int32(f.row))
	}
	b.Accounts = make([]string, 0, len(stored))
	for a := range stored {
		b.Accounts = append(b.Accounts, a)
	}
	sort.Strings(b.Accounts)
	b.Changes = r.Changes()
	b.Calls.Seal()
	w.rated, w.cand = b, nil // the packing keeps what storing needs
}

// judgeFollowers judges the rows that repeat an identity earlier in the
// batch against what the first became: the call stored before when the
// first was found stored, else the first itself. So a row is a duplicate or
// a conflict exactly as it would be in a batch of its own.
func (w *work) judgeFollowers() {
	for _, f := range w.followers {
		first := w.storedAs[f.first]
		if first == nil {
			first = &w.rows[f.first].cdr
		}
		w.dupOrConflict(f.row, first)
	}
	w.followers, w.storedAs = nil, nil
}
