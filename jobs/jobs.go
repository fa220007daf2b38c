// Package jobs queues background jobs (export records, 导出记录, and the
// automatic close) and lists them. It decides what a repeated request is:
// the same key in the same account is the same job, with another kind or
// other params a conflict. Store persists and decides nothing; worker/ runs
// the jobs.
package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/callbill/callbill"
)

// Store opens the transactions the service works in.
type Store interface {
	// UpdateJobs runs fn in one transaction, with the transaction's one
	// clock reading. When a write of fn meets a unique violation (a
	// concurrent request took the same key), fn runs once more in a new
	// transaction, whose reads then find the winner; a second violation is
	// ECONFLICT naming what.
	UpdateJobs(ctx context.Context, what string, fn func(tx Tx, now time.Time) error) error
	// Jobs returns the jobs q selects, newest first. q is valid.
	Jobs(ctx context.Context, q callbill.JobQuery) ([]*callbill.Job, error)
}

// Tx is what the service reads and writes inside a transaction.
type Tx interface {
	// JobByKey returns the account's job with key (account "" for the
	// operator's), as stored. Returns ENOTFOUND if there is none.
	JobByKey(ctx context.Context, account, key string) (*callbill.Job, error)
	// InsertJob stores j as a new job and returns it as stored, with its
	// id. Returns a unique violation if the account has a job with the key.
	InsertJob(ctx context.Context, j *callbill.Job) (*callbill.Job, error)
	// RequeueJob queues the failed job id again (its error and node
	// cleared, its attempts kept) and returns it as stored.
	RequeueJob(ctx context.Context, id int64) (*callbill.Job, error)
}

// Service is the job queue's rules.
type Service struct{ Store Store }

// Enqueue queues a job unless the account has one with the same key; it
// returns the job either way and whether it was created now. Keys are each
// account's own: the same key in two accounts is two jobs. The same key
// again with another kind or other params is ECONFLICT, naming only the
// caller's key. A failed job is queued again when r.RetryFailedAfter says
// so (then created is true).
func (s Service) Enqueue(ctx context.Context, r callbill.JobRequest) (*callbill.Job, bool, error) {
	if err := r.Validate(); err != nil {
		return nil, false, err
	}
	var job *callbill.Job
	var created bool
	err := s.Store.UpdateJobs(ctx, fmt.Sprintf("idempotency key %q", r.Key), func(tx Tx, now time.Time) error {
		j, err := tx.JobByKey(ctx, r.Account, r.Key)
		switch {
		case err == nil:
			if j.Kind != r.Kind || j.Params != r.Params {
				return callbill.Errorf(callbill.ECONFLICT, "idempotency key %q was used for a different request (job %d)", r.Key, j.ID)
			}
			job, created = j, false
			if r.RetryFailedAfter > 0 && j.Status == callbill.JobFailed && !now.Before(j.FinishedAt.Add(r.RetryFailedAfter)) {
				job, err = tx.RequeueJob(ctx, j.ID)
				created = err == nil
			}
			return err
		case callbill.ErrorCode(err) != callbill.ENOTFOUND:
			return err
		}
		job, err = tx.InsertJob(ctx, &callbill.Job{Kind: r.Kind, Key: r.Key, Account: r.Account, Params: r.Params,
			Status: callbill.JobQueued, CreatedAt: now})
		created = err == nil
		return err
	})
	if err != nil {
		return nil, false, err
	}
	return job, created, nil
}

// ExportInput asks for a usage-detail export of an account.
type ExportInput struct {
	Key    string // the caller's idempotency key, within the account
	Params callbill.ExportParams
}

// Validate reports every problem of the request.
func (in *ExportInput) Validate() error {
	var errs []error
	if in.Params.Account == "" {
		errs = append(errs, callbill.Errorf(callbill.EINVALID, "account is required"))
	}
	if in.Key == "" {
		errs = append(errs, callbill.Errorf(callbill.EINVALID, "an export needs an idempotency key"))
	}
	if _, err := in.Params.Filter(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// RequestExport queues an export job; the key is the account's own
// ("export:" + account + ":" + key), so a retry is the same job.
func (s Service) RequestExport(ctx context.Context, in ExportInput) (*callbill.Job, bool, error) {
	if err := in.Validate(); err != nil {
		return nil, false, err
	}
	params, err := json.Marshal(in.Params)
	if err != nil {
		return nil, false, err
	}
	return s.Enqueue(ctx, callbill.JobRequest{Kind: callbill.JobExport, Key: "export:" + in.Params.Account + ":" + in.Key,
		Account: in.Params.Account, Params: string(params)})
}

// List returns the jobs q selects, newest first.
func (s Service) List(ctx context.Context, q callbill.JobQuery) ([]*callbill.Job, error) {
	if err := q.Validate(); err != nil {
		return nil, err
	}
	return s.Store.Jobs(ctx, q)
}
