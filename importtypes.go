package callbill

import (
	"fmt"
	"time"
)

// Pos locates a CDR: the input file (0-based, in the order given) and its line
// (or record) number.
type Pos struct {
	File int
	Line int
}

// CDRSource yields CDRs in import order. Next returns io.EOF at the end, a
// *Reject for a row the decoder could not read (the import counts it as
// rejected; call Next again), and any other error to abort.
type CDRSource interface {
	Next() (CDR, Pos, error)
}

// Reject is a row that was not imported, and why: from the decoder (a
// CDRSource returns it as its error) to the report and the rejects file.
type Reject struct {
	Pos      Pos
	Reason   string
	Conflict bool // same identity, different content (DESIGN §3.10)
}

func (r *Reject) Error() string { return fmt.Sprintf("line %d: %s", r.Pos.Line, r.Reason) }

// ImportOptions tune an import.
type ImportOptions struct {
	Strict    bool // import nothing when any row is bad
	BatchSize int  // rows per transaction; 0 = 40,000
	// Progress, when set, is called after every committed batch with the rows read so far.
	Progress func(rows int64)
	// OnReject, when set, is given every rejected row, in input order
	// (file, then line), as its batch is done: the way to keep all of them
	// (a rejects file) while the report keeps only the first
	// MaxReportedRejects. An error from it ends the import with that error.
	OnReject func(Reject) error
}

// MaxReportedRejects is how many rejects an ImportReport holds: an input of
// millions of bad rows must not hold millions of reasons in memory or in an
// API answer. Rejected counts them all; OnReject sees them all.
const MaxReportedRejects = 1000

// ImportReport is what an import did.
type ImportReport struct {
	Imported, Duplicates, Rejected, Conflicts int64
	Rejects                                   []Reject // the first MaxReportedRejects, in input order
	Elapsed                                   time.Duration
}
