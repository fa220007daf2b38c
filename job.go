package callbill

import "time"

// JobStatus is the state of a background job (export records, 导出记录).
type JobStatus string

const (
	JobQueued  JobStatus = "queued"
	JobRunning JobStatus = "running"
	JobDone    JobStatus = "done"
	JobFailed  JobStatus = "failed"
	JobExpired JobStatus = "expired"
)

// Job kinds.
const (
	JobExport = "export" // a usage-detail CSV export
	JobClose  = "close"  // the automatic close of a cycle
)

// Job is a background job. Several nodes may share the store: a job is
// claimed by one of them at a time, under a lease; a job whose node died is
// claimed again when its lease runs out.
type Job struct {
	ID         int64
	Kind       string
	Key        string // asking for the same key again is the same job
	Account    string
	Params     string // JSON
	Status     JobStatus
	Attempts   int
	Node       string
	LeaseUntil time.Time
	CreatedAt  time.Time
	StartedAt  time.Time
	FinishedAt time.Time
	Result     string // JSON
	Error      string
}
