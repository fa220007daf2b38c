package ingest_test

import (
	"testing"

	"github.com/callbill/callbill"
	"github.com/callbill/callbill/ingest"
)

// TestImportReleasesReservationsOfStoredCalls: the batch that stores a call
// deletes its reservation; a rejected row's reservation stays (its call is
// not billed), and so does one of a call not in the import.
func TestImportReleasesReservationsOfStoredCalls(t *testing.T) {
	f := newFakeStore()
	id := func(c string) ingest.Identity { return ingest.Identity{Instance: inst, Contact: c} }
	f.db.held[id("c1")], f.db.held[id("c2")], f.db.held[id("c3")] = acct, acct, acct
	negative := call("c2", numTP, 1, 60)
	negative.End = negative.Start - 1
	rep, _ := run(t, f, callbill.ImportOptions{}, call("c1", numTP, 0, 60), negative, call("c4", numCCC, 2, 60))
	if rep.Imported != 2 || rep.Rejected != 1 {
		t.Fatalf("import: %+v", rep)
	}
	if _, ok := f.db.held[id("c1")]; ok {
		t.Error("c1 was stored: its reservation must be released")
	}
	for _, c := range []string{"c2", "c3"} {
		if _, ok := f.db.held[id(c)]; !ok {
			t.Errorf("%s was not stored: its reservation must stay", c)
		}
	}
	if f.released != 2 { // c1 and c4 (which held none: deleting nothing is no error)
		t.Errorf("released %d calls, want 2", f.released)
	}
	// An account holding no reservation: one question, nothing released.
	f.db.held = map[ingest.Identity]string{}
	asked, released := f.reservedAsked, f.released
	if rep, _ := run(t, f, callbill.ImportOptions{}, call("c5", numTP, 3, 60)); rep.Imported != 1 {
		t.Fatalf("import: %+v", rep)
	}
	if f.reservedAsked != asked+1 || f.released != released {
		t.Errorf("asked %d, released %d: want one question and nothing released", f.reservedAsked-asked, f.released-released)
	}
}
