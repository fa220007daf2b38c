package callbill

import (
	"strconv"
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

// RawSource is a CDRSource that hands over each row as it was read, so that
// a row rejected after it was decoded (screening, a conflict) goes to the
// rejects file as it came in, without reading the input again. The import
// keeps the rows of a batch that way until the batch is done, and only when
// ImportOptions.OnReject is set.
type RawSource interface {
	CDRSource
	// AppendRaw appends what Next last returned, a CDR or a *Reject alike,
	// as read, to dst in a form of the source's own, and returns the
	// extended slice; c is the CDR Next returned (nil for a reject), which
	// the form may refer to rather than repeat bytes that c holds already.
	// It must cost no more than copying the row's bytes.
	AppendRaw(dst []byte, c *CDR) []byte
	// RawFields returns the Reject.Fields of a row that AppendRaw appended,
	// given the same c, unchanged. It is called for rejected rows only, and may be
	// called while Next runs on another goroutine.
	RawFields(raw []byte, c *CDR) []string
}

// Reject is a row that was not imported, and why: the one type from the
// decoder (a CDRSource returns it as its error) to the report and the
// rejects file.
type Reject struct {
	Pos
	Reason   string
	Conflict bool // same identity, different content (docs/rules.md, "Duplicates and conflicts")
	// Fields are the row as read, which the rejects file repeats: its
	// original fields as the decoder split them (CSV) or, for JSON, one
	// field, the record's compact JSON (a JSON Lines line that is not JSON:
	// the line, surrounding white space trimmed). A row too broken to split
	// into fields (a stray quote, a record over the size limit) has none;
	// neither has any reject of an ImportReport, which keeps no rows.
	Fields []string
}

func (r *Reject) Error() string { return "line " + strconv.Itoa(r.Line) + ": " + r.Reason }

// ImportOptions tune an import.
type ImportOptions struct {
	Strict    bool // import nothing when any row is bad
	BatchSize int  // rows read per transaction, rejected ones included; 0 = 40,000
	// Progress, when set, is called after every committed batch with the rows read so far.
	Progress func(rows int64)
	// OnReject, when set, is given every rejected row, in input order
	// (file, then line), as its batch is done, with its Fields when the
	// source is a RawSource (or its decoder gave them): the way to keep all
	// of them (a rejects file, written as they come) while the report keeps
	// only the first MaxReportedRejects. An error from it ends the import
	// with that error.
	OnReject func(Reject) error
}

// MaxReportedRejects is how many rejects an ImportReport holds: an input of
// millions of bad rows must not hold millions of reasons in memory or in an
// API answer. Rejected counts them all; OnReject sees them all.
const MaxReportedRejects = 1000

// ImportReport is what an import did.
type ImportReport struct {
	Import                                    int64 // the import's record (ImportID)
	Imported, Duplicates, Rejected, Conflicts int64
	Rejects                                   []Reject // the first MaxReportedRejects, in input order
	Elapsed                                   time.Duration
}
