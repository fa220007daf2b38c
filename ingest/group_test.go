package ingest_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/callbill/callbill"
	"github.com/callbill/callbill/cdr"
	"github.com/callbill/callbill/ingest"
)

// send imports cdrs through g as one request and returns its report and
// the rejects it was told of.
func send(t *testing.T, g *ingest.Group, cdrs ...callbill.CDR) (*callbill.ImportReport, []callbill.Reject) {
	t.Helper()
	var seen []callbill.Reject
	rep, err := g.Import(context.Background(), ingest.Input{Source: &rows{cdrs: cdrs}, ImportOptions: callbill.ImportOptions{
		OnReject: func(r callbill.Reject) error { seen = append(seen, r); return nil }}})
	if err != nil {
		t.Error(err)
		return nil, nil
	}
	return rep, seen
}

// Requests that arrive while a round is being written are written together
// in the next one, and each is answered with its own counts and lines.
func TestGroupCommitsWaitingRequestsTogether(t *testing.T) {
	f := newFakeStore()
	f.gate = make(chan struct{})
	g := (&ingest.Service{Store: f}).NewGroup(0)
	defer g.Close()

	first := make(chan *callbill.ImportReport)
	go func() { r, _ := send(t, g, call("c1", numTP, 0, 60)); first <- r }()
	for f.atGate.Load() != 1 { // the first round has taken it and waits at the gate
		time.Sleep(time.Millisecond)
	}
	c2 := call("c2", numTP, 1, 60)
	changed := c2
	changed.End += 60
	unknown := call("c9", "02199999999", 0, 60)
	requests := [][]callbill.CDR{
		{c2, call("c3", numCCC, 2, 60)},
		{callbill.CDR{}, c2, unknown},       // a bad row, a duplicate of the request before, an unknown number
		{call("c4", numTP, 3, 60), changed}, // a conflict with the first request of its round
	}
	reps := make([]*callbill.ImportReport, len(requests))
	rejects := make([][]callbill.Reject, len(requests))
	var wg sync.WaitGroup
	for k := range requests {
		wg.Add(1)
		go func() {
			defer wg.Done()
			reps[k], rejects[k] = send(t, g, requests[k]...)
		}()
		for g.Waiting() < 2*(k+1) { // queued in this order
			time.Sleep(time.Millisecond)
		}
	}
	f.gate <- struct{}{} // the first round
	if r := <-first; r == nil || counts(r) != [4]int64{1, 0, 0, 0} {
		t.Fatalf("first request: %+v", r)
	}
	f.gate <- struct{}{} // every other request in one round
	wg.Wait()
	if f.writes != 2 {
		t.Errorf("%d write transactions, want 2", f.writes)
	}
	want := [][4]int64{{2, 0, 0, 0}, {0, 1, 2, 0}, {1, 0, 1, 1}}
	for k := range requests {
		if reps[k] == nil || counts(reps[k]) != want[k] {
			t.Errorf("request %d: %+v, want %v", k, reps[k], want[k])
		}
	}
	wantRejects := [][]callbill.Reject{nil,
		{{Pos: callbill.Pos{Line: 2}, Reason: "bad row"}, {Pos: callbill.Pos{Line: 4}, Reason: `unknown service number "02199999999" on instance i-1`}},
		{{Pos: callbill.Pos{Line: 3}, Reason: "conflict: contact c2 on instance i-1 was imported before with different content; the first stays", Conflict: true}},
	}
	for k := range requests {
		if !reflect.DeepEqual(rejects[k], wantRejects[k]) || (reps[k] != nil && !reflect.DeepEqual(reps[k].Rejects, wantRejects[k])) {
			t.Errorf("request %d rejects %+v, want %+v", k, rejects[k], wantRejects[k])
		}
	}
	if len(f.db.calls) != 4 {
		t.Errorf("%d calls stored, want 4", len(f.db.calls))
	}
	// Each request is an import of its own, recorded with its counts, and
	// its calls are its own.
	for k := range requests {
		if reps[k] == nil {
			continue
		}
		rec := f.db.imports[reps[k].Import]
		if got := [4]int64{rec.Imported, rec.Duplicates, rec.Rejected, rec.Conflicts}; got != want[k] || rec.Status != callbill.ImportDone {
			t.Errorf("request %d: record %+v, want counts %v", k, rec, want[k])
		}
	}
	if len(f.db.imports) != 4 || reps[0] == nil || reps[2] == nil ||
		f.db.owner[ingest.Identity{Instance: inst, Contact: "c3"}] != reps[0].Import ||
		f.db.owner[ingest.Identity{Instance: inst, Contact: "c4"}] != reps[2].Import {
		t.Errorf("records %+v, owners %+v", f.db.imports, f.db.owner)
	}
}

// The warm rater never rates from stale state: another writer's change is
// found under the locks, the round is rated again, and the next round rates
// ahead on the state read back.
func TestGroupRatesAgainWhenStateChanged(t *testing.T) {
	f := newFakeStore()
	g := (&ingest.Service{Store: f}).NewGroup(0)
	defer g.Close()
	oct := callbill.AccountCycle{Account: acct, Cycle: callbill.NewCycle(2026, time.October)}
	if r, _ := send(t, g, call("c1", numTP, 0, 60)); r == nil || r.Imported != 1 {
		t.Fatalf("first: %+v", r)
	}
	f.beforeWrite = func(db *state) { db.used[oct] = 199_999 }
	if r, _ := send(t, g, call("c2", numTP, 1, 180)); r == nil || r.Imported != 1 {
		t.Fatalf("second: %+v", r)
	}
	got := f.db.calls[ingest.Identity{Instance: inst, Contact: "c2"}].Bands
	if want := []callbill.BandUse{{Band: 1, Minutes: 1, Micro: 49_900}, {Band: 2, Minutes: 2, Micro: 44_900}}; !reflect.DeepEqual(got, want) {
		t.Errorf("bands %+v, want %+v (rated on the state written meanwhile)", got, want)
	}
	writes := f.writes
	if r, _ := send(t, g, call("c3", numTP, 2, 60)); r == nil || r.Imported != 1 {
		t.Fatalf("third: %+v", r)
	}
	if f.writes != writes+1 || f.db.used[oct] != 200_003 {
		t.Errorf("third round: %d writes (want 1), %d minutes used (want 200003)", f.writes-writes, f.db.used[oct])
	}
}

// A request larger than a round, and a strict one, are imported on their
// own, with the rows read so far given again.
func TestGroupLargeRequestsImportAlone(t *testing.T) {
	f := newFakeStore()
	g := (&ingest.Service{Store: f}).NewGroup(2)
	defer g.Close()
	rep, rejects := send(t, g, call("c1", numTP, 0, 60), callbill.CDR{}, call("c2", numTP, 1, 60), call("c3", numTP, 2, 60), call("c1", numTP, 0, 60))
	if rep == nil || counts(rep) != [4]int64{3, 1, 1, 0} || len(rejects) != 1 || rejects[0].Pos.Line != 3 {
		t.Errorf("large request: %+v, rejects %+v", rep, rejects)
	}
	if len(f.db.calls) != 3 {
		t.Errorf("%d calls stored, want 3", len(f.db.calls))
	}
}

func TestGroupRefusesAfterClose(t *testing.T) {
	g := (&ingest.Service{Store: newFakeStore()}).NewGroup(0)
	g.Close()
	_, err := g.Import(context.Background(), ingest.Input{Source: &rows{cdrs: []callbill.CDR{call("c1", numTP, 0, 60)}}})
	if callbill.ErrorCode(err) != callbill.EUNAVAILABLE {
		t.Errorf("err %v, want EUNAVAILABLE", err)
	}
}

// A group's rejects carry their rows as read, whether the post was
// grouped or, larger than a round, imported on its own after its first
// rows were read.
func TestGroupRejectsCarryTheRowsAsRead(t *testing.T) {
	inputs, want := rejectsInputs()
	for _, maxRows := range []int{0, 2} {
		f := newFakeStore()
		g := (&ingest.Service{Store: f}).NewGroup(maxRows)
		if r, _ := send(t, g, call("c1", numTP, 0, 60)); r == nil || r.Imported != 1 {
			t.Fatalf("c1 first: %+v", r)
		}
		for k, in := range inputs {
			dec, err := cdr.NewDecoder(&once{t: t, r: strings.NewReader(in)})
			if err != nil {
				t.Fatal(err)
			}
			var got []callbill.Reject
			rep, err := g.Import(context.Background(), ingest.Input{Source: cdr.Source(dec, 0), ImportOptions: callbill.ImportOptions{
				OnReject: func(r callbill.Reject) error { got = append(got, r); return nil }}})
			if err != nil {
				t.Fatal(err)
			}
			rows := inputRows(t, in)
			var lines []int
			for _, r := range got {
				lines = append(lines, r.Line)
				if !reflect.DeepEqual(r.Fields, rows[r.Line]) {
					t.Errorf("max %d, input %d, line %d: fields %q, want %q", maxRows, k, r.Line, r.Fields, rows[r.Line])
				}
			}
			if !reflect.DeepEqual(lines, want[k]) || rep.Rejected != int64(len(want[k])) {
				t.Errorf("max %d, input %d: rejected lines %v (%d), want %v", maxRows, k, lines, rep.Rejected, want[k])
			}
		}
		g.Close()
	}
}

// Posts racing a Close are either written and answered or refused as
// unavailable; none is lost unanswered and nothing panics.
func TestGroupCloseRacesPosts(t *testing.T) {
	f := newFakeStore()
	g := (&ingest.Service{Store: f}).NewGroup(0)
	var wg sync.WaitGroup
	var mu sync.Mutex
	imported := 0
	for k := 0; k < 50; k++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rep, err := g.Import(context.Background(), ingest.Input{Source: &rows{cdrs: []callbill.CDR{call(fmt.Sprintf("r%d", k), numTP, int64(k), 60)}}})
			switch {
			case err == nil:
				mu.Lock()
				imported += int(rep.Imported)
				mu.Unlock()
			case callbill.ErrorCode(err) != callbill.EUNAVAILABLE:
				t.Errorf("post %d: %v", k, err)
			}
		}()
	}
	g.Close()
	wg.Wait()
	if len(f.db.calls) != imported {
		t.Errorf("%d calls stored, %d answered as imported", len(f.db.calls), imported)
	}
}

// A round waits for the senders the round before just answered: a request
// sent again as soon as its answer came goes in one round with the request
// that waited meanwhile, not in a round after it.
func TestGroupGathersTheSendersItAnswered(t *testing.T) {
	f := newFakeStore()
	f.gate = make(chan struct{})
	g := (&ingest.Service{Store: f}).NewGroup(0)
	ingest.SetGatherWait(g, time.Minute) // the wait ends when the sender is back, long before
	defer g.Close()
	defer close(f.gate) // first: a round left at the gate when the test fails goes through

	again := make(chan *callbill.ImportReport, 1)
	go func() { // a sender: a request, and its next as soon as it is answered
		send(t, g, call("c1", numTP, 0, 60))
		r, _ := send(t, g, call("c2", numTP, 1, 60))
		again <- r
	}()
	for f.atGate.Load() != 1 { // the first round waits at the gate
		time.Sleep(time.Millisecond)
	}
	waited := make(chan *callbill.ImportReport, 1)
	go func() { r, _ := send(t, g, call("c3", numTP, 2, 60)); waited <- r }()
	for g.Waiting() < 1 {
		time.Sleep(time.Millisecond)
	}
	f.gate <- struct{}{} // the first round: c1
	for f.atGate.Load() != 2 {
		time.Sleep(time.Millisecond)
	}
	if n := g.Waiting(); n != 0 {
		t.Fatalf("%d rows wait while the second round is written; want c2 and c3 in it", n)
	}
	f.gate <- struct{}{} // the second round: c2 and c3
	for _, ch := range []chan *callbill.ImportReport{again, waited} {
		select {
		case r := <-ch:
			if r == nil || counts(r) != [4]int64{1, 0, 0, 0} {
				t.Fatalf("report %+v", r)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("a request was not answered with the second round (%d write transactions)", f.atGate.Load())
		}
	}
	if f.writes != 2 {
		t.Errorf("%d write transactions, want 2", f.writes)
	}
}

// TestGroupKeepsItsSession: the round owner writes round after round on one
// session, so that what the session prepared stays prepared; after a round
// that failed it opens another, and Close gives it back.
func TestGroupKeepsItsSession(t *testing.T) {
	f := newFakeStore()
	g := (&ingest.Service{Store: f}).NewGroup(0)
	for i := range 3 {
		send(t, g, call(fmt.Sprintf("c%d", i), numTP, int64(i), 60))
	}
	if n := f.opened.Load(); n != 1 {
		t.Errorf("%d sessions opened for three rounds, want 1", n)
	}
	f.failWrite = errors.New("connection lost")
	if _, err := g.Import(context.Background(), ingest.Input{Source: &rows{cdrs: []callbill.CDR{call("c3", numTP, 3, 60)}}}); err == nil {
		t.Error("the round whose write failed: no error")
	}
	if rep, _ := send(t, g, call("c4", numTP, 4, 60)); rep == nil || rep.Imported != 1 {
		t.Errorf("the round after a failed one: %+v", rep)
	}
	g.Close()
	if o, c := f.opened.Load(), f.closed.Load(); o != 2 || c != 2 {
		t.Errorf("%d sessions opened and %d closed, want 2 and 2", o, c)
	}
}
