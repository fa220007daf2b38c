package callbill

import (
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// An import record says where a set of stored calls came from, so that an
// import done by mistake can be found and undone (docs/imports.md). Every
// import has one: the files given to one `callbill import`, or one request
// to POST /api/v1/imports (a request the server commits together with
// others stays its own import).

// Import statuses.
const (
	ImportRunning = "running" // batches are being stored (or the importing process died: what it committed stays)
	ImportDone    = "done"
	ImportFailed  = "failed" // stopped by an error; what it committed before stays
	ImportUndone  = "undone" // its calls were removed again
)

// ImportRecord is one import.
type ImportRecord struct {
	ID       int64    // shown as ImportID
	Sources  []string // the file names as given ("-" for stdin), or the API request's source
	By       string   // who: "cli:user@host", "api:operator-key", …
	At       time.Time
	Finished time.Time // zero while running
	Status   string

	Imported, Duplicates, Rejected, Conflicts int64

	UndoneBy string
	UndoneAt time.Time
	Undo     *UndoReport // what the undo did; nil unless undone
}

// Limits on what an import record keeps: it describes the import, it is not
// a copy of its command line.
const (
	MaxImportSources    = 20  // names kept; more are counted in the last one
	MaxImportSourceName = 200 // bytes of one name
	MaxImportActor      = 200 // bytes of By and UndoneBy
)

// ImportSources bounds the names of an import's inputs: at most
// MaxImportSources names of at most MaxImportSourceName bytes, the last one
// saying how many more there were.
func ImportSources(names []string) []string {
	out := make([]string, 0, min(len(names), MaxImportSources))
	for i, n := range names {
		if i == MaxImportSources-1 && len(names) > MaxImportSources {
			out = append(out, "… "+strconv.Itoa(len(names)-i)+" more")
			break
		}
		out = append(out, Truncate(n, MaxImportSourceName))
	}
	return out
}

// Truncate cuts s to at most n bytes on a rune boundary, marking the cut
// with "…".
func Truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n - len("…")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// importIDPrefix starts every public import id.
const importIDPrefix = "imp-"

// ImportID is the public form of an import's id ("imp-42").
func ImportID(id int64) string { return importIDPrefix + strconv.FormatInt(id, 10) }

// ParseImportID reads an import id as ImportID writes it (a bare number is
// taken too). Returns EINVALID naming the form.
func ParseImportID(s string) (int64, error) {
	n, err := strconv.ParseInt(strings.TrimPrefix(strings.TrimSpace(s), importIDPrefix), 10, 64)
	if err != nil || n <= 0 || len(s) > 40 {
		return 0, Errorf(EINVALID, "%q is not an import id (imp-N, as `callbill import list` shows it)", Truncate(s, 40))
	}
	return n, nil
}

// UndoReport is what undoing an import did.
type UndoReport struct {
	Removed  int64    // the import's calls removed
	Rerated  int64    // calls stored after it whose rating changed (bands, voice-package minutes)
	Accounts []string // the accounts whose calls changed, sorted: the first MaxUndoAccounts
	Touched  int      // how many accounts' calls changed
	Cycles   []Cycle  // the open cycles whose bills changed, sorted
	// Already says the import had been undone before: this undo changed
	// nothing, and the rest of the report is that earlier undo's.
	Already bool
}

// MaxUndoAccounts bounds the accounts an undo's report names (it counts
// them all): a record is not a list of a deployment's tenants.
const MaxUndoAccounts = 100

// AccountsText names an undo's accounts for people: at most n, and how many
// more there are.
func (u *UndoReport) AccountsText(n int) string {
	names := u.Accounts[:min(n, len(u.Accounts))]
	s := strings.Join(names, ", ")
	if more := u.Touched - len(names); more > 0 {
		s += " … +" + strconv.Itoa(more)
	}
	return s
}

// ImportQuery selects import records: newest first, at most Limit.
type ImportQuery struct {
	Limit  int
	Before int64 // only ids below it (the next page); 0 = from the newest
}

// Import list limits.
const (
	DefaultImportList = 50
	MaxImportList     = 1000
)

// Validate bounds the query: a Limit of 0 is DefaultImportList.
func (q *ImportQuery) Validate() error {
	if q.Limit == 0 {
		q.Limit = DefaultImportList
	}
	if q.Limit < 0 || q.Limit > MaxImportList {
		return Errorf(EINVALID, "limit must be 1…%d", MaxImportList)
	}
	if q.Before < 0 {
		return Errorf(EINVALID, "before must be an import id")
	}
	return nil
}
