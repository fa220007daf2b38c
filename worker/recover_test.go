package worker_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/callbill/callbill"
	"github.com/callbill/callbill/closing"
	"github.com/callbill/callbill/ingest"
	"github.com/callbill/callbill/internal/testutil"
	"github.com/callbill/callbill/jobs"
	"github.com/callbill/callbill/ledger"
	"github.com/callbill/callbill/provision"
	"github.com/callbill/callbill/sqlstore"
	"github.com/callbill/callbill/worker"
	"github.com/callbill/callbill/world"
)

// buggy is the store with bugs: streaming 1002's calls panics on the first
// call (inside the store's read transaction), closing a cycle panics and so
// does every sweep.
type buggy struct{ *sqlstore.Store }

func (b buggy) StreamUsage(ctx context.Context, uid string, f callbill.UsageFilter, fn func(loc *time.Location, c *callbill.Call) error) error {
	if uid != "1002" {
		return b.Store.StreamUsage(ctx, uid, f, fn)
	}
	return b.Store.StreamUsage(ctx, uid, f, func(loc *time.Location, c *callbill.Call) error {
		var m map[string]int
		//lint:ignore SA5000 the bug this test needs: a runtime panic
		m[c.ContactID]++
		return nil
	})
}

func (b buggy) UpdateClosing(ctx context.Context, fn func(tx closing.Tx, now time.Time) error) error {
	panic("close bug")
}

// UpdateLedger panics: the sweep is the node's one money transaction here.
func (b buggy) UpdateLedger(ctx context.Context, accounts []string, what string, fn func(tx ledger.Tx, now time.Time) error) error {
	panic("sweep bug")
}

type oneCall struct{ done bool }

func (o *oneCall) Next() (callbill.CDR, callbill.Pos, error) {
	if o.done {
		return callbill.CDR{}, callbill.Pos{}, io.EOF
	}
	o.done = true
	st := time.Date(2026, 10, 5, 2, 0, 0, 0, time.UTC).Unix()
	return callbill.CDR{ContactID: "c1", InstanceID: "inst-q", Direction: callbill.Outbound, Caller: "0571002", Callee: "138",
		Start: st, End: st + 61}, callbill.Pos{Line: 2}, nil
}

// TestPanickingJobsFailAndTheNodeGoesOn: a job that panics is recorded as
// failed with "internal error", its stack in the log; a sweep that panics
// is logged; the node goes on with the next jobs. Export folders are 0700
// and files 0600, and a panicked export leaves no file behind.
func TestPanickingJobsFailAndTheNodeGoesOn(t *testing.T) {
	ctx := context.Background()
	s, err := sqlstore.Open(ctx, filepath.Join(t.TempDir(), "w.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	w, ps := world.Parse([]byte(`
accounts:
  - {uid: "1001", name: a}
  - uid: "1002"
    name: b
    instances:
      - id: inst-q
        mode: payg
        numbers: [{number: "0571002", kind: fixed, source: ccc}]
`))
	if len(ps) > 0 {
		t.Fatal(ps)
	}
	if _, err := (&provision.Service{Store: s}).Apply(ctx, provision.ApplyInput{World: w}); err != nil {
		t.Fatal(err)
	}
	if rep, err := (&ingest.Service{Store: s}).Import(ctx, ingest.Input{Source: &oneCall{}, ImportOptions: callbill.ImportOptions{}}); err != nil || rep.Imported != 1 {
		t.Fatalf("import: %+v %v", rep, err)
	}
	var logs testutil.SyncBuffer
	dir := filepath.Join(t.TempDir(), "exports")
	var outcomes []string
	var mu sync.Mutex
	n := &worker.Node{Store: buggy{s}, Name: "t", ExportDir: dir, Poll: 10 * time.Millisecond, NoAutoClose: true,
		Log:   slog.New(slog.NewTextHandler(&logs, nil)),
		OnJob: func(kind, outcome string) { mu.Lock(); outcomes = append(outcomes, kind+" "+outcome); mu.Unlock() }}
	enqueue := func(kind, key, account, params string) int64 {
		j, _, err := (jobs.Service{Store: s}).Enqueue(ctx, callbill.JobRequest{Kind: kind, Key: key, Account: account, Params: params})
		if err != nil {
			t.Fatal(err)
		}
		return j.ID
	}
	bad := enqueue(callbill.JobExport, "bad", "1002", `{"account":"1002","cycle":"2026-10"}`)
	closeJob := enqueue(callbill.JobClose, "close:2026-10", "", `{"cycle":"2026-10"}`)
	good := enqueue(callbill.JobExport, "good", "1001", `{"account":"1001","cycle":"2026-10"}`)
	wctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { n.Run(wctx); close(done) }()
	defer func() { cancel(); <-done }()
	wait := func(id int64, want callbill.JobStatus) *callbill.Job {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
			j, err := s.Job(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if j.Status == want {
				return j
			}
			if time.Now().After(deadline) || j.Status == callbill.JobDone || j.Status == callbill.JobFailed {
				t.Fatalf("job %d: %+v, want %s", id, j, want)
			}
		}
	}
	for _, id := range []int64{bad, closeJob} {
		if j := wait(id, callbill.JobFailed); j.Error != "internal error" {
			t.Errorf("job %d failed with %q, want \"internal error\"", id, j.Error)
		}
	}
	wait(good, callbill.JobDone)
	// After the panics the node still takes new work.
	later := enqueue(callbill.JobExport, "later", "1001", `{"account":"1001","cycle":"2026-09"}`)
	wait(later, callbill.JobDone)

	l := logs.String()
	for _, want := range []string{`msg="job panicked"`, "assignment to entry in nil map", "close bug", "runtime/debug.Stack",
		"buggy.StreamUsage", `msg="background step panicked"`, "sweep bug", `step="sweep account states"`} {
		if !strings.Contains(l, want) {
			t.Errorf("the log lacks %q", want)
		}
	}
	mu.Lock()
	got := strings.Join(outcomes, ", ")
	mu.Unlock()
	for _, want := range []string{"export failed", "close failed", "export done"} {
		if !strings.Contains(got, want) {
			t.Errorf("outcomes %s lack %q", got, want)
		}
	}

	if st, err := os.Stat(dir); err != nil || st.Mode().Perm() != 0o700 {
		t.Fatalf("export folder: %v %v, want 0700", st.Mode().Perm(), err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		t.Errorf("files %v: want the two finished exports only", entries)
	}
	for _, e := range entries {
		st, err := os.Stat(filepath.Join(dir, e.Name()))
		if err != nil || st.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v %v, want 0600", e.Name(), st.Mode().Perm(), err)
		}
	}
}
