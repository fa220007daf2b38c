package sqlstore_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/callbill/callbill"
	"github.com/callbill/callbill/ingest"
	"github.com/callbill/callbill/sqlstore"
	_ "github.com/jackc/pgx/v5/stdlib"
	_ "github.com/mattn/go-sqlite3"
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
			rec.Undo.Rerated == 0 || fmt.Sprint(rec.Undo.Accounts) != "[3001 3002]" || rec.Undo.Touched != 2 || fmt.Sprint(rec.Undo.Cycles) != "[2026-10 2026-11]" {
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

// TestUndoRefusedInClosedCycles: an import with a call billed in a closed
// cycle is refused whole, saying how many calls, which cycles and that an
// adjustment is the way; nothing changes.
func TestUndoRefusedInClosedCycles(t *testing.T) {
	each(t, func(t *testing.T, s *sqlstore.Store) {
		a, b, _, _ := undoImports()
		mustApply(t, s, undoWorld)
		importCalls(t, s, callbill.ImportOptions{}, a...)
		repB := importCalls(t, s, callbill.ImportOptions{}, b...)
		closeCycle(t, s, "2026-10")
		before := snapshot(t, s)
		_, err := (&ingest.Imports{Store: s}).Undo(context.Background(), ingest.UndoInput{ID: repB.Import, By: "test"})
		msg := fmt.Sprint(err)
		if callbill.ErrorCode(err) != callbill.EREFUSED || !strings.Contains(msg, "9 of its calls are billed in closed cycles (2026-10)") ||
			!strings.Contains(msg, "adjustment") || !strings.Contains(msg, "callbill adjust") {
			t.Fatalf("undo of an import in a closed cycle: %v", err)
		}
		if got := snapshot(t, s); got != before {
			t.Errorf("a refused undo changed the bills:\n%s\nbefore:\n%s", got, before)
		}
		if rec, err := s.Import(context.Background(), repB.Import); err != nil || rec.Status != callbill.ImportDone {
			t.Errorf("record after a refused undo: %+v %v", rec, err)
		}
	})
}

// TestUndoRefusedWhenAClosedCallWouldChange: B took package minutes in
// November; C's October calls, stored after it, found the package short;
// October is closed. Without B they would have been covered, which a
// closed bill cannot show: refused. Had they been covered anyway, the undo
// goes through.
func TestUndoRefusedWhenAClosedCallWouldChange(t *testing.T) {
	each(t, func(t *testing.T, s *sqlstore.Store) {
		mustApply(t, s, undoWorld)
		b := []callbill.CDR{
			outCall("n1", "u1-p", "0571101", "2026-11-01T10:00:00+08:00", 1400),
			outCall("n2", "u1-p", "0571101", "2026-11-01T11:00:00+08:00", 1400),
		}
		c := []callbill.CDR{outCall("o1", "u1-p", "0571101", "2026-10-30T10:00:00+08:00", 1000)}
		var big []callbill.CDR
		for i := range 6 {
			big = append(big, outCall(fmt.Sprintf("f%d", i), "u1-p", "0571101", fmt.Sprintf("2026-10-0%dT10:00:00+08:00", i+2), 1200))
		}
		importCalls(t, s, callbill.ImportOptions{}, big...) // 7,200 of the 10,000 minutes
		repB := importCalls(t, s, callbill.ImportOptions{}, b...)
		importCalls(t, s, callbill.ImportOptions{}, c...) // finds none left
		closeCycle(t, s, "2026-10")
		_, err := (&ingest.Imports{Store: s}).Undo(context.Background(), ingest.UndoInput{ID: repB.Import, By: "test"})
		if msg := fmt.Sprint(err); callbill.ErrorCode(err) != callbill.EREFUSED ||
			!strings.Contains(msg, "1 later calls of account 3001 billed in closed cycles (2026-10)") || !strings.Contains(msg, "adjustment") {
			t.Fatalf("undo changing a closed call: %v", err)
		}

		// A later call of the closed cycle that B did not starve.
		s2 := backendLike(t, s)
		mustApply(t, s2, undoWorld)
		importCalls(t, s2, callbill.ImportOptions{}, big[:2]...)
		repB = importCalls(t, s2, callbill.ImportOptions{}, b...)
		importCalls(t, s2, callbill.ImportOptions{}, c...)
		closeCycle(t, s2, "2026-10")
		if rec := undoImport(t, s2, repB.Import); rec.Undo.Removed != 2 {
			t.Errorf("undo: %+v", rec.Undo)
		}
	})
}

// backendLike opens a fresh store of s's kind.
func backendLike(t *testing.T, s *sqlstore.Store) *sqlstore.Store {
	t.Helper()
	kind := "sqlite"
	if strings.HasPrefix(s.Where(), "postgres") {
		kind = "postgres"
	}
	s2 := backends(t)[kind](t)
	s2.Now = s.Now
	return s2
}

// TestUndoTwiceThenImportAgain: a second undo changes nothing and says so;
// the undone calls can then be imported again, as new calls after the
// rest.
func TestUndoTwiceThenImportAgain(t *testing.T) {
	pair(t, func(t *testing.T, undone, never *sqlstore.Store) {
		a, b, c, _ := undoImports()
		for _, s := range []*sqlstore.Store{undone, never} {
			mustApply(t, s, undoWorld)
		}
		importCalls(t, undone, callbill.ImportOptions{}, a...)
		repB := importCalls(t, undone, callbill.ImportOptions{}, b...)
		importCalls(t, undone, callbill.ImportOptions{}, c...)
		first := undoImport(t, undone, repB.Import)
		after := snapshot(t, undone)
		second := undoImport(t, undone, repB.Import)
		if !second.Undo.Already || second.Undo.Removed != first.Undo.Removed || !second.UndoneAt.Equal(first.UndoneAt) {
			t.Errorf("second undo: %+v %+v, first %+v", second, second.Undo, first.Undo)
		}
		if got := snapshot(t, undone); got != after {
			t.Errorf("a second undo changed the bills")
		}
		rep := importCalls(t, undone, callbill.ImportOptions{}, b...)
		if rep.Imported != int64(len(b)) || rep.Duplicates != 0 || rep.Rejected != 0 {
			t.Errorf("import again after the undo: %+v", rep)
		}
		for _, cs := range [][]callbill.CDR{a, c, b} {
			importCalls(t, never, callbill.ImportOptions{}, cs...)
		}
		if got, want := snapshot(t, undone), snapshot(t, never); got != want {
			t.Errorf("undone then imported again:\n%s\nA, C, then B:\n%s", got, want)
		}
	})
}

// TestUndoRacesAnImport: an undo of B and an import of more calls of B's
// accounts run at once, from two stores on one database: they take turns
// under the accounts' locks, and the end is the world of A, C and D.
func TestUndoRacesAnImport(t *testing.T) {
	for name, dsn := range dsns(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			d := dsn(t)
			var ss [2]*sqlstore.Store
			for i := range ss {
				s, err := sqlstore.Open(ctx, d)
				if err != nil {
					t.Fatal(err)
				}
				defer s.Close()
				s.Now = func() time.Time { return time.Date(2027, 6, 1, 0, 0, 0, 0, time.UTC) }
				ss[i] = s
			}
			a, b, c, _ := undoImports()
			var more []callbill.CDR
			for i := range 60 {
				start := fmt.Sprintf("2026-11-%02dT10:%02d:00+08:00", 3+i/30, i%30)
				more = append(more, platformCall(fmt.Sprintf("m%d", i), "u1-p", "0571102", start, 3),
					outCall(fmt.Sprintf("n%d", i), "u2-p", "0571202", start, 40))
			}
			mustApply(t, ss[0], undoWorld)
			importCalls(t, ss[0], callbill.ImportOptions{}, a...)
			repB := importCalls(t, ss[0], callbill.ImportOptions{}, b...)
			importCalls(t, ss[0], callbill.ImportOptions{}, c...)
			var wg sync.WaitGroup
			wg.Add(2)
			go func() {
				defer wg.Done()
				if _, err := (&ingest.Service{Store: ss[1]}).Import(ctx, ingest.Input{Source: &cdrs{rows: more}, ImportOptions: callbill.ImportOptions{BatchSize: 4}}); err != nil {
					t.Errorf("import: %v", err)
				}
			}()
			go func() {
				defer wg.Done()
				if _, err := (&ingest.Imports{Store: ss[0]}).Undo(ctx, ingest.UndoInput{ID: repB.Import, By: "test"}); err != nil {
					t.Errorf("undo: %v", err)
				}
			}()
			wg.Wait()
			never := backends(t)[name](t)
			never.Now = ss[0].Now
			mustApply(t, never, undoWorld)
			for _, cs := range [][]callbill.CDR{a, c, more} {
				importCalls(t, never, callbill.ImportOptions{}, cs...)
			}
			if got, want := snapshot(t, ss[0]), snapshot(t, never); got != want {
				t.Errorf("undo beside an import:\n%s\nA, C, then D:\n%s", got, want)
			}
		})
	}
}

// holdWriters keeps every writer of the database waiting until release is
// called: SQLite's write lock, PostgreSQL's close lock (which every writer
// takes shared).
func holdWriters(t *testing.T, d string) (release func()) {
	t.Helper()
	ctx := context.Background()
	driver := "sqlite3"
	if strings.HasPrefix(d, "postgres") {
		driver = "pgx"
	}
	db, err := sql.Open(driver, d)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	stmt, undo := "BEGIN IMMEDIATE", "ROLLBACK"
	if driver == "pgx" {
		stmt, undo = "SELECT pg_advisory_lock(2)", "SELECT pg_advisory_unlock(2)"
	}
	if _, err := conn.ExecContext(ctx, stmt); err != nil {
		t.Fatal(err)
	}
	return func() {
		conn.ExecContext(ctx, undo)
		conn.Close()
		db.Close()
	}
}

// TestGroupRequestsAreTheirOwnImports: requests the server commits in one
// round are each an import of their own, with their own counts; undoing
// one leaves the others' calls, which shared its blocks, as if it had
// never been sent.
func TestGroupRequestsAreTheirOwnImports(t *testing.T) {
	for name, dsn := range dsns(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			d := dsn(t)
			s, err := sqlstore.Open(ctx, d)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			s.Now = func() time.Time { return time.Date(2027, 6, 1, 0, 0, 0, 0, time.UTC) }
			mustApply(t, s, undoWorld)
			a, b, c, _ := undoImports()
			b = append(b, b[0]) // a duplicate within the request
			first := []callbill.CDR{platformCall("r1", "u3-p", "0571301", "2026-10-02T10:00:00+08:00", 5)}
			g := (&ingest.Service{Store: s}).NewGroup(0)
			defer g.Close()
			var wg sync.WaitGroup
			reps := make([]*callbill.ImportReport, 4)
			send := func(k int, rows []callbill.CDR) {
				wg.Add(1)
				go func() {
					defer wg.Done()
					rep, err := g.Import(ctx, ingest.Input{Source: &cdrs{rows: rows}, Sources: []string{fmt.Sprintf("req-%d", k+1)}, By: "api:test"})
					if err != nil {
						t.Errorf("request %d: %v", k+1, err)
					}
					reps[k] = rep
				}()
			}
			waitFor := func(rows int) {
				for deadline := time.Now().Add(10 * time.Second); g.Waiting() != rows; time.Sleep(time.Millisecond) {
					if time.Now().After(deadline) {
						t.Fatalf("%d rows waiting, want %d", g.Waiting(), rows)
					}
				}
			}
			release := holdWriters(t, d)
			send(0, first) // its round waits for the writers
			waitFor(0)
			time.Sleep(50 * time.Millisecond)
			send(1, a)
			waitFor(len(a))
			send(2, b)
			waitFor(len(a) + len(b))
			send(3, c)
			waitFor(len(a) + len(b) + len(c))
			release()
			wg.Wait()
			if t.Failed() {
				return
			}
			recs, err := (&ingest.Imports{Store: s}).List(ctx, callbill.ImportQuery{})
			if err != nil || len(recs) != 4 {
				t.Fatalf("records %+v %v", recs, err)
			}
			for k, rows := range [][]callbill.CDR{first, a, b, c} {
				rec := recs[3-k]
				dups := int64(0)
				if k == 2 {
					dups = 1
				}
				if rec.ID != reps[k].Import || rec.Imported != int64(len(rows))-dups || rec.Duplicates != dups || rec.Status != callbill.ImportDone ||
					fmt.Sprint(rec.Sources) != fmt.Sprintf("[req-%d]", k+1) || rec.By != "api:test" {
					t.Errorf("request %d: record %+v, report %+v", k+1, rec, reps[k])
				}
			}
			h, err := sql.Open(map[bool]string{true: "pgx", false: "sqlite3"}[strings.HasPrefix(d, "postgres")], d)
			if err != nil {
				t.Fatal(err)
			}
			defer h.Close()
			var batches, owners int
			err = h.QueryRow(fmt.Sprintf(`SELECT COUNT(DISTINCT batch), (SELECT COUNT(*) FROM batch_owners) FROM import_parts WHERE import_id IN (%d, %d, %d)`,
				reps[1].Import, reps[2].Import, reps[3].Import)).Scan(&batches, &owners)
			if err != nil || batches != 1 || owners != 1 {
				t.Fatalf("requests 2–4 in %d batches, %d with owners (%v): they were not committed together", batches, owners, err)
			}
			undoImport(t, s, reps[2].Import)
			never := backends(t)[name](t)
			never.Now = s.Now
			mustApply(t, never, undoWorld)
			for _, cs := range [][]callbill.CDR{first, a, c} {
				importCalls(t, never, callbill.ImportOptions{}, cs...)
			}
			if got, want := snapshot(t, s), snapshot(t, never); got != want {
				t.Errorf("request 3 undone:\n%s\nrequests 1, 2 and 4 alone:\n%s", got, want)
			}
		})
	}
}

// gatedRows gives its rows, but stops before row at until gate is closed.
type gatedRows struct {
	cdrs
	at   int
	gate chan struct{}
}

func (g *gatedRows) Next() (callbill.CDR, callbill.Pos, error) {
	if g.i == g.at {
		<-g.gate
	}
	return g.cdrs.Next()
}

// TestUndoWhileImporting: an import undone while it runs stops at its next
// batch; what it stored before is gone, nothing after is kept, and its
// record stays undone.
func TestUndoWhileImporting(t *testing.T) {
	each(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		mustApply(t, s, undoWorld)
		a, _, _, _ := undoImports()
		src := &gatedRows{cdrs: cdrs{rows: a}, at: 3, gate: make(chan struct{})}
		done := make(chan error, 1)
		go func() {
			_, err := (&ingest.Service{Store: s}).Import(ctx, ingest.Input{Source: src, ImportOptions: callbill.ImportOptions{BatchSize: 2}, By: "cli:test"})
			done <- err
		}()
		var rec *callbill.ImportRecord
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(2 * time.Millisecond) {
			recs, err := s.Imports(ctx, callbill.ImportQuery{Limit: 1})
			if err != nil {
				t.Fatal(err)
			}
			if len(recs) == 1 && recs[0].Imported == 2 {
				rec = &recs[0]
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the first batch was not stored: %+v", recs)
			}
		}
		if rec.Status != callbill.ImportRunning || rec.By != "cli:test" {
			t.Errorf("running record %+v", rec)
		}
		if got := undoImport(t, s, rec.ID); got.Undo.Removed != 2 {
			t.Errorf("undo of a running import: %+v", got.Undo)
		}
		close(src.gate)
		if err := <-done; callbill.ErrorCode(err) != callbill.ECONFLICT || !strings.Contains(err.Error(), "undone while it ran") {
			t.Errorf("the import went on after its undo: %v", err)
		}
		got, err := s.Import(ctx, rec.ID)
		if err != nil || got.Status != callbill.ImportUndone {
			t.Errorf("record %+v %v", got, err)
		}
		b := bill(t, s, "3001", "2026-10")
		if l := line(b, "CallCenterSoftware"); l != nil {
			t.Errorf("platform minutes left after the undo: %+v", l)
		}
		if l := line(b, "FixedLineOutbound"); l != nil {
			t.Errorf("outbound minutes left after the undo: %+v", l)
		}
	})
}
