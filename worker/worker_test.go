package worker_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/callbill/callbill"
	"github.com/callbill/callbill/budget"
	"github.com/callbill/callbill/cdr"
	"github.com/callbill/callbill/closing"
	"github.com/callbill/callbill/ingest"
	"github.com/callbill/callbill/jobs"
	"github.com/callbill/callbill/provision"
	"github.com/callbill/callbill/sqlstore"
	"github.com/callbill/callbill/worker"
	"github.com/callbill/callbill/world"
)

// TestExportsExpireAfterTheirRetention: an export's file is deleted the
// node's Retention.Exports() days after it finished (7 by default,
// serve.export_keep_days) and its record says expired; the record stays.
func TestExportsExpireAfterTheirRetention(t *testing.T) {
	for _, c := range []struct {
		keep      callbill.Retention
		afterDays int
	}{{callbill.Retention{}, 7}, {callbill.Retention{ExportDays: 2}, 2}, {callbill.Retention{ExportDays: 30, RejectsDays: 1}, 30}} {
		t.Run(fmt.Sprint(c.afterDays), func(t *testing.T) { exportExpires(t, c.keep, c.afterDays) })
	}
}

func exportExpires(t *testing.T, keep callbill.Retention, afterDays int) {
	ctx := context.Background()
	s, err := sqlstore.Open(ctx, filepath.Join(t.TempDir(), "w.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	now := time.Date(2026, 11, 10, 0, 0, 0, 0, time.UTC)
	s.Now = func() time.Time { return now }
	w, ps := world.Parse([]byte("accounts: [{uid: \"1001\", name: a}]"))
	if len(ps) > 0 {
		t.Fatal(ps)
	}
	if _, err := (&provision.Service{Store: s}).Apply(ctx, provision.ApplyInput{World: w}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	n := &worker.Node{Store: s, Name: "t", ExportDir: dir, Retention: keep, Poll: 10 * time.Millisecond, NoAutoClose: true,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: func() time.Time { return now }}
	job, _, err := (jobs.Service{Store: s}).Enqueue(ctx, callbill.JobRequest{Kind: callbill.JobExport, Key: "e1", Account: "1001", Params: `{"account":"1001","cycle":"2026-10"}`})
	if err != nil {
		t.Fatal(err)
	}
	run := func() {
		c, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		n.Run(c)
		cancel()
	}
	run()
	j, _ := s.Job(ctx, job.ID)
	if j.Status != callbill.JobDone {
		t.Fatalf("export: %+v", j)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "usage-*"))
	if len(files) != 1 {
		t.Fatalf("files %v", files)
	}
	now = now.AddDate(0, 0, afterDays-1)
	run() // not yet
	if _, err := os.Stat(files[0]); err != nil {
		t.Fatalf("deleted after %d days: %v", afterDays-1, err)
	}
	now = now.AddDate(0, 0, 2)
	run()
	if _, err := os.Stat(files[0]); !os.IsNotExist(err) {
		t.Fatalf("still there after %d days: %v", afterDays+1, err)
	}
	if j, _ := s.Job(ctx, job.ID); j.Status != callbill.JobExpired {
		t.Fatalf("record: %+v", j)
	}
}

// TestRejectsFilesExpireAfterTheirRetention: an API import's rejects file
// is deleted Retention.Rejects() days after it was written (7 by default,
// serve.rejects_keep_days), whatever the exports' retention.
func TestRejectsFilesExpireAfterTheirRetention(t *testing.T) {
	for _, c := range []struct {
		keep      callbill.Retention
		afterDays int
	}{{callbill.Retention{}, 7}, {callbill.Retention{RejectsDays: 2, ExportDays: 30}, 2}, {callbill.Retention{RejectsDays: 20}, 20}} {
		t.Run(fmt.Sprint(c.afterDays), func(t *testing.T) {
			s, err := sqlstore.Open(context.Background(), filepath.Join(t.TempDir(), "w.db"))
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			dir := t.TempDir()
			if err := os.MkdirAll(filepath.Join(dir, cdr.StoredRejectsDir), 0o700); err != nil {
				t.Fatal(err)
			}
			file := filepath.Join(dir, cdr.StoredRejectsName("0123456789abcdef0123456789abcdef"))
			if err := os.WriteFile(file, []byte("line,reason\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			now := time.Now()
			n := &worker.Node{Store: s, Name: "t", ExportDir: dir, Retention: c.keep, Poll: 10 * time.Millisecond, NoAutoClose: true,
				Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: func() time.Time { return now }}
			run := func() {
				ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
				n.Run(ctx)
				cancel()
			}
			now = time.Now().AddDate(0, 0, c.afterDays).Add(-time.Hour)
			run()
			if _, err := os.Stat(file); err != nil {
				t.Fatalf("deleted before %d days: %v", c.afterDays, err)
			}
			now = time.Now().AddDate(0, 0, c.afterDays).Add(time.Hour)
			run()
			if _, err := os.Stat(file); !os.IsNotExist(err) {
				t.Fatalf("still there after %d days: %v", c.afterDays, err)
			}
		})
	}
}

// TestAutoCloseCatchUpWaitsItsGrace: a close already due when the node
// finds it closable waits CloseGrace, announced; a close the node saw
// coming runs at 12:00 on the 2nd; with no accounts nothing is queued.
func TestAutoCloseCatchUpWaitsItsGrace(t *testing.T) {
	ctx := context.Background()
	s, err := sqlstore.Open(ctx, filepath.Join(t.TempDir(), "w.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	sh, _ := time.LoadLocation("Asia/Shanghai")
	now := time.Date(2026, 11, 5, 10, 0, 0, 0, sh)
	s.Now = func() time.Time { return now }
	var notices []worker.AutoCloseNotice
	n := &worker.Node{Store: s, Name: "t", ExportDir: t.TempDir(), Poll: 10 * time.Millisecond, CloseGrace: 10 * time.Minute,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: func() time.Time { return now },
		OnAutoClose: func(a worker.AutoCloseNotice) { notices = append(notices, a) }}
	var closes []string // what OnClose was told
	n.OnClose = func(outcome string, took time.Duration) { closes = append(closes, outcome) }
	run := func() {
		c, cancel := context.WithTimeout(ctx, 150*time.Millisecond)
		n.Run(c)
		cancel()
	}
	oct := callbill.NewCycle(2026, time.October)
	// closed is the last closed cycle, as bills show it.
	closed := func() string {
		t.Helper()
		last := "none"
		for c := oct - 1; c <= oct+1; c++ {
			b, err := (&closing.Service{Store: s}).Bill(ctx, closing.BillInput{Account: "1001", Cycle: c})
			if err != nil {
				t.Fatal(err)
			}
			if b.Status == callbill.BillStatusClosed {
				last = c.String()
			}
		}
		return last
	}

	// No accounts: nothing can close, and the notice says so.
	run()
	if len(notices) != 1 || notices[0].Cycle != oct || !notices[0].CloseAt.IsZero() || notices[0].Accounts != 0 {
		t.Fatalf("notices without accounts: %+v", notices)
	}
	w, ps := world.Parse([]byte(`
accounts: [{uid: "1001", name: a}]
topups: [{id: T1, account: "1001", amount: "5.00", at: "2026-09-10T08:00:00+08:00"}]
`))
	if len(ps) > 0 {
		t.Fatal(ps)
	}
	if _, err := (&provision.Service{Store: s}).Apply(ctx, provision.ApplyInput{World: w}); err != nil {
		t.Fatal(err)
	}
	// The accounts came: 2026-09 and 2026-10 are due, a catch-up.
	run()
	if len(notices) != 2 {
		t.Fatalf("notices: %+v", notices)
	}
	if a := notices[1]; a.Cycle != oct || a.From != oct-1 || !a.CatchUp || !a.CloseAt.Equal(now.Add(10*time.Minute)) ||
		!a.At.Equal(time.Date(2026, 11, 2, 12, 0, 0, 0, sh)) {
		t.Errorf("catch-up notice: %+v", a)
	}
	now = now.Add(9 * time.Minute)
	run()
	if got := closed(); got != "none" {
		t.Fatalf("closed through %s within the grace", got)
	}
	now = now.Add(time.Minute)
	run()
	if got := closed(); got != "2026-10" {
		t.Fatalf("closed through %s after the grace, want 2026-10", got)
	}
	// Next: 2026-11, seen coming, closes at its time without a grace.
	a := notices[len(notices)-1]
	due := time.Date(2026, 12, 2, 12, 0, 0, 0, sh)
	if a.Cycle != oct+1 || a.CatchUp || !a.CloseAt.Equal(due) {
		t.Errorf("next notice: %+v", a)
	}
	now = due.Add(-time.Second)
	run()
	if got := closed(); got != "2026-10" {
		t.Fatalf("closed through %s before 12:00 on the 2nd", got)
	}
	now = due
	run()
	if got := closed(); got != "2026-11" {
		t.Errorf("closed through %s at 12:00 on the 2nd, want 2026-11", got)
	}
	if got := strings.Join(closes, " "); got != "closed closed" {
		t.Errorf("OnClose was told %q, want two closes", got)
	}
}

// TestBudgetPassCatchesWhatImportMissed: calls imported without any
// evaluation (a process that died after its commit) cross a budget; the
// node's periodic pass fires the alert on its first round, once.
func TestBudgetPassCatchesWhatImportMissed(t *testing.T) {
	ctx := context.Background()
	s, err := sqlstore.Open(ctx, filepath.Join(t.TempDir(), "w.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	now := time.Date(2026, 10, 20, 0, 0, 0, 0, time.UTC)
	s.Now = func() time.Time { return now }
	w, ps := world.Parse([]byte(`accounts: [{uid: "1001", name: a, instances: [{id: i1, mode: payg, numbers: [{number: "0571001", kind: fixed, source: ccc}]}]}]`))
	if len(ps) > 0 {
		t.Fatal(ps)
	}
	if _, err := (&provision.Service{Store: s}).Apply(ctx, provision.ApplyInput{World: w}); err != nil {
		t.Fatal(err)
	}
	svc := &budget.Service{Store: s, Spend: &closing.Service{Store: s}}
	if _, err := svc.Set(ctx, budget.SetInput{Account: "1001", Scope: callbill.BudgetTotal, Measure: callbill.BudgetAmount,
		Amount: callbill.MustDecimal("1.00"), Thresholds: []int{100}}); err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 10, 2, 1, 0, 0, 0, time.UTC).Unix()
	c := callbill.CDR{ContactID: "x", InstanceID: "i1", Direction: callbill.Outbound, Caller: "0571001", Callee: "13800000000", Start: start, End: start + 600}
	if _, err := (&ingest.Service{Store: s}).Import(ctx, ingest.Input{Source: &one{c: c}}); err != nil {
		t.Fatal(err)
	}
	watch := budget.NewWatcher(svc, nil)
	n := &worker.Node{Store: s, Name: "t", ExportDir: t.TempDir(), Poll: 10 * time.Millisecond, NoAutoClose: true, Budgets: watch,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: func() time.Time { return now }}
	for i := 0; i < 2; i++ {
		c, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		n.Run(c)
		cancel()
	}
	as, err := svc.Alerts(ctx, budget.AlertsInput{Account: "1001"})
	if err != nil || len(as) != 1 || as[0].Threshold != 100 || as[0].Actual.String() != "1.5" {
		t.Fatalf("alerts %+v %v", as, err)
	}
}

// one is a source of one CDR.
type one struct {
	c    callbill.CDR
	done bool
}

func (o *one) Next() (callbill.CDR, callbill.Pos, error) {
	if o.done {
		return callbill.CDR{}, callbill.Pos{}, io.EOF
	}
	o.done = true
	return o.c, callbill.Pos{Line: 2}, nil
}
