package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/callbill/callbill"
	"github.com/callbill/callbill/jobs"
)

const jobCols = `id, kind, key, account, params, status, attempts, node, lease_until, created_at, started_at, finished_at, result, error`

func scanJob(row interface{ Scan(...any) error }) (*callbill.Job, error) {
	var j callbill.Job
	var lease, created, started, finished int64
	if err := row.Scan(&j.ID, &j.Kind, &j.Key, &j.Account, &j.Params, &j.Status, &j.Attempts, &j.Node,
		&lease, &created, &started, &finished, &j.Result, &j.Error); err != nil {
		return nil, err
	}
	j.LeaseUntil, j.CreatedAt, j.StartedAt, j.FinishedAt = timeOrZero(lease), timeOrZero(created), timeOrZero(started), timeOrZero(finished)
	return &j, nil
}

// Jobs are queued and listed by jobs.Service; claiming, leases and expiry
// stay here, where the SQL decides which node gets a job.

// UpdateJobs runs fn in a transaction (see jobs.Store).
func (s *Store) UpdateJobs(ctx context.Context, what string, fn func(tx jobs.Tx, now time.Time) error) error {
	return s.keyedTx(ctx, what, func(tx *Tx) error { return fn(jobTx{tx}, s.Now()) })
}

// jobTx implements jobs.Tx on a transaction.
type jobTx struct{ tx *Tx }

func (t jobTx) JobByKey(ctx context.Context, account, key string) (*callbill.Job, error) {
	j, err := scanJob(t.tx.QueryRowContext(ctx, `SELECT `+jobCols+` FROM jobs WHERE account = ? AND key = ?`, account, key))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, callbill.Errorf(callbill.ENOTFOUND, "job %q not found", key)
	}
	return j, err
}

func (t jobTx) InsertJob(ctx context.Context, j *callbill.Job) (*callbill.Job, error) {
	if _, err := t.tx.ExecContext(ctx, `INSERT INTO jobs (kind, key, account, params, status, attempts, node, lease_until,
		created_at, started_at, finished_at, result, error) VALUES (?, ?, ?, ?, ?, 0, '', 0, ?, 0, 0, '', '')`,
		j.Kind, j.Key, j.Account, j.Params, j.Status, j.CreatedAt.Unix()); err != nil {
		return nil, err
	}
	return t.JobByKey(ctx, j.Account, j.Key)
}

func (t jobTx) RequeueJob(ctx context.Context, id int64) (*callbill.Job, error) {
	if _, err := t.tx.ExecContext(ctx, `UPDATE jobs SET status = 'queued', node = '', lease_until = 0, error = ''
		WHERE id = ? AND status = 'failed'`, id); err != nil {
		return nil, err
	}
	return scanJob(t.tx.QueryRowContext(ctx, `SELECT `+jobCols+` FROM jobs WHERE id = ?`, id))
}

// ClaimJob gives node the oldest job of kind that is queued, or running under
// a lease that ran out (its node died), and leases it for lease. Nodes never
// claim the same job: PostgreSQL skips rows another claim holds locked, and
// SQLite has one writer. Returns nil when there is nothing to do.
func (s *Store) ClaimJob(ctx context.Context, kind, node string, lease time.Duration) (*callbill.Job, error) {
	now := s.Now()
	lock := ""
	if s.dialect == dialectPostgres {
		lock = " FOR UPDATE SKIP LOCKED"
	}
	var job *callbill.Job
	err := s.inTx(ctx, func(tx *Tx) error {
		var id int64
		err := tx.QueryRowContext(ctx, `SELECT id FROM jobs WHERE kind = ?
			AND (status = 'queued' OR (status = 'running' AND lease_until < ?)) ORDER BY id LIMIT 1`+lock,
			kind, now.Unix()).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE jobs SET status = 'running', node = ?, lease_until = ?,
			attempts = attempts + 1, started_at = ? WHERE id = ?`, node, now.Add(lease).Unix(), now.Unix(), id); err != nil {
			return err
		}
		job, err = scanJob(tx.QueryRowContext(ctx, `SELECT `+jobCols+` FROM jobs WHERE id = ?`, id))
		return err
	})
	return job, err
}

// ErrJobLost says a node no longer holds the job it worked on: its lease ran
// out and another node took it over. The work must be discarded.
var ErrJobLost = callbill.Errorf(callbill.ECONFLICT, "the job was taken over by another node")

// ExtendLease keeps a long job leased to node.
func (s *Store) ExtendLease(ctx context.Context, id int64, node string, lease time.Duration) error {
	return s.finishOrExtend(ctx, `UPDATE jobs SET lease_until = ? WHERE id = ? AND node = ? AND status = 'running'`,
		s.Now().Add(lease).Unix(), id, node)
}

// FinishJob marks node's job done with its result (a finished export emits
// export.done in the same transaction). Returns ErrJobLost when the job is
// no longer node's.
func (s *Store) FinishJob(ctx context.Context, id int64, node, result string) error {
	return s.inTx(ctx, func(tx *Tx) error {
		if err := updateJob(ctx, tx, `UPDATE jobs SET status = 'done', result = ?, finished_at = ? WHERE id = ? AND node = ? AND status = 'running'`,
			result, s.Now().Unix(), id, node); err != nil {
			return err
		}
		return emitJobDone(ctx, tx, id)
	})
}

// FailJob marks node's job failed with a reason the tenant can read.
func (s *Store) FailJob(ctx context.Context, id int64, node, reason string) error {
	return s.finishOrExtend(ctx, `UPDATE jobs SET status = 'failed', error = ?, finished_at = ? WHERE id = ? AND node = ? AND status = 'running'`,
		reason, s.Now().Unix(), id, node)
}

func (s *Store) finishOrExtend(ctx context.Context, q string, args ...any) error {
	return s.inTx(ctx, func(tx *Tx) error { return updateJob(ctx, tx, q, args...) })
}

// updateJob runs an update of a node's job; ErrJobLost when it matched none.
func updateJob(ctx context.Context, tx *Tx, q string, args ...any) error {
	res, err := tx.ExecContext(ctx, q, args...)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return ErrJobLost
	}
	return nil
}

// Job returns a job by id. Returns ENOTFOUND when there is none.
func (s *Store) Job(ctx context.Context, id int64) (*callbill.Job, error) {
	var job *callbill.Job
	err := s.readTx(ctx, func(tx *Tx) error {
		var err error
		job, err = scanJob(tx.QueryRowContext(ctx, `SELECT `+jobCols+` FROM jobs WHERE id = ?`, id))
		if errors.Is(err, sql.ErrNoRows) {
			return callbill.Errorf(callbill.ENOTFOUND, "job %d not found", id)
		}
		return err
	})
	return job, err
}

// Jobs lists the jobs q selects, newest first (see jobs.Store).
func (s *Store) Jobs(ctx context.Context, q callbill.JobQuery) ([]*callbill.Job, error) {
	where, args := `kind = ?`, []any{q.Kind}
	if !q.AllAccounts {
		where, args = where+` AND account = ?`, append(args, q.Account)
	}
	return s.listJobs(ctx, where+` ORDER BY id DESC`, args...)
}

// ExpiredJobs lists done jobs of a kind that finished before a time: exports
// whose files are kept no longer.
func (s *Store) ExpiredJobs(ctx context.Context, kind string, before time.Time) ([]*callbill.Job, error) {
	return s.listJobs(ctx, `kind = ? AND status = 'done' AND finished_at < ? ORDER BY id`, kind, before.Unix())
}

func (s *Store) listJobs(ctx context.Context, where string, args ...any) ([]*callbill.Job, error) {
	var out []*callbill.Job
	err := s.readTx(ctx, func(tx *Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT `+jobCols+` FROM jobs WHERE `+where, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			j, err := scanJob(rows)
			if err != nil {
				return err
			}
			out = append(out, j)
		}
		return rows.Err()
	})
	return out, err
}

// ExpireJob marks a done job expired (its file is gone); the record stays.
func (s *Store) ExpireJob(ctx context.Context, id int64) error {
	return s.inTx(ctx, func(tx *Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE jobs SET status = 'expired' WHERE id = ? AND status = 'done'`, id)
		return err
	})
}
