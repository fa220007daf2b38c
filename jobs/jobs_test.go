package jobs_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/callbill/callbill"
	"github.com/callbill/callbill/jobs"
)

// memStore is the job table in memory.
type memStore struct{ jobs []*callbill.Job }

var errUnique = errors.New("unique violation")

func (m *memStore) UpdateJobs(ctx context.Context, what string, fn func(tx jobs.Tx, now time.Time) error) error {
	return fn(m, time.Unix(1700000000, 0))
}

func (m *memStore) Jobs(ctx context.Context, q callbill.JobQuery) ([]*callbill.Job, error) {
	var out []*callbill.Job
	for i := len(m.jobs) - 1; i >= 0; i-- {
		if j := m.jobs[i]; j.Kind == q.Kind && (q.AllAccounts || j.Account == q.Account) {
			out = append(out, j)
		}
	}
	return out, nil
}

func (m *memStore) JobByKey(ctx context.Context, account, key string) (*callbill.Job, error) {
	for _, j := range m.jobs {
		if j.Account == account && j.Key == key {
			return j, nil
		}
	}
	return nil, callbill.Errorf(callbill.ENOTFOUND, "no job")
}

func (m *memStore) InsertJob(ctx context.Context, j *callbill.Job) (*callbill.Job, error) {
	if _, err := m.JobByKey(ctx, j.Account, j.Key); err == nil {
		return nil, errUnique
	}
	c := *j
	c.ID = int64(len(m.jobs) + 1)
	m.jobs = append(m.jobs, &c)
	return &c, nil
}

func (m *memStore) RequeueJob(ctx context.Context, id int64) (*callbill.Job, error) {
	j := m.jobs[id-1]
	if j.Status == callbill.JobFailed {
		j.Status, j.Node, j.Error = callbill.JobQueued, "", ""
	}
	return j, nil
}

// TestAFailedJobIsRetriedOnlyWhenAsked: the automatic close asks for a
// failed attempt to be queued again after a while; an export's failure
// stays (its tenant sees it and asks again).
func TestAFailedJobIsRetriedOnlyWhenAsked(t *testing.T) {
	ctx := context.Background()
	m := &memStore{}
	s := jobs.Service{Store: m}
	close := callbill.JobRequest{Kind: callbill.JobClose, Key: "close:2026-10", Params: `{"cycle":"2026-10"}`, RetryFailedAfter: time.Minute}
	export := callbill.JobRequest{Kind: callbill.JobExport, Key: "k", Account: "1001", Params: `{}`}
	for _, r := range []callbill.JobRequest{close, export} {
		j, _, err := s.Enqueue(ctx, r)
		if err != nil {
			t.Fatal(err)
		}
		j.Status, j.Error, j.FinishedAt = callbill.JobFailed, "database is locked", time.Unix(1700000000-30, 0)
	}
	// 30 s after the failure: too soon.
	if j, created, err := s.Enqueue(ctx, close); err != nil || created || j.Status != callbill.JobFailed {
		t.Fatalf("too soon: %+v %v %v", j, created, err)
	}
	m.jobs[0].FinishedAt = time.Unix(1700000000-60, 0)
	if j, created, err := s.Enqueue(ctx, close); err != nil || !created || j.Status != callbill.JobQueued || j.Error != "" || j.ID != 1 {
		t.Fatalf("a minute after: %+v %v %v", j, created, err)
	}
	if j, created, err := s.Enqueue(ctx, export); err != nil || created || j.Status != callbill.JobFailed {
		t.Fatalf("an export's failure: %+v %v %v", j, created, err)
	}
}

func TestEnqueueIsIdempotentPerAccount(t *testing.T) {
	ctx := context.Background()
	s := jobs.Service{Store: &memStore{}}
	req := callbill.JobRequest{Kind: callbill.JobExport, Key: "k", Account: "1001", Params: `{}`}
	a, created, err := s.Enqueue(ctx, req)
	if err != nil || !created || a.Status != callbill.JobQueued || a.CreatedAt.Unix() != 1700000000 {
		t.Fatalf("first: %+v %v %v", a, created, err)
	}
	if b, created, err := s.Enqueue(ctx, req); err != nil || created || b.ID != a.ID {
		t.Fatalf("again: %+v %v %v", b, created, err)
	}
	other := req
	other.Account = "1002"
	if b, created, err := s.Enqueue(ctx, other); err != nil || !created || b.ID == a.ID {
		t.Fatalf("another account: %+v %v %v", b, created, err)
	}
	for _, r := range []callbill.JobRequest{{Kind: callbill.JobClose, Key: "k", Account: "1001", Params: `{}`},
		{Kind: callbill.JobExport, Key: "k", Account: "1001", Params: `{"cycle":"2026-10"}`}} {
		_, _, err := s.Enqueue(ctx, r)
		if callbill.ErrorCode(err) != callbill.ECONFLICT || err.Error() != `idempotency key "k" was used for a different request (job 1)` {
			t.Errorf("%+v: %v", r, err)
		}
	}
}

func TestRequestsAreValidated(t *testing.T) {
	ctx := context.Background()
	s := jobs.Service{Store: &memStore{}}
	_, _, err := s.Enqueue(ctx, callbill.JobRequest{Kind: callbill.JobExport})
	if callbill.ErrorCode(err) != callbill.EINVALID || !strings.Contains(err.Error(), "a job needs a key") ||
		!strings.Contains(err.Error(), "an export job needs an account") {
		t.Errorf("enqueue: %v", err)
	}
	_, _, err = s.RequestExport(ctx, jobs.ExportInput{Key: "k", Params: callbill.ExportParams{Account: "1001", Cycle: "2026-10", Direction: "up"}})
	if callbill.ErrorCode(err) != callbill.EINVALID || !strings.Contains(err.Error(), "direction") {
		t.Errorf("export: %v", err)
	}
	for _, q := range []callbill.JobQuery{{Kind: callbill.JobExport}, {Kind: callbill.JobExport, Account: "1001", AllAccounts: true}, {Account: "1001"}} {
		if _, err := s.List(ctx, q); callbill.ErrorCode(err) != callbill.EINVALID {
			t.Errorf("%+v: %v", q, err)
		}
	}
}

func TestRequestExportKeysAndLists(t *testing.T) {
	ctx := context.Background()
	m := &memStore{}
	s := jobs.Service{Store: m}
	p := callbill.ExportParams{Account: "1001", Cycle: "2026-10"}
	j, created, err := s.RequestExport(ctx, jobs.ExportInput{Key: "abc", Params: p})
	if err != nil || !created || j.Key != "export:1001:abc" || j.Account != "1001" || j.Params != `{"account":"1001","cycle":"2026-10"}` {
		t.Fatalf("%+v %v %v", j, created, err)
	}
	s.RequestExport(ctx, jobs.ExportInput{Key: "abc", Params: callbill.ExportParams{Account: "1002", Cycle: "2026-10"}})
	one, _ := s.List(ctx, callbill.JobQuery{Kind: callbill.JobExport, Account: "1002"})
	all, _ := s.List(ctx, callbill.JobQuery{Kind: callbill.JobExport, AllAccounts: true})
	if len(one) != 1 || one[0].Account != "1002" || len(all) != 2 || all[0].ID != 2 {
		t.Errorf("one %+v, all %+v", one, all)
	}
}
