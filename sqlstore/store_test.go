package sqlstore_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/callbill/callbill"
	"github.com/callbill/callbill/closing"
	"github.com/callbill/callbill/ingest"
	"github.com/callbill/callbill/internal/testpg"
	"github.com/callbill/callbill/jobs"
	"github.com/callbill/callbill/provision"
	"github.com/callbill/callbill/sqlstore"
	"github.com/callbill/callbill/world"
)

// backends lists the stores every test runs against.
func backends(t *testing.T) map[string]func(t *testing.T) *sqlstore.Store {
	return map[string]func(t *testing.T) *sqlstore.Store{
		"sqlite": func(t *testing.T) *sqlstore.Store {
			s, err := sqlstore.Open(context.Background(), filepath.Join(t.TempDir(), "test.db"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		},
		"postgres": func(t *testing.T) *sqlstore.Store {
			s, err := sqlstore.Open(context.Background(), testpg.DSN(t))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		},
	}
}

// dsns lists a DSN per backend, for tests that open several stores on one database.
func dsns(t *testing.T) map[string]func(t *testing.T) string {
	return map[string]func(t *testing.T) string{
		"sqlite":   func(t *testing.T) string { return filepath.Join(t.TempDir(), "shared.db") },
		"postgres": func(t *testing.T) string { return testpg.DSN(t) },
	}
}

// each runs fn against every backend.
func each(t *testing.T, fn func(t *testing.T, s *sqlstore.Store)) {
	for name, open := range backends(t) {
		t.Run(name, func(t *testing.T) {
			s := open(t)
			s.Now = func() time.Time { return time.Date(2027, 6, 1, 0, 0, 0, 0, time.UTC) }
			fn(t, s)
		})
	}
}

const baseWorld = `
accounts:
  - uid: "1001"
    name: 甲
    instances:
      - id: inst-p
        mode: payg
        numbers:
          - {number: "0571001", kind: fixed, source: ccc}
          - {number: "0571002", kind: fixed, source: third_party}
          - {number: "4000001", kind: "400", source: ccc, tier: 普通, since: "2026-10-01T00:00:00+08:00"}
      - id: inst-s
        mode: subscription
        numbers:
          - {number: "0571003", kind: fixed, source: ccc}
`

func apply(t *testing.T, s *sqlstore.Store, yaml string) (*callbill.ApplyReport, error) {
	t.Helper()
	w, ps := world.Parse([]byte(yaml))
	if len(ps) > 0 {
		t.Fatalf("world: %v", ps)
	}
	return (&provision.Service{Store: s}).Apply(context.Background(), provision.ApplyInput{World: w})
}

func mustApply(t *testing.T, s *sqlstore.Store, yaml string) *callbill.ApplyReport {
	t.Helper()
	rep, err := apply(t, s, yaml)
	if err != nil {
		t.Fatalf("apply: %v", err)
	}
	return rep
}

// cdrs is an in-memory CDR source.
type cdrs struct {
	rows []callbill.CDR
	i    int
}

func (c *cdrs) Next() (callbill.CDR, callbill.Pos, error) {
	if c.i >= len(c.rows) {
		return callbill.CDR{}, callbill.Pos{}, io.EOF
	}
	c.i++
	return c.rows[c.i-1], callbill.Pos{Line: c.i + 1}, nil
}

func at(s string) int64 {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t.Unix()
}

// call makes a CDR on inst: inbound to number or outbound from it.
func call(id, inst string, dir callbill.Direction, number, start string, seconds int64) callbill.CDR {
	c := callbill.CDR{ContactID: id, InstanceID: inst, Direction: dir, Start: at(start)}
	c.End = c.Start + seconds
	if dir == callbill.Inbound {
		c.Caller, c.Callee = "13800000000", number
	} else {
		c.Caller, c.Callee = number, "13800000000"
	}
	return c
}

func importCalls(t *testing.T, s *sqlstore.Store, opts callbill.ImportOptions, rows ...callbill.CDR) *callbill.ImportReport {
	t.Helper()
	rep, err := (&ingest.Service{Store: s}).Import(context.Background(), ingest.Input{Source: &cdrs{rows: rows}, ImportOptions: opts})
	if err != nil {
		t.Fatalf("import: %v", err)
	}
	return rep
}

func bill(t *testing.T, s *sqlstore.Store, uid, cycle string) *callbill.BillJSON {
	t.Helper()
	c, _ := callbill.ParseCycle(cycle)
	b, err := (&closing.Service{Store: s}).Bill(context.Background(), closing.BillInput{Account: uid, Cycle: c})
	if err != nil {
		t.Fatalf("bill: %v", err)
	}
	j := b.JSON(callbill.View{})
	return &j
}

func closeCycle(t *testing.T, s *sqlstore.Store, cycle string) *callbill.CloseReport {
	t.Helper()
	c, _ := callbill.ParseCycle(cycle)
	rep, err := (&closing.Service{Store: s}).Close(context.Background(), closing.CloseInput{Cycle: c})
	if err != nil {
		t.Fatalf("close: %v", err)
	}
	return rep
}

func line(b *callbill.BillJSON, item string) *callbill.LineJSON {
	for i := range b.Lines {
		if b.Lines[i].Item == item {
			return &b.Lines[i]
		}
	}
	return nil
}

func TestApplyIsIdempotent(t *testing.T) {
	each(t, func(t *testing.T, s *sqlstore.Store) {
		w := baseWorld + `
topups:
  - {id: T1, account: "1001", amount: "2000.00", at: "2026-10-01T08:00:00+08:00"}
purchases:
  - {id: P1, account: "1001", at: "2026-10-01T09:00:00+08:00", voice_package: {type: fixed_outbound, minutes: 10000}}
`
		rep := mustApply(t, s, w)
		if rep.TopUps != 1 || rep.Purchases != 1 || rep.Skipped != 0 {
			t.Fatalf("first apply: %+v", rep)
		}
		rep = mustApply(t, s, w)
		if rep.TopUps != 0 || rep.Purchases != 0 || rep.Skipped != 2 {
			t.Fatalf("second apply: %+v", rep)
		}
		b := bill(t, s, "1001", "2026-10")
		vp := line(b, "VoicePackage")
		// The open cycle's preview also shows the 400 number's minimum (375),
		// an estimate: nothing of it is owed before the close.
		if vp == nil || vp.Payable != "1450.00" || b.Totals.Payable != "1825.00" || b.Totals.Paid != "1450.00" || b.Totals.Outstanding != "0.00" {
			t.Fatalf("bill: %+v", b)
		}
	})
}

func TestApplyRefusesWholeFileWithEveryProblem(t *testing.T) {
	each(t, func(t *testing.T, s *sqlstore.Store) {
		mustApply(t, s, baseWorld+`
topups:
  - {id: T1, account: "1001", amount: "10.00", at: "2026-10-01T08:00:00+08:00"}
`)
		_, err := apply(t, s, baseWorld+`
  - uid: "1002"
    name: 乙
    instances: []
topups:
  - {id: T1, account: "1001", amount: "11.00", at: "2026-10-01T08:00:00+08:00"}
  - {id: T2, account: "9999", amount: "1.00", at: "2026-10-01T08:00:00+08:00"}
purchases:
  - {id: P1, account: "1001", at: "2026-10-02T09:00:00+08:00", voice_package: {type: fixed_inbound, minutes: 10000}}
  - {id: P2, account: "1001", at: "2026-10-02T09:00:00+08:00", seats: {instance: inst-p, count: 5, months: 1}}
  - {id: P3, account: "1001", at: "2026-10-02T09:00:00+08:00", number_rent: {number: "0571002", months: 3}}
  - {id: P4, account: "1001", at: "2026-10-02T09:00:00+08:00", number_rent: {number: "4000001", months: 3}}
`)
		var ps callbill.Problems
		if !errors.As(err, &ps) {
			t.Fatalf("want problems, got %v", err)
		}
		want := []string{
			"topups[0].id: id T1 was applied before with different content",
			"topups[1].account: account 9999",
			"purchases[0]: cash balance 10.00 is less than the purchase's payable 290.00",
			"purchases[1].seats.instance: seats are bought for subscription instances",
			"purchases[2].number_rent.number: number 0571002 is not a CCC fixed-line number",
			"purchases[3].number_rent.number: number 4000001 is not a CCC fixed-line number",
		}
		got := ps.Error()
		for _, w := range want {
			if !strings.Contains(got, w) {
				t.Errorf("problems lack %q:\n%s", w, got)
			}
		}
		// Atomic: account 1002 was not created.
		if _, err := (&closing.Service{Store: s}).Bill(context.Background(), closing.BillInput{Account: "1002", Cycle: callbill.NewCycle(2026, 10)}); callbill.ErrorCode(err) != callbill.ENOTFOUND {
			t.Errorf("account 1002 exists after a refused apply: %v", err)
		}
	})
}

func TestImportDuplicatesConflictsAndStrict(t *testing.T) {
	each(t, func(t *testing.T, s *sqlstore.Store) {
		mustApply(t, s, baseWorld)
		a := call("c1", "inst-p", callbill.Inbound, "0571001", "2026-10-05T10:00:00+08:00", 61)
		b := call("c2", "inst-p", callbill.Outbound, "0571001", "2026-10-05T11:00:00+08:00", 60)
		rep := importCalls(t, s, callbill.ImportOptions{BatchSize: 1}, a, b, a)
		if rep.Imported != 2 || rep.Duplicates != 1 || rep.Rejected != 0 {
			t.Fatalf("first import: %+v", rep)
		}
		changed := b
		changed.End++
		c := call("c3", "inst-p", callbill.Outbound, "0571001", "2026-10-06T11:00:00+08:00", 30)
		// Batches of 2 that mix stored calls with new ones take the careful path.
		rep = importCalls(t, s, callbill.ImportOptions{BatchSize: 2}, a, c, changed)
		if rep.Imported != 1 || rep.Duplicates != 1 || rep.Rejected != 1 || rep.Conflicts != 1 {
			t.Fatalf("second import: %+v", rep)
		}
		if !strings.Contains(rep.Rejects[0].Reason, "conflict") || rep.Rejects[0].Pos.Line != 4 {
			t.Errorf("reject: %+v", rep.Rejects[0])
		}
		out := line(bill(t, s, "1001", "2026-10"), "FixedLineOutbound")
		if out == nil || out.Usage != "2" { // c2 (1 minute, the first content stays) + c3 (1 minute)
			t.Fatalf("outbound line: %+v", out)
		}
		// Strict: one bad row and nothing is imported.
		d := call("c4", "inst-p", callbill.Outbound, "0571001", "2026-10-07T11:00:00+08:00", 30)
		bad := call("c5", "inst-p", callbill.Outbound, "4000001", "2026-10-07T11:00:00+08:00", 30)
		rep = importCalls(t, s, callbill.ImportOptions{Strict: true, BatchSize: 1}, d, bad)
		if rep.Imported != 0 || rep.Rejected != 1 {
			t.Fatalf("strict import: %+v", rep)
		}
		rep = importCalls(t, s, callbill.ImportOptions{}, d)
		if rep.Imported != 1 {
			t.Fatalf("c4 was stored by the refused strict import: %+v", rep)
		}
	})
}

func TestLateCallsCloseAndArrears(t *testing.T) {
	each(t, func(t *testing.T, s *sqlstore.Store) {
		mustApply(t, s, baseWorld+`
topups:
  - {id: T0, account: "1001", amount: "1.00", at: "2026-08-20T08:00:00+08:00"}
`)
		// 10 minutes of third-party payg calls: platform fee 10 × 0.0499 = 0.499.
		importCalls(t, s, callbill.ImportOptions{},
			call("c1", "inst-p", callbill.Inbound, "0571002", "2026-10-05T10:00:00+08:00", 600))
		rep := closeCycle(t, s, "2026-10")
		if fmt.Sprint(rep.Closed) != "[2026-08 2026-09 2026-10]" {
			t.Fatalf("closed %v, want 2026-08 … 2026-10", rep.Closed)
		}
		if !closeCycle(t, s, "2026-10").AlreadyClosed || !closeCycle(t, s, "2026-09").AlreadyClosed {
			t.Fatal("closing a closed cycle must change nothing")
		}
		// 2026-10: 400 minimum 375 + platform 0.499 → 375.49 (round down 0.009); cash 1 pays 1.
		b := bill(t, s, "1001", "2026-10")
		if b.Status != "closed" || b.Totals.Payable != "375.49" || b.Totals.RoundDown != "0.009" ||
			b.Totals.Paid != "1.00" || b.Totals.Outstanding != "374.49" {
			t.Fatalf("2026-10: %+v", b.Totals)
		}
		// A call of the closed cycle is billed late in 2026-11; 2026-10 does not change.
		importCalls(t, s, callbill.ImportOptions{},
			call("c2", "inst-p", callbill.Inbound, "0571002", "2026-10-30T10:00:00+08:00", 60))
		if again := bill(t, s, "1001", "2026-10"); again.Totals != b.Totals {
			t.Fatalf("a closed bill changed: %+v", again.Totals)
		}
		nov := bill(t, s, "1001", "2026-11")
		if l := line(nov, "CallCenterSoftware"); nov.Status != "open" || l == nil || l.Usage != "1" {
			t.Fatalf("2026-11 preview: %+v", nov)
		}
		// A top-up settles the oldest arrears first; the rest stays as cash.
		_, err := apply(t, s, baseWorld+`
topups:
  - {id: T9, account: "1001", amount: "5.00", at: "2026-10-31T08:00:00+08:00"}
`)
		if err == nil || !strings.Contains(err.Error(), "topups[0].at: top-up dated in 2026-10, a closed cycle") {
			t.Fatalf("top-up in a closed cycle: %v", err)
		}
		mustApply(t, s, baseWorld+`
topups:
  - {id: T1, account: "1001", amount: "400.00", at: "2026-11-02T08:00:00+08:00"}
`)
		b = bill(t, s, "1001", "2026-10")
		if b.Totals.Paid != "375.49" || b.Totals.Outstanding != "0.00" {
			t.Fatalf("after top-up: %+v", b.Totals)
		}
		for _, l := range b.Lines {
			if l.Outstanding != "0.00" {
				t.Errorf("line still outstanding: %+v", l)
			}
		}
	})
}

func TestPackagesAndBandsCarryAcrossImports(t *testing.T) {
	each(t, func(t *testing.T, s *sqlstore.Store) {
		mustApply(t, s, baseWorld+`
prices:
  - {item: CallCenterSoftware, mode: payg, tiers: [{upto: 10, price: "0.05"}, {price: "0.04"}]}
topups:
  - {id: T1, account: "1001", amount: "2000.00", at: "2026-10-01T08:00:00+08:00"}
purchases:
  - {id: P1, account: "1001", at: "2026-10-01T09:00:00+08:00", voice_package: {type: fixed_outbound, minutes: 10000}}
`)
		// 9 platform minutes, then 3 more: minute 10 in band 1, 11–12 in band 2.
		importCalls(t, s, callbill.ImportOptions{},
			call("p1", "inst-p", callbill.Inbound, "0571002", "2026-10-05T10:00:00+08:00", 540))
		importCalls(t, s, callbill.ImportOptions{},
			call("p2", "inst-p", callbill.Inbound, "0571002", "2026-10-06T10:00:00+08:00", 180),
			call("o1", "inst-p", callbill.Outbound, "0571001", "2026-10-06T10:00:00+08:00", 120),
			call("o2", "inst-s", callbill.Outbound, "0571003", "2026-10-06T10:00:00+08:00", 60))
		b := bill(t, s, "1001", "2026-10")
		var bands []string
		for _, l := range b.Lines {
			if l.Item == "CallCenterSoftware" && l.PurchaseID == "" {
				bands = append(bands, fmt.Sprintf("%d:%s@%s", l.Band, l.Usage, l.UnitPrice))
			}
		}
		if fmt.Sprint(bands) != "[1:10@0.05 2:2@0.04]" {
			t.Errorf("bands %v", bands)
		}
		for _, l := range b.Lines {
			if l.Item == "FixedLineOutbound" && (l.Usage != "0" || (l.DeductedByPackage != "2" && l.DeductedByPackage != "1")) {
				t.Errorf("outbound line not covered by the package: %+v", l)
			}
		}
	})
}

func TestJobsAreClaimedOnceAndTakenOverAfterTheLease(t *testing.T) {
	each(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		now := time.Date(2027, 6, 1, 0, 0, 0, 0, time.UTC)
		s.Now = func() time.Time { return now }
		j1, created, err := (jobs.Service{Store: s}).Enqueue(ctx, callbill.JobRequest{Kind: callbill.JobExport, Key: "k1", Account: "1001", Params: `{}`})
		if err != nil || !created || j1.Status != callbill.JobQueued {
			t.Fatalf("enqueue: %+v %v %v", j1, created, err)
		}
		again, created, err := (jobs.Service{Store: s}).Enqueue(ctx, callbill.JobRequest{Kind: callbill.JobExport, Key: "k1", Account: "1001", Params: `{}`})
		if err != nil || created || again.ID != j1.ID {
			t.Fatalf("the same key must be the same job: %+v %v %v", again, created, err)
		}
		// Many claimers at once: the job goes to exactly one.
		var mu sync.Mutex
		claimed := 0
		var wg sync.WaitGroup
		for i := 0; i < 8; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				j, err := s.ClaimJob(ctx, callbill.JobExport, fmt.Sprintf("node%d", i), time.Minute)
				if err != nil {
					t.Error(err)
					return
				}
				if j != nil {
					mu.Lock()
					claimed++
					mu.Unlock()
				}
			}(i)
		}
		wg.Wait()
		if claimed != 1 {
			t.Fatalf("claimed %d times", claimed)
		}
		j, _ := s.Job(ctx, j1.ID)
		owner := j.Node
		// Before the lease runs out nobody else gets it; after, another node does.
		if j, _ := s.ClaimJob(ctx, callbill.JobExport, "late", time.Minute); j != nil {
			t.Fatalf("claimed a leased job: %+v", j)
		}
		now = now.Add(2 * time.Minute)
		j2, err := s.ClaimJob(ctx, callbill.JobExport, "rescuer", time.Minute)
		if err != nil || j2 == nil || j2.ID != j1.ID || j2.Attempts != 2 {
			t.Fatalf("take-over: %+v %v", j2, err)
		}
		if err := s.FinishJob(ctx, j1.ID, owner, `{}`); !errors.Is(err, sqlstore.ErrJobLost) {
			t.Fatalf("the first node's late result must be refused: %v", err)
		}
		if err := s.FinishJob(ctx, j1.ID, "rescuer", `{"rows":1}`); err != nil {
			t.Fatal(err)
		}
		j, _ = s.Job(ctx, j1.ID)
		if j.Status != callbill.JobDone || j.Result != `{"rows":1}` {
			t.Fatalf("finished job: %+v", j)
		}
		if _, err := s.Job(ctx, 999); callbill.ErrorCode(err) != callbill.ENOTFOUND {
			t.Fatalf("unknown job: %v", err)
		}
	})
}

// TestAFailedAutomaticCloseIsQueuedAgain: the automatic close's job, failed
// once, is queued again CloseRetry after it failed, keeps its record and
// counts its attempts; before then asking again changes nothing.
func TestAFailedAutomaticCloseIsQueuedAgain(t *testing.T) {
	each(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		now := time.Date(2027, 6, 2, 4, 0, 0, 0, time.UTC)
		s.Now = func() time.Time { return now }
		req := callbill.JobRequest{Kind: callbill.JobClose, Key: "close:2027-05", Params: `{"cycle":"2027-05"}`, RetryFailedAfter: 10 * time.Minute}
		j, created, err := (jobs.Service{Store: s}).Enqueue(ctx, req)
		if err != nil || !created {
			t.Fatalf("enqueue: %+v %v %v", j, created, err)
		}
		if c, err := s.ClaimJob(ctx, callbill.JobClose, "n1", time.Minute); err != nil || c == nil || c.ID != j.ID {
			t.Fatalf("claim: %+v %v", c, err)
		}
		if err := s.FailJob(ctx, j.ID, "n1", "database is locked"); err != nil {
			t.Fatal(err)
		}
		now = now.Add(9 * time.Minute)
		if again, created, err := (jobs.Service{Store: s}).Enqueue(ctx, req); err != nil || created || again.Status != callbill.JobFailed {
			t.Fatalf("9 minutes after the failure: %+v %v %v", again, created, err)
		}
		now = now.Add(time.Minute)
		again, created, err := (jobs.Service{Store: s}).Enqueue(ctx, req)
		if err != nil || !created || again.ID != j.ID || again.Status != callbill.JobQueued || again.Error != "" {
			t.Fatalf("10 minutes after the failure: %+v %v %v", again, created, err)
		}
		c, err := s.ClaimJob(ctx, callbill.JobClose, "n2", time.Minute)
		if err != nil || c == nil || c.ID != j.ID || c.Attempts != 2 {
			t.Fatalf("claim the retry: %+v %v", c, err)
		}
	})
}

// TestConcurrentImportersKeepTheState runs two importers on one database at
// once, on the same accounts, in small batches, so that batches rated ahead
// meet state the other importer changed: every minute must be counted once
// in the bands and the voice package.
func TestConcurrentImportersKeepTheState(t *testing.T) {
	for name, dsn := range dsns(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			d := dsn(t)
			var stores []*sqlstore.Store
			for i := 0; i < 2; i++ {
				s, err := sqlstore.Open(ctx, d)
				if err != nil {
					t.Fatal(err)
				}
				defer s.Close()
				s.Now = func() time.Time { return time.Date(2027, 6, 1, 0, 0, 0, 0, time.UTC) }
				stores = append(stores, s)
			}
			mustApply(t, stores[0], baseWorld+`
prices:
  - {item: CallCenterSoftware, mode: payg, tiers: [{upto: 3000, price: "0.05"}, {price: "0.04"}]}
topups:
  - {id: T1, account: "1001", amount: "2000.00", at: "2026-10-01T08:00:00+08:00"}
purchases:
  - {id: P1, account: "1001", at: "2026-10-01T09:00:00+08:00", voice_package: {type: fixed_outbound, minutes: 10000}}
`)
			// Each importer: 2,000 third-party calls of 2 minutes (platform
			// minutes) and 2,000 outbound CCC calls of 2 minutes (package).
			var sets [2][]callbill.CDR
			for k := 0; k < 2; k++ {
				for i := 0; i < 2000; i++ {
					start := time.Date(2026, 10, 5, 8, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Second).Format(time.RFC3339)
					sets[k] = append(sets[k],
						call(fmt.Sprintf("p%d-%d", k, i), "inst-p", callbill.Inbound, "0571002", start, 100),
						call(fmt.Sprintf("o%d-%d", k, i), "inst-p", callbill.Outbound, "0571001", start, 61))
				}
			}
			var wg sync.WaitGroup
			for k := 0; k < 2; k++ {
				wg.Add(1)
				go func(k int) {
					defer wg.Done()
					rep, err := (&ingest.Service{Store: stores[k]}).Import(ctx, ingest.Input{Source: &cdrs{rows: sets[k]}, ImportOptions: callbill.ImportOptions{BatchSize: 97}})
					if err != nil || rep.Imported != 4000 {
						t.Errorf("importer %d: %+v %v", k, rep, err)
					}
				}(k)
			}
			wg.Wait()
			b := bill(t, stores[0], "1001", "2026-10")
			var platform, outboundCharged, outboundCovered []string
			for _, l := range b.Lines {
				switch {
				case l.Item == "CallCenterSoftware" && l.PurchaseID == "":
					platform = append(platform, l.Usage+"@"+l.UnitPrice)
				case l.Item == "FixedLineOutbound":
					outboundCharged = append(outboundCharged, l.Usage)
					outboundCovered = append(outboundCovered, l.DeductedByPackage)
				}
			}
			// 8,000 platform minutes: 3,000 in band 1, 5,000 in band 2 —
			// whatever the interleaving. 8,000 outbound minutes, all covered.
			if fmt.Sprint(platform) != "[3000@0.05 5000@0.04]" {
				t.Errorf("platform bands %v", platform)
			}
			if fmt.Sprint(outboundCharged) != "[0]" || fmt.Sprint(outboundCovered) != "[8000]" {
				t.Errorf("outbound charged %v covered %v", outboundCharged, outboundCovered)
			}
			// A third import of everything finds only duplicates.
			all := append(append([]callbill.CDR{}, sets[0]...), sets[1]...)
			rep := importCalls(t, stores[1], callbill.ImportOptions{}, all...)
			if rep.Imported != 0 || rep.Duplicates != 8000 {
				t.Errorf("re-import: %+v", rep)
			}
		})
	}
}

// The calls version of (account, cycle) moves with every import that stores
// calls of theirs, in the same transaction, and with nothing else: a
// duplicate, a reject or another cycle's calls leave it.
func TestCallsVersionMovesWithStoredCalls(t *testing.T) {
	each(t, func(t *testing.T, s *sqlstore.Store) {
		mustApply(t, s, baseWorld)
		ctx := context.Background()
		version := func(c string) string {
			t.Helper()
			cy, err := callbill.ParseCycle(c)
			if err != nil {
				t.Fatal(err)
			}
			v, err := s.CallsVersion(ctx, "1001", cy)
			if err != nil {
				t.Fatal(err)
			}
			return v
		}
		if v := version("2026-10"); v != "0" {
			t.Fatalf("no calls yet: version %q", v)
		}
		a := call("c1", "inst-p", callbill.Outbound, "0571001", "2026-10-05T10:00:00+08:00", 61)
		b := call("c2", "inst-p", callbill.Outbound, "0571001", "2026-10-05T11:00:00+08:00", 60)
		importCalls(t, s, callbill.ImportOptions{BatchSize: 1}, a, b)
		one := version("2026-10")
		if one == "0" {
			t.Fatal("two batches of calls left the version at 0")
		}
		bad := call("c9", "inst-p", callbill.Outbound, "4000001", "2026-10-07T11:00:00+08:00", 30)
		importCalls(t, s, callbill.ImportOptions{}, a, bad)
		if v := version("2026-10"); v != one {
			t.Errorf("a duplicate and a reject moved the version %s → %s", one, v)
		}
		nov := call("c3", "inst-p", callbill.Outbound, "0571001", "2026-11-05T10:00:00+08:00", 61)
		importCalls(t, s, callbill.ImportOptions{}, nov)
		if v := version("2026-10"); v != one {
			t.Errorf("a November call moved October's version %s → %s", one, v)
		}
		if v := version("2026-11"); v == "0" {
			t.Error("a November call left November's version at 0")
		}
		importCalls(t, s, callbill.ImportOptions{}, call("c4", "inst-p", callbill.Outbound, "0571001", "2026-10-06T10:00:00+08:00", 61))
		if v := version("2026-10"); v == one {
			t.Error("a new October call left the version")
		}
	})
}

// A database a newer release has migrated is refused by this one, for
// reading as for writing, naming the migrations it does not know; the
// database is left as it was.
func TestOpenRefusesANewerSchema(t *testing.T) {
	ctx := context.Background()
	for name, dsn := range dsns(t) {
		t.Run(name, func(t *testing.T) {
			d := dsn(t)
			s, err := sqlstore.Open(ctx, d)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.DB().ExecContext(ctx, `INSERT INTO schema_migrations (name) VALUES ('9999_from_the_future.sql')`); err != nil {
				t.Fatal(err)
			}
			s.Close()
			for _, access := range []sqlstore.Access{sqlstore.Create, sqlstore.Write, sqlstore.Read} {
				s, err := sqlstore.OpenFor(ctx, d, access)
				if err == nil {
					s.Close()
					t.Fatalf("access %v: a newer schema was opened", access)
				}
				if callbill.ErrorCode(err) != callbill.EREFUSED || !strings.Contains(err.Error(), "9999_from_the_future.sql") || !strings.Contains(err.Error(), "newer callbill release") {
					t.Errorf("access %v: %v", access, err)
				}
			}
		})
	}
}

// Migration 0010 seeds the calls version of every (account, cycle) from the
// blocks an earlier release stored, so that a live bill cached before the
// upgrade is never taken for current after it.
func TestCallsVersionSeededOnUpgrade(t *testing.T) {
	gz, err := os.ReadFile(filepath.Join("..", "testdata", "upgrade", "b7abcf3.db.gz"))
	if err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "old.db")
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	s, err := sqlstore.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	oct, _ := callbill.ParseCycle("2026-10")
	var blocks int
	if err := s.DB().QueryRowContext(ctx, `SELECT COUNT(*) FROM call_blocks WHERE account = '1000000000000001' AND cycle = ?`, int(oct)).Scan(&blocks); err != nil || blocks == 0 {
		t.Fatalf("the fixture's blocks: %d %v", blocks, err)
	}
	v, err := s.CallsVersion(ctx, "1000000000000001", oct)
	if err != nil || v != fmt.Sprint(blocks) {
		t.Errorf("calls version after the upgrade %q (%v), want %d", v, err, blocks)
	}
}
