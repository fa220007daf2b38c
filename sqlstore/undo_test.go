package sqlstore_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/callbill/callbill"
	"github.com/callbill/callbill/ingest"
	"github.com/callbill/callbill/sqlstore"
)

// The undo world: graduated platform bands of 100 minutes at 0.05 then
// 0.04, and 10,000-minute fixed-outbound voice packages, so that a few long
// calls cross a band and use a package up.
const undoWorld = `
prices:
  - {item: CallCenterSoftware, mode: payg, tiers: [{upto: 100, price: "0.05"}, {price: "0.04"}]}
accounts:
  - uid: "3001"
    name: 甲
    instances:
      - id: u1-p
        mode: payg
        numbers:
          - {number: "0571101", kind: fixed, source: ccc}
          - {number: "0571102", kind: fixed, source: third_party}
          - {number: "4000101", kind: "400", source: ccc, tier: 普通}
      - id: u1-s
        mode: subscription
        numbers:
          - {number: "0571103", kind: fixed, source: ccc}
  - uid: "3002"
    name: 乙
    instances:
      - id: u2-p
        mode: payg
        numbers:
          - {number: "0571201", kind: fixed, source: third_party}
          - {number: "0571202", kind: fixed, source: ccc}
  - uid: "3003"
    name: 丙
    instances:
      - id: u3-p
        mode: payg
        numbers:
          - {number: "0571301", kind: fixed, source: third_party}
topups:
  - {id: T1, account: "3001", amount: "5000.00", at: "2026-10-01T08:00:00+08:00"}
  - {id: T2, account: "3002", amount: "5000.00", at: "2026-10-01T08:00:00+08:00"}
  - {id: T3, account: "3003", amount: "100.00", at: "2026-10-01T08:00:00+08:00"}
purchases:
  - {id: P1, account: "3001", at: "2026-10-01T09:00:00+08:00", voice_package: {type: fixed_outbound, minutes: 10000}}
  - {id: P2, account: "3002", at: "2026-10-01T09:00:00+08:00", voice_package: {type: fixed_outbound, minutes: 10000}}
`

// platformCall is a third-party call of minutes platform minutes.
func platformCall(id, inst, number, start string, minutes int64) callbill.CDR {
	return call(id, inst, callbill.Inbound, number, start, minutes*60)
}

// outCall is an outbound CCC call of minutes telecom minutes.
func outCall(id, inst, number, start string, minutes int64) callbill.CDR {
	return call(id, inst, callbill.Outbound, number, start, minutes*60)
}

// undoImports are A, B and C of the golden comparison, and D, imported
// after the undo into both worlds. B takes platform minutes and package
// minutes of 3001 and 3002 in October and November, so that C's calls
// cross a band and find a package used up only because of B.
func undoImports() (a, b, c, d []callbill.CDR) {
	a = []callbill.CDR{
		platformCall("a1", "u1-p", "0571102", "2026-10-05T10:00:00+08:00", 40),
		outCall("a2", "u1-p", "0571101", "2026-10-05T11:00:00+08:00", 1000),
		outCall("a3", "u1-p", "0571101", "2026-10-05T12:00:00+08:00", 1000),
		outCall("a4", "u1-p", "0571101", "2026-10-05T13:00:00+08:00", 1000),
		platformCall("a5", "u2-p", "0571201", "2026-10-05T10:00:00+08:00", 30),
	}
	b = []callbill.CDR{
		platformCall("b1", "u1-p", "0571102", "2026-10-10T10:00:00+08:00", 80),
		outCall("b2", "u1-p", "0571101", "2026-10-10T11:00:00+08:00", 1200),
		outCall("b3", "u1-p", "0571101", "2026-10-10T12:00:00+08:00", 1200),
		outCall("b4", "u1-s", "0571103", "2026-10-10T13:00:00+08:00", 1200),
		outCall("b5", "u1-p", "0571101", "2026-10-10T14:00:00+08:00", 1200),
		outCall("b6", "u1-p", "0571101", "2026-10-10T15:00:00+08:00", 1200),
		call("b7", "u1-p", callbill.Inbound, "4000101", "2026-10-10T16:00:00+08:00", 600),
		platformCall("b8", "u1-p", "0571102", "2026-11-01T10:00:00+08:00", 50),
		platformCall("b9", "u2-p", "0571201", "2026-10-10T10:00:00+08:00", 20),
		outCall("b10", "u2-p", "0571202", "2026-10-10T11:00:00+08:00", 1300),
	}
	b[0].RecordingSeconds = 4000
	b[7].RecordingBytes = 123456
	c = []callbill.CDR{
		// October and November interleaved: a package is taken in the
		// order the calls are rated, whatever their cycle.
		platformCall("c1", "u1-p", "0571102", "2026-10-20T10:00:00+08:00", 100),
		outCall("c2", "u1-p", "0571101", "2026-11-02T11:00:00+08:00", 1000),
		outCall("c3", "u1-p", "0571101", "2026-10-20T11:00:00+08:00", 1000),
		platformCall("c4", "u1-p", "0571102", "2026-11-02T10:00:00+08:00", 60),
		outCall("c5", "u1-p", "0571101", "2026-10-20T12:00:00+08:00", 1000),
		outCall("c6", "u1-s", "0571103", "2026-10-20T13:00:00+08:00", 900),
		platformCall("c7", "u2-p", "0571201", "2026-10-20T10:00:00+08:00", 70),
		outCall("c8", "u2-p", "0571202", "2026-10-20T11:00:00+08:00", 1400),
		platformCall("c9", "u3-p", "0571301", "2026-10-20T10:00:00+08:00", 10),
	}
	c[0].RecordingSeconds = 100
	d = []callbill.CDR{
		outCall("d1", "u1-p", "0571101", "2026-11-03T11:00:00+08:00", 1400),
		platformCall("d2", "u1-p", "0571102", "2026-11-03T10:00:00+08:00", 30),
		outCall("d3", "u2-p", "0571202", "2026-10-21T11:00:00+08:00", 1400),
		platformCall("d4", "u2-p", "0571201", "2026-10-21T10:00:00+08:00", 30),
	}
	return
}

// pair runs fn against every backend with two fresh stores: the world
// where an import is undone, and the world where it never happened.
func pair(t *testing.T, fn func(t *testing.T, undone, never *sqlstore.Store)) {
	for name, open := range backends(t) {
		t.Run(name, func(t *testing.T) {
			var ss [2]*sqlstore.Store
			for i := range ss {
				ss[i] = open(t)
				ss[i].Now = func() time.Time { return time.Date(2027, 6, 1, 0, 0, 0, 0, time.UTC) }
			}
			fn(t, ss[0], ss[1])
		})
	}
}

// snapshot is everything a tenant sees of the accounts' calls: the bills of
// October and November and every call as rated (its ingest sequence left
// out: the two worlds number them differently).
func snapshot(t *testing.T, s *sqlstore.Store) string {
	t.Helper()
	var sb strings.Builder
	for _, uid := range []string{"3001", "3002", "3003"} {
		for _, cy := range []string{"2026-10", "2026-11"} {
			b, err := json.Marshal(bill(t, s, uid, cy))
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&sb, "%s %s %s\n", uid, cy, b)
			c, _ := callbill.ParseCycle(cy)
			err = s.StreamUsage(context.Background(), uid, callbill.UsageFilter{Cycle: c}, func(_ *time.Location, c *callbill.Call) error {
				fmt.Fprintf(&sb, "  %s %s late=%v covered=%d %v bands=%v charge=%d\n", c.ContactID, c.Cycle, c.Late, c.CoveredMinutes,
					c.Packages, c.Bands, c.ChargeMicro)
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	return sb.String()
}

func undoImport(t *testing.T, s *sqlstore.Store, id int64) *callbill.ImportRecord {
	t.Helper()
	rec, err := (&ingest.Imports{Store: s}).Undo(context.Background(), ingest.UndoInput{ID: id, By: "test"})
	if err != nil {
		t.Fatalf("undo %s: %v", callbill.ImportID(id), err)
	}
	return rec
}

// TestUndoEqualsNeverImported is the golden comparison: A, B, C imported,
// B undone, gives exactly the bills and the per-call ratings of A and C
// alone — C's calls no longer cross the band B pushed them over, and take
// the package minutes B had taken — and the same rating state after: D
// imported into both, then October closed, still agree.
func TestUndoEqualsNeverImported(t *testing.T) {
	pair(t, func(t *testing.T, undone, never *sqlstore.Store) {
		a, b, c, d := undoImports()
		for _, s := range []*sqlstore.Store{undone, never} {
			mustApply(t, s, undoWorld)
		}
		importCalls(t, undone, callbill.ImportOptions{}, a...)
		repB := importCalls(t, undone, callbill.ImportOptions{}, b...)
		importCalls(t, undone, callbill.ImportOptions{}, c...)
		withB := snapshot(t, undone)
		importCalls(t, never, callbill.ImportOptions{}, a...)
		importCalls(t, never, callbill.ImportOptions{}, c...)
		want := snapshot(t, never)
		if withB == want {
			t.Fatal("B changes nothing: the comparison would prove nothing")
		}
		rec := undoImport(t, undone, repB.Import)
		if got := snapshot(t, undone); got != want {
			t.Errorf("after the undo:\n%s\nnever imported:\n%s", got, want)
		}
		if rec.Status != callbill.ImportUndone || rec.UndoneBy != "test" || rec.Undo == nil || rec.Undo.Removed != int64(len(b)) ||
			rec.Undo.Rerated == 0 || fmt.Sprint(rec.Undo.Accounts) != "[3001 3002]" || fmt.Sprint(rec.Undo.Cycles) != "[2026-10 2026-11]" {
			t.Errorf("record %+v, report %+v", rec, rec.Undo)
		}
		for _, s := range []*sqlstore.Store{undone, never} {
			importCalls(t, s, callbill.ImportOptions{}, d...)
		}
		if got, want := snapshot(t, undone), snapshot(t, never); got != want {
			t.Errorf("after D:\n%s\nnever imported:\n%s", got, want)
		}
		for _, s := range []*sqlstore.Store{undone, never} {
			closeCycle(t, s, "2026-10")
		}
		if got, want := snapshot(t, undone), snapshot(t, never); got != want {
			t.Errorf("after the close:\n%s\nnever imported:\n%s", got, want)
		}
	})
}
