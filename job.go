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

// ExportKeepDays is how long an export's file is kept before it expires.
const ExportKeepDays = 7
