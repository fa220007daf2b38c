package ingest_test

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/callbill/callbill"
	"github.com/callbill/callbill/ingest"
)

func run(t *testing.T, f *fakeStore, opts callbill.ImportOptions, cdrs ...callbill.CDR) (*callbill.ImportReport, []callbill.Reject) {
	t.Helper()
	var seen []callbill.Reject
	opts.OnReject = func(r callbill.Reject) error {
		seen = append(seen, r)
		return nil
	}
	rep, err := (&ingest.Service{Store: f}).Import(context.Background(), ingest.Input{Source: &rows{cdrs: cdrs}, ImportOptions: opts})
	if err != nil {
		t.Fatal(err)
	}
	return rep, seen
}

func counts(rep *callbill.ImportReport) [4]int64 {
	return [4]int64{rep.Imported, rep.Duplicates, rep.Rejected, rep.Conflicts}
}

const conflictReason = "conflict: contact c1 on instance i-1 was imported before with different content; the first stays"

func TestDuplicateOrConflictInOneBatch(t *testing.T) {
	f := newFakeStore()
	first := call("c1", numTP, 0, 60)
	other := first
	other.End += 60
	rep, rejects := run(t, f, callbill.ImportOptions{}, first, first, other)
	if got := counts(rep); got != [4]int64{1, 1, 1, 1} {
		t.Errorf("imported, duplicates, rejected, conflicts = %v, want [1 1 1 1]", got)
	}
	want := []callbill.Reject{{Pos: callbill.Pos{Line: 4}, Reason: conflictReason, Conflict: true}}
	if !reflect.DeepEqual(rejects, want) || !reflect.DeepEqual(rep.Rejects, want) {
		t.Errorf("rejects %+v, reported %+v, want %+v", rejects, rep.Rejects, want)
	}
	if got := f.db.calls[ingest.Identity{Instance: inst, Contact: "c1"}]; got.End != first.End {
		t.Errorf("stored %+v, want the first", got.CDR)
	}
}

func TestStoredBeforeIsDuplicateOrConflict(t *testing.T) {
	f := newFakeStore()
	first := call("c1", numTP, 0, 60)
	if rep, _ := run(t, f, callbill.ImportOptions{}, first, call("c2", numTP, 1, 60)); rep.Imported != 2 {
		t.Fatalf("first import: %+v", rep)
	}
	// Rated as new first, the batch meets calls stored before and is done
	// again looking every row up.
	other := call("c2", numTP, 1, 120)
	rep, rejects := run(t, f, callbill.ImportOptions{}, first, other, call("c3", numTP, 2, 60))
	if got := counts(rep); got != [4]int64{1, 1, 1, 1} {
		t.Errorf("imported, duplicates, rejected, conflicts = %v, want [1 1 1 1]", got)
	}
	if f.storedBefore != 1 {
		t.Errorf("%d batches refused as stored before, want 1", f.storedBefore)
	}
	if len(rejects) != 1 || rejects[0].Pos.Line != 3 || !rejects[0].Conflict {
		t.Errorf("rejects %+v, want the conflict on line 3", rejects)
	}
	if len(f.db.calls) != 3 || f.db.calls[ingest.Identity{Instance: inst, Contact: "c2"}].End != call("c2", numTP, 1, 60).End {
		t.Errorf("stored %d calls; c2 must stay as first imported", len(f.db.calls))
	}
	if used := f.db.used[callbill.AccountCycle{Account: acct, Cycle: callbill.NewCycle(2026, time.October)}]; used != 3 {
		t.Errorf("platform minutes used %d, want 3 (the conflict and the duplicate count none)", used)
	}
}

func TestRejectsInInputOrderAcrossBatches(t *testing.T) {
	f := newFakeStore()
	unknown := call("c2", numTP, 0, 60)
	unknown.InstanceID = "i-x"
	rep, rejects := run(t, f, callbill.ImportOptions{BatchSize: 2},
		call("c1", numTP, 0, 60), unknown, callbill.CDR{}, call("c4", "02199999999", 0, 60), callbill.CDR{})
	want := []callbill.Reject{
		{Pos: callbill.Pos{Line: 3}, Reason: `unknown instance "i-x"`},
		{Pos: callbill.Pos{Line: 4}, Reason: "bad row"},
		{Pos: callbill.Pos{Line: 5}, Reason: `unknown service number "02199999999" on instance i-1`},
		{Pos: callbill.Pos{Line: 6}, Reason: "bad row"},
	}
	if !reflect.DeepEqual(rejects, want) || !reflect.DeepEqual(rep.Rejects, want) {
		t.Errorf("rejects %+v\nreported %+v\nwant %+v", rejects, rep.Rejects, want)
	}
	if got := counts(rep); got != [4]int64{1, 0, 4, 0} {
		t.Errorf("imported, duplicates, rejected, conflicts = %v, want [1 0 4 0]", got)
	}
}

func TestRateAgainWhenStateChanged(t *testing.T) {
	f := newFakeStore()
	oct := callbill.AccountCycle{Account: acct, Cycle: callbill.NewCycle(2026, time.October)}
	// The batch is rated ahead on no minutes used; before it is written
	// another writer takes the account to 199,999 minutes.
	// (The first write transaction is the import's record.)
	f.beforeWrite = func(*state) { f.beforeWrite = func(db *state) { db.used[oct] = 199_999 } }
	rep, _ := run(t, f, callbill.ImportOptions{}, call("c1", numTP, 0, 180))
	if rep.Imported != 1 {
		t.Fatalf("report %+v", rep)
	}
	if f.writes != 4 {
		t.Errorf("%d write transactions, want 4 (the record, refused, then rated again, the record's end)", f.writes)
	}
	got := f.db.calls[ingest.Identity{Instance: inst, Contact: "c1"}].Bands
	if want := []callbill.BandUse{{Band: 1, Minutes: 1, Micro: 49_900}, {Band: 2, Minutes: 2, Micro: 44_900}}; !reflect.DeepEqual(got, want) {
		t.Errorf("bands %+v, want %+v (rated on the state written meanwhile)", got, want)
	}
	if f.db.used[oct] != 200_002 {
		t.Errorf("platform minutes used %d, want 200002", f.db.used[oct])
	}
}

func TestStrictImportsNothingWhenARowIsRejected(t *testing.T) {
	f := newFakeStore()
	rep, rejects := run(t, f, callbill.ImportOptions{Strict: true, BatchSize: 1}, call("c1", numTP, 0, 60), callbill.CDR{})
	if got := counts(rep); got != [4]int64{0, 0, 1, 0} || len(rejects) != 1 {
		t.Errorf("imported, duplicates, rejected, conflicts = %v, rejects %+v", got, rejects)
	}
	if len(f.db.calls) != 0 || len(f.db.used) != 0 {
		t.Errorf("strict import kept %d calls", len(f.db.calls))
	}
	rep, _ = run(t, f, callbill.ImportOptions{Strict: true}, call("c1", numTP, 0, 60))
	if rep.Imported != 1 || len(f.db.calls) != 1 {
		t.Errorf("strict import of good rows: %+v", rep)
	}
}

func TestInputNeedsASource(t *testing.T) {
	_, err := (&ingest.Service{Store: newFakeStore()}).Import(context.Background(), ingest.Input{})
	if callbill.ErrorCode(err) != callbill.EINVALID {
		t.Errorf("err %v, want EINVALID", err)
	}
}

// TestBatchBoundariesDoNotChangeTheOutcome: a row repeating an identity is
// judged as it would be in a batch of its own — after a rejected row (which
// takes no identity), and after a row that turns out stored before (against
// the stored call) — so every batch size gives the same counts and stores
// the same calls.
func TestBatchBoundariesDoNotChangeTheOutcome(t *testing.T) {
	stored := call("s1", numTP, 0, 60)
	bad := call("x1", "02199999999", 1, 60) // not a number of the instance
	good := call("x1", numTP, 1, 60)        // the same identity, corrected
	changed := stored
	changed.End += 60 // conflicts with the stored call
	rows := []callbill.CDR{bad, good, changed, changed, stored, good}
	var want [4]int64
	var wantCalls map[ingest.Identity]int64
	for _, size := range []int{1, 2, 3, 1000} {
		f := newFakeStore()
		if rep, _ := run(t, f, callbill.ImportOptions{}, stored); rep.Imported != 1 {
			t.Fatalf("first import: %+v", rep)
		}
		rep, _ := run(t, f, callbill.ImportOptions{BatchSize: size}, rows...)
		got := counts(rep)
		calls := map[ingest.Identity]int64{}
		for id, c := range f.db.calls {
			calls[id] = c.End - c.Start
		}
		if size == 1 {
			want, wantCalls = got, calls
			// bad rejected; good imported; changed twice a conflict; stored
			// and good again duplicates.
			if want != [4]int64{1, 2, 3, 2} {
				t.Errorf("batch size 1: imported, duplicates, rejected, conflicts = %v, want [1 2 3 2]", want)
			}
			continue
		}
		if got != want || !reflect.DeepEqual(calls, wantCalls) {
			t.Errorf("batch size %d: %v and calls %v, batch size 1: %v and %v", size, got, calls, want, wantCalls)
		}
	}
}

// A file import is recorded running before its first batch, each batch
// names it, and it ends done with its counts — or failed, with what it
// committed, when it stops on an error.
func TestImportRecord(t *testing.T) {
	f := newFakeStore()
	rep, err := (&ingest.Service{Store: f}).Import(context.Background(), ingest.Input{
		Source: &rows{cdrs: []callbill.CDR{call("c1", numTP, 0, 60), call("c1", numTP, 0, 60), {}}}, Sources: []string{"a.csv"}, By: "cli:me@here"})
	if err != nil {
		t.Fatal(err)
	}
	rec := f.db.imports[rep.Import]
	if rec.Status != callbill.ImportDone || rec.Imported != 1 || rec.Duplicates != 1 || rec.Rejected != 1 ||
		!reflect.DeepEqual(rec.Sources, []string{"a.csv"}) || rec.By != "cli:me@here" {
		t.Errorf("record %+v", rec)
	}
	if f.db.owner[ingest.Identity{Instance: inst, Contact: "c1"}] != rep.Import {
		t.Errorf("the call is not the import's: %+v", f.db.owner)
	}
	stop := errors.New("the rejects file cannot be written")
	_, err = (&ingest.Service{Store: f}).Import(context.Background(), ingest.Input{
		Source:        &rows{cdrs: []callbill.CDR{call("c2", numTP, 1, 60), {}, call("c3", numTP, 2, 60)}},
		ImportOptions: callbill.ImportOptions{BatchSize: 1, OnReject: func(callbill.Reject) error { return stop }}})
	if !errors.Is(err, stop) {
		t.Fatalf("err %v", err)
	}
	if rec := f.db.imports[2]; rec.Status != callbill.ImportFailed || rec.Imported != 1 {
		t.Errorf("failed import's record %+v", rec)
	}
}

// A batch may not outgrow the 20 bits of a call's place in its batch
// sequence: a larger --batch is refused before anything is read or written.
func TestBatchSizeBounded(t *testing.T) {
	f := newFakeStore()
	_, err := (&ingest.Service{Store: f}).Import(context.Background(), ingest.Input{
		Source:        &rows{cdrs: []callbill.CDR{call("c1", numTP, 0, 60)}},
		ImportOptions: callbill.ImportOptions{BatchSize: ingest.MaxBatchRows + 1}})
	if callbill.ErrorCode(err) != callbill.EINVALID || len(f.db.calls) != 0 || len(f.db.imports) != 0 {
		t.Fatalf("err %v, %d calls, %d imports", err, len(f.db.calls), len(f.db.imports))
	}
	if _, err := (&ingest.Service{Store: f}).Import(context.Background(), ingest.Input{
		Source:        &rows{cdrs: []callbill.CDR{call("c1", numTP, 0, 60)}},
		ImportOptions: callbill.ImportOptions{BatchSize: ingest.MaxBatchRows}}); err != nil {
		t.Fatal(err)
	}
}
