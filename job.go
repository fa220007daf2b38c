package callbill

import (
	"errors"
	"time"
)

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

// ExportParams are an export job's parameters: the account, the cycle or a
// start-time range, the filters, the format and extra columns.
type ExportParams struct {
	Account   string   `json:"account"`
	Cycle     string   `json:"cycle,omitempty"`
	From      string   `json:"from,omitempty"` // RFC 3339, with To, instead of a cycle
	To        string   `json:"to,omitempty"`
	Instance  string   `json:"instance,omitempty"`
	Item      string   `json:"item,omitempty"`
	Number    string   `json:"number,omitempty"`
	Direction string   `json:"direction,omitempty"`
	Format    string   `json:"format,omitempty"` // csv (default) or xlsx
	Extra     []string `json:"extra,omitempty"`
}

// Filter checks the parameters and turns them into a usage filter.
func (p *ExportParams) Filter() (UsageFilter, error) {
	f := UsageFilter{Instance: p.Instance, Item: Item(p.Item), Number: Digits(p.Number),
		Direction: Direction(p.Direction)}
	switch {
	case p.Cycle != "" && (p.From != "" || p.To != ""):
		return f, Errorf(EINVALID, "give either a cycle or a from/to range, not both")
	case p.Cycle != "":
		c, err := ParseCycle(p.Cycle)
		if err != nil {
			return f, err
		}
		f.Cycle = c
	case p.From != "" && p.To != "":
		var err error
		if f.From, err = time.Parse(time.RFC3339, p.From); err != nil {
			return f, Errorf(EINVALID, "from %q must be RFC 3339", p.From)
		}
		if f.To, err = time.Parse(time.RFC3339, p.To); err != nil {
			return f, Errorf(EINVALID, "to %q must be RFC 3339", p.To)
		}
		if !f.From.Before(f.To) {
			return f, Errorf(EINVALID, "from must be before to")
		}
	default:
		return f, Errorf(EINVALID, "an export needs a cycle (YYYY-MM) or a from/to range")
	}
	if err := f.CheckDirection(); err != nil {
		return f, err
	}
	if p.Format != "" && p.Format != "csv" && p.Format != "xlsx" {
		return f, Errorf(EINVALID, "format must be csv or xlsx")
	}
	return f, nil
}

// How long, by default, an export's file and an API import's rejects file
// are kept before they expire (serve.export_keep_days and
// serve.rejects_keep_days set them).
const (
	DefaultExportKeepDays  = 7
	DefaultRejectsKeepDays = 7
)

// Retention is how long a node keeps its files, in days; a zero field
// takes its default.
type Retention struct {
	ExportDays  int
	RejectsDays int
}

// Exports is how many days an export's file is kept.
func (r Retention) Exports() int {
	if r.ExportDays > 0 {
		return r.ExportDays
	}
	return DefaultExportKeepDays
}

// Rejects is how many days an API import's rejects file is kept.
func (r Retention) Rejects() int {
	if r.RejectsDays > 0 {
		return r.RejectsDays
	}
	return DefaultRejectsKeepDays
}

// JobRequest asks for a job. Asking again with the same key (in the same
// account) is the same job.
type JobRequest struct {
	Kind    string
	Key     string
	Account string // "" for the operator's jobs (automatic close)
	Params  string // JSON
	// RetryFailedAfter, when not 0, queues a failed job with the key again
	// once this long has passed since it failed: the automatic close must
	// not wait a month because one attempt met a database error.
	RetryFailedAfter time.Duration
}

// Validate reports every missing field.
func (r *JobRequest) Validate() error {
	var errs []error
	if r.Kind == "" {
		errs = append(errs, Errorf(EINVALID, "a job needs a kind"))
	}
	if r.Key == "" {
		errs = append(errs, Errorf(EINVALID, "a job needs a key"))
	}
	if r.Kind == JobExport && r.Account == "" {
		errs = append(errs, Errorf(EINVALID, "an export job needs an account"))
	}
	return errors.Join(errs...)
}

// JobQuery selects the jobs of a kind: of one account, or of every account.
type JobQuery struct {
	Kind        string
	Account     string
	AllAccounts bool
}

// Validate reports every problem: a kind, and an account or all accounts.
func (q *JobQuery) Validate() error {
	var errs []error
	if q.Kind == "" {
		errs = append(errs, Errorf(EINVALID, "a job query needs a kind"))
	}
	if err := CheckAccountScope(q.Account, q.AllAccounts); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
